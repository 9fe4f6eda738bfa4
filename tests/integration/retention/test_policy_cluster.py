"""RetentionPolicy in a cluster: the real kopf operator on the KMock emulator keeps the CronJob,
and `camops retention --policy` (a real subprocess, as the CronJob runs it) reads the policy and
its Cameras from the emulator, deletes from a moto bucket and reports to the policy's status."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from camops_operator.settings import OperatorSettings
from camops_workers.storage.keys import key_time, latest_key
from tests.integration.operator.harness import eventually, running_operator
from tests.integration.retention.conftest import (
    UPLOADED_BEFORE,
    Seeded,
    camera_objects,
    seeded_moto,
    seeded_moto_users,
)
from tests.servers.kube import KubeServer
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY
from tests.support.clock import NOW

pytestmark = pytest.mark.slow

NS = "site-a"
POLICIES = "camops.io/v1alpha1/retentionpolicies"
CRONJOBS = "batch/v1/cronjobs"


def policy_body(name: str = "one-week", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "camops.io/v1alpha1",
        "kind": "RetentionPolicy",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"selector": {"matchLabels": {"retention": "week"}}, "maxAge": "7d", **spec},
    }


def camera_body(name: str, labels: dict[str, str], **storage: Any) -> dict[str, Any]:
    return {
        "apiVersion": "camops.io/v1alpha1",
        "kind": "Camera",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {"source": {"url": "rtsp://10.0.0.7/stream1"}, "storage": storage},
    }


async def post(session: aiohttp.ClientSession, plural: str, body: dict[str, Any]) -> dict[str, Any]:
    async with session.post(f"/apis/camops.io/v1alpha1/namespaces/{NS}/{plural}", json=body) as resp:
        assert resp.status < 300, await resp.text()
        result: dict[str, Any] = await resp.json()
        return result


async def merge_patch(session: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> None:
    headers = {"Content-Type": "application/merge-patch+json"}
    async with session.patch(path, json=body, headers=headers) as resp:
        assert resp.status < 300, await resp.text()


def condition(kube: KubeServer, name: str, kind: str) -> dict[str, Any] | None:
    body = kube.get(POLICIES, NS, name) or {}
    for cond in (body.get("status") or {}).get("conditions", []):
        if cond["type"] == kind:
            found: dict[str, Any] = cond
            return found
    return None


async def test_operator_keeps_an_adopted_cron_job_per_policy(kube_server: KubeServer, monkeypatch: Any) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kube_server.kubeconfig))
    settings = OperatorSettings(namespaces=(NS,), http_port=0, storage_endpoint="minio:9000", retry_delay=0.3)
    async with aiohttp.ClientSession(kube_server.url) as session, running_operator(settings):
        created = await post(session, "retentionpolicies", policy_body(schedule="15 3 * * *"))
        cron = await eventually(lambda: kube_server.get(CRONJOBS, NS, "one-week-retention"), what="CronJob")
        (owner,) = cron["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["name"], owner["uid"]) == (
            "RetentionPolicy",
            "one-week",
            created["metadata"]["uid"],
        )
        assert cron["spec"]["schedule"] == "15 3 * * *"
        assert cron["spec"]["concurrencyPolicy"] == "Forbid"
        ready = await eventually(lambda: condition(kube_server, "one-week", "Ready"), what="Ready")
        assert (ready["status"], ready["reason"]) == ("True", "Scheduled")

        # The job reported a run; a spec change re-applies the CronJob and keeps that condition.
        path = f"/apis/camops.io/v1alpha1/namespaces/{NS}/retentionpolicies/one-week"
        job_condition = {
            "type": "LastRunSucceeded",
            "status": "True",
            "reason": "Succeeded",
            "message": "deleted 3 objects",
            "lastTransitionTime": "2026-01-01T03:15:00Z",
        }
        conditions = [*(kube_server.get(POLICIES, NS, "one-week") or {})["status"]["conditions"], job_condition]
        await merge_patch(session, f"{path}/status", {"status": {"conditions": conditions}})
        await merge_patch(session, path, {"spec": {"schedule": "0 4 * * *", "suspend": True}})
        await eventually(
            lambda: (kube_server.get(CRONJOBS, NS, "one-week-retention") or {})["spec"]["suspend"] is True,
            what="suspended CronJob",
        )
        cron = kube_server.get(CRONJOBS, NS, "one-week-retention") or {}
        assert cron["spec"]["schedule"] == "0 4 * * *"
        await eventually(
            lambda: (condition(kube_server, "one-week", "Ready") or {}).get("reason") == "Suspended", what="Suspended"
        )
        assert condition(kube_server, "one-week", "LastRunSucceeded") == job_condition
        assert (kube_server.get(POLICIES, NS, "one-week") or {})["status"]["observedGeneration"] == 2


async def run_job(
    kube: KubeServer, endpoint: str, *args: str, keys: tuple[str, str] = (ACCESS_KEY, SECRET_KEY)
) -> tuple[int, str]:
    """`camops retention --policy ...` as its own process, while this loop keeps serving the emulator."""
    env = {
        **os.environ,
        "KUBECONFIG": str(kube.kubeconfig),
        "CAMOPS_STORAGE_ENDPOINT": endpoint,
        "CAMOPS_STORAGE_SECURE": "false",
        "CAMOPS_STORAGE_BUCKET": "camops",
        "CAMOPS_STORAGE_ACCESS_KEY": keys[0],
        "CAMOPS_STORAGE_SECRET_KEY": keys[1],
    }
    env.pop("CAMOPS_STORAGE_CREDENTIALS_DIR", None)
    env.pop("CAMOPS_STORAGE_SECRETS_DIR", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "camops_operator.cli",
        "retention",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    return int(proc.returncode or 0), out.decode()


async def test_policy_job_deletes_for_selected_cameras_and_reports(kube_server: KubeServer) -> None:
    now = NOW
    objects: dict[str, int] = {}
    for camera, prefix in (("door", ""), ("gate", "north"), ("yard", "")):
        objects.update(dict(list(camera_objects(now, camera, prefix=prefix).items())[::20]))  # 100 each
        objects[latest_key(prefix, camera)] = 10
    with seeded_moto({"camops": objects}, modified=now - UPLOADED_BEFORE) as endpoint:
        data = Seeded(endpoint=endpoint, bucket="camops", now=now, objects=objects)
        async with aiohttp.ClientSession(kube_server.url) as session:
            await post(session, "cameras", camera_body("door", {"retention": "week"}))
            await post(session, "cameras", camera_body("gate", {"retention": "week"}, prefix="north"))
            await post(session, "cameras", camera_body("yard", {"retention": "forever"}))
            await post(session, "retentionpolicies", policy_body())
            await post(session, "retentionpolicies", policy_body("nobody", selector={"matchLabels": {"x": "y"}}))
            await post(session, "retentionpolicies", policy_body("rehearsal", dryRun=True))
            await post(session, "retentionpolicies", policy_body("broken", maxAge="a week"))  # no CRD check here

        # An unparsable duration (the API server would refuse it; the job checks again): exit 2, said in status.
        code, out = await run_job(kube_server, endpoint, "--policy", f"{NS}/broken", "--now", now.isoformat())
        assert code == 2
        assert "invalid RetentionPolicy: spec.maxAge: invalid duration 'a week'" in out
        assert (condition(kube_server, "broken", "LastRunSucceeded") or {})["reason"] == "InvalidSpec"

        # dryRun in the spec: the plan is reported, nothing goes.
        code, out = await run_job(kube_server, endpoint, "--policy", f"{NS}/rehearsal", "--now", now.isoformat())
        assert code == 0, out
        assert await asyncio.to_thread(data.listing) == objects
        assert (condition(kube_server, "rehearsal", "LastRunSucceeded") or {})["reason"] == "DryRun"

        # A selector that matches nothing: a clear message, exit 2, the reason in status, nothing deleted.
        code, out = await run_job(kube_server, endpoint, "--policy", f"{NS}/nobody", "--now", now.isoformat())
        assert code == 2
        assert "matches no Camera" in out
        failed = condition(kube_server, "nobody", "LastRunSucceeded") or {}
        assert (failed["status"], failed["reason"]) == ("False", "NoCamerasSelected")

        code, out = await run_job(kube_server, endpoint, "--policy", f"{NS}/one-week", "--now", now.isoformat())
        assert code == 0, out
        left = await asyncio.to_thread(data.listing)
        cutoff = now - timedelta(days=7)
        gone = {k for k in objects if k not in left}
        assert gone == {
            k
            for k in objects
            if k.startswith(("door/", "north/gate/")) and (t := key_time(k)) is not None and t < cutoff
        }
        assert {k for k in left if k.startswith("yard/")} == {k for k in objects if k.startswith("yard/")}
        status = (kube_server.get(POLICIES, NS, "one-week") or {})["status"]
        assert status["objectsDeleted"] == len(gone)
        assert status["bytesFreed"] == sum(objects[k] for k in gone)
        assert status["camerasCovered"] == 2
        assert status["errors"] == []
        assert status["lastSuccess"]
        assert (condition(kube_server, "one-week", "LastRunSucceeded") or {})["status"] == "True"

        code, out = await run_job(kube_server, endpoint, "--policy", f"{NS}/missing")
        assert code == 2
        assert "not found" in out

        # The job's account may not list Cameras: a clear message, exit 2, nothing deleted a month later either.
        forbidden = {"kind": "Status", "status": "Failure", "reason": "Forbidden", "message": "denied", "code": 403}
        kube_server.emulator[f"get /apis/camops.io/v1alpha1/namespaces/{NS}/cameras"] << 403 << forbidden
        later = (now + timedelta(days=30)).isoformat()
        code, out = await run_job(kube_server, endpoint, "--policy", f"{NS}/one-week", "--now", later)
        assert code == 2
        assert "no permission (403)" in out
        assert await asyncio.to_thread(data.listing) == left
        assert (condition(kube_server, "one-week", "LastRunSucceeded") or {})["reason"] == "CamerasUnreadable"


async def test_a_camera_with_its_own_storage_secret_is_cleaned_with_it(kube_server: KubeServer, tmp_path: Any) -> None:
    """Two cameras: one stores with the operator's credentials, one with its own Secret and bucket. moto
    enforces IAM: the operator's key may not touch the tenant's bucket, the tenant's key only that."""
    now = NOW
    objects = {
        "camops": dict(list(camera_objects(now, "door", prefix="").items())[::20]),
        "tenant": dict(list(camera_objects(now, "lobby", prefix="").items())[::20]),
    }
    users = {"operator": ["camops"], "tenant": ["tenant"]}
    with seeded_moto_users(objects, users, modified=now - UPLOADED_BEFORE) as (endpoint, keys):
        async with aiohttp.ClientSession(kube_server.url) as session:
            await post(session, "cameras", camera_body("door", {"retention": "week"}))
            secret_ref = {"name": "lobby-storage", "accessKeyKey": "id", "secretKeyKey": "key"}
            await post(
                session, "cameras", camera_body("lobby", {"retention": "week"}, bucket="tenant", secretRef=secret_ref)
            )
            await post(session, "retentionpolicies", policy_body())
        args = ("--policy", f"{NS}/one-week", "--now", now.isoformat())

        # The Secret is not mounted (yet): lobby is skipped, named with its Secret; door is cleaned.
        code, out = await run_job(kube_server, endpoint, *args, keys=keys["operator"])
        assert code == 1, out
        assert "lobby: skipped, its storage Secret 'lobby-storage'" in out
        from minio import Minio

        def left(bucket: str, user: str) -> set[str]:
            client = Minio(endpoint, access_key=keys[user][0], secret_key=keys[user][1], secure=False)
            return {o.object_name for o in client.list_objects(bucket, recursive=True)}

        def old(bucket: str) -> set[str]:
            return {k for k in objects[bucket] if (t := key_time(k)) is not None and t < now - timedelta(days=7)}

        assert await asyncio.to_thread(left, "camops", "operator") == set(objects["camops"]) - old("camops")
        assert await asyncio.to_thread(left, "tenant", "tenant") == set(objects["tenant"])
        assert old("tenant")

        # Mounted as the CronJob mounts it: lobby is cleaned with its own key.
        mounted = tmp_path / "lobby-storage"
        mounted.mkdir()
        (mounted / "id").write_text(keys["tenant"][0])
        (mounted / "key").write_text(keys["tenant"][1])
        code, out = await run_job(
            kube_server, endpoint, *args, "--storage-secrets-dir", str(tmp_path), keys=keys["operator"]
        )
        assert code == 0, out
        status = (kube_server.get(POLICIES, NS, "one-week") or {})["status"]
        assert (status["camerasCovered"], status["errors"]) == (2, [])
        assert await asyncio.to_thread(left, "tenant", "tenant") == set(objects["tenant"]) - old("tenant")
        assert status["objectsDeleted"] == len(old("tenant"))
        print(f"lobby (own Secret): deleted {len(old('tenant'))} of {len(objects['tenant'])}")
        assert keys["tenant"][1] not in out


async def test_the_cron_job_mounts_the_selected_cameras_storage_secrets(
    kube_server: KubeServer, monkeypatch: Any
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kube_server.kubeconfig))
    settings = OperatorSettings(
        namespaces=(NS,), http_port=0, storage_endpoint="minio:9000", retry_delay=0.3, drift_interval=0.5
    )

    def mounted() -> dict[str, str]:
        cron = kube_server.get(CRONJOBS, NS, "one-week-retention") or {}
        pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        volumes = {v["name"]: v["secret"] for v in pod["volumes"] if "secret" in v}
        assert all(v["optional"] for v in volumes.values())
        [container] = pod["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        mounts = [m for m in container["volumeMounts"] if m["name"] in volumes]
        assert all(m["readOnly"] and m["mountPath"].startswith(env["CAMOPS_STORAGE_SECRETS_DIR"]) for m in mounts)
        return {volumes[m["name"]]["secretName"]: m["mountPath"] for m in mounts}

    async with aiohttp.ClientSession(kube_server.url) as session:
        await post(session, "cameras", camera_body("lobby", {"retention": "week"}, secretRef={"name": "lobby-storage"}))
        await post(session, "cameras", camera_body("attic", {"retention": "forever"}, secretRef={"name": "elsewhere"}))
        async with running_operator(settings):
            await post(session, "retentionpolicies", policy_body())
            await eventually(lambda: kube_server.get(CRONJOBS, NS, "one-week-retention"), what="CronJob")
            assert set(mounted()) == {"lobby-storage"}  # attic is not selected
            # A Camera that comes later with its own Secret is mounted by the periodic pass.
            await post(session, "cameras", camera_body("porch", {"retention": "week"}, secretRef={"name": "porch-s3"}))
            await eventually(lambda: set(mounted()) == {"lobby-storage", "porch-s3"}, what="porch's Secret mounted")

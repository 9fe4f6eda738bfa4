"""Retention faults (issue 12, point 8): cameras with their own storage Secret, one of them broken.

The real job (`camops retention --policy`, a subprocess as the CronJob runs it) against the
Kubernetes emulator and a moto that enforces IAM: each user may touch only its own bucket.
Four cameras selected by one policy:

- door:  the operator's credentials (the default);
- lobby: its own Secret, mounted as the CronJob mounts it;
- attic: its own Secret, mounted, but holding a wrong secret key (refused by the store);
- shed:  its own Secret, not mounted in this run (a Camera changed since the CronJob was written).

The numbers: every old object of door and lobby is deleted, attic and shed lose nothing and
each is named in the policy's status errors (never with a key), the run exits 1.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from camops_workers.storage.keys import key_time
from tests.integration.retention.conftest import UPLOADED_BEFORE, camera_objects, seeded_moto_users
from tests.integration.retention.test_policy_cluster import NS, POLICIES, camera_body, policy_body, post, run_job
from tests.servers.kube import KubeServer
from tests.support.clock import NOW

pytestmark = pytest.mark.slow

CAMERAS = {  # camera -> (bucket, IAM user whose key it stores with, its Secret or None)
    "door": ("camops", "operator", None),
    "lobby": ("lobby", "lobby", "lobby-s3"),
    "attic": ("attic", "attic", "attic-s3"),
    "shed": ("shed", "shed", "shed-s3"),
}


async def test_each_camera_is_cleaned_with_its_own_credentials_and_a_broken_one_costs_only_itself(
    kube_server: KubeServer, tmp_path: Path
) -> None:
    now = NOW
    objects = {
        bucket: dict(list(camera_objects(now, cam, prefix="").items())[::10]) for cam, (bucket, _, _) in CAMERAS.items()
    }
    users = {user: [bucket] for bucket, user, _ in CAMERAS.values()}

    def old(bucket: str) -> set[str]:
        return {k for k in objects[bucket] if (t := key_time(k)) is not None and t < now - timedelta(days=7)}

    with seeded_moto_users(objects, users, modified=now - UPLOADED_BEFORE) as (endpoint, keys):
        async with aiohttp.ClientSession(kube_server.url) as session:
            for camera, (bucket, _, secret) in CAMERAS.items():
                storage: dict[str, Any] = {"bucket": bucket}
                if secret is not None:
                    storage["secretRef"] = {"name": secret}
                await post(session, "cameras", camera_body(camera, {"retention": "week"}, **storage))
            await post(session, "retentionpolicies", policy_body())
        mounted = tmp_path / "secrets"
        for camera, (_, user, secret) in CAMERAS.items():
            if secret is None or camera == "shed":
                continue
            folder = mounted / secret
            folder.mkdir(parents=True)
            (folder / "accessKey").write_text(keys[user][0])
            (folder / "secretKey").write_text(keys[user][1] if camera != "attic" else "not-the-key")
        args = ("--policy", f"{NS}/one-week", "--now", now.isoformat(), "--storage-secrets-dir", str(mounted))
        code, out = await run_job(kube_server, endpoint, *args, keys=keys["operator"])

        from minio import Minio

        def left(bucket: str, user: str) -> set[str]:
            client = Minio(endpoint, access_key=keys[user][0], secret_key=keys[user][1], secure=False)
            return {o.object_name for o in client.list_objects(bucket, recursive=True)}

        rows = []
        for camera, (bucket, user, _) in CAMERAS.items():
            remaining = await asyncio.to_thread(left, bucket, user)
            rows.append((camera, len(objects[bucket]), len(old(bucket)), len(objects[bucket]) - len(remaining)))
    status = (kube_server.get(POLICIES, NS, "one-week") or {})["status"]
    print(f"\n{'camera':<8}{'objects':>9}{'old':>6}{'deleted':>9}")
    for camera, total, aged_n, deleted_n in rows:
        print(f"{camera:<8}{total:>9}{aged_n:>6}{deleted_n:>9}")
    print(f"exit {code}; status errors: {len(status['errors'])}")
    deleted = {camera: d for camera, _, _, d in rows}
    aged = {camera: a for camera, _, a, _ in rows}
    assert code == 1, out
    assert deleted["door"] == aged["door"] > 0
    assert deleted["lobby"] == aged["lobby"] > 0
    assert deleted["attic"] == 0
    assert deleted["shed"] == 0
    assert status["objectsDeleted"] == aged["door"] + aged["lobby"]
    errors = " | ".join(status["errors"])
    assert "attic" in errors
    assert "shed: skipped, its storage Secret 'shed-s3'" in errors
    assert "lobby" not in errors
    assert "door" not in errors
    for user, (_, secret) in keys.items():
        assert secret not in out, f"{user}'s secret key leaked into the job's output"
        assert secret not in errors

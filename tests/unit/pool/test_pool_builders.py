"""Pool builders: the StatefulSet and assignment ConfigMap, valid Kubernetes, and what workers read."""

from __future__ import annotations

import json
from typing import Any

import kubernetes_validate
import pytest

from camops_operator.api.camera import Camera
from camops_operator.api.pool import CameraPool
from camops_operator.assignment import assign
from camops_operator.builders.contract import ContractError
from camops_operator.builders.pool import (
    POOL_DIR,
    build_pool_config_map,
    build_pool_contracts,
    build_pool_stateful_set,
    effective_camera,
    pool_secrets,
    worker_file,
)
from camops_workers.contract import ProcessConfig
from tests.support.kubernetes import supported_versions
from tests.unit.operator.factories import camera, settings


def pool(**spec: Any) -> CameraPool:
    return CameraPool.model_validate(
        {
            "apiVersion": "camops.io/v1alpha1",
            "kind": "CameraPool",
            "metadata": {"name": "lobby", "namespace": "site-a", "uid": "uid-lobby", "generation": 1},
            "spec": spec,
        }
    )


FULL = {
    "camerasPerWorker": 2,
    "image": "registry.local/camops:dev",
    "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
    "nodeSelector": {"site": "a"},
    "tolerations": [{"key": "edge", "operator": "Exists", "effect": "NoSchedule"}],
    "affinity": {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 10,
                    "podAffinityTerm": {
                        "topologyKey": "kubernetes.io/hostname",
                        "labelSelector": {"matchLabels": {"camops.io/pool": "lobby"}},
                    },
                }
            ]
        }
    },
    "serviceAccountName": "camops-worker",
    "offlineQueue": {"size": "20Gi", "storageClassName": "local-path", "maxItems": 10000},
    "storage": {"bucket": "site-a", "prefix": "lobby", "secretRef": {"name": "s3-site-a"}},
    "events": {"webhook": {"url": "http://hooks.local/camops", "bearerTokenSecretRef": {"name": "hook-token"}}},
}


def cameras() -> dict[str, Camera]:
    creds = {"url": "rtsp://10.0.0.7/s", "credentialsSecretRef": {"name": "cams", "usernameKey": "u"}}
    return {
        "a": camera("a", pool="lobby", source=creds),
        "b": camera("b", pool="lobby", storage={"prefix": "b-site"}),
        "c": camera("c", pool="lobby", paused=True),
        "d": camera("d", pool="lobby", source=creds),
        "e": camera("e", pool="lobby"),
    }


def children(p: CameraPool) -> tuple[list[dict[str, Any]], list[ProcessConfig]]:
    cams = cameras()
    assignment = assign((), cams, p.spec.cameras_per_worker)
    contracts, errors = build_pool_contracts(p, cams, assignment, settings())
    assert errors == {}
    cm = build_pool_config_map(p, assignment, contracts)
    sts = build_pool_stateful_set(p, len(assignment), pool_secrets(p, cams.values()), settings())
    return [cm, sts], contracts


@pytest.mark.parametrize("version", supported_versions())
@pytest.mark.parametrize("spec", [{}, FULL], ids=["minimal", "everything"])
def test_every_manifest_is_valid_kubernetes(spec: dict[str, Any], version: str) -> None:
    for manifest in children(pool(**spec))[0]:
        kubernetes_validate.validate(manifest, version, strict=True)


def test_one_contract_per_worker_as_the_pods_read_it() -> None:
    p = pool(**FULL)
    (cm, sts), contracts = children(p)
    assert sts["spec"]["replicas"] == 3 == len(contracts)
    assert json.loads(cm["data"]["assignment.json"]) == [["a", "b"], ["c", "d"], ["e"]]
    for ordinal, contract in enumerate(contracts):
        assert ProcessConfig.model_validate_json(cm["data"][worker_file(ordinal)]) == contract
    first, second, _ = contracts
    assert [c.camera for c in first.cameras] == ["a", "b"]
    assert [c.camera for c in second.cameras] == ["d"], "a paused camera keeps its slot but is not served"
    assert first.worker == "lobby-pool-0"
    assert first.storage.bucket == "site-a"
    a, b = first.cameras
    assert (a.storage.prefix, b.storage.prefix) == ("lobby", "b-site")
    assert a.source.password is not None
    assert a.source.password.file == "/etc/camops/secrets/cams/password"
    assert a.source.username is not None
    assert a.source.username.file == "/etc/camops/secrets/cams/u"
    assert a.events is not None
    assert a.events.webhook is not None
    assert a.events.webhook.bearer_token is not None
    assert a.events.webhook.bearer_token.file == "/etc/camops/secrets/hook-token/token"
    assert a.report is not None
    assert (a.report.namespace, a.report.name) == ("site-a", "a")
    assert first.queue.max_items == 10000


def test_the_pod_template_does_not_depend_on_where_cameras_are() -> None:
    """Moving cameras rewrites the ConfigMap only: the pods reload it in place, nothing rolls."""
    p = pool(**FULL)
    sts = build_pool_stateful_set(p, 3, pool_secrets(p, cameras().values()), settings())
    fewer = {k: v for k, v in cameras().items() if k != "e"}
    again = build_pool_stateful_set(p, 2, pool_secrets(p, fewer.values()), settings())
    assert sts["spec"]["template"] == again["spec"]["template"]
    (container,) = sts["spec"]["template"]["spec"]["containers"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "pool")
    assert mount["mountPath"] == POOL_DIR
    assert "subPath" not in mount, "a subPath mount is never updated"
    claim = sts["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["resources"]["requests"]["storage"] == "20Gi"


def test_a_camera_cannot_store_elsewhere_than_its_pool() -> None:
    p = pool(storage={"bucket": "site-a"})
    with pytest.raises(ContractError, match="bucket"):
        effective_camera(camera("x", pool="lobby", storage={"bucket": "other"}), p)
    with pytest.raises(ContractError, match="CameraPool lobby"):
        effective_camera(camera("x", pool="lobby", storage={"bucket": "other"}), pool())
    inherited = effective_camera(camera("x", pool="lobby", storage={"layout": "latest"}), p)
    assert (inherited.spec.storage.bucket, inherited.spec.storage.layout) == ("site-a", "latest")

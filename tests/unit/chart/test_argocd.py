"""The Argo CD examples: health checks (run as Lua 5.1, the dialect Argo CD's gopher-lua speaks)
on valid Camera and RetentionPolicy objects, the argocd-cm patch, and both Applications."""

from __future__ import annotations

import copy
import fnmatch
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml
from lupa import lua51

from camops_operator import crdgen
from tests.support.crd import validate
from tests.unit.chart.render import CHART, ROOT, render

ARGOCD = ROOT / "examples" / "argocd"
SCRIPTS = {
    "Camera": ARGOCD / "health" / "camera.lua",
    "RetentionPolicy": ARGOCD / "health" / "retentionpolicy.lua",
    "CameraPool": ARGOCD / "health" / "camerapool.lua",
}
CRDS = {"Camera": crdgen.camera_crd(), "RetentionPolicy": crdgen.retention_crd(), "CameraPool": crdgen.pool_crd()}
EXAMPLES = {
    "Camera": ROOT / "examples" / "camera-rtsp-mediamtx.yaml",
    "RetentionPolicy": ROOT / "examples" / "retention-7d-archive.yaml",
    "CameraPool": ROOT / "examples" / "pool.yaml",
}
NOW = "2026-01-05T10:00:00Z"


def _example(kind: str) -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all(EXAMPLES[kind].read_text()) if d and d["kind"] == kind]
    obj: dict[str, Any] = copy.deepcopy(docs[0])
    obj["metadata"]["generation"] = 3
    return obj


def _ready(status: str, reason: str, message: str = "", generation: int = 3) -> dict[str, Any]:
    return {
        "type": "Ready",
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": NOW,
        "observedGeneration": generation,
    }


def _with_status(kind: str, status: dict[str, Any] | None, **spec: Any) -> dict[str, Any]:
    obj = _example(kind)
    obj["spec"].update(spec)
    if status is not None:
        obj["status"] = status
    assert validate(CRDS[kind], obj) == [], "the sample must be an object the API server accepts"
    return obj


def health(kind: str, obj: dict[str, Any]) -> tuple[str, str]:
    """Run the health script like Argo CD does: ``obj`` global in, a table {status, message} out."""
    lua = lua51.LuaRuntime(register_eval=False, register_builtins=False)
    for unsafe in ("os", "io", "require", "dofile", "loadfile", "load", "loadstring"):
        lua.globals()[unsafe] = None  # Argo CD's sandbox offers none of these
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(SCRIPTS[kind].read_text())
    return str(result["status"]), str(result["message"])


# --- Camera -----------------------------------------------------------------------------------------

CAMERA_CASES: list[tuple[str, dict[str, Any] | None, dict[str, Any], tuple[str, str]]] = [
    ("no status yet", None, {}, ("Progressing", "Waiting for the camops operator to report status")),
    (
        "older generation",
        {"observedGeneration": 2, "phase": "Running", "conditions": [_ready("True", "Running", "ok", 2)]},
        {},
        ("Progressing", "Reconciling generation 3"),
    ),
    ("status without conditions", {"observedGeneration": 3}, {}, ("Progressing", "Waiting for the Ready condition")),
    (
        "ready",
        {"observedGeneration": 3, "phase": "Running", "conditions": [_ready("True", "Running", "capturing")]},
        {},
        ("Healthy", "capturing"),
    ),
    (
        "not ready",
        {
            "observedGeneration": 3,
            "phase": "Degraded",
            "conditions": [
                _ready("False", "SourceUnreachable", "rtsp://192.0.2.10:554/...: connection refused"),
                {"type": "WorkerAvailable", "status": "True", "reason": "Available", "lastTransitionTime": NOW},
            ],
        },
        {},
        ("Degraded", "rtsp://192.0.2.10:554/...: connection refused"),
    ),
    (
        "not ready without a message",
        {"observedGeneration": 3, "phase": "Failed", "conditions": [_ready("False", "InvalidSpec")]},
        {},
        ("Degraded", "InvalidSpec"),
    ),
    (
        "still being set up",
        {
            "observedGeneration": 3,
            "phase": "Pending",
            "conditions": [_ready("False", "WorkerStarting", "pod starting")],
        },
        {},
        ("Progressing", "pod starting"),
    ),
    (
        "ready unknown",
        {"observedGeneration": 3, "phase": "Running", "conditions": [_ready("Unknown", "NoReport", "no report yet")]},
        {},
        ("Progressing", "no report yet"),
    ),
    (
        "paused",
        {"observedGeneration": 3, "phase": "Paused", "conditions": [_ready("False", "Paused", "paused")]},
        {"paused": True},
        ("Suspended", "Camera is paused"),
    ),
]


@pytest.mark.parametrize(("case", "status", "spec", "expected"), CAMERA_CASES, ids=[c[0] for c in CAMERA_CASES])
def test_camera_health(
    case: str, status: dict[str, Any] | None, spec: dict[str, Any], expected: tuple[str, str]
) -> None:
    assert health("Camera", _with_status("Camera", status, **spec)) == expected


# --- RetentionPolicy ---------------------------------------------------------------------------------

POLICY_CASES: list[tuple[str, dict[str, Any] | None, dict[str, Any], tuple[str, str]]] = [
    ("no status yet", None, {}, ("Progressing", "Waiting for the camops operator to report status")),
    (
        "older generation",
        {"observedGeneration": 1, "conditions": [_ready("True", "Scheduled", "ok", 1)]},
        {},
        ("Progressing", "Reconciling generation 3"),
    ),
    (
        "ready",
        {"observedGeneration": 3, "conditions": [_ready("True", "Scheduled", "next run 03:15")]},
        {},
        ("Healthy", "next run 03:15"),
    ),
    (
        "last run failed",
        {
            "observedGeneration": 3,
            "errors": ["bucket cameras-archive: access denied"],
            "conditions": [_ready("False", "RunFailed", "bucket cameras-archive: access denied")],
        },
        {},
        ("Degraded", "bucket cameras-archive: access denied"),
    ),
    (
        "suspended",
        {"observedGeneration": 3, "conditions": [_ready("True", "Suspended")]},
        {"suspend": True},
        ("Suspended", "Retention is suspended"),
    ),
]


@pytest.mark.parametrize(("case", "status", "spec", "expected"), POLICY_CASES, ids=[c[0] for c in POLICY_CASES])
def test_retention_policy_health(
    case: str, status: dict[str, Any] | None, spec: dict[str, Any], expected: tuple[str, str]
) -> None:
    assert health("RetentionPolicy", _with_status("RetentionPolicy", status, **spec)) == expected


POOL_CASES: list[tuple[str, dict[str, Any] | None, tuple[str, str]]] = [
    ("no status yet", None, ("Progressing", "Waiting for the camops operator to report status")),
    (
        "workers starting",
        {"observedGeneration": 3, "conditions": [_ready("False", "WorkersNotReady", "1 of 2 worker(s) ready")]},
        ("Progressing", "1 of 2 worker(s) ready"),
    ),
    (
        "all workers ready",
        {"observedGeneration": 3, "conditions": [_ready("True", "WorkersReady", "2 worker(s) ready")]},
        ("Healthy", "2 worker(s) ready"),
    ),
    (
        "a camera it cannot serve",
        {"observedGeneration": 3, "conditions": [_ready("False", "CamerasNotRendered", "1 camera(s) not served: x")]},
        ("Degraded", "1 camera(s) not served: x"),
    ),
    (
        "an older generation",
        {"observedGeneration": 2, "conditions": [_ready("True", "WorkersReady", "ok", generation=2)]},
        ("Progressing", "Reconciling generation 3"),
    ),
]


@pytest.mark.parametrize(("case", "status", "expected"), POOL_CASES, ids=[c[0] for c in POOL_CASES])
def test_camera_pool_health(case: str, status: dict[str, Any] | None, expected: tuple[str, str]) -> None:
    assert health("CameraPool", _with_status("CameraPool", status)) == expected


def test_argocd_cm_carries_the_scripts_verbatim() -> None:
    config = yaml.safe_load((ARGOCD / "argocd-cm.yaml").read_text())
    assert config["metadata"] == {
        "name": "argocd-cm",
        "namespace": "argocd",
        "labels": {"app.kubernetes.io/name": "argocd-cm", "app.kubernetes.io/part-of": "argocd"},
    }
    for kind, script in SCRIPTS.items():
        assert config["data"][f"resource.customizations.health.camops.io_{kind}"] == script.read_text()


# --- Applications ------------------------------------------------------------------------------------


def _application(name: str) -> dict[str, Any]:
    app: dict[str, Any] = yaml.safe_load((ARGOCD / name).read_text())
    assert app["apiVersion"] == "argoproj.io/v1alpha1"
    assert app["kind"] == "Application"
    assert app["spec"]["destination"]["server"] == "https://kubernetes.default.svc"
    return app


def test_chart_application_installs_this_chart_with_valid_values() -> None:
    source = _application("camops.yaml")["spec"]["source"]
    assert (ROOT / source["path"]).resolve() == CHART
    values = source["helm"]["valuesObject"]
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(values)
    rendered = render(values)
    (operator,) = rendered.one("Deployment", "camops")["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in operator["env"]}
    assert env["CAMOPS_STORAGE_ENDPOINT"] == "minio.minio.svc:9000"
    assert rendered.of_kind("Secret") == [], "the MediaMTX password comes from an existing Secret, not from Git"


def _directory_files(source: dict[str, Any]) -> list[Path]:
    folder = ROOT / source["path"]
    include = source["directory"]["include"].strip("{}").split(",")
    return sorted(p for p in folder.iterdir() if p.is_file() and any(fnmatch.fnmatch(p.name, g) for g in include))


def test_cameras_application_syncs_the_example_cameras_only() -> None:
    app = _application("cameras.yaml")
    source = app["spec"]["source"]
    assert source["directory"]["recurse"] is False, "examples/invalid/ must never be synced"
    files = _directory_files(source)
    kinds = {doc["kind"] for path in files for doc in yaml.safe_load_all(path.read_text()) if doc}
    assert {"Camera", "RetentionPolicy"} <= kinds
    assert kinds <= {"Camera", "RetentionPolicy", "Secret"}
    assert "SkipDryRunOnMissingResource=true" in app["spec"]["syncPolicy"]["syncOptions"]

"""Every duration and size in every CRD is more than zero: the API server (schema + CEL), the models
and `camops local` refuse ``0s``/``0`` with a message naming the field, and the models parse it once."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from camops_operator import crdgen
from camops_operator.api import Camera, RetentionPolicy
from camops_operator.api.common import DurationText, QuantityText, describe_error
from camops_operator.api.pool import CameraPool
from camops_operator.local.manifests import ManifestError, load_manifests
from camops_workers.units import DURATION_PATTERN, QUANTITY_PATTERN
from tests.support.crd import crd_schema, validate

#: A spec of each kind with every optional section present, so every amount field is reachable.
FULL: dict[str, dict[str, Any]] = {
    "Camera": {
        "source": {"url": "rtsp://192.0.2.10/stream"},
        "recording": {"enabled": True},
        "offlineQueue": {"maxBytes": "1Gi"},
        "mediamtx": {"enabled": True, "record": True, "recordDeleteAfter": "1d"},
        "analysis": {"endpoint": "http://192.0.2.20/infer"},
        "events": {"webhook": {"url": "http://192.0.2.30/hook"}, "nats": {"url": "nats://192.0.2.40:4222"}},
    },
    "RetentionPolicy": {"maxAge": "7d", "maxBytesPerCamera": "1Gi", "archive": {"bucket": "archive", "after": "3d"}},
    "CameraPool": {
        "offlineQueue": {"maxBytes": "1Gi"},
        "analysis": {"endpoint": "http://192.0.2.20/infer"},
        "events": {"webhook": {"url": "http://192.0.2.30/hook"}},
    },
}
CRDS = {"Camera": crdgen.camera_crd(), "RetentionPolicy": crdgen.retention_crd(), "CameraPool": crdgen.pool_crd()}
MODELS: dict[str, type[BaseModel]] = {"Camera": Camera, "RetentionPolicy": RetentionPolicy, "CameraPool": CameraPool}
ZERO = {DURATION_PATTERN: ("0s", "must be longer than 0s"), QUANTITY_PATTERN: ("0", "must be more than 0 bytes")}


def _amount_fields(node: dict[str, Any], path: tuple[str, ...]) -> list[tuple[tuple[str, ...], str]]:
    if node.get("pattern") in ZERO:
        return [(path, node["pattern"])]
    out = []
    for name, sub in node.get("properties", {}).items():
        out += _amount_fields(sub, (*path, name))
    return out


FIELDS = [
    (kind, path, pattern)
    for kind, crd in CRDS.items()
    for path, pattern in _amount_fields(crd_schema(crd)["properties"]["spec"], ("spec",))
]


def _doc(kind: str, path: tuple[str, ...] = (), value: str | None = None) -> dict[str, Any]:
    doc = {
        "apiVersion": "camops.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": "x"},
        "spec": copy.deepcopy(FULL[kind]),
    }
    if path:
        node: dict[str, Any] = doc
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return doc


def test_every_kind_has_amounts_and_the_full_specs_are_valid() -> None:
    assert {kind for kind, _, _ in FIELDS} == set(CRDS)
    assert len(FIELDS) >= 15
    for kind, crd in CRDS.items():
        assert validate(crd, _doc(kind)) == []
        MODELS[kind].model_validate(_doc(kind))


@pytest.mark.parametrize(("kind", "path", "pattern"), FIELDS, ids=[f"{k}.{'.'.join(p)}" for k, p, _ in FIELDS])
@pytest.mark.parametrize("form", ["zero", "zero-with-unit", "negative"])
def test_zero_and_negative_amounts_are_refused_naming_the_field(
    kind: str, path: tuple[str, ...], pattern: str, form: str, tmp_path: Path
) -> None:
    zero, message = ZERO[pattern]
    value = {"zero": zero, "zero-with-unit": f"0.0{zero[-1] if pattern == DURATION_PATTERN else 'Gi'}"}.get(form, "-1")
    doc = _doc(kind, path, value)
    field = ".".join(path)
    errors = validate(CRDS[kind], doc)
    assert any(field in e for e in errors), errors
    with pytest.raises(ValidationError) as caught:
        MODELS[kind].model_validate(doc)
    described = describe_error(caught.value)
    assert f"{field}: " in described
    if form != "negative":  # a negative number does not match the format at all
        assert any(field in e and message in e for e in errors), errors
        assert message in described
    if kind != "CameraPool":  # camops local reads Cameras and RetentionPolicies
        manifest = tmp_path / "bad.yaml"
        manifest.write_text(yaml.safe_dump(doc))
        with pytest.raises(ManifestError) as local:
            load_manifests([manifest])
        assert any(f"{field}: " in p for p in local.value.problems), local.value.problems


def test_amounts_are_parsed_once_and_written_back_as_given() -> None:
    camera = Camera.model_validate(_doc("Camera", ("spec", "snapshots", "interval"), "1m30s"))
    interval = camera.spec.snapshots.interval
    assert isinstance(interval, DurationText)
    assert interval.seconds == 90.0
    assert camera.spec.source.stall_timeout.seconds == 15.0  # a default is parsed too
    assert isinstance(camera.spec.offline_queue.size, QuantityText)
    assert camera.spec.offline_queue.size.bytes == 2 * 2**30
    dumped = camera.model_dump(mode="json", by_alias=True)
    assert dumped["spec"]["snapshots"]["interval"] == "1m30s"
    assert dumped["spec"]["offlineQueue"]["size"] == "2Gi"
    assert Camera.model_validate(dumped) == camera

"""Every example is accepted by the generated CRD (schema + CEL) and by the models; every
``examples/invalid/`` manifest is rejected by both, with the message a user would see."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from camops_operator import crdgen
from camops_operator.api import Camera, RetentionPolicy
from camops_operator.api.common import describe_error, dump
from camops_operator.api.pool import CameraPool
from tests.support.crd import validate

ROOT = Path(__file__).resolve().parents[2]
CRDS = {"Camera": crdgen.camera_crd(), "RetentionPolicy": crdgen.retention_crd(), "CameraPool": crdgen.pool_crd()}
MODELS: dict[str, type[BaseModel]] = {"Camera": Camera, "RetentionPolicy": RetentionPolicy, "CameraPool": CameraPool}


def _docs(pattern: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(ROOT.glob(pattern)):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") in CRDS:
                out.append((f"{path.name}:{doc['metadata']['name']}", doc))
    return out


VALID = _docs("examples/*.yaml")
INVALID = sorted((ROOT / "examples/invalid").glob("*.yaml"))


def test_there_are_examples_of_each_kind() -> None:
    assert {doc["kind"] for _, doc in VALID} == {"Camera", "RetentionPolicy", "CameraPool"}
    assert len(INVALID) >= 5


@pytest.mark.parametrize(("name", "doc"), VALID, ids=[n for n, _ in VALID])
def test_examples_are_accepted(name: str, doc: dict[str, Any]) -> None:
    assert validate(CRDS[doc["kind"]], doc) == []
    MODELS[doc["kind"]].model_validate(doc)


def _expected(text: str) -> tuple[str, str | None]:
    """``# expect: <what the error names>`` on the first line, optionally ``# message: <what it says>`` next."""
    lines = text.splitlines()
    message = lines[1].removeprefix("# message:").strip() if lines[1].startswith("# message:") else None
    return lines[0].removeprefix("# expect:").strip(), message


@pytest.mark.parametrize("path", INVALID, ids=[p.name for p in INVALID])
def test_invalid_examples_are_rejected_with_a_clear_message(path: Path) -> None:
    text = path.read_text()
    expected, message = _expected(text)
    doc = yaml.safe_load(text)
    errors = validate(CRDS[doc["kind"]], doc)
    assert errors, "the API server would accept this"
    assert any(expected in e and (message is None or message in e) for e in errors), errors
    with pytest.raises(ValidationError) as caught:
        MODELS[doc["kind"]].model_validate(doc)
    described = describe_error(caught.value)
    assert expected in described
    assert message is None or (f"{expected}: " in described and message in described)


CEL_VARIANTS: list[dict[str, Any]] = [
    {"source": {"url": "rtsp://192.0.2.1/s"}},
    {"source": {"url": "rtsp://192.0.2.1/s"}, "snapshots": {"enabled": False}},
    {"source": {"url": "rtsp://192.0.2.1/s"}, "snapshots": {"enabled": False}, "recording": {"enabled": True}},
    {"source": {"url": "http://192.0.2.1/s.jpg"}, "recording": {"enabled": True}},
    {"source": {"url": "http://192.0.2.1/s.jpg", "via": "mediamtx"}, "mediamtx": {"enabled": True}},
    {"source": {"url": "rtsp://192.0.2.1/s", "via": "mediamtx"}},
    {"source": {"url": "rtsp://192.0.2.1/s", "via": "mediamtx"}, "mediamtx": {"enabled": True}},
    {"source": {"url": "rtsp://u:p@192.0.2.1/s"}},
    {"source": {"url": "rtsp://192.0.2.1/s?user=a@b"}},
    {"source": {"url": "rtsp://192.0.2.1/s"}, "mediamtx": {"enabled": True, "recordDeleteAfter": "1d"}},
    {"source": {"url": "rtsp://192.0.2.1/s"}, "mediamtx": {"enabled": True, "record": True, "recordDeleteAfter": "1d"}},
]


@pytest.mark.parametrize("spec", CEL_VARIANTS)
def test_cel_rules_agree_with_the_models(spec: dict[str, Any]) -> None:
    """The API server (schema + CEL) and the models accept and reject the same specs, with one message."""
    doc = {"apiVersion": "camops.io/v1alpha1", "kind": "Camera", "metadata": {"name": "c"}, "spec": spec}
    errors = validate(CRDS["Camera"], doc)
    if not errors:
        Camera.model_validate(doc)
        return
    with pytest.raises(ValidationError) as caught:
        Camera.model_validate(doc)
    first_cel_message = errors[0].split("Invalid value: ", 1)[-1]
    assert first_cel_message in describe_error(caught.value)


#: Every example a user may apply (examples/invalid/ holds manifests meant to be refused).
EXAMPLE_FILES = sorted(p for p in (ROOT / "examples").rglob("*.yaml") if "invalid" not in p.parts)


#: The one placeholder examples use for passwords, secret keys and tokens.
PLACEHOLDER = "change-me"
SECRET_WORDS = ("pass", "secret", "token")


def _secret_refs(node: Any) -> list[tuple[str, set[str]]]:
    """(Secret name, keys read) of every ``*SecretRef`` in a validated spec dump (defaults filled in)."""
    out: list[tuple[str, set[str]]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key.lower().endswith("secretref") and isinstance(value, dict):
                keys = {v for k, v in value.items() if k == "key" or k.endswith("Key")}
                out.append((value["name"], keys))
            else:
                out += _secret_refs(value)
    elif isinstance(node, list):
        for item in node:
            out += _secret_refs(item)
    return out


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[str(p.relative_to(ROOT)) for p in EXAMPLE_FILES])
def test_each_example_carries_the_secrets_it_references(path: Path) -> None:
    """``kubectl apply -f <example>`` (or ``camops local -f``) on its own has every Secret a Camera reads."""
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    secrets = {
        (d["metadata"].get("namespace", "default"), d["metadata"]["name"]): {
            *d.get("stringData", {}),
            *d.get("data", {}),
        }
        for d in docs
        if d.get("kind") == "Secret"
    }
    for doc in docs:
        if doc.get("kind") != "Camera":
            continue
        camera = Camera.model_validate(doc)
        for name, keys in _secret_refs(dump(camera.spec)):
            have = secrets.get((camera.namespace, name))
            assert have is not None, f"{path.name}: Camera {camera.name} reads Secret {name!r}, not in the file"
            assert keys <= have, f"{path.name}: Secret {name!r} lacks {sorted(keys - have)}"
    for doc in docs:
        if doc.get("kind") == "Secret":
            assert "data" not in doc, f"{path.name}: write placeholders as stringData, readable in review"
            secret_values = {k: v for k, v in doc["stringData"].items() if any(w in k.lower() for w in SECRET_WORDS)}
            assert set(secret_values.values()) <= {PLACEHOLDER}, f"{path.name}: {secret_values} are not placeholders"


def test_no_two_examples_share_a_camera_name() -> None:
    """Every example can be applied into one namespace (as examples/argocd/cameras.yaml does) side by side."""
    seen: dict[tuple[str, str], str] = {}
    for path in EXAMPLE_FILES:
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") not in ("Camera", "Secret", "RetentionPolicy"):
                continue
            key = (doc["kind"], doc["metadata"].get("namespace", "default") + "/" + doc["metadata"]["name"])
            where = str(path.relative_to(ROOT))
            assert key not in seen, f"{key[0]} {key[1]} is in both {seen[key]} and {where}"
            seen[key] = where
    assert sum(1 for kind, _ in seen if kind == "Camera") >= 4

"""Every example is accepted by the generated CRD (schema + CEL) and by the models; every
``examples/invalid/`` manifest is rejected by both, with the message a user would see."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from camops_operator import crdgen
from camops_operator.api import Camera, RetentionPolicy
from camops_operator.api.common import describe_error
from tests.support.crd import validate

ROOT = Path(__file__).resolve().parents[2]
CRDS = {"Camera": crdgen.camera_crd(), "RetentionPolicy": crdgen.retention_crd()}
MODELS: dict[str, type[BaseModel]] = {"Camera": Camera, "RetentionPolicy": RetentionPolicy}


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
    assert {doc["kind"] for _, doc in VALID} == {"Camera", "RetentionPolicy"}
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
    assert message is None or f"{expected}: " in described and message in described


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

"""spec.analysis and spec.events: the API server (schema + CEL) and the models agree, with one message."""

from typing import Any

import pytest
from pydantic import ValidationError

from camops_operator import crdgen
from camops_operator.api import Camera
from camops_operator.api.common import describe_error
from tests.support.crd import validate

CRD = crdgen.camera_crd()
SOURCE = {"url": "rtsp://192.0.2.1/s"}
DETECTOR = "http://detector:8000/v1/detect"

VARIANTS: list[tuple[dict[str, Any], str | None]] = [
    ({"analysis": {"endpoint": DETECTOR}}, None),
    ({"analysis": {"endpoint": "https://detector/v1", "everyNthSnapshot": 5}}, None),
    ({"analysis": {"endpoint": DETECTOR, "everyNthSnapshot": 0}}, "everyNthSnapshot"),
    ({"analysis": {"endpoint": "ftp://detector/v1"}}, "spec.analysis.endpoint must be an http:// or https:// URL"),
    ({"analysis": {"endpoint": "http://user:pw@detector/v1"}}, "spec.analysis.endpoint must not contain credentials"),
    (
        {"snapshots": {"enabled": False}, "recording": {"enabled": True}, "analysis": {"endpoint": DETECTOR}},
        "spec.analysis needs spec.snapshots.enabled: true",
    ),
    ({"analysis": {"endpoint": DETECTOR, "timeout": "soon"}}, "timeout"),
    ({"events": {"webhook": {"url": "https://hooks/x", "mode": "binary"}}}, None),
    ({"events": {"nats": {"url": "nats://nats:4222", "subject": "plant-1.cams"}}}, None),
    ({"events": {}}, "spec.events needs a sink"),
    ({"events": {"webhook": {"url": "mailto:ops@example.com"}}}, "spec.events.webhook.url must be an http://"),
    ({"events": {"nats": {"url": "http://nats:4222"}}}, "spec.events.nats.url must be a nats:// or tls:// URL"),
    ({"events": {"nats": {"url": "nats://n", "subject": "a..b"}}}, "subject"),
    ({"events": {"types": ["io.camops.camera.state"], "webhook": {"url": "http://h"}}}, None),
    ({"events": {"types": ["io.camops.everything"], "webhook": {"url": "http://h"}}}, "types"),
]


@pytest.mark.parametrize(("spec", "expected"), VARIANTS)
def test_schema_cel_and_models_agree(spec: dict[str, Any], expected: str | None) -> None:
    doc = {
        "apiVersion": "camops.io/v1alpha1",
        "kind": "Camera",
        "metadata": {"name": "c"},
        "spec": {"source": SOURCE, **spec},
    }
    errors = validate(CRD, doc)
    if expected is None:
        assert errors == []
        Camera.model_validate(doc)
        return
    assert any(expected in e for e in errors), errors
    with pytest.raises(ValidationError) as caught:
        Camera.model_validate(doc)
    assert expected in describe_error(caught.value)


def test_defaults_are_the_documented_ones() -> None:
    camera = Camera.model_validate(
        {"metadata": {"name": "c"}, "spec": {"source": SOURCE, "analysis": {"endpoint": DETECTOR}}}
    )
    analysis = camera.spec.analysis
    assert analysis is not None
    assert (analysis.every_nth_snapshot, analysis.timeout, analysis.max_in_flight, analysis.buffer_size) == (
        1,
        "5s",
        2,
        30,
    )
    assert analysis.jpeg_quality is None
    assert analysis.max_width is None
    assert analysis.store_results

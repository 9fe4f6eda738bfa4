"""Each event carries the CloudEvents attributes and data a consumer relies on (checked by the SDK)."""

import json
from datetime import UTC, datetime
from pathlib import Path

from cloudevents.core.bindings.http import from_http, to_binary_event, to_structured_event
from cloudevents.core.formats.json import JSONFormat

from camops_workers.analysis.listener import AnalysisResult
from camops_workers.events.build import (
    MAX_INLINE_RESULT_BYTES,
    analysis_event,
    capture_event,
    default_source,
    state_event,
    to_cloudevent,
)
from camops_workers.events.nats_sink import default_subject, event_subject
from camops_workers.items import Capture, ItemKind

WHEN = datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)


def _snapshot() -> Capture:
    return Capture(
        camera="door",
        kind=ItemKind.SNAPSHOT,
        captured_at=WHEN,
        key="door/2026-01/02/030405.678.jpg",
        content_type="image/jpeg",
        data=b"\xff\xd8jpeg\xff\xd9",
        also_keys=("door/latest.jpg",),
    )


def test_snapshot_event_round_trips_through_both_http_modes() -> None:
    pending = capture_event(_snapshot(), "site-a")
    assert pending is not None
    event = to_cloudevent(pending, default_source("site-a", "door"))
    for message in (to_structured_event(event), to_binary_event(event)):
        parsed = from_http(message, JSONFormat())
        assert parsed.get_type() == "io.camops.snapshot.stored"
        assert parsed.get_source() == "/camops/site-a/door"
        assert parsed.get_subject() == "door/2026-01/02/030405.678.jpg"
        assert parsed.get_time() == WHEN
        assert parsed.get_data() == {
            "camera": "door",
            "namespace": "site-a",
            "key": "door/2026-01/02/030405.678.jpg",
            "capturedAt": "2026-01-02T03:04:05.678Z",
            "contentType": "image/jpeg",
            "bytes": 8,
            "alsoKeys": ["door/latest.jpg"],
        }


def test_segment_closed_and_analysis_items_are_told_apart(tmp_path: Path) -> None:
    segment = tmp_path / "seg.mp4"
    segment.write_bytes(b"mp4")
    closed = capture_event(
        Capture("door", ItemKind.SEGMENT, WHEN, "door/2026-01/02/030405.678.mp4", "video/mp4", path=segment), "ns"
    )
    assert closed is not None
    assert closed.type == "io.camops.segment.closed"
    answer = Capture("door", ItemKind.ANALYSIS, WHEN, "k.jpg.json", "application/json", data=b"{}")
    assert capture_event(answer, "ns") is None


def test_state_event_redacts_credentials_in_the_detail() -> None:
    pending = state_event("door", "ns", "backoff", "cannot open rtsp://admin:hunter22@10.0.0.5/s", WHEN)
    event = to_cloudevent(pending, "/camops/ns/door")
    assert event.get_type() == "io.camops.camera.state"
    assert event.get_subject() == "backoff"
    data = event.get_data()
    assert isinstance(data, dict)
    assert "hunter22" not in json.dumps(data)
    assert data["state"] == "backoff"


def test_analysis_event_inlines_small_answers_only() -> None:
    result = AnalysisResult("door", "door/a.jpg", "door/a.jpg.json", WHEN, 200, 0.0123, b'{"detections": []}')
    data = analysis_event(result, "ns").data
    assert data["result"] == {"detections": []}
    assert data["resultKey"] == "door/a.jpg.json"
    assert data["latencyMs"] == 12.3
    big = AnalysisResult("door", "door/a.jpg", None, WHEN, 200, 0.1, b'"' + b"x" * MAX_INLINE_RESULT_BYTES + b'"')
    data = analysis_event(big, "ns").data
    assert "result" not in data
    assert data["resultTruncated"] is True


def test_sequence_sorts_as_text_and_as_number() -> None:
    pending = state_event("door", "ns", "connected", "", WHEN)
    numbered = [to_cloudevent(pending.__class__(**{**pending.__dict__, "sequence": n}), "/s") for n in (9, 10, 11)]
    sequences = [e.get_extension("sequence") for e in numbered]
    assert sequences == sorted(sequences)
    assert [int(s) for s in sequences] == [9, 10, 11]


def test_nats_subjects_are_safe_tokens() -> None:
    prefix = default_subject("site.a", "door*1")
    assert prefix == "camops.site_a.door_1"
    assert event_subject(prefix, "io.camops.snapshot.stored") == "camops.site_a.door_1.snapshot.stored"

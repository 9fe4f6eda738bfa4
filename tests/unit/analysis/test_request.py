"""The request format is stable: a JPEG body and X-Camops-* headers (docs/analysis.md)."""

from datetime import UTC, datetime, timedelta, timezone

from camops_workers.analysis.request import format_time, request_headers


def test_headers_carry_camera_namespace_key_and_capture_time() -> None:
    headers = request_headers(
        camera="door",
        namespace="site-a",
        key="site-a/door/2026-01/02/030405.678.jpg",
        captured_at=datetime(2026, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC),
        extra={"X-Model": "plates-v2", "X-Camops-Camera": "spoofed"},
        token="s3cr3t-token",  # noqa: S106 - a test value
    )
    assert headers == {
        "X-Model": "plates-v2",
        "Content-Type": "image/jpeg",
        "Accept": "application/json",
        "X-Camops-Camera": "door",
        "X-Camops-Namespace": "site-a",
        "X-Camops-Captured-At": "2026-01-02T03:04:05.678Z",
        "X-Camops-Key": "site-a/door/2026-01/02/030405.678.jpg",
        "Authorization": "Bearer s3cr3t-token",
    }


def test_no_authorization_without_a_token() -> None:
    headers = request_headers(camera="c", namespace="n", key="c/latest.jpg", captured_at=datetime.now(UTC))
    assert "Authorization" not in headers


def test_capture_time_is_converted_to_utc() -> None:
    moment = datetime(2026, 1, 2, 5, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    assert format_time(moment) == "2026-01-02T03:00:00.000Z"

from datetime import UTC, datetime, timedelta, timezone

import pytest

from camops_workers.storage.keys import camera_prefix, key_time, latest_key, object_key

T = datetime(2026, 3, 7, 14, 5, 9, 123456, tzinfo=UTC)


def test_dated_layout() -> None:
    assert object_key("dated", "site-a", "door", T, "jpg") == "site-a/door/2026-03/07/140509.123.jpg"
    assert latest_key("site-a", "door") == "site-a/door/latest.jpg"


def test_layouts_without_prefix() -> None:
    assert object_key("latest", "", "door", T, "jpg") == "door/latest.jpg"
    assert object_key("flat", "/x/", "door", T, "mp4") == "x/door/20260307T140509.123Z.mp4"


def test_times_are_utc() -> None:
    local = T.astimezone(timezone(timedelta(hours=2)))
    assert object_key("dated", "", "door", local, "jpg") == object_key("dated", "", "door", T, "jpg")
    with pytest.raises(ValueError, match="timezone-aware"):
        object_key("dated", "", "door", T.replace(tzinfo=None), "jpg")


@pytest.mark.parametrize("prefix", ["../etc", "a/../b", "a//b", "a\x00b", "./a"])
def test_prefixes_cannot_escape(prefix: str) -> None:
    with pytest.raises(ValueError, match="invalid prefix"):
        camera_prefix(prefix, "door")


@pytest.mark.parametrize("name", ["..", "a/b", "", "-x", "a\nb", "/abs"])
def test_camera_names_cannot_escape(name: str) -> None:
    with pytest.raises(ValueError, match="invalid name"):
        camera_prefix("", name)


def test_key_time_reads_dated_and_flat_keys() -> None:
    millis = T.replace(microsecond=123000)
    assert key_time(object_key("dated", "p", "door", T, "jpg")) == millis
    assert key_time(object_key("flat", "p", "door", T, "jpg")) == millis
    assert key_time("p/door/latest.jpg") is None
    assert key_time("p/door/2026-13/40/999999.000.jpg") is None

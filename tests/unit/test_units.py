import pytest

from camops_workers.units import format_bytes, format_duration, parse_duration, parse_quantity


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("10s", 10), ("5m", 300), ("2h", 7200), ("7d", 604800), ("1h30m", 5400), ("1.5s", 1.5)],
)
def test_durations_parse_to_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "ten seconds", "5 m", "-1s", "1w", "s", "10s5"])
def test_bad_durations_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match=r"invalid duration .*such as 500ms, 10s, 5m, 2h or 7d"):
        parse_duration(text)


def test_format_duration_round_trips() -> None:
    for text in ["500ms", "10s", "5m", "1h30m", "7d", "1d2h3m4s5ms"]:
        assert format_duration(parse_duration(text)) == text


@pytest.mark.parametrize(
    ("text", "size"), [("2Gi", 2 * 1024**3), ("500Mi", 500 * 1024**2), ("10G", 10**10), ("1000", 1000), ("1.5Ki", 1536)]
)
def test_quantities_parse_to_bytes(text: str, size: int) -> None:
    assert parse_quantity(text) == size


@pytest.mark.parametrize("text", ["2GB", "lots", "-1Gi", "", "1 Gi"])
def test_bad_quantities_are_rejected_clearly(text: str) -> None:
    with pytest.raises(ValueError, match="invalid quantity"):
        parse_quantity(text)


def test_format_bytes() -> None:
    assert format_bytes(512) == "512 B"
    assert format_bytes(1536) == "1.5 KiB"
    assert format_bytes(3 * 1024**3) == "3.0 GiB"

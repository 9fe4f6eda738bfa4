"""Fixed moments for tests: what a test checks never depends on today's date.

A test that needs "now" takes it from here and passes it to the code (``--now``,
``now=``), never from the wall clock. ``NOW`` is the moment for tests where the date
does not matter. A test that takes the ``dated_now`` fixture runs once at each of
``DATES`` — month ends, a leap day, the last minute of a year, the night a European
summer time ends — and is marked ``dated`` automatically, so ``pytest -m dated``
(``make test-dates``) runs exactly the date-sensitive tests.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

__all__ = ["DATES", "NOW", "dated_now"]

#: Where calendar arithmetic goes wrong: a date folder, a month or a year boundary near ``now``.
DATES: dict[str, datetime] = {
    "31jan": datetime(2027, 1, 31, 12, 0, tzinfo=UTC),
    "30apr": datetime(2027, 4, 30, 23, 30, tzinfo=UTC),
    "29feb": datetime(2028, 2, 29, 12, 0, tzinfo=UTC),
    "newyearseve": datetime(2027, 12, 31, 23, 59, tzinfo=UTC),
    # 02:30 the second time (CET, after the clocks went back at 03:00 CEST): 01:30 UTC.
    "dst-berlin": datetime(2027, 10, 31, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Berlin")),
}

#: The moment of tests where the date does not matter.
NOW = datetime(2027, 6, 15, 12, 0, tzinfo=UTC)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "dated_now" in metafunc.fixturenames:
        # Module scope: a module-wide fixture built from the date (a seeded bucket) is built once per date.
        metafunc.parametrize("dated_now", list(DATES.values()), ids=list(DATES), indirect=True, scope="module")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "dated_now" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.dated)


@pytest.fixture(scope="module")
def dated_now(request: pytest.FixtureRequest) -> datetime:
    """The moment a ``dated`` test runs at (one of ``DATES``; parametrized by ``pytest_generate_tests``)."""
    moment: datetime = request.param
    return moment

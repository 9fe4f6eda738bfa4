"""When a RetentionPolicy's cron ``schedule`` next fires: a pure function for local mode.

In a cluster Kubernetes runs the retention CronJob; on one machine ``camops local``
is the scheduler, so it needs the same five-field cron semantics: minute, hour,
day of month, month, day of week (0 or 7 is Sunday); ``*``, lists, ranges, steps
(``*/15``, ``1-5``, ``0,30``), names (``jan``, ``mon``) and the ``@daily``-style
macros. As in cron, when both day fields are restricted a day matching either fires.
Times are evaluated in the time zone of the ``after`` argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["CronSchedule", "next_run", "parse_cron"]

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = {
    name: i + 1
    for i, name in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])
}
_DAYS = {name: i for i, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
#: (name, lowest, highest, names) of the five fields
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
#: how far ahead to look before deciding a schedule never fires (e.g. "0 0 30 2 *")
_HORIZON_DAYS = 366 * 5


@dataclass(frozen=True)
class CronSchedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool

    def day_matches(self, moment: datetime) -> bool:
        if moment.month not in self.months:
            return False
        by_day = moment.day in self.days
        by_weekday = (moment.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return by_day or by_weekday
        return by_day and by_weekday


def _value(text: str, names: dict[str, int], field: str) -> int:
    lowered = text.lower()
    if lowered in names:
        return names[lowered]
    if not text.isdigit():
        raise ValueError(f"invalid cron {field} {text!r}")
    return int(text)


def _field(text: str, field: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ValueError(f"invalid cron {field} step in {part!r}")
        if body == "*":
            start, end = low, high
        elif "-" in body:
            first, _, last = body.partition("-")
            start, end = _value(first, names, field), _value(last, names, field)
        else:
            start = _value(body, names, field)
            end = high if step else start
        if not low <= start <= end <= high:
            raise ValueError(f"invalid cron {field} {part!r}: values must be within {low}-{high}")
        values.update(range(start, end + 1, step or 1))
    return frozenset(values)


def parse_cron(expression: str) -> CronSchedule:
    """Parse a five-field cron expression or macro; ``ValueError`` names the bad field."""
    text = _MACROS.get(expression.strip().lower(), expression.strip())
    parts = text.split()
    if len(parts) != 5:
        raise ValueError(f"invalid cron schedule {expression!r}: expected five fields or a macro such as @daily")
    sets = [_field(p, name, low, high, names) for p, (name, low, high, names) in zip(parts, _FIELDS, strict=True)]
    weekdays = frozenset(d % 7 for d in sets[4])
    return CronSchedule(
        minutes=sets[0],
        hours=sets[1],
        days=sets[2],
        months=sets[3],
        weekdays=weekdays,
        days_restricted=parts[2] != "*",
        weekdays_restricted=parts[4] != "*",
    )


def next_run(schedule: str | CronSchedule, after: datetime) -> datetime:
    """The first minute strictly after ``after`` at which ``schedule`` fires (in ``after``'s time zone)."""
    cron = parse_cron(schedule) if isinstance(schedule, str) else schedule
    start = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    day = start.replace(hour=0, minute=0)
    for offset in range(_HORIZON_DAYS):
        candidate_day = day + timedelta(days=offset)
        if not cron.day_matches(candidate_day):
            continue
        for hour in sorted(cron.hours):
            for minute in sorted(cron.minutes):
                moment = candidate_day.replace(hour=hour, minute=minute)
                if moment >= start:
                    return moment
    raise ValueError(f"cron schedule never fires within {_HORIZON_DAYS // 366} years")

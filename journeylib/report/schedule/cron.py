"""A small five-field cron parser and the slots it yields in a time zone, with DST handled.

Fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or JAN-DEC), day of
week (0-7 or SUN-SAT, 0 and 7 both Sunday). Each field takes ``*``, values, ranges ``a-b``,
lists ``a,b`` and steps ``*/15``, ``1-5/2``, ``5/15`` (from 5 to the field's end). Macros:
``@hourly``, ``@daily`` (``@midnight``), ``@weekly``, ``@monthly``, ``@yearly`` (``@annually``).

As in Vixie cron, when both day fields are restricted (neither starts with ``*``) a day matches
if *either* matches; otherwise both must. Times are wall-clock times in the given zone: a time
that does not exist (spring-forward gap) runs at the first valid instant after it, the moment
the clocks jump; a time that exists twice (fall-back) runs once, at its first occurrence.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from journeylib.errors import JourneyError

__all__ = ["CronError", "CronExpression", "next_slot", "parse_cron", "slots_between"]

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name}
_WEEKDAYS = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}
# (name, low, high, names) of the five fields, in order
_FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 7, _WEEKDAYS),
)
# a leap year is at most 8 years away (2096 -> 2104), so every valid expression matches by then
_SEARCH_DAYS = 366 * 9


class CronError(JourneyError, ValueError):
    """A cron expression cannot be parsed; the message names the field and its value."""


@dataclass(frozen=True)
class CronExpression:
    """A parsed cron expression: the allowed values of each field.

    ``weekdays`` uses cron numbering (0 = Sunday). ``day_or_weekday`` is true when both day
    fields are restricted, so that a day matching either of them matches.
    """

    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    day_or_weekday: bool
    days_restricted: bool
    weekdays_restricted: bool

    def matches_day(self, day: date) -> bool:
        """Whether the expression runs on this (local) calendar day."""
        if day.month not in self.months:
            return False
        in_days = day.day in self.days
        in_weekdays = (day.weekday() + 1) % 7 in self.weekdays
        if self.day_or_weekday:
            return in_days or in_weekdays
        return in_days and in_weekdays


@lru_cache(maxsize=256)
def parse_cron(expression: str) -> CronExpression:
    """Parse a five-field cron expression or a macro.

    Raises
    ------
    CronError
        Naming the field and value, e.g. ``cron '61 * * * *': minute field '61': 61 is out of
        range 0-59``.

    Examples
    --------
    >>> parse_cron("0 7 * * MON-FRI").weekdays == frozenset({1, 2, 3, 4, 5})
    True
    """
    text = expression.strip()
    if text.startswith("@"):
        if text.lower() not in _MACROS:
            raise CronError(
                f"cron {expression!r}: unknown macro {text!r}; expected one of "
                + ", ".join(_MACROS)
            )
        fields = _MACROS[text.lower()].split()
    else:
        fields = text.split()
    if len(fields) != 5:
        raise CronError(
            f"cron {expression!r}: expected 5 fields (minute hour day-of-month month "
            f"day-of-week) or a macro such as @daily, got {len(fields)}"
        )
    values = [_parse_field(expression, f, spec) for f, spec in zip(fields, _FIELDS, strict=True)]
    weekdays = frozenset(v % 7 for v in values[4])
    days_restricted = not fields[2].startswith("*")
    weekdays_restricted = not fields[4].startswith("*")
    parsed = CronExpression(
        text=expression,
        minutes=tuple(sorted(values[0])),
        hours=tuple(sorted(values[1])),
        days=frozenset(values[2]),
        months=frozenset(values[3]),
        weekdays=weekdays,
        day_or_weekday=days_restricted and weekdays_restricted,
        days_restricted=days_restricted,
        weekdays_restricted=weekdays_restricted,
    )
    if days_restricted and not weekdays_restricted:
        longest = max(calendar.monthrange(2000, m)[1] for m in parsed.months)
        if min(parsed.days) > longest:
            raise CronError(
                f"cron {expression!r}: never matches: day-of-month {fields[2]!r} does not occur "
                f"in month {fields[3]!r}"
            )
    return parsed


def _parse_field(expression: str, field: str, spec: tuple) -> set[int]:
    name, low, high, names = spec
    where = f"cron {expression!r}: {name} field {field!r}"
    values: set[int] = set()
    for item in field.split(","):
        span, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not _is_number(step_text) or int(step_text) == 0:
                raise CronError(f"{where}: step must be a whole number above 0, got {step_text!r}")
            step = int(step_text)
        if span == "*":
            start, end = low, high
        elif "-" in span:
            first, _, last = span.partition("-")
            start = _value(where, first, low, high, names)
            end = _value(where, last, low, high, names)
            if name == "day-of-week" and last.upper() == "SUN" and start > 0:
                end = 7  # FRI-SUN reads as 5-7
            if start > end:
                raise CronError(f"{where}: range start {first!r} is after its end {last!r}")
        else:
            start = _value(where, span, low, high, names)
            end = high if slash else start
        values.update(range(start, end + 1, step))
    return values


def _value(where: str, text: str, low: int, high: int, names: dict[str, int]) -> int:
    if text.upper() in names:
        return names[text.upper()]
    if not _is_number(text):
        expected = f"{low}-{high}" + (f" or {min(names, key=names.get)}-" if names else "")
        if names:
            expected += max(names, key=names.get)
        raise CronError(f"{where}: unknown value {text!r}; expected {expected}")
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"{where}: {value} is out of range {low}-{high}")
    return value


def _is_number(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` also takes '²', which ``int`` refuses)."""
    return text.isascii() and text.isdigit()


def slots_between(
    expression: str, timezone: str, after: datetime, until: datetime
) -> list[datetime]:
    """Every instant the expression fires with ``after < slot <= until``, as aware UTC datetimes.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> slots = slots_between("0 7 * * *", "Europe/Berlin",
    ...     datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, 12, tzinfo=UTC))
    >>> [s.isoformat() for s in slots]
    ['2026-01-01T06:00:00+00:00', '2026-01-02T06:00:00+00:00']
    """
    _require_aware(after, "after")
    _require_aware(until, "until")
    slots = []
    for slot in _slots_after(parse_cron(expression), timezone, after):
        if slot > until:
            break
        slots.append(slot)
    return slots


def next_slot(expression: str, timezone: str, after: datetime) -> datetime:
    """The first instant after ``after`` at which the expression fires (aware, UTC).

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> next_slot("@monthly", "UTC", datetime(2026, 1, 15, tzinfo=UTC)).isoformat()
    '2026-02-01T00:00:00+00:00'
    """
    _require_aware(after, "after")
    for slot in _slots_after(parse_cron(expression), timezone, after):
        return slot
    raise CronError(f"cron {expression!r}: never matches")  # pragma: no cover


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a time-zone-aware datetime, got naive {moment}")


def _slots_after(cron: CronExpression, timezone: str, after: datetime) -> Iterator[datetime]:
    zone = ZoneInfo(timezone)
    # a gap moves a slot forward by at most a few hours: start a day early, filter by instant
    day = after.astimezone(zone).date() - timedelta(days=1)
    previous: datetime | None = None
    for _ in range(_SEARCH_DAYS):
        if cron.matches_day(day):
            for hour in cron.hours:
                for minute in cron.minutes:
                    slot = _instant(datetime.combine(day, time(hour, minute)), zone)
                    if slot > after and slot != previous:
                        previous = slot
                        yield slot
        day += timedelta(days=1)


def _instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time: its first occurrence, or the end of its DST gap."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # in a gap: fold=0 reads it with the offset before the jump (too late), fold=1 with the
    # offset after it (too early); the jump lies between, on a whole minute
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = first
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) // 2
        middle -= timedelta(seconds=middle.second, microseconds=middle.microsecond)
        if middle.astimezone(zone).replace(tzinfo=None) > wall:
            high = middle
        else:
            low = middle
    return high

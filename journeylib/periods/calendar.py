"""Periods and grains: ``[start, end)`` in the journey's time zone, split by day, ISO week or month.

Timestamps are stored in UTC; a period boundary is local midnight in the configured zone, so a
day that changes daylight saving time has 23 or 25 hours.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import polars as pl

__all__ = [
    "GRAINS",
    "Grain",
    "local_bound",
    "next_period_start",
    "period_start_expr",
    "period_starts",
    "previous_period",
]

Grain = Literal["day", "week", "month"]
GRAINS: tuple[str, ...] = ("day", "week", "month")
_EVERY = {"day": "1d", "week": "1w", "month": "1mo"}


def period_start_expr(column: str | pl.Expr, grain: Grain, timezone: str) -> pl.Expr:
    """Expression: the local start date (``pl.Date``) of the period holding each UTC timestamp.

    Weeks are ISO weeks (Monday start).

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime, timezone
    >>> frame = pl.DataFrame({"ts": [datetime(2026, 3, 29, 22, 30, tzinfo=timezone.utc)]})
    >>> frame.select(period_start_expr("ts", "day", "Europe/Berlin")).item()
    datetime.date(2026, 3, 30)
    """
    if grain not in _EVERY:
        raise ValueError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")
    expr = pl.col(column) if isinstance(column, str) else column
    local_date = expr.dt.convert_time_zone(timezone).dt.date()
    if grain == "day":
        return local_date
    return local_date.dt.truncate(_EVERY[grain])


def local_bound(day: date, timezone: str) -> datetime:
    """Local midnight of ``day`` in ``timezone``, as an aware UTC datetime.

    Examples
    --------
    >>> local_bound(date(2026, 3, 30), "Europe/Berlin")  # summer time: UTC+2
    datetime.datetime(2026, 3, 29, 22, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC'))
    """
    local = datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))
    return local.astimezone(ZoneInfo("UTC"))


def next_period_start(start: date, grain: Grain) -> date:
    """The first day of the period after the one starting on ``start``.

    Examples
    --------
    >>> next_period_start(date(2026, 12, 1), "month"), next_period_start(date(2026, 12, 28), "week")
    (datetime.date(2027, 1, 1), datetime.date(2027, 1, 4))
    """
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    if grain == "month":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    raise ValueError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")


def align(day: date, grain: Grain) -> date:
    """The start of the period holding ``day``.

    Examples
    --------
    >>> align(date(2026, 1, 1), "week")  # a Thursday: its ISO week starts on Monday
    datetime.date(2025, 12, 29)
    """
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")


def period_starts(start: date, end: date, grain: Grain) -> list[date]:
    """Starts of the periods overlapping ``[start, end)``, the first aligned to the grain.

    Examples
    --------
    >>> period_starts(date(2026, 1, 15), date(2026, 3, 1), "month")
    [datetime.date(2026, 1, 1), datetime.date(2026, 2, 1)]
    """
    starts = []
    current = align(start, grain)
    while current < end:
        starts.append(current)
        current = next_period_start(current, grain)
    return starts


def previous_period(start: date, grain: Grain) -> date:
    """The start of the period before the one starting on ``start``.

    Examples
    --------
    >>> previous_period(date(2026, 1, 1), "month"), previous_period(date(2024, 3, 1), "day")
    (datetime.date(2025, 12, 1), datetime.date(2024, 2, 29))
    """
    if grain == "day":
        return start - timedelta(days=1)
    if grain == "week":
        return start - timedelta(days=7)
    if grain == "month":
        return date(start.year - (start.month == 1), (start.month - 2) % 12 + 1, 1)
    raise ValueError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")

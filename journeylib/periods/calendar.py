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
    "GRAIN_EVERY",
    "Grain",
    "align",
    "local_bound",
    "next_period_start",
    "period_end_expr",
    "period_start_expr",
    "period_starts",
    "periods_before",
    "previous_period",
    "truncate_to_grain",
]

Grain = Literal["day", "week", "month"]
GRAINS: tuple[str, ...] = ("day", "week", "month")
#: A grain as a Polars duration string (``dt.truncate``, ``dt.offset_by``).
GRAIN_EVERY: dict[str, str] = {"day": "1d", "week": "1w", "month": "1mo"}


def _every(grain: str) -> str:
    if grain not in GRAIN_EVERY:
        raise ValueError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")
    return GRAIN_EVERY[grain]


def truncate_to_grain(day: pl.Expr, grain: Grain) -> pl.Expr:
    """Expression: the start of the period holding each date of ``day`` (ISO weeks).

    Examples
    --------
    >>> from datetime import date
    >>> frame = pl.DataFrame({"day": [date(2026, 1, 8)]})
    >>> frame.select(truncate_to_grain(pl.col("day"), "week")).item()
    datetime.date(2026, 1, 5)
    """
    return day.dt.truncate(_every(grain))


def period_end_expr(column: str, grain: Grain) -> pl.Expr:
    """Expression: the first day after the period starting on each date of ``column``."""
    return pl.col(column).dt.offset_by(_every(grain))


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
    _every(grain)
    expr = pl.col(column) if isinstance(column, str) else column
    local_date = expr.dt.convert_time_zone(timezone).dt.date()
    if grain == "day":
        return local_date
    return truncate_to_grain(local_date, grain)


def local_bound(day: date, timezone: str) -> datetime:
    """Local midnight of ``day`` in ``timezone``, as an aware UTC datetime."""
    local = datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))
    return local.astimezone(ZoneInfo("UTC"))


def next_period_start(start: date, grain: Grain) -> date:
    """The first day of the period after the one starting on ``start``."""
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    if grain == "month":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    raise ValueError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")


def align(day: date, grain: Grain) -> date:
    """The start of the period holding ``day``."""
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")


def period_starts(start: date, end: date, grain: Grain) -> list[date]:
    """Starts of the periods overlapping ``[start, end)``, the first aligned to the grain."""
    starts = []
    current = align(start, grain)
    while current < end:
        starts.append(current)
        current = next_period_start(current, grain)
    return starts


def previous_period(start: date, grain: Grain) -> date:
    """The start of the period before the one starting on ``start``."""
    if grain == "day":
        return start - timedelta(days=1)
    if grain == "week":
        return start - timedelta(days=7)
    if grain == "month":
        return date(start.year - (start.month == 1), (start.month - 2) % 12 + 1, 1)
    raise ValueError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")


def periods_before(start: date, grain: Grain, count: int) -> date:
    """The start of the period ``count`` periods before the one starting on ``start``.

    Examples
    --------
    >>> periods_before(date(2026, 3, 1), "month", 3)
    datetime.date(2025, 12, 1)
    """
    for _ in range(count):
        start = previous_period(start, grain)
    return start

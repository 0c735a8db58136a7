"""Periods and grains: ``[start, end)`` in the journey's time zone, split by day, ISO week or month.

Timestamps are stored in UTC; a period boundary is local midnight in the configured zone, so a
day that changes daylight saving time has 23 or 25 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import polars as pl

__all__ = [
    "GRAINS",
    "GRAIN_EVERY",
    "MAX_SPAN_DAYS",
    "Grain",
    "Span",
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
#: The longest :class:`Span`: the KPI engine keeps a user's active days of a period as bits of
#: a 32-bit mask, so a period holds at most 31 days (a month, the longest grain).
MAX_SPAN_DAYS = 31


def _every(grain: str) -> str:
    if grain not in GRAIN_EVERY:
        raise ValueError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")
    return GRAIN_EVERY[grain]


def period_end_expr(column: str, grain: Grain) -> pl.Expr:
    """Expression: the first day after the period starting on each date of ``column``."""
    return pl.col(column).dt.offset_by(_every(grain))


@dataclass(frozen=True)
class Span:
    """Periods of ``days`` days, one of them starting on ``anchor``: a grain for an explicit
    range of dates (a report over two weeks, compared with the two weeks before).

    Every grain function takes a span where it takes a grain: the period holding a day is
    counted in whole spans from ``anchor``, the previous period is ``days`` days earlier.

    Examples
    --------
    >>> span = Span(date(2026, 8, 24), 14)
    >>> previous_period(date(2026, 8, 24), span), next_period_start(date(2026, 8, 24), span)
    (datetime.date(2026, 8, 10), datetime.date(2026, 9, 7))
    >>> align(date(2026, 9, 6), span)
    datetime.date(2026, 8, 24)
    """

    anchor: date
    days: int

    def __post_init__(self) -> None:
        if not 1 <= self.days <= MAX_SPAN_DAYS:
            raise ValueError(f"a span lasts 1 to {MAX_SPAN_DAYS} days, got {self.days}")

    def __str__(self) -> str:
        return f"{self.days} days"


def truncate_to_grain(day: pl.Expr, grain: Grain | Span) -> pl.Expr:
    """Expression: the start of the period holding each local date (``pl.Date``) of ``day``
    (ISO weeks; a :class:`Span` counts whole spans from its anchor).

    Examples
    --------
    >>> frame = pl.DataFrame({"day": [date(2026, 1, 8)]})
    >>> frame.select(truncate_to_grain(pl.col("day"), "week")).item()
    datetime.date(2026, 1, 5)
    >>> frame.select(truncate_to_grain(pl.col("day"), Span(date(2026, 1, 1), 14))).item()
    datetime.date(2026, 1, 1)
    """
    if isinstance(grain, Span):
        anchor = pl.lit(grain.anchor, pl.Date)
        spans = (day - anchor).dt.total_days() // grain.days
        return anchor + pl.duration(days=spans * grain.days)
    every = _every(grain)
    if grain == "day":
        return day
    return day.dt.truncate(every)


def period_start_expr(column: str | pl.Expr, grain: Grain | Span, timezone: str) -> pl.Expr:
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
    expr = pl.col(column) if isinstance(column, str) else column
    return truncate_to_grain(expr.dt.convert_time_zone(timezone).dt.date(), grain)


def local_bound(day: date, timezone: str) -> datetime:
    """Local midnight of ``day`` in ``timezone``, as an aware UTC datetime.

    Examples
    --------
    >>> local_bound(date(2026, 3, 30), "Europe/Berlin")  # summer time: UTC+2
    datetime.datetime(2026, 3, 29, 22, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC'))
    """
    local = datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))
    return local.astimezone(ZoneInfo("UTC"))


def next_period_start(start: date, grain: Grain | Span) -> date:
    """The first day of the period after the one starting on ``start``.

    Examples
    --------
    >>> next_period_start(date(2026, 12, 1), "month"), next_period_start(date(2026, 12, 28), "week")
    (datetime.date(2027, 1, 1), datetime.date(2027, 1, 4))
    """
    if isinstance(grain, Span):
        return start + timedelta(days=grain.days)
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    if grain == "month":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    raise ValueError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")


def align(day: date, grain: Grain | Span) -> date:
    """The start of the period holding ``day``.

    Examples
    --------
    >>> align(date(2026, 1, 1), "week")  # a Thursday: its ISO week starts on Monday
    datetime.date(2025, 12, 29)
    """
    if isinstance(grain, Span):
        return grain.anchor + timedelta(days=(day - grain.anchor).days // grain.days * grain.days)
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")


def period_starts(start: date, end: date, grain: Grain | Span) -> list[date]:
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


def previous_period(start: date, grain: Grain | Span) -> date:
    """The start of the period before the one starting on ``start``.

    Examples
    --------
    >>> previous_period(date(2026, 1, 1), "month"), previous_period(date(2024, 3, 1), "day")
    (datetime.date(2025, 12, 1), datetime.date(2024, 2, 29))
    """
    if isinstance(grain, Span):
        return start - timedelta(days=grain.days)
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

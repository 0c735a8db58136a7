"""Period arithmetic on period-start dates, as expressions (offsets, later periods, data end)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from journeylib.periods.calendar import Grain

__all__ = ["data_end_expr", "local_wall_clock", "period_after", "period_index"]

UTC_DATETIME = pl.Datetime("us", "UTC")


def _as_expr(column: str | pl.Expr) -> pl.Expr:
    return pl.col(column) if isinstance(column, str) else column


def period_index(column: str | pl.Expr, grain: Grain) -> pl.Expr:
    """An integer that grows by one from each period start (a ``pl.Date``) to the next.

    Examples
    --------
    >>> from datetime import date
    >>> frame = pl.DataFrame({"a": [date(2025, 11, 1)], "b": [date(2026, 2, 1)]})
    >>> frame.select(period_index("b", "month") - period_index("a", "month")).item()
    3
    """
    start = _as_expr(column)
    if grain == "day":
        return start.cast(pl.Int32).cast(pl.Int64)
    if grain == "week":
        return start.cast(pl.Int32).cast(pl.Int64) // 7
    if grain == "month":
        return start.dt.year().cast(pl.Int64) * 12 + start.dt.month().cast(pl.Int64) - 1
    raise ValueError(f"unknown grain {grain!r}; expected one of day, week, month")


def period_after(column: str | pl.Expr, periods: pl.Expr, grain: Grain) -> pl.Expr:
    """The start of the period ``periods`` grains after the period starting on ``column``.

    Examples
    --------
    >>> from datetime import date
    >>> frame = pl.DataFrame({"start": [date(2026, 11, 1), date(2026, 1, 1)], "n": [3, -1]})
    >>> frame.select(period_after("start", pl.col("n"), "month")).to_series().to_list()
    [datetime.date(2027, 2, 1), datetime.date(2025, 12, 1)]
    """
    start = _as_expr(column)
    if grain == "day":
        return start + pl.duration(days=periods)
    if grain == "week":
        return start + pl.duration(weeks=periods)
    if grain == "month":
        index = period_index(start, "month") + periods
        return pl.date(index // 12, index % 12 + 1, 1)
    raise ValueError(f"unknown grain {grain!r}; expected one of day, week, month")


def local_wall_clock(column: str | pl.Expr, timezone: str) -> pl.Expr:
    """A UTC timestamp as the naive wall-clock time of ``timezone``."""
    return _as_expr(column).dt.convert_time_zone(timezone).dt.replace_time_zone(None)


def data_end_expr(data_end: datetime | None, default: pl.Expr) -> pl.Expr:
    """The end of observation: ``data_end`` (naive read as UTC) or the ``default`` expression."""
    if data_end is None:
        return default
    if data_end.tzinfo is None:
        data_end = data_end.replace(tzinfo=UTC)
    return pl.lit(data_end.astimezone(UTC), UTC_DATETIME)

"""Local period starts from integer microseconds and a per-zone table of UTC offset changes.

Converting every event to the local time zone (``convert_time_zone().dt.date()``) is the most
expensive step of a pass over the events. A zone's UTC offset only changes at its transitions,
so the local wall clock is ``epoch_us + offset`` where the offset is looked up once per event by
a binary search (``search_sorted``) in the zone's sorted transition instants. The table is built
once per zone with Polars' own conversion (so it agrees with :func:`period_start_expr`): probes
every hour from 1900 to 2100 and every day from 1700 to 2300, each change narrowed to the exact
second. Offsets are taken as constant before 1700 and after 2300.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

import polars as pl

from journeylib.periods.calendar import Grain

__all__ = ["local_period_start"]

_US_PER_SECOND = 1_000_000
_US_PER_DAY = 86_400 * _US_PER_SECOND
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# (first year, last year, probe step): dense where data lives, sparse around it
_PROBES = ((1700, 2300, "1d"), (1900, 2100, "1h"))


def _offsets_us(seconds: pl.Series, timezone: str) -> pl.Series:
    """The UTC offset (microseconds) of ``timezone`` at each epoch second."""
    instants = (seconds * _US_PER_SECOND).cast(pl.Datetime("us", "UTC"))
    local = instants.dt.convert_time_zone(timezone).dt.replace_time_zone("UTC")
    return (local - instants).dt.total_microseconds()


def _probe_seconds() -> pl.Series:
    grids = [
        pl.datetime_range(
            datetime(first, 1, 1, tzinfo=UTC), datetime(last, 1, 1, tzinfo=UTC), step, eager=True
        )
        for first, last, step in _PROBES
    ]
    return pl.concat(grids).unique().sort().dt.epoch("s")


@lru_cache(maxsize=64)
def _transitions(timezone: str) -> tuple[pl.Series, pl.Series]:
    """Sorted transition instants (epoch us) and the offsets (us): ``offsets[i]`` holds from
    ``instants[i - 1]`` (from the start of time for ``i = 0``) to ``instants[i]``."""
    seconds = _probe_seconds()
    offsets = _offsets_us(seconds, timezone)
    changed = (offsets != offsets.shift(1)).fill_null(False)
    # a change lies in (before, after]; halve the interval until it is one second wide
    before = seconds.shift(1).filter(changed)
    after = seconds.filter(changed)
    before_offset = offsets.shift(1).filter(changed)
    while len(after) and (after - before).max() > 1:
        middle = before + (after - before) // 2
        same = _offsets_us(middle, timezone) == before_offset
        before = pl.select(pl.when(same).then(middle).otherwise(before)).to_series()
        after = pl.select(pl.when(same).then(after).otherwise(middle)).to_series()
    instants = (after * _US_PER_SECOND).alias("instant")
    return instants, pl.concat([offsets.head(1), offsets.filter(changed)]).alias("offset")


def _local_day(column: str | pl.Expr, timezone: str) -> pl.Expr:
    """Days since 1970-01-01 of the local date of each UTC timestamp."""
    epoch_us = (pl.col(column) if isinstance(column, str) else column).dt.epoch("us")
    instants, offsets = _transitions(timezone)
    if len(instants) == 0:
        local_us = epoch_us + offsets.item()
    else:
        position = pl.lit(instants).search_sorted(epoch_us, side="right")
        local_us = epoch_us + pl.lit(offsets).gather(position)
    return local_us // _US_PER_DAY


def local_period_start(column: str | pl.Expr, grain: Grain, timezone: str) -> pl.Expr:
    """The local period start (``pl.Date``) of each UTC timestamp, as ``period_start_expr``.

    Same result, without a time-zone conversion per row.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> frame = pl.DataFrame({"ts": [datetime(2026, 3, 29, 22, 30, tzinfo=timezone.utc)]})
    >>> frame.select(local_period_start("ts", "day", "Europe/Berlin")).item()
    datetime.date(2026, 3, 30)
    """
    day = _local_day(column, timezone)
    if grain == "day":
        return day.cast(pl.Int32).cast(pl.Date)
    if grain == "week":
        # 1970-01-01 was a Thursday: day -3 was a Monday (one use of ``day``: one lookup)
        return ((day + 3) // 7 * 7 - 3).cast(pl.Int32).cast(pl.Date)
    if grain == "month":
        return day.cast(pl.Int32).cast(pl.Date).dt.month_start()
    raise ValueError(f"unknown grain {grain!r}; expected one of day, week, month")

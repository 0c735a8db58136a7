"""Shared views of the per-unit funnel frame: dimensions, transitions, local periods."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from journeylib.funnel import FunnelUnits, step_time
from journeylib.periods import Grain, local_bound, period_starts

__all__ = [
    "CANONICAL",
    "closed",
    "default_dimensions",
    "period_grid",
    "transition_cube",
    "transition_rows",
    "value_text",
]

_COMBINATION = "_combination"
#: Columns of the canonical events table that are not dimensions.
CANONICAL = frozenset({"user_id", "timestamp", "event", "revenue", "session_id"})


def default_dimensions(schema: pl.Schema, unit: str) -> list[str]:
    """Every dimension of the events: the columns other than the canonical ones and the unit.

    Hive partition columns (``month=...`` folders) are not dimensions either.
    """
    return [
        name
        for name, dtype in schema.items()
        if name not in CANONICAL and name != unit and name != "month" and not dtype.is_temporal()
    ]


def value_text(column: str) -> pl.Expr:
    """A dimension's values as text (the segments of every dimension share one column)."""
    return pl.col(column).cast(pl.String)


def transition_rows(units: FunnelUnits, dimensions: Sequence[str] = ()) -> pl.DataFrame:
    """One row per unit and transition it could take: ``from_step``, ``at``, ``converted``.

    A unit can take transition k -> k+1 once it reached step k, unless it stopped there with
    its window still open (``in_progress``: it may still convert, so it is neither a
    conversion nor a loss). ``at`` is when it reached step k; ``converted`` whether it reached
    k+1. The ``dimensions`` columns ride along.
    """
    frame = units.units
    rows = []
    for step in range(1, units.step_count):
        open_here = pl.col("in_progress") & (pl.col("reached") == step)
        rows.append(
            frame.filter((pl.col("reached") >= step) & ~open_here).select(
                pl.lit(step, pl.Int32).alias("from_step"),
                pl.col(step_time(step)).alias("at"),
                (pl.col("reached") > step).alias("converted"),
                *dimensions,
            )
        )
    if not rows:
        schema = {"from_step": pl.Int32, "at": pl.Datetime("us", "UTC"), "converted": pl.Boolean}
        return pl.DataFrame(schema=schema)
    return pl.concat(rows)


def period_grid(units: FunnelUnits, grain: Grain, steps: Sequence[int]) -> list[date]:
    """Starts of the local periods holding the units' times of ``steps``, in order."""
    times = [step_time(step) for step in steps]
    bounds = units.units.select(
        pl.min_horizontal(pl.col(t).min() for t in times).alias("first"),
        pl.max_horizontal(pl.col(t).max() for t in times).alias("last"),
    )
    first, last = bounds.row(0) if units.units.height else (None, None)
    if first is None:
        return []
    zone = ZoneInfo(units.timezone)
    first_day, last_day = first.astimezone(zone).date(), last.astimezone(zone).date()
    return period_starts(first_day, last_day + timedelta(days=1), grain)


def closed(units: FunnelUnits) -> pl.Expr:
    """True for units whose window had closed by the end of the data.

    Only they have a known outcome at every step: counting the others would count their
    quick conversions and not yet their losses, and bias the latest periods upwards.
    """
    if units.data_end is None:
        return pl.lit(True)
    return pl.col(step_time(1)) + units.window <= units.data_end


def transition_cube(
    units: FunnelUnits, dimensions: Sequence[str], grid: Sequence[date], timezone: str
) -> pl.DataFrame:
    """Units and conversions per transition, period and combination of dimension values.

    ``from_step``, ``period`` (the local period in which the unit reached step k, from
    ``grid``), the ``dimensions``, ``users`` and ``hits`` (converted to k+1). Periods are
    found by a binary search of the UTC bounds of ``grid`` (no time-zone conversion per row).
    Only units whose window closed count (:func:`closed`).

    The group-bys run on integers: each combination of dimension values is known by the
    64-bit hash of its values (as the funnel's matcher knows breakdown values), and the values
    are joined back once per combination at the end.
    """
    bounds = pl.Series([local_bound(day, timezone) for day in grid], dtype=pl.Datetime("us", "UTC"))
    periods = pl.Series("period", list(grid), dtype=pl.Date)
    frame = units.units.filter(closed(units))
    dimensions = list(dimensions)
    combination = pl.struct(dimensions).hash(seed=0) if dimensions else pl.lit(0, pl.UInt64)
    frame = frame.with_columns(combination.alias(_COMBINATION))
    times = [step_time(step) for step in range(1, units.step_count)]
    slim = frame.select("reached", *times, _COMBINATION)
    cubes = []
    for step in range(1, units.step_count):
        eligible = slim.filter(pl.col("reached") >= step)
        index = bounds.search_sorted(eligible[step_time(step)], side="right").cast(pl.Int64) - 1
        cubes.append(
            eligible.select((pl.col("reached") > step).alias("converted"), _COMBINATION)
            .with_columns(index.alias("_period"))
            .group_by("_period", _COMBINATION)
            .agg(pl.len().alias("users"), pl.col("converted").sum().alias("hits"))
            .with_columns(pl.lit(step, pl.Int32).alias("from_step"))
        )
    schema = {
        "from_step": pl.Int32,
        "_period": pl.Int64,
        _COMBINATION: pl.UInt64,
        "users": pl.Int64,
        "hits": pl.Int64,
    }
    cube = pl.concat(cubes) if cubes else pl.DataFrame(schema=schema)
    by_index = pl.DataFrame(
        {"_period": list(range(len(grid))), "period": periods},
        schema={"_period": pl.Int64, "period": pl.Date},
    )
    values = frame.select(_COMBINATION, *dimensions).unique(_COMBINATION)
    return (
        cube.join(by_index, on="_period")
        .join(values, on=_COMBINATION, how="left")
        .select(
            "from_step",
            "period",
            *dimensions,
            pl.col("users").cast(pl.Int64),
            pl.col("hits").cast(pl.Int64),
        )
    )

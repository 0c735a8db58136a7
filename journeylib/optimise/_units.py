"""Shared views of the per-unit funnel frame: dimensions, transitions, local periods."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from journeylib._funnel_units import FunnelUnits, step_time

__all__ = ["CANONICAL", "default_dimensions", "transition_rows", "value_text"]

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

"""The events of the funnel's units, joined to the per-unit frame by the unit's key."""

from __future__ import annotations

import polars as pl

from journeylib.funnel import UNIT_KEY, FunnelUnits

__all__ = ["unit_events"]


def unit_events(events: pl.LazyFrame, units: FunnelUnits, chosen: pl.DataFrame) -> pl.LazyFrame:
    """The events of the ``chosen`` units (a frame with ``unit_key``) in the funnel's range.

    Returns ``unit_key``, ``timestamp``, ``event`` and the columns of ``chosen``; the events are
    those from the funnel's start to its end plus the window (the only ones a unit's window
    can hold).
    """
    return (
        events.filter(
            pl.col("timestamp") >= units.start,
            pl.col("timestamp") <= units.end + units.window,
            pl.col(units.unit).is_not_null(),
        )
        .select(
            pl.col(units.unit).hash(seed=0).alias(UNIT_KEY),
            "timestamp",
            pl.col("event").cast(pl.String),
        )
        .join(chosen.lazy(), on=UNIT_KEY)
    )

"""Two-step conversions within a window, per entry period (as docs/kpis.md#funnels counts).

Entry: the user's first step-1 event in the period. Converted: a step-2 event at or after the
entry (equal timestamps count) and at most ``window`` after it (inclusive); the earliest such
event is taken. Only the entry must lie in the period.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from journeylib.kpis._common import finish, keys
from journeylib.kpis._inputs import KpiInputs
from journeylib.periods import period_start_expr

__all__ = ["two_step", "two_step_rate"]


def two_step(
    inputs: KpiInputs, entry_role: str, target_role: str, window: timedelta
) -> pl.LazyFrame:
    """Per entry: ``user_id``, ``period_start``, breakdown, ``entered_at``, ``reached_at``.

    ``reached_at`` is null when the user did not reach the target role within the window.
    """
    config = inputs.config
    events = inputs.timed_events
    in_periods = inputs.within_periods(
        events.filter(pl.col("event").is_in(config.events_for(entry_role))).with_columns(
            period_start_expr("timestamp", inputs.grain, inputs.timezone).alias("period_start")
        ),
        "timestamp",
    )
    entries = (
        in_periods.group_by("user_id", "period_start")
        .agg(pl.col("timestamp").min().alias("entered_at"))
        .sort("entered_at")
    )
    targets = (
        events.filter(pl.col("event").is_in(config.events_for(target_role)))
        .select("user_id", pl.col("timestamp").alias("reached_at"))
        .sort("reached_at")
    )
    matched = entries.join_asof(
        targets,
        left_on="entered_at",
        right_on="reached_at",
        by="user_id",
        strategy="forward",
        check_sortedness=False,  # both sides are sorted on the time column above
    ).with_columns(
        pl.when(pl.col("reached_at") - pl.col("entered_at") <= window)
        .then(pl.col("reached_at"))
        .alias("reached_at")
    )
    segments = inputs.user_period.select("user_id", *keys(inputs))
    return matched.join(segments, on=["user_id", "period_start"], how="left")


def two_step_rate(
    inputs: KpiInputs,
    entry_role: str,
    target_role: str,
    window: timedelta,
    *,
    reached: bool = True,
) -> pl.LazyFrame:
    """Per period and breakdown: the entries of :func:`two_step` that reached the target
    within the window (with ``reached=False``: that did not) over all entries."""
    entries = two_step(inputs, entry_role, target_role, window)
    counted = pl.col("reached_at").is_not_null() if reached else pl.col("reached_at").is_null()
    return finish(
        entries.group_by(keys(inputs)).agg(
            counted.sum().alias("numerator"),
            pl.len().alias("denominator"),
        )
    )

"""Bounded (``on``) retention counts from distinct (user, period) pairs under one integer key.

Each event becomes one 128-bit key: the 64-bit hash of its user in the high bits, its local
period start (days since 1970, from :func:`local_period_start`, no per-row time-zone
conversion) in the low 32 bits. Distinct keys are the distinct (user, period) pairs: one
integer ``unique`` over the events, measured faster than a group_by per user collecting lists
or a ``unique`` over two columns. Everything after it works on the pairs, a small fraction of
the events. Users are told apart by the hash of ``user_id`` (as the funnel does).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from journeylib.periods import Grain, local_period_start, period_index

__all__ = ["cohorts_and_counts", "event_flag"]

_LOW = 2**32
_BIAS = 2**31


def event_flag(names: Sequence[str] | None) -> pl.Expr:
    """True for the events named (every event when ``names`` is ``None``)."""
    return pl.lit(True) if names is None else pl.col("event").is_in(list(names))


def _pairs(
    events: pl.LazyFrame,
    grain: Grain,
    timezone: str,
    cohort_events: Sequence[str] | None,
    return_events: Sequence[str] | None,
) -> pl.LazyFrame:
    """Distinct (``unit``, ``period``) pairs, with ``is_cohort`` and ``is_return`` flags when
    only some events are cohort or return events."""
    period_day = local_period_start("timestamp", grain, timezone).cast(pl.Int32)
    key = pl.col("user_id").hash(seed=0).cast(pl.UInt128) * _LOW + (
        period_day.cast(pl.Int64) + _BIAS
    ).cast(pl.UInt128)
    if cohort_events is None and return_events is None:
        pairs = events.select(key=key).unique()
    else:
        pairs = (
            events.filter(event_flag(cohort_events) | event_flag(return_events))
            .group_by(key=key)
            .agg(
                is_cohort=event_flag(cohort_events).any(), is_return=event_flag(return_events).any()
            )
        )
    return pairs.select(
        pl.exclude("key"),
        unit=(pl.col("key") // _LOW).cast(pl.UInt64),
        period=((pl.col("key") % _LOW).cast(pl.Int64) - _BIAS).cast(pl.Int32).cast(pl.Date),
    )


def cohorts_and_counts(
    events: pl.LazyFrame,
    grain: Grain,
    timezone: str,
    cohort_events: Sequence[str] | None,
    return_events: Sequence[str] | None,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Per ``cohort`` its ``cohort_size``; per (``cohort``, ``offset`` >= 0) returning ``users``.

    The cohort is the earliest period holding a cohort event of the user. When every event is
    both a cohort and a return event, each user returns in their cohort's period, so the sizes
    are the counts at offset 0 (one plan, the events read once).
    """
    pairs = _pairs(events, grain, timezone, cohort_events, return_events).cache()
    # without event filters both sides are the same plan, computed once (common sub-plan)
    cohort_pairs = pairs if cohort_events is None else pairs.filter("is_cohort")
    return_pairs = pairs if return_events is None else pairs.filter("is_return")
    cohorts = cohort_pairs.group_by("unit").agg(cohort=pl.col("period").min())
    counts = (
        return_pairs.select("unit", "period")
        .join(cohorts, on="unit")
        .with_columns(offset=period_index("period", grain) - period_index("cohort", grain))
        .filter(pl.col("offset") >= 0)
        .group_by("cohort", "offset")
        .agg(users=pl.len().cast(pl.Int64))
        .cache()
    )
    if cohort_events is None and return_events is None:
        sizes = counts.filter(pl.col("offset") == 0).select("cohort", cohort_size="users")
    else:
        sizes = cohorts.group_by("cohort").agg(cohort_size=pl.len().cast(pl.Int64))
    return sizes, counts

"""Retention cohorts (docs/kpis.md#retention-cohorts).

``retention_matrix`` reads the events once, grouped to one row per user (cohort, return
periods, last event), and builds the cells from that small table. The retention and churn rate
per period are KPIs (:mod:`journeylib.kpis.retention`). Lifetime value (``ltv_90d``,
``clv_simple``) lives in :mod:`journeylib.kpis.lifetime_value` and is re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Literal

import polars as pl

from journeylib.kpis.lifetime_value import clv_simple, ltv_90d
from journeylib.periods import (
    Grain,
    data_end_expr,
    local_wall_clock,
    period_after,
    period_index,
    period_start_expr,
)
from journeylib.retention._pairs import cohorts_and_counts, event_flag

__all__ = ["clv_simple", "ltv_90d", "retention_matrix"]

RetentionMode = Literal["on", "on_or_after"]

_MATRIX_SCHEMA = {
    "cohort": pl.Date(),
    "offset": pl.Int64(),
    "period_start": pl.Date(),
    "cohort_size": pl.Int64(),
    "users": pl.Int64(),
    "retention": pl.Float64(),
}


def _user_activity(
    events: pl.LazyFrame,
    grain: Grain,
    timezone: str,
    cohort_events: Sequence[str] | None,
    return_events: Sequence[str] | None,
) -> pl.LazyFrame:
    """The one pass over the events for ``on_or_after``: per user, cohort, last return, last event.

    A period start never decreases with time, so the cohort is the period of the earliest cohort
    event and the latest return period is the period of the latest return event: both are
    computed on one timestamp per user, not per event.
    """
    return_timestamp = pl.col("timestamp")
    if return_events is not None:
        return_timestamp = return_timestamp.filter(event_flag(return_events))
    first_cohort_event = pl.col("timestamp").filter(event_flag(cohort_events)).min()
    return events.group_by("user_id").agg(
        period_start_expr(first_cohort_event, grain, timezone).alias("cohort"),
        period_start_expr(return_timestamp.max(), grain, timezone).alias("last_return"),
        last_seen=pl.col("timestamp").max(),
    )


def retention_matrix(
    events: pl.LazyFrame,
    *,
    grain: Grain = "week",
    timezone: str = "UTC",
    cohort_events: Sequence[str] | None = None,
    return_events: Sequence[str] | None = None,
    mode: RetentionMode = "on",
    cohort_start: date | None = None,
    cohort_end: date | None = None,
    max_offset: int | None = None,
    data_end: datetime | None = None,
) -> pl.LazyFrame:
    """Cohort retention, one tidy row per (cohort, offset) cell (docs/kpis.md#retention-cohorts).

    The cohort of a user is the period of their first-ever cohort event (any event when
    ``cohort_events`` is ``None``). Cell ``(c, k)`` is the share of the cohort with a return
    event (any event when ``return_events`` is ``None``) in period ``c + k`` (``mode="on"``), or
    in period ``c + k`` or any later one (``mode="on_or_after"``). A cell whose period ends after
    ``data_end`` (default: the last timestamp in the data) is not fully observed: its ``users``
    and ``retention`` are null, not 0. ``data_end`` only decides which cells are complete:
    events after it still count (for ``on_or_after``, a return in a later, unobserved period
    counts in the observed cells before it, as the definition says).

    Parameters
    ----------
    events
        Canonical events (``user_id``, ``timestamp`` in UTC, ``event``).
    grain
        ``"day"``, ``"week"`` (ISO, Monday start) or ``"month"``.
    timezone
        The journey time zone: periods start at local midnight.
    cohort_events, return_events
        Event names that place a user in a cohort, and that count as a return.
    mode
        ``"on"`` (bounded) or ``"on_or_after"`` (unbounded) retention.
    cohort_start, cohort_end
        Only cohorts starting in ``[cohort_start, cohort_end]`` are shown; the first-ever
        event is still taken over all the data.
    max_offset
        Show offsets ``0..max_offset`` for every cohort (unobserved ones null). By default a
        cohort runs to the period holding ``data_end``.
    data_end
        End of observation (aware datetime; a naive one is read as UTC).

    Returns
    -------
    pl.LazyFrame
        ``cohort``, ``offset``, ``period_start`` (of the cell), ``cohort_size``, ``users``,
        ``retention``; sorted by cohort and offset. Empty events give an empty frame.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> import polars as pl
    >>> events = pl.LazyFrame(
    ...     {
    ...         "user_id": ["a", "a", "b"],
    ...         "timestamp": [datetime(2026, 1, d, tzinfo=timezone.utc) for d in (5, 13, 20)],
    ...         "event": ["visit"] * 3,
    ...     }
    ... )
    >>> retention_matrix(events).collect()["retention"].to_list()
    [1.0, 1.0, None, None]
    """
    if mode not in ("on", "on_or_after"):
        raise ValueError(f"unknown retention mode {mode!r}; expected 'on' or 'on_or_after'")
    if max_offset is not None and max_offset < 0:
        raise ValueError(f"max_offset must be 0 or more, got {max_offset}")
    if mode == "on":
        sizes, counts = cohorts_and_counts(events, grain, timezone, cohort_events, return_events)
        users = events.select(last_seen=pl.col("timestamp").max())
    else:
        users = _user_activity(events, grain, timezone, cohort_events, return_events).cache()
        cohorts = users.filter(pl.col("cohort").is_not_null())
        sizes = cohorts.group_by("cohort").agg(cohort_size=pl.len().cast(pl.Int64))
    end = data_end_expr(data_end, pl.col("last_seen").max())

    if cohort_start is not None:
        sizes = sizes.filter(pl.col("cohort") >= cohort_start)
    if cohort_end is not None:
        sizes = sizes.filter(pl.col("cohort") <= cohort_end)

    last_period = period_start_expr(pl.col("data_end"), grain, timezone)
    last_offset = (
        pl.lit(max_offset, pl.Int64)
        if max_offset is not None
        else pl.max_horizontal(period_index(last_period, grain) - period_index("cohort", grain), 0)
    )
    grid = (
        sizes.join(users.select(data_end=end), how="cross")
        .with_columns(last_offset=last_offset.cast(pl.Int64))
        .with_columns(offset=pl.int_ranges(0, pl.col("last_offset") + 1, dtype=pl.Int64))
        .explode("offset")
    )

    cohort_index = period_index("cohort", grain)
    if mode == "on_or_after":
        counts = (
            cohorts.select("cohort", offset=period_index("last_return", grain) - cohort_index)
            .filter(pl.col("offset") >= 0)
            .join(grid.select("cohort", "last_offset").unique(), on="cohort")
            .group_by("cohort", offset=pl.min_horizontal("offset", "last_offset"))
            .agg(users=pl.len().cast(pl.Int64))
        )

    cells = grid.join(counts, on=["cohort", "offset"], how="left").with_columns(
        pl.col("users").fill_null(0)
    )
    if mode == "on_or_after":
        cells = cells.with_columns(
            pl.col("users").cum_sum(reverse=True).over("cohort", order_by="offset")
        )
    period_start = period_after("cohort", pl.col("offset"), grain)
    next_start = period_after("cohort", pl.col("offset") + 1, grain)
    observed = next_start.cast(pl.Datetime("us")) <= local_wall_clock(pl.col("data_end"), timezone)
    return (
        cells.with_columns(period_start=period_start, users=pl.when(observed).then("users"))
        .with_columns(retention=pl.col("users") / pl.col("cohort_size"))
        .select(list(_MATRIX_SCHEMA))
        .cast(_MATRIX_SCHEMA)
        .sort("cohort", "offset")
    )

"""Retention cohorts and period retention (docs/kpis.md#retention-cohorts,
docs/kpis.md#retention_rate).

``retention_matrix`` reads the events once, grouped to one row per user (cohort, return
periods, last event), and builds the cells from that small table; ``period_retention`` reduces
the events to distinct (user, period) pairs first. Lifetime value (``ltv_90d``,
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
    local_bound,
    local_period_start,
    local_wall_clock,
    next_period_start,
    period_after,
    period_index,
    period_start_expr,
    period_starts,
    previous_period,
)
from journeylib.retention._pairs import cohorts_and_counts

__all__ = ["clv_simple", "ltv_90d", "period_retention", "retention_matrix"]

RetentionMode = Literal["on", "on_or_after"]

_MATRIX_SCHEMA = {
    "cohort": pl.Date(),
    "offset": pl.Int64(),
    "period_start": pl.Date(),
    "cohort_size": pl.Int64(),
    "users": pl.Int64(),
    "retention": pl.Float64(),
}


def _event_flag(names: Sequence[str] | None) -> pl.Expr:
    """True for the events named (every event when ``names`` is ``None``)."""
    return pl.lit(True) if names is None else pl.col("event").is_in(list(names))


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
        return_timestamp = return_timestamp.filter(_event_flag(return_events))
    first_cohort_event = pl.col("timestamp").filter(_event_flag(cohort_events)).min()
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


def period_retention(
    events: pl.LazyFrame,
    *,
    grain: Grain,
    timezone: str,
    start: date,
    end: date,
    activity_events: Sequence[str] | None = None,
) -> pl.LazyFrame:
    """Retention and churn rate per period (docs/kpis.md#retention_rate).

    For each period P overlapping ``[start, end)`` (whole periods, the first aligned to the
    grain): ``active_previous`` = users active in the period before P, ``retained`` = those of
    them also active in P, ``retention_rate = retained / active_previous`` and
    ``churn_rate = 1 - retention_rate``; both rates are null when ``active_previous`` is 0.

    Parameters
    ----------
    events
        Canonical events.
    grain, timezone
        Period grain and the journey time zone.
    start, end
        The report range ``[start, end)`` as local dates.
    activity_events
        Event names that count as activity (default: any event).

    Returns
    -------
    pl.LazyFrame
        ``period_start``, ``active_previous``, ``retained``, ``retention_rate``, ``churn_rate``;
        one row per period, also for periods without activity.

    Examples
    --------
    >>> from datetime import date, datetime, timezone
    >>> import polars as pl
    >>> events = pl.LazyFrame(
    ...     {
    ...         "user_id": ["a", "b", "a"],
    ...         "timestamp": [datetime(2026, 1, d, tzinfo=timezone.utc) for d in (1, 1, 2)],
    ...         "event": ["visit"] * 3,
    ...     }
    ... )
    >>> period_retention(
    ...     events, grain="day", timezone="UTC", start=date(2026, 1, 2), end=date(2026, 1, 3)
    ... ).collect()["retention_rate"].to_list()
    [0.5]
    """
    starts = period_starts(start, end, grain)
    periods = pl.LazyFrame({"period_start": starts}, schema={"period_start": pl.Date()})
    if not starts:
        return periods.with_columns(
            active_previous=pl.lit(0, pl.Int64),
            retained=pl.lit(0, pl.Int64),
            retention_rate=pl.lit(None, pl.Float64),
            churn_rate=pl.lit(None, pl.Float64),
        )
    first = local_bound(previous_period(starts[0], grain), timezone)
    last = local_bound(next_period_start(starts[-1], grain), timezone)
    active = (
        events.filter(
            pl.col("timestamp").is_between(first, last, closed="left"),
            _event_flag(activity_events),
        )
        .select("user_id", period=local_period_start("timestamp", grain, timezone))
        .unique()
    )
    transitions = (
        active.with_columns(period_start=period_after("period", pl.lit(1), grain))
        .join(
            active.select("user_id", "period", active_in_period=pl.lit(True)),
            left_on=["user_id", "period_start"],
            right_on=["user_id", "period"],
            how="left",
        )
        .group_by("period_start")
        .agg(
            active_previous=pl.len().cast(pl.Int64),
            retained=pl.col("active_in_period").count().cast(pl.Int64),
        )
    )
    retention_rate = pl.when(pl.col("active_previous") > 0).then(
        pl.col("retained") / pl.col("active_previous")
    )
    return (
        periods.join(transitions, on="period_start", how="left")
        .with_columns(pl.col("active_previous", "retained").fill_null(0))
        .with_columns(retention_rate=retention_rate)
        .with_columns(churn_rate=1 - pl.col("retention_rate"))
        .sort("period_start")
    )

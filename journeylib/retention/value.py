"""Value by cohort: revenue per cohort user, cumulated from the cohort's period.

Cohorts as in :func:`journeylib.retention.retention_matrix` (docs/kpis.md#retention-cohorts):
the period of the user's first-ever cohort event; cells not fully observed are null, not 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import polars as pl

from journeylib.errors import DataError, SchemaError
from journeylib.periods import (
    Grain,
    data_end_expr,
    local_wall_clock,
    period_after,
    period_start_expr,
)
from journeylib.periods import period_index as _period_index
from journeylib.retention._pairs import event_flag

__all__ = ["cohort_value"]


def cohort_value(
    events: pl.LazyFrame,
    *,
    revenue_events: Sequence[str],
    grain: Grain = "month",
    timezone: str = "UTC",
    cohort_events: Sequence[str] | None = None,
    cohort_start: date | None = None,
    cohort_end: date | None = None,
    max_offset: int | None = None,
    data_end: datetime | None = None,
) -> pl.LazyFrame:
    """Revenue per cohort user, cumulated from the cohort's period through each offset.

    Cohorts as in :func:`journeylib.retention.retention_matrix` (the period of the first-ever
    cohort event; default any event, ``cohort_events`` may be the purchase events). Cell
    ``(c, k)`` = revenue of ``revenue_events`` of the cohort's users in periods ``c`` to
    ``c + k``, divided by the cohort size; null when period ``c + k`` is not fully observed.
    Null revenue counts as 0; revenue before a user's cohort period is not counted.

    Returns
    -------
    pl.LazyFrame
        ``cohort``, ``offset``, ``period_start``, ``cohort_size``, ``customers`` (cohort
        users with revenue by then), ``revenue`` (cumulated), ``value_per_user``.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> events = pl.LazyFrame({"user_id": ["a", "a", "b"], "event": ["buy"] * 3,
    ...     "timestamp": [datetime(2026, 1, 5, tzinfo=timezone.utc),
    ...                   datetime(2026, 2, 5, tzinfo=timezone.utc),
    ...                   datetime(2026, 3, 31, tzinfo=timezone.utc)],
    ...     "revenue": [10.0, 20.0, 5.0]})
    >>> cohort_value(events, revenue_events=["buy"]).collect()["value_per_user"].to_list()
    [10.0, 30.0, None, None]
    """
    columns = events.collect_schema().names()
    if "revenue" not in columns:
        raise SchemaError(
            "events",
            "<events>",
            [
                "column 'revenue' is missing: the value of a cohort needs revenue on purchase "
                f"events (found columns {', '.join(columns)})"
            ],
        )
    if max_offset is not None and max_offset < 0:
        raise DataError(f"max_offset: expected 0 or more, got {max_offset}")
    first = (
        events.filter(event_flag(cohort_events))
        .group_by("user_id")
        .agg(first=pl.col("timestamp").min())
        .with_columns(cohort=period_start_expr("first", grain, timezone))
    )
    sizes = first.group_by("cohort").agg(cohort_size=pl.len().cast(pl.Int64))
    if cohort_start is not None:
        sizes = sizes.filter(pl.col("cohort") >= cohort_start)
    if cohort_end is not None:
        sizes = sizes.filter(pl.col("cohort") <= cohort_end)
    end = data_end_expr(data_end, pl.col("timestamp").max())
    observation = events.select(data_end=end)
    last_period = period_start_expr(pl.col("data_end"), grain, timezone)
    last_offset = (
        pl.lit(max_offset, pl.Int64)
        if max_offset is not None
        else pl.max_horizontal(
            _period_index(last_period, grain) - _period_index("cohort", grain), 0
        )
    )
    grid = (
        sizes.join(observation, how="cross")
        .with_columns(last_offset=last_offset.cast(pl.Int64))
        .with_columns(offset=pl.int_ranges(0, pl.col("last_offset") + 1, dtype=pl.Int64))
        .explode("offset")
    )
    purchases = (
        events.filter(pl.col("event").is_in(list(revenue_events)))
        .join(first.select("user_id", "cohort"), on="user_id")
        .with_columns(period=period_start_expr("timestamp", grain, timezone))
        .with_columns(offset=_period_index("period", grain) - _period_index("cohort", grain))
        .filter(pl.col("offset") >= 0)
        .group_by("cohort", "offset", "user_id")
        .agg(revenue=pl.col("revenue").fill_null(0.0).sum())
    )
    # the offset at which each user first bought, to count customers cumulatively
    first_buys = (
        purchases.group_by("cohort", "user_id")
        .agg(offset=pl.col("offset").min())
        .group_by("cohort", "offset")
        .agg(new_customers=pl.len().cast(pl.Int64))
    )
    per_offset = purchases.group_by("cohort", "offset").agg(revenue=pl.col("revenue").sum())
    cells = (
        grid.join(per_offset, on=["cohort", "offset"], how="left")
        .join(first_buys, on=["cohort", "offset"], how="left")
        .with_columns(
            pl.col("revenue").fill_null(0.0).cum_sum().over("cohort", order_by="offset"),
            customers=pl.col("new_customers")
            .fill_null(0)
            .cum_sum()
            .over("cohort", order_by="offset"),
        )
    )
    next_start = period_after("cohort", pl.col("offset") + 1, grain)
    observed = next_start.cast(pl.Datetime("us")) <= local_wall_clock(pl.col("data_end"), timezone)
    return (
        cells.with_columns(
            period_start=period_after("cohort", pl.col("offset"), grain),
            revenue=pl.when(observed).then("revenue"),
            customers=pl.when(observed).then("customers"),
        )
        .with_columns(value_per_user=pl.col("revenue") / pl.col("cohort_size"))
        .select(
            pl.col("cohort").cast(pl.Date),
            pl.col("offset").cast(pl.Int64),
            pl.col("period_start").cast(pl.Date),
            "cohort_size",
            pl.col("customers").cast(pl.Int64),
            pl.col("revenue").cast(pl.Float64),
            pl.col("value_per_user").cast(pl.Float64),
        )
        .sort("cohort", "offset")
    )

"""Customer value KPIs of the retention stage (docs/kpis.md#retention): ltv_90d, clv_simple."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import polars as pl

from journeylib.errors import SchemaError
from journeylib.periods import data_end_expr, period_after, period_index, period_start_expr

__all__ = ["clv_simple", "ltv_90d", "ltv_90d_at"]

LTV_WINDOW_DAYS = 90


def _require_revenue(events: pl.LazyFrame, kpi: str) -> None:
    columns = events.collect_schema().names()
    if "revenue" not in columns:
        raise SchemaError(
            "events",
            "<events>",
            [
                f"column 'revenue' is missing: {kpi} needs revenue on purchase events "
                f"(expected a Float64 column 'revenue'; found columns {', '.join(columns)})"
            ],
        )


def _purchases(events: pl.LazyFrame, purchase_events: Sequence[str]) -> pl.LazyFrame:
    return events.filter(pl.col("event").is_in(list(purchase_events))).with_columns(
        pl.col("revenue").fill_null(0.0)
    )


def ltv_90d(
    events: pl.LazyFrame,
    *,
    purchase_events: Sequence[str],
    data_end: datetime | None = None,
) -> pl.LazyFrame:
    """Mean revenue per customer in the 90 days from their first purchase.

    Customers are users with a purchase event. Only customers whose first purchase is at least
    90 days before ``data_end`` (default: the last timestamp in the data) count, so that every
    window is fully observed. The window is ``[first, first + 90 days)``: exactly 90 × 24 hours,
    the first purchase included; a closed end would add an instant on day 91 and would no
    longer be fully observed for a customer whose first purchase is exactly 90 days before the
    end. Purchases with a null revenue count as 0.

    Parameters
    ----------
    events
        Canonical events with a ``revenue`` column.
    purchase_events
        Event names of the ``purchase`` role.
    data_end
        End of observation (aware datetime; naive is read as UTC).

    Returns
    -------
    pl.LazyFrame
        One row: ``value`` (Float64, null without eligible customers) and ``customers``.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> import polars as pl
    >>> events = pl.LazyFrame(
    ...     {
    ...         "user_id": ["a", "a", "b"],
    ...         "timestamp": [datetime(2026, m, 1, tzinfo=timezone.utc) for m in (1, 2, 6)],
    ...         "event": ["purchase"] * 3,
    ...         "revenue": [10.0, 5.0, 7.0],
    ...     }
    ... )
    >>> ltv_90d(events, purchase_events=["purchase"]).collect().row(0)
    (15.0, 1)
    """
    _require_revenue(events, "ltv_90d")
    end = events.select(data_end=data_end_expr(data_end, pl.col("timestamp").max()))
    return (
        _ltv_customers(events, purchase_events)
        .join(end, how="cross")
        .filter(_ltv_eligible())
        .select(
            value=pl.col("revenue").mean().cast(pl.Float64),
            customers=pl.len().cast(pl.Int64),
        )
    )


def ltv_90d_at(
    events: pl.LazyFrame, *, purchase_events: Sequence[str], ends: pl.LazyFrame
) -> pl.LazyFrame:
    """:func:`ltv_90d` for several ends of observation at once.

    The customers' first purchases and 90-day revenues do not depend on the end (a window
    that is fully observed lies before it), so they are aggregated once for every end.

    Parameters
    ----------
    events
        Canonical events with a ``revenue`` column.
    purchase_events
        Event names of the ``purchase`` role.
    ends
        One row per end: a ``data_end`` column (UTC datetime) and any key columns.

    Returns
    -------
    pl.LazyFrame
        The rows of ``ends`` with ``value`` (Float64, null without eligible customers) and
        ``customers`` (Int64), as :func:`ltv_90d` gives them for each ``data_end``.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> import polars as pl
    >>> events = pl.LazyFrame(
    ...     {
    ...         "user_id": ["a", "a", "b"],
    ...         "timestamp": [datetime(2026, m, 1, tzinfo=timezone.utc) for m in (1, 2, 6)],
    ...         "event": ["purchase"] * 3,
    ...         "revenue": [10.0, 5.0, 7.0],
    ...     }
    ... )
    >>> ends = pl.LazyFrame(
    ...     {"data_end": [datetime(2026, m, 1, tzinfo=timezone.utc) for m in (3, 6, 12)]}
    ... )
    >>> ltv_90d_at(events, purchase_events=["purchase"], ends=ends).collect().rows()
    [(datetime.datetime(2026, 3, 1, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')), None, 0), \
(datetime.datetime(2026, 6, 1, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')), 15.0, 1), \
(datetime.datetime(2026, 12, 1, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')), 11.0, 2)]
    """
    _require_revenue(events, "ltv_90d")
    # customers by first purchase, running totals: the eligible customers of an end are those
    # up to its cutoff (revenues are integer-valued in practice, so the running sums are exact)
    running = (
        _ltv_customers(events, purchase_events)
        .group_by("first_purchase")
        .agg(pl.col("revenue").sum(), pl.len().cast(pl.Float64).alias("count"))
        .sort("first_purchase")
        .select(
            "first_purchase",
            pl.col("revenue").cum_sum().alias("_revenue"),
            pl.col("count").cum_sum().alias("_count"),
        )
    )
    ends = ends.with_row_index("_end")
    cutoffs = ends.select(
        "_end", (pl.col("data_end") - pl.duration(days=LTV_WINDOW_DAYS)).alias("first_purchase")
    ).sort("first_purchase")
    totals = cutoffs.join_asof(running, on="first_purchase", strategy="backward").select(
        "_end",
        value=(pl.col("_revenue") / pl.col("_count")).cast(pl.Float64),
        customers=pl.col("_count").fill_null(0.0).cast(pl.Int64),
    )
    return ends.join(totals, on="_end", how="left").sort("_end").drop("_end")


def _ltv_customers(events: pl.LazyFrame, purchase_events: Sequence[str]) -> pl.LazyFrame:
    """Per customer: the first purchase and the revenue of the 90 days from it."""
    window = pl.duration(days=LTV_WINDOW_DAYS)
    first = pl.col("timestamp").min()
    return (
        _purchases(events, purchase_events)
        .group_by("user_id")
        .agg(
            first_purchase=first,
            revenue=pl.col("revenue").filter(pl.col("timestamp") < first + window).sum(),
        )
    )


def _ltv_eligible() -> pl.Expr:
    """Customers whose 90-day window is fully observed by ``data_end``."""
    return pl.col("first_purchase") <= pl.col("data_end") - pl.duration(days=LTV_WINDOW_DAYS)


def clv_simple(
    events: pl.LazyFrame,
    *,
    purchase_events: Sequence[str],
    timezone: str = "UTC",
    months: int = 3,
    data_end: datetime | None = None,
) -> pl.LazyFrame:
    """Simple customer lifetime value: monthly revenue per customer × expected lifespan.

    ``value = revenue_per_customer_month / churn_rate`` over the last ``months`` full calendar
    months (local months of ``timezone``) that end at or before ``data_end`` (default: the last
    timestamp in the data):

    - ``revenue_per_customer_month`` = purchase revenue in those months / customer-months, a
      customer-month being a user with a purchase in a month (the mean, over the months, of
      each month's revenue per customer, weighted by customers);
    - ``churn_rate`` = monthly customer churn, the churn_rate KPI with purchase as the activity:
      of the customers of each month before a window month, the share without a purchase in
      that window month, pooled over the window months (the month before the window gives the
      first month's previous customers);
    - ``1 / churn_rate`` is the expected lifespan in months. ``value`` is null when
      ``churn_rate`` is 0 or has no previous customers.

    Parameters
    ----------
    events
        Canonical events with a ``revenue`` column.
    purchase_events
        Event names of the ``purchase`` role.
    timezone
        Journey time zone (month boundaries at local midnight).
    months
        How many full months the window holds (at least 1).
    data_end
        End of observation (aware datetime; naive is read as UTC).

    Returns
    -------
    pl.LazyFrame
        One row: ``window_start``, ``window_end`` (exclusive, local dates),
        ``revenue_per_customer_month``, ``churn_rate``, ``value``.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> import polars as pl
    >>> events = pl.LazyFrame(
    ...     {
    ...         "user_id": ["a", "b", "a", "a"],
    ...         "timestamp": [
    ...             datetime(2026, m, 3, tzinfo=timezone.utc) for m in (1, 1, 2, 3)
    ...         ],
    ...         "event": ["purchase"] * 4,
    ...         "revenue": [10.0, 10.0, 20.0, 1.0],
    ...     }
    ... )
    >>> clv_simple(events, purchase_events=["purchase"], months=1).collect()["value"].item()
    40.0
    """
    if months < 1:
        raise ValueError(f"months must be 1 or more, got {months}")
    _require_revenue(events, "clv_simple")
    end = data_end_expr(data_end, pl.col("timestamp").max())
    bounds = events.select(window_end=period_start_expr(end, "month", timezone)).with_columns(
        window_start=period_after("window_end", pl.lit(-months), "month")
    )
    monthly = (
        _purchases(events, purchase_events)
        .group_by("user_id", month=period_start_expr("timestamp", "month", timezone))
        .agg(pl.col("revenue").sum())
        .join(bounds, how="cross")
        .with_columns(
            position=period_index("month", "month") - period_index("window_start", "month")
        )
        .filter(pl.col("position").is_between(-1, months - 1))
    )
    spend = monthly.filter(pl.col("position") >= 0).select(
        revenue=pl.col("revenue").sum(), customer_months=pl.len()
    )
    churn = (
        monthly.filter(pl.col("position") < months - 1)
        .select("user_id", position=pl.col("position") + 1)
        .join(
            monthly.select("user_id", "position", purchased_again=pl.lit(True)),
            on=["user_id", "position"],
            how="left",
        )
        .select(previous=pl.len(), churned=pl.col("purchased_again").null_count())
    )
    revenue_per_customer_month = pl.when(pl.col("customer_months") > 0).then(
        pl.col("revenue") / pl.col("customer_months")
    )
    churn_rate = pl.when(pl.col("previous") > 0).then(pl.col("churned") / pl.col("previous"))
    return (
        bounds.join(spend, how="cross")
        .join(churn, how="cross")
        .select(
            "window_start",
            "window_end",
            revenue_per_customer_month=revenue_per_customer_month.cast(pl.Float64),
            churn_rate=churn_rate.cast(pl.Float64),
        )
        .with_columns(
            value=pl.when(pl.col("churn_rate") > 0).then(
                pl.col("revenue_per_customer_month") / pl.col("churn_rate")
            )
        )
    )

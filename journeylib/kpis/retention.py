"""Retention KPIs: retention and churn, repeat purchase, ARPU, lifetime value, user growth."""

from __future__ import annotations

import polars as pl

from journeylib.kpis import lifetime_value
from journeylib.kpis._common import finish, keys, ratio
from journeylib.kpis._inputs import MICRO, KpiInputs, flag, revenue_micro
from journeylib.kpis._registry import register
from journeylib.periods import period_start_expr
from journeylib.periods.expressions import UTC_DATETIME

__all__: list[str] = []


def _transitions(inputs: KpiInputs) -> pl.LazyFrame:
    """Per period P and segment: users active in the previous period, and how many stayed.

    A user's segment is their value in the previous period (the population the rate is of).
    """
    active = inputs.user_period.filter(pl.col("active")).select("user_id", *keys(inputs))
    periods = inputs.periods.select(
        "period_start", pl.col("period_start").shift(1).alias("previous_start")
    )
    previous = active.join(
        periods, left_on="period_start", right_on="previous_start", suffix="_next"
    ).select(
        "user_id",
        pl.col("period_start_next").alias("period_start"),
        *inputs.by,
    )
    stayed = active.select("user_id", "period_start").with_columns(pl.lit(True).alias("stayed"))
    return (
        previous.join(stayed, on=["user_id", "period_start"], how="left")
        .group_by(keys(inputs))
        .agg(
            pl.len().alias("active_previous"),
            pl.col("stayed").fill_null(False).sum().alias("retained"),
        )
    )


@register(
    "retention_rate",
    label="Retention rate",
    stage="retention",
    unit="rate",
    direction="higher",
    kind="rate",
    doc="of users active in the previous period, share also active in P",
)
def retention_rate(inputs: KpiInputs) -> pl.LazyFrame:
    """Of the users active in the previous period, the share active again in P.

    Options
    -------
    - `activity_roles` in the config says which events make a user active.

    Choices
    -------
    - The previous period is the one just before P, also for the first reported period (it is
      aggregated for that purpose, before the report's start).
    - A user's breakdown value is their value in the previous period, the population the rate is
      of.
    - Null when no user was active in the previous period (the first period of the data).
    """
    return finish(
        _transitions(inputs).select(
            *keys(inputs),
            pl.col("retained").alias("numerator"),
            pl.col("active_previous").alias("denominator"),
        )
    )


@register(
    "churn_rate",
    label="Churn rate",
    stage="retention",
    unit="rate",
    direction="lower",
    kind="rate",
    doc="1 − retention_rate",
)
def churn_rate(inputs: KpiInputs) -> pl.LazyFrame:
    """Of the users active in the previous period, the share not active in P.

    Options
    -------
    - `activity_roles` in the config says which events make a user active.

    Choices
    -------
    - The same population as `retention_rate`, so the two add up to 1.
    """
    return finish(
        _transitions(inputs).select(
            *keys(inputs),
            (pl.col("active_previous") - pl.col("retained")).alias("numerator"),
            pl.col("active_previous").alias("denominator"),
        )
    )


@register(
    "user_growth_rate",
    label="User growth rate",
    stage="retention",
    unit="rate",
    direction="higher",
    kind="ratio",
    doc="(new users in P − users churned in P) / users active in the previous period",
)
def user_growth_rate(inputs: KpiInputs) -> pl.LazyFrame:
    """Net growth of the active users: new users minus churned users, over the users active in
    the previous period.

    Choices
    -------
    - New users: first event ever (over all the data the filters keep) on a local day of P.
    - Churned users: active in the previous period and not in P, as for `churn_rate`.
    - It can be negative; a ratio, so it carries no interval; null when no user was active in
      the previous period.
    """
    first_day = pl.col("first_seen").dt.convert_time_zone(inputs.timezone).dt.date()
    new_users = (
        inputs.user_period.join(
            inputs.user_firsts.select("user_id", first_day.alias("first_day")), on="user_id"
        )
        .join(inputs.periods.select("period_start", "period_end"), on="period_start")
        .group_by(keys(inputs))
        .agg(
            (
                (pl.col("first_day") >= pl.col("period_start"))
                & (pl.col("first_day") < pl.col("period_end"))
            )
            .sum()
            .alias("new_users")
        )
    )
    joined = new_users.join(_transitions(inputs), on=keys(inputs), how="full", coalesce=True)
    previous = pl.col("active_previous").fill_null(0).cast(pl.Int64)
    churned = previous - pl.col("retained").fill_null(0).cast(pl.Int64)
    numerator = (pl.col("new_users").fill_null(0).cast(pl.Int64) - churned).cast(pl.Float64)
    denominator = pl.col("active_previous").fill_null(0).cast(pl.Float64)
    return joined.select(
        *keys(inputs),
        ratio(numerator, denominator).alias("value"),
        numerator.alias("numerator"),
        denominator.alias("denominator"),
    )


@register(
    "repeat_purchase_rate",
    label="Repeat purchase rate",
    stage="retention",
    unit="rate",
    direction="higher",
    kind="rate",
    roles=("purchase",),
    doc="customers with 2 or more orders up to the end of P / customers with 1 or more orders "
    "up to the end of P",
)
def repeat_purchase_rate(inputs: KpiInputs) -> pl.LazyFrame:
    """Of the customers so far, the share who have bought at least twice.

    Choices
    -------
    - Cumulative: every purchase before the end of P counts, also before the report's start.
    - Two purchase events at the same timestamp make two orders.
    - A customer's breakdown value is their value in the period of their first purchase.
    """
    # a customer's segment is their value in the period of their first purchase
    first_period = (
        inputs.user_period.filter(pl.col(flag("purchase")))
        .group_by("user_id")
        .agg(*(pl.col(c).sort_by("period_start").first() for c in inputs.by))
    )
    customers = inputs.user_firsts.filter(pl.col("first_purchase").is_not_null()).join(
        first_period, on="user_id", how="left"
    )
    bounds = inputs.periods.select("period_start", pl.col("end_utc").alias("_end_utc"))
    return finish(
        customers.join(bounds, how="cross")
        .group_by(keys(inputs))
        .agg(
            (pl.col("second_purchase") < pl.col("_end_utc")).sum().alias("numerator"),
            (pl.col("first_purchase") < pl.col("_end_utc")).sum().alias("denominator"),
        )
    )


@register(
    "arpu",
    label="ARPU",
    stage="retention",
    unit="currency",
    direction="higher",
    kind="ratio",
    roles=("purchase",),
    experiment="mean",
    doc="revenue / active users",
    columns=("events.revenue",),
)
def arpu(inputs: KpiInputs) -> pl.LazyFrame:
    """Average revenue per active user: revenue of P over the active users of P.

    Options
    -------
    - `activity_roles` in the config says which events make a user active.

    Choices
    -------
    - Revenue of purchase events as for `revenue`; null when P has no active user.
    """
    return finish(
        inputs.user_period.group_by(keys(inputs)).agg(
            (pl.col("revenue_micro").sum() / MICRO).alias("numerator"),
            pl.col("active").sum().alias("denominator"),
        )
    )


def _lifetime_purchases(inputs: KpiInputs) -> pl.LazyFrame:
    """Purchase events with revenue in integer-valued millionths (Float64).

    The sums inside the lifetime formulas are then exact, so a value does not depend on the
    order of summation and is the same from run to run; the results are scaled back by
    :func:`_per_period`.
    """
    purchases = inputs.timed_events.filter(
        pl.col("event").is_in(inputs.config.events_for("purchase"))
    )
    if "revenue" not in purchases.collect_schema():
        purchases = purchases.with_columns(pl.lit(None, pl.Float64).alias("revenue"))
    return purchases.with_columns(revenue_micro(pl.col("revenue")).cast(pl.Float64))


def _observed_until(inputs: KpiInputs) -> pl.DataFrame:
    """Per period: ``period_start`` and ``data_end``, the period's end or the data's if earlier."""
    rows = inputs.periods.select("period_start", "end_utc").collect().rows()
    ends = [end if inputs.data_end is None else min(end, inputs.data_end) for _, end in rows]
    return pl.DataFrame(
        {
            "period_start": [start for start, _ in rows],
            "data_end": ends,
            # the divisor back from millionths as a column: Polars multiplies by the reciprocal
            # for a literal divisor, which can round the last digit apart from a true division
            "_micro": [float(MICRO)] * len(rows),
        },
        schema={"period_start": pl.Date, "data_end": UTC_DATETIME, "_micro": pl.Float64},
    )


def _per_period(inputs: KpiInputs, values: pl.LazyFrame) -> pl.LazyFrame:
    """The KPI rows of per-period lifetime ``value``s in millionths (with the ``_micro`` column of
    :func:`_observed_until`): no segment, no ratio."""
    return values.select(
        "period_start",
        *(pl.lit(None, pl.String).alias(c) for c in inputs.by),
        (pl.col("value").cast(pl.Float64) / pl.col("_micro")).alias("value"),
        pl.lit(None, pl.Float64).alias("numerator"),
        pl.lit(None, pl.Float64).alias("denominator"),
    )


@register(
    "ltv_90d",
    label="LTV 90d",
    stage="retention",
    unit="currency",
    direction="higher",
    kind="mean",
    roles=("purchase",),
    doc="mean, over customers whose first purchase is at least 90 days before the data ends, "
    "of their revenue in the 90 days from the first purchase (first included)",
    columns=("events.revenue",),
)
def ltv_90d(inputs: KpiInputs) -> pl.LazyFrame:
    """The mean revenue of a customer in their first 90 days.

    Choices
    -------
    - Computed for each period as the data stood at its end: "the data ends" at P's end (or the
      last event, if earlier).
    - The window is `[first purchase, first purchase + 90 days)`, exactly 90 × 24 hours, the
      first purchase included; purchases with a null revenue add 0.
    - Not broken down: with a breakdown its value sits on a row with an empty breakdown value.
    """
    # per period, "the data ends" at the period's end: the value as it stood then
    values = lifetime_value.ltv_90d_at(
        _lifetime_purchases(inputs),
        purchase_events=inputs.config.events_for("purchase"),
        ends=_observed_until(inputs).lazy(),
    )
    return _per_period(inputs, values)


@register(
    "clv_simple",
    label="CLV",
    stage="retention",
    unit="currency",
    direction="higher",
    kind="mean",
    roles=("purchase",),
    doc="(revenue per customer per month) × (1 / monthly customer churn rate)",
    columns=("events.revenue",),
)
def clv_simple(inputs: KpiInputs) -> pl.LazyFrame:
    """A simple customer lifetime value: monthly revenue per customer times the expected
    lifespan in months.

    Choices
    -------
    - Over the last 3 full local calendar months that end at or before P's end (or the last
      event, if earlier).
    - Revenue per customer per month = purchase revenue in those months / customer-months (a
      customer-month is a user with a purchase in a month).
    - Monthly churn = of each month's customers, the share without a purchase the next month,
      pooled over the months; the expected lifespan is 1 / churn.
    - Null when the churn is 0 or there were no customers before. Not broken down, as `ltv_90d`.
    """
    # the value only depends on the local month the period's end falls in (the window is the
    # full months before it): one formula per such month, shared by its periods
    ends = _observed_until(inputs).with_columns(
        period_start_expr("data_end", "month", inputs.timezone).alias("_month")
    )
    purchases = _lifetime_purchases(inputs)
    names = inputs.config.events_for("purchase")
    months = ends.unique("_month", keep="first", maintain_order=True)
    frames = [
        lifetime_value.clv_simple(
            purchases, purchase_events=names, timezone=inputs.timezone, data_end=end
        ).select(pl.lit(month).alias("_month"), "value")
        for month, end in months.select("_month", "data_end").iter_rows()
    ]
    values = ends.lazy().join(pl.concat(frames), on="_month", how="left", maintain_order="left")
    return _per_period(inputs, values)

"""Awareness KPIs: impressions, clicks, CTR, visitors, new visitors, engagement, cost per lead."""

from __future__ import annotations

import polars as pl

from journeylib.kpis._common import (
    cost_per,
    finish,
    keys,
    register_share,
    spend_by_period,
)
from journeylib.kpis._inputs import KpiInputs, flag
from journeylib.kpis._registry import register

__all__: list[str] = []


def _spend_total(inputs: KpiInputs, column: str) -> pl.LazyFrame:
    return spend_by_period(inputs, column).select(
        *keys(inputs),
        pl.col(column).alias("value"),
        pl.lit(None, pl.Float64).alias("numerator"),
        pl.lit(None, pl.Float64).alias("denominator"),
    )


@register(
    "impressions",
    label="Impressions",
    stage="awareness",
    unit="count",
    direction="higher",
    kind="count",
    tables=("spend",),
    doc="sum of spend.impressions",
    columns=("spend.impressions",),
)
def impressions(inputs: KpiInputs) -> pl.LazyFrame:
    return _spend_total(inputs, "impressions")


@register(
    "clicks",
    label="Clicks",
    stage="awareness",
    unit="count",
    direction="higher",
    kind="count",
    tables=("spend",),
    doc="sum of spend.clicks",
    columns=("spend.clicks",),
)
def clicks(inputs: KpiInputs) -> pl.LazyFrame:
    return _spend_total(inputs, "clicks")


@register(
    "ctr",
    label="Click-through rate",
    stage="awareness",
    unit="rate",
    direction="higher",
    kind="rate",
    tables=("spend",),
    doc="clicks / impressions",
    columns=("spend.clicks", "spend.impressions"),
)
def ctr(inputs: KpiInputs) -> pl.LazyFrame:
    clicks_ = spend_by_period(inputs, "clicks")
    impressions_ = spend_by_period(inputs, "impressions")
    joined = clicks_.join(impressions_, on=keys(inputs), how="full", coalesce=True)
    return finish(
        joined.select(
            *keys(inputs),
            pl.col("clicks").fill_null(0).alias("numerator"),
            pl.col("impressions").fill_null(0).alias("denominator"),
        )
    )


@register(
    "unique_visitors",
    label="Unique visitors",
    stage="awareness",
    unit="count",
    direction="higher",
    kind="count",
    roles=("visit",),
    doc="users with a visit event",
)
def unique_visitors(inputs: KpiInputs) -> pl.LazyFrame:
    return inputs.user_period.group_by(keys(inputs)).agg(
        pl.col(flag("visit")).sum().cast(pl.Float64).alias("value"),
        pl.lit(None, pl.Float64).alias("numerator"),
        pl.lit(None, pl.Float64).alias("denominator"),
    )


@register(
    "new_visitors",
    label="New visitors",
    stage="awareness",
    unit="count",
    direction="higher",
    kind="count",
    roles=("visit",),
    doc="visitors whose first event ever is in P",
)
def new_visitors(inputs: KpiInputs) -> pl.LazyFrame:
    first_period = pl.col("first_seen").dt.convert_time_zone(inputs.timezone).dt.date()
    visitors = inputs.user_period.filter(pl.col(flag("visit"))).join(
        inputs.user_firsts.select("user_id", first_period.alias("first_day")), on="user_id"
    )
    is_new = (pl.col("first_day") >= pl.col("period_start")) & (
        pl.col("first_day") < pl.col("period_end")
    )
    return (
        visitors.join(inputs.periods.select("period_start", "period_end"), on="period_start")
        .group_by(keys(inputs))
        .agg(
            is_new.sum().cast(pl.Float64).alias("value"),
            pl.lit(None, pl.Float64).alias("numerator"),
            pl.lit(None, pl.Float64).alias("denominator"),
        )
    )


register_share(
    "engagement_rate",
    label="Engagement rate",
    stage="awareness",
    role="engage",
    among="visit",
    doc="visitors with an engage event / visitors",
)


@register(
    "cost_per_lead",
    label="Cost per lead",
    stage="awareness",
    unit="currency",
    direction="lower",
    kind="ratio",
    tables=("spend",),
    roles=("lead",),
    doc="cost / users with a lead event",
)
def cost_per_lead(inputs: KpiInputs) -> pl.LazyFrame:
    leads = inputs.user_period.group_by(keys(inputs)).agg(pl.col(flag("lead")).sum().alias("users"))
    return cost_per(inputs, leads)

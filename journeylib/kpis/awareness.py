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
    """How many times the ads were shown in P, from the spend table.

    Choices
    -------
    - Spend rows count by their `date` (a local date) in P; a period without spend rows has 0
      impressions.
    - Without an `impressions` column the KPI is not available, never 0.
    """
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
    """How many times the ads were clicked in P, from the spend table.

    Choices
    -------
    - Spend rows count by their `date` (a local date) in P; a period without spend rows has 0
      clicks.
    - Without a `clicks` column the KPI is not available, never 0.
    """
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
    """The share of ad impressions in P that were clicked.

    Choices
    -------
    - Clicks and impressions are summed over the spend rows of P; null when P has no impressions.
    """
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
    """Distinct users with at least one `visit` event in P."""
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
    """Visitors of P seen for the first time in P.

    Choices
    -------
    - "First event ever" is the user's first event of any role over all the data the filters
      keep, not only over the reported periods, and its local day must fall in P.
    - A user whose first event is earlier but whose first visit is in P is not new.
    """
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
    description="""The share of the period's visitors who engaged.

    Choices
    -------
    - Both events fall in P, in any order: the one counted need not come after the one that
      makes the population.
    """,
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
    """Ad spend of P divided by the users who became leads in P.

    Choices
    -------
    - Null when P has no lead; a period with leads and no spend rows costs 0.
    """
    leads = inputs.user_period.group_by(keys(inputs)).agg(pl.col(flag("lead")).sum().alias("users"))
    return cost_per(inputs, leads)

"""Consideration and purchase KPIs: view, cart, lead and conversion rates, orders, revenue, AOV,
payment success, cost per conversion, CAC and trial-to-paid."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from journeylib.kpis._common import cost_per, finish, keys, register_share
from journeylib.kpis._inputs import MICRO, KpiInputs, flag
from journeylib.kpis._registry import register
from journeylib.kpis._timed import two_step_rate

__all__: list[str] = []

CART_WINDOW = timedelta(days=7)
TRIAL_WINDOW = timedelta(days=30)


register_share(
    "product_view_rate",
    label="Product view rate",
    stage="consideration",
    role="product_view",
    among="visit",
    doc="users with product_view / visitors",
)


register_share(
    "add_to_cart_rate",
    label="Add-to-cart rate",
    stage="consideration",
    role="add_to_cart",
    among="product_view",
    doc="users with add_to_cart / users with product_view",
)


@register(
    "cart_abandonment_rate",
    label="Cart abandonment rate",
    stage="consideration",
    unit="rate",
    direction="lower",
    kind="rate",
    roles=("add_to_cart", "purchase"),
    doc="1 − funnel(add_to_cart → purchase, window 7 days).conversion",
)
def cart_abandonment_rate(inputs: KpiInputs) -> pl.LazyFrame:
    return two_step_rate(inputs, "add_to_cart", "purchase", CART_WINDOW, reached=False)


register_share(
    "lead_rate",
    label="Lead rate",
    stage="consideration",
    role="lead",
    among="visit",
    doc="users with lead / visitors",
)


register_share(
    "conversion_rate",
    label="Conversion rate",
    stage="purchase",
    role="purchase",
    among="visit",
    doc="users with purchase / visitors",
)


def _per_period(inputs: KpiInputs, value: pl.Expr) -> pl.LazyFrame:
    return inputs.user_period.group_by(keys(inputs)).agg(
        value.cast(pl.Float64).alias("value"),
        pl.lit(None, pl.Float64).alias("numerator"),
        pl.lit(None, pl.Float64).alias("denominator"),
    )


@register(
    "orders",
    label="Orders",
    stage="purchase",
    unit="count",
    direction="higher",
    kind="count",
    roles=("purchase",),
    doc="count of purchase events",
)
def orders(inputs: KpiInputs) -> pl.LazyFrame:
    return _per_period(inputs, pl.col("n_purchase").cast(pl.Int64).sum())


@register(
    "revenue",
    label="Revenue",
    stage="purchase",
    unit="currency",
    direction="higher",
    kind="count",
    roles=("purchase",),
    doc="sum of the revenue of purchase events",
    columns=("events.revenue",),
)
def revenue(inputs: KpiInputs) -> pl.LazyFrame:
    return _per_period(inputs, pl.col("revenue_micro").sum() / MICRO)


@register(
    "aov",
    label="AOV",
    stage="purchase",
    unit="currency",
    direction="higher",
    kind="ratio",
    roles=("purchase",),
    experiment="ratio",
    doc="revenue / orders",
    columns=("events.revenue",),
)
def aov(inputs: KpiInputs) -> pl.LazyFrame:
    return finish(
        inputs.user_period.group_by(keys(inputs)).agg(
            (pl.col("revenue_micro").sum() / MICRO).alias("numerator"),
            pl.col("n_purchase").cast(pl.Int64).sum().alias("denominator"),
        )
    )


@register(
    "payment_success_rate",
    label="Payment success rate",
    stage="purchase",
    unit="rate",
    direction="higher",
    kind="rate",
    roles=("purchase", "payment_failed"),
    experiment="ratio",
    doc="purchase events / (purchase + payment_failed events)",
)
def payment_success_rate(inputs: KpiInputs) -> pl.LazyFrame:
    return finish(
        inputs.user_period.group_by(keys(inputs)).agg(
            pl.col("n_purchase").cast(pl.Int64).sum().alias("numerator"),
            (pl.col("n_purchase").cast(pl.Int64) + pl.col("n_payment_failed"))
            .sum()
            .alias("denominator"),
        )
    )


@register(
    "cost_per_conversion",
    label="Cost per conversion",
    stage="purchase",
    unit="currency",
    direction="lower",
    kind="ratio",
    tables=("spend",),
    roles=("purchase",),
    doc="cost / users with purchase",
)
def cost_per_conversion(inputs: KpiInputs) -> pl.LazyFrame:
    buyers = inputs.user_period.group_by(keys(inputs)).agg(
        pl.col(flag("purchase")).sum().alias("users")
    )
    return cost_per(inputs, buyers)


@register(
    "cac",
    label="CAC",
    stage="purchase",
    unit="currency",
    direction="lower",
    kind="ratio",
    tables=("spend",),
    roles=("purchase",),
    doc="cost / new customers (users whose first purchase ever is in P)",
)
def cac(inputs: KpiInputs) -> pl.LazyFrame:
    first_day = pl.col("first_purchase").dt.convert_time_zone(inputs.timezone).dt.date()
    new_customers = (
        inputs.user_period.filter(pl.col(flag("purchase")))
        .join(inputs.user_firsts.select("user_id", first_day.alias("first_day")), on="user_id")
        .join(inputs.periods.select("period_start", "period_end"), on="period_start")
        .group_by(keys(inputs))
        .agg(
            (
                (pl.col("first_day") >= pl.col("period_start"))
                & (pl.col("first_day") < pl.col("period_end"))
            )
            .sum()
            .alias("users")
        )
    )
    return cost_per(inputs, new_customers)


@register(
    "trial_to_paid_rate",
    label="Trial-to-paid rate",
    stage="purchase",
    unit="rate",
    direction="higher",
    kind="rate",
    roles=("trial_start", "purchase"),
    doc="users with trial_start in P who purchase within 30 days of it / those users",
)
def trial_to_paid_rate(inputs: KpiInputs) -> pl.LazyFrame:
    return two_step_rate(inputs, "trial_start", "purchase", TRIAL_WINDOW)

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
    description="""The share of the period's visitors who viewed a product.

    Choices
    -------
    - Both events fall in P, in any order: the one counted need not come after the one that
      makes the population.
    """,
)


register_share(
    "add_to_cart_rate",
    label="Add-to-cart rate",
    stage="consideration",
    role="add_to_cart",
    among="product_view",
    doc="users with add_to_cart / users with product_view",
    description="""The share of the period's product viewers who added to the cart.

    Choices
    -------
    - Both events fall in P, in any order: the one counted need not come after the one that
      makes the population.
    """,
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
    """The share of carts of P that were not bought within 7 days.

    Options
    -------
    - The window is fixed at 7 days.

    Choices
    -------
    - Entry: the user's first `add_to_cart` event in P; only the entry must lie in P, the
      purchase may come after P's end.
    - Bought: a `purchase` at or after the entry (equal timestamps count) and at most 7 days
      after it (the end is inclusive); the earliest such purchase is taken.
    - A cart whose 7 days have not ended at the end of the data and has no purchase yet counts
      as abandoned: the last week of the data reads high.
    """
    return two_step_rate(inputs, "add_to_cart", "purchase", CART_WINDOW, reached=False)


register_share(
    "lead_rate",
    label="Lead rate",
    stage="consideration",
    role="lead",
    among="visit",
    doc="users with lead / visitors",
    description="""The share of the period's visitors who became leads.

    Choices
    -------
    - Both events fall in P, in any order: the one counted need not come after the one that
      makes the population.
    """,
)


register_share(
    "conversion_rate",
    label="Conversion rate",
    stage="purchase",
    role="purchase",
    among="visit",
    doc="users with purchase / visitors",
    description="""The share of the period's visitors who purchased.

    Choices
    -------
    - Both events fall in P, in any order: the one counted need not come after the one that
      makes the population.
    - A buyer with no `visit` event in P is not counted.
    """,
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
    """Purchase events in P.

    Choices
    -------
    - Events, not users: a user who buys twice counts twice; two purchases at the same timestamp
      are two orders.
    """
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
    """The revenue of the purchase events in P.

    Choices
    -------
    - Only purchase events count; revenue on other events is ignored and a purchase with a null
      revenue adds 0.
    - Summed in millionths of the currency unit, so the total is the same to the last digit in
      every run.
    """
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
    """Average order value: revenue per purchase event in P.

    Choices
    -------
    - Null when P has no order; a purchase with a null revenue adds 0 to the revenue and 1 to the
      orders.
    """
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
    """The share of payment attempts in P that succeeded.

    Choices
    -------
    - Events, not users: each `purchase` is a success and each `payment_failed` a failure; null
      when P has neither.
    """
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
    """Ad spend of P divided by the users who purchased in P.

    Choices
    -------
    - Null when P has no buyer; a period with buyers and no spend rows costs 0.
    """
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
    """Customer acquisition cost: ad spend of P divided by the customers won in P.

    Choices
    -------
    - A new customer's first purchase ever (over all the data the filters keep) falls on a local
      day of P.
    - Null when P won no customer.
    """
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
    """The share of trials started in P that purchased within 30 days.

    Options
    -------
    - The window is fixed at 30 days.

    Choices
    -------
    - Entry: the user's first `trial_start` event in P; the purchase may come after P's end.
    - Paid: a `purchase` at or after the entry (equal timestamps count) and at most 30 days
      after it (inclusive).
    - A trial whose 30 days have not ended at the end of the data and has no purchase yet counts
      as not paid.
    """
    return two_step_rate(inputs, "trial_start", "purchase", TRIAL_WINDOW)

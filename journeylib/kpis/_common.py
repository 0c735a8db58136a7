"""Shapes shared by KPI formulas: user shares, sums and ratios per period and breakdown."""

from __future__ import annotations

import polars as pl

from journeylib.kpis._inputs import KpiInputs, flag
from journeylib.kpis._registry import register
from journeylib.periods import truncate_to_grain

__all__ = [
    "exact_mean",
    "exact_sum",
    "keys",
    "ratio",
    "share_of_users",
    "spend_by_period",
]


def keys(inputs: KpiInputs) -> list[str]:
    """The grouping keys of every KPI row: the period and the breakdown columns."""
    return ["period_start", *inputs.by]


def exact_sum(column: pl.Expr, *, scale: int = 1_000_000) -> pl.Expr:
    """Sum of a float column in integer units of ``1 / scale``: the same result in every run.

    Float additions depend on their order, which parallel aggregation does not fix; integer
    sums do not, so totals and means built on them repeat to the last digit.
    """
    return (column * scale).round().cast(pl.Int64).sum() / scale


def exact_mean(column: pl.Expr, *, scale: int = 1_000_000) -> pl.Expr:
    """Mean of the non-null values of a float column, as :func:`exact_sum` / count."""
    count = column.count()
    return pl.when(count > 0).then(exact_sum(column, scale=scale) / count)


def ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """``numerator / denominator``, null when the denominator is 0 or null ("no data")."""
    return pl.when(denominator > 0).then(numerator / denominator).otherwise(None)


def finish(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``value`` = numerator / denominator and cast the columns every KPI returns."""
    return frame.with_columns(
        pl.col("numerator").cast(pl.Float64),
        pl.col("denominator").cast(pl.Float64),
    ).with_columns(ratio(pl.col("numerator"), pl.col("denominator")).alias("value"))


def share_of_users(inputs: KpiInputs, role: str, among: str | None) -> pl.LazyFrame:
    """Users with ``role`` among users with ``among`` (all active users when ``None``)."""
    population = pl.col(flag(among)) if among else pl.col("active")
    return finish(
        inputs.user_period.group_by(keys(inputs)).agg(
            (pl.col(flag(role)) & population).sum().alias("numerator"),
            population.sum().alias("denominator"),
        )
    )


def register_share(
    name: str,
    *,
    label: str,
    stage: str,
    role: str,
    among: str,
    doc: str,
    roles: tuple[str, ...] | None = None,
    description: str | None = None,
) -> None:
    """Register a KPI that is the share of users with ``role`` among the users with ``among``
    (:func:`share_of_users`): a rate, higher is better, read per user by experiments.

    ``roles`` (default ``(among, role)``) is the order in which missing roles are reported.
    ``description`` is the formula's docstring, as the KPI reference reads it (the definition
    in words, then its ``Options`` and ``Choices`` sections).
    """

    def compute(inputs: KpiInputs) -> pl.LazyFrame:
        return share_of_users(inputs, role, among=among)

    compute.__name__ = compute.__qualname__ = name
    compute.__doc__ = description
    register(
        name,
        label=label,
        stage=stage,
        unit="rate",
        direction="higher",
        kind="rate",
        roles=roles or (among, role),
        experiment="rate",
        doc=doc,
    )(compute)


def spend_by_period(inputs: KpiInputs, column: str) -> pl.LazyFrame:
    """Sum of a spend column per period (and breakdown columns that spend has)."""
    assert inputs.spend is not None
    period = truncate_to_grain(pl.col("date"), inputs.grain)
    values = pl.col(column)
    # money is summed in integer millionths, so the total does not depend on the threads
    total = exact_sum(values) if inputs.spend.collect_schema()[column].is_float() else values.sum()
    return (
        inputs.spend.filter(pl.col("date").is_between(inputs.periods_first, inputs.end, "left"))
        .with_columns(period.alias("period_start"))
        .group_by(keys(inputs))
        .agg(total.cast(pl.Float64).alias(column))
    )


def cost_per(inputs: KpiInputs, users: pl.LazyFrame) -> pl.LazyFrame:
    """Spend cost divided by a user count frame (``period_start``, by, ``users``)."""
    cost = spend_by_period(inputs, "cost")
    return (
        cost.join(users, on=keys(inputs), how="full", coalesce=True)
        .with_columns(
            pl.col("cost").fill_null(0.0).alias("numerator"),
            pl.col("users").fill_null(0).cast(pl.Float64).alias("denominator"),
        )
        .with_columns(ratio(pl.col("numerator"), pl.col("denominator")).alias("value"))
        .select(*keys(inputs), "value", "numerator", "denominator")
    )

"""From one row per unit (furthest step reached, step times) to the tidy per-step funnel table."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from journeylib.stats import wilson_exprs

__all__ = ["PERIOD", "summarise_steps"]

PERIOD = "period"
_ALL = "_all"


def _step_aggregates(step: int, *, grouped: bool) -> list[pl.Expr]:
    reached = pl.col("reached") >= step
    stuck = pl.col("in_progress") & (pl.col("reached") == step)
    aggregates = [
        reached.sum().cast(pl.Int64).alias(f"users_{step}"),
        stuck.sum().cast(pl.Int64).alias(f"in_progress_{step}"),
    ]
    if step == 1:
        none = pl.lit(None, pl.Float64)
        return [*aggregates, none.alias("median_1"), none.alias("p90_1")]
    # quantiles of whole microseconds, in seconds after: faster than on float seconds
    micros = (pl.col(f"t_{step}") - pl.col(f"t_{step - 1}")).dt.total_microseconds()
    if not grouped:
        # both quantiles from one selection, split by _split_times: measured twice as fast
        # over a whole table of units (a list of quantiles is not accepted in a group-by)
        return [*aggregates, micros.quantile([0.5, 0.9], "linear").alias(f"times_{step}")]
    return [
        *aggregates,
        (micros.median() / 1e6).alias(f"median_{step}"),
        (micros.quantile(0.9, "linear") / 1e6).alias(f"p90_{step}"),
    ]


def _split_times(step: int) -> list[pl.Expr]:
    both = pl.col(f"times_{step}")
    return [
        (both.list.get(0, null_on_oob=True) / 1e6).alias(f"median_{step}"),
        (both.list.get(1, null_on_oob=True) / 1e6).alias(f"p90_{step}"),
    ]


def _conversion(numerator: str, denominator: str) -> pl.Expr:
    valid = pl.col(denominator) > 0
    return pl.when(valid).then(pl.col(numerator) / pl.col(denominator)).otherwise(None)


def summarise_steps(
    units: pl.DataFrame,
    *,
    step_names: Sequence[str],
    groups: Sequence[str],
    grid: pl.DataFrame | None,
) -> pl.DataFrame:
    """Aggregate units into one row per group and step, with rates, intervals and times.

    ``units`` has ``reached``, ``t_1..t_K``, ``in_progress`` and the ``groups`` columns;
    ``grid`` lists every group combination to report (missing ones get zero users).
    """
    step_count = len(step_names)
    aggregates = [
        expr
        for step in range(1, step_count + 1)
        for expr in _step_aggregates(step, grouped=bool(groups))
    ]
    keys = list(groups) or [_ALL]
    if groups:
        wide = units.group_by(keys).agg(aggregates)
    else:
        wide = units.select(aggregates).with_columns(
            *(expr for step in range(2, step_count + 1) for expr in _split_times(step)),
            pl.lit(True).alias(_ALL),
        )
    tidy = pl.concat(
        [
            wide.select(
                *keys,
                pl.lit(step, pl.Int32).alias("step"),
                pl.lit(step_names[step - 1], pl.String).alias("step_name"),
                pl.col(f"users_{step}").alias("users"),
                pl.col(f"in_progress_{step}").alias("in_progress"),
                pl.col(f"median_{step}").alias("median_seconds_from_previous"),
                pl.col(f"p90_{step}").alias("p90_seconds_from_previous"),
            )
            for step in range(1, step_count + 1)
        ]
    )
    if grid is not None:
        steps = pl.DataFrame(
            {"step": list(range(1, step_count + 1)), "step_name": list(step_names)},
            schema={"step": pl.Int32, "step_name": pl.String},
        )
        tidy = (
            grid.join(steps, how="cross")
            .join(tidy, on=[*keys, "step", "step_name"], how="left", nulls_equal=True)
            .with_columns(pl.col("users", "in_progress").fill_null(0))
        )
    tidy = tidy.sort([*keys, "step"], nulls_last=False).with_columns(
        pl.col("users").first().over(keys).alias("first_users"),
        pl.col("users").shift(1).over(keys).alias("previous_users"),
        pl.col("in_progress").shift(1).over(keys).alias("previous_in_progress"),
    )
    tidy = tidy.with_columns(pl.col("previous_users").fill_null(pl.col("users")))
    first_low, first_high = wilson_exprs(pl.col("users"), pl.col("first_users"))
    previous_low, previous_high = wilson_exprs(pl.col("users"), pl.col("previous_users"))
    drop_off = pl.col("previous_users") - pl.col("users") - pl.col("previous_in_progress")
    output = tidy.select(
        *groups,
        "step",
        "step_name",
        "users",
        _conversion("users", "first_users").alias("conversion_from_first"),
        first_low.alias("ci_low"),
        first_high.alias("ci_high"),
        _conversion("users", "previous_users").alias("conversion_from_previous"),
        previous_low.alias("prev_ci_low"),
        previous_high.alias("prev_ci_high"),
        drop_off.alias("drop_off"),
        "in_progress",
        "median_seconds_from_previous",
        "p90_seconds_from_previous",
    )
    return output

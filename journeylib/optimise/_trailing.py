"""Per-period rates against a trailing baseline, for every series at once (incidents, loops).

A series is one transition (and optionally one segment): per period, ``users`` who could take
the transition and ``hits`` who did. Every period is compared with the sum of the previous
``baseline_periods`` periods by the pooled two-proportion z-test; the rolling sums run over one
sorted frame of all series (``over`` the series keys), never one query per period.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Literal

import polars as pl

from journeylib.periods import Grain
from journeylib.stats import two_proportion_ztest_expr

__all__ = ["MIN_EXPECTED", "flag_periods", "merge_runs", "period_end_expr"]

#: Fewest expected hits and misses in each group (the pooled rate x the group's users) for a
#: period to be tested: below it the normal approximation of the z-test does not hold (the
#: usual rule of five).
MIN_EXPECTED = 5
_STEP = {"day": "1d", "week": "1w", "month": "1mo"}


def period_end_expr(column: str, grain: Grain) -> pl.Expr:
    """The first day after the period starting on ``column``."""
    return pl.col(column).dt.offset_by(_STEP[grain])


def flag_periods(
    series: pl.DataFrame,
    *,
    keys: Sequence[str],
    periods: Sequence[date],
    baseline_periods: int,
    alpha: pl.Expr | float,
    min_change: float,
    direction: Literal["drop", "rise"],
) -> pl.DataFrame:
    """Test every period of every series against its trailing baseline.

    ``series`` has ``keys``, ``period``, ``users`` and ``hits`` (missing periods count as 0).
    Returns one row per series and period of ``periods`` with ``rate``, ``baseline_users``,
    ``baseline_hits``, ``baseline_rate``, ``relative_change``, ``p_value`` (null when the
    period is not tested: fewer than ``baseline_periods`` periods before it, an empty
    baseline, or fewer than :data:`MIN_EXPECTED` expected hits or misses in a group) and
    ``flagged``: p
    below ``alpha`` (a number or an expression over the columns) and a relative change of at
    least ``min_change`` in ``direction``.
    """
    keys = list(keys)
    grid = (
        series.select(keys)
        .unique()
        .join(pl.DataFrame({"period": list(periods)}, schema={"period": pl.Date}), how="cross")
    )
    filled = (
        grid.join(series, on=[*keys, "period"], how="left", nulls_equal=True)
        .with_columns(pl.col("users", "hits").fill_null(0).cast(pl.Int64))
        .sort([*keys, "period"], nulls_last=False)
    )
    before = [
        pl.col(c)
        .shift(1)
        .rolling_sum(baseline_periods)
        .over(keys, order_by="period")
        .alias(f"baseline_{c}")
        for c in ("users", "hits")
    ]
    tested = filled.with_columns(before).with_columns(
        pl.when(pl.col("users") > 0).then(pl.col("hits") / pl.col("users")).alias("rate"),
        pl.when(pl.col("baseline_users") > 0)
        .then(pl.col("baseline_hits") / pl.col("baseline_users"))
        .alias("baseline_rate"),
    )
    pooled = (pl.col("hits") + pl.col("baseline_hits")) / (
        pl.col("users") + pl.col("baseline_users")
    )
    smaller = pl.min_horizontal("users", "baseline_users")
    testable = (
        pl.col("baseline_rate").is_not_null()
        & (smaller * pooled >= MIN_EXPECTED)
        & (smaller * (1 - pooled) >= MIN_EXPECTED)
    )
    p_value = two_proportion_ztest_expr(
        pl.col("hits"), pl.col("users"), pl.col("baseline_hits"), pl.col("baseline_users")
    )
    change = pl.col("rate") / pl.col("baseline_rate") - 1
    moved = change <= -min_change if direction == "drop" else change >= min_change
    threshold = alpha if isinstance(alpha, pl.Expr) else pl.lit(alpha)
    return tested.with_columns(
        pl.when(pl.col("baseline_rate") > 0).then(change).alias("relative_change"),
        pl.when(testable).then(p_value).alias("p_value"),
    ).with_columns(
        (
            pl.col("p_value").is_not_null()
            & (pl.col("p_value") < threshold)
            & moved.fill_null(False)
        ).alias("flagged")
    )


def merge_runs(tested: pl.DataFrame, *, keys: Sequence[str], grain: Grain) -> pl.DataFrame:
    """Consecutive flagged periods of a series as one run.

    Returns per run: ``keys``, ``start``, ``end`` (the day after its last period), ``periods``,
    ``users``, ``hits``, ``rate`` (pooled over the run), and the baseline of its first period
    (``baseline_users``, ``baseline_hits``, ``baseline_rate``): the periods before it started.
    """
    keys = list(keys)
    run = (
        (pl.col("flagged") != pl.col("flagged").shift(1).fill_null(False))
        .cum_sum()
        .over(keys, order_by="period")
    )
    runs = (
        tested.with_columns(run.alias("_run"))
        .filter("flagged")
        .group_by([*keys, "_run"], maintain_order=True)
        .agg(
            pl.col("period").min().alias("start"),
            pl.col("period").max().alias("_last"),
            pl.len().alias("periods"),
            pl.col("users").sum(),
            pl.col("hits").sum(),
            pl.col("baseline_users").first(),
            pl.col("baseline_hits").first(),
        )
    )
    return runs.select(
        *keys,
        "start",
        period_end_expr("_last", grain).alias("end"),
        pl.col("periods").cast(pl.Int64),
        "users",
        "hits",
        (pl.col("hits") / pl.col("users")).alias("rate"),
        "baseline_users",
        "baseline_hits",
        (pl.col("baseline_hits") / pl.col("baseline_users")).alias("baseline_rate"),
    )

"""Per-period rates against a trailing baseline, for every series at once (incidents, loops).

A series is one transition (and optionally one segment, or a rate KPI): per period, ``users``
who could take the transition and ``hits`` who did. Every period is compared with the sum of
the previous ``baseline_periods`` periods that were not flagged (:func:`flag_periods`) by the
pooled two-proportion z-test, or Fisher's exact test for small counts; all series are walked
together, period by period, never one query per period.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Literal

import numpy as np
import polars as pl
from scipy import stats as distributions

from journeylib.periods import Grain, period_end_expr

__all__ = [
    "MIN_EXPECTED",
    "flag_periods",
    "merge_runs",
    "rate_p_value",
    "rate_p_value_expr",
    "rate_p_values",
]

#: Fewest expected hits and misses in each group (the pooled rate x the group's users) for a
#: period to be tested by the z-test: below it the normal approximation does not hold (the
#: usual rule of five), and the period is tested by Fisher's exact test instead
#: (:func:`journeylib.stats.fisher_doubled`), as a rate near 100% over a few dozen payment
#: attempts a day needs.
MIN_EXPECTED = 5


def rate_p_values(x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """Two-sided p-values of ``x1/n1`` against ``x2/n2``, element-wise: the pooled z-test
    when each group expects at least :data:`MIN_EXPECTED` hits and misses, else Fisher's
    exact test (the smaller one-sided p-value doubled); NaN when a group is empty.

    The z-test's p-value is :func:`journeylib.stats.two_proportion_ztest`'s, Fisher's is
    :func:`journeylib.stats.fisher_doubled`'s (tests hold them to statsmodels and SciPy).
    """
    x1, n1, x2, n2 = (np.asarray(a, dtype=np.float64) for a in (x1, n1, x2, n2))
    with np.errstate(all="ignore"):
        pooled = (x1 + x2) / (n1 + n2)
        smaller = np.minimum(n1, n2)
        large = (smaller * pooled >= MIN_EXPECTED) & (smaller * (1 - pooled) >= MIN_EXPECTED)
        variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
        z = np.abs(x1 / n1 - x2 / n2) / np.sqrt(variance)
        p_values = np.where(variance == 0, 1.0, 2 * distributions.norm.sf(z))
        # the exact test only where the z-test does not hold (it is slow on many rows)
        small = ~large & (n1 > 0) & (n2 > 0)
        if small.any():
            a, total, hits, m = x1[small], (n1 + n2)[small], (x1 + x2)[small], n1[small]
            less = distributions.hypergeom.cdf(a, total, hits, m)
            greater = distributions.hypergeom.sf(a - 1, total, hits, m)
            p_values[small] = np.minimum(1.0, 2 * np.minimum(less, greater))
    return np.where((n1 > 0) & (n2 > 0), p_values, np.nan)


def rate_p_value_expr(x1: pl.Expr, n1: pl.Expr, x2: pl.Expr, n2: pl.Expr) -> pl.Expr:
    """:func:`rate_p_values` over columns; null when a group is empty."""

    def computed(counts: pl.Series) -> pl.Series:
        arrays = [counts.struct.field(f).to_numpy() for f in ("x1", "n1", "x2", "n2")]
        return pl.Series(rate_p_values(*arrays), dtype=pl.Float64, nan_to_null=True)

    counts = pl.struct(
        x1.cast(pl.Float64).alias("x1"),
        n1.cast(pl.Float64).alias("n1"),
        x2.cast(pl.Float64).alias("x2"),
        n2.cast(pl.Float64).alias("n2"),
    )
    return counts.map_batches(computed, return_dtype=pl.Float64)


def rate_p_value(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """:func:`rate_p_values` for one pair of rates (``None`` when a group is empty)."""
    value = float(rate_p_values(*(np.array([v]) for v in (x1, n1, x2, n2)))[0])
    return None if math.isnan(value) else value


def flag_periods(
    series: pl.DataFrame,
    *,
    keys: Sequence[str],
    periods: Sequence[date],
    baseline_periods: int,
    alpha: pl.Expr | float,
    min_change: float,
    direction: Literal["drop", "rise"],
    continue_alpha: float | None = None,
) -> pl.DataFrame:
    """Test every period of every series against its trailing baseline.

    ``series`` has ``keys``, ``period``, ``users`` and ``hits`` (missing periods count as 0).
    The baseline of a period is the sum of the ``baseline_periods`` periods before it that
    were not flagged themselves, so that an incident lasting several periods is measured
    against the rate before it began, not against its own first days (on data where nothing
    is flagged, simply the periods just before). Returns one row per series and period of
    ``periods`` with ``rate``, ``baseline_users``, ``baseline_hits``, ``baseline_rate``,
    ``relative_change``, ``p_value`` (:func:`rate_p_values`; null when the period is not
    tested: fewer than ``baseline_periods`` periods before it, an empty baseline or no units
    in the period) and ``flagged``: p below ``alpha`` (a number or an expression over the
    columns) and a relative change of at least ``min_change`` in ``direction``. A period right
    after a flagged one of its series is flagged at ``continue_alpha`` when that is larger
    (an incident already open goes on while its periods stay significantly apart, at the
    plain level rather than the level its segment had to pass to open it).

    The periods are walked in order once, every series at a time (arrays of series x
    periods), never one query per period.
    """
    keys = list(keys)
    threshold = alpha if isinstance(alpha, pl.Expr) else pl.lit(alpha)
    grid = (
        series.select(keys)
        .unique()
        .join(pl.DataFrame({"period": list(periods)}, schema={"period": pl.Date}), how="cross")
    )
    filled = (
        grid.join(series, on=[*keys, "period"], how="left", nulls_equal=True)
        .with_columns(pl.col("users", "hits").fill_null(0).cast(pl.Int64))
        .sort([*keys, "period"], nulls_last=False)
        .with_columns(threshold.cast(pl.Float64).alias("_alpha"))
    )
    n_periods = len(periods)
    n_series = filled.height // n_periods if n_periods else 0
    shape = (n_series, n_periods)
    users = filled["users"].to_numpy().reshape(shape).astype(np.float64)
    hits = filled["hits"].to_numpy().reshape(shape).astype(np.float64)
    alphas = filled["_alpha"].fill_null(0.0).to_numpy().reshape(shape)
    base_users, base_hits, p_values, flagged = (np.full(shape, np.nan) for _ in range(4))
    flagged = np.zeros(shape, dtype=bool)
    history_users = np.zeros((n_series, baseline_periods))
    history_hits = np.zeros((n_series, baseline_periods))
    healthy = np.zeros(n_series, dtype=np.int64)  # healthy periods seen so far
    rows = np.arange(n_series)
    for period in range(n_periods):
        ready = healthy >= baseline_periods
        b_users = np.where(ready, history_users.sum(axis=1), np.nan)
        b_hits = np.where(ready, history_hits.sum(axis=1), np.nan)
        base_users[:, period], base_hits[:, period] = b_users, b_hits
        u, h = users[:, period], hits[:, period]
        p = np.where(ready & (b_users > 0), rate_p_values(h, u, b_hits, b_users), np.nan)
        p_values[:, period] = p
        with np.errstate(all="ignore"):
            change = (h / u) / (b_hits / b_users) - 1
        moved = change <= -min_change if direction == "drop" else change >= min_change
        level = alphas[:, period]
        if continue_alpha is not None and period > 0:
            level = np.where(flagged[:, period - 1], np.maximum(level, continue_alpha), level)
        flag = ~np.isnan(p) & (p < level) & np.nan_to_num(moved, nan=0).astype(bool)
        flagged[:, period] = flag
        keep = ~flag
        slot = healthy % baseline_periods
        history_users[rows[keep], slot[keep]] = u[keep]
        history_hits[rows[keep], slot[keep]] = h[keep]
        healthy += keep
    tested = filled.drop("_alpha").with_columns(
        pl.Series("baseline_users", base_users.ravel(), nan_to_null=True).cast(pl.Int64),
        pl.Series("baseline_hits", base_hits.ravel(), nan_to_null=True).cast(pl.Int64),
        pl.Series("p_value", p_values.ravel(), nan_to_null=True),
        pl.Series("flagged", flagged.ravel()),
    )
    return tested.with_columns(
        pl.when(pl.col("users") > 0).then(pl.col("hits") / pl.col("users")).alias("rate"),
        pl.when(pl.col("baseline_users") > 0)
        .then(pl.col("baseline_hits") / pl.col("baseline_users"))
        .alias("baseline_rate"),
    ).with_columns(
        pl.when(pl.col("baseline_rate") > 0)
        .then(pl.col("rate") / pl.col("baseline_rate") - 1)
        .alias("relative_change"),
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

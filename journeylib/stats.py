"""Statistics for rates and means: intervals, tests, sample ratio mismatch and power.

Pure functions on numbers, plus expression versions for columns of aggregated frames
(KPI_DEFINITIONS.md, sections 2 and 6). A zero denominator gives ``None`` (scalars) or null
(expressions), never 0 and never an error.

Examples
--------
>>> low, high = wilson_interval(5, 10)
>>> round(low, 4), round(high, 4)
(0.2366, 0.7634)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy import optimize
from scipy import stats as distributions

__all__ = [
    "SRM_ALPHA",
    "difference_interval",
    "minimum_detectable_effect",
    "relative_lift",
    "sample_size_for_effect",
    "srm_test",
    "two_proportion_ztest",
    "two_proportion_ztest_expr",
    "welch_interval",
    "welch_ttest",
    "welch_ttest_from_samples",
    "wilson_exprs",
    "wilson_interval",
]

#: A sample ratio mismatch p-value below this flags the experiment as not to be trusted.
SRM_ALPHA = 0.001


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    return float(distributions.norm.ppf(0.5 + confidence / 2))


def wilson_interval(
    successes: int, trials: int, confidence: float = 0.95
) -> tuple[float, float] | tuple[None, None]:
    """Wilson score interval of a proportion; ``(None, None)`` when ``trials`` is 0.

    Examples
    --------
    >>> tuple(round(bound, 4) for bound in wilson_interval(0, 10))
    (0.0, 0.2775)
    """
    if trials == 0:
        return None, None
    z = _z(confidence)
    share = successes / trials
    denominator = 1 + z * z / trials
    centre = (share + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    half /= denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def wilson_exprs(
    successes: pl.Expr, trials: pl.Expr, confidence: float = 0.95
) -> tuple[pl.Expr, pl.Expr]:
    """Expressions for the Wilson interval of ``successes / trials``; null when ``trials`` is 0.

    Examples
    --------
    >>> frame = pl.DataFrame({"x": [5, 0], "n": [10, 0]})
    >>> low, high = wilson_exprs(pl.col("x"), pl.col("n"))
    >>> frame.select(low.round(4).alias("low"))["low"].to_list()
    [0.2366, None]
    """
    z = _z(confidence)
    n = trials.cast(pl.Float64)
    share = successes.cast(pl.Float64) / n
    denominator = 1 + z * z / n
    centre = (share + z * z / (2 * n)) / denominator
    half = z * (share * (1 - share) / n + z * z / (4 * n * n)).sqrt() / denominator
    valid = trials > 0
    low = pl.when(valid).then((centre - half).clip(lower_bound=0.0)).otherwise(None)
    high = pl.when(valid).then((centre + half).clip(upper_bound=1.0)).otherwise(None)
    return low, high


def two_proportion_ztest(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test; ``None`` for a zero denominator.

    When both groups have the same rate of 0 or 1 the pooled variance is 0 and the p-value is 1.

    Examples
    --------
    >>> round(two_proportion_ztest(45, 100, 60, 100), 4)
    0.0337
    """
    if n1 == 0 or n2 == 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance == 0:
        return 1.0
    z = (x1 / n1 - x2 / n2) / math.sqrt(variance)
    return float(2 * distributions.norm.sf(abs(z)))


def two_proportion_ztest_expr(x1: pl.Expr, n1: pl.Expr, x2: pl.Expr, n2: pl.Expr) -> pl.Expr:
    """Expression version of :func:`two_proportion_ztest`; null for a zero denominator.

    Examples
    --------
    >>> frame = pl.DataFrame({"x1": [45], "n1": [100], "x2": [60], "n2": [100]})
    >>> p = two_proportion_ztest_expr(pl.col("x1"), pl.col("n1"), pl.col("x2"), pl.col("n2"))
    >>> round(frame.select(p).item(), 4)
    0.0337
    """
    n1f, n2f = n1.cast(pl.Float64), n2.cast(pl.Float64)
    pooled = (x1 + x2).cast(pl.Float64) / (n1f + n2f)
    variance = pooled * (1 - pooled) * (1 / n1f + 1 / n2f)
    z_abs = ((x1.cast(pl.Float64) / n1f - x2.cast(pl.Float64) / n2f) / variance.sqrt()).abs()
    p_value = z_abs.map_batches(
        lambda values: pl.Series(2 * distributions.norm.sf(values.to_numpy()), dtype=pl.Float64),
        return_dtype=pl.Float64,
    )
    return (
        pl.when((n1 == 0) | (n2 == 0)).then(None).when(variance == 0).then(1.0).otherwise(p_value)
    )


def difference_interval(
    x1: int, n1: int, x2: int, n2: int, confidence: float = 0.95
) -> tuple[float, float] | tuple[None, None]:
    """Unpooled (Wald) interval of ``x2/n2 - x1/n1``; ``(None, None)`` for a zero denominator.

    Examples
    --------
    >>> tuple(round(bound, 4) for bound in difference_interval(45, 100, 60, 100))
    (0.0132, 0.2868)
    """
    if n1 == 0 or n2 == 0:
        return None, None
    rate1, rate2 = x1 / n1, x2 / n2
    error = math.sqrt(rate1 * (1 - rate1) / n1 + rate2 * (1 - rate2) / n2)
    difference = rate2 - rate1
    z = _z(confidence)
    return difference - z * error, difference + z * error


def relative_lift(control_rate: float | None, variant_rate: float | None) -> float | None:
    """``variant / control - 1``; ``None`` when the control rate is 0 or missing.

    Examples
    --------
    >>> round(relative_lift(0.10, 0.12), 4)
    0.2
    """
    if control_rate is None or variant_rate is None or control_rate == 0:
        return None
    return variant_rate / control_rate - 1


def welch_ttest(
    mean1: float, var1: float, n1: int, mean2: float, var2: float, n2: int
) -> tuple[float, float, float] | tuple[None, None, None]:
    """Welch's t-test of ``mean2 - mean1`` from summary statistics: ``(t, df, p_value)``.

    ``var`` is the sample variance (``ddof=1``). ``None`` values when a group has fewer than 2
    observations or both variances are 0.

    Examples
    --------
    >>> t, df, p = welch_ttest(10.0, 4.0, 30, 12.0, 9.0, 40)
    >>> round(t, 3), round(df, 1), round(p, 4)
    (3.341, 67.2, 0.0014)
    """
    if n1 < 2 or n2 < 2:
        return None, None, None
    share1, share2 = var1 / n1, var2 / n2
    error_squared = share1 + share2
    if error_squared == 0:
        return None, None, None
    t = (mean2 - mean1) / math.sqrt(error_squared)
    df = error_squared**2 / (share1**2 / (n1 - 1) + share2**2 / (n2 - 1))
    p_value = float(2 * distributions.t.sf(abs(t), df))
    return t, df, p_value


def welch_interval(
    mean1: float,
    var1: float,
    n1: int,
    mean2: float,
    var2: float,
    n2: int,
    confidence: float = 0.95,
) -> tuple[float, float] | tuple[None, None]:
    """Welch interval of ``mean2 - mean1`` (Welch-Satterthwaite degrees of freedom).

    Examples
    --------
    >>> low, high = welch_interval(10.0, 4.0, 30, 12.0, 9.0, 40)
    >>> round(low, 3), round(high, 3)
    (0.805, 3.195)
    """
    _, df, _ = welch_ttest(mean1, var1, n1, mean2, var2, n2)
    if df is None:
        return None, None
    _z(confidence)
    error = math.sqrt(var1 / n1 + var2 / n2)
    quantile = float(distributions.t.ppf(0.5 + confidence / 2, df))
    difference = mean2 - mean1
    return difference - quantile * error, difference + quantile * error


def welch_ttest_from_samples(
    first: Sequence[float] | np.ndarray, second: Sequence[float] | np.ndarray
) -> tuple[float, float, float] | tuple[None, None, None]:
    """:func:`welch_ttest` of ``mean(second) - mean(first)`` from raw observations.

    Examples
    --------
    >>> t, df, p = welch_ttest_from_samples([1.0, 2.0, 3.0], [2.0, 4.0, 6.0])
    >>> round(t, 4)
    1.5492
    """
    a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    if a.size < 2 or b.size < 2:
        return None, None, None
    return welch_ttest(
        float(a.mean()), float(a.var(ddof=1)), a.size, float(b.mean()), float(b.var(ddof=1)), b.size
    )


def srm_test(observed: Sequence[int], expected_shares: Sequence[float] | None = None) -> float:
    """Chi-square p-value of the observed allocation against the expected shares (default equal).

    Compare with :data:`SRM_ALPHA`: below it, the experiment's split is broken.

    Examples
    --------
    >>> round(srm_test([5000, 5200]), 4)
    0.0477
    """
    counts = np.asarray(observed, dtype=float)
    if counts.size < 2:
        raise ValueError(f"srm_test needs at least 2 variants, got {counts.size}")
    shares = (
        np.full(counts.size, 1 / counts.size)
        if expected_shares is None
        else np.asarray(expected_shares, dtype=float)
    )
    if shares.size != counts.size:
        raise ValueError(
            f"srm_test got {counts.size} observed counts but {shares.size} expected shares"
        )
    if np.any(shares <= 0):
        raise ValueError(f"expected shares must be positive, got {list(shares)}")
    expected = shares / shares.sum() * counts.sum()
    if counts.sum() == 0:
        return 1.0
    statistic = float(((counts - expected) ** 2 / expected).sum())
    return float(distributions.chi2.sf(statistic, counts.size - 1))


def _required_n(baseline: float, target: float, alpha: float, power: float) -> float:
    z_alpha = float(distributions.norm.ppf(1 - alpha / 2))
    z_power = float(distributions.norm.ppf(power))
    pooled = (baseline + target) / 2
    spread = z_alpha * math.sqrt(2 * pooled * (1 - pooled)) + z_power * math.sqrt(
        baseline * (1 - baseline) + target * (1 - target)
    )
    return (spread / (target - baseline)) ** 2


def _check_rate(baseline_rate: float) -> None:
    if not 0 < baseline_rate < 1:
        raise ValueError(f"baseline_rate must lie in (0, 1), got {baseline_rate!r}")


def sample_size_for_effect(
    baseline_rate: float, relative_lift: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Units per variant to detect ``baseline * (1 + relative_lift)`` (two-sided z-test).

    Fleiss' formula without continuity correction, rounded up.

    Examples
    --------
    >>> sample_size_for_effect(0.10, 0.20)
    3841
    """
    _check_rate(baseline_rate)
    target = baseline_rate * (1 + relative_lift)
    if relative_lift == 0 or not 0 < target < 1:
        raise ValueError(
            f"relative_lift must be non-zero and keep the rate in (0, 1), got {relative_lift!r}"
        )
    return math.ceil(_required_n(baseline_rate, target, alpha, power) - 1e-9)


def minimum_detectable_effect(
    baseline_rate: float, n_per_variant: int, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Smallest absolute rise of the rate detectable with ``n_per_variant`` units per variant.

    The inverse of :func:`sample_size_for_effect` (same formula), in rate points: divide by
    ``baseline_rate`` for the relative lift.

    Examples
    --------
    >>> round(minimum_detectable_effect(0.10, 3841), 4)
    0.02
    """
    _check_rate(baseline_rate)
    if n_per_variant < 1:
        raise ValueError(f"n_per_variant must be at least 1, got {n_per_variant!r}")
    upper = 1 - 1e-12
    if _required_n(baseline_rate, upper, alpha, power) > n_per_variant:
        return upper - baseline_rate
    target = optimize.brentq(
        lambda rate: _required_n(baseline_rate, rate, alpha, power) - n_per_variant,
        baseline_rate + 1e-12,
        upper,
        xtol=1e-12,
    )
    return float(target - baseline_rate)

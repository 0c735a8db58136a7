"""Statistics for rates and means: intervals, tests, sample ratio mismatch and power.

Pure functions on numbers, plus expression versions for columns of aggregated frames
(docs/kpis.md#statistics, docs/kpis.md#experiments). A zero denominator gives ``None``
(scalars) or null (expressions), never 0 and never an error.

Examples
--------
>>> low, high = wilson_interval(5, 10)
>>> round(low, 4), round(high, 4)
(0.2366, 0.7634)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import optimize
from scipy import stats as distributions

__all__ = [
    "SRM_ALPHA",
    "RatioSummary",
    "always_valid_interval",
    "always_valid_p_value",
    "cuped_theta",
    "difference_interval",
    "fisher_doubled",
    "fisher_doubled_expr",
    "holm_adjust",
    "mean_difference_mde",
    "minimum_detectable_effect",
    "odds_ratio",
    "ratio_difference",
    "ratio_summary",
    "relative_lift",
    "sample_size_for_effect",
    "sample_size_for_mean_difference",
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


def fisher_doubled(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """Two-sided p-value of Fisher's exact test of two proportions, by doubling the smaller
    one-sided p-value (capped at 1); ``None`` for a zero denominator.

    The exact test for small counts, where the z-test's normal approximation fails (a rate
    near 0 or 1 over a few dozen trials). It equals twice the smaller of SciPy's
    ``fisher_exact(..., alternative="less")`` and ``"greater"`` p-values.

    Examples
    --------
    >>> round(fisher_doubled(11, 17, 80, 83), 6)
    0.001267
    """
    if n1 == 0 or n2 == 0:
        return None
    total, hits = n1 + n2, x1 + x2
    less = distributions.hypergeom.cdf(x1, total, hits, n1)
    greater = distributions.hypergeom.sf(x1 - 1, total, hits, n1)
    return float(min(1.0, 2 * min(less, greater)))


def fisher_doubled_expr(x1: pl.Expr, n1: pl.Expr, x2: pl.Expr, n2: pl.Expr) -> pl.Expr:
    """Expression version of :func:`fisher_doubled`; null for a zero denominator."""

    def doubled(frame: pl.Series) -> pl.Series:
        hits_1, trials_1, hits_2, trials_2 = (
            frame.struct.field(f).to_numpy().astype(np.int64) for f in ("x1", "n1", "x2", "n2")
        )
        total, hits = trials_1 + trials_2, hits_1 + hits_2
        with np.errstate(all="ignore"):
            less = distributions.hypergeom.cdf(hits_1, total, hits, trials_1)
            greater = distributions.hypergeom.sf(hits_1 - 1, total, hits, trials_1)
        return pl.Series(np.minimum(1.0, 2 * np.minimum(less, greater)), dtype=pl.Float64)

    counts = pl.struct(
        x1.fill_null(0).alias("x1"),
        n1.fill_null(0).alias("n1"),
        x2.fill_null(0).alias("x2"),
        n2.fill_null(0).alias("n2"),
    )
    p_value = counts.map_batches(doubled, return_dtype=pl.Float64)
    empty = (n1 == 0) | (n2 == 0) | n1.is_null() | n2.is_null()
    return pl.when(empty).then(None).otherwise(p_value)


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


def holm_adjust(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (family-wise error); ``None`` entries stay ``None``.

    The adjusted p-value of the i-th smallest of m p-values is the running maximum of
    ``(m - j) * p_(j)`` over ``j <= i``, capped at 1. Reject where the adjusted value is below
    alpha.

    Examples
    --------
    >>> holm_adjust([0.01, 0.04, 0.03, None])
    [0.03, 0.06, 0.06, None]
    """
    present = [(value, index) for index, value in enumerate(p_values) if value is not None]
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (value, index) in enumerate(sorted(present)):
        running = max(running, min(1.0, (len(present) - rank) * value))
        adjusted[index] = running
    return adjusted


def odds_ratio(
    with_converted: int,
    with_not_converted: int,
    without_converted: int,
    without_not_converted: int,
    confidence: float = 0.95,
) -> tuple[float, float, float, float] | tuple[None, None, None, None]:
    """Odds ratio of converting with a property against without it: ``(or, low, high, p)``.

    The 2x2 table is (with, without) x (converted, not converted). Woolf's interval and the
    Wald test on the log odds ratio; when a cell is 0, 0.5 is added to every cell (the
    Haldane-Anscombe correction). ``None`` values when a row or a column of the table is
    empty.

    Examples
    --------
    >>> ratio, low, high, p = odds_ratio(30, 70, 20, 180)
    >>> round(ratio, 3), round(p, 6)
    (3.857, 2.6e-05)
    """
    cells = [with_converted, with_not_converted, without_converted, without_not_converted]
    a, b, c, d = (float(cell) for cell in cells)
    if a + b == 0 or c + d == 0 or a + c == 0 or b + d == 0:
        return None, None, None, None
    if min(cells) == 0:
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    log_ratio = math.log(a * d / (b * c))
    error = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    z = _z(confidence)
    p_value = float(2 * distributions.norm.sf(abs(log_ratio) / error))
    return (
        math.exp(log_ratio),
        math.exp(log_ratio - z * error),
        math.exp(log_ratio + z * error),
        p_value,
    )


@dataclass(frozen=True)
class RatioSummary:
    """A ratio of per-unit sums, ``sum(numerator) / sum(denominator)``, with its delta variance.

    ``variance`` is the delta-method variance of the ratio of means,
    ``(var_n - 2 R cov_nd + R^2 var_d) / (n mean_d^2)`` with sample (ddof 1) moments: the
    variance of a metric such as revenue / orders when the randomised unit is the user.
    """

    units: int
    numerator: float
    denominator: float
    ratio: float | None
    variance: float | None


def ratio_summary(
    numerators: Sequence[float] | np.ndarray, denominators: Sequence[float] | np.ndarray
) -> RatioSummary:
    """The ratio of sums over units and its delta-method variance (see :class:`RatioSummary`).

    Examples
    --------
    >>> summary = ratio_summary([10.0, 0.0, 30.0], [1.0, 0.0, 2.0])
    >>> round(summary.ratio, 4), round(summary.variance, 4)
    (13.3333, 3.7037)
    """
    num = np.asarray(numerators, dtype=float)
    den = np.asarray(denominators, dtype=float)
    if num.shape != den.shape:
        raise ValueError(f"got {num.size} numerators but {den.size} denominators")
    units = int(num.size)
    total_num, total_den = float(num.sum()), float(den.sum())
    if units < 2 or total_den == 0:
        ratio = total_num / total_den if total_den else None
        return RatioSummary(units, total_num, total_den, ratio, None)
    ratio = total_num / total_den
    mean_den = total_den / units
    covariance = np.cov(num, den, ddof=1)
    spread = covariance[0, 0] - 2 * ratio * covariance[0, 1] + ratio * ratio * covariance[1, 1]
    variance = max(0.0, float(spread)) / (units * mean_den * mean_den)
    return RatioSummary(units, total_num, total_den, ratio, variance)


def ratio_difference(
    control: RatioSummary, variant: RatioSummary, confidence: float = 0.95
) -> tuple[float, float, float, float] | tuple[None, None, None, None]:
    """``variant.ratio - control.ratio`` with its normal interval and two-sided p-value.

    The two groups are independent, so the variance of the difference is the sum of their
    delta-method variances: ``(difference, low, high, p_value)``; ``None`` values when either
    ratio or variance is missing, or both variances are 0.

    Examples
    --------
    >>> a = ratio_summary([10.0, 20.0, 30.0, 0.0], [1.0, 1.0, 2.0, 0.0])
    >>> b = ratio_summary([20.0, 25.0, 30.0, 10.0], [1.0, 1.0, 1.0, 1.0])
    >>> round(ratio_difference(a, b)[0], 4)
    6.25
    """
    if None in (control.ratio, variant.ratio, control.variance, variant.variance):
        return None, None, None, None
    error_squared = control.variance + variant.variance
    if error_squared == 0:
        return None, None, None, None
    difference = variant.ratio - control.ratio
    error = math.sqrt(error_squared)
    z = _z(confidence)
    p_value = float(2 * distributions.norm.sf(abs(difference) / error))
    return difference, difference - z * error, difference + z * error, p_value


def cuped_theta(
    values: Sequence[float] | np.ndarray, covariates: Sequence[float] | np.ndarray
) -> float:
    """CUPED's coefficient ``cov(y, x) / var(x)`` (Deng et al. 2013); 0 when x is constant.

    ``y - theta * (x - mean(x))`` keeps the mean of ``y`` and has the smallest variance of any
    such adjustment: it is the slope of the least-squares line of ``y`` on ``x``.

    Examples
    --------
    >>> cuped_theta([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    0.6428571428571429
    """
    y = np.asarray(values, dtype=float)
    x = np.asarray(covariates, dtype=float)
    if y.size < 2:
        return 0.0
    spread = float(x.var(ddof=1))
    if spread == 0:
        return 0.0
    return float(np.cov(y, x, ddof=1)[0, 1] / spread)


def mean_difference_mde(
    sd1: float, n1: int, sd2: float, n2: int, alpha: float = 0.05, power: float = 0.8
) -> float | None:
    """Smallest difference of means detectable by a two-sided test (normal approximation).

    ``(z_{1-alpha/2} + z_power) * sqrt(sd1^2 / n1 + sd2^2 / n2)``; ``None`` for an empty group.

    Examples
    --------
    >>> round(mean_difference_mde(1.0, 100, 1.0, 100), 4)
    0.3962
    """
    if n1 < 1 or n2 < 1:
        return None
    z_total = float(distributions.norm.ppf(1 - alpha / 2) + distributions.norm.ppf(power))
    return z_total * math.sqrt(sd1 * sd1 / n1 + sd2 * sd2 / n2)


def sample_size_for_mean_difference(
    sd: float, difference: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Units per variant to detect ``difference`` between two means of standard deviation ``sd``.

    ``2 * ((z_{1-alpha/2} + z_power) * sd / difference)^2``, rounded up (normal approximation).

    Examples
    --------
    >>> sample_size_for_mean_difference(1.0, 0.2)
    393
    """
    if difference == 0 or sd <= 0:
        raise ValueError(
            f"difference must be non-zero and sd positive, got {difference!r} and {sd!r}"
        )
    z_total = float(distributions.norm.ppf(1 - alpha / 2) + distributions.norm.ppf(power))
    return math.ceil(2 * (z_total * sd / difference) ** 2 - 1e-9)


def always_valid_interval(
    difference: float, variance: float, mixing_variance: float, alpha: float = 0.05
) -> tuple[float, float]:
    """An always-valid (anytime) ``1 - alpha`` interval of a difference, for daily peeking.

    The normal-mixture sequential probability ratio test (mSPRT) of Johari, Koomen, Pekelis
    and Walsh, "Peeking at A/B tests" (KDD 2017), with the normal-mixture boundary of Howard,
    Ramdas, McAuliffe and Sekhon, "Time-uniform, nonparametric, nonasymptotic confidence
    sequences" (Annals of Statistics 2021): with ``V`` the variance of the estimate and
    ``tau^2`` the mixing variance of the effect, the interval is ``difference +- sqrt(V (V +
    tau^2) / tau^2 * (log((V + tau^2) / V) + 2 log(1 / alpha)))``. Looking at it after every
    day keeps the chance that it ever excludes the true difference below ``alpha``; it is
    wider than the fixed-horizon interval.

    Examples
    --------
    >>> low, high = always_valid_interval(0.02, 0.0001, 0.0004)
    >>> round(low, 4), round(high, 4)
    (-0.0108, 0.0508)
    """
    if variance <= 0 or mixing_variance <= 0:
        raise ValueError(
            f"variance and mixing_variance must be positive, got {variance!r}, {mixing_variance!r}"
        )
    total = variance + mixing_variance
    half = math.sqrt(
        variance * total / mixing_variance * (math.log(total / variance) + 2 * math.log(1 / alpha))
    )
    return difference - half, difference + half


def always_valid_p_value(difference: float, variance: float, mixing_variance: float) -> float:
    """The mSPRT's always-valid p-value ``min(1, 1 / Lambda)`` (see :func:`always_valid_interval`).

    ``Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 difference^2 / (2 V (V + tau^2)))`` is the
    mixture likelihood ratio of "a difference" against "none". The p-value is below ``alpha``
    exactly when the interval at ``alpha`` excludes 0.

    Examples
    --------
    >>> round(always_valid_p_value(0.02, 0.0001, 0.0004), 4)
    0.4515
    """
    if variance <= 0 or mixing_variance <= 0:
        raise ValueError(
            f"variance and mixing_variance must be positive, got {variance!r}, {mixing_variance!r}"
        )
    total = variance + mixing_variance
    log_ratio = 0.5 * math.log(variance / total) + mixing_variance * difference**2 / (
        2 * variance * total
    )
    return float(min(1.0, math.exp(-log_ratio)))

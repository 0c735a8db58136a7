"""Statistics against published values, worked examples and scipy's own tests."""

from __future__ import annotations

import polars as pl
import pytest
from scipy import stats as scipy_stats

from journeylib.stats import (
    SRM_ALPHA,
    difference_interval,
    fisher_doubled,
    fisher_doubled_expr,
    minimum_detectable_effect,
    relative_lift,
    sample_size_for_effect,
    srm_test,
    two_proportion_ztest,
    two_proportion_ztest_expr,
    welch_interval,
    welch_ttest,
    welch_ttest_from_samples,
    wilson_exprs,
    wilson_interval,
)

# Wilson 95% intervals as published (Newcombe 1998, table I; Brown, Cai & DasGupta 2001)
WILSON_CASES = [
    (0, 10, 0.0, 0.2775),
    (10, 10, 0.7225, 1.0),
    (5, 10, 0.2366, 0.7634),
    (81, 263, 0.2553, 0.3662),
]


@pytest.mark.parametrize(("successes", "trials", "low", "high"), WILSON_CASES)
def test_wilson_interval_matches_published_values(successes, trials, low, high):
    assert wilson_interval(successes, trials) == pytest.approx((low, high), abs=5e-5)


@pytest.mark.parametrize(("successes", "trials", "low", "high"), WILSON_CASES)
def test_wilson_exprs_match_the_scalar_version(successes, trials, low, high):
    frame = pl.DataFrame({"x": [successes], "n": [trials]})
    low_expr, high_expr = wilson_exprs(pl.col("x"), pl.col("n"))
    row = frame.select(low_expr.alias("low"), high_expr.alias("high")).row(0)
    assert row == pytest.approx((low, high), abs=5e-5)


def test_wilson_zero_trials_is_none_and_null():
    assert wilson_interval(0, 0) == (None, None)
    low, high = wilson_exprs(pl.col("x"), pl.col("n"))
    frame = pl.DataFrame({"x": [0], "n": [0]})
    assert frame.select(low.alias("low"), high.alias("high")).row(0) == (None, None)


def test_wilson_wider_at_higher_confidence():
    low95, high95 = wilson_interval(5, 10, 0.95)
    low99, high99 = wilson_interval(5, 10, 0.99)
    assert low99 < low95
    assert high99 > high95


def test_ztest_worked_example():
    # pooled p = 105/200 = 0.525; se = sqrt(0.525 * 0.475 * (1/100 + 1/100)) = 0.070622
    # z = (0.45 - 0.60) / 0.070622 = -2.1240; two-sided p = 2 * (1 - Phi(2.1240)) = 0.03367
    assert two_proportion_ztest(45, 100, 60, 100) == pytest.approx(0.03367, abs=5e-5)


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), [(1, 0, 2, 10), (1, 10, 0, 0)])
def test_ztest_zero_denominator_is_none(x1, n1, x2, n2):
    assert two_proportion_ztest(x1, n1, x2, n2) is None


def test_ztest_expr_matches_scalar_and_nulls_zero_denominators():
    frame = pl.DataFrame(
        {"x1": [45, 3, 0], "n1": [100, 0, 10], "x2": [60, 1, 0], "n2": [100, 5, 10]}
    )
    expr = two_proportion_ztest_expr(pl.col("x1"), pl.col("n1"), pl.col("x2"), pl.col("n2"))
    values = frame.select(expr.alias("p"))["p"].to_list()
    assert values[0] == pytest.approx(0.03367, abs=5e-5)
    assert values[1] is None
    assert values[2] == 1.0  # both rates 0: no evidence of a difference


def test_difference_interval_unpooled():
    # se = sqrt(0.45 * 0.55 / 100 + 0.6 * 0.4 / 100) = 0.069821; 0.15 -/+ 1.959964 * se
    low, high = difference_interval(45, 100, 60, 100)
    assert (low, high) == pytest.approx((0.01315, 0.28685), abs=5e-5)
    assert difference_interval(1, 0, 1, 10) == (None, None)


@pytest.mark.parametrize(
    ("control", "variant", "expected"), [(0.1, 0.12, 0.2), (0.2, 0.1, -0.5), (0.0, 0.1, None)]
)
def test_relative_lift(control, variant, expected):
    assert relative_lift(control, variant) == pytest.approx(expected)


def test_welch_ttest_matches_scipy_on_raw_samples():
    first = [19.8, 20.4, 19.6, 17.8, 18.5, 18.9, 18.3, 18.9, 19.5, 22.0]
    second = [28.2, 26.6, 20.1, 23.3, 25.2, 22.1, 17.7, 27.6, 20.6, 13.7, 23.2, 17.5, 20.6, 18.0]
    t, df, p = welch_ttest_from_samples(first, second)
    expected = scipy_stats.ttest_ind(second, first, equal_var=False)
    assert t == pytest.approx(expected.statistic)
    assert df == pytest.approx(expected.df)
    assert p == pytest.approx(expected.pvalue)


def test_welch_from_summary_statistics_hand_computed():
    # se^2 = 4/30 + 9/40 = 0.358333; t = 2 / 0.598609 = 3.3411
    # df = 0.358333^2 / ((4/30)^2/29 + (9/40)^2/39) = 67.2
    t, df, _ = welch_ttest(10.0, 4.0, 30, 12.0, 9.0, 40)
    assert t == pytest.approx(3.3411, abs=1e-4)
    assert df == pytest.approx(67.2, abs=0.05)


def test_welch_interval_contains_the_difference_and_matches_t_quantile():
    low, high = welch_interval(10.0, 4.0, 30, 12.0, 9.0, 40)
    assert (low + high) / 2 == pytest.approx(2.0)
    _, df, _ = welch_ttest(10.0, 4.0, 30, 12.0, 9.0, 40)
    half = scipy_stats.t.ppf(0.975, df) * (4 / 30 + 9 / 40) ** 0.5
    assert high - low == pytest.approx(2 * half)


def test_welch_too_few_observations_is_none():
    assert welch_ttest(1.0, 0.0, 1, 2.0, 1.0, 5) == (None, None, None)
    assert welch_interval(1.0, 0.0, 1, 2.0, 1.0, 5) == (None, None)


def test_srm_equal_split_hand_computed():
    # expected 5100 each: chi2 = 2 * 100^2 / 5100 = 3.9216, 1 df -> p = 0.04767
    assert srm_test([5000, 5200]) == pytest.approx(0.04767, abs=5e-5)


def test_srm_flags_a_broken_split_with_unequal_shares():
    # expected 2000 / 8000: chi2 = 300^2/2000 + 300^2/8000 = 56.25 -> p far below 0.001
    assert srm_test([2300, 7700], [0.2, 0.8]) < SRM_ALPHA
    assert srm_test([2000, 8000], [0.2, 0.8]) == pytest.approx(1.0)


def test_srm_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="expected shares"):
        srm_test([10, 10, 10], [0.5, 0.5])


def test_sample_size_hand_computed():
    # Fleiss: p1 0.10, p2 0.12, z 1.959964 and 0.841621:
    # ((1.959964 * sqrt(2 * 0.11 * 0.89) + 0.841621 * sqrt(0.09 + 0.1056)) / 0.02)^2 = 3840.8
    assert sample_size_for_effect(0.10, 0.20) == 3841


def test_minimum_detectable_effect_inverts_the_sample_size():
    assert minimum_detectable_effect(0.10, 3841) == pytest.approx(0.02, abs=1e-5)


def test_minimum_detectable_effect_shrinks_with_more_units():
    assert minimum_detectable_effect(0.1, 10_000) < minimum_detectable_effect(0.1, 1_000)


# --- the statistics of the optimisation engine, against scipy and statsmodels -----------------

import math  # noqa: E402

import numpy as np  # noqa: E402
from scipy import integrate, optimize  # noqa: E402
from statsmodels.regression.linear_model import OLS  # noqa: E402
from statsmodels.stats.contingency_tables import Table2x2  # noqa: E402
from statsmodels.stats.multitest import multipletests  # noqa: E402
from statsmodels.stats.power import NormalIndPower  # noqa: E402
from statsmodels.stats.proportion import (  # noqa: E402
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW  # noqa: E402

from journeylib.stats import (  # noqa: E402
    always_valid_interval,
    always_valid_p_value,
    cuped_theta,
    holm_adjust,
    mean_difference_mde,
    odds_ratio,
    ratio_difference,
    ratio_summary,
    sample_size_for_mean_difference,
)

RNG_CASES = np.random.default_rng(20261202)
PROPORTIONS = [
    (int(x1), int(n1), int(x2), int(n2))
    for n1, n2 in RNG_CASES.integers(5, 5000, size=(12, 2))
    for x1, x2 in [(RNG_CASES.integers(1, n1), RNG_CASES.integers(1, n2))]
]


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), PROPORTIONS)
def test_wilson_interval_equals_statsmodels(x1, n1, x2, n2):
    low, high = proportion_confint(x1, n1, alpha=0.05, method="wilson")
    assert wilson_interval(x1, n1) == pytest.approx((low, high), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), PROPORTIONS)
def test_pooled_ztest_equals_statsmodels(x1, n1, x2, n2):
    _, expected = proportions_ztest([x1, x2], [n1, n2])
    assert two_proportion_ztest(x1, n1, x2, n2) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), PROPORTIONS)
def test_unpooled_difference_interval_equals_statsmodels_wald(x1, n1, x2, n2):
    low, high = confint_proportions_2indep(x2, n2, x1, n1, method="wald", compare="diff")
    assert difference_interval(x1, n1, x2, n2) == pytest.approx((low, high), rel=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_welch_test_and_interval_equal_scipy_and_statsmodels(seed):
    rng = np.random.default_rng(seed)
    first = rng.lognormal(3, 1, rng.integers(20, 400))
    second = rng.lognormal(3.1, 1.2, rng.integers(20, 400))
    _, _, p_value = welch_ttest_from_samples(first, second)
    assert p_value == pytest.approx(
        scipy_stats.ttest_ind(second, first, equal_var=False).pvalue, rel=1e-9
    )
    expected = CompareMeans(DescrStatsW(second), DescrStatsW(first)).tconfint_diff(usevar="unequal")
    summary = (first.mean(), first.var(ddof=1), first.size)
    other = (second.mean(), second.var(ddof=1), second.size)
    assert welch_interval(*summary, *other) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_srm_equals_scipy_chisquare(seed):
    rng = np.random.default_rng(seed)
    shares = rng.uniform(0.2, 1.0, 3)
    observed = rng.multinomial(9000, shares / shares.sum())
    expected = shares / shares.sum() * observed.sum()
    assert srm_test(observed, shares) == pytest.approx(
        scipy_stats.chisquare(observed, expected).pvalue, rel=1e-9
    )


@pytest.mark.parametrize("seed", range(5))
def test_holm_equals_statsmodels(seed):
    p_values = np.random.default_rng(seed).uniform(0, 0.2, 15)
    _, expected, _, _ = multipletests(p_values, method="holm")
    assert holm_adjust(list(p_values)) == pytest.approx(list(expected), rel=1e-12)


def test_holm_keeps_missing_p_values_missing():
    assert holm_adjust([None, 0.02, None, 0.01]) == [None, 0.02, None, 0.02]


@pytest.mark.parametrize(
    "cells",
    [(30, 70, 20, 180), (5, 995, 40, 960), (120, 80, 60, 140), (0, 50, 10, 40), (7, 0, 3, 9)],
)
def test_odds_ratio_equals_statsmodels_table2x2(cells):
    a, b, c, d = cells
    cells_used = np.array([[a, b], [c, d]], dtype=float)
    if cells_used.min() == 0:
        cells_used += 0.5  # Haldane: 0.5 added to every cell when one is empty
    table = Table2x2(cells_used)
    ratio, low, high, p_value = odds_ratio(a, b, c, d)
    assert ratio == pytest.approx(table.oddsratio, rel=1e-9)
    assert (low, high) == pytest.approx(table.oddsratio_confint(), rel=1e-9)
    assert p_value == pytest.approx(table.oddsratio_pvalue(), rel=1e-9)


def test_odds_ratio_of_an_empty_row_is_none():
    assert odds_ratio(0, 0, 5, 5) == (None, None, None, None)


def _delta_variance_by_gradient(num: np.ndarray, den: np.ndarray) -> float:
    """The textbook delta method: gradient of mean(n)/mean(d) against the moments' covariance."""
    means = np.array([num.mean(), den.mean()])
    gradient = np.array([1 / means[1], -means[0] / means[1] ** 2])
    covariance = np.cov(np.vstack([num, den]), ddof=1) / num.size
    return float(gradient @ covariance @ gradient)


@pytest.mark.parametrize("seed", range(4))
def test_ratio_delta_variance_equals_the_gradient_form(seed):
    rng = np.random.default_rng(seed)
    orders = rng.poisson(0.7, 3000).astype(float)
    revenue = np.array([rng.lognormal(4, 0.6, int(k)).sum() for k in orders])
    summary = ratio_summary(revenue, orders)
    assert summary.ratio == pytest.approx(revenue.sum() / orders.sum(), rel=1e-12)
    assert summary.variance == pytest.approx(_delta_variance_by_gradient(revenue, orders), rel=1e-9)


def test_ratio_delta_variance_matches_the_spread_of_repeated_experiments():
    rng = np.random.default_rng(11)

    def draw() -> tuple[np.ndarray, np.ndarray]:
        orders = rng.poisson(0.8, 2000).astype(float)
        revenue = np.array([rng.lognormal(4, 0.7, int(k)).sum() for k in orders])
        return revenue, orders

    ratios, variances = [], []
    for _ in range(300):
        revenue, orders = draw()
        summary = ratio_summary(revenue, orders)
        ratios.append(summary.ratio)
        variances.append(summary.variance)
    assert np.mean(variances) == pytest.approx(np.var(ratios, ddof=1), rel=0.2)


def test_ratio_difference_is_a_z_test_on_the_summed_variances():
    a = ratio_summary([10.0, 20.0, 30.0, 0.0, 12.0], [1.0, 1.0, 2.0, 0.0, 1.0])
    b = ratio_summary([20.0, 25.0, 30.0, 10.0, 40.0], [1.0, 1.0, 1.0, 1.0, 2.0])
    difference, low, high, p_value = ratio_difference(a, b)
    error = math.sqrt(a.variance + b.variance)
    assert difference == pytest.approx(b.ratio - a.ratio, rel=1e-12)
    assert (high - low) / 2 == pytest.approx(scipy_stats.norm.ppf(0.975) * error, rel=1e-12)
    assert p_value == pytest.approx(2 * scipy_stats.norm.sf(abs(difference) / error), rel=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_cuped_theta_is_the_least_squares_slope(seed):
    rng = np.random.default_rng(seed)
    pre = rng.gamma(2, 10, 500)
    post = 0.6 * pre + rng.normal(0, 5, 500)
    slope = OLS(post, np.column_stack([np.ones_like(pre), pre])).fit().params[1]
    assert cuped_theta(post, pre) == pytest.approx(slope, rel=1e-9)


@pytest.mark.parametrize(("n", "sd"), [(100, 1.0), (2500, 14.0), (40_000, 0.3)])
def test_mean_mde_and_sample_size_equal_statsmodels_normal_power(n, sd):
    # a two-sided test at alpha is one tail at alpha / 2 plus a far tail that the normal
    # approximation of the MDE leaves out: statsmodels' one-tailed solve is the same formula
    power = NormalIndPower()
    mde = mean_difference_mde(sd, n, sd, n)
    at_mde = power.power(mde / sd, nobs1=n, alpha=0.025, ratio=1.0, alternative="larger")
    assert at_mde == pytest.approx(0.8, rel=1e-9)
    needed = sample_size_for_mean_difference(sd, 0.1 * sd)
    assert power.power(0.1, nobs1=needed, alpha=0.025, alternative="larger") >= 0.8
    assert power.power(0.1, nobs1=needed - 1, alpha=0.025, alternative="larger") < 0.8


def _mixture_ratio(estimate: float, centre: float, variance: float, mixing: float) -> float:
    """The mixture likelihood ratio by numerical integration over the effect."""

    gap = estimate - centre

    def integrand(effect: float) -> float:
        # density of the estimate if the effect were `effect`, over its density at no effect
        log_ratio = (2 * gap * effect - effect * effect) / (2 * variance)
        return math.exp(log_ratio) * scipy_stats.norm.pdf(effect, 0, math.sqrt(mixing))

    spread = 12 * math.sqrt(mixing + variance) + abs(gap)
    value, _ = integrate.quad(
        integrand, -spread, spread, points=[gap], epsabs=0, epsrel=1e-12, limit=400
    )
    return value


@pytest.mark.parametrize(
    ("estimate", "variance", "mixing"),
    [(0.02, 1e-4, 4e-4), (-0.5, 0.04, 0.01), (3.0, 1.0, 9.0)],
)
def test_always_valid_interval_and_p_value_equal_the_integrated_mixture(estimate, variance, mixing):
    ratio = _mixture_ratio(estimate, 0.0, variance, mixing)
    assert always_valid_p_value(estimate, variance, mixing) == pytest.approx(
        min(1.0, 1 / ratio), rel=1e-7
    )
    low, high = always_valid_interval(estimate, variance, mixing, alpha=0.05)
    # each end is where the mixture ratio against that value crosses 1 / alpha
    half = (high - low) / 2
    for end, bracket in ((low, (low - half, estimate)), (high, (estimate, high + half))):
        found = optimize.brentq(
            lambda centre: _mixture_ratio(estimate, centre, variance, mixing) - 20,
            *bracket,
            xtol=1e-12,
        )
        assert end == pytest.approx(found, rel=1e-7)


FISHER_CASES = [(11, 17, 80, 83), (3, 10, 5, 9), (0, 12, 7, 40), (20, 20, 90, 100), (5, 5, 0, 4)]


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), FISHER_CASES)
def test_fisher_doubled_is_twice_scipys_smaller_one_sided_p_value(x1, n1, x2, n2):
    table = [[x1, n1 - x1], [x2, n2 - x2]]
    one_sided = [
        scipy_stats.fisher_exact(table, alternative=side).pvalue for side in ("less", "greater")
    ]
    expected = min(1.0, 2 * min(one_sided))
    assert fisher_doubled(x1, n1, x2, n2) == pytest.approx(expected, rel=1e-9)
    frame = pl.DataFrame({"x1": [x1], "n1": [n1], "x2": [x2], "n2": [n2]})
    columns = (pl.col("x1"), pl.col("n1"), pl.col("x2"), pl.col("n2"))
    assert frame.select(fisher_doubled_expr(*columns)).item() == pytest.approx(expected, rel=1e-9)


def test_fisher_doubled_has_no_value_for_an_empty_group():
    assert fisher_doubled(0, 0, 3, 10) is None


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2"), [*FISHER_CASES, (45, 100, 60, 100), (400, 900, 480, 1000)]
)
def test_rate_p_values_use_the_z_test_on_large_counts_and_fisher_on_small(x1, n1, x2, n2):
    from statsmodels.stats.proportion import proportions_ztest

    from journeylib.optimise._trailing import MIN_EXPECTED, rate_p_value

    pooled = (x1 + x2) / (n1 + n2)
    smaller = min(n1, n2)
    if min(smaller * pooled, smaller * (1 - pooled)) >= MIN_EXPECTED:
        expected = proportions_ztest([x1, x2], [n1, n2])[1]
    else:
        expected = fisher_doubled(x1, n1, x2, n2)
    assert rate_p_value(x1, n1, x2, n2) == pytest.approx(expected, rel=1e-9)

"""Statistics against published values, worked examples and scipy's own tests."""

from __future__ import annotations

import polars as pl
import pytest
from scipy import stats as scipy_stats

from journeylib.stats import (
    SRM_ALPHA,
    difference_interval,
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

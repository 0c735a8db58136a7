"""The statistics of one KPI in one experiment: each arm's estimate, and a variant against control.

An arm holds the per-user values of one variant: 0/1 conversions for a rate, values for a mean,
numerator and denominator sums for a ratio. Every estimate comes with the variance of the
estimate, which the comparison, the MDE, CUPED and the sequential interval all use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as distributions

from journeylib.kpis import ExperimentKind
from journeylib.stats import (
    difference_interval,
    minimum_detectable_effect,
    ratio_difference,
    ratio_summary,
    sample_size_for_effect,
    two_proportion_ztest,
    welch_interval,
    welch_ttest,
    wilson_interval,
)

__all__ = ["Arm", "Comparison", "compare", "make_arm"]


@dataclass(frozen=True)
class Arm:
    """One variant's per-user values and its estimate.

    ``values`` are the per-user values the tests use (rate: 0/1; mean: value; ratio:
    numerators), ``denominators`` the ratio's per-user denominators (else ``None``).
    """

    units: int
    values: np.ndarray
    denominators: np.ndarray | None
    value: float | None
    variance: float | None
    ci_low: float | None
    ci_high: float | None
    numerator: float
    denominator: float


def make_arm(kind: ExperimentKind, numerators: np.ndarray, denominators: np.ndarray) -> Arm:
    """The arm of a variant from its users' numerators and denominators."""
    if kind == "ratio":
        summary = ratio_summary(numerators, denominators)
        low = high = None
        if summary.ratio is not None and summary.variance is not None:
            error = 1.959963984540054 * math.sqrt(summary.variance)
            low, high = summary.ratio - error, summary.ratio + error
        return Arm(
            summary.units,
            numerators,
            denominators,
            summary.ratio,
            summary.variance,
            low,
            high,
            summary.numerator,
            summary.denominator,
        )
    present = denominators > 0
    values = numerators[present] / denominators[present]
    units = int(values.size)
    if kind == "rate":
        hits = float(values.sum())
        rate = hits / units if units else None
        low, high = wilson_interval(round(hits), units)
        variance = rate * (1 - rate) / units if units else None
        return Arm(units, values, None, rate, variance, low, high, hits, float(units))
    mean = float(values.mean()) if units else None
    variance = float(values.var(ddof=1)) / units if units >= 2 else None
    low = high = None
    if variance is not None:
        quantile = float(distributions.t.ppf(0.975, units - 1))
        low, high = mean - quantile * math.sqrt(variance), mean + quantile * math.sqrt(variance)
    return Arm(units, values, None, mean, variance, low, high, float(values.sum()), float(units))


@dataclass(frozen=True)
class Comparison:
    """A variant against control: the lift, its interval and p-value, power figures."""

    lift: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    variance: float | None
    mde: float | None
    sample_size: int | None


def _z_total(alpha: float, power: float) -> float:
    return float(distributions.norm.ppf(1 - alpha / 2) + distributions.norm.ppf(power))


def compare(
    kind: ExperimentKind,
    control: Arm,
    variant: Arm,
    *,
    target_lift: float | None,
    alpha: float = 0.05,
    power: float = 0.8,
) -> Comparison:
    """``variant - control`` by the KPI kind's test (rate: unpooled interval and pooled z-test;
    mean: Welch; ratio: delta method), with the MDE at this size and the users per variant
    needed to detect ``target_lift`` (relative; ``None``: the observed relative lift)."""
    if control.value is None or variant.value is None:
        return Comparison(None, None, None, None, None, None, None)
    lift = variant.value - control.value
    relative = target_lift
    if relative is None and control.value:
        relative = lift / control.value
    needed: int | None = None
    if kind == "rate":
        hits_c, hits_v = round(control.numerator), round(variant.numerator)
        low, high = difference_interval(hits_c, control.units, hits_v, variant.units)
        p_value = two_proportion_ztest(hits_c, control.units, hits_v, variant.units)
        variance = (control.variance or 0.0) + (variant.variance or 0.0)
        mde = None
        if 0 < control.value < 1:
            harmonic = 2 / (1 / control.units + 1 / variant.units)
            mde = minimum_detectable_effect(control.value, max(1, int(harmonic)), alpha, power)
            target = control.value * (1 + relative) if relative else None
            if target is not None and 0 < target < 1:
                needed = sample_size_for_effect(control.value, relative, alpha, power)
        return Comparison(lift, low, high, p_value, variance, mde, needed)
    if kind == "mean":
        c, v = control.values, variant.values
        p_value = low = high = None
        if c.size >= 2 and v.size >= 2:
            moments = (
                float(c.mean()),
                float(c.var(ddof=1)),
                c.size,
                float(v.mean()),
                float(v.var(ddof=1)),
                v.size,
            )
            _, _, p_value = welch_ttest(*moments)
            low, high = welch_interval(*moments)
    else:
        _, low, high, p_value = ratio_difference(
            ratio_summary(control.values, control.denominators),
            ratio_summary(variant.values, variant.denominators),
        )
    if control.variance is None or variant.variance is None:
        return Comparison(lift, low, high, p_value, None, None, None)
    variance = control.variance + variant.variance
    z_total = _z_total(alpha, power)
    mde = z_total * math.sqrt(variance)
    if relative and control.value:
        per_user = (control.variance * control.units + variant.variance * variant.units) / 2
        needed = math.ceil(2 * per_user * (z_total / (relative * control.value)) ** 2)
    return Comparison(lift, low, high, p_value, variance, mde, needed)

"""Experiment readouts: per-variant KPIs, lifts, SRM, power, CUPED, sequential intervals, verdicts.

docs/kpis.md#experiments, extended as the A/B readouts of GrowthBook and Eppo do:

- users are assigned to the variant of their first event with one in the period; users seen
  with two or more variants are counted, excluded from everything and reported;
- a ``rate`` KPI (a share of users): Wilson interval per variant, the unpooled 95% interval of
  the difference and the pooled two-proportion z-test; a ``mean`` KPI (a value per user):
  Welch's t-test and interval; a ``ratio`` KPI whose unit is not the user (revenue / orders):
  the delta method on per-user sums, never a test on order-level values. Which kind a KPI is
  comes from the registry (``KPI.experiment``);
- sample ratio mismatch: chi-square of the assigned users against the expected split, flagged
  at p < 0.001;
- power: the minimum detectable effect at the observed size (alpha 0.05, power 0.8) and the
  users per variant needed for a given relative lift;
- Holm's correction over every comparison read (KPIs x variants);
- optional CUPED (Deng, Xu, Kohavi and Walker, WSDM 2013) with each user's value of the same
  KPI in a pre-period (default: as long as the experiment, just before it) as covariate
  (for a ratio KPI, on the linearised ratio, as Deng et al. extend it); the variance
  reduction is reported;
- optional always-valid intervals for readouts looked at every day: the normal-mixture
  sequential test (mSPRT; Johari et al. 2017, Howard et al. 2021), see
  :func:`journeylib.stats.always_valid_interval`;
- the projection "optimised KPI = current value + lift" with its interval, and a verdict that
  refuses to call a winner when the SRM check fails, when the lift's interval includes zero (or
  the adjusted p-value is not below alpha), or when the observed lift is below the minimum
  detectable effect (the test is underpowered for it), and says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from journeylib.config import JourneyConfig
from journeylib.errors import DataError
from journeylib.kpis import REGISTRY, get_kpi
from journeylib.optimise._arms import Arm, compare, make_arm
from journeylib.optimise._experiment_values import USER, assign_variants, per_user_values
from journeylib.optimise._verdict import SrmCheck, verdict
from journeylib.stats import (
    SRM_ALPHA,
    always_valid_interval,
    always_valid_p_value,
    cuped_theta,
    holm_adjust,
    relative_lift,
    srm_test,
)

__all__ = [
    "COMPARISON_COLUMNS",
    "VARIANT_COLUMNS",
    "ExperimentReadout",
    "ExperimentResult",
    "SrmCheck",
    "read_experiment",
]

#: The columns of a variant that the JSON and the readout show, in order.
VARIANT_COLUMNS = ("variant", "users", "value", "ci_low", "ci_high")
#: The columns of a comparison with the control that the JSON and the readout show, in order.
COMPARISON_COLUMNS = (
    "variant",
    "lift",
    "lift_ci_low",
    "lift_ci_high",
    "relative_lift",
    "p_value",
    "p_value_adjusted",
)

#: The default mixing standard deviation of the sequential test, relative to the control's
#: value: the effect size the always-valid interval is tuned for (a 10% relative lift).
MIXING_RELATIVE_EFFECT = 0.10


@dataclass(frozen=True)
class ExperimentReadout:
    """The readout of one KPI.

    Attributes
    ----------
    variants
        One row per variant, control first: ``variant``, ``users`` (users the KPI counts:
        its denominator population, or every active user for a ratio), ``value``,
        ``ci_low``, ``ci_high`` (Wilson for rates, t for means, delta method for ratios),
        ``numerator``, ``denominator``.
    comparisons
        One row per variant other than control: ``variant``, ``lift`` (variant - control),
        ``lift_ci_low``, ``lift_ci_high``, ``relative_lift``, ``p_value``,
        ``p_value_adjusted`` (Holm over every comparison of the readout), ``mde``
        (absolute), ``sample_size`` (users per variant for ``target_lift``),
        ``projected``, ``projected_ci_low``, ``projected_ci_high`` (current + lift),
        ``winner`` (the better variant, or null), ``verdict``. With ``sequential`` the
        interval and p-value are the always-valid ones; the fixed-horizon ones stay in
        ``fixed_ci_low``, ``fixed_ci_high``, ``fixed_p_value``.
    """

    kpi: str
    kind: str
    unit: str
    direction: str
    control: str
    variants: pl.DataFrame
    comparisons: pl.DataFrame
    mde: float | None
    verdict: str
    cuped_variance_reduction: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ExperimentResult:
    """An experiment read on one variant column: its assignment, SRM and one readout per KPI."""

    variant_column: str
    start: date
    end: date
    control: str
    assigned: dict[str, int]
    excluded_users: int
    srm: SrmCheck
    readouts: tuple[ExperimentReadout, ...]
    sequential: bool
    cuped: bool


def _control_of(variants: Sequence[str], control: str | None) -> str:
    if control is not None:
        if control not in variants:
            raise DataError(
                f"control {control!r} is not a variant; the variants seen are: "
                f"{', '.join(variants) or '(none)'}"
            )
        return control
    return "control" if "control" in variants else variants[0]


def _srm(assigned: dict[str, int], order: Sequence[str], split: Sequence[float] | None) -> SrmCheck:
    if split is not None and len(split) != len(order):
        raise DataError(
            f"the expected split has {len(split)} shares but there are {len(order)} variants "
            f"({', '.join(order)}: control first)"
        )
    if split is not None and any(share <= 0 for share in split):
        raise DataError(f"the expected split must be positive shares, got {list(split)}")
    shares = list(split) if split is not None else [1.0] * len(order)
    observed = [assigned[v] for v in order]
    p_value = srm_test(observed, shares)
    total = sum(observed)
    expected = {v: total * s / sum(shares) for v, s in zip(order, shares, strict=True)}
    return SrmCheck(p_value, p_value < SRM_ALPHA, dict(zip(order, observed, strict=True)), expected)


def _arrays(values: pl.DataFrame, assigned: pl.DataFrame, variant: str) -> tuple[np.ndarray, ...]:
    rows = values.join(assigned.filter(pl.col("variant") == variant), on=USER)
    return rows["numerator"].to_numpy(), rows["denominator"].to_numpy(), rows[USER].to_numpy()


def _cuped_arms(
    kind: str,
    arms: dict[str, Arm],
    users: dict[str, np.ndarray],
    pre: pl.DataFrame,
) -> tuple[dict[str, Arm], float | None]:
    """Arms of CUPED-adjusted per-user values (``mean`` kind) and the variance reduction."""
    covariate = pre.select(
        USER,
        pl.when(pl.col("denominator") > 0)
        .then(pl.col("numerator") / pl.col("denominator"))
        .otherwise(0.0)
        .alias("x"),
    )
    ys, xs = {}, {}
    for name, arm in arms.items():
        keys = users[name]
        frame = pl.DataFrame({USER: keys, "y": arm.values}, schema_overrides={USER: pl.UInt64})
        joined = frame.join(covariate, on=USER, how="left").with_columns(pl.col("x").fill_null(0.0))
        ys[name], xs[name] = joined["y"].to_numpy(), joined["x"].to_numpy()
    all_y, all_x = np.concatenate(list(ys.values())), np.concatenate(list(xs.values()))
    theta = cuped_theta(all_y, all_x)
    centre = float(all_x.mean()) if all_x.size else 0.0
    adjusted = {}
    for name in arms:
        values = ys[name] - theta * (xs[name] - centre)
        adjusted[name] = make_arm("mean", values, np.ones(values.size))
    raw = float(all_y.var(ddof=1)) if all_y.size > 1 else 0.0
    after = np.concatenate([adjusted[n].values for n in arms])
    reduction = 1 - float(after.var(ddof=1)) / raw if raw > 0 else None
    return adjusted, reduction


def _cuped_ratio_arms(
    arms: dict[str, Arm], users: dict[str, np.ndarray], pre: pl.DataFrame
) -> tuple[dict[str, Arm], float | None]:
    """CUPED for a ratio KPI, on the ratio's linearisation (the delta method's influence).

    Each user's value ``(n - R d) / mean(d)`` (R and mean(d) of their variant) has the
    variance of the delta method; the covariate is the same linearisation of the user's
    pre-period sums (pooled pre-period ratio), and the adjusted per-user values
    ``R + L - theta (M - mean(M))`` have the variant's ratio, adjusted, as their mean.
    """
    joined = {}
    for name, arm in arms.items():
        frame = pl.DataFrame(
            {USER: users[name], "n": arm.values, "d": arm.denominators},
            schema_overrides={USER: pl.UInt64},
        )
        joined[name] = frame.join(pre, on=USER, how="left").with_columns(
            pl.col("numerator", "denominator").fill_null(0.0)
        )
    every = pl.concat(list(joined.values()))
    pre_total = float(every["denominator"].sum())
    pre_ratio = float(every["numerator"].sum()) / pre_total if pre_total else 0.0
    pre_mean = pre_total / every.height if every.height else 0.0
    linear, covariate = {}, {}
    for name, frame in joined.items():
        arm = arms[name]
        mean_den = arm.denominator / arm.units if arm.units else 0.0
        if not mean_den or arm.value is None:
            return arms, None
        linear[name] = (frame["n"].to_numpy() - arm.value * frame["d"].to_numpy()) / mean_den
        covariate[name] = (
            (frame["numerator"].to_numpy() - pre_ratio * frame["denominator"].to_numpy()) / pre_mean
            if pre_mean
            else np.zeros(frame.height)
        )
    all_l = np.concatenate(list(linear.values()))
    all_m = np.concatenate(list(covariate.values()))
    theta = cuped_theta(all_l, all_m)
    centre = float(all_m.mean())
    adjusted = {}
    for name, arm in arms.items():
        values = arm.value + linear[name] - theta * (covariate[name] - centre)
        adjusted[name] = make_arm("mean", values, np.ones(values.size))
    raw = float(all_l.var(ddof=1)) if all_l.size > 1 else 0.0
    after = all_l - theta * all_m
    reduction = 1 - float(after.var(ddof=1)) / raw if raw > 0 else None
    return adjusted, reduction


def read_experiment(
    tables: Mapping[str, pl.LazyFrame],
    config: JourneyConfig,
    *,
    variant: str,
    kpis: Sequence[str],
    start: date,
    end: date,
    control: str | None = None,
    expected_split: Sequence[float] | None = None,
    cuped: bool = False,
    pre_start: date | None = None,
    sequential: bool = False,
    mixing_relative_effect: float = MIXING_RELATIVE_EFFECT,
    target_lift: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
) -> ExperimentResult:
    """Read an experiment on the variant column ``variant`` for ``kpis`` over ``[start, end)``.

    Parameters
    ----------
    tables, config
        The journey's validated tables and config (only ``events`` is read).
    variant
        The events column holding each user's variant.
    kpis
        KPI names of the registry with an experiment kind (``conversion_rate``, ``aov``...).
    start, end
        Local dates of the experiment period.
    control
        The control variant (default: ``control`` when present, else the first by name).
    expected_split
        Expected shares of the variants, control first, then the others by name (default:
        equal).
    cuped, pre_start
        Adjust rate and mean KPIs by each user's value in ``[pre_start, start)`` (default:
        a pre-period as long as the experiment).
    sequential, mixing_relative_effect
        Report always-valid intervals and p-values (and decide on them), tuned for a lift of
        ``mixing_relative_effect`` times the control's value.
    target_lift
        The relative lift whose needed sample size is reported (default: the observed one).
    alpha, power
        Of the tests and of the MDE (0.05 and 0.8).

    Returns
    -------
    ExperimentResult

    Examples
    --------
    >>> result = read_experiment(journey.tables, journey.config, variant="checkout_variant",
    ...     kpis=["conversion_rate"], start=date(2026, 7, 3), end=date(2026, 11, 1))
    ... # doctest: +SKIP
    >>> print(result.readouts[0].verdict)  # doctest: +SKIP
    """
    records = []
    for name in dict.fromkeys(kpis):
        try:
            kpi = get_kpi(name)
        except KeyError as error:
            raise DataError(str(error.args[0])) from None
        if kpi.experiment is None:
            readable = sorted(n for n, k in REGISTRY.items() if k.experiment is not None)
            raise DataError(
                f"KPI {name} cannot be read per user in an experiment; these can: "
                f"{', '.join(readable)}"
            )
        records.append(kpi)
    if not records:
        raise DataError("no KPI to read: name at least one, e.g. conversion_rate")
    if end <= start:
        raise DataError(f"empty period: end {end} is not after start {start}")
    seen = assign_variants(
        tables["events"], variant, start=start, end=end, timezone=config.timezone
    )
    excluded = int((seen["variants_seen"] > 1).sum())
    assigned = seen.filter(pl.col("variants_seen") == 1).select(USER, "variant")
    names = sorted(assigned["variant"].unique().to_list())
    if len(names) < 2:
        raise DataError(
            f"the experiment needs at least 2 variants in column {variant!r} between {start} "
            f"and {end}; found: {', '.join(names) or 'none'}"
        )
    control_name = _control_of(names, control)
    order = [control_name, *(n for n in names if n != control_name)]
    counts = dict(assigned.group_by("variant").len().iter_rows())
    srm = _srm({v: int(counts[v]) for v in order}, order, expected_split)
    values = per_user_values(tables, config, records, start=start, end=end)
    pre_values: dict[str, pl.DataFrame] = {}
    if cuped:
        pre_from = pre_start or start - (end - start)
        if pre_from >= start:
            raise DataError(f"the CUPED pre-period must start before {start}, got {pre_from}")
        pre_values = per_user_values(tables, config, records, start=pre_from, end=start)
    drafts = []
    for kpi in records:
        arms, users = {}, {}
        for name in order:
            numerators, denominators, keys = _arrays(values[kpi.name], assigned, name)
            arms[name] = make_arm(kpi.experiment, numerators, denominators)
            users[name] = keys if kpi.experiment == "ratio" else keys[denominators > 0]
        tested_arms, reduction, notes = arms, None, []
        tested_kind = kpi.experiment
        if cuped and kpi.experiment == "ratio":
            tested_arms, reduction = _cuped_ratio_arms(arms, users, pre_values[kpi.name])
            tested_kind = "mean" if reduction is not None else "ratio"
        elif cuped:
            tested_arms, reduction = _cuped_arms(kpi.experiment, arms, users, pre_values[kpi.name])
            tested_kind = "mean"
        drafts.append((kpi, arms, tested_arms, tested_kind, reduction, notes))
    rows: list[dict] = []
    for kpi, arms, tested_arms, tested_kind, _, _ in drafts:
        control_arm = arms[control_name]
        for name in order[1:]:
            result = compare(
                tested_kind,
                tested_arms[control_name],
                tested_arms[name],
                target_lift=target_lift,
                alpha=alpha,
                power=power,
            )
            lift = (
                arms[name].value - control_arm.value
                if None not in (arms[name].value, control_arm.value)
                else None
            )
            row = {
                "kpi": kpi.name,
                "variant": name,
                "value": arms[name].value,
                "control_value": control_arm.value,
                "lift": lift,
                "lift_ci_low": result.ci_low,
                "lift_ci_high": result.ci_high,
                "relative_lift": relative_lift(control_arm.value, arms[name].value),
                "p_value": result.p_value,
                "mde": result.mde,
                "sample_size": result.sample_size,
                "fixed_ci_low": result.ci_low,
                "fixed_ci_high": result.ci_high,
                "fixed_p_value": result.p_value,
            }
            if cuped and tested_kind != kpi.experiment and result.lift is not None:
                # the adjusted lift is the estimate; the raw one stays in value - control_value
                row["lift"] = result.lift
            if sequential and result.variance and lift is not None:
                scale = mixing_relative_effect * abs(control_arm.value or 0.0)
                mixing = scale * scale if scale > 0 else result.variance
                low, high = always_valid_interval(row["lift"], result.variance, mixing, alpha)
                row["lift_ci_low"], row["lift_ci_high"] = low, high
                row["p_value"] = always_valid_p_value(row["lift"], result.variance, mixing)
            rows.append(row)
    adjusted = holm_adjust([r["p_value"] for r in rows])
    currency = config.currency
    readouts = []
    for kpi, arms, _, _, reduction, notes in drafts:
        comparisons = []
        for row, p_adjusted in zip(rows, adjusted, strict=True):
            if row["kpi"] != kpi.name:
                continue
            row["p_value_adjusted"] = p_adjusted
            current = row["control_value"]
            has = row["lift"] is not None and row["lift_ci_low"] is not None
            row["projected"] = current + row["lift"] if has else None
            row["projected_ci_low"] = current + row["lift_ci_low"] if has else None
            row["projected_ci_high"] = current + row["lift_ci_high"] if has else None
            row["winner"], row["verdict"] = verdict(
                row, kpi, control_name, srm, alpha, currency, len(rows), sequential
            )
            comparisons.append(row)
        variants = pl.DataFrame(
            [
                {
                    "variant": name,
                    "users": arm.units,
                    "value": arm.value,
                    "ci_low": arm.ci_low,
                    "ci_high": arm.ci_high,
                    "numerator": arm.numerator,
                    "denominator": arm.denominator,
                }
                for name, arm in arms.items()
            ],
            schema={
                "variant": pl.String,
                "users": pl.Int64,
                "value": pl.Float64,
                "ci_low": pl.Float64,
                "ci_high": pl.Float64,
                "numerator": pl.Float64,
                "denominator": pl.Float64,
            },
        )
        frame = pl.DataFrame(comparisons, schema=_COMPARISON_SCHEMA)
        mdes = [m for m in frame["mde"].to_list() if m is not None]
        readouts.append(
            ExperimentReadout(
                kpi=kpi.name,
                kind=kpi.experiment,
                unit=kpi.unit,
                direction=kpi.direction,
                control=control_name,
                variants=variants,
                comparisons=frame,
                mde=max(mdes) if mdes else None,
                verdict=" ".join(frame["verdict"].to_list()),
                cuped_variance_reduction=reduction,
                notes=tuple(notes),
            )
        )
    return ExperimentResult(
        variant_column=variant,
        start=start,
        end=end,
        control=control_name,
        assigned={v: int(counts[v]) for v in order},
        excluded_users=excluded,
        srm=srm,
        readouts=tuple(readouts),
        sequential=sequential,
        cuped=cuped,
    )


_COMPARISON_SCHEMA = {
    "kpi": pl.String,
    "variant": pl.String,
    "value": pl.Float64,
    "control_value": pl.Float64,
    "lift": pl.Float64,
    "lift_ci_low": pl.Float64,
    "lift_ci_high": pl.Float64,
    "relative_lift": pl.Float64,
    "p_value": pl.Float64,
    "p_value_adjusted": pl.Float64,
    "mde": pl.Float64,
    "sample_size": pl.Int64,
    "projected": pl.Float64,
    "projected_ci_low": pl.Float64,
    "projected_ci_high": pl.Float64,
    "fixed_ci_low": pl.Float64,
    "fixed_ci_high": pl.Float64,
    "fixed_p_value": pl.Float64,
    "winner": pl.String,
    "verdict": pl.String,
}

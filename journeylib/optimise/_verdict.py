"""The verdict of an experiment's comparison in words, and the SRM check it reads."""

from __future__ import annotations

from dataclasses import dataclass

from journeylib._format import format_value
from journeylib.kpis import KPI

__all__ = ["SrmCheck", "verdict"]


@dataclass(frozen=True)
class SrmCheck:
    """Sample ratio mismatch: assigned users against the expected split."""

    p_value: float
    flagged: bool
    observed: dict[str, int]
    expected: dict[str, float]


def _amount(
    value: float, kpi: KPI, *, signed: bool = False, points: bool = False, currency: str
) -> str:
    """A value of the KPI in its unit; differences of rates in points."""
    if kpi.unit == "rate":
        text = f"{100 * value:.1f} points" if signed or points else format_value(value, "rate")
    else:
        text = format_value(abs(value) if signed else value, kpi.unit, currency=currency)
    if signed:
        sign = "+" if value >= 0 else "−"
        return sign + text.lstrip("-")
    return text


def verdict(
    row: dict,
    kpi: KPI,
    control: str,
    srm: SrmCheck,
    alpha: float,
    currency: str,
    tested: int,
    sequential: bool,
) -> tuple[str | None, str]:
    """``(winner, sentence)`` of one comparison.

    No winner when the split is broken (SRM), when the lift's interval includes zero or its
    Holm-adjusted p-value is not below ``alpha``, or when the observed lift is below the
    minimum detectable effect; the sentence names every reason that applies.
    """
    kind_of_interval = "always-valid 95% interval" if sequential else "95% interval"
    variant = row["variant"]
    if row["lift"] is None:
        return None, f"No winner for {variant} on {kpi.name}: no data in one of the variants."
    reasons = []
    if srm.flagged:
        split = " / ".join(f"{n:,}" for n in srm.observed.values())
        reasons.append(
            f"the split is broken (sample ratio mismatch, p = {srm.p_value:.2g}: {split} "
            "users against the expected split), so the result cannot be trusted"
        )
    low, high = row["lift_ci_low"], row["lift_ci_high"]
    interval = (
        f"{_amount(low, kpi, signed=True, currency=currency)} to "
        f"{_amount(high, kpi, signed=True, currency=currency)}"
        if low is not None
        else "unknown"
    )
    if low is None or low <= 0 <= high:
        reasons.append(f"the {kind_of_interval} of the lift ({interval}) includes zero")
    elif row["p_value_adjusted"] is None or row["p_value_adjusted"] >= alpha:
        reasons.append(
            f"after the Holm correction for {tested} comparisons its p-value is "
            f"{row['p_value_adjusted']:.2g}, not below {alpha:g}"
        )
    if row["mde"] is not None and abs(row["lift"]) < row["mde"]:
        needed = (
            f"; about {row['sample_size']:,} users per variant would detect a lift this size"
            if row["sample_size"]
            else ""
        )
        reasons.append(
            f"the test is underpowered for the observed lift "
            f"({_amount(row['lift'], kpi, signed=True, currency=currency)} is below the "
            f"minimum detectable effect of "
            f"{_amount(row['mde'], kpi, points=True, currency=currency)}"
            f"{needed})"
        )
    if reasons:
        return None, f"No winner for {variant} on {kpi.name}: " + "; ".join(reasons) + "."
    better = row["lift"] > 0 if kpi.direction != "lower" else row["lift"] < 0
    winner = variant if better else control
    verb = "beats" if better else "is worse than"
    relative = f", {100 * row['relative_lift']:+.1f}%" if row["relative_lift"] is not None else ""
    return winner, (
        f"{variant} {verb} {control} on {kpi.name}: "
        f"{_amount(row['value'], kpi, currency=currency)} against "
        f"{_amount(row['control_value'], kpi, currency=currency)} "
        f"({_amount(row['lift'], kpi, signed=True, currency=currency)}{relative}; "
        f"{kind_of_interval} "
        f"{interval}; adjusted p = {row['p_value_adjusted']:.2g}). Projected {kpi.name} with "
        f"{variant}: {_amount(row['projected'], kpi, currency=currency)} "
        f"({_amount(row['projected_ci_low'], kpi, currency=currency)} to "
        f"{_amount(row['projected_ci_high'], kpi, currency=currency)})."
    )

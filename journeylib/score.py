"""The journey effectiveness score (docs/kpis.md#journey-score).

Each KPI with a value and a target scores in [0, 100]; a stage scores the weighted mean of its
KPI scores; the journey scores the weighted mean of its stage scores. What could not be scored
is left out, the weights are renormalised over what remains, and the result says what was left
out and why, so a score is never silently built on half the journey.

Negative values and targets (NPS runs from -100 to 100):

- higher is better: the target must be above 0 (a ratio to a target of 0 or below means
  nothing); ``100 × value / target`` is clamped to [0, 100], so a negative value scores 0;
- lower is better: the target must be 0 or above; a value of 0 or below scores 100, otherwise
  ``100 × min(1, target / value)``;
- a KPI whose target breaks these rules is left out with the reason ``"invalid target"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

__all__ = ["JourneyScore", "journey_score", "kpi_score"]

_REQUIRED = ("stage", "kpi", "value", "target", "direction")
_DIRECTIONS = ("higher", "lower")

_KPI_SCHEMA = {
    "stage": pl.String(),
    "kpi": pl.String(),
    "value": pl.Float64(),
    "target": pl.Float64(),
    "direction": pl.String(),
    "weight": pl.Float64(),
    "score": pl.Float64(),
    "left_out_reason": pl.String(),
}
_STAGE_SCHEMA = {
    "stage": pl.String(),
    "score": pl.Float64(),
    "weight": pl.Float64(),
    "kpis_scored": pl.Int64(),
    "kpis_left_out": pl.Int64(),
}


def _missing(number: float | None) -> bool:
    return number is None or math.isnan(number)


def kpi_score(value: float | None, target: float | None, direction: str) -> float | None:
    """The score of one KPI in [0, 100], or ``None`` when it cannot be scored.

    Examples
    --------
    >>> kpi_score(0.03, 0.04, "higher")
    75.0
    >>> kpi_score(0.0, 2.0, "lower")
    100.0
    """
    if direction not in _DIRECTIONS:
        raise ValueError(f"direction must be 'higher' or 'lower', got {direction!r}")
    if _missing(value) or _missing(target):
        return None
    if direction == "higher":
        if target <= 0:
            return None
        return 100.0 * min(1.0, max(0.0, value / target))
    if target < 0:
        return None
    if value <= 0:
        return 100.0
    return 100.0 * min(1.0, target / value)


def _left_out_reason(value: float | None, target: float | None, direction: str) -> str | None:
    if _missing(value):
        return "no data"
    if _missing(target):
        return "no target"
    if kpi_score(value, target, direction) is None:
        return "invalid target"
    return None


def _weighted_mean(scores: list[float], weights: list[float]) -> float | None:
    total = sum(weights)
    if total <= 0:
        return None
    return sum(s * w for s, w in zip(scores, weights, strict=True)) / total


@dataclass(frozen=True)
class JourneyScore:
    """The overall score, the score of each stage and of each KPI, and what was left out."""

    overall: float | None
    stages: pl.DataFrame
    kpis: pl.DataFrame
    left_out: tuple[str, ...]

    def describe(self) -> str:
        """Plain sentences, one a line: the overall score, each stage, and what was left out."""
        if self.overall is None:
            lines = ["No journey score: no KPI has both a value and a target."]
        else:
            lines = [f"The journey scores {self.overall:.0f} out of 100."]
        for row in self.stages.iter_rows(named=True):
            if row["score"] is None:
                continue
            lines.append(
                f"Stage {row['stage']} scores {row['score']:.0f} from {row['kpis_scored']} "
                f"KPI{'s' if row['kpis_scored'] != 1 else ''} (weight {row['weight']:g})."
            )
        lines += [f"Left out: {item}." for item in self.left_out]
        return "\n".join(lines)


def journey_score(
    kpis: pl.DataFrame, *, stage_weights: Mapping[str, float] | None = None
) -> JourneyScore:
    """Score a journey from its KPI values and targets (docs/kpis.md#journey-score).

    Parameters
    ----------
    kpis
        One row per KPI: ``stage``, ``kpi``, ``value`` (nullable), ``target`` (nullable),
        ``direction`` (``"higher"`` or ``"lower"``) and optionally ``weight`` (default 1.0).
    stage_weights
        Weight of each stage in the overall score (default 1.0 for a stage not named).

    Returns
    -------
    JourneyScore
        ``overall`` is ``None`` when no stage could be scored.

    Examples
    --------
    >>> kpis = pl.DataFrame(
    ...     {
    ...         "stage": ["purchase", "purchase"],
    ...         "kpi": ["conversion_rate", "cac"],
    ...         "value": [0.03, 50.0],
    ...         "target": [0.04, 40.0],
    ...         "direction": ["higher", "lower"],
    ...     }
    ... )
    >>> journey_score(kpis).overall
    77.5
    """
    missing = [c for c in _REQUIRED if c not in kpis.columns]
    if missing:
        raise ValueError(
            f"the KPI table lacks column(s) {', '.join(missing)}; "
            f"expected {', '.join(_REQUIRED)} (and optionally weight); "
            f"found {', '.join(kpis.columns) or 'no columns'}"
        )
    bad = kpis.filter(~pl.col("direction").is_in(_DIRECTIONS))
    if bad.height:
        raise ValueError(
            f"the KPI table has direction {bad['direction'][0]!r} for KPI {bad['kpi'][0]!r}; "
            "expected 'higher' or 'lower'"
        )
    if "weight" not in kpis.columns:
        kpis = kpis.with_columns(weight=pl.lit(1.0))
    stage_weights = dict(stage_weights or {})

    kpi_rows = []
    left_out: list[str] = []
    for row in kpis.select(*_REQUIRED, "weight").iter_rows(named=True):
        weight = 1.0 if row["weight"] is None else float(row["weight"])
        reason = _left_out_reason(row["value"], row["target"], row["direction"])
        score = None if reason else kpi_score(row["value"], row["target"], row["direction"])
        kpi_rows.append({**row, "weight": weight, "score": score, "left_out_reason": reason})
        if reason:
            left_out.append(f"{row['kpi']} ({row['stage']}): {reason}")
    kpi_table = pl.DataFrame(kpi_rows, schema=_KPI_SCHEMA)

    stage_rows = []
    for stage in kpi_table["stage"].unique(maintain_order=True).to_list():
        members = kpi_table.filter(pl.col("stage") == stage)
        scored = members.filter(pl.col("score").is_not_null())
        score = _weighted_mean(scored["score"].to_list(), scored["weight"].to_list())
        if score is None:
            reason = "its scored KPIs all weigh 0" if scored.height else "no KPI could be scored"
            left_out.append(f"stage {stage}: {reason}")
        stage_rows.append(
            {
                "stage": stage,
                "score": score,
                "weight": float(stage_weights.get(stage, 1.0)),
                "kpis_scored": scored.height,
                "kpis_left_out": members.height - scored.height,
            }
        )
    stage_table = pl.DataFrame(stage_rows, schema=_STAGE_SCHEMA)
    scored_stages = stage_table.filter(pl.col("score").is_not_null())
    overall = _weighted_mean(scored_stages["score"].to_list(), scored_stages["weight"].to_list())
    return JourneyScore(overall, stage_table, kpi_table, tuple(left_out))

"""Value rules of the canonical tables, on top of the conversion rules.

Negative amounts and counts, tickets needing fewer than one contact, unknown survey kinds,
scores off their scale, tickets resolved before they were opened. Every rule reads the converted
values (so a value that did not convert breaks only its conversion rule).
"""

from __future__ import annotations

import polars as pl

from journeylib.config import JourneyConfig
from journeylib.config.schema import SURVEY_KINDS
from journeylib.validate._convert import Check, ColumnPlan, value_name

__all__ = ["NON_NEGATIVE", "normalise_survey", "value_rules"]

#: Columns whose values cannot be negative.
NON_NEGATIVE = ("revenue", "cost", "impressions", "clicks", "handle_minutes")


def normalise_survey(plan: ColumnPlan) -> ColumnPlan:
    """Survey kinds compare case-insensitively and are stored in lower case."""
    value = plan.value.str.strip_chars().str.to_lowercase()
    return ColumnPlan(
        plan.column, plan.source_column, value, plan.stages, plan.checks,
        plan.naive_count, plan.ambiguous, plan.zone, plan.zone_origin,
    )  # fmt: skip


def _scale(config: JourneyConfig) -> dict[str, tuple[float, float]]:
    scales = {kind: bounds for kind, bounds in SURVEY_KINDS.items() if bounds is not None}
    scales["ces"] = (config.surveys.ces.min, config.surveys.ces.max)
    return scales


def value_rules(plans: dict[str, ColumnPlan], config: JourneyConfig) -> list[Check]:
    """Rules between converted values of the columns present in ``plans``."""
    checks: list[Check] = []

    def value(column: str) -> pl.Expr:
        return pl.col(value_name(column))

    def shown(column: str) -> pl.Expr:
        return pl.col(plans[column].source_column).cast(pl.String)

    for column in NON_NEGATIVE:
        if column in plans:
            flag = value(column) < 0
            source = plans[column].source_column
            checks.append(Check("negative_value", column, source, flag, shown(column)))
    if "contacts" in plans:
        flag = value("contacts") < 1
        source = plans["contacts"].source_column
        checks.append(Check("contacts_below_one", "contacts", source, flag, shown("contacts")))
    if "survey" in plans:
        kind = value("survey")
        unknown = kind.is_not_null() & ~kind.is_in(list(SURVEY_KINDS))
        source = plans["survey"].source_column
        checks.append(Check("unknown_survey", "survey", source, unknown, shown("survey")))
        if "score" in plans:
            low = high = pl.lit(None, dtype=pl.Float64)
            for survey, (minimum, maximum) in _scale(config).items():
                low = pl.when(kind == survey).then(pl.lit(float(minimum))).otherwise(low)
                high = pl.when(kind == survey).then(pl.lit(float(maximum))).otherwise(high)
            score = value("score")
            off = score.is_not_null() & low.is_not_null() & ((score < low) | (score > high))
            label = pl.concat_str([kind, pl.lit(" "), shown("score")])
            source = plans["score"].source_column
            checks.append(Check("score_off_scale", "score", source, off, label))
    if "opened_at" in plans and "resolved_at" in plans:
        early = value("resolved_at") < value("opened_at")
        label = pl.concat_str(
            [pl.lit("opened "), shown("opened_at"), pl.lit(", resolved "), shown("resolved_at")]
        )
        source = plans["resolved_at"].source_column
        checks.append(Check("resolved_before_opened", "resolved_at", source, early, label))
    return checks

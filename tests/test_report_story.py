"""The report's story: the headline's movers and noise, targets, quarantine, KPI labels."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest

from journeylib.kpis._table import improved_expr
from journeylib.report.story import headline_sentences, kpi_label


def kpi_rows(*rows: dict) -> pl.DataFrame:
    """A KPI table of the report period (19 Oct 2026) with the columns the story reads."""
    defaults = {
        "period_start": date(2026, 10, 19),
        "unit": "rate",
        "target": None,
        "status": None,
        "significant": False,
        "p_value": 0.5,
    }
    frame = pl.DataFrame(
        [{**defaults, **row} for row in rows],
        schema={
            "period_start": pl.Date,
            "kpi": pl.String,
            "direction": pl.String,
            "unit": pl.String,
            "value": pl.Float64,
            "previous": pl.Float64,
            "change": pl.Float64,
            "relative_change": pl.Float64,
            "p_value": pl.Float64,
            "significant": pl.Boolean,
            "target": pl.Float64,
            "status": pl.String,
        },
    )
    # the KPI table's own rule for a change that went the good way
    return frame.with_columns(
        improved_expr(pl.col("change"), pl.col("direction")).alias("improved")
    )


def sentences_of(table: pl.DataFrame, **overrides: Any) -> list[str]:
    arguments = {
        "period_start": date(2026, 10, 19),
        "period_text": "week 43",
        "previous_label": "the previous week",
        "overall": 71.2,
        "previous_overall": 68.0,
        "currency": "EUR",
        **overrides,
    }
    return headline_sentences(table, **arguments)


def test_significant_fall_of_higher_is_better_kpi_is_worse():
    table = kpi_rows(
        {
            "kpi": "conversion_rate",
            "direction": "higher",
            "value": 0.15,
            "previous": 0.20,
            "change": -0.05,
            "relative_change": -0.25,
            "p_value": 0.0004,
            "significant": True,
        }
    )
    assert sentences_of(table)[1] == (
        "Conversion rate fell from 20.0% to 15.0% (-25%, p < 0.001): worse than the previous week."
    )


def test_significant_fall_of_lower_is_better_kpi_is_better():
    table = kpi_rows(
        {
            "kpi": "cart_abandonment_rate",
            "direction": "lower",
            "value": 0.60,
            "previous": 0.75,
            "change": -0.15,
            "relative_change": -0.2,
            "p_value": 0.012,
            "significant": True,
        }
    )
    assert sentences_of(table)[1] == (
        "Cart abandonment rate fell from 75.0% to 60.0% (-20%, p = 0.012): "
        "better than the previous week."
    )


def test_without_significant_mover_the_headline_says_noise():
    table = kpi_rows(
        {
            "kpi": "conversion_rate",
            "direction": "higher",
            "value": 0.15,
            "previous": 0.20,
            "change": -0.05,
            "relative_change": -0.25,
            "p_value": 0.2,
            "significant": False,
        }
    )
    assert sentences_of(table) == [
        "Journey score 71/100 for week 43 (68 in the previous week).",
        "No KPI moved by more than noise against the previous week (p < 0.05).",
    ]


def test_a_kpi_without_a_previous_value_is_never_a_mover():
    # a comparison period before the data: whatever the other columns say, nothing moved
    table = kpi_rows(
        {
            "kpi": "retention_rate",
            "direction": "higher",
            "value": 0.0,
            "previous": None,
            "change": -0.426,
            "relative_change": -1.0,
            "p_value": 0.0001,
            "significant": True,
        },
        {
            "kpi": "conversion_rate",
            "direction": "higher",
            "value": 0.15,
            "previous": 0.20,
            "change": -0.05,
            "relative_change": -0.25,
            "p_value": 0.2,
            "significant": False,
        },
    )
    assert sentences_of(table)[1:] == [
        "No KPI moved by more than noise against the previous week (p < 0.05)."
    ]


def test_a_comparison_without_any_data_is_said_instead_of_moves():
    table = kpi_rows(
        {
            "kpi": "conversion_rate",
            "direction": "higher",
            "value": 0.15,
            "previous": None,
            "change": 0.15,
            "relative_change": None,
            "p_value": 0.001,
            "significant": True,
        }
    )
    assert sentences_of(table, previous_overall=None) == [
        "Journey score 71/100 for week 43.",
        "No comparison with the previous week: it has no data.",
    ]


def test_headline_names_largest_relative_move_first_and_at_most_three():
    moves = [("nps", 0.10), ("csat", -0.40), ("activation_rate", 0.30), ("churn_rate", -0.05)]
    table = kpi_rows(
        *(
            {
                "kpi": kpi,
                "direction": "higher",
                "value": 1.0 + relative,
                "previous": 1.0,
                "change": relative,
                "relative_change": relative,
                "p_value": 0.01,
                "significant": True,
                "unit": "score",
            }
            for kpi, relative in moves
        )
    )
    named = [sentence.split(" ")[0] for sentence in sentences_of(table)[1:]]
    assert named == ["CSAT", "Activation", "NPS"]


def test_no_score_and_quarantined_rows_are_said():
    assert sentences_of(kpi_rows(), overall=None, previous_overall=None, quarantined=1234) == [
        "No journey score for week 43: no KPI with a target has data.",
        "No KPI moved by more than noise against the previous week (p < 0.05).",
        "1,234 rows failed validation and were quarantined (see Data quality).",
    ]


def test_target_summary_names_the_kpi_furthest_behind():
    table = kpi_rows(
        {"kpi": "nps", "direction": "higher", "unit": "score", "value": 10.0, "target": 30.0},
        {"kpi": "csat", "direction": "higher", "value": 0.7, "target": 0.8},
        {"kpi": "churn_rate", "direction": "lower", "value": 0.02, "target": 0.05},
    ).with_columns(
        status=pl.when(pl.col("kpi") == "churn_rate")
        .then(pl.lit("met"))
        .otherwise(pl.lit("missed"))
    )
    assert sentences_of(table)[-1] == (
        "1 of 3 KPIs with a target met it; furthest behind: nps at 10.0 against 30.0."
    )


@pytest.mark.parametrize(
    ("kpi", "label"),
    [
        ("conversion_rate", "Conversion rate"),
        ("nps", "NPS"),
        ("cost_per_conversion", "Cost per conversion"),
        ("arpu", "ARPU"),
        ("feature_adoption_rate[export]", "Feature adoption: export"),
        ("avg_session_duration", "Average session duration"),
        ("ltv_90d", "LTV 90d"),
    ],
)
def test_kpi_label(kpi, label):
    assert kpi_label(kpi) == label


# --------------------------------------------------------------------------- SMTP server

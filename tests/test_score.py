"""The journey effectiveness score (docs/kpis.md#journey-score)."""

from __future__ import annotations

import polars as pl
import pytest

from journeylib.score import JourneyScore, journey_score, kpi_score


def kpi_table(rows: list[tuple], *, with_weight: bool = False) -> pl.DataFrame:
    columns = ["stage", "kpi", "value", "target", "direction"] + (["weight"] if with_weight else [])
    schema = {
        "stage": pl.String,
        "kpi": pl.String,
        "value": pl.Float64,
        "target": pl.Float64,
        "direction": pl.String,
        "weight": pl.Float64,
    }
    return pl.DataFrame(rows, schema={c: schema[c] for c in columns}, orient="row")


@pytest.mark.parametrize(
    ("value", "target", "direction", "expected"),
    [
        (0.03, 0.04, "higher", 75.0),
        (0.05, 0.04, "higher", 100.0),
        (0.0, 0.04, "higher", 0.0),
        (50.0, 40.0, "lower", 80.0),
        (30.0, 40.0, "lower", 100.0),
        (0.0, 40.0, "lower", 100.0),
        (5.0, 0.0, "lower", 0.0),
        (0.0, 0.0, "lower", 100.0),
        # NPS: negative values exist; below zero on a higher-is-better KPI scores 0.
        (-20.0, 40.0, "higher", 0.0),
        (20.0, 40.0, "higher", 50.0),
        # a negative value on a lower-is-better KPI is better than 0.
        (-1.0, 2.0, "lower", 100.0),
    ],
)
def test_kpi_score(value: float, target: float, direction: str, expected: float) -> None:
    assert kpi_score(value, target, direction) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "target", "direction"),
    [
        (None, 1.0, "higher"),
        (1.0, None, "lower"),
        (float("nan"), 1.0, "higher"),
        (10.0, 0.0, "higher"),
        (10.0, -5.0, "higher"),
        (10.0, -5.0, "lower"),
    ],
)
def test_kpi_score_cannot_score(value: float | None, target: float | None, direction: str) -> None:
    assert kpi_score(value, target, direction) is None


def test_stage_score_is_weighted_mean_of_kpi_scores() -> None:
    kpis = kpi_table(
        [
            ("purchase", "conversion_rate", 0.03, 0.04, "higher", 3.0),  # 75
            ("purchase", "cac", 50.0, 40.0, "lower", 1.0),  # 80
        ],
        with_weight=True,
    )
    result = journey_score(kpis)
    assert result.stages["score"].to_list() == [pytest.approx((75 * 3 + 80) / 4)]
    assert result.overall == pytest.approx(76.25)


def test_overall_is_mean_of_stages_by_default() -> None:
    kpis = kpi_table(
        [
            ("purchase", "conversion_rate", 0.03, 0.04, "higher"),  # 75
            ("purchase", "cac", 50.0, 40.0, "lower"),  # 80 -> stage 77.5
            ("advocacy", "nps", 10.0, 40.0, "higher"),  # 25 -> stage 25
        ]
    )
    assert journey_score(kpis).overall == pytest.approx((77.5 + 25) / 2)


def test_stage_weights() -> None:
    kpis = kpi_table(
        [
            ("purchase", "conversion_rate", 0.03, 0.04, "higher"),  # 75
            ("advocacy", "nps", 10.0, 40.0, "higher"),  # 25
        ]
    )
    result = journey_score(kpis, stage_weights={"purchase": 3.0})
    assert result.overall == pytest.approx((75 * 3 + 25 * 1) / 4)
    assert result.stages.select("stage", "weight").rows() == [("purchase", 3.0), ("advocacy", 1.0)]


def test_left_out_kpis_renormalise_weights() -> None:
    kpis = kpi_table(
        [
            ("purchase", "conversion_rate", 0.03, 0.04, "higher"),  # 75
            ("purchase", "aov", None, 50.0, "higher"),  # no data
            ("purchase", "cac", 50.0, None, "lower"),  # no target
        ]
    )
    result = journey_score(kpis)
    assert result.overall == pytest.approx(75.0)
    assert result.kpis["left_out_reason"].to_list() == [None, "no data", "no target"]
    assert result.left_out == ("aov (purchase): no data", "cac (purchase): no target")
    assert result.stages.select("kpis_scored", "kpis_left_out").row(0) == (1, 2)


def test_stage_without_scored_kpi_is_left_out_of_overall() -> None:
    kpis = kpi_table(
        [
            ("purchase", "conversion_rate", 0.03, 0.04, "higher"),  # 75
            ("onboarding", "activation_rate", None, 0.5, "higher"),
        ]
    )
    result = journey_score(kpis, stage_weights={"onboarding": 10.0})
    assert result.overall == pytest.approx(75.0)
    assert result.stages.filter(pl.col("stage") == "onboarding")["score"].to_list() == [None]
    assert "stage onboarding: no KPI could be scored" in result.left_out


def test_invalid_target_is_left_out_with_reason() -> None:
    kpis = kpi_table([("advocacy", "nps", 20.0, -10.0, "higher")])
    result = journey_score(kpis)
    assert result.kpis["left_out_reason"].to_list() == ["invalid target"]
    assert result.overall is None


def test_all_left_out_gives_no_overall() -> None:
    kpis = kpi_table(
        [("purchase", "aov", None, 50.0, "higher"), ("usage", "dau", 10.0, None, "higher")]
    )
    result = journey_score(kpis)
    assert result.overall is None
    assert result.describe().splitlines()[0] == (
        "No journey score: no KPI has both a value and a target."
    )


def test_empty_table_gives_no_overall() -> None:
    result = journey_score(kpi_table([]))
    assert result.overall is None
    assert result.stages.height == 0


def test_describe_lists_score_stages_and_left_out() -> None:
    kpis = kpi_table(
        [
            ("purchase", "conversion_rate", 0.03, 0.04, "higher"),
            ("purchase", "aov", None, 50.0, "higher"),
        ]
    )
    assert journey_score(kpis).describe().splitlines() == [
        "The journey scores 75 out of 100.",
        "Stage purchase scores 75 from 1 KPI (weight 1).",
        "Left out: aov (purchase): no data.",
    ]


def test_result_is_frozen() -> None:
    result = journey_score(kpi_table([("usage", "dau", 10.0, 20.0, "higher")]))
    assert isinstance(result, JourneyScore)
    with pytest.raises(AttributeError):
        result.overall = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pl.DataFrame({"stage": ["a"], "kpi": ["dau"]}), "lacks column"),
        (
            pl.DataFrame(
                {
                    "stage": ["a"],
                    "kpi": ["dau"],
                    "value": [1.0],
                    "target": [1.0],
                    "direction": ["up"],
                }
            ),
            "direction 'up'",
        ),
    ],
)
def test_bad_kpi_table_raises(frame: pl.DataFrame, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        journey_score(frame)

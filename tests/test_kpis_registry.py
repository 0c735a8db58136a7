"""The registry record carries what every face shows of a KPI (label, unit in words, direction,
whether it needs sessions), and the KPI table's ``improved`` column is the one decision of
whether a change went the good way."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest

import journeylib.kpis as kpis
from journeylib.config import JourneyConfig, config_from_dict
from journeylib.config.schema import ROLES

PREV, W, W_END = date(2025, 12, 29), date(2026, 1, 5), date(2026, 1, 12)
ROLE_EVENTS = {role: [role] for role in ROLES}


def config_of(**extra: Any) -> JourneyConfig:
    return config_from_dict(
        {"name": "t", "sources": {"events": {"path": "e.csv"}}, "roles": ROLE_EVENTS, **extra}
    )


def ev(user: str, when: str, event: str, revenue: float | None = None) -> dict[str, Any]:
    timestamp = datetime.fromisoformat(when).replace(tzinfo=UTC)
    return {"user_id": user, "timestamp": timestamp, "event": event, "revenue": revenue}


def kpi_table(
    rows: list[dict[str, Any]],
    names: list[str],
    *,
    config: JourneyConfig | None = None,
    with_sessions: bool = True,
    **tables: pl.LazyFrame,
) -> pl.DataFrame:
    """The KPI table of the weeks PREV and W (PREV is the data's first week)."""
    schema = {
        "user_id": pl.String,
        "timestamp": pl.Datetime("us", "UTC"),
        "event": pl.String,
        "revenue": pl.Float64,
    }
    inputs = kpis.build_inputs(
        {"events": pl.LazyFrame(rows, schema=schema), **tables},
        config or config_of(),
        start=PREV,
        end=W_END,
        grain="week",
        with_sessions=with_sessions,
    )
    return kpis.compute_kpi_table(inputs, names)


def row_of(table: pl.DataFrame, kpi: str, period: date = W) -> dict[str, Any]:
    (row,) = table.filter(pl.col("kpi") == kpi, pl.col("period_start") == period).iter_rows(
        named=True
    )
    return row


def surveys_frame(rows: list[tuple[str, str, str, float]]) -> pl.LazyFrame:
    return pl.LazyFrame(
        [(u, datetime.fromisoformat(t).replace(tzinfo=UTC), s, v) for u, t, s, v in rows],
        schema={
            "user_id": pl.String,
            "timestamp": pl.Datetime("us", "UTC"),
            "survey": pl.String,
            "score": pl.Float64,
        },
        orient="row",
    )


def test_every_record_has_a_label_people_read() -> None:
    for name, kpi in kpis.REGISTRY.items():
        assert kpi.label, name
        assert kpi.label != name, name
        assert "_" not in kpi.label, name
        assert kpi.unit_words in {"count", "percent", "currency", "seconds", "score"}, name


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("conversion_rate", "Conversion rate"),
        ("cart_abandonment_rate", "Cart abandonment rate"),
        ("feature_adoption_rate[dashboards]", "Feature adoption: dashboards"),
        ("avg_session_duration", "Average session duration"),
        ("nps", "NPS"),
        ("not_a_kpi", "not_a_kpi"),
    ],
)
def test_kpi_label(name: str, label: str) -> None:
    assert kpis.kpi_label(name) == label


@pytest.mark.parametrize(
    ("name", "options", "title"),
    [
        ("conversion_rate", {}, "Conversion rate (percent)"),
        ("cart_abandonment_rate", {}, "Cart abandonment rate (percent)"),
        ("revenue", {"currency": "USD"}, "Revenue (USD)"),
        ("orders", {}, "Orders (count)"),
        ("time_to_value", {"shown_in": "hours"}, "Time to value (hours)"),
        ("feature_adoption_rate[export]", {}, "Feature adoption: export (percent)"),
    ],
)
def test_kpi_title_writes_the_unit_in_words(name: str, options: dict, title: str) -> None:
    assert kpis.kpi_title(name, **options) == title


def test_unknown_unit_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown unit 'parsecs'"):
        kpis.unit_words("parsecs")


@pytest.mark.parametrize(("higher_is_better", "direction"), [(True, "higher"), (False, "lower")])
def test_ces_direction_is_the_configs(higher_is_better: bool, direction: str) -> None:
    config = config_from_dict(
        {
            "name": "t",
            "sources": {"events": {"path": "e.csv"}},
            "surveys": {"ces": {"min": 1, "max": 7, "higher_is_better": higher_is_better}},
        }
    )
    assert kpis.get_kpi("ces").direction_in(config) == direction
    assert kpis.kpi_direction("ces", config) == direction
    assert kpis.kpi_direction("churn_rate", config) == "lower"


def test_only_the_session_kpis_need_sessions() -> None:
    needing = {name for name, kpi in kpis.REGISTRY.items() if kpi.needs_sessions}
    assert needing == {"avg_session_duration", "repeat_visit_rate"}


def test_every_other_kpi_computes_without_the_sessions_table() -> None:
    rows = [ev("a", "2026-01-05 10:00", "visit"), ev("a", "2026-01-05 11:00", "purchase", 10.0)]
    names = [n for n, kpi in kpis.REGISTRY.items() if not kpi.needs_sessions]
    table = kpi_table(rows, names, with_sessions=False)
    assert row_of(table, "conversion_rate")["value"] == 1.0
    assert row_of(table, "orders")["value"] == 1.0


# --------------------------------------------------------------------------- improved

# a visits and buys in both weeks; b visits both weeks and buys only in the first; c visits in
# W only: conversion falls from 2/2 to 1/3 and orders from 2 to 1 (worse), visitors rise from
# 2 to 3 (better), the order value stays at 10 (no change)
TWO_WEEKS = [
    ev("a", "2025-12-29 10:00", "visit"),
    ev("a", "2025-12-29 11:00", "purchase", 10.0),
    ev("b", "2025-12-30 10:00", "visit"),
    ev("b", "2025-12-30 11:00", "purchase", 10.0),
    ev("a", "2026-01-05 10:00", "visit"),
    ev("a", "2026-01-05 11:00", "purchase", 10.0),
    ev("b", "2026-01-06 10:00", "visit"),
    ev("c", "2026-01-07 10:00", "visit"),
    ev("c", "2026-01-07 10:05", "add_to_cart"),
]


def test_improved_is_a_change_the_good_way_for_the_direction() -> None:
    table = kpi_table(TWO_WEEKS, ["conversion_rate", "orders", "aov", "unique_visitors"])
    assert row_of(table, "conversion_rate")["change"] == pytest.approx(1 / 3 - 1)
    assert row_of(table, "conversion_rate")["improved"] is False
    assert row_of(table, "orders")["improved"] is False
    assert row_of(table, "unique_visitors")["improved"] is True
    assert row_of(table, "aov")["change"] == 0.0
    assert row_of(table, "aov")["improved"] is None
    # the first period has nothing to be compared with
    assert row_of(table, "conversion_rate", PREV)["improved"] is None


def test_improved_follows_a_lower_is_better_direction() -> None:
    # more of the week's carts are abandoned: a rise of a lower-is-better KPI is worse
    rows = [
        *TWO_WEEKS,
        ev("d", "2025-12-29 10:00", "visit"),
        ev("d", "2025-12-29 10:05", "add_to_cart"),
        ev("d", "2025-12-29 10:10", "purchase", 5.0),
    ]
    row = row_of(kpi_table(rows, ["cart_abandonment_rate"]), "cart_abandonment_rate")
    assert row["previous"] == 0.0
    assert row["value"] == 1.0
    assert row["improved"] is False


@pytest.mark.parametrize(("higher_is_better", "improved"), [(True, False), (False, True)])
def test_ces_improved_follows_the_configured_direction(
    higher_is_better: bool, improved: bool
) -> None:
    config = config_of(surveys={"ces": {"min": 1, "max": 7, "higher_is_better": higher_is_better}})
    surveys = surveys_frame(
        [
            ("a", "2025-12-29 10:00", "ces", 6.0),
            ("b", "2025-12-30 10:00", "ces", 6.0),
            ("a", "2026-01-05 10:00", "ces", 2.0),
            ("b", "2026-01-06 10:00", "ces", 3.0),
        ]
    )
    table = kpi_table(TWO_WEEKS, ["ces"], config=config, surveys=surveys)
    row = row_of(table, "ces")
    assert row["change"] == pytest.approx(-3.5)
    assert row["improved"] is improved


def test_compare_with_recomputes_improved_against_the_comparison() -> None:
    table = kpi_table(TWO_WEEKS, ["conversion_rate"])
    current = table.filter(pl.col("period_start") == W)
    # against a comparison with a lower conversion, the same week improved
    lower = current.with_columns(
        pl.lit(PREV).alias("period_start"),
        pl.lit(0.1).alias("value"),
        pl.lit(1.0).alias("numerator"),
        pl.lit(10.0).alias("denominator"),
    )
    rebased = kpis.compare_with(current, lower)
    assert row_of(rebased, "conversion_rate")["previous"] == 0.1
    assert row_of(rebased, "conversion_rate")["improved"] is True
    assert rebased.columns == current.columns


def test_improved_sits_after_significant_in_the_table() -> None:
    columns = kpis.KPI_TABLE_COLUMNS
    assert columns[columns.index("significant") + 1] == "improved"

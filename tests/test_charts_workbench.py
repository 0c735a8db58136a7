"""The charts and tables of the notebook suite: assertions on specs and formatted rows.

Each chart is also rendered once through vl-convert (a spec Vega cannot draw fails there).
"""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest
import vl_convert

from journeylib.charts import (
    breakdown_trend,
    cohort_value_chart,
    friction_chart,
    funnel_trend,
    next_events_chart,
    retention_curves,
    step_timings,
)
from journeylib.errors import DataError
from journeylib.report.tables import breakdown_table, kpi_classes, kpi_rows, segment_table

D1, D2, D3 = date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19)


def rows_of(spec: dict) -> list[dict]:
    (rows,) = spec["datasets"].values()
    return rows


def marks(spec: dict) -> list[str]:
    return [layer["mark"]["type"] for layer in spec["layer"]]


def renders(chart) -> None:
    assert vl_convert.vegalite_to_svg(chart.to_dict()).startswith("<svg")


def trended() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "period": [D1, D1, D2, D2],
            "step": [1, 2, 1, 2],
            "step_name": ["visit", "buy", "visit", "buy"],
            "users": [100, 20, 50, 15],
            "conversion_from_first": [1.0, 0.2, 1.0, 0.3],
            "ci_low": [0.96, 0.13, 0.93, 0.19],
            "ci_high": [1.0, 0.29, 1.0, 0.44],
        }
    )


def test_funnel_trend_draws_the_last_step_per_period_with_its_entries():
    chart = funnel_trend(trended())
    spec = chart.to_dict()
    assert marks(spec) == ["area", "line"]
    drawn = [(r["period_label"], r["conversion_from_first"], r["entries"]) for r in rows_of(spec)]
    assert drawn == [("2026-01-05", 0.2, 100), ("2026-01-12", 0.3, 50)]
    assert spec["title"]["subtitle"] == ["visit → buy, with 95% intervals"]
    renders(chart)


def test_funnel_trend_refuses_an_empty_funnel():
    with pytest.raises(DataError, match="no rows"):
        funnel_trend(trended().head(0))


def test_step_timings_spans_median_to_p90_in_one_unit():
    steps = pl.DataFrame(
        {
            "step": [1, 2, 3],
            "step_name": ["visit", "cart", "buy"],
            "median_seconds_from_previous": [None, 1800.0, 7200.0],
            "p90_seconds_from_previous": [None, 36000.0, 172800.0],
        }
    )
    chart = step_timings(steps)
    spec = chart.to_dict()
    assert marks(spec) == ["bar", "tick"]
    # the slowest p90 is 2 days: the axis is in days
    assert spec["layer"][0]["encoding"]["x"]["title"] == "time from the previous step (days)"
    drawn = [(r["transition"], r["median"], r["p90"]) for r in rows_of(spec)]
    assert drawn == [
        ("visit → cart", pytest.approx(1800 / 86400), pytest.approx(36000 / 86400)),
        ("cart → buy", pytest.approx(7200 / 86400), pytest.approx(2.0)),
    ]
    renders(chart)


def test_step_timings_refuses_a_breakdown():
    steps = pl.DataFrame(
        {
            "step": [1, 1],
            "step_name": ["visit", "visit"],
            "median_seconds_from_previous": [None, None],
            "p90_seconds_from_previous": [None, None],
        }
    )
    with pytest.raises(DataError, match="one row per step"):
        step_timings(steps)


def test_friction_chart_ranks_transitions_and_labels_the_loss():
    transitions = pl.DataFrame(
        {
            "rank": [2, 1],
            "from_step": [1, 2],
            "from_name": ["visit", "cart"],
            "to_name": ["cart", "buy"],
            "users": [1000, 300],
            "lost": [700, 1200],
            "rate": [0.3, 0.25],
        }
    )
    chart = friction_chart(transitions)
    spec = chart.to_dict()
    assert marks(spec) == ["bar", "text"]
    labels = {r["transition"]: r["label"] for r in rows_of(spec)}
    assert labels == {
        "visit → cart": "700 lost · 30% went on",
        "cart → buy": "1,200 lost · 25% went on",
    }
    assert spec["layer"][0]["encoding"]["y"]["sort"] == {
        "field": "rank",
        "op": "min",
        "order": "ascending",
    }
    renders(chart)


def test_next_events_chart_orders_events_within_each_transition():
    rows = pl.DataFrame(
        {
            "from_step": [1, 1, 2],
            "from_name": ["visit", "visit", "cart"],
            "to_name": ["cart", "cart", "buy"],
            "next_event": ["left", "page_view", "left"],
            "users": [4, 6, 3],
            "share": [0.4, 0.6, 1.0],
            "dropped": [10, 10, 3],
        }
    )
    chart = next_events_chart(rows)
    spec = chart.to_dict()
    orders = {(r["from_step"], r["next_event"]): r["order"] for r in rows_of(spec)}
    assert orders == {(1, "page_view"): 1, (1, "left"): 2, (2, "left"): 1}
    assert {r["transition"] for r in rows_of(spec)} == {
        "visit → cart (dropped: 10)",
        "cart → buy (dropped: 3)",
    }
    renders(chart)


def curves() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "channel": ["ads", "ads", "seo", "seo"],
            "offset": [0, 1, 0, 1],
            "cohorts": [2, 1, 2, 1],
            "cohort_size": [40, 10, 20, 5],
            "users": [40, 5, 20, 1],
            "retention": [1.0, 0.5, 1.0, 0.2],
            "ci_low": [0.91, 0.24, 0.84, 0.04],
            "ci_high": [1.0, 0.76, 1.0, 0.62],
        }
    )


def test_retention_curves_one_line_with_its_band():
    chart = retention_curves(curves().filter(pl.col("channel") == "ads").drop("channel"))
    spec = chart.to_dict()
    assert marks(spec) == ["area", "line"]
    assert spec["layer"][0]["encoding"]["y2"] == {"field": "ci_high"}
    renders(chart)


def test_retention_curves_by_segment_colour_the_lines_by_a_field():
    chart = retention_curves(curves(), by="channel", grain="month")
    spec = chart.to_dict()
    assert marks(spec) == ["line"]
    assert spec["layer"][0]["encoding"]["color"]["field"] == "channel"
    assert spec["layer"][0]["encoding"]["x"]["title"] == "months since the cohort's first month"
    renders(chart)


def test_retention_curves_escape_a_breakdown_column_with_dots():
    frame = curves().rename({"channel": "utm.source"})
    spec = retention_curves(frame, by="utm.source").to_dict()
    assert spec["layer"][0]["encoding"]["color"]["field"] == "utm\\.source"


def test_cohort_value_chart_leaves_unobserved_cells_out():
    values = pl.DataFrame(
        {
            "cohort": [D1, D1, D2],
            "offset": [0, 1, 0],
            "cohort_size": [10, 10, 4],
            "value_per_user": [5.0, None, 7.5],
        }
    )
    chart = cohort_value_chart(values, currency="USD")
    spec = chart.to_dict()
    assert [(r["cohort_label"], r["value_per_user"]) for r in rows_of(spec)] == [
        ("2026-01-05", 5.0),
        ("2026-01-12", 7.5),
    ]
    assert "USD" in spec["encoding"]["y"]["title"]
    renders(chart)


def kpi_table() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "period_start": [D1, D1, D2, D2, D2],
            "channel": ["ads", "seo", "ads", "seo", None],
            "kpi": ["cac"] * 5,
            "unit": ["currency"] * 5,
            "value": [5.0, 0.0, 6.5, None, 2.0],
        }
    )


def test_breakdown_trend_one_line_per_value_with_formatted_tooltips():
    chart = breakdown_trend(kpi_table(), "cac", by="channel", currency="USD")
    spec = chart.to_dict()
    drawn = [(r["channel"], r["period_label"], r["value_label"]) for r in rows_of(spec)]
    assert ("ads", "2026-01-12", "USD 6.50") in drawn
    assert ("(none)", "2026-01-12", "USD 2.00") in drawn
    assert spec["encoding"]["color"]["field"] == "channel"
    renders(chart)


def test_breakdown_trend_names_the_kpis_it_has():
    with pytest.raises(DataError, match="KPIs found: cac"):
        breakdown_trend(kpi_table(), "ctr", by="channel")


def test_no_data_value_reaches_a_vega_expression():
    hostile = "x\u2028'); alert(1); ('"
    frame = curves().with_columns(pl.lit(hostile).alias("channel"))
    for chart in (
        retention_curves(frame, by="channel"),
        breakdown_trend(
            kpi_table().with_columns(pl.lit(hostile).alias("channel")), "cac", by="channel"
        ),
    ):
        spec = chart.to_dict()
        without_data = {key: value for key, value in spec.items() if key != "datasets"}
        assert hostile not in json.dumps(without_data, ensure_ascii=False)
        renders(chart)


def test_breakdown_table_latest_period_one_line_per_value():
    table = breakdown_table(kpi_table(), by="channel", kpis=["cac"], currency="EUR")
    assert table.columns == ["channel", "CAC"]
    assert table.rows() == [("(none)", "EUR 2.00"), ("ads", "EUR 6.50"), ("seo", "–")]


def test_breakdown_table_of_a_chosen_period_and_missing_columns():
    table = breakdown_table(kpi_table(), by="channel", kpis=["cac"], period_start=D1)
    assert table.rows() == [("ads", "EUR 5.00"), ("seo", "EUR 0.00")]
    with pytest.raises(DataError, match="lacks column"):
        breakdown_table(kpi_table(), by="platform", kpis=["cac"])


def test_kpi_rows_format_values_in_their_units():
    rows = pl.DataFrame(
        {
            "kpi": ["conversion_rate", "aov"],
            "unit": ["rate", "currency"],
            "value": [0.125, None],
            "previous": [0.1, 40.0],
            "change": [0.025, None],
            "p_value": [0.01, None],
            "target": [0.12, None],
            "status": ["met", None],
            "available": [True, False],
            "reason": [None, "no purchase events"],
            "direction": ["higher", "higher"],
            "significant": [True, False],
            "improved": [True, None],
        }
    )
    table = kpi_rows(rows, currency="EUR")
    first, second = table.iter_rows(named=True)
    # a rate's change in percentage points, as the scorecards beside the table write it
    assert (first["kpi"], first["value"], first["change"], first["status"]) == (
        "Conversion rate",
        "12.5%",
        "+2.5 pp",
        "met",
    )
    assert first["_good"] is True
    assert kpi_classes(first, "change") == "good"
    assert second["value"] == "not available: no purchase events"
    assert second["change"] == ""


def test_kpi_rows_colour_a_change_by_the_tables_improved_column():
    rows = pl.DataFrame(
        {
            "kpi": ["cart_abandonment_rate"],
            "unit": ["rate"],
            "value": [0.6],
            "previous": [0.75],
            "change": [-0.15],
            "p_value": [0.001],
            "target": [None],
            "status": [None],
            "available": [True],
            "reason": [None],
            "direction": ["lower"],
            "significant": [True],
            "improved": [True],
        }
    )
    (row,) = kpi_rows(rows, currency="EUR").iter_rows(named=True)
    assert row["change"] == "−15.0 pp"
    assert kpi_classes(row, "change") == "good"
    flipped = kpi_rows(rows.with_columns(improved=pl.lit(False)), currency="EUR")
    assert kpi_classes(flipped.row(0, named=True), "change") == "bad"


def test_segment_table_formats_each_segment():
    segments = pl.DataFrame(
        {
            "from_name": ["cart", "visit"],
            "to_name": ["buy", "cart"],
            "dimension": ["platform", "channel"],
            "value": ["ios", "<b>ads</b>"],
            "users": [2000, 50],
            "rate": [0.4, 0.1],
            "others_rate": [0.55, 0.3],
            "difference": [-0.15, -0.2],
            "users_lost": [300.4, 10.0],
            "p_value_adjusted": [1.2e-9, 0.004],
        }
    )
    table = segment_table(segments, limit=1)
    assert table.rows() == [
        (
            "cart → buy",
            "platform = ios",
            "2,000",
            "40.0%",
            "55.0%",
            "−15.0 points",
            "300",
            "1.2e-09",
        )
    ]
    assert segment_table(segments)["segment"][1] == "channel = <b>ads</b>"  # escaped by show_table


def test_render_offline_puts_the_vega_libraries_in_the_output():
    import altair as alt

    from journeylib.charts import render_offline

    chart = retention_curves(curves().filter(pl.col("channel") == "ads").drop("channel"))
    before = alt.renderers.active
    try:
        assert render_offline() == "html"
        bundle = chart._repr_mimebundle_()
        html = (bundle[0] if isinstance(bundle, tuple) else bundle)["text/html"]
        assert "cdn.jsdelivr" not in html
        assert "vegaEmbed" in html
        assert len(html) > 500_000  # vega, vega-lite and vega-embed, inline
    finally:
        alt.renderers.enable(before)

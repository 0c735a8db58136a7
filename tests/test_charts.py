"""Chart builders: assertions on the Vega-Lite spec, plus one real render per chart."""

from __future__ import annotations

from datetime import UTC, date, datetime

import altair as alt
import polars as pl
import pytest
import vl_convert

from journeylib._format import format_change, format_duration, format_value
from journeylib.charts import (
    THEME_NAME,
    channel_comparison,
    data_quality_panel,
    funnel_chart,
    journey_map,
    kpi_scorecards,
    kpi_trend,
    register_theme,
    retention_heatmap,
    survey_distribution,
    use_theme,
)
from journeylib.charts._theme import BAD, GOOD, MISSING, NEUTRAL, PALETTE
from journeylib.errors import DataError
from journeylib.kpis.surveys import score_distribution

D1, D2 = date(2026, 1, 5), date(2026, 1, 12)


def rows_of(spec: dict) -> list[dict]:
    """The single dataset of a spec (builders inline one frame)."""
    (rows,) = spec["datasets"].values()
    return rows


def funnel_steps() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "step": [1, 2, 3],
            "step_name": ["visit", "cart", "purchase"],
            "users": [1000, 200, 50],
            "conversion_from_first": [1.0, 0.2, 0.05],
            "conversion_from_previous": [1.0, 0.2, 0.25],
            "drop_off": [None, 800, 150],
            "in_progress": [0, 0, 0],
            "median_seconds_from_previous": [None, 3600.0, 90.0],
        }
    )


def kpi_table() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "period_start": [D1, D2, D2, D2],
            "stage": ["purchase", "purchase", "awareness", "advocacy"],
            "kpi": ["conversion_rate", "conversion_rate", "cost_per_lead", "nps"],
            "unit": ["rate", "rate", "currency", "score"],
            "direction": ["higher", "higher", "lower", "higher"],
            "value": [0.04, 0.05, 12.0, None],
            "ci_low": [0.03, 0.04, None, None],
            "ci_high": [0.05, 0.06, None, None],
            "previous": [None, 0.04, 10.0, None],
            "change": [None, 0.01, 2.0, None],
            "relative_change": [None, 0.25, 0.2, None],
            "p_value": [None, 0.01, 0.3, None],
            "significant": [None, True, False, None],
            "improved": [None, True, False, None],
            "target": [0.045, 0.045, None, None],
            "status": ["missed", "met", None, None],
            "available": [True, True, True, False],
            "reason": [None, None, None, "no surveys table"],
        }
    )


def retention_matrix() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "cohort": [D1, D1, D2, D2],
            "offset": [0, 1, 0, 1],
            "cohort_size": [10, 10, 4, 4],
            "users": [10, 0, 4, None],
            "retention": [1.0, 0.0, 1.0, None],
        }
    )


def nps_distribution() -> pl.DataFrame:
    answers = [1, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1]
    return pl.DataFrame(
        {
            "survey": ["nps"] * 11,
            "score": [float(s) for s in range(11)],
            "answers": answers,
            "share": [a / 5 for a in answers],
        }
    )


def channel_table() -> pl.DataFrame:
    values = {"ads": (12.0, 0.05, 400.0), "organic": (None, 0.04, 900.0)}
    records = [
        (D2, channel, kpi, value)
        for channel, triple in values.items()
        for kpi, value in zip(
            ("cost_per_conversion", "conversion_rate", "unique_visitors"), triple, strict=True
        )
    ]
    records.append((D1, "ads", "conversion_rate", 0.9))
    return pl.DataFrame(records, schema=["period_start", "channel", "kpi", "value"], orient="row")


def score_stages() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "stage": ["awareness", "purchase", "advocacy"],
            "score": [85.0, 40.0, None],
            "weight": [1.0, 1.0, 1.0],
            "kpis_scored": [2, 1, 0],
            "kpis_left_out": [0, 0, 3],
        }
    )


def quality_frame(clean: bool) -> pl.DataFrame:
    rule, column, count = (None, None, 0) if clean else ("null", "user_id", 3)
    return pl.DataFrame(
        {
            "table": ["events", "spend"],
            "rule": [rule, None],
            "column": [column, None],
            "count": [count, 0],
            "rows_read": [100, 20],
        },
        schema_overrides={"rule": pl.String, "column": pl.String},
    )


ALL_CHARTS = {
    "funnel": lambda: funnel_chart(funnel_steps()),
    "scorecards": lambda: kpi_scorecards(kpi_table()),
    "trend": lambda: kpi_trend(kpi_table(), "conversion_rate"),
    "retention": lambda: retention_heatmap(retention_matrix()),
    "survey": lambda: survey_distribution(nps_distribution(), survey="nps"),
    "channels": lambda: channel_comparison(channel_table()),
    "journey_map": lambda: journey_map(score_stages()),
    "quality": lambda: data_quality_panel(quality_frame(clean=False)),
    "quality_clean": lambda: data_quality_panel(quality_frame(clean=True)),
}


# --- formatting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (0.1234, "rate", "12.3%"),
        (1234567, "count", "1,234,567"),
        (1234.5, "currency", "USD 1,234.50"),
        (-12.5, "score", "−12.5"),
        (45, "duration", "45s"),
        (725, "duration", "12m 5s"),
        (5400, "duration", "1h 30m"),
        (216000, "duration", "2.5 days"),
        (None, "rate", "–"),
    ],
)
def test_format_value_writes_each_unit(value, unit, expected):
    assert format_value(value, unit, currency="USD") == expected


@pytest.mark.parametrize(
    ("change", "unit", "expected"),
    [(0.012, "rate", "+1.2 pp"), (-2.0, "currency", "−EUR 2.00"), (0, "count", "±0")],
)
def test_format_change_is_signed(change, unit, expected):
    assert format_change(change, unit) == expected


def test_format_duration_of_null_is_a_dash():
    assert format_duration(None) == "–"


# --- theme ------------------------------------------------------------------------------------


def test_theme_registers_once():
    previous = alt.theme.active
    try:
        register_theme()
        alt.theme.enable(THEME_NAME)
        first = alt.theme.get()
        register_theme()
        assert alt.theme.get() is first
    finally:
        alt.theme.enable(previous)
    assert alt.theme.names().count(THEME_NAME) == 1


def test_use_theme_puts_palette_and_font_in_the_spec():
    previous = alt.theme.active
    try:
        assert use_theme() == THEME_NAME
        config = funnel_chart(funnel_steps()).to_dict()["config"]
    finally:
        alt.theme.enable(previous)
    assert config["range"]["category"] == list(PALETTE)
    assert "Source Sans 3" in config["font"]


# --- row limit --------------------------------------------------------------------------------


def test_builders_refuse_more_than_5000_rows():
    many = pl.concat([funnel_steps()] * 1700)
    with pytest.raises(ValueError, match=r"funnel_chart: 5100 rows"):
        funnel_chart(many)


def test_missing_column_names_builder_and_columns():
    with pytest.raises(
        DataError, match=r"retention_heatmap: .*lacks column\(s\) retention.*found cohort"
    ):
        retention_heatmap(retention_matrix().select("cohort", "offset", "cohort_size", "users"))


def test_duration_columns_are_cast_to_seconds():
    steps = funnel_steps().with_columns(
        pl.duration(seconds=pl.col("median_seconds_from_previous").cast(pl.Int64)).alias(
            "median_seconds_from_previous"
        )
    )
    rows = rows_of(funnel_chart(steps).to_dict())
    assert [r["median_seconds_from_previous"] for r in rows] == [None, 3600.0, 90.0]


# --- funnel -----------------------------------------------------------------------------------


def test_funnel_bars_encode_users_per_step_in_order():
    bars = funnel_chart(funnel_steps()).to_dict()["layer"][0]
    assert bars["mark"]["type"] == "bar"
    assert bars["encoding"]["x"]["field"] == "users"
    assert bars["encoding"]["x"]["type"] == "quantitative"
    # sorted by the step number, never by a list of names (Vega-Lite would make it an expression)
    assert bars["encoding"]["y"]["sort"] == {"field": "step", "op": "min", "order": "ascending"}
    rows = sorted(rows_of(funnel_chart(funnel_steps()).to_dict()), key=lambda r: r["step"])
    assert [r["step_name"] for r in rows] == ["visit", "cart", "purchase"]


def test_funnel_labels_and_drop_off_notes():
    rows = rows_of(funnel_chart(funnel_steps()).to_dict())
    assert [r["label"] for r in rows] == [
        "1,000 users · 100% of first",
        "200 users · 20% of first",
        "50 users · 5% of first",
    ]
    assert [r["drop_label"] for r in rows] == [None, "−800 (80%)", "−150 (75%)"]
    assert [r["median_time"] for r in rows] == ["–", "1h 0m", "1m 30s"]


def test_funnel_tooltips_are_formatted():
    tooltip = funnel_chart(funnel_steps()).to_dict()["layer"][0]["encoding"]["tooltip"]
    formats = {t["field"]: t.get("format") for t in tooltip}
    assert formats["users"] == ",.0f"
    assert formats["conversion_from_first"] == ".1%"
    assert formats["conversion_from_previous"] == ".1%"
    assert "median_time" in formats


def test_funnel_breakdown_facets_by_the_extra_column():
    steps = pl.concat(
        [funnel_steps().with_columns(channel=pl.lit(name)) for name in ("ads", "seo")]
    )
    spec = funnel_chart(steps).to_dict()
    assert spec["facet"]["row"]["field"] == "channel"


# --- scorecards -------------------------------------------------------------------------------


def test_scorecards_show_latest_period_one_tile_per_kpi():
    spec = kpi_scorecards(kpi_table()).to_dict()
    assert spec["facet"]["field"] == "label"
    assert [r["kpi"] for r in rows_of(spec)] == ["conversion_rate", "cost_per_lead", "nps"]
    assert [r["label"] for r in rows_of(spec)] == ["Conversion rate", "Cost per lead", "NPS"]


def test_scorecards_tone_is_the_tables_improved_column():
    # the tile never decides "good" itself: a rise the table calls not improved reads bad
    table = kpi_table().with_columns(
        pl.when(pl.col("improved").is_not_null()).then(~pl.col("improved")).alias("improved")
    )
    rows = {r["kpi"]: r for r in rows_of(kpi_scorecards(table).to_dict())}
    assert rows["conversion_rate"]["tone"] == "bad"
    assert rows["cost_per_lead"]["tone"] == "good"


def test_scorecards_label_value_change_significance_and_status():
    rows = {r["kpi"]: r for r in rows_of(kpi_scorecards(kpi_table()).to_dict())}
    rate = rows["conversion_rate"]
    assert rate["value_label"] == "5.0%"
    assert rate["change_label"] == "▲ +1.0 pp (+25.0%) ●"
    assert rate["tone"] == "good"
    assert rate["status_label"] == "met · target 4.5%"
    cost = rows["cost_per_lead"]  # lower is better: a rise is bad, not significant
    assert cost["change_label"] == "▲ +EUR 2.00 (+20.0%)"
    assert cost["tone"] == "bad"
    assert cost["status_tone"] == "no target"


def test_scorecards_show_unavailable_kpis_as_such():
    spec = kpi_scorecards(kpi_table()).to_dict()
    nps = next(r for r in rows_of(spec) if r["kpi"] == "nps")
    assert nps["value_label"] == "not available"
    assert nps["change_label"] == "no surveys table"
    assert nps["tone"] == "unavailable"
    change_layer = spec["spec"]["layer"][2]["encoding"]["color"]["scale"]
    colours = dict(zip(change_layer["domain"], change_layer["range"], strict=True))
    assert colours["good"] == GOOD
    assert colours["bad"] == BAD
    assert colours["unavailable"] not in (GOOD, BAD)


def test_scorecards_take_a_chosen_period():
    rows = rows_of(kpi_scorecards(kpi_table(), period=D1).to_dict())
    assert [(r["kpi"], r["tone"]) for r in rows] == [("conversion_rate", "flat")]


# --- trend ------------------------------------------------------------------------------------


def test_trend_draws_band_line_and_dashed_target():
    layers = kpi_trend(kpi_table(), "conversion_rate").to_dict()["layer"]
    assert [layer["mark"]["type"] for layer in layers] == ["area", "line", "rule"]
    assert layers[0]["encoding"]["y"]["field"] == "ci_low"
    assert layers[0]["encoding"]["y2"]["field"] == "ci_high"
    assert layers[1]["encoding"]["x"] == {
        "axis": {"format": "%Y-%m-%d"},
        "field": "period_start",
        "title": "period",
        "type": "temporal",
    }
    assert layers[1]["encoding"]["y"]["axis"]["format"] == ".1%"
    assert layers[2]["mark"]["strokeDash"] == [6, 4]


def test_trend_has_no_target_rule_without_a_target():
    layers = kpi_trend(kpi_table(), "cost_per_lead", currency="USD").to_dict()["layer"]
    assert [layer["mark"]["type"] for layer in layers] == ["line"]
    assert layers[0]["encoding"]["y"]["title"] == "Cost per lead (USD)"


def test_trend_of_unknown_kpi_lists_the_known_ones():
    with pytest.raises(DataError, match="KPIs found: conversion_rate, cost_per_lead, nps"):
        kpi_trend(kpi_table(), "aov")


# --- retention --------------------------------------------------------------------------------


def test_retention_null_cells_are_not_drawn_as_zero():
    spec = retention_heatmap(retention_matrix()).to_dict()
    observed, unobserved, labels = spec["layer"]
    assert observed["transform"] == [{"filter": "isValid(datum.retention)"}]
    assert labels["transform"] == [{"filter": "isValid(datum.retention)"}]
    assert unobserved["transform"] == [{"filter": "!isValid(datum.retention)"}]
    assert unobserved["mark"]["color"] == MISSING
    assert [r["retention"] for r in rows_of(spec)] == [1.0, 0.0, 1.0, None]


def test_retention_heatmap_encodes_cells_and_percent_labels():
    observed, _, labels = retention_heatmap(retention_matrix()).to_dict()["layer"]
    assert observed["mark"]["type"] == "rect"
    assert observed["encoding"]["x"]["field"] == "offset"
    assert observed["encoding"]["x"]["type"] == "ordinal"
    assert observed["encoding"]["color"]["scale"]["domain"] == [0, 1]
    assert labels["encoding"]["text"] == {
        "field": "retention",
        "format": ".0%",
        "type": "quantitative",
    }
    assert {t["field"] for t in observed["encoding"]["tooltip"]} >= {"cohort_size", "users"}


# --- surveys ----------------------------------------------------------------------------------


def test_nps_bars_coloured_by_group():
    spec = survey_distribution(nps_distribution(), survey="nps").to_dict()
    bars = spec["layer"][0]
    scale = bars["encoding"]["color"]["scale"]
    assert scale["range"] == [BAD, NEUTRAL, GOOD]
    groups = [r["group"] for r in rows_of(spec)]
    assert groups == ["detractor (0-6)"] * 7 + ["passive (7-8)"] * 2 + ["promoter (9-10)"] * 2


def test_csat_highlights_four_and_five():
    frame = pl.DataFrame(
        {"survey": ["csat"] * 5, "score": [1.0, 2.0, 3.0, 4.0, 5.0], "answers": [1] * 5}
    ).with_columns(share=pl.lit(0.2))
    rows = rows_of(survey_distribution(frame, survey="csat").to_dict())
    assert [r["group"] == "satisfied (4-5)" for r in rows] == [False, False, False, True, True]


def test_score_distribution_fills_every_score_and_shares():
    at = datetime(2026, 1, 5, tzinfo=UTC)
    surveys = pl.LazyFrame(
        {
            "user_id": ["a", "b", "c", "d", "e"],
            "timestamp": [at, at, at, at, datetime(2026, 2, 1, tzinfo=UTC)],
            "survey": ["nps", "nps", "nps", "csat", "nps"],
            "score": [10.0, 10.0, 3.0, 5.0, 0.0],
        }
    )
    frame = score_distribution(
        surveys, start=datetime(2026, 1, 1), end=datetime(2026, 2, 1), ces_min=1, ces_max=5
    ).collect()
    nps = frame.filter(pl.col("survey") == "nps")
    assert nps["score"].to_list() == [float(s) for s in range(11)]
    assert nps["answers"].to_list() == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2]
    assert nps["share"][3] == pytest.approx(1 / 3)
    assert frame.filter(pl.col("survey") == "csat")["share"].to_list() == [0, 0, 0, 0, 1.0]
    ces = frame.filter(pl.col("survey") == "ces")
    assert ces["answers"].to_list() == [0] * 5
    assert ces["share"].to_list() == [None] * 5


# --- channels, journey map, data quality -------------------------------------------------------


def test_channel_scatter_drops_channels_without_spend_with_a_note():
    spec = channel_comparison(channel_table()).to_dict()
    dots = spec["layer"][0]
    assert dots["mark"]["type"] == "point"
    assert dots["encoding"]["x"]["field"] == "cost_per_conversion"
    assert dots["encoding"]["y"]["field"] == "conversion_rate"
    assert dots["encoding"]["size"]["field"] == "unique_visitors"
    assert dots["encoding"]["color"]["field"] == "channel"
    assert len(spec["layer"]) == 1  # no text beside the points: the legend names them
    assert dots["encoding"]["x"]["title"] == "Cost per conversion (EUR)"
    assert dots["encoding"]["y"]["title"] == "Conversion rate (percent)"
    assert [(r["channel"], r["conversion_rate"]) for r in rows_of(spec)] == [("ads", 0.05)]
    assert "not shown (no spend data): organic" in spec["title"]["subtitle"]


def test_journey_map_tiles_in_order_with_no_data_greyed():
    spec = journey_map(score_stages()).to_dict()
    tiles = spec["layer"][0]
    order = {"field": "stage_order", "op": "min", "order": "ascending"}
    assert tiles["encoding"]["x"]["sort"] == order
    ranked = sorted(rows_of(spec), key=lambda r: r["stage_order"])
    assert [r["stage"] for r in ranked] == ["awareness", "purchase", "advocacy"]
    scale = tiles["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"], strict=True))["no data"] == MISSING
    rows = rows_of(spec)
    assert [r["label"] for r in rows] == ["awareness · 85", "purchase · 40", "advocacy · no data"]
    assert [r["band"] for r in rows] == ["80-100", "0-49", "no data"]
    assert [r["arrow"] for r in rows] == ["➜", "➜", ""]


@pytest.mark.parametrize(
    ("builder", "frame"),
    [
        (
            "funnel",
            lambda value: funnel_steps().with_columns(step_name=pl.col("step_name") + value),
        ),
        ("journey_map", lambda value: score_stages().with_columns(stage=pl.col("stage") + value)),
    ],
)
def test_a_line_separator_in_a_value_does_not_stop_the_chart(builder, frame):
    # Vega's expression parser reads U+2028 in a string literal as an illegal token
    chart = {"funnel": funnel_chart, "journey_map": journey_map}[builder](frame("\u2028x"))
    svg = vl_convert.vegalite_to_svg(chart.to_dict())
    assert svg.startswith("<svg")


def test_quality_panel_bars_per_table_and_rule():
    spec = data_quality_panel(quality_frame(clean=False)).to_dict()
    bars, notes = spec["layer"]
    assert bars["mark"]["type"] == "bar"
    assert bars["encoding"]["x"]["field"] == "count"
    assert bars["encoding"]["color"]["field"] == "problem"
    assert spec["title"]["subtitle"] == ["3 of 120 rows quarantined in 2 tables"]
    assert notes["encoding"]["text"]["field"] == "note"


def test_quality_panel_all_clean_state():
    spec = data_quality_panel(quality_frame(clean=True)).to_dict()
    (text,) = spec["layer"]
    assert text["mark"]["color"] == GOOD
    assert rows_of(spec) == [{"message": "All clean: 120 rows read, none quarantined"}]


# --- rendering --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ALL_CHARTS))
def test_every_chart_renders_to_svg(name):
    svg = vl_convert.vegalite_to_svg(ALL_CHARTS[name]().to_dict())
    assert svg.startswith("<svg")
    assert "<text" in svg


def _text_boxes(node: object, x: float = 0.0, y: float = 0.0) -> list[tuple[str, str, tuple]]:
    """(role, text, (left, top, right, bottom)) of every text item of a Vega scenegraph, in
    chart coordinates (a text's width estimated at 0.6 of its font size per character)."""
    found: list[tuple[str, str, tuple]] = []
    if isinstance(node, list):
        for item in node:
            found += _text_boxes(item, x, y)
    elif isinstance(node, dict):
        if node.get("marktype") == "text":
            for item in node.get("items", []):
                size = float(item.get("fontSize") or 11)
                left, base = x + item.get("x", 0), y + item.get("y", 0)
                width = 0.6 * size * len(str(item.get("text", "")))
                left -= {"center": width / 2, "right": width}.get(item.get("align"), 0.0)
                top = base - {"top": 0.0, "middle": size / 2}.get(item.get("baseline"), size)
                box = (left, top, left + width, top + size)
                found.append((str(node.get("role")), str(item.get("text")), box))
            return found
        x, y = x + float(node.get("x", 0) or 0), y + float(node.get("y", 0) or 0)
        for value in node.values():
            if isinstance(value, dict | list):
                found += _text_boxes(value, x, y)
    return found


def test_channel_labels_never_overlap_on_the_sample(tmp_path):
    from journeylib import load
    from journeylib.sample import generate_sample

    config = generate_sample(tmp_path / "sample", users=4000, seed=7).config_path
    journey = load(config)
    table = journey.kpis(
        by="channel", kpis=["conversion_rate", "cost_per_conversion", "unique_visitors"]
    )
    latest = table.filter(pl.col("period_start") == pl.col("period_start").max())
    with_spend = sorted(
        latest.filter((pl.col("kpi") == "cost_per_conversion") & pl.col("value").is_not_null())
        .get_column("channel")
        .to_list()
    )
    assert len(with_spend) >= 5  # the sample's paid and unpaid channels
    chart = channel_comparison(latest)
    spec = chart.to_dict()
    colour = spec["layer"][0]["encoding"]["color"]
    assert colour["field"] == "channel"
    assert colour.get("legend") is not None
    assert len(set(colour["scale"]["range"])) >= len(with_spend)
    graph = vl_convert.vegalite_to_scenegraph(spec)["scenegraph"]
    named = [(role, text, box) for role, text, box in _text_boxes(graph) if text in with_spend]
    # each channel is written once, in the colour legend, and no two names touch
    assert sorted(text for _, text, _ in named) == with_spend
    assert {role for role, _, _ in named} == {"legend-label"}
    for index, (_, first, a) in enumerate(named):
        for _, second, b in named[index + 1 :]:
            apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
            assert apart, (first, second)


def test_channel_names_are_data_never_markup():
    hostile = '<img src=x onerror="alert(1)">'
    table = channel_table().with_columns(
        pl.when(pl.col("channel") == "ads")
        .then(pl.lit(hostile))
        .otherwise(pl.col("channel"))
        .alias("channel")
    )
    spec = channel_comparison(table).to_dict()
    assert [r["channel"] for r in rows_of(spec)] == [hostile]
    assert hostile not in str(spec["layer"][0]["encoding"])  # no value in the encoding
    graph = vl_convert.vegalite_to_scenegraph(spec)["scenegraph"]
    assert [text for role, text, _ in _text_boxes(graph) if role == "legend-label"][:1] == [hostile]

"""The dashboard without a browser: views and query strings, the numbers against the CLI's JSON,
the on-disk cache, and data values kept out of markup."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from bad_inputs import run_journey

from journeylib.dashboard.state import View, ViewOptions, parse_query, to_query

DEFAULT = View(start=date(2026, 8, 3), end=date(2026, 9, 28), steps=("visit", "purchase"))
OPTIONS = ViewOptions(
    default=DEFAULT,
    first_day=date(2026, 5, 4),
    last_day=date(2026, 10, 31),
    dimensions={"platform": frozenset({"ios", "android", "web"}), "channel": frozenset({"email"})},
    step_names=frozenset({"visit", "add_to_cart", "purchase", "checkout"}),
    cohort_roles=frozenset({"purchase"}),
)


# ---------------------------------------------------------------------- query strings


def test_the_issue_example_query_applies_every_parameter():
    query = (
        "?start=2026-09-01&end=2026-10-01&grain=week&channel=email&platform=ios,android"
        "&steps=visit,add_to_cart,purchase&window=3d"
    )
    view, messages = parse_query(query, OPTIONS)
    assert messages == []
    assert (view.start, view.end, view.grain, view.window) == (
        date(2026, 9, 1),
        date(2026, 10, 1),
        "week",
        "3d",
    )
    assert view.filter_map == {"channel": ["email"], "platform": ["android", "ios"]}
    assert view.steps == ("visit", "add_to_cart", "purchase")


@pytest.mark.parametrize(
    ("query", "parameter", "field", "expected"),
    [
        ("start=2026-13-01", "start", "start", DEFAULT.start),
        ("end=soon", "end", "end", DEFAULT.end),
        ("start=2020-01-01", "start", "start", DEFAULT.start),
        ("start=2026-09-10&end=2026-09-01", "end", "end", DEFAULT.end),
        ("grain=year", "grain", "grain", "week"),
        ("comparison=lastyear", "comparison", "comparison", "previous"),
        ("steps=visit,purchse", "steps", "steps", DEFAULT.steps),
        ("steps=visit", "steps", "steps", DEFAULT.steps),
        ("window=forever", "window", "window", "7d"),
        ("platform=windows", "platform", "filters", (("channel", ("email",)),)),
        ("breakdown=colour", "breakdown", "breakdown", None),
        ("cohort=lunch", "cohort", "cohort", None),
    ],
)
def test_a_bad_value_names_its_parameter_and_falls_back_for_it_only(
    query, parameter, field, expected
):
    view, messages = parse_query("grain=month&channel=email&" + query, OPTIONS)
    assert len(messages) == 1
    assert messages[0].startswith(f"{parameter}: ")
    assert getattr(view, field) == expected
    if parameter != "grain":
        assert view.grain == "month"  # the other parameters still apply
    assert view.filter_map == {"channel": ["email"]}


def test_an_unknown_key_is_said_and_ignored():
    view, messages = parse_query("colour=red", OPTIONS)
    assert view == DEFAULT
    assert messages == [
        "colour: not a dimension of the data (dimensions: channel, platform); ignored"
    ]


def test_a_view_survives_its_query_string():
    view = DEFAULT.with_filter("platform", ["web", "ios"]).changed(
        grain="day", window="3d", breakdown="platform", pick=("channel", "email")
    )
    query = to_query(view, DEFAULT)
    assert query.startswith("?start=2026-08-03&end=2026-09-28&grain=day")
    again, messages = parse_query(query, OPTIONS)
    assert messages == []
    assert again.filter_map == view.filter_map
    assert (again.grain, again.window, again.breakdown) == ("day", "3d", "platform")


CLASHING = ViewOptions(
    default=DEFAULT,
    first_day=OPTIONS.first_day,
    last_day=OPTIONS.last_day,
    dimensions={
        "start": frozenset({"spring", "autumn"}),
        "steps": frozenset({"one", "two"}),
        "platform": frozenset({"ios"}),
    },
    step_names=OPTIONS.step_names,
)


def test_view_keys_keep_their_meaning_and_a_clashing_dimension_is_written_dim_dot():
    query = "?start=2026-09-01&dim.start=spring&steps=visit,purchase&dim.steps=two&dim.platform=ios"
    view, messages = parse_query(query, CLASHING)
    assert messages == []
    assert view.start == date(2026, 9, 1)
    assert view.steps == ("visit", "purchase")
    assert view.filter_map == {"platform": ["ios"], "start": ["spring"], "steps": ["two"]}
    link = to_query(view, DEFAULT)
    assert "dim.start=spring" in link
    assert "dim.steps=two" in link
    assert "&platform=ios" in link  # no clash: the plain name
    again, messages = parse_query(link, CLASHING)
    assert (again, messages) == (view, [])


def test_a_bad_value_of_a_clashing_dimension_names_its_key():
    view, messages = parse_query("?dim.start=winter&dim.colour=red", CLASHING)
    assert view == DEFAULT
    assert messages == [
        "dim.start: no event has start 'winter'; showing every start",
        "dim.colour: not a dimension of the data (dimensions: platform, start, steps); ignored",
    ]


def test_a_value_with_markup_is_quoted_in_the_link():
    view = DEFAULT.with_filter("campaign", ["<img src=x onerror=alert(1)>"])
    query = to_query(view, DEFAULT)
    assert not {"<", ">", " "} & set(query)
    options = ViewOptions(
        DEFAULT,
        OPTIONS.first_day,
        OPTIONS.last_day,
        {"campaign": frozenset({"<img src=x onerror=alert(1)>"})},
    )
    again, messages = parse_query(query, options)
    assert messages == []
    assert again.filter_map == {"campaign": ["<img src=x onerror=alert(1)>"]}


# ---------------------------------------------------------------------- against the CLI


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from journeylib.sample import generate_sample

    folder = tmp_path_factory.mktemp("dashboard-sample") / "sample"
    generate_sample(folder, users=3000, seed=3)
    return folder / "journey.yml"


@pytest.fixture(scope="module")
def data(sample: Path, tmp_path_factory: pytest.TempPathFactory):
    from journeylib.dashboard.data import open_data

    loaded, cached = open_data(sample, cache_dir=tmp_path_factory.mktemp("cache"))
    assert not cached
    return loaded


def _cli_rows(sample: Path, view: View) -> list[dict]:
    args = ["kpis", str(sample), "--start", str(view.start), "--end", str(view.end)]
    args += ["--grain", view.grain, "--format", "json"]
    for column, values in view.filter_map.items():
        args += [item for value in values for item in ("--filter", f"{column}={value}")]
    run = run_journey(args, cwd=sample.parent)
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    last = max(row["period_start"] for row in rows)
    return [row for row in rows if row["period_start"] == last]


def _same(left, right) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, float) or isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-12, abs_tol=1e-12)
    return left == right


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"grain": "day"},
        {"grain": "month", "start": date(2026, 6, 1), "end": date(2026, 10, 1)},
        {"filters": (("platform", ("android",)),)},
        {"filters": (("channel", ("email", "social")),), "start": date(2026, 8, 24)},
    ],
    ids=["default", "day", "month", "android", "email-social"],
)
def test_the_cards_hold_the_numbers_of_journey_kpis_json(data, sample, change):
    view = data.default_view().changed(**change)
    cards = data.cards(view)
    expected = _cli_rows(sample, view)
    assert cards.height == len(expected) > 20
    by_kpi = {row["kpi"]: row for row in cards.iter_rows(named=True)}
    for row in expected:
        card = by_kpi[row["kpi"]]
        assert str(card["period_start"]) == row["period_start"]
        for column in ("value", "numerator", "denominator", "previous", "change", "p_value"):
            assert _same(card[column], row[column]), (row["kpi"], column, card[column], row)
        assert (card["status"], card["available"]) == (row["status"], row["available"])


def test_the_card_markup_carries_each_value_of_the_cli(data, sample):
    from journeylib.dashboard.page import Dashboard

    dashboard = Dashboard(data, config_path=str(sample))
    dashboard.apply_query("?platform=ios&grain=week")
    expected = {row["kpi"]: row["value"] for row in _cli_rows(sample, dashboard.view)}
    markup = dashboard.cards.value
    for kpi, value in expected.items():
        shown = "" if value is None else repr(float(value))
        assert f'data-kpi="{kpi}"' in markup
        assert f'data-value="{shown}"' in markup.split(f'data-kpi="{kpi}"', 1)[1][:400]


def test_the_cached_tables_equal_a_fresh_validation(sample, tmp_path):
    from journeylib import load
    from journeylib.dashboard.cache import load_cached

    fresh = load(sample)
    _, cached_first = load_cached(fresh.config, tmp_path)
    again, cached_again = load_cached(fresh.config, tmp_path)
    assert (cached_first, cached_again) == (False, True)
    for table, frame in fresh.tables.items():
        expected = frame.collect()
        assert again.tables[table].collect().equals(expected), table
    assert again.quality == fresh.quality
    assert again.event_names == fresh._loaded.event_names


def test_changed_data_gets_a_new_fingerprint(tmp_path):
    from journeylib.config import config_from_dict
    from journeylib.dashboard.cache import data_fingerprint

    path = tmp_path / "events.csv"
    path.write_text("user_id,timestamp,event\nu1,2026-01-05T10:00:00Z,visit\n")
    config = config_from_dict({"name": "shop", "sources": {"events": {"path": str(path)}}})
    before = data_fingerprint(config)
    path.write_text("user_id,timestamp,event\nu1,2026-01-05T10:00:00Z,purchase\n")
    assert data_fingerprint(config) != before


def test_the_memo_gives_the_same_frame_without_recomputing(data):
    view = data.default_view()
    first = data.kpi_table(view)
    misses = data.memo.misses
    assert data.kpi_table(view) is first
    assert data.memo.misses == misses


# ---------------------------------------------------------------------- markup


EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def evil_dashboard(tmp_path_factory: pytest.TempPathFactory):
    from story_free import journey_events

    from journeylib.dashboard.data import open_data
    from journeylib.dashboard.page import Dashboard

    folder = tmp_path_factory.mktemp("evil")
    events = journey_events(5, days=60, visitors_per_day=40).with_columns(
        pl.when(pl.col("channel") == "email")
        .then(pl.lit(EVIL))
        .otherwise(pl.col("channel"))
        .alias("campaign")
    )
    events.write_csv(folder / f"{EVIL[:4]}shop.csv")
    loaded, _ = open_data(
        events=folder / f"{EVIL[:4]}shop.csv",
        steps=("visit", "view", "cart", "checkout", "purchase"),
        cache_dir=folder / "cache",
    )
    return Dashboard(loaded)


def test_data_values_never_become_markup(evil_dashboard):
    dashboard = evil_dashboard
    messages = dashboard.apply_query("?campaign=" + EVIL.replace(" ", "%20"))
    assert messages == []
    for index in range(len(dashboard.tabs.children)):
        dashboard.tabs.selected_index = index
    texts = [
        dashboard.header.value,
        dashboard.cards.value,
        dashboard.kpi_table.value,
        dashboard.funnel_table.value,
        dashboard.friction_html.value,
        dashboard.report_line.value,
        dashboard.chip_text.value,
    ]
    assert all("<img" not in text for text in texts)
    assert "&lt;img src=x onerror=alert(1)&gt;" in dashboard.header.value
    labels = [label for label, _ in dashboard.dimension_controls["campaign"].options]
    assert any(label.startswith(EVIL) for label in labels)  # a widget label is text, not HTML


def test_a_view_without_events_shows_the_empty_state(evil_dashboard):
    dashboard = evil_dashboard
    dashboard.apply_query("?platform=ios&campaign=" + EVIL.replace(" ", "%20"))
    dashboard._set_view(dashboard.view.with_filter("channel", ["organic"]))
    assert "No events match this view" in dashboard.empty.value
    assert dashboard.tabs.layout.display == "none"
    dashboard._set_view(dashboard.view.with_filter("channel", []))
    assert dashboard.empty.value == ""


# ---------------------------------------------------------------------- charts


def test_the_dashboard_charts_are_valid_vega_lite(data):
    """The page draws them without validating again (for speed): validate them here."""
    import altair as alt

    from journeylib.charts import channel_comparison, funnel_chart, kpi_trend
    from journeylib.charts.incidents import with_incidents
    from journeylib.dashboard.charts import PICK, clickable, unvalidated

    view = data.default_view()
    funnel = data.funnel(view.changed(breakdown="platform"))
    channels = data.channels(view)
    table = data.kpi_table(view)
    incidents = pl.DataFrame(
        {"start": [view.start], "end": [view.end], "sentence": ["checkout → purchase fell"]}
    )
    trend = with_incidents(kpi_trend(table, "conversion_rate"), incidents)
    charts = {
        "funnel by platform": clickable(funnel_chart(funnel), "platform"),
        "channels": clickable(channel_comparison(channels), "channel"),
        "trends": alt.concat(trend, kpi_trend(table, "orders"), columns=2),
    }
    for name, chart in charts.items():
        spec = chart.to_dict(validate=True)
        assert unvalidated(chart).to_dict() == spec, name
    for name in ("funnel by platform", "channels"):
        params = charts[name].to_dict()["params"]
        assert [p["name"] for p in params] == [PICK]
        assert params[0]["select"]["on"] == "click"
    assert charts["trends"].to_dict()["concat"][0]["layer"][0]["mark"]["type"] == "rect"


def test_a_cache_entry_that_cannot_be_read_is_rebuilt(sample, tmp_path):
    import pickle

    from journeylib import load
    from journeylib.dashboard.cache import data_fingerprint, load_cached

    config = load(sample).config
    load_cached(config, tmp_path)
    meta = tmp_path / data_fingerprint(config) / "meta.pickle"
    # what an entry of an older layout holds: a class under a module that no longer exists
    meta.write_bytes(pickle.dumps({"tables": ["events"]})[:-1] + b"cjourneylib._gone\nQ\n.")
    again, cached = load_cached(config, tmp_path)
    assert not cached
    assert again.tables["events"].collect().height > 0
    _, cached = load_cached(config, tmp_path)
    assert cached


def test_a_journey_map_tile_takes_the_band_of_the_score_it_shows():
    from journeylib.charts import journey_map
    from journeylib.charts.journey_map import SCORE_BANDS

    scores = [79.6, 79.4, 49.5, 49.4, 80.0, 100.0, 0.2, None]
    stages = pl.DataFrame(
        {
            "stage": [f"stage{i}" for i in range(len(scores))],
            "score": scores,
            "weight": [1.0] * len(scores),
            "kpis_scored": [1] * len(scores),
            "kpis_left_out": [0] * len(scores),
        }
    )
    spec = journey_map(stages).to_dict()
    rows = next(iter(spec["datasets"].values()))
    bands = {}
    for row in rows:
        shown = row["label"].split(" · ")[1]
        bands[row["stage"]] = (shown, row["band"])
        if shown == "no data":
            assert row["band"] == "no data"
            continue
        low, high = (int(x) for x in row["band"].split("-"))
        assert low <= int(shown) <= high, row
    assert bands["stage0"] == ("80", "80-100")  # "usage · 80" is green, as the legend says
    assert bands["stage1"] == ("79", "50-79")
    tiles = spec["layer"][0]["encoding"]["color"]["scale"]
    assert tiles["domain"] == list(SCORE_BANDS)

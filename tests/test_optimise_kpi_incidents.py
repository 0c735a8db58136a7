"""Incidents of rate KPIs on the default sample (50,000 users, seed 7: `make sample`).

There the android payment incident costs only about 30 checkout sessions a day, too few for
checkout -> purchase to show it, but daily payment_success_rate on android falls from about
97% to about 62% (its story's reveal): the KPI detector finds its window, segment and effect.
"""

from __future__ import annotations

import html
import json
from datetime import date, timedelta

import polars as pl
import pytest

import journeylib
from journeylib.cli import main
from journeylib.errors import DataError
from journeylib.sample import generate_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory):
    result = generate_sample(tmp_path_factory.mktemp("lumen-50k"), users=50_000, seed=7)
    stories = {story.id: story for story in result.stories}
    journey = journeylib.load(result.config_path)
    return journey, stories["android_payment_incident"], str(result.config_path)


def test_the_payment_incident_is_found_daily_with_its_window_segment_and_effect(sample):
    journey, story, _ = sample
    first = date.fromisoformat(story.truth["first_day"])
    last = date.fromisoformat(story.truth["last_day"])
    found = journey.kpi_incidents(start="2026-08-24", end="2026-09-07").incidents
    assert found.height == 1
    incident = found.row(0, named=True)
    assert incident["kpi"] == "payment_success_rate"
    assert (incident["dimension"], incident["value"]) == ("platform", "android")
    assert (incident["start"], incident["end"]) == (first, last + timedelta(days=1))
    during = 1 - story.realised["payment_failed_share_android_during"]
    outside = 1 - story.realised["payment_failed_share_android_outside"]
    assert incident["rate"] == pytest.approx(during, abs=0.01)
    assert incident["baseline_rate"] == pytest.approx(outside, abs=0.03)
    assert incident["key"] == "payment_success_rate|platform=android|2026-08-30"
    assert incident["sentence"].startswith(
        "From 30 Aug to 3 Sep 2026, payment success rate on android fell from 96% to 62%"
    )


def test_no_other_daily_incident_over_the_half_year(sample):
    journey, story, _ = sample
    first = date.fromisoformat(story.truth["first_day"])
    last = date.fromisoformat(story.truth["last_day"])
    kpi = journey.kpi_incidents().incidents
    funnel = journey.incidents(grain="day").incidents
    for found in (kpi, funnel):
        outside = found.filter((pl.col("end") <= first) | (pl.col("start") > last))
        assert outside.is_empty(), outside["sentence"].to_list()


def test_the_periods_of_all_users_are_kept_for_trend_charts(sample):
    journey, _, _ = sample
    result = journey.kpi_incidents(start="2026-08-24", end="2026-09-07")
    periods = result.periods.filter(pl.col("kpi") == "payment_success_rate")
    # the four days before the period serve as the first baseline
    assert periods["period"].min() == date(2026, 8, 20)
    assert periods["period"].max() == date(2026, 9, 6)
    events = journey.tables["events"].collect()
    day = events.filter(
        pl.col("timestamp").dt.convert_time_zone(journey.config.timezone).dt.date()
        == date(2026, 8, 30),
        pl.col("event").is_in(["order_completed", "payment_failed"]),
    )
    row = periods.filter(pl.col("period") == date(2026, 8, 30)).row(0, named=True)
    # independent count: the (local) day's payment attempts and successful ones
    assert row["users"] == day.height
    assert row["hits"] == day.filter(pl.col("event") == "order_completed").height


def test_a_kpi_that_is_not_a_rate_is_refused(sample):
    journey, _, _ = sample
    with pytest.raises(DataError, match="aov is a ratio where higher is better"):
        journey.kpi_incidents("aov")


def test_the_cli_lists_kpi_incidents_in_the_incidents_json(sample, capsys):
    journey, _, config = sample
    argv = ["incidents", config, "--grain", "day", "--kpi", "payment_success_rate"]
    argv += ["--start", "2026-08-24", "--end", "2026-09-07", "--format", "json"]
    assert main(argv) == 0
    listed = [item for item in json.loads(capsys.readouterr().out) if item["kpi"]]
    expected = journey.kpi_incidents(start="2026-08-24", end="2026-09-07").incidents
    assert [item["sentence"] for item in listed] == expected["sentence"].to_list()
    item = listed[0]
    assert (item["from_step"], item["to_step"]) == (None, None)
    assert (item["start"], item["end"]) == ("2026-08-30", "2026-09-04")
    assert item["segment"] == {"dimension": "platform", "value": "android"}


def test_the_incidents_a_two_week_reader_is_told_about_name_the_payment_incident(sample):
    journey, story, _ = sample
    first = date.fromisoformat(story.truth["first_day"])
    last = date.fromisoformat(story.truth["last_day"])
    found = journey.incidents_in("2026-08-24", "2026-09-07", filters={"platform": ["android"]})
    assert found.grain == "day"  # two weeks: by day
    payment = found.incidents.filter(pl.col("kpi") == "payment_success_rate")
    assert payment.height == 1
    incident = payment.row(0, named=True)
    assert (incident["start"], incident["end"]) == (first, last + timedelta(days=1))
    assert incident["rate"] < 0.7 < incident["baseline_rate"]
    # every listed incident overlaps the period
    assert (found.incidents["start"] < date(2026, 9, 7)).all()
    assert (found.incidents["end"] > date(2026, 8, 24)).all()
    # a period after the incident (its look-back past it) names no payment incident
    later = journey.incidents_in("2026-10-05", "2026-10-19", filters={"platform": ["android"]})
    assert later.incidents.filter(pl.col("kpi") == "payment_success_rate").height == 0


def test_the_dashboard_lists_and_shades_the_incidents_the_report_names(sample):
    from journeylib.dashboard.data import DashboardData
    from journeylib.dashboard.page import Dashboard

    journey, _, config_path = sample
    data = DashboardData(journey)
    view = data.default_view().changed(start=date(2026, 8, 24), end=date(2026, 9, 7))
    view = view.with_filter("platform", ["android"])
    shown = data.incidents(view)
    expected = journey.incidents_in(
        view.start, view.end, steps=list(view.steps), window=view.window, filters=view.filter_map
    )
    assert shown.incidents.equals(expected.incidents)
    sentence = expected.incidents.filter(pl.col("kpi") == "payment_success_rate")["sentence"][0]
    dashboard = Dashboard(data, config_path=config_path)
    dashboard.view = view
    dashboard._draw_trends()
    assert html.escape(sentence) in dashboard.trend_note.value
    dashboard._draw_friction()
    assert html.escape(sentence) in dashboard.friction_html.value

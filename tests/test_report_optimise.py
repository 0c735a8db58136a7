"""The report's optimisation findings on the default sample (50,000 users, seed 7): the
headline names the payment incident and the top friction point, the friction section and the
declared experiment's readout show, every data value escaped."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
import yaml
from story_free import Drop, journey_events

import journeylib
from journeylib.report import ReportContext, display
from journeylib.report._optimise_sections import finding_sentences
from journeylib.sample import generate_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory):
    result = generate_sample(tmp_path_factory.mktemp("lumen-50k"), users=50_000, seed=7)
    stories = {story.id: story for story in result.stories}
    return str(result.config_path), stories


@pytest.fixture
def shown(monkeypatch):
    """The bundles the report displays, in order (role, bundle, metadata)."""
    bundles: list[tuple[str, dict, dict]] = []

    def capture(data, role, **metadata):
        bundles.append((role, dict(data), metadata))

    monkeypatch.setattr(display, "show", capture)
    return bundles


def _week_36(config_path: str) -> ReportContext:
    return ReportContext.create(config_path, period="2026-08-31..2026-09-07")


def test_the_headline_names_the_payment_incident_and_the_top_friction_point(sample, shown):
    config_path, stories = sample
    truth = stories["android_payment_incident"].truth
    report = _week_36(config_path)
    report.show_headline()
    (role, bundle, _), *_ = shown
    assert role == "headline"
    text = bundle["text/plain"]
    # the incident began on the Sunday before the week and goes on into it: it is named
    assert "From 30 Aug to 3 Sep 2026, payment success rate on android fell from 96% to 62%" in (
        text
    )
    assert (truth["first_day"], truth["last_day"]) == ("2026-08-30", "2026-09-03")
    journey = journeylib.load(config_path)
    kpi = journey.kpi_incidents(start="2026-08-03", end="2026-09-07").incidents
    assert kpi.filter(pl.col("value") == "android")["sentence"].item() in text
    top = journey.friction(start="2026-08-31", end="2026-09-07").top_sentence()
    assert top in text
    assert top.startswith("The largest loss is at product_view → add_to_cart")
    assert "social converts worst there" in top


def test_the_friction_section_shows_tables_and_the_incident_chart(sample, shown):
    config_path, _ = sample
    report = _week_36(config_path)
    report.show_friction()
    roles = [role for role, _, _ in shown]
    assert roles[0] == "section"
    assert roles.count("table") >= 2
    charts = [meta for role, _, meta in shown if role == "chart"]
    # the incident chart is titled with the KPI's label and its unit in words
    assert any("Payment success rate (percent)" in str(meta) for meta in charts)
    incident = report._cache["incidents"]
    row = incident.incidents.filter(pl.col("kpi") == "payment_success_rate").row(0, named=True)
    periods = incident.series_of(row)
    assert periods.filter(pl.col("period") == date(2026, 8, 30))["rate"].item() == pytest.approx(
        11 / 17
    )


def test_the_declared_experiment_is_read_with_its_verdict_and_interval_bars(sample, shown):
    config_path, _ = sample
    report = _week_36(config_path)
    report.show_experiments()
    sections = [bundle for role, bundle, _ in shown if role == "section"]
    assert sections
    assert "Experiment checkout_test" in sections[0]["text/plain"]
    journey = journeylib.load(config_path)
    declared = journey.config.experiments["checkout_test"]
    expected = journey.experiment(
        declared.variant,
        declared.kpis,
        start=declared.start,
        control=declared.control,
        expected_split=declared.expected_split,
    )
    texts = [bundle["text/plain"] for role, bundle, _ in shown if role == "text"]
    assert texts == [readout.verdict for readout in expected.readouts]
    assert sum(role == "chart" for role, _, _ in shown) == len(declared.kpis)


def test_segment_values_are_escaped_in_the_headline_and_the_friction_tables(tmp_path, shown):
    hostile = "<img src=x onerror=alert(1)>"
    drop = Drop(step=4, first=70, last=74, factor=0.4, platform="android")
    events = journey_events(5, visitors_per_day=1500, days=98, drop=drop).with_columns(
        pl.col("platform").replace("android", hostile)
    )
    events.write_parquet(tmp_path / "events.parquet")
    config = {
        "name": "escaping",
        "sources": {"events": {"path": "events.parquet"}},
        "roles": {
            "visit": ["visit"],
            "product_view": ["view"],
            "add_to_cart": ["cart"],
            "checkout": ["checkout"],
            "purchase": ["purchase"],
        },
        "funnels": {
            "main": {"steps": ["visit", "product_view", "add_to_cart", "checkout", "purchase"]}
        },
    }
    path = Path(tmp_path / "journey.yml")
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    report = ReportContext.create(str(path), period="2026-03-16..2026-03-23")
    sentences = finding_sentences(report)
    assert any(hostile in s for s in sentences)
    report.show_headline()
    report.show_friction()
    markup = "".join(bundle.get("text/html", "") for _, bundle, _ in shown)
    assert hostile not in markup
    assert "&lt;img src=x onerror=alert(1)&gt;" in markup

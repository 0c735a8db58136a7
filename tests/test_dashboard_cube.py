"""The events' cube the dashboard's KPI pass starts from: the KPI table it gives is the table of
``Journey.kpis`` on the raw events, for every KPI, filter, breakdown, grain and period."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from journeylib import load
from journeylib.journey import Journey
from journeylib.kpis import REGISTRY
from journeylib.kpis._cube import build_cube


@pytest.fixture(scope="module")
def journey(tmp_path_factory: pytest.TempPathFactory) -> Journey:
    from journeylib.sample import generate_sample

    folder = tmp_path_factory.mktemp("cube-sample") / "sample"
    generate_sample(folder, users=3000, seed=11)
    return load(folder / "journey.yml")


@pytest.fixture(scope="module")
def cube(journey: Journey):
    return build_cube(journey.tables["events"], journey.config)


def _both(journey: Journey, cube, **options) -> tuple[pl.DataFrame, pl.DataFrame]:
    journey.cube = None
    try:
        raw = journey.kpis(**options)
        journey.cube = cube
        cubed = journey.kpis(**options)
    finally:
        journey.cube = None
    return raw, cubed


CASES = {
    "default weeks": {},
    "android": {"filters": {"platform": "android"}},
    "two channels": {"filters": {"channel": ["email", "social"]}},
    "platform and country": {"filters": {"platform": ["ios", "web"], "country": "DE"}},
    "campaign and variant": {
        "filters": {"campaign": "newsletter", "checkout_variant": "treatment"}
    },
    "days of the incident": {"grain": "day", "start": "2026-08-24", "end": "2026-09-07"},
    "months": {"grain": "month", "start": "2026-05-01", "end": "2026-11-01"},
    "months, android": {"grain": "month", "filters": {"platform": "android"}},
    "a partial week": {"start": "2026-09-02", "end": "2026-09-20"},
    "by channel": {"by": "channel", "start": "2026-08-03", "end": "2026-09-28"},
    "by platform, email": {"by": "platform", "filters": {"channel": "email"}, "grain": "month"},
    "by two dimensions": {"by": ["platform", "country"], "start": "2026-09-01", "grain": "month"},
    "whole data by day": {"grain": "day"},
}


@pytest.mark.parametrize("options", CASES.values(), ids=CASES.keys())
def test_the_cube_gives_the_kpi_table_of_the_events(journey, cube, options):
    raw, cubed = _both(journey, cube, **options)
    assert raw.height > 30
    assert raw["available"].sum() > 20  # the table holds numbers, not only "not available"
    assert_frame_equal(cubed, raw, check_exact=True)


def test_every_registered_kpi_is_the_same(journey, cube):
    names = [name for name in REGISTRY if name != "feature_adoption_rate"]
    names += ["feature_adoption_rate"]
    raw, cubed = _both(journey, cube, kpis=names, filters={"platform": "ios"}, grain="month")
    assert set(raw["kpi"].str.split("[").list.first()) == set(REGISTRY)
    assert_frame_equal(cubed, raw, check_exact=True)


def test_last_touch_breakdowns_are_the_same(journey, cube):
    config = journey.config.model_copy(update={"breakdown_touch": "last"})
    last = Journey(replace(journey._loaded, config=config))
    raw, cubed = _both(last, cube, by="channel", grain="week", start="2026-08-03")
    assert_frame_equal(cubed, raw, check_exact=True)
    first, _ = _both(journey, cube, by="channel", grain="week", start="2026-08-03")
    assert not first.equals(raw)  # the touch rule matters on this data


def test_a_filter_on_a_column_that_is_not_a_dimension_reads_the_events(journey, cube):
    names = journey.config.events_for("visit") + journey.config.events_for("purchase")
    filters = {"event": names}
    assert not cube.covers(journey.config, journey.tables["events"].collect_schema(), filters, ())
    raw, cubed = _both(journey, cube, filters=filters)
    assert_frame_equal(cubed, raw, check_exact=True)


def test_a_cube_of_another_config_is_not_used(journey, cube):
    schema = journey.tables["events"].collect_schema()
    other = journey.config.model_copy(update={"timezone": "America/New_York"})
    assert cube.covers(journey.config, schema, {"platform": ["ios"]}, ("channel",))
    assert not cube.covers(other, schema, {}, ())


def _story_free(tmp_path: Path) -> Journey:
    from story_free import journey_config, journey_events

    events = journey_events(4, days=70, visitors_per_day=60)
    path = tmp_path / "events.parquet"
    events.write_parquet(path)
    config = journey_config("Europe/Berlin")
    source = config.sources.events.model_copy(update={"path": path})
    sources = config.sources.model_copy(update={"events": source})
    return load(config.model_copy(update={"sources": sources}))


def test_events_without_session_ids_split_sessions_as_the_events_do(tmp_path):
    journey = _story_free(tmp_path)
    assert "session_id" not in journey.tables["events"].collect_schema()
    cube = build_cube(journey.tables["events"], journey.config)
    assert cube.sessions is None
    for options in ({}, {"filters": {"platform": "ios"}, "grain": "day"}, {"by": "channel"}):
        raw, cubed = _both(journey, cube, **options)
        assert_frame_equal(cubed, raw, check_exact=True)


def test_ties_in_time_take_the_first_event_of_the_data_as_the_events_do(tmp_path):
    from journeylib.config import config_from_dict

    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    later = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    events = pl.DataFrame(
        {
            "user_id": ["a", "a", "a", "b", "b", "c"],
            "timestamp": [at, at, later, at, at, later],
            "event": ["visit", "visit", "purchase", "visit", "visit", "visit"],
            "session_id": ["s1", "s1", "s2", "s3", "s4", None],
            "revenue": [None, None, 12.5, None, None, None],
            "channel": ["email", "ads", "ads", "ads", "email", "email"],
        }
    )
    path = tmp_path / "ties.parquet"
    events.write_parquet(path)
    config = config_from_dict(
        {
            "name": "ties",
            "sources": {"events": {"path": str(path)}},
            "roles": {"visit": ["visit"], "purchase": ["purchase"]},
        }
    )
    journey = load(config)
    cube = build_cube(journey.tables["events"], journey.config)
    for touch in ("first", "last"):
        touched = Journey(
            replace(journey._loaded, config=config.model_copy(update={"breakdown_touch": touch}))
        )
        options = {"by": "channel", "start": date(2026, 3, 2), "end": date(2026, 3, 3)}
        raw, cubed = _both(touched, cube, grain="day", **options)
        assert_frame_equal(cubed, raw, check_exact=True)
        visitors = raw.filter(pl.col("kpi") == "unique_visitors")
        assert visitors["value"].sum() == 3


def test_the_event_count_of_the_cube_is_the_events(journey, cube):
    from journeylib.periods.calendar import local_bound

    zone = journey.config.timezone
    events = journey.tables["events"]
    for filters, start, end in [
        ({}, date(2026, 8, 3), date(2026, 9, 28)),
        ({"platform": ["android"]}, date(2026, 8, 24), date(2026, 9, 7)),
        ({"channel": ["email", "social"], "country": ["DE"]}, date(2026, 6, 1), date(2026, 7, 1)),
    ]:
        low, high = local_bound(start, zone), local_bound(end, zone)
        expected = events.filter(pl.col("timestamp").is_between(low, high, closed="left"))
        for column, values in filters.items():
            expected = expected.filter(pl.col(column).is_in(values))
        count = expected.select(pl.len()).collect().item()
        assert count > 0
        assert cube.event_count(filters, low, high) == count

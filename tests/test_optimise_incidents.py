"""Incidents: planted drops found with their window, segment and loss; a naive per-period
reference agrees with the vectorised pass; keys stay stable as an incident grows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from scipy.stats import fisher_exact
from statsmodels.stats.proportion import proportions_ztest
from story_free import STEPS, Drop, journey_events

from journeylib.funnel.units import funnel_units
from journeylib.optimise import detect_incidents, detect_loops, incident_key

START = date(2026, 1, 5)  # a Monday


def units_of(events: pl.DataFrame, *, days: int = 182, dimensions=("platform", "channel")):
    return funnel_units(
        events.lazy(),
        steps=[[name] for name in STEPS],
        step_names=list(STEPS),
        start=datetime(2026, 1, 5, tzinfo=UTC),
        end=datetime(2026, 1, 5, tzinfo=UTC) + timedelta(days=days),
        window=timedelta(days=7),
        dimensions=list(dimensions),
    )


@pytest.fixture(scope="module")
def android_drop():
    # checkout -> purchase on android falls from 75% to 45% in week 10 (days 70 to 76)
    drop = Drop(step=4, first=70, last=76, factor=0.6, platform="android")
    return units_of(journey_events(3, visitors_per_day=400, drop=drop))


def test_a_planted_segment_drop_is_one_incident_with_its_window_and_segment(android_drop):
    result = detect_incidents(android_drop, grain="week")
    found = result.incidents.filter(pl.col("from_name") == "checkout")
    assert found.height == 1
    incident = found.row(0, named=True)
    assert (incident["dimension"], incident["value"]) == ("platform", "android")
    assert (incident["start"], incident["end"]) == (date(2026, 3, 16), date(2026, 3, 23))
    assert incident["baseline_rate"] == pytest.approx(0.75, abs=0.04)
    assert incident["rate"] == pytest.approx(0.45, abs=0.1)
    lost = incident["users"] * incident["baseline_rate"] - incident["converted"]
    assert incident["users_lost"] == pytest.approx(lost)
    assert incident["key"] == incident_key(
        "checkout", "purchase", "platform=android", incident["start"]
    )
    assert incident["sentence"].startswith(
        "From 16 Mar to 22 Mar 2026, checkout → purchase on android fell from "
    )
    assert "against the four weeks before; about" in incident["sentence"]
    assert incident["sentence"].endswith("buyers lost.")


def test_segments_most_affected_put_the_dropping_segment_first(android_drop):
    result = detect_incidents(android_drop, grain="week")
    key = result.incidents.filter(pl.col("from_name") == "checkout")["key"].item()
    top = result.segments.filter(pl.col("key") == key).row(0, named=True)
    assert (top["dimension"], top["value"]) == ("platform", "android")
    assert top["rate"] < top["baseline_rate"] - 0.2


def test_an_all_units_drop_over_two_weeks_merges_into_one_incident():
    drop = Drop(step=2, first=84, last=97, factor=0.7)
    result = detect_incidents(units_of(journey_events(5, drop=drop)), grain="week")
    found = result.incidents.filter(pl.col("from_name") == "view")
    assert found.height == 1
    incident = found.row(0, named=True)
    assert incident["dimension"] is None
    assert (incident["start"], incident["end"], incident["periods"]) == (
        date(2026, 3, 30),
        date(2026, 4, 13),
        2,
    )
    assert incident["relative_change"] == pytest.approx(-0.3, abs=0.06)


def test_a_significant_fall_below_ten_percent_is_not_an_incident():
    # a 6% relative fall on 3,000 visitors a day is significant but not an incident
    drop = Drop(step=1, first=70, last=76, factor=0.94)
    events = journey_events(6, visitors_per_day=3000, days=112, drop=drop)
    result = detect_incidents(units_of(events, days=112, dimensions=()), grain="week")
    week = result.periods.filter(pl.col("from_step") == 1, pl.col("period") == date(2026, 3, 16))
    assert week["p_value"].item() < 0.01
    assert not week["flagged"].item()
    assert result.incidents.filter(pl.col("from_step") == 1).height == 0


def _naive_reference(units, grain_days: int = 7, baseline: int = 4) -> pl.DataFrame:
    """Per transition and week: users, conversions, the 4 weeks before, statsmodels' z-test.

    Units count once their window closed; a week is tested by the z-test when both groups
    expect at least 5 conversions and 5 losses at the pooled rate, else by SciPy's Fisher
    exact test (the smaller one-sided p-value doubled)."""
    frame = units.units.to_dicts()
    counts: dict[tuple[int, date], list[int]] = {}
    for unit in frame:
        if unit["t_1"] + units.window > units.data_end:
            continue
        for step in range(1, 5):
            if unit["reached"] < step:
                continue
            day = unit[f"t_{step}"].date()
            week = day - timedelta(days=day.weekday())
            cell = counts.setdefault((step, week), [0, 0])
            cell[0] += 1
            cell[1] += unit["reached"] > step
    rows = []
    weeks = sorted({week for _, week in counts})
    for step in range(1, 5):
        for index, week in enumerate(weeks):
            users, hits = counts.get((step, week), [0, 0])
            before = [
                counts.get((step, w), [0, 0]) for w in weeks[max(0, index - baseline) : index]
            ]
            p_value = None
            if index >= baseline and users:
                base_users, base_hits = sum(b[0] for b in before), sum(b[1] for b in before)
                pooled = (hits + base_hits) / (users + base_users)
                smaller = min(users, base_users)
                if min(smaller * pooled, smaller * (1 - pooled)) >= 5:
                    _, p_value = proportions_ztest([hits, base_hits], [users, base_users])
                elif base_users:
                    table = [[hits, users - hits], [base_hits, base_users - base_hits]]
                    one_sided = [
                        fisher_exact(table, alternative=a).pvalue for a in ("less", "greater")
                    ]
                    p_value = min(1.0, 2 * min(one_sided))
            rows.append(
                {
                    "from_step": step,
                    "period": week,
                    "users": users,
                    "hits": hits,
                    "p_value": p_value,
                }
            )
    return pl.DataFrame(rows)


def test_the_vectorised_pass_agrees_with_a_naive_loop_per_period():
    units = units_of(journey_events(8, visitors_per_day=60, days=84), days=84, dimensions=())
    tested = detect_incidents(units, grain="week").periods
    reference = _naive_reference(units).sort("from_step", "period")
    ours = reference.select("from_step", "period").join(
        tested, on=["from_step", "period"], how="left"
    )
    # periods the reference does not know hold no unit
    extra = tested.join(reference, on=["from_step", "period"], how="anti")
    assert extra["users"].sum() == 0
    assert ours["users"].to_list() == reference["users"].to_list()
    assert ours["hits"].to_list() == reference["hits"].to_list()
    for mine, theirs in zip(ours["p_value"], reference["p_value"], strict=True):
        assert (mine is None) == (theirs is None)
        if mine is not None:
            assert mine == pytest.approx(theirs, rel=1e-9)


def test_an_incident_keeps_its_key_as_it_grows():
    drop = Drop(step=4, first=70, last=90, factor=0.5)
    events = journey_events(9, drop=drop)
    # the first week of the drop is complete once its users' windows closed
    early = events.filter(pl.col("timestamp") < datetime(2026, 3, 31, tzinfo=UTC))
    first = detect_incidents(units_of(early, days=85), grain="week").incidents
    later = detect_incidents(units_of(events), grain="week").incidents
    first = first.filter(pl.col("from_step") == 4)
    later = later.filter(pl.col("from_step") == 4)
    assert first["key"].to_list() == later["key"].to_list()
    assert later["periods"].item() > first["periods"].item()


def test_incidents_start_and_end_filter_by_start_only():
    drop = Drop(step=4, first=70, last=76, factor=0.5)
    units = units_of(journey_events(3, drop=drop))
    start = date(2026, 3, 16)
    key = incident_key("checkout", "purchase", None, start)
    assert key in detect_incidents(units, grain="week").incidents["key"].to_list()
    after = detect_incidents(units, grain="week", start=start + timedelta(days=1)).incidents
    assert key not in after["key"].to_list()
    assert (after["start"] >= start + timedelta(days=1)).all()
    before = detect_incidents(units, grain="week", end=start + timedelta(days=1)).incidents
    assert key in before["key"].to_list()
    assert (before["start"] < start + timedelta(days=1)).all()


def test_a_rising_way_back_is_a_loop():
    events = journey_events(4, days=112)
    # in weeks 10 and 11, a third of the users at checkout view a product again afterwards
    checkout = events.filter(
        pl.col("event") == "checkout",
        pl.col("timestamp").is_between(
            datetime(2026, 3, 16, tzinfo=UTC), datetime(2026, 3, 30, tzinfo=UTC), closed="left"
        ),
    ).sample(fraction=1 / 3, seed=1)
    back = checkout.with_columns(
        pl.lit("view").alias("event"), pl.col("timestamp") + timedelta(minutes=1)
    )
    looped = pl.concat([events, back]).sort("timestamp")
    result = detect_loops(looped.lazy(), units_of(looped, days=112, dimensions=()), grain="week")
    loops = result.loops.filter(pl.col("from_name") == "checkout", pl.col("to_name") == "view")
    assert loops.height == 1
    loop = loops.row(0, named=True)
    assert (loop["start"], loop["end"]) == (date(2026, 3, 16), date(2026, 3, 30))
    assert loop["rate"] == pytest.approx(1 / 3, abs=0.05)
    assert loop["sentence"].startswith("From 16 Mar to 29 Mar 2026, ")


def test_a_segment_incident_within_an_incident_of_all_units_is_shown_among_its_segments():
    # checkout -> purchase falls for everyone in weeks 11-12 (days 70-83), most on android;
    # android alone again in week 19 (days 126-132); view -> cart on ios in week 11
    drops = [
        Drop(step=4, first=70, last=83, factor=0.8),
        Drop(step=4, first=70, last=83, factor=0.6, platform="android"),
        Drop(step=4, first=126, last=132, factor=0.6, platform="android"),
        Drop(step=2, first=70, last=76, factor=0.6, platform="ios"),
    ]
    result = detect_incidents(units_of(journey_events(3, visitors_per_day=400, drop=drops)))
    week_11, week_19 = START + timedelta(weeks=10), START + timedelta(weeks=18)
    android = result.series.filter(
        pl.col("from_step") == 4, pl.col("value") == "android", pl.col("flagged")
    )
    # android's own series is flagged in the weeks of the incident of all units...
    assert android.filter(pl.col("period") < week_11 + timedelta(weeks=2)).height == 2
    found = result.incidents.filter(pl.col("start").is_in([week_11, week_19]))
    keys = found["key"].to_list()
    # ... but it is one incident, of all units, whose segments most affected start with android
    assert f"checkout→purchase|all|{week_11}" in keys
    assert f"checkout→purchase|platform=android|{week_11}" not in keys
    everyone = found.filter(pl.col("dimension").is_null(), pl.col("from_step") == 4).row(
        0, named=True
    )
    assert everyone["end"] == week_11 + timedelta(weeks=2)
    first = result.segments.filter(pl.col("key") == everyone["key"]).row(0, named=True)
    assert (first["dimension"], first["value"]) == ("platform", "android")
    assert first["rate"] < 0.75 * 0.8 * 0.6 + 0.1
    # a segment incident with no incident of all units at its time is listed on its own, and
    # one on another transition at the same time too
    assert f"checkout→purchase|platform=android|{week_19}" in keys
    assert f"view→cart|platform=ios|{week_11}" in keys

"""The sample company's stories, found by the engine: the android payment incident (window,
platform, effect) and the checkout A/B test's lift, within their stories' tolerance."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

import journeylib
from journeylib.sample import generate_sample

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory):
    """200,000 users: the five incident days hold about 550 android checkout sessions."""
    result = generate_sample(tmp_path_factory.mktemp("lumen-200k"), users=200_000, seed=7)
    stories = {story.id: story for story in result.stories}
    return journeylib.load(result.config_path), stories


def test_the_android_payment_incident_is_found_in_its_week_on_android(sample):
    journey, stories = sample
    story = stories["android_payment_incident"]
    first = date.fromisoformat(story.truth["first_day"])
    last = date.fromisoformat(story.truth["last_day"])
    found = journey.incidents(grain="week", unit="session_id").incidents.filter(
        pl.col("from_name") == "checkout", pl.col("to_name") == "purchase"
    )
    overlapping = found.filter(pl.col("start") <= last, pl.col("end") > first)
    assert overlapping.height == 1
    incident = overlapping.row(0, named=True)
    assert (incident["dimension"], incident["value"]) == ("platform", "android")
    # the ISO week holding four of the five incident days
    assert incident["start"] <= last
    assert incident["end"] - incident["start"] == timedelta(days=7)
    realised = story.realised
    before = realised["checkout_session_to_order_android_outside"]
    during = realised["checkout_session_to_order_android_during"]
    assert incident["baseline_rate"] == pytest.approx(before, abs=0.03)
    # the week mixes four incident days with three ordinary ones: its rate lies between the
    # story's two rates, at least half of the fall below the ordinary one
    assert during - 0.02 <= incident["rate"] <= before - 0.5 * (before - during)
    assert incident["sentence"].startswith("From 31 Aug to 6 Sep 2026, checkout → purchase on ")
    other = found.filter(
        pl.col("value").is_in(["web", "ios"]), pl.col("start") <= last, pl.col("end") > first
    )
    assert other.is_empty()


def test_the_android_incident_shows_at_daily_grain_on_its_first_day(sample):
    journey, stories = sample
    story = stories["android_payment_incident"]
    first = date.fromisoformat(story.truth["first_day"])
    last = date.fromisoformat(story.truth["last_day"])
    found = journey.incidents(grain="day", unit="session_id")
    checkout = found.incidents.filter(
        pl.col("from_name") == "checkout", pl.col("start") >= first, pl.col("start") <= last
    )
    assert checkout.height >= 1
    key = checkout["key"][0]
    top = found.segments.filter(pl.col("key") == key).row(0, named=True)
    assert (top["dimension"], top["value"]) == ("platform", "android")


def test_the_checkout_ab_test_lift_is_found_without_sample_ratio_mismatch(sample):
    journey, stories = sample
    story = stories["checkout_ab_test"]
    result = journey.experiment("checkout_variant", "conversion_rate")
    assert not result.srm.flagged
    assert result.assigned == {
        "control": story.realised["users_control"],
        "treatment": story.realised["users_treatment"],
    }
    row = result.readouts[0].comparisons.row(0, named=True)
    # designed: +10% per checkout session; per user somewhat less (users retry across sessions)
    assert 0.02 < row["relative_lift"] < 0.2
    assert row["lift_ci_low"] > 0
    assert row["winner"] == "treatment"
    assert result.readouts[0].verdict.startswith("treatment beats control on conversion_rate")

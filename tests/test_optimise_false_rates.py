"""False alarms on story-free journeys (no effect planted), over many seeds.

- incidents: at most 1 false incident per 50 transition-months (tested months of the four
  transitions), at weekly and daily grain, on 50 seeded half-years of 300 visitors a day
  (and a planted five-day drop is still found at daily grain);
- KPI incidents: at most 1 false incident of ``payment_success_rate`` per 50 KPI-months
  (tested months of the KPI for all users; its segments by platform and channel tested too),
  at daily and weekly grain, on the same 50 half-years with failed payment attempts (about 34
  attempts a day, 4% of them failing);
- experiments: at most 5% of A/A tests (a fair coin, no lift) end with a winner, read once at
  the end, and at most 5% ever show one when the sequential readout is looked at every day.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from story_free import Drop, journey_config, journey_events
from test_optimise_incidents import units_of

from journeylib.optimise import detect_incidents, read_experiment
from journeylib.optimise.kpi_incidents import detect_kpi_incidents, kpi_rate_series

pytestmark = pytest.mark.slow

SEEDS = range(1000, 1050)
START = date(2026, 1, 5)


@pytest.fixture(scope="module")
def story_free_units():
    return [
        units_of(journey_events(seed, visitors_per_day=300, days=182), days=182) for seed in SEEDS
    ]


@pytest.mark.parametrize(("grain", "days"), [("week", 7), ("day", 1)])
def test_false_incidents_stay_at_most_one_per_fifty_transition_months(
    story_free_units, grain, days
):
    false_incidents, tested_periods = 0, 0
    for units in story_free_units:
        result = detect_incidents(units, grain=grain)
        false_incidents += result.incidents.height
        tested_periods += result.periods["p_value"].is_not_null().sum()
    transition_months = tested_periods * days / 30.44
    rate = false_incidents / transition_months
    print(
        f"{grain}: {false_incidents} false incidents in {transition_months:.0f} transition-months"
    )
    assert transition_months > 900
    assert rate <= 1 / 50


@pytest.fixture(scope="module")
def story_free_payments():
    """Per grain, each seed's ``payment_success_rate`` series (all users, platform, channel)."""
    config = journey_config(payments=True)
    journeys = [
        journey_events(seed, visitors_per_day=300, days=182, payments=True).lazy() for seed in SEEDS
    ]
    return {
        grain: [
            kpi_rate_series(
                {"events": events},
                config,
                kpis=("payment_success_rate",),
                grain=grain,
                start=START,
                end=START + timedelta(days=182),
                dimensions=["platform", "channel"],
            )
            for events in journeys
        ]
        for grain in ("day", "week")
    }


@pytest.mark.parametrize(("grain", "days"), [("day", 1), ("week", 7)])
def test_false_kpi_incidents_stay_at_most_one_per_fifty_kpi_months(
    story_free_payments, grain, days
):
    false_incidents, tested_periods, flagged = 0, 0, 0
    for series in story_free_payments[grain]:
        result = detect_kpi_incidents(series, grain=grain)
        false_incidents += result.incidents.height
        tested_periods += result.periods["p_value"].is_not_null().sum()
        flagged += result.series["flagged"].sum()
    kpi_months = tested_periods * days / 30.44
    print(
        f"payment_success_rate by {grain}: {false_incidents} false incidents in "
        f"{kpi_months:.0f} KPI-months ({len(story_free_payments[grain])} seeds; {flagged} "
        "periods of all users or a segment flagged on their own)"
    )
    assert kpi_months > 250
    assert false_incidents / kpi_months <= 1 / 50


def test_a_planted_five_day_drop_is_found_at_daily_grain_with_its_days():
    # checkout -> purchase on android falls from 75% to 45% on days 70-74 (16-20 Mar 2026),
    # about 55 android checkouts a day: the incident lasts, so two days suffice to call it
    drop = Drop(step=4, first=70, last=74, factor=0.6, platform="android")
    units = units_of(journey_events(5, visitors_per_day=1500, days=98, drop=drop), days=98)
    found = detect_incidents(units, grain="day").incidents.filter(pl.col("from_step") == 4)
    assert found.height == 1
    incident = found.row(0, named=True)
    # the baseline skips flagged days, and an open incident goes on at the plain alpha: the
    # five days are found as one incident, not cut short by its own first days
    assert (incident["start"], incident["end"]) == (
        START + timedelta(days=70),
        START + timedelta(days=75),
    )
    assert (incident["dimension"], incident["value"]) == ("platform", "android")
    assert incident["rate"] == pytest.approx(0.75 * 0.6, abs=0.08)


def _readout(seed: int, days: int, *, sequential: bool, end_day: int | None = None):
    events = journey_events(seed, visitors_per_day=200, days=days).lazy()
    end = START + timedelta(days=end_day or days)
    result = read_experiment(
        {"events": events},
        journey_config(),
        variant="variant",
        kpis=["conversion_rate"],
        start=START,
        end=end,
        sequential=sequential,
    )
    return result.readouts[0].comparisons.row(0, named=True)


def test_a_and_a_tests_read_once_call_at_most_five_percent_winners():
    rows = [_readout(seed, 28, sequential=False) for seed in range(2000, 2100)]
    winners = sum(row["winner"] is not None for row in rows)
    significant = sum(row["p_value"] < 0.05 for row in rows)
    print(f"A/A read once: {winners} winners, {significant} p < 0.05, of {len(rows)}")
    assert winners <= 5
    # the test itself is not blind: about alpha of the A/A tests are nominally significant
    assert 1 <= significant <= 12


def test_sequential_readouts_looked_at_daily_call_at_most_five_percent_winners():
    ever_winner, ever_excluded_zero, fixed_ever_significant = 0, 0, 0
    seeds = range(3000, 3050)
    for seed in seeds:
        events = journey_events(seed, visitors_per_day=200, days=28).lazy()
        winner = excluded = fixed = False
        for day in range(7, 29):
            result = read_experiment(
                {"events": events},
                journey_config(),
                variant="variant",
                kpis=["conversion_rate"],
                start=START,
                end=START + timedelta(days=day),
                sequential=True,
            )
            row = result.readouts[0].comparisons.row(0, named=True)
            winner |= row["winner"] is not None
            excluded |= not row["lift_ci_low"] <= 0 <= row["lift_ci_high"]
            fixed |= row["fixed_p_value"] < 0.05
        ever_winner += winner
        ever_excluded_zero += excluded
        fixed_ever_significant += fixed
    print(
        f"daily peeks over {len(seeds)} A/A tests: {ever_winner} winners, "
        f"{ever_excluded_zero} always-valid intervals ever excluding 0, "
        f"{fixed_ever_significant} fixed-horizon p < 0.05 at some peek"
    )
    assert ever_winner <= 0.05 * len(seeds)
    assert ever_excluded_zero <= 0.05 * len(seeds)
    # peeking at the fixed-horizon p-value daily is the trap the sequential interval avoids
    assert fixed_ever_significant > ever_excluded_zero


def test_a_planted_lift_is_called_a_winner():
    events = journey_events(4000, visitors_per_day=2000, days=56, treatment_lift=0.15).lazy()
    result = read_experiment(
        {"events": events},
        journey_config(),
        variant="variant",
        kpis=["conversion_rate"],
        start=START,
        end=START + timedelta(days=56),
    )
    row = result.readouts[0].comparisons.row(0, named=True)
    assert row["winner"] == "treatment"
    assert row["relative_lift"] == pytest.approx(0.15, abs=0.05)
    assert row["lift_ci_low"] > 0

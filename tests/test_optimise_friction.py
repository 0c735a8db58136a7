"""Friction: transitions ranked by users lost, worse segments against statsmodels' z-test with
Holm, what dropped users did next, and funnel correlation against statsmodels' odds ratio."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest
from story_free import journey_events
from test_optimise_incidents import units_of

from journeylib.funnel import compute_funnel
from journeylib.funnel.units import funnel_units
from journeylib.optimise import LEFT, correlation, friction, next_events

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def literal_units(rows: list[tuple], dimensions=("platform",)):
    frame = pl.LazyFrame(
        rows,
        schema={
            "user_id": pl.String,
            "timestamp": pl.Datetime("us", "UTC"),
            "event": pl.String,
            "platform": pl.String,
        },
        orient="row",
    )
    units = funnel_units(
        frame,
        steps=[["view"], ["cart"], ["buy"]],
        step_names=["view", "cart", "buy"],
        start=T0,
        end=T0 + timedelta(days=1),
        window=timedelta(hours=1),
        dimensions=list(dimensions),
        data_end=T0 + timedelta(days=2),
    )
    return frame, units


ROWS = [
    ("a", at(0), "view", "web"),
    ("a", at(1), "cart", "web"),
    ("a", at(2), "buy", "web"),
    ("b", at(0), "view", "web"),
    ("b", at(1), "cart", "web"),
    ("b", at(5), "help", "web"),
    ("c", at(0), "view", "ios"),
    ("c", at(3), "search", "ios"),
    ("c", at(4), "help", "ios"),
    ("d", at(0), "view", "ios"),
    ("e", at(0), "view", "ios"),
    ("e", at(2), "cart", "ios"),
    ("e", at(90), "help", "ios"),
]


def test_transitions_are_ranked_by_users_lost():
    _, units = literal_units(ROWS)
    table = friction(units, min_users=1).transitions
    assert table.select("rank", "from_name", "to_name", "users", "converted", "lost").rows() == [
        (1, "view", "cart", 5, 3, 2),
        (2, "cart", "buy", 3, 1, 2),
    ]


def test_next_events_of_dropped_users_with_left_for_nothing_in_the_window():
    frame, units = literal_units(ROWS)
    found = next_events(frame, units)
    at_view = dict(found.filter(pl.col("from_step") == 1).select("next_event", "users").rows())
    assert at_view == {"search": 1, LEFT: 1}
    # e's help comes 88 minutes after its cart: outside the one-hour window, so e left
    at_cart = dict(found.filter(pl.col("from_step") == 2).select("next_event", "users").rows())
    assert at_cart == {"help": 1, LEFT: 1}
    assert found.filter(pl.col("from_step") == 2)["share"].to_list() == [0.5, 0.5]


def test_friction_agrees_with_compute_funnel_drop_off():
    events = journey_events(21, days=60)
    units = units_of(events, days=60)
    table = friction(units).transitions.sort("from_step")
    steps = compute_funnel(
        events.lazy(),
        steps=[[n] for n in ("visit", "view", "cart", "checkout", "purchase")],
        start=T0,
        end=T0 + timedelta(days=60),
        window=timedelta(days=7),
    ).steps
    assert table["lost"].to_list() == steps["drop_off"].to_list()[1:]


def test_a_planted_worse_segment_is_found_with_statsmodels_numbers():
    events = journey_events(22, days=60)
    # android users view a product 30% less often: drop 30% of their view events
    rng = np.random.default_rng(0)
    drop = (
        (events["event"] == "view")
        & (events["platform"] == "android")
        & pl.Series(rng.random(events.height) < 0.3)
    )
    events = events.filter(~drop)
    result = friction(units_of(events, days=60))
    worse = result.worse
    assert worse.select("from_name", "dimension", "value").row(0) == (
        "visit",
        "platform",
        "android",
    )
    row = worse.row(0, named=True)
    others = row["others_users"]
    _, expected = proportions_ztest(
        [row["converted"], round(row["others_rate"] * others)], [row["users"], others]
    )
    assert row["p_value"] == pytest.approx(expected, rel=1e-9)
    _, holm, _, _ = multipletests(result.segments["p_value"].to_list(), method="holm")
    assert result.segments["p_value_adjusted"].to_list() == pytest.approx(list(holm), rel=1e-12)
    assert row["relative_difference"] == pytest.approx(-0.3, abs=0.05)
    assert row["users_lost"] == pytest.approx(row["users"] * (row["others_rate"] - row["rate"]))
    assert worse.filter(pl.col("dimension") == "channel").is_empty()


def test_correlation_odds_ratios_equal_statsmodels_and_exclude_the_steps():
    events = journey_events(23, days=60)
    # users who hit an error at the cart step rarely check out
    carts = events.filter(pl.col("event") == "cart").sample(fraction=0.2, seed=3)
    errors = carts.with_columns(
        pl.lit("error").alias("event"), pl.col("timestamp") + timedelta(seconds=1)
    )
    blocked = errors.select("user_id")
    events = (
        pl.concat([events, errors])
        .filter(
            ~(
                pl.col("event").is_in(["checkout", "purchase"])
                & pl.col("user_id").is_in(blocked["user_id"].implode())
            )
        )
        .sort("timestamp")
    )
    units = units_of(events, days=60)
    found = correlation(events.lazy(), units)
    assert not found["value"].is_in(["visit", "view", "cart", "checkout", "purchase"]).any()
    error = found.filter(pl.col("value") == "error").row(0, named=True)
    assert error["direction"] == "lowers"
    finished = units.units.filter((pl.col("reached") == 5) | ~pl.col("in_progress"))
    total, converted = finished.height, int((finished["reached"] == 5).sum())
    a = error["converted"]
    b = error["users"] - a
    cells = np.array([[a, b], [converted - a, total - error["users"] - converted + a]], float)
    if cells.min() == 0:
        cells += 0.5  # Haldane: 0.5 added to every cell when one is empty
    table = Table2x2(cells, shift_zeros=False)
    assert error["odds_ratio"] == pytest.approx(table.oddsratio, rel=1e-9)
    assert error["p_value"] == pytest.approx(table.oddsratio_pvalue(), rel=1e-9)
    assert found.row(0, named=True)["value"] == "error"

"""The per-unit funnel frame agrees with compute_funnel exactly, on every matching path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from journeylib.errors import SchemaError
from journeylib.funnel import compute_funnel
from journeylib.funnel.units import UNIT_KEY, funnel_units

START, END = datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 20, tzinfo=UTC)
WINDOW = timedelta(days=3)


def generated_events(seed: int, n_events: int = 60_000, n_users: int = 1_500) -> pl.DataFrame:
    """Coarse times (many ties), rows shuffled, a per-user and a per-event dimension."""
    rng = np.random.default_rng(seed)
    minutes = rng.integers(0, 30 * 24 * 6, n_events) * 10
    names = np.array(["view", "cart", "checkout", "pay", "other"])
    users = rng.integers(0, n_users, n_events)
    platforms = np.array(["web", "ios", "android"])[users % 3]
    channel = np.array(["seo", "ads", None], dtype=object)[rng.integers(0, 3, n_events)]
    return pl.DataFrame(
        {
            "user_id": pl.Series(users).cast(pl.String),
            "timestamp": pl.Series(minutes * 60_000_000).cast(pl.Datetime("us", "UTC"))
            + timedelta(days=20454),
            "event": names[rng.choice(5, n_events, p=[0.4, 0.25, 0.15, 0.1, 0.1])],
            "platform": platforms,
            "channel": pl.Series(channel, dtype=pl.String),
        }
    ).sample(fraction=1.0, shuffle=True, seed=seed)


DISJOINT = [["view"], ["cart"], ["checkout"], ["pay"]]
SHARED = [["view"], ["view", "cart"], ["cart"], ["view"]]


@pytest.mark.parametrize(
    ("steps", "options"),
    [
        (DISJOINT, {}),
        (DISJOINT, {"attempt": "best"}),
        (DISJOINT, {"strict": True}),
        (DISJOINT, {"exclude": ["other"]}),
        (SHARED, {}),
    ],
    ids=["dense", "best", "strict", "exclude", "shared-names"],
)
@pytest.mark.parametrize("seed", [1, 2])
def test_counts_per_step_equal_compute_funnel(steps, options, seed):
    events = generated_events(seed).lazy()
    # the last timestamp is inside the windows of the latest entries: units in progress
    data_end = END + timedelta(days=1)
    arguments = {"steps": steps, "start": START, "end": END, "window": WINDOW, **options}
    ours = funnel_units(events, data_end=data_end, **arguments).step_counts()
    theirs = compute_funnel(events, data_end=data_end, **arguments).steps
    assert ours["users"].to_list() == theirs["users"].to_list()
    assert ours["in_progress"].to_list() == theirs["in_progress"].to_list()
    if steps == DISJOINT:
        assert sum(ours["in_progress"]) > 0


@pytest.mark.parametrize(("steps", "options"), [(DISJOINT, {}), (SHARED, {"attempt": "best"})])
def test_one_dimension_equals_the_breakdown_of_compute_funnel(steps, options):
    events = generated_events(3).lazy()
    arguments = {"steps": steps, "start": START, "end": END, "window": WINDOW, **options}
    units = funnel_units(events, dimensions=["channel"], **arguments).units
    ours = (
        units.group_by("channel")
        .agg(*(((pl.col("reached") >= k).sum()).alias(str(k)) for k in range(1, 5)))
        .sort("channel", nulls_last=True)
    )
    theirs = compute_funnel(events, breakdown="channel", **arguments).steps
    for row in ours.iter_rows(named=True):
        expected = theirs.filter(pl.col("channel").eq_missing(row["channel"]))["users"]
        assert [row[str(k)] for k in range(1, 5)] == expected.to_list()


@pytest.mark.parametrize(("steps", "options"), [(DISJOINT, {}), (DISJOINT, {"strict": True})])
def test_several_dimensions_and_the_unit_value_ride_along(steps, options):
    events = generated_events(4)
    result = funnel_units(
        events.lazy(),
        steps=steps,
        start=START,
        end=END,
        window=WINDOW,
        dimensions=["platform", "channel"],
        **options,
    )
    units = result.units
    assert units["user_id"].n_unique() == units.height
    # platform is a property of the user here: it must come back as the user's own
    expected = np.array(["web", "ios", "android"])[units["user_id"].cast(pl.Int64) % 3]
    assert units["platform"].to_list() == expected.tolist()
    assert units[UNIT_KEY].to_list() == units["user_id"].hash(seed=0).to_list()
    # the entry's channel: the value on one of the user's step-1 events at its entry time
    entries = events.filter(pl.col("event") == "view").select(
        "user_id", pl.col("timestamp").alias("entry_time"), "channel"
    )
    found = units.select("user_id", "entry_time", "channel").join(
        entries, on=["user_id", "entry_time", "channel"], nulls_equal=True, how="semi"
    )
    assert found.height == units.height


def test_times_of_each_step_are_in_order_and_null_past_the_step_reached():
    units = funnel_units(
        generated_events(5).lazy(), steps=DISJOINT, start=START, end=END, window=WINDOW
    ).units
    for step in range(2, 5):
        reached = units.filter(pl.col("reached") >= step)
        assert (reached[f"t_{step}"] >= reached[f"t_{step - 1}"]).all()
        assert (reached[f"t_{step}"] <= reached["t_1"] + WINDOW).all()
        assert units.filter(pl.col("reached") < step)[f"t_{step}"].null_count() == (
            units.filter(pl.col("reached") < step).height
        )


def test_a_missing_dimension_names_it_and_the_columns_found():
    with pytest.raises(SchemaError, match=r"(?s)dimension column .country.*columns found"):
        funnel_units(
            generated_events(1).lazy(),
            steps=DISJOINT,
            start=START,
            end=END,
            dimensions=["country"],
        )

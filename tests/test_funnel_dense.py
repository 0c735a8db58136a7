"""The dense first-attempt funnel path gives exactly what the general matcher gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from test_funnel import random_events

import journeylib.funnel
from journeylib._funnel_dense import dense_applies, match_first_attempts
from journeylib._funnel_match import SEGMENT, UNIT, add_order_key, match_units
from journeylib.funnel import compute_funnel

START = datetime(2026, 3, 2, tzinfo=UTC)
END = datetime(2026, 3, 4, tzinfo=UTC)
STEPS = [["a", "e"], ["b"], ["c", "d"]]
NAMES = sorted({name for step in STEPS for name in step})
# funnels the dense path takes: several names a step, one step, names out of alphabetical order
DENSE_FUNNELS = [STEPS, [["b"]], [["d"], ["a"], ["e", "b"]]]


@pytest.mark.parametrize(
    ("steps", "options", "expected"),
    [
        (STEPS, {}, True),
        ([["a"], ["b", "a"]], {}, False),  # a name in two steps
        ([["a"], ["a"]], {}, False),
        ([["a"], ["b"]], {"best": True}, False),
        ([["a"], ["b"]], {"strict": True}, False),
        ([["a"], ["b"]], {"exclude": ["x"]}, False),
        ([["a", "a"], ["b"]], {}, True),  # a name listed twice in one step is one name
    ],
)
def test_dense_applies(steps, options, expected):
    arguments = {"best": False, "strict": False, "exclude": (), **options}
    assert dense_applies(steps, **arguments) is expected


def _keyed(rows: list[tuple], segmented: bool, ordered: bool, names: list[str]) -> pl.LazyFrame:
    frame = pl.DataFrame(
        {
            UNIT: [row[0] for row in rows],
            "timestamp": [START + timedelta(hours=row[1]) for row in rows],
            "event": [row[2] for row in rows],
            SEGMENT: [row[3] for row in rows],
        },
        schema={
            UNIT: pl.UInt64,
            "timestamp": pl.Datetime("us", "UTC"),
            "event": pl.String,
            SEGMENT: pl.String,
        },
    )
    if ordered:
        frame = frame.sort("timestamp", maintain_order=True)
    if not segmented:
        frame = frame.drop(SEGMENT)
    return add_order_key(frame.lazy(), names)


ROW = st.tuples(
    st.integers(1, 4),
    st.integers(-3, 72),  # before the start, inside, after the end and past the window
    st.sampled_from([*NAMES, "x"]),
    st.sampled_from(["ios", "web", None]),
)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(ROW, max_size=40),
    window_hours=st.sampled_from([0, 5, 24]),
    segmented=st.booleans(),
    ordered=st.booleans(),
    stream=st.booleans(),
    steps=st.sampled_from(DENSE_FUNNELS),
)
def test_dense_matches_the_general_matcher(rows, window_hours, segmented, ordered, stream, steps):
    names = sorted({name for step in steps for name in step})
    keyed = _keyed(rows, segmented, ordered, names)
    options = {
        "steps": steps,
        "funnel_names": names,
        "start": START,
        "end": END,
        "window": timedelta(hours=window_hours),
    }
    general, _ = match_units(keyed, best=False, strict=False, exclude=[], **options)
    dense, _ = match_first_attempts(keyed, stream=stream, **options)
    assert_frame_equal(dense.sort(UNIT), general.sort(UNIT), check_exact=True)


@pytest.mark.parametrize("stream", [False, True], ids=["in-memory", "streaming"])
@pytest.mark.parametrize("ordered", [True, False], ids=["time-ordered", "shuffled"])
@pytest.mark.parametrize("options", [{}, {"breakdown": "segment"}, {"trend_grain": "week"}])
def test_whole_funnel_table_is_the_same_on_both_paths(monkeypatch, ordered, options, stream):
    events = random_events(seed=3, n_events=40_000, n_users=1_500)
    events = events.with_columns(
        segment=pl.col("user_id").str.slice(-1).replace({"1": None}),
    )
    if ordered:
        events = events.sort("timestamp")
    arguments = {
        "steps": [["view"], ["cart", "other"], ["checkout"], ["pay"]],
        "start": datetime(2026, 1, 5, tzinfo=UTC),
        "end": datetime(2026, 1, 20, tzinfo=UTC),
        "window": timedelta(days=2),
        **options,
    }
    # a threshold of 0 events sends every funnel down the streaming reads
    monkeypatch.setattr(journeylib.funnel, "STREAM_EVENTS", 0 if stream else 10**12)
    dense = compute_funnel(events.lazy(), **arguments)
    monkeypatch.setattr(journeylib.funnel, "dense_applies", lambda *_, **__: False)
    general = compute_funnel(events.lazy(), **arguments)
    assert dense.steps.filter(pl.col("step") == 1)["users"].sum() > 1000
    assert dense.in_progress == general.in_progress
    assert_frame_equal(dense.steps, general.steps, check_exact=True)

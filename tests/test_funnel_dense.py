"""The dense first-attempt funnel path gives exactly what the general matcher gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba.typed import List
from polars.testing import assert_frame_equal
from test_funnel import random_events

import journeylib.funnel._dense
import journeylib.funnel.compute
from journeylib.funnel import compute_funnel
from journeylib.funnel._dense import dense_applies, match_first_attempts
from journeylib.funnel._match import SEGMENT, UNIT, add_order_key, event_code, match_units

START = datetime(2026, 3, 2, tzinfo=UTC)
END = datetime(2026, 3, 4, tzinfo=UTC)
STEPS = [["a", "e"], ["b"], ["c", "d"]]
NAMES = sorted({name for step in STEPS for name in step})
# funnels the dense path takes: several names a step, one step, names out of alphabetical order
# (the last: the smallest name, code 0, in step 3, where a tie with step 2 must still count)
DENSE_FUNNELS = [STEPS, [["b"]], [["d"], ["a"], ["e", "b"]], [["b"], ["c"], ["a"]]]


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


def _events(rows: list[tuple], segmented: bool, ordered: bool) -> pl.LazyFrame:
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
    return frame.lazy()


# how the events are read and split: (rows a batch, bits of the partition, rows a block);
# the first is the default, the others put every batch of one row or two in its own block, and
# all units in one or two partitions
LAYOUTS = [(None, 7, 1 << 23), (1, 1, 1), (2, 0, 3)]
LAYOUT_IDS = ["default", "one-row-batches", "one-partition"]


def _layout(monkeypatch: pytest.MonkeyPatch, layout: tuple) -> int | None:
    chunk_size, partition_bits, block_rows = layout
    monkeypatch.setattr(journeylib.funnel._dense, "PARTITION_BITS", partition_bits)
    monkeypatch.setattr(journeylib.funnel._dense, "BLOCK_ROWS", block_rows)
    return chunk_size


ROW = st.tuples(
    # small hashes (all in the first partition) and hashes with the top bit set
    st.sampled_from([1, 2, 3, 4, 2**63, 2**63 + 1, 2**64 - 1]),
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
    layout=st.sampled_from(LAYOUTS),
    steps=st.sampled_from(DENSE_FUNNELS),
)
def test_dense_matches_the_general_matcher(rows, window_hours, segmented, ordered, layout, steps):
    names = sorted({name for step in steps for name in step})
    events = _events(rows, segmented, ordered)
    options = {
        "steps": steps,
        "funnel_names": names,
        "start": START,
        "end": END,
        "window": timedelta(hours=window_hours),
    }
    keyed = add_order_key(events, names)
    general, _ = match_units(keyed, best=False, strict=False, exclude=[], **options)
    with pytest.MonkeyPatch.context() as monkeypatch:
        chunk_size = _layout(monkeypatch, layout)
        dense, _ = match_first_attempts(events, chunk_size=chunk_size, **options)
    assert_frame_equal(dense.sort(UNIT), general.sort(UNIT), check_exact=True)


@pytest.mark.parametrize("layout", LAYOUTS, ids=LAYOUT_IDS)
@pytest.mark.parametrize(
    "steps",
    [[["b"], ["c"], ["a"]], [["b"], ["c"], ["d"]], [["b"], ["a"], ["c"]]],
    ids=["smallest-name-last", "names-in-order", "smallest-name-second"],
)
def test_a_step_at_the_previous_steps_timestamp_counts(monkeypatch, steps, layout):
    """b at 1 h, then the two later steps' events both at 2 h: the unit reaches step 3."""
    rows = [(1, 1, steps[0][0], None), (1, 2, steps[1][0], None), (1, 2, steps[2][0], None)]
    names = sorted({name for step in steps for name in step})
    chunk_size = _layout(monkeypatch, layout)
    units, _ = match_first_attempts(
        _events(rows, segmented=False, ordered=False),
        steps=steps,
        funnel_names=names,
        start=START,
        end=END,
        window=timedelta(hours=24),
        chunk_size=chunk_size,
    )
    assert units.select("reached", "t_3").to_dicts() == [
        {"reached": 3, "t_3": START + timedelta(hours=2)}
    ]


@pytest.mark.parametrize("layout", LAYOUTS, ids=LAYOUT_IDS)
@pytest.mark.parametrize("ordered", [True, False], ids=["time-ordered", "shuffled"])
@pytest.mark.parametrize("options", [{}, {"breakdown": "segment"}, {"trend_grain": "week"}])
def test_whole_funnel_table_is_the_same_on_both_paths(monkeypatch, ordered, options, layout):
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
    _, partition_bits, block_rows = layout
    monkeypatch.setattr(journeylib.funnel._dense, "PARTITION_BITS", partition_bits)
    monkeypatch.setattr(journeylib.funnel._dense, "BLOCK_ROWS", block_rows)
    dense = compute_funnel(events.lazy(), **arguments)
    monkeypatch.setattr(journeylib.funnel.compute, "dense_applies", lambda *_, **__: False)
    general = compute_funnel(events.lazy(), **arguments)
    assert dense.steps.filter(pl.col("step") == 1)["users"].sum() > 1000
    assert dense.in_progress == general.in_progress
    assert_frame_equal(dense.steps, general.steps, check_exact=True)


def _both_paths(monkeypatch, events: pl.DataFrame, **arguments) -> tuple:
    dense = compute_funnel(events.lazy(), **arguments)
    with monkeypatch.context() as patched:
        patched.setattr(journeylib.funnel.compute, "dense_applies", lambda *_, **__: False)
        general = compute_funnel(events.lazy(), **arguments)
    return dense, general


@pytest.mark.parametrize("partition_bits", [0, 7])
def test_a_partition_of_many_units_grows_its_table(monkeypatch, partition_bits):
    """6,000 units; in one partition, the table (first 4,096 slots, half full at most) grows."""
    monkeypatch.setattr(journeylib.funnel._dense, "PARTITION_BITS", partition_bits)
    events = random_events(seed=11, n_events=60_000, n_users=6_000)
    dense, general = _both_paths(
        monkeypatch,
        events,
        steps=[["view"], ["cart"], ["checkout"], ["pay"]],
        start=datetime(2026, 1, 2, tzinfo=UTC),
        end=datetime(2026, 1, 25, tzinfo=UTC),
        window=timedelta(days=3),
    )
    assert dense.steps["users"][0] > 5_000
    assert_frame_equal(dense.steps, general.steps, check_exact=True)


@pytest.mark.parametrize("segmented", [False, True], ids=["no-breakdown", "breakdown"])
@pytest.mark.parametrize("seed", range(4))
def test_a_growing_table_keeps_every_unit_and_its_smallest_key(seed, segmented):
    """100,000 units in one partition, 3 rows each: the table grows 6 times from 4,096 slots.

    The unit being inserted when the table grows must land in the new table, and every later
    row of a unit must find it (the result holds each unit once with its smallest key). With
    a breakdown, the entry's code must survive the growth too, and among rows at the entry
    key (keys are coarse here: many ties) the code of the smallest value wins; the ranks
    are reversed, so that this is the largest code.
    """
    from journeylib.funnel._kernels import match_partition, partition_batch, unwritten

    rng = np.random.default_rng(seed)
    hashes = np.unique(rng.integers(-(2**63), 2**63 - 1, 100_000, dtype=np.int64))
    units = np.repeat(hashes, 3)
    keys = rng.integers(0, 4, units.size, dtype=np.int64) * 2  # code 0: step 1
    keys[::7] += 1  # code 1: no step; these rows are left out
    segments = rng.integers(0, 5, units.size, dtype=np.int64)
    order = rng.permutation(units.size)
    units, keys, segments = units[order], keys[order], segments[order]
    codes, ranks = np.arange(5), np.arange(5)[::-1].copy()
    if not segmented:
        segments = codes = ranks = np.empty(0, np.int64)
    blocks = [np.empty(units.size, np.int64) for _ in range(3)]
    arguments = (np.array([0, -1]), 1, 1, 63, 1)
    starts = partition_batch(units, keys, segments, *arguments, *blocks, 0)
    assert starts.tolist() == [0, int((keys % 2 == 0).sum())]
    out = unwritten(hashes.size, 1, segmented)
    found = match_partition(
        *(List([block]) for block in blocks), np.array([0]), starts[None, :], 0, 1, 2,
        0, 2 * 10**9, 0, codes, ranks, *out, 0,
    )  # fmt: skip
    step_1 = keys % 2 == 0
    rows = pl.DataFrame({"unit": units[step_1], "key": keys[step_1]})
    if segmented:
        rows = rows.with_columns(code=segments[step_1])
    expected = (
        rows.filter(pl.col("key") == pl.col("key").min().over("unit"))
        .group_by("unit")
        .agg(pl.col("key").first(), *([pl.col("code").max()] if segmented else []))
        .sort("unit")
    )
    got = {"unit": out[0][:found], "key": out[1][0, :found]}
    if segmented:
        got["code"] = out[2][:found]
    assert found == expected.height > 99_000
    assert_frame_equal(pl.DataFrame(got).sort("unit"), expected, check_dtypes=False)


def test_a_funnel_across_1970_counts_as_any_other():
    """Keys before the epoch are negative: their codes and floors must still be exact."""
    shift = datetime(2026, 1, 10, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    events = random_events(seed=13, n_events=20_000, n_users=800).with_columns(
        pl.col("timestamp") - shift
    )
    arguments = {
        "steps": [["view"], ["cart", "other"], ["checkout"], ["pay"]],
        "start": datetime(2026, 1, 3, tzinfo=UTC) - shift,
        "end": datetime(2026, 1, 20, tzinfo=UTC) - shift,
        "window": timedelta(hours=30),
    }
    with pytest.MonkeyPatch.context() as monkeypatch:
        dense, general = _both_paths(monkeypatch, events, **arguments)
    shifted_back = compute_funnel(
        events.with_columns(pl.col("timestamp") + shift).lazy(),
        **arguments | {"start": arguments["start"] + shift, "end": arguments["end"] + shift},
    )
    assert dense.steps["users"][0] > 500
    assert_frame_equal(dense.steps, general.steps, check_exact=True)
    assert dense.steps["users"].to_list() == shifted_back.steps["users"].to_list()


def test_no_events_in_the_period_gives_empty_units():
    events = _events([(1, 100, "a", None), (2, -10, "b", None)], segmented=True, ordered=True)
    units, _ = match_first_attempts(
        events,
        steps=STEPS,
        funnel_names=NAMES,
        start=START,
        end=END,
        window=timedelta(hours=5),
    )
    assert units.height == 0
    assert units.columns == [
        *[UNIT, "reached", "t_1", "t_2", "t_3", "latest_entry", "entry_time", SEGMENT]
    ]
    assert units.schema["t_1"] == pl.Datetime("us", "UTC")


# names of equal byte lengths (the code must then come from the name) and of several bytes a
# character ("é" is 2 bytes, "😀" 4: byte lengths, not character counts, tell names apart)
CODE_NAMES = ["a", "b", "ab", "é", "ée", "😀", "cart_add", "checkout", "zz"]


@settings(max_examples=200, deadline=None)
@given(
    names=st.lists(st.sampled_from(CODE_NAMES), min_size=1, max_size=6, unique=True),
    picks=st.lists(st.integers(0, 5), max_size=30),
)
def test_event_code_is_the_sorted_position_of_the_name(names, picks):
    rows = [names[pick % len(names)] for pick in picks]
    frame = pl.DataFrame({"event": rows}, schema={"event": pl.String})
    expected = [sorted(names).index(row) for row in rows]
    for only_these in (True, False):
        codes = frame.select(event_code(names, only_these=only_these)).to_series().to_list()
        assert codes == expected, only_these


def test_event_code_of_other_names_is_the_last_code():
    frame = pl.DataFrame({"event": ["view", "scroll", None, "pay", "zzzz"]})
    codes = frame.select(event_code(["view", "pay"], only_these=False)).to_series()
    assert codes.to_list() == [1, 2, 2, 0, 2]


@pytest.mark.parametrize("options", [{}, {"breakdown": "segment"}])
def test_funnel_is_the_same_whether_names_differ_in_length_or_not(options):
    """Names of distinct byte lengths take the length lookup, equal ones the enum cast.

    The renaming keeps the alphabetical order, so ties between names resolve alike.
    """
    events = random_events(seed=5, n_events=30_000, n_users=1_000).with_columns(
        segment=pl.col("user_id").str.slice(-1)
    )
    renamed = {"view": "view_page", "cart": "cart", "checkout": "checkout_started"}
    renamed |= {"pay": "pay", "other": "other_event"}  # lengths 9, 4, 16, 3, 11
    steps = [["view"], ["cart", "other"], ["checkout"], ["pay"]]
    arguments = {
        "start": datetime(2026, 1, 5, tzinfo=UTC),
        "end": datetime(2026, 1, 20, tzinfo=UTC),
        "window": timedelta(days=2),
        "step_names": ["1", "2", "3", "4"],
        **options,
    }
    same_length = compute_funnel(events.lazy(), steps=steps, **arguments)
    distinct = compute_funnel(
        events.with_columns(pl.col("event").replace_strict(renamed)).lazy(),
        steps=[[renamed[name] for name in step] for step in steps],
        **arguments,
    )
    assert same_length.steps.filter(pl.col("step") == 1)["users"].sum() > 500
    assert_frame_equal(distinct.steps, same_length.steps, check_exact=True)


@pytest.mark.parametrize(
    "dtype", [pl.String, pl.Categorical, pl.Enum(["buy", "other", "view"])], ids=str
)
@pytest.mark.parametrize("options", [{}, {"strict": True}, {"attempt": "best"}])
def test_funnel_reads_categorical_event_names(dtype, options):
    events = pl.DataFrame(
        {
            "user_id": ["a", "a", "b", "b", "c"],
            "timestamp": [datetime(2026, 1, 1, hour, tzinfo=UTC) for hour in (1, 2, 3, 4, 5)],
            "event": ["view", "buy", "view", "other", "buy"],
        }
    ).with_columns(pl.col("event").cast(dtype))
    result = compute_funnel(
        events.lazy(),
        steps=[["view"], ["buy"]],
        start=datetime(2026, 1, 1, tzinfo=UTC),
        end=datetime(2026, 1, 2, tzinfo=UTC),
        **options,
    )
    assert result.steps["users"].to_list() == [2, 1]

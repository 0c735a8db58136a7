"""The funnel engine against hand-computed fixtures, invariants and the DuckDB reference."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import duckdb
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference.funnel_sql import funnel_sql

from journeylib.errors import SchemaError
from journeylib.funnel import FunnelResult, compute_funnel

UTC = UTC
START = datetime(2026, 3, 2, tzinfo=UTC)
END = datetime(2026, 3, 9, tzinfo=UTC)
ABC = [["a"], ["b"], ["c"]]


def at(text: str) -> datetime:
    """``"03-02 10:00"`` (month-day hour:minute, 2026, UTC); seconds and micros optional."""
    return datetime.fromisoformat(f"2026-{text}").replace(tzinfo=UTC)


def frame(rows: list[tuple], extra: tuple[str, ...] = ()) -> pl.LazyFrame:
    columns = ("user_id", "timestamp", "event", *extra)
    data = {name: [row[i] for row in rows] for i, name in enumerate(columns)}
    data["timestamp"] = [at(text) for text in data["timestamp"]]
    schema = {"user_id": pl.String, "timestamp": pl.Datetime("us", "UTC"), "event": pl.String}
    return pl.LazyFrame(data, schema={**schema, **dict.fromkeys(extra, pl.String)})


def funnel(rows: list[tuple], steps=ABC, extra: tuple[str, ...] = (), **options) -> FunnelResult:
    options.setdefault("start", START)
    options.setdefault("end", END)
    return compute_funnel(frame(rows, extra), steps=steps, **options)


def users(rows: list[tuple], steps=ABC, **options) -> list[int]:
    return funnel(rows, steps, **options).steps["users"].to_list()


def test_basic_three_steps():
    rows = [
        ("u1", "03-02 10:00", "a"),
        ("u1", "03-02 11:00", "b"),
        ("u1", "03-02 12:00", "c"),
        ("u2", "03-03 10:00", "a"),
        ("u2", "03-03 11:00", "b"),
        ("u3", "03-04 10:00", "a"),
        ("u4", "03-04 10:00", "b"),  # no entry: not counted anywhere
    ]
    table = funnel(rows, data_end=datetime(2026, 4, 1, tzinfo=UTC)).steps
    assert table["users"].to_list() == [3, 2, 1]
    assert table["conversion_from_first"].to_list() == pytest.approx([1, 2 / 3, 1 / 3])
    assert table["conversion_from_previous"].to_list() == pytest.approx([1, 2 / 3, 1 / 2])
    assert table["drop_off"].to_list() == [None, 1, 1]
    assert table["step_name"].to_list() == ["a", "b", "c"]


def test_wilson_interval_of_each_rate():
    rows = [("u1", "03-02 10:00", "a"), ("u1", "03-02 11:00", "b")]
    rows += [(f"v{i}", "03-02 10:00", "a") for i in range(9)]
    table = funnel(rows, steps=[["a"], ["b"]]).steps
    # Wilson 95% for 1 of 10: (0.0179, 0.4042)
    assert table["ci_low"][1] == pytest.approx(0.0179, abs=1e-4)
    assert table["ci_high"][1] == pytest.approx(0.4042, abs=1e-4)
    assert table["prev_ci_low"][1] == pytest.approx(0.0179, abs=1e-4)


def test_equal_timestamps_between_steps_count():
    rows = [("u1", "03-02 10:00", "a"), ("u1", "03-02 10:00", "b"), ("u1", "03-02 10:00", "c")]
    assert users(rows) == [1, 1, 1]


@pytest.mark.parametrize(
    ("last_step_at", "expected"),
    [
        ("03-09 10:00:00", [1, 1, 1]),  # exactly 7 days after entry: inside
        ("03-09 10:00:00.000001", [1, 1, 0]),  # one microsecond later: outside
    ],
)
def test_window_end_is_inclusive(last_step_at, expected):
    rows = [("u1", "03-02 10:00", "a"), ("u1", "03-05 10:00", "b"), ("u1", last_step_at, "c")]
    assert users(rows) == expected


def test_step_before_previous_step_does_not_count():
    rows = [("u1", "03-02 10:00", "a"), ("u1", "03-02 09:00", "b"), ("u1", "03-02 11:00", "c")]
    assert users(rows) == [1, 0, 0]


def test_repeated_entry_first_takes_the_first_best_takes_the_furthest():
    rows = [
        ("u1", "03-02 10:00", "a"),
        ("u1", "03-08 10:00", "a"),
        ("u1", "03-12 10:00", "b"),  # 10 days after the first entry, 4 after the second
        ("u1", "03-12 11:00", "c"),
    ]
    assert users(rows, attempt="first") == [1, 0, 0]
    assert users(rows, attempt="best") == [1, 1, 1]


def test_best_reports_times_of_the_winning_attempt():
    rows = [
        ("u1", "03-02 10:00", "a"),
        ("u1", "03-08 10:00", "a"),
        ("u1", "03-09 10:30", "b"),  # outside the first attempt's window
    ]
    table = funnel(rows, steps=[["a"], ["b"]], attempt="best").steps
    assert table["median_seconds_from_previous"][1] == 88200.0  # 24.5 hours


def test_entry_before_the_period_is_not_an_entry_but_a_later_one_is():
    rows = [
        ("u1", "03-01 23:00", "a"),  # before start
        ("u1", "03-02 08:00", "b"),  # follows only the early "a"
        ("u1", "03-03 10:00", "a"),  # the entry
        ("u1", "03-03 11:00", "c"),
        ("u2", "03-01 23:00", "a"),  # only before start: not in the funnel
        ("u2", "03-02 08:00", "b"),
    ]
    assert users(rows) == [1, 0, 0]


def test_later_steps_after_the_period_end_count_within_the_window():
    rows = [("u1", "03-08 23:00", "a"), ("u1", "03-10 10:00", "b"), ("u1", "03-14 10:00", "c")]
    assert users(rows) == [1, 1, 1]


def test_entry_at_period_end_is_outside():
    rows = [("u1", "03-09 00:00", "a"), ("u1", "03-09 01:00", "b")]
    assert users(rows) == [0, 0, 0]


def test_one_event_never_fills_two_steps():
    rows = [("u1", "03-02 10:00", "a"), ("u1", "03-02 11:00", "b")]
    assert users(rows, steps=[["a"], ["a", "b"], ["b"]]) == [1, 1, 0]


def test_a_second_event_with_an_equal_timestamp_can_fill_the_next_step():
    rows = [("u1", "03-02 10:00", "a"), ("u1", "03-02 10:00", "a"), ("u1", "03-02 10:00", "a")]
    assert users(rows, steps=[["a"], ["a"], ["a"], ["a"]]) == [1, 1, 1, 0]


def test_breakdown_takes_the_value_on_the_entry_event():
    rows = [
        ("u1", "03-01 09:00", "a", "ads"),  # before the period: not the entry
        ("u1", "03-02 10:00", "a", "seo"),
        ("u1", "03-02 11:00", "b", "ads"),
        ("u2", "03-02 10:00", "a", "ads"),
    ]
    table = funnel(rows, steps=[["a"], ["b"]], extra=("channel",), breakdown="channel").steps
    assert table.select("channel", "step", "users").to_dicts() == [
        {"channel": "ads", "step": 1, "users": 1},
        {"channel": "ads", "step": 2, "users": 0},
        {"channel": "seo", "step": 1, "users": 1},
        {"channel": "seo", "step": 2, "users": 1},
    ]


def test_rows_out_of_order_give_the_same_funnel():
    rows = [
        ("u1", "03-02 12:00", "c"),
        ("u2", "03-03 11:00", "b"),
        ("u1", "03-02 10:00", "a"),
        ("u2", "03-03 10:00", "a"),
        ("u1", "03-02 11:00", "b"),
    ]
    assert users(rows) == [2, 2, 1]
    assert users(list(reversed(rows))) == [2, 2, 1]


def test_trended_funnel_periods_follow_berlin_daylight_saving():
    # Berlin moves to summer time on 2026-03-29: that day runs 22:00 UTC (28th) to 22:00 (29th)
    rows = [
        ("u1", "03-28 22:30", "a"),  # 23:30 local on the 28th
        ("u2", "03-28 23:30", "a"),  # 00:30 local on the 29th
        ("u2", "03-28 23:40", "b"),
        ("u3", "03-29 21:30", "a"),  # 23:30 local (summer time) on the 29th
        ("u4", "03-29 22:30", "a"),  # 00:30 local on the 30th
    ]
    result = funnel(
        rows,
        steps=[["a"], ["b"]],
        start=datetime(2026, 3, 27, 23, tzinfo=UTC),  # local midnight of the 28th
        end=datetime(2026, 3, 30, 22, tzinfo=UTC),  # local midnight of the 31st
        trend_grain="day",
        timezone="Europe/Berlin",
    )
    table = result.steps.filter(pl.col("step") == 1).select("period", "users")
    assert table.to_dicts() == [
        {"period": date(2026, 3, 28), "users": 1},
        {"period": date(2026, 3, 29), "users": 2},
        {"period": date(2026, 3, 30), "users": 1},
    ]
    second = result.steps.filter(pl.col("step") == 2)["conversion_from_previous"].to_list()
    assert second == [0.0, 0.5, 0.0]


def test_zero_entries_give_null_conversions():
    table = funnel([("u1", "03-20 10:00", "a")]).steps
    assert table["users"].to_list() == [0, 0, 0]
    assert table["conversion_from_first"].to_list() == [None, None, None]
    assert table["conversion_from_previous"].to_list() == [None, None, None]
    assert table["ci_low"].to_list() == [None, None, None]


def test_trended_period_without_entries_has_null_conversions():
    rows = [("u1", "03-02 10:00", "a")]
    table = funnel(rows, steps=[["a"], ["b"]], trend_grain="day").steps
    empty_day = table.filter(pl.col("period") == date(2026, 3, 3))
    assert empty_day["users"].to_list() == [0, 0]
    assert empty_day["conversion_from_first"].to_list() == [None, None]


@pytest.mark.parametrize(
    ("exclusion_at", "expected"),
    [
        ("03-02 10:30", [0, 0, 0]),  # between entry and the last step: removed
        ("03-02 12:30", [1, 1, 1]),  # after the last step: kept
        ("03-02 09:30", [1, 1, 1]),  # before the entry: kept
    ],
)
def test_exclusion_removes_the_unit_from_every_step(exclusion_at, expected):
    rows = [
        ("u1", "03-02 10:00", "a"),
        ("u1", "03-02 11:00", "b"),
        ("u1", "03-02 12:00", "c"),
        ("u1", exclusion_at, "x"),
    ]
    assert users(rows, exclude=["x"]) == expected


def test_exclusion_for_an_unfinished_unit_reaches_to_the_window_end():
    rows = [("u1", "03-02 10:00", "a"), ("u1", "03-08 10:00", "x"), ("u2", "03-02 10:00", "a")]
    assert users(rows, exclude=["x"]) == [1, 0, 0]


@pytest.mark.parametrize(
    ("other_at", "expected"),
    [
        ("03-02 10:30", [1, 0, 0]),  # another event strictly between the steps breaks it
        ("03-02 10:00", [1, 1, 1]),  # at the entry's exact timestamp: does not break
        ("03-02 13:00", [1, 1, 1]),  # after the last step: does not break
    ],
)
def test_strict_mode(other_at, expected):
    rows = [
        ("u1", "03-02 10:00", "a"),
        ("u1", "03-02 11:00", "b"),
        ("u1", "03-02 12:00", "c"),
        ("u1", other_at, "other"),
    ]
    assert users(rows, strict=True) == expected
    assert users(rows, strict=False) == [1, 1, 1]


def test_session_unit_counts_sessions():
    rows = [
        ("u1", "03-02 10:00", "a", "s1"),
        ("u1", "03-02 10:05", "b", "s1"),
        ("u1", "03-02 11:00", "a", "s2"),
        ("u1", "03-02 11:05", "c", "s2"),
        ("u2", "03-02 11:00", "a", None),  # no session: not a unit
    ]
    assert users(rows, extra=("session_id",), unit="session_id") == [2, 1, 0]
    assert users(rows, extra=("session_id",)) == [2, 1, 1]


def test_units_still_in_their_window_are_in_progress_not_dropped():
    rows = [
        ("u1", "03-02 10:00", "a"),  # window ended by data_end, dropped at step 1
        ("u2", "03-06 10:00", "a"),
        ("u2", "03-06 11:00", "b"),  # window open at data_end: in progress at step 2
        ("u3", "03-07 10:00", "a"),  # in progress at step 1
        ("u4", "03-07 10:00", "a"),
        ("u4", "03-07 11:00", "b"),
        ("u4", "03-07 12:00", "c"),  # finished: never in progress
        ("u5", "03-10 10:00", "z"),  # last timestamp of the data
    ]
    result = funnel(rows)
    assert result.data_end == at("03-10 10:00")
    assert result.steps["in_progress"].to_list() == [1, 1, 0]
    assert result.in_progress == 2
    # dropped(k) = users(k-1) - users(k) - in_progress(k-1)
    assert result.steps["drop_off"].to_list() == [None, 4 - 2 - 1, 2 - 1 - 1]


def test_explicit_data_end_closes_every_window():
    rows = [("u1", "03-06 10:00", "a")]
    result = funnel(rows, data_end=datetime(2026, 4, 1, tzinfo=UTC))
    assert result.in_progress == 0


def test_median_and_p90_seconds_from_previous_step():
    rows = [("u1", "03-02 10:00", "a"), ("u1", "03-02 10:00:10", "b")]
    rows += [("u2", "03-02 10:00", "a"), ("u2", "03-02 10:00:20", "b")]
    rows += [("u3", "03-02 10:00", "a"), ("u3", "03-02 10:00:40", "b")]
    table = funnel(rows, steps=[["a"], ["b"]]).steps
    assert table["median_seconds_from_previous"].to_list() == [None, 20.0]
    # linear interpolation over [10, 20, 40] at 0.9: 20 + 0.8 * 20
    assert table["p90_seconds_from_previous"].to_list() == [None, pytest.approx(36.0)]


def test_missing_unit_column_names_the_column():
    with pytest.raises(SchemaError, match="session_id"):
        users([("u1", "03-02 10:00", "a")], unit="session_id")


def test_naive_start_is_refused():
    with pytest.raises(ValueError, match="aware"):
        users([("u1", "03-02 10:00", "a")], start=datetime(2026, 3, 2))


EVENTS = ["a", "b", "c", "d"]
ROW = st.tuples(
    st.sampled_from(["u1", "u2", "u3"]),
    st.integers(0, 12).map(lambda hours: f"03-0{2 + hours // 6} {hours % 6:02d}:00"),
    st.sampled_from(EVENTS),
)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(ROW, max_size=25), attempt=st.sampled_from(["first", "best"]))
def test_counts_never_increase_and_rates_stay_in_range(rows, attempt):
    table = funnel(rows, steps=[["a"], ["b", "a"], ["c"], ["a"]], attempt=attempt).steps
    counts = table["users"].to_list()
    assert counts == sorted(counts, reverse=True)
    for column in ("conversion_from_first", "conversion_from_previous", "ci_low", "ci_high"):
        assert all(0 <= value <= 1 for value in table[column].drop_nulls())


def random_events(seed: int, n_events: int, n_users: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    minutes = rng.integers(0, 30 * 24 * 6, n_events) * 10  # coarse times: many ties
    names = np.array(["view", "cart", "checkout", "pay", "other"])
    return pl.DataFrame(
        {
            "user_id": pl.Series(rng.integers(0, n_users, n_events)).cast(pl.String),
            "timestamp": pl.Series(minutes * 60_000_000).cast(pl.Datetime("us", "UTC"))
            + timedelta(days=20454),  # 2026-01-01
            "event": names[rng.choice(5, n_events, p=[0.4, 0.25, 0.15, 0.1, 0.1])],
        }
    ).sample(fraction=1.0, shuffle=True, seed=seed)  # rows out of order


@pytest.mark.parametrize(
    "steps",
    [
        [["view"], ["cart"], ["checkout"], ["pay"]],
        [["view"], ["view", "cart"], ["cart"], ["view"]],  # shared names and repeats
    ],
)
def test_agrees_with_the_duckdb_reference(steps):
    events = random_events(seed=7, n_events=100_000, n_users=2_000)
    start, end = datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 20, tzinfo=UTC)
    window = timedelta(days=3)
    ours = compute_funnel(events.lazy(), steps=steps, start=start, end=end, window=window)
    con = duckdb.connect()
    con.register("events", events.to_arrow())
    reference = funnel_sql(con, "events", steps=steps, start=start, end=end, window=window)
    assert ours.steps["users"].to_list() == [row["users"] for row in reference]
    for column in ("median_seconds_from_previous", "p90_seconds_from_previous"):
        for value, expected in zip(ours.steps[column], reference, strict=True):
            if expected[column] is None:
                assert value is None
            else:
                assert math.isclose(value, expected[column], rel_tol=1e-12)

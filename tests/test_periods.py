"""Period arithmetic: grains, period starts and stepping, local bounds, windows and durations.

Expected dates and instants are written by hand from the calendar (ISO weeks start on Monday;
Europe/Berlin moves to summer time on 29 March 2026 and back on 25 October 2026).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from journeylib.periods import (
    MAX_WINDOW,
    format_duration,
    local_bound,
    next_period_start,
    parse_duration,
    parse_window,
    period_after,
    period_index,
    period_start_expr,
    period_starts,
    previous_period,
)


@pytest.mark.parametrize(
    ("start", "grain", "following", "previous"),
    [
        (date(2026, 2, 28), "day", date(2026, 3, 1), date(2026, 2, 27)),
        (date(2024, 3, 1), "day", date(2024, 3, 2), date(2024, 2, 29)),
        (date(2026, 12, 28), "week", date(2027, 1, 4), date(2026, 12, 21)),
        (date(2026, 1, 5), "week", date(2026, 1, 12), date(2025, 12, 29)),
        (date(2026, 12, 1), "month", date(2027, 1, 1), date(2026, 11, 1)),
        (date(2026, 1, 1), "month", date(2026, 2, 1), date(2025, 12, 1)),
        (date(2024, 2, 1), "month", date(2024, 3, 1), date(2024, 1, 1)),
    ],
)
def test_next_and_previous_period_step_one_grain(start, grain, following, previous):
    assert next_period_start(start, grain) == following
    assert previous_period(start, grain) == previous
    assert previous_period(next_period_start(start, grain), grain) == start


def test_an_unknown_grain_names_the_grains():
    with pytest.raises(ValueError, match="unknown grain 'year'; expected one of day, week, month"):
        next_period_start(date(2026, 1, 1), "year")
    with pytest.raises(ValueError, match="unknown grain 'quarter'"):
        period_start_expr("timestamp", "quarter", "UTC")


@pytest.mark.parametrize(
    ("start", "end", "grain", "starts"),
    [
        # Wednesday 31 Dec 2025 lies in the ISO week of Monday 29 Dec
        (
            date(2025, 12, 31),
            date(2026, 1, 13),
            "week",
            [date(2025, 12, 29), date(2026, 1, 5), date(2026, 1, 12)],
        ),
        (date(2026, 1, 15), date(2026, 3, 1), "month", [date(2026, 1, 1), date(2026, 2, 1)]),
        (
            date(2026, 1, 15),
            date(2026, 3, 2),
            "month",
            [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)],
        ),
        (date(2026, 3, 1), date(2026, 3, 3), "day", [date(2026, 3, 1), date(2026, 3, 2)]),
        (date(2026, 3, 3), date(2026, 3, 3), "day", []),
    ],
)
def test_period_starts_cover_the_range_end_excluded(start, end, grain, starts):
    assert period_starts(start, end, grain) == starts


@pytest.mark.parametrize(
    ("day", "timezone", "instant"),
    [
        (date(2026, 1, 5), "UTC", datetime(2026, 1, 5, tzinfo=UTC)),
        # winter: UTC+1; summer (from 29 March): UTC+2
        (date(2026, 3, 29), "Europe/Berlin", datetime(2026, 3, 28, 23, tzinfo=UTC)),
        (date(2026, 3, 30), "Europe/Berlin", datetime(2026, 3, 29, 22, tzinfo=UTC)),
        (date(2026, 10, 26), "Europe/Berlin", datetime(2026, 10, 25, 23, tzinfo=UTC)),
        (date(2026, 6, 1), "America/New_York", datetime(2026, 6, 1, 4, tzinfo=UTC)),
    ],
)
def test_local_bound_is_local_midnight_in_utc(day, timezone, instant):
    assert local_bound(day, timezone) == instant


def test_a_day_that_changes_the_clock_has_23_or_25_hours():
    spring = local_bound(date(2026, 3, 30), "Europe/Berlin") - local_bound(
        date(2026, 3, 29), "Europe/Berlin"
    )
    autumn = local_bound(date(2026, 10, 26), "Europe/Berlin") - local_bound(
        date(2026, 10, 25), "Europe/Berlin"
    )
    assert (spring, autumn) == (timedelta(hours=23), timedelta(hours=25))


def test_period_start_expr_reads_the_local_date():
    moments = [
        datetime(2026, 3, 29, 21, 59, tzinfo=UTC),  # 23:59 in Berlin, Sunday 29 March
        datetime(2026, 3, 29, 22, 0, tzinfo=UTC),  # 00:00 in Berlin, Monday 30 March
        datetime(2026, 1, 31, 23, 30, tzinfo=UTC),  # 00:30 on 1 February in Berlin
    ]
    frame = pl.DataFrame({"ts": moments})
    by_grain = {
        grain: frame.select(period_start_expr("ts", grain, "Europe/Berlin"))["ts"].to_list()
        for grain in ("day", "week", "month")
    }
    assert by_grain == {
        "day": [date(2026, 3, 29), date(2026, 3, 30), date(2026, 2, 1)],
        "week": [date(2026, 3, 23), date(2026, 3, 30), date(2026, 1, 26)],
        "month": [date(2026, 3, 1), date(2026, 3, 1), date(2026, 2, 1)],
    }


@pytest.mark.parametrize(
    ("grain", "start", "steps", "expected"),
    [
        ("month", date(2026, 11, 1), 3, date(2027, 2, 1)),
        ("month", date(2026, 1, 1), -1, date(2025, 12, 1)),
        ("week", date(2026, 12, 28), 2, date(2027, 1, 11)),
        ("day", date(2024, 2, 28), 2, date(2024, 3, 1)),
    ],
)
def test_period_after_and_period_index_agree(grain, start, steps, expected):
    frame = pl.DataFrame({"start": [start], "steps": [steps]})
    stepped = frame.select(period_after("start", pl.col("steps"), grain).alias("after"))
    assert stepped["after"].item() == expected
    indexed = pl.DataFrame({"a": [start], "b": [expected]}).select(
        (period_index("b", grain) - period_index("a", grain)).alias("gap")
    )
    assert indexed["gap"].item() == steps


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("12h", timedelta(hours=12)),
        ("30m", timedelta(minutes=30)),
        ("45s", timedelta(seconds=45)),
        ("1.5d", timedelta(hours=36)),
        (3, timedelta(days=3)),
        (timedelta(minutes=5), timedelta(minutes=5)),
    ],
)
def test_parse_duration_reads_each_unit(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("7 days", "expected a duration such as 7d, 12h, 30m, 45s or 2w, got '7 days'"),
        (True, "expected a duration such as 7d, 12h or 30m, got True"),
        (float("inf"), "expected a finite duration, got inf"),
    ],
)
def test_parse_duration_names_the_accepted_forms(text, message):
    with pytest.raises(ValueError, match="^" + message.replace(".", r"\.") + "$"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["0d", timedelta(days=-1), "3651d", "99999999999w"])
def test_a_window_is_above_0_and_at_most_ten_years(text):
    with pytest.raises(ValueError, match=r"^a window must be above 0 and at most 3650d"):
        parse_window(text)
    assert parse_window("3650d") == MAX_WINDOW


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(days=7), "1w"),
        (timedelta(days=3), "3d"),
        (timedelta(hours=36), "36h"),
        (timedelta(minutes=90), "90m"),
        (timedelta(seconds=1.5), "1.5s"),
        (timedelta(0), "0s"),
    ],
)
def test_format_duration_writes_the_largest_exact_unit(value, text):
    assert format_duration(value) == text
    assert parse_duration(text) == value

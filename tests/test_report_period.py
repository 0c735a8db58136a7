"""The report period: relative periods before ``as_of``, the data-end anchor, explicit ranges."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from journeylib.errors import DataError
from journeylib.report import resolve_period

# --------------------------------------------------------------------------- resolve_period


@pytest.mark.parametrize(
    ("period", "as_of", "start", "end", "label"),
    [
        # Sunday 1 Nov 2026: the week of Monday 26 Oct is not over, so W43 (19-25 Oct).
        ("last_full_week", date(2026, 11, 1), date(2026, 10, 19), date(2026, 10, 26), "2026-W43"),
        # Monday 2 Nov 2026: the week of 26 Oct has just ended.
        ("last_full_week", date(2026, 11, 2), date(2026, 10, 26), date(2026, 11, 2), "2026-W44"),
        # ISO weeks across a year end: 28 Dec 2020 starts 2020-W53, 30 Dec 2024 starts 2025-W01.
        ("last_full_week", date(2021, 1, 6), date(2020, 12, 28), date(2021, 1, 4), "2020-W53"),
        ("last_full_week", date(2025, 1, 1), date(2024, 12, 23), date(2024, 12, 30), "2024-W52"),
        ("last_full_week", date(2025, 1, 8), date(2024, 12, 30), date(2025, 1, 6), "2025-W01"),
        # Month boundaries: the first and the last day of March, a leap February, a year end.
        ("last_full_month", date(2026, 3, 1), date(2026, 2, 1), date(2026, 3, 1), "2026-02"),
        ("last_full_month", date(2026, 3, 31), date(2026, 2, 1), date(2026, 3, 1), "2026-02"),
        ("last_full_month", date(2024, 3, 15), date(2024, 2, 1), date(2024, 3, 1), "2024-02"),
        ("last_full_month", date(2026, 1, 10), date(2025, 12, 1), date(2026, 1, 1), "2025-12"),
        ("last_full_day", date(2026, 3, 1), date(2026, 2, 28), date(2026, 3, 1), "2026-02-28"),
        ("last_full_day", date(2027, 1, 1), date(2026, 12, 31), date(2027, 1, 1), "2026-12-31"),
        ("last_full_week", "2026-11-01", date(2026, 10, 19), date(2026, 10, 26), "2026-W43"),
    ],
)
def test_relative_period_is_the_last_full_one_before_as_of(period, as_of, start, end, label):
    resolved = resolve_period(period, as_of=as_of)
    assert (resolved.start, resolved.end, resolved.label) == (start, end, label)


@pytest.mark.parametrize(
    ("timezone", "expected_day"),
    [
        # 2026-10-25 23:30 UTC is already 00:30 on 26 Oct in Berlin (CET, after the DST end).
        ("Europe/Berlin", date(2026, 10, 26)),
        ("UTC", date(2026, 10, 25)),
    ],
)
def test_data_end_anchor_is_the_day_after_the_last_event_in_local_time(timezone, expected_day):
    resolved = resolve_period(
        "last_full_day",
        as_of="data_end",
        timezone=timezone,
        data_end=datetime(2026, 10, 25, 23, 30, tzinfo=UTC),
    )
    assert resolved.start == expected_day


@pytest.mark.parametrize(
    ("period", "grain", "start", "end", "label"),
    [
        # not one ISO week (Thursday to Thursday): labelled by its dates
        (
            "2026-10-01..2026-10-08",
            "week",
            date(2026, 10, 1),
            date(2026, 10, 8),
            "2026-10-01_2026-10-08",
        ),
        # exactly one period of the grain: labelled like the relative periods
        ("2026-10-05..2026-10-12", "week", date(2026, 10, 5), date(2026, 10, 12), "2026-W41"),
        ("2026-02-01..2026-03-01", "month", date(2026, 2, 1), date(2026, 3, 1), "2026-02"),
        ("2026-12-31..2027-01-01", "day", date(2026, 12, 31), date(2027, 1, 1), "2026-12-31"),
    ],
)
def test_explicit_range_is_taken_as_given_end_exclusive(period, grain, start, end, label):
    resolved = resolve_period(period, grain=grain)
    assert (resolved.start, resolved.end, resolved.grain) == (start, end, grain)
    assert resolved.label == label


@pytest.mark.parametrize(
    ("period", "as_of", "message"),
    [
        (
            "last_week",
            "now",
            "period: expected last_full_day, last_full_week, last_full_month or "
            "YYYY-MM-DD..YYYY-MM-DD (end exclusive), got 'last_week'",
        ),
        (
            "2026-10-01",
            "now",
            "period: expected last_full_day, last_full_week, last_full_month or "
            "YYYY-MM-DD..YYYY-MM-DD (end exclusive), got '2026-10-01'",
        ),
        (
            "2026-10-01..2026-13-01",
            "now",
            "period: expected last_full_day, last_full_week, last_full_month or "
            "YYYY-MM-DD..YYYY-MM-DD (end exclusive), got '2026-10-01..2026-13-01'",
        ),
        (
            "2026-10-08..2026-10-01",
            "now",
            "period '2026-10-08..2026-10-01' is empty: the end must be after the start",
        ),
        (
            "2026-10-08..2026-10-08",
            "now",
            "period '2026-10-08..2026-10-08' is empty: the end must be after the start",
        ),
        (
            "last_full_week",
            "yesterday",
            "as_of: expected 'now', 'data_end' or a date YYYY-MM-DD, got 'yesterday'",
        ),
        (
            "last_full_week",
            "data_end",
            "as_of 'data_end' needs data: the events table is empty",
        ),
    ],
)
def test_bad_period_inputs_raise_data_error_with_exact_message(period, as_of, message):
    with pytest.raises(DataError) as raised:
        resolve_period(period, as_of=as_of)
    assert str(raised.value) == message


# --------------------------------------------------------------------------- story

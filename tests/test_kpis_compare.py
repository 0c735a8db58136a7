"""Comparing a period with another than the previous one: ``compare_with`` and the report."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from journeylib.config import config_from_dict
from journeylib.kpis import build_inputs, compare_with, compute_kpi_table
from journeylib.report.context import _comparison_period
from journeylib.report.period import resolve_period
from journeylib.stats import two_proportion_ztest

CONFIG = config_from_dict(
    {
        "name": "t",
        "sources": {"events": {"path": "e.csv"}},
        "roles": {"visit": "pv", "purchase": "buy"},
    }
)


def events() -> pl.LazyFrame:
    # week of 2 Mar: 4 visitors, 1 buys; 9 Mar: 4 visitors, 2 buy; 16 Mar: 2 visitors, 2 buy
    rows = [
        ("a", 2, "pv"), ("a", 2, "buy"), ("b", 3, "pv"), ("c", 3, "pv"), ("d", 4, "pv"),
        ("a", 9, "pv"), ("a", 9, "buy"), ("b", 10, "pv"), ("b", 10, "buy"), ("c", 11, "pv"),
        ("d", 11, "pv"), ("e", 16, "pv"), ("e", 16, "buy"), ("f", 17, "pv"), ("f", 17, "buy"),
    ]  # fmt: skip
    return pl.LazyFrame(
        {
            "user_id": [r[0] for r in rows],
            "timestamp": [datetime(2026, 3, r[1], 12, tzinfo=UTC) for r in rows],
            "event": [r[2] for r in rows],
        }
    ).with_columns(pl.col("timestamp").cast(pl.Datetime("us", "UTC")))


def table() -> pl.DataFrame:
    inputs = build_inputs(
        {"events": events()}, CONFIG, start=date(2026, 3, 2), end=date(2026, 3, 23)
    )
    return compute_kpi_table(inputs, ["conversion_rate", "orders"])


def week(frame: pl.DataFrame, day: int) -> pl.DataFrame:
    return frame.filter(pl.col("period_start") == date(2026, 3, day))


def test_comparing_with_the_previous_week_reproduces_the_table():
    full = table()
    assert_frame_equal(compare_with(week(full, 16), week(full, 9)), week(full, 16))


def test_comparing_with_an_earlier_week():
    full = table()
    rebased = compare_with(week(full, 16), week(full, 2))
    rate = rebased.filter(pl.col("kpi") == "conversion_rate").row(0, named=True)
    # 2/2 this week against 1/4 two weeks earlier
    assert rate["previous"] == pytest.approx(0.25)
    assert rate["change"] == pytest.approx(0.75)
    assert rate["relative_change"] == pytest.approx(3.0)
    assert rate["p_value"] == pytest.approx(two_proportion_ztest(2, 2, 1, 4))
    orders = rebased.filter(pl.col("kpi") == "orders").row(0, named=True)
    assert (orders["value"], orders["previous"], orders["p_value"]) == (2.0, 1.0, None)


def test_previous_year_is_52_weeks_earlier_for_weeks_and_the_same_month_for_months():
    week_period = resolve_period("2026-10-19..2026-10-26", grain="week")
    assert _comparison_period("previous_year", week_period).start == date(2025, 10, 20)
    assert _comparison_period("previous_year", week_period).label == "2025-W43"
    month = resolve_period("last_full_month", as_of=date(2026, 11, 5))
    assert _comparison_period("previous_year", month).label == "2025-10"
    assert _comparison_period("previous", month) is None


def test_an_explicit_comparison_must_be_one_period_of_the_same_grain():
    week_period = resolve_period("last_full_week", as_of=date(2026, 11, 1))
    assert _comparison_period("2026-10-05..2026-10-12", week_period).label == "2026-W41"
    with pytest.raises(Exception, match="must be one week"):
        _comparison_period("2026-10-05..2026-10-20", week_period)

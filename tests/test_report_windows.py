"""The windows a notebook reads back from its report period (``ReportContext``)."""

from __future__ import annotations

from datetime import date

import pytest

from journeylib.errors import DataError
from journeylib.report import ReportContext, ReportPeriod


def context(start: date, end: date, grain: str, trend_periods: int = 8) -> ReportContext:
    period = ReportPeriod(start=start, end=end, grain=grain, label="label")
    return ReportContext(
        journey=None,  # the windows are calendar arithmetic: no data needed
        period=period,
        parameters={},
        title="t",
        funnel_name=None,
        trend_periods=trend_periods,
        filters={},
    )


SEPTEMBER = context(date(2026, 9, 1), date(2026, 10, 1), "month", trend_periods=6)
WEEK_43 = context(date(2026, 10, 19), date(2026, 10, 26), "week")


@pytest.mark.parametrize(
    ("report", "periods", "grain", "first"),
    [
        # 8 ISO weeks, the last holding Wednesday 30 September: Monday 28 September back 7 weeks
        (SEPTEMBER, 8, "week", date(2026, 8, 10)),
        (SEPTEMBER, 6, "month", date(2026, 4, 1)),
        (SEPTEMBER, 1, None, date(2026, 9, 1)),
        (SEPTEMBER, 3, "day", date(2026, 9, 28)),
        (WEEK_43, 2, None, date(2026, 10, 12)),
        (WEEK_43, 2, "month", date(2026, 9, 1)),
    ],
)
def test_window_start_by_hand(report, periods, grain, first):
    assert report.window_start(periods, grain) == first


def test_trend_start_counts_back_from_the_period_start():
    assert SEPTEMBER.trend_start == date(2026, 4, 1)
    assert WEEK_43.trend_start == date(2026, 8, 31)


@pytest.mark.parametrize(("periods", "grain"), [(0, "week"), (3, "year")])
def test_window_start_refuses_what_is_not_a_window(periods, grain):
    with pytest.raises(DataError):
        SEPTEMBER.window_start(periods, grain)

"""A report over an explicit range of dates (two weeks): the range is the report's period, its
KPIs are computed over the whole range and compared with the range of the same length before
it, the trend charts go by the report's grain, and the headline names the incidents of the
range (the sample's payment incident, for ``2026-08-24..2026-09-07``)."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import polars as pl
import pytest

import journeylib
from journeylib.errors import DataError
from journeylib.periods import Span, local_bound, period_starts, previous_period
from journeylib.periods.calendar import align, next_period_start
from journeylib.report import ReportContext, display
from journeylib.report.inputs import comparison_period, report_period
from journeylib.report.period import resolve_period
from journeylib.sample import generate_sample

RANGE = "2026-08-24..2026-09-07"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory):
    result = generate_sample(tmp_path_factory.mktemp("lumen-50k"), users=50_000, seed=7)
    return str(result.config_path), {story.id: story for story in result.stories}


@pytest.fixture
def shown(monkeypatch):
    bundles: list[tuple[str, dict, dict]] = []
    monkeypatch.setattr(
        display, "show", lambda data, role, **meta: bundles.append((role, dict(data), meta))
    )
    return bundles


# --------------------------------------------------------------------------- spans


def test_a_span_steps_by_its_days_from_its_anchor():
    span = Span(date(2026, 8, 24), 14)
    assert align(date(2026, 8, 23), span) == date(2026, 8, 10)
    assert align(date(2026, 9, 7), span) == date(2026, 9, 7)
    assert next_period_start(date(2026, 8, 24), span) == date(2026, 9, 7)
    assert previous_period(date(2026, 8, 24), span) == date(2026, 8, 10)
    assert period_starts(date(2026, 8, 12), date(2026, 9, 8), span) == [
        date(2026, 8, 10),
        date(2026, 8, 24),
        date(2026, 9, 7),
    ]
    with pytest.raises(ValueError, match="1 to 31 days"):
        Span(date(2026, 8, 24), 32)


def test_a_seven_day_span_on_a_monday_gives_the_weekly_kpi_table(sample):
    config_path, _ = sample
    journey = journeylib.load(config_path)
    weekly = journey.kpis(start="2026-08-24", end="2026-09-07", grain="week")
    spans = journey.kpis(start="2026-08-24", end="2026-09-07", grain=Span(date(2026, 8, 24), 7))
    assert weekly.height > 0
    assert spans.equals(weekly)


def _payment_success(journey, start: date, end: date) -> tuple[int, int]:
    """Purchases and purchases + failed payments in local ``[start, end)``, from the events."""
    zone = journey.config.timezone
    purchase = journey.config.events_for("purchase")
    failed = journey.config.events_for("payment_failed")
    counts = (
        journey.tables["events"]
        .filter(
            pl.col("timestamp") >= local_bound(start, zone),
            pl.col("timestamp") < local_bound(end, zone),
        )
        .select(
            pl.col("event").is_in(purchase).sum().alias("hits"),
            pl.col("event").is_in([*purchase, *failed]).sum().alias("attempts"),
        )
        .collect()
    )
    return counts["hits"].item(), counts["attempts"].item()


def test_the_range_is_one_period_compared_with_the_range_before_it(sample):
    config_path, _ = sample
    report = ReportContext.create(config_path, period=RANGE)
    assert report.period.is_range
    assert report.period.days == 14
    assert report.period.description == "24 Aug 2026 – 06 Sep 2026"
    assert report.previous_label == "the previous 14 days"
    current = report.current()
    assert current["period_start"].unique().to_list() == [date(2026, 8, 24)]
    assert current["period_end"].unique().to_list() == [date(2026, 9, 7)]
    row = current.filter(pl.col("kpi") == "payment_success_rate").row(0, named=True)
    hits, attempts = _payment_success(report.journey, date(2026, 8, 24), date(2026, 9, 7))
    before_hits, before_attempts = _payment_success(
        report.journey, date(2026, 8, 10), date(2026, 8, 24)
    )
    assert (row["numerator"], row["denominator"]) == (hits, attempts)
    assert row["value"] == pytest.approx(hits / attempts, rel=1e-12)
    assert row["previous"] == pytest.approx(before_hits / before_attempts, rel=1e-12)
    # the range is not the sum of its weeks' rates: it is one period of two weeks
    compared = report.compared_rows()
    assert compared["period_start"].unique().to_list() == [date(2026, 8, 10)]


def test_the_trend_charts_go_by_the_report_grain_up_to_the_range_end(sample):
    config_path, _ = sample
    report = ReportContext.create(config_path, period=RANGE, trend_periods=8)
    starts = sorted(report.kpi_table()["period_start"].unique().to_list())
    assert starts[-1] == date(2026, 8, 31)
    assert len(starts) == 8
    assert all(later - earlier == timedelta(weeks=1) for earlier, later in pairwise(starts))


def test_the_headline_of_the_two_weeks_names_the_payment_incident(sample, shown):
    config_path, stories = sample
    truth = stories["android_payment_incident"].truth
    assert (truth["first_day"], truth["last_day"]) == ("2026-08-30", "2026-09-03")
    report = ReportContext.create(config_path, period=RANGE)
    report.show_headline()
    (role, bundle, _), *_ = shown
    assert role == "headline"
    text = bundle["text/plain"]
    assert "for 24 Aug 2026 – 06 Sep 2026" in text
    assert "in the previous 14 days" in text
    assert "From 30 Aug to 3 Sep 2026, payment success rate on android fell" in text


# --------------------------------------------------------------------------- the rules


def _period(text: str, grain: str = "week"):
    return report_period(text, grain=grain, as_of="now", timezone="UTC", data_end=None)


def test_ranges_of_whole_periods_are_report_periods():
    two_weeks = _period(RANGE)
    assert (two_weeks.start, two_weeks.end, two_weeks.label) == (
        date(2026, 8, 24),
        date(2026, 9, 7),
        "2026-08-24_2026-09-07",
    )
    assert two_weeks.kpi_grain == Span(date(2026, 8, 24), 14)
    assert _period("2026-08-30..2026-09-04", "day").days == 5
    one_week = _period("2026-08-24..2026-08-31")
    assert not one_week.is_range
    assert (one_week.kpi_grain, one_week.label) == ("week", "2026-W35")


@pytest.mark.parametrize(
    ("period", "grain", "message"),
    [
        (
            "2026-08-25..2026-09-08",
            "week",
            "period '2026-08-25..2026-09-08' must be whole weeks: start and end on the first day "
            "of a week (a Monday) (such as 2026-08-24..2026-09-14)",
        ),
        (
            "2026-08-24..2026-09-09",
            "week",
            "period '2026-08-24..2026-09-09' must be whole weeks: start and end on the first day "
            "of a week (a Monday) (such as 2026-08-24..2026-09-14)",
        ),
        (
            "2026-08-03..2026-09-14",
            "week",
            "period '2026-08-03..2026-09-14' lasts 42 days: a range of dates lasts at most 31 "
            "days (or exactly one week)",
        ),
        (
            "2026-08-01..2026-10-01",
            "month",
            "period '2026-08-01..2026-10-01' lasts 61 days: a range of dates lasts at most 31 "
            "days (or exactly one month)",
        ),
        ("2026-09-07..2026-08-24", "week", "period '2026-09-07..2026-08-24' is empty"),
        ("2026-08-24..2026-09-31", "week", "period: expected last_full_day"),
    ],
)
def test_bad_ranges_are_refused_with_one_line(period, grain, message):
    with pytest.raises(DataError) as raised:
        _period(period, grain)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_a_range_is_compared_with_a_range_of_its_length():
    two_weeks = _period(RANGE)
    assert comparison_period("previous", two_weeks) is None
    year_before = comparison_period("previous_year", two_weeks)
    assert (year_before.start, year_before.end) == (date(2025, 8, 25), date(2025, 9, 8))
    assert year_before.kpi_grain == Span(date(2025, 8, 25), 14)
    explicit = comparison_period("2026-07-27..2026-08-10", two_weeks)
    assert explicit.days == 14
    with pytest.raises(DataError, match="lasts 7 days; it must last 14 days"):
        comparison_period("2026-08-17..2026-08-24", two_weeks)
    # a period of one week still wants a comparison of one week
    with pytest.raises(DataError, match="must be one week"):
        comparison_period("2026-07-27..2026-08-10", resolve_period("2026-08-24..2026-08-31"))

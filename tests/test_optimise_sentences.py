"""The engine's sentences: literal numbers in, the exact words out."""

from __future__ import annotations

from datetime import date

import pytest

from journeylib.optimise.sentences import (
    date_span,
    format_percent,
    incident_sentence,
    lost_noun,
    period_words,
    segment_label,
    segment_name,
)


def test_the_incident_sentence_of_the_payment_incident():
    text = incident_sentence(
        from_name="checkout",
        to_name="purchase",
        segment="android",
        start=date(2026, 8, 30),
        end=date(2026, 9, 4),
        baseline_rate=0.75,
        rate=0.60,
        baseline_periods=4,
        grain="week",
        users_lost=420.4,
    )
    assert text == (
        "From 30 Aug to 3 Sep 2026, checkout → purchase on android fell from 75% to 60% "
        "against the four weeks before; about 420 buyers lost."
    )


def test_an_all_units_incident_says_where_most_of_it_is():
    text = incident_sentence(
        from_name="visit",
        to_name="signup",
        segment=None,
        start=date(2026, 3, 2),
        end=date(2026, 3, 3),
        baseline_rate=0.081,
        rate=0.052,
        baseline_periods=1,
        grain="day",
        users_lost=1234.0,
        concentrated=("ios", 0.09, 0.03),
    )
    assert text == (
        "On 2 Mar 2026, visit → signup fell from 8.1% to 5.2% against the day before, most of "
        "it on ios (9.0% to 3.0%); about 1,200 sign-ups lost."
    )


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2026, 8, 30), date(2026, 8, 31), "On 30 Aug 2026"),
        (date(2026, 8, 1), date(2026, 9, 1), "From 1 Aug to 31 Aug 2026"),
        (date(2026, 12, 28), date(2027, 1, 4), "From 28 Dec 2026 to 3 Jan 2027"),
    ],
)
def test_date_spans_end_the_day_before_the_exclusive_end(start, end, expected):
    assert date_span(start, end) == expected


@pytest.mark.parametrize(
    ("count", "grain", "expected"),
    [
        (4, "week", "the four weeks before"),
        (1, "day", "the day before"),
        (12, "month", "the 12 months before"),
    ],
)
def test_period_words(count, grain, expected):
    assert period_words(count, grain) == expected


def test_nouns_labels_and_percentages():
    assert lost_noun("purchase") == "buyers"
    assert lost_noun("cart", unit="session_id") == "sessions"
    assert segment_label("campaign", None) == "campaign=(none)"
    assert segment_name("campaign", None) == "units without a campaign"
    assert (format_percent(0.7549), format_percent(0.0449)) == ("75%", "4.5%")

"""The rules every subpackage shares, each in one place: event filters (``data.filters``),
period stepping (``periods``), name suggestions (``errors``) and funnel defaults (the config
model)."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from journeylib.config import FunnelConfig, config_from_dict
from journeylib.data.filters import apply_filters, check_filter_columns
from journeylib.errors import DataError, close_matches, did_you_mean
from journeylib.periods import GRAIN_EVERY, periods_before, previous_period, truncate_to_grain

EVENTS = pl.LazyFrame(
    {
        "user_id": ["a", "b", "c", "d"],
        "channel": ["ads", "seo", None, "ads"],
        "platform": ["ios", "ios", "web", "web"],
        "n": [1, 2, 3, 4],
    }
)


def test_filters_keep_rows_whose_text_is_one_of_the_values() -> None:
    kept = apply_filters(EVENTS, {"channel": ["ads", "seo"], "platform": ["ios"]}).collect()
    assert kept["n"].to_list() == [1, 2]


def test_a_filter_compares_values_as_text() -> None:
    assert apply_filters(EVENTS, {"n": ["3"]}).collect()["user_id"].to_list() == ["c"]


def test_no_filter_keeps_everything() -> None:
    assert apply_filters(EVENTS, {}).collect().height == 4


def test_a_missing_filter_column_names_it_and_the_columns_there() -> None:
    with pytest.raises(DataError) as raised:
        apply_filters(EVENTS, {"country": ["de"]})
    assert str(raised.value) == (
        "filter column 'country' is not in the events; available: user_id, channel, platform, n"
    )
    with pytest.raises(DataError, match="filter column 'x'"):
        check_filter_columns(["a"], {"x": ["1"]})


@pytest.mark.parametrize(
    ("start", "grain", "count", "expected"),
    [
        (date(2026, 3, 2), "week", 3, date(2026, 2, 9)),
        (date(2026, 3, 1), "month", 3, date(2025, 12, 1)),
        (date(2026, 1, 1), "day", 1, date(2025, 12, 31)),
        (date(2026, 1, 5), "week", 0, date(2026, 1, 5)),
    ],
)
def test_periods_before_steps_back_whole_periods(start, grain, count, expected) -> None:
    assert periods_before(start, grain, count) == expected
    stepped = start
    for _ in range(count):
        stepped = previous_period(stepped, grain)
    assert stepped == expected


def test_truncate_to_grain_uses_iso_weeks_and_month_starts() -> None:
    frame = pl.DataFrame({"day": [date(2026, 1, 8), date(2026, 2, 28)]})
    weeks = frame.select(truncate_to_grain(pl.col("day"), "week"))["day"].to_list()
    months = frame.select(truncate_to_grain(pl.col("day"), "month"))["day"].to_list()
    assert weeks == [date(2026, 1, 5), date(2026, 2, 23)]
    assert months == [date(2026, 1, 1), date(2026, 2, 1)]
    assert GRAIN_EVERY == {"day": "1d", "week": "1w", "month": "1mo"}


def test_an_unknown_grain_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown grain 'year'"):
        truncate_to_grain(pl.col("day"), "year")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("word", "choices", "suggestion"),
    [
        ("convertion_rate", ["conversion_rate", "orders"], " (did you mean 'conversion_rate'?)"),
        ("IOS", ["android", "ios"], " (did you mean 'ios'?)"),
        ("zzz", ["orders"], ""),
    ],
)
def test_did_you_mean(word: str, choices: list[str], suggestion: str) -> None:
    assert did_you_mean(word, choices) == suggestion


def test_close_matches_lists_the_closest_first() -> None:
    names = ["events.csv", "events.parquet", "spend.csv"]
    assert close_matches("event.csv", names, n=3, cutoff=0.75) == ["events.csv"]


def test_funnel_defaults_are_the_config_models() -> None:
    defaults = FunnelConfig.defaults()
    assert defaults == {
        "window": timedelta(days=7),
        "unit": "user_id",
        "attempt": "first",
        "strict": False,
        "exclude": [],
    }
    config = config_from_dict(
        {
            "name": "t",
            "sources": {"events": {"path": "e.csv"}},
            "funnels": {"buy": {"steps": ["visit", "purchase"]}},
        }
    )
    funnel = config.funnels["buy"].model_dump()
    assert {key: funnel[key] for key in defaults} == defaults

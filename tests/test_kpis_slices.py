"""Aggregating the events in time slices gives exactly the KPI table of one pass."""

from __future__ import annotations

import itertools
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import journeylib
from journeylib import kpis
from journeylib.kpis._inputs import _slice_bounds, _slice_count
from journeylib.periods import local_bound
from journeylib.sample import generate_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    result = generate_sample(tmp_path_factory.mktemp("slices") / "s", users=3000, seed=5)
    return journeylib.load(result.config_path)


def _table(journey, slice_events, **options) -> pl.DataFrame:
    tables = {name: frame.lazy() for name, frame in journey.tables.items()}
    if options.pop("drop_session_ids", False):
        tables["events"] = tables["events"].drop("session_id")
    inputs = kpis.build_inputs(tables, journey.config, slice_events=slice_events, **options)
    return kpis.compute_kpi_table(inputs)


@pytest.mark.parametrize(
    "options",
    [
        {"start": date(2026, 6, 1), "end": date(2026, 10, 1), "grain": "week"},
        # a cut last period, a breakdown, and events after the end
        {"start": date(2026, 7, 1), "end": date(2026, 9, 17), "grain": "month", "by": ("channel",)},
        {"start": date(2026, 8, 3), "end": date(2026, 8, 24), "grain": "day"},
        # sessions from inactivity gaps, which may cross a slice bound
        {"start": date(2026, 6, 1), "end": date(2026, 9, 1), "drop_session_ids": True},
    ],
    ids=["weekly", "monthly-cut-by-channel", "daily", "gap-sessions"],
)
def test_sliced_table_equals_one_pass(sample, options):
    one_pass = _table(sample, None, **dict(options))
    sliced = _table(sample, 5_000, **dict(options))
    assert one_pass.height > 0
    assert one_pass["value"].drop_nulls().len() > 0.5 * one_pass.height
    assert_frame_equal(sliced, one_pass, check_exact=True)


def test_slice_count_from_the_number_of_events():
    events = pl.LazyFrame({"user_id": ["a"] * 10})
    assert _slice_count(events, None) == 1
    assert _slice_count(events, 10) == 1
    assert _slice_count(events, 9) == 2
    assert _slice_count(events, 3) == 4
    with pytest.raises(ValueError, match="slice_events must be a positive"):
        _slice_count(events, 0)


def test_slices_cover_time_once_on_period_bounds():
    zone = "Europe/Berlin"
    bounds = _slice_bounds(date(2026, 3, 2), date(2026, 4, 27), "week", 3, zone)
    assert len(bounds) == 3
    assert bounds[0][0] is None
    assert bounds[-1][1] is None
    # consecutive, cut at local midnight of a Monday (the second after the DST change of 29 March)
    for (_, upper), (lower, _) in itertools.pairwise(bounds):
        assert upper == lower
    assert [b[1] for b in bounds[:-1]] == [
        local_bound(date(2026, 3, 16), zone),
        local_bound(date(2026, 4, 6), zone),
    ]
    # never more slices than periods
    assert len(_slice_bounds(date(2026, 3, 2), date(2026, 3, 16), "week", 10, zone)) == 2

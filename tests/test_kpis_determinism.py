"""The same data gives the same KPI table to the last digit, however the threads ran."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import journeylib
from journeylib.sample import generate_sample


@pytest.mark.parametrize(
    "options",
    [
        {"grain": "week", "start": "2026-08-03"},
        # spend-based KPIs per channel summed many float costs per group (once order-dependent)
        {"grain": "month", "start": "2026-07-01", "by": "channel"},
    ],
    ids=["weekly", "monthly-by-channel"],
)
def test_kpi_table_is_identical_across_runs(tmp_path, options):
    result = generate_sample(tmp_path / "s", users=4000, seed=9)
    journey = journeylib.load(result.config_path)
    tables = [journey.kpis(**options) for _ in range(5)]
    # exact equality, floats included: money and durations are summed in integer units
    for other in tables[1:]:
        assert_frame_equal(tables[0], other, check_exact=True)
    money = tables[0].filter(pl.col("kpi").is_in(["revenue", "arpu", "aov", "ltv_90d"]))
    assert money["value"].drop_nulls().len() > 0

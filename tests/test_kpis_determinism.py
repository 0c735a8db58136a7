"""The same data gives the same KPI table to the last digit, however the threads ran."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

import journeylib
from journeylib.sample import generate_sample


def test_kpi_table_is_identical_across_runs(tmp_path):
    result = generate_sample(tmp_path / "s", users=4000, seed=9)
    tables = [
        journeylib.load(result.config_path).kpis(grain="week", start="2026-08-03") for _ in range(3)
    ]
    # exact equality, floats included: money and durations are summed in integer units
    for other in tables[1:]:
        assert_frame_equal(tables[0], other, check_exact=True)
    money = tables[0].filter(pl.col("kpi").is_in(["revenue", "arpu", "aov", "ltv_90d"]))
    assert money["value"].drop_nulls().len() > 0

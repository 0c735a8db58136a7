"""ltv_90d_at gives, for every end at once, what ltv_90d gives for each end alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from journeylib.kpis.lifetime_value import ltv_90d, ltv_90d_at


def _purchases(seed: int) -> pl.LazyFrame:
    rng = np.random.default_rng(seed)
    n = 4000
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # whole days: many customers share a first purchase instant (ties at a cutoff)
    days = rng.integers(0, 300, n)
    return pl.LazyFrame(
        {
            "user_id": rng.integers(0, 600, n),
            "timestamp": [start + timedelta(days=int(d)) for d in days],
            "event": rng.choice(["purchase", "visit"], n, p=[0.7, 0.3]),
            # integer-valued millionths, as the KPI table passes them
            "revenue": rng.integers(0, 500_000_000, n).astype(float),
        }
    )


def test_every_end_matches_the_single_end_formula() -> None:
    events = _purchases(11)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # before any eligible customer, exactly on a tie of first purchases, between, after all
    ends = [start + timedelta(days=d) for d in (10, 90, 91, 120, 150, 200, 389, 400)]
    ends.append(start + timedelta(days=130, hours=5))
    at = ltv_90d_at(
        events,
        purchase_events=["purchase"],
        ends=pl.LazyFrame({"data_end": ends}, schema={"data_end": pl.Datetime("us", "UTC")}),
    ).collect()
    assert at["data_end"].to_list() == ends
    for end, value, customers in at.select("data_end", "value", "customers").rows():
        expected = ltv_90d(events, purchase_events=["purchase"], data_end=end).collect()
        assert (value, customers) == expected.row(0)
    assert at["customers"][0] == 0
    assert at["value"][0] is None
    assert at["customers"][-2] > at["customers"][3] > 0


def test_ends_keep_their_order_and_columns() -> None:
    events = _purchases(3)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ends = pl.LazyFrame(
        {"key": ["c", "a", "b"], "data_end": [start + timedelta(days=d) for d in (300, 95, 200)]},
        schema={"key": pl.String, "data_end": pl.Datetime("us", "UTC")},
    )
    at = ltv_90d_at(events, purchase_events=["purchase"], ends=ends).collect()
    assert at.columns == ["key", "data_end", "value", "customers"]
    assert at["key"].to_list() == ["c", "a", "b"]
    assert at["customers"][1] < at["customers"][2] < at["customers"][0]

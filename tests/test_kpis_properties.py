"""Invariants of the KPI engine and the funnel on random small event sets (Hypothesis).

- every rate lies in [0, 1] when not null, inside its own interval;
- for counts, the whole equals the sum of the disjoint segments of a breakdown;
- funnel counts never increase along the steps.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

import journeylib.kpis as kpis
from journeylib.config import JourneyConfig, config_from_dict
from journeylib.funnel import compute_funnel

START = date(2026, 1, 5)
END = date(2026, 1, 19)
ORIGIN = datetime(2025, 12, 29, tzinfo=UTC)
SPAN_SECONDS = 28 * 86_400  # the week before START to one week after END
EVENTS = (
    "visit",
    "engage",
    "lead",
    "signup",
    "activation",
    "trial_start",
    "product_view",
    "add_to_cart",
    "payment_failed",
    "purchase",
    "referral",
    "review",
    "feature:export",
)
CONFIG: JourneyConfig = config_from_dict(
    {
        "name": "properties",
        "sources": {"events": {"path": "e.csv"}},
        "roles": {name: [name] for name in EVENTS},
    }
)
RATE_KPIS = [
    name
    for name, kpi in kpis.REGISTRY.items()
    if kpi.kind == "rate" and set(kpi.tables) <= {"events"}
]
COUNT_KPIS = ["unique_visitors", "orders", "revenue", "mau"]
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)

event_rows = st.lists(
    st.tuples(
        st.sampled_from(["u1", "u2", "u3", "u4", "u5", "u6"]),
        # minute resolution makes equal timestamps (ties) likely
        st.integers(min_value=0, max_value=SPAN_SECONDS // 60),
        st.sampled_from(EVENTS),
        st.sampled_from(["ads", "mail", "seo"]),
        st.sampled_from([0.0, 5.0, 12.5]),
    ),
    min_size=1,
    max_size=40,
)


def events_frame(rows: list[tuple[str, int, str, str, float]]) -> pl.LazyFrame:
    return pl.LazyFrame(
        {
            "user_id": [r[0] for r in rows],
            "timestamp": [ORIGIN + timedelta(minutes=r[1]) for r in rows],
            "event": [r[2] for r in rows],
            "channel": [r[3] for r in rows],
            "revenue": [r[4] for r in rows],
        },
        schema={
            "user_id": pl.String,
            "timestamp": pl.Datetime("us", "UTC"),
            "event": pl.String,
            "channel": pl.String,
            "revenue": pl.Float64,
        },
    )


def kpi_table(
    rows: list[tuple[str, int, str, str, float]], names: list[str], by: tuple[str, ...] = ()
) -> pl.DataFrame:
    inputs = kpis.build_inputs(
        {"events": events_frame(rows)}, CONFIG, start=START, end=END, grain="week", by=by
    )
    return kpis.compute_kpi_table(inputs, names)


@SETTINGS
@given(event_rows)
def test_every_rate_is_a_share_inside_its_interval(
    rows: list[tuple[str, int, str, str, float]],
) -> None:
    table = kpi_table(rows, RATE_KPIS).filter(pl.col("value").is_not_null())
    for row in table.iter_rows(named=True):
        assert 0.0 <= row["value"] <= 1.0, row
        assert row["ci_low"] <= row["value"] + 1e-12, row
        assert row["value"] <= row["ci_high"] + 1e-12, row
        assert 0.0 <= row["numerator"] <= row["denominator"], row


@SETTINGS
@given(event_rows)
def test_count_is_the_sum_of_its_breakdown_segments(
    rows: list[tuple[str, int, str, str, float]],
) -> None:
    whole = kpi_table(rows, COUNT_KPIS).select("period_start", "kpi", "value")
    segments = (
        kpi_table(rows, COUNT_KPIS, by=("channel",))
        .group_by("period_start", "kpi")
        .agg(pl.col("value").sum().alias("segments"))
    )
    joined = whole.join(segments, on=["period_start", "kpi"], how="left")
    for row in joined.iter_rows(named=True):
        assert abs(row["value"] - (row["segments"] or 0.0)) < 1e-9, row


@SETTINGS
@given(
    event_rows,
    st.lists(st.sampled_from(EVENTS), min_size=2, max_size=5, unique=True),
    st.sampled_from([timedelta(hours=1), timedelta(days=1), timedelta(days=7)]),
    st.sampled_from(["first", "best"]),
    st.booleans(),
)
def test_funnel_counts_never_increase_along_the_steps(
    rows: list[tuple[str, int, str, str, float]],
    steps: list[str],
    window: timedelta,
    attempt: str,
    strict: bool,
) -> None:
    result = compute_funnel(
        events_frame(rows),
        steps=[[step] for step in steps],
        start=datetime(2026, 1, 5, tzinfo=UTC),
        end=datetime(2026, 1, 19, tzinfo=UTC),
        window=window,
        attempt=attempt,  # type: ignore[arg-type]
        strict=strict,
    )
    users = result.steps.sort("step")["users"].to_list()
    assert len(users) == len(steps)
    assert all(later <= earlier for earlier, later in pairwise(users))

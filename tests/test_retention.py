"""Retention cohorts, period retention and customer value.

As docs/kpis.md#retention-cohorts, docs/kpis.md#retention_rate and docs/kpis.md#ltv_90d define them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference.retention_sql import retention_sql

from journeylib.errors import SchemaError
from journeylib.retention import clv_simple, ltv_90d, retention_matrix


def at(text: str) -> datetime:
    """A UTC timestamp written as ``YYYY-MM-DD HH:MM`` (or just the date)."""
    fmt = "%Y-%m-%d %H:%M" if " " in text else "%Y-%m-%d"
    return datetime.strptime(text, fmt).replace(tzinfo=UTC)


def make_events(rows: list[tuple], *, revenue: bool = False) -> pl.LazyFrame:
    """Canonical events from ``(user_id, "YYYY-MM-DD HH:MM", event[, revenue])`` rows."""
    schema = {"user_id": pl.String, "timestamp": pl.Datetime("us", "UTC"), "event": pl.String}
    if revenue:
        schema["revenue"] = pl.Float64
    data = [(row[0], at(row[1]), *row[2:]) for row in rows]
    return pl.LazyFrame(data, schema=schema, orient="row")


def cells(matrix: pl.LazyFrame) -> dict[tuple[date, int], float | None]:
    frame = matrix.collect()
    return {(c, k): r for c, k, r in frame.select("cohort", "offset", "retention").iter_rows()}


# Weeks (Monday start): 01-05, 01-12, 01-19, 01-26. The last event (d, 01-28) ends the data.
WEEKLY = [
    ("a", "2026-01-05 09:00", "visit"),
    ("a", "2026-01-13 09:00", "visit"),
    ("a", "2026-01-27 09:00", "visit"),
    ("b", "2026-01-06 09:00", "visit"),
    ("b", "2026-01-20 09:00", "visit"),
    ("c", "2026-01-14 09:00", "visit"),
    ("c", "2026-01-15 09:00", "visit"),
    ("c", "2026-01-21 09:00", "visit"),
    ("d", "2026-01-28 10:00", "visit"),
]
JAN05, JAN12, JAN19, JAN26 = (date(2026, 1, day) for day in (5, 12, 19, 26))


def test_weekly_cells_by_hand() -> None:
    matrix = retention_matrix(make_events(WEEKLY), grain="week")
    assert cells(matrix) == {
        (JAN05, 0): 1.0,
        (JAN05, 1): 0.5,
        (JAN05, 2): 0.5,
        (JAN05, 3): None,  # the week of the last event is not fully observed
        (JAN12, 0): 1.0,
        (JAN12, 1): 1.0,
        (JAN12, 2): None,
        (JAN26, 0): None,
    }


def test_weekly_columns_sizes_and_users() -> None:
    frame = retention_matrix(make_events(WEEKLY), grain="week").collect()
    assert frame.schema == pl.Schema(
        {
            "cohort": pl.Date(),
            "offset": pl.Int64(),
            "period_start": pl.Date(),
            "cohort_size": pl.Int64(),
            "users": pl.Int64(),
            "retention": pl.Float64(),
        }
    )
    first = frame.filter(pl.col("cohort") == JAN05)
    assert first["cohort_size"].to_list() == [2, 2, 2, 2]
    assert first["users"].to_list() == [2, 1, 1, None]
    assert first["period_start"].to_list() == [JAN05, JAN12, JAN19, JAN26]


def test_on_or_after_counts_any_later_return() -> None:
    matrix = retention_matrix(make_events(WEEKLY), grain="week", mode="on_or_after")
    assert cells(matrix) == {
        (JAN05, 0): 1.0,
        (JAN05, 1): 1.0,
        (JAN05, 2): 1.0,
        (JAN05, 3): None,
        (JAN12, 0): 1.0,
        (JAN12, 1): 1.0,
        (JAN12, 2): None,
        (JAN26, 0): None,
    }


@pytest.mark.parametrize(
    ("data_end", "jan26_observed"),
    [
        (at("2026-02-02 00:00"), True),  # the week ends exactly at the data end
        (at("2026-02-01 23:59"), False),
    ],
)
def test_explicit_data_end_decides_observed_cells(data_end: datetime, jan26_observed: bool) -> None:
    matrix = retention_matrix(make_events(WEEKLY), grain="week", data_end=data_end)
    result = cells(matrix)
    assert result[(JAN05, 3)] == (0.5 if jan26_observed else None)
    assert result[(JAN26, 0)] == (1.0 if jan26_observed else None)


def test_offset_zero_is_full_when_cohort_and_return_events_coincide() -> None:
    frame = retention_matrix(make_events(WEEKLY), grain="day", data_end=at("2026-02-01")).collect()
    assert frame.filter(pl.col("offset") == 0)["retention"].unique().to_list() == [1.0]


PURCHASES = [
    ("a", "2026-01-05 09:00", "visit"),  # before a's first purchase: not a return
    ("a", "2026-01-13 09:00", "purchase"),
    ("a", "2026-01-20 09:00", "visit"),
    ("b", "2026-01-06 09:00", "purchase"),
    ("b", "2026-01-14 09:00", "purchase"),
    ("c", "2026-01-07 09:00", "visit"),  # never purchases: in no cohort
    ("c", "2026-01-29 09:00", "visit"),
]


@pytest.mark.parametrize(
    ("return_events", "expected"),
    [
        (
            ["purchase"],
            {(JAN05, 0): 1.0, (JAN05, 1): 1.0, (JAN05, 2): 0.0, (JAN05, 3): None,
             (JAN12, 0): 1.0, (JAN12, 1): 0.0, (JAN12, 2): None},
        ),
        (
            None,
            {(JAN05, 0): 1.0, (JAN05, 1): 1.0, (JAN05, 2): 0.0, (JAN05, 3): None,
             (JAN12, 0): 1.0, (JAN12, 1): 1.0, (JAN12, 2): None},
        ),
    ],
)  # fmt: skip
def test_purchase_cohorts(return_events: list[str] | None, expected: dict) -> None:
    matrix = retention_matrix(
        make_events(PURCHASES),
        grain="week",
        cohort_events=["purchase"],
        return_events=return_events,
    )
    assert cells(matrix) == expected


def test_cohort_filter_keeps_first_ever_cohort_and_max_offset_squares_the_grid() -> None:
    matrix = retention_matrix(
        make_events(WEEKLY), grain="week", cohort_start=JAN12, cohort_end=JAN26, max_offset=1
    )
    frame = matrix.collect()
    # a's first week is 01-05: a is not in the 01-12 cohort although a is active then.
    assert frame.select("cohort", "offset", "cohort_size", "retention").rows() == [
        (JAN12, 0, 1, 1.0),
        (JAN12, 1, 1, 1.0),
        (JAN26, 0, 1, None),
        (JAN26, 1, 1, None),
    ]


# Europe/Berlin moves to summer time on Sunday 2026-03-29.
DST = [
    ("u1", "2026-03-22 23:30", "visit"),  # Mon 03-23 00:30 CET: week of 03-23 (UTC: 03-16)
    ("u1", "2026-03-29 22:30", "visit"),  # Mon 03-30 00:30 CEST: week of 03-30 (UTC: 03-23)
    ("u2", "2026-03-29 21:30", "visit"),  # Sun 03-29 23:30 CEST: week of 03-23
    ("u3", "2026-04-06 12:00", "visit"),
]


@pytest.mark.parametrize(
    ("data_end", "second_week"),
    [
        (None, 0.5),
        (at("2026-04-05 22:00"), 0.5),  # the week ends at local midnight = 22:00 UTC in summer
        (at("2026-04-05 21:59"), None),
    ],
)
def test_weekly_grain_across_dst_in_berlin(data_end: datetime | None, second_week: float | None):
    matrix = retention_matrix(
        make_events(DST), grain="week", timezone="Europe/Berlin", data_end=data_end
    )
    result = cells(matrix)
    assert result[(date(2026, 3, 23), 0)] == 1.0
    assert result[(date(2026, 3, 23), 1)] == second_week
    assert matrix.collect().filter(pl.col("offset") == 0)["cohort_size"].to_list()[0] == 2


def test_same_events_in_utc_make_other_cohorts() -> None:
    frame = retention_matrix(make_events(DST), grain="week", timezone="UTC").collect()
    assert frame.filter(pl.col("offset") == 0)["cohort"].to_list() == [
        date(2026, 3, 16),
        date(2026, 3, 23),
        date(2026, 4, 6),
    ]


MONTHLY = [
    ("a", "2026-01-15 12:00", "visit"),
    ("a", "2026-03-02 12:00", "visit"),
    ("b", "2026-01-20 12:00", "visit"),
    ("b", "2026-02-10 12:00", "visit"),
    ("c", "2026-02-05 12:00", "visit"),
    ("c", "2026-04-10 12:00", "visit"),
]
JAN, FEB, MAR, APR = (date(2026, m, 1) for m in (1, 2, 3, 4))


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("on", {(JAN, 0): 1.0, (JAN, 1): 0.5, (JAN, 2): 0.5, (JAN, 3): None,
                (FEB, 0): 1.0, (FEB, 1): 0.0, (FEB, 2): None}),
        # c returns in April: that counts for March, though April itself is not observed.
        ("on_or_after", {(JAN, 0): 1.0, (JAN, 1): 1.0, (JAN, 2): 0.5, (JAN, 3): None,
                         (FEB, 0): 1.0, (FEB, 1): 1.0, (FEB, 2): None}),
    ],
)  # fmt: skip
def test_monthly_grain(mode: str, expected: dict) -> None:
    matrix = retention_matrix(make_events(MONTHLY), grain="month", mode=mode)
    assert cells(matrix) == expected
    periods = matrix.collect().filter(pl.col("cohort") == JAN)["period_start"].to_list()
    assert periods == [JAN, FEB, MAR, APR]


@pytest.mark.parametrize("mode", ["on", "on_or_after"])
def test_empty_events_give_empty_matrix(mode: str) -> None:
    frame = retention_matrix(make_events([]), mode=mode).collect()
    assert frame.height == 0
    assert frame.columns == list(retention_matrix(make_events(WEEKLY)).collect_schema())


def test_unknown_mode_raises() -> None:
    with pytest.raises(ValueError, match="on_or_after"):
        retention_matrix(make_events(WEEKLY), mode="after")  # type: ignore[arg-type]


# ---------------------------------------------------------------- lifetime value

LTV = [
    ("a", "2026-01-01 00:00", "purchase", 10.0),  # exactly 90 days before the data end
    ("a", "2026-03-31 23:59", "purchase", 5.0),  # day 90: inside [first, first + 90 days)
    ("a", "2026-04-01 00:00", "purchase", 100.0),  # first + 90 days: outside
    ("b", "2026-01-02 00:00", "purchase", 7.0),  # 89 days before the end: not eligible
    ("v", "2025-12-01 00:00", "visit", None),  # never purchases: not a customer
]


def test_ltv_90d_by_hand() -> None:
    frame = ltv_90d(make_events(LTV, revenue=True), purchase_events=["purchase"]).collect()
    assert frame.rows() == [(15.0, 1)]


def test_ltv_90d_without_eligible_customers_is_null() -> None:
    frame = ltv_90d(
        make_events(LTV, revenue=True), purchase_events=["purchase"], data_end=at("2026-03-01")
    ).collect()
    assert frame.rows() == [(None, 0)]


def test_ltv_90d_needs_revenue() -> None:
    with pytest.raises(SchemaError, match="'revenue' is missing"):
        ltv_90d(make_events(WEEKLY), purchase_events=["purchase"])


CLV = [
    ("a", "2026-01-10 12:00", "purchase", 5.0),
    ("b", "2026-01-11 12:00", "purchase", 5.0),
    ("c", "2026-01-12 12:00", "purchase", 5.0),
    ("a", "2026-02-10 12:00", "purchase", 30.0),
    ("b", "2026-02-11 12:00", "purchase", 10.0),
    ("d", "2026-02-12 12:00", "purchase", 20.0),
    ("a", "2026-03-10 12:00", "purchase", 25.0),
    ("a", "2026-03-20 12:00", "purchase", 15.0),
    ("d", "2026-03-12 12:00", "purchase", None),
    ("e", "2026-04-10 12:00", "purchase", 1000.0),  # April is not a full month
    ("e", "2026-04-15 12:00", "visit", None),
]


def test_clv_simple_by_hand() -> None:
    # window Feb-Mar: revenue 30 + 10 + 20 + 40 + 0 = 100 over 5 customer-months = 20;
    # churn: Feb loses c of {a, b, c}, Mar loses b of {a, b, d}: 2 / 6; value 20 × 3 = 60.
    frame = clv_simple(
        make_events(CLV, revenue=True), purchase_events=["purchase"], months=2
    ).collect()
    assert frame.columns == [
        "window_start",
        "window_end",
        "revenue_per_customer_month",
        "churn_rate",
        "value",
    ]
    row = frame.row(0, named=True)
    assert (row["window_start"], row["window_end"]) == (FEB, APR)
    assert row["revenue_per_customer_month"] == pytest.approx(20.0)
    assert row["churn_rate"] == pytest.approx(1 / 3)
    assert row["value"] == pytest.approx(60.0)


def test_clv_simple_without_churn_is_null() -> None:
    loyal = [("a", f"2026-0{m}-10 12:00", "purchase", 10.0) for m in (1, 2, 3, 4)]
    frame = clv_simple(
        make_events(loyal, revenue=True), purchase_events=["purchase"], months=2
    ).collect()
    assert frame.select("churn_rate", "value").row(0) == (0.0, None)


# ---------------------------------------------------------------- properties


@st.composite
def event_sets(draw: st.DrawFn) -> pl.LazyFrame:
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["a", "b", "c", "d", "e"]),
                st.integers(min_value=0, max_value=60 * 24),  # hours after the start
                st.sampled_from(["visit", "purchase"]),
            ),
            max_size=40,
        )
    )
    start = at("2026-03-01")
    return pl.LazyFrame(
        [(user, start + timedelta(hours=hours), event) for user, hours, event in rows],
        schema={"user_id": pl.String, "timestamp": pl.Datetime("us", "UTC"), "event": pl.String},
        orient="row",
    )


@settings(max_examples=40, deadline=None)
@given(events=event_sets(), grain=st.sampled_from(["day", "week", "month"]))
def test_cells_within_unit_interval_and_unbounded_at_least_bounded(
    events: pl.LazyFrame, grain: str
) -> None:
    options = {"grain": grain, "timezone": "Europe/Berlin", "cohort_events": ["purchase"]}
    bounded = retention_matrix(events, mode="on", **options).collect()
    unbounded = retention_matrix(events, mode="on_or_after", **options).collect()
    assert bounded.select("cohort", "offset").equals(unbounded.select("cohort", "offset"))
    values = bounded["retention"].drop_nulls()
    assert ((values >= 0) & (values <= 1)).all()
    both = bounded["retention"].to_frame("on").with_columns(after=unbounded["retention"])
    assert both.filter(pl.col("after") < pl.col("on")).height == 0


# ---------------------------------------------------------------- against plain SQL


def generated_events(n_events: int = 100_000, n_users: int = 4_000) -> pl.DataFrame:
    rng = np.random.default_rng(20260101)
    start = int(at("2025-01-01").timestamp() * 1_000_000)
    span = 400 * 86_400 * 1_000_000
    users = rng.integers(0, n_users, n_events)
    first_seen = rng.integers(0, span, n_users)
    micros = first_seen[users] + (rng.exponential(0.2, n_events) * span).astype(np.int64)
    names = np.array(["visit", "product_view", "add_to_cart", "purchase"])
    return pl.DataFrame(
        {
            "user_id": pl.Series(users).cast(pl.String),
            "timestamp": pl.Series(start + np.minimum(micros, span)).cast(pl.Datetime("us", "UTC")),
            "event": names[rng.choice(4, n_events, p=[0.6, 0.25, 0.1, 0.05])],
        }
    )


@pytest.fixture(scope="module")
def generated() -> tuple[pl.DataFrame, duckdb.DuckDBPyConnection]:
    events = generated_events()
    con = duckdb.connect()
    con.register("events", events.to_arrow())
    return events, con


@pytest.mark.parametrize(
    "options",
    [
        {"grain": "week", "timezone": "Europe/Berlin"},
        {"grain": "day", "timezone": "America/New_York", "mode": "on_or_after"},
        {"grain": "month", "timezone": "Europe/Berlin", "mode": "on_or_after"},
        {"grain": "month", "timezone": "UTC", "cohort_events": ["purchase"]},
        {
            "grain": "week",
            "timezone": "Asia/Kolkata",
            "cohort_events": ["purchase"],
            "return_events": ["purchase", "add_to_cart"],
            "mode": "on_or_after",
        },
        {
            "grain": "week",
            "timezone": "Europe/Berlin",
            "cohort_start": date(2025, 3, 1),
            "cohort_end": date(2025, 9, 30),
            "max_offset": 12,
            "data_end": at("2025-10-26 00:30"),
        },
    ],
    ids=lambda options: "-".join(str(v) for v in options.values()),
)
def test_matches_plain_sql(
    generated: tuple[pl.DataFrame, duckdb.DuckDBPyConnection], options: dict
) -> None:
    events, con = generated
    polars_cells = retention_matrix(events.lazy(), **options).collect()
    sql_cells = retention_sql(con, "events", **options)
    assert polars_cells.height > 50
    assert polars_cells["retention"].null_count() > 0
    assert polars_cells.equals(sql_cells)

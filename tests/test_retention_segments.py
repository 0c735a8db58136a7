"""Cohorts by acquisition segment, pooled retention curves and value by cohort.

Hand-computed cells on tiny literal event tables, and on the sample company: the segments'
matrices add up to the unsplit matrix, and each cohort's cumulated value equals a plain-Python
sum over the collected events.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime

import polars as pl
import pytest

import journeylib
from journeylib.errors import DataError, SchemaError
from journeylib.retention import (
    acquisition_segments,
    cohort_value,
    pooled_retention,
    retention_by_segment,
)


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def events(rows: list[tuple]) -> pl.LazyFrame:
    """``(user, "YYYY-MM-DD HH:MM", event, channel, revenue)`` rows as canonical events."""
    schema = {
        "user_id": pl.String,
        "timestamp": pl.Datetime("us", "UTC"),
        "event": pl.String,
        "channel": pl.String,
        "revenue": pl.Float64,
    }
    data = [(u, at(t), e, c, r) for u, t, e, c, r in rows]
    return pl.LazyFrame(data, schema=schema, orient="row")


# Weeks (Monday start): 01-05, 01-12, 01-19. The last event (01-21) leaves week 01-19 open.
ROWS = [
    ("a", "2026-01-05 09:00", "visit", "ads", None),
    ("a", "2026-01-13 09:00", "visit", "seo", None),
    ("b", "2026-01-06 09:00", "visit", "seo", None),
    ("c", "2026-01-07 09:00", "visit", "seo", None),
    ("c", "2026-01-14 09:00", "buy", "seo", 30.0),
    ("d", "2026-01-12 09:00", "visit", None, None),
    ("d", "2026-01-12 09:00", "buy", None, 10.0),
    ("d", "2026-01-21 09:00", "buy", None, 5.0),
]
JAN05, JAN12, JAN19 = date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19)


def test_acquisition_segment_is_the_value_on_the_first_event():
    found = dict(acquisition_segments(events(ROWS), by="channel").collect().iter_rows())
    # a's later "seo" does not move a; d's first event has no channel: its own segment
    assert found == {"a": "ads", "b": "seo", "c": "seo", "d": "(none)"}


def test_acquisition_segment_ties_in_time_go_to_the_smallest_value():
    tied = events(
        [("a", "2026-01-05 09:00", "visit", "seo", None)] * 1
        + [("a", "2026-01-05 09:00", "visit", "ads", None)]
    )
    assert acquisition_segments(tied, by="channel").collect().rows() == [("a", "ads")]


@pytest.mark.parametrize(("column", "said"), [("colour", "not a column"), ("user_id", "dimension")])
def test_acquisition_segment_refuses_a_column_that_is_not_a_dimension(column, said):
    with pytest.raises(DataError, match=said):
        acquisition_segments(events(ROWS), by=column)


def test_retention_by_segment_by_hand():
    matrix = retention_by_segment(events(ROWS), by="channel", grain="week")
    cells = {
        (s, c, k): (n, u)
        for s, c, k, n, u in matrix.select(
            "channel", "cohort", "offset", "cohort_size", "users"
        ).iter_rows()
    }
    assert cells == {
        # a: cohort 01-05, back in week 01-12; data ends 01-21, so week 01-19 is not observed
        ("ads", JAN05, 0): (1, 1),
        ("ads", JAN05, 1): (1, 1),
        ("ads", JAN05, 2): (1, None),
        # b and c: cohort 01-05; c is back in week 01-12
        ("seo", JAN05, 0): (2, 2),
        ("seo", JAN05, 1): (2, 1),
        ("seo", JAN05, 2): (2, None),
        ("(none)", JAN12, 0): (1, 1),
        ("(none)", JAN12, 1): (1, None),
    }


def test_pooled_retention_sums_the_observed_cohorts():
    matrix = pl.DataFrame(
        {
            "cohort": [JAN05, JAN05, JAN05, JAN12, JAN12, JAN19],
            "offset": [0, 1, 2, 0, 1, 0],
            "cohort_size": [10, 10, 10, 30, 30, 5],
            "users": [10, 4, None, 30, 6, None],
        }
    )
    pooled = pooled_retention(matrix)
    assert pooled.select("offset", "cohorts", "cohort_size", "users").rows() == [
        (0, 2, 40, 40),
        (1, 2, 40, 10),
    ]
    assert pooled["retention"].to_list() == [1.0, 0.25]
    # Wilson 95% interval of 10 / 40, by hand: centre 0.2907, half-width 0.1308
    low, high = pooled.filter(pl.col("offset") == 1).select("ci_low", "ci_high").row(0)
    assert low == pytest.approx(0.1419, abs=1e-4)
    assert high == pytest.approx(0.4019, abs=1e-4)


def test_pooled_retention_names_missing_columns():
    with pytest.raises(DataError, match="lacks column"):
        pooled_retention(pl.DataFrame({"offset": [0]}))


def test_cohort_value_by_hand():
    value = cohort_value(
        events(ROWS), revenue_events=["buy"], grain="week", cohort_events=["buy"]
    ).collect()
    rows = value.select("cohort", "offset", "cohort_size", "customers", "revenue").rows()
    assert rows == [
        # c buys in week 01-12; d buys 10 in week 01-12 and 5 in week 01-19 (not observed)
        (JAN12, 0, 2, 2, 40.0),
        (JAN12, 1, 2, None, None),
    ]
    assert value["value_per_user"].to_list() == [20.0, None]


def test_cohort_value_of_all_users_counts_non_buyers_in_the_cohort_size():
    value = cohort_value(events(ROWS), revenue_events=["buy"], grain="week").collect()
    first = value.filter(pl.col("cohort") == JAN05)
    # a, b, c joined in week 01-05; c's 30 comes in week 01-12
    assert first.select("offset", "customers", "revenue", "value_per_user").rows() == [
        (0, 0, 0.0, 0.0),
        (1, 1, 30.0, 10.0),
        (2, None, None, None),
    ]


def test_cohort_value_needs_revenue():
    with pytest.raises(SchemaError, match="revenue"):
        cohort_value(events(ROWS).drop("revenue"), revenue_events=["buy"])


# --------------------------------------------------------------------------- the sample


@pytest.fixture(scope="module")
def journey(small_sample_config):
    return journeylib.load(small_sample_config)


def test_segments_add_up_to_the_unsplit_matrix(journey):
    whole = journey.retention(grain="month")
    split = journey.retention(grain="month", by="channel")
    summed = split.group_by("cohort", "offset").agg(
        pl.col("cohort_size").sum(), pl.col("users").sum()
    )
    joined = whole.join(summed, on=["cohort", "offset"], suffix="_split")
    assert joined.height == whole.height
    assert (joined["cohort_size"] == joined["cohort_size_split"]).all()
    observed = joined.filter(pl.col("users").is_not_null())
    assert (observed["users"] == observed["users_split"]).all()


def test_cohort_value_matches_a_plain_sum_over_the_events(journey):
    value = journey.cohort_value(grain="month")
    zone = journey.config.timezone
    purchases = set(journey.config.events_for("purchase"))
    rows = (
        journey.tables["events"]
        .filter(pl.col("event").is_in(purchases))
        .select("user_id", local=pl.col("timestamp").dt.convert_time_zone(zone), revenue="revenue")
        .collect()
        .rows()
    )
    first: dict[str, tuple[int, int]] = {}
    for user, local, _ in sorted(rows, key=lambda row: row[1]):
        first.setdefault(user, (local.year, local.month))
    spent: dict[tuple[tuple[int, int], int], float] = defaultdict(float)
    for user, local, revenue in rows:
        cohort = first[user]
        offset = (local.year - cohort[0]) * 12 + local.month - cohort[1]
        spent[(cohort, offset)] += revenue or 0.0
    observed = value.filter(pl.col("revenue").is_not_null())
    assert observed.height > 3
    for row in observed.iter_rows(named=True):
        cohort = (row["cohort"].year, row["cohort"].month)
        expected = sum(spent[(cohort, k)] for k in range(row["offset"] + 1))
        assert row["revenue"] == pytest.approx(expected), row
        size = sum(1 for month in first.values() if month == cohort)
        assert row["cohort_size"] == size

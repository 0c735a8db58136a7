"""The KPI table at its edges: breakdowns with KPIs that are not available, the first period
of the data (nothing came before it), and the names a caller can get wrong.

Values are hand-computed on tiny literal events; the week ``W`` = [2026-01-05, 2026-01-12).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest
from test_kpis import SPEND_W, TICKETS_W, W, ev, events_frame, kpi_table, make_config, row_of

import journeylib.kpis as kpis
from journeylib.errors import DataError

PREV = date(2025, 12, 29)


def _with_platform(rows: list[dict[str, Any]], platforms: list[str]) -> pl.LazyFrame:
    return events_frame(rows).with_columns(pl.Series("platform", platforms))


# --------------------------------------------------------------------------- breakdowns


def test_kpi_without_its_table_keeps_the_breakdown_columns() -> None:
    # impressions need spend, which is not configured: not available, yet it stacks under
    # orders broken down by channel (this concat failed: "schema names differ")
    rows = [ev("a", "2026-01-05 10:00", "purchase", 5.0, channel="ads"),
            ev("b", "2026-01-06 10:00", "purchase", 7.0, channel="mail")]  # fmt: skip
    table = kpi_table(rows, ["orders", "impressions"], by=("channel",))
    assert table.columns[:4] == ["period_start", "period_end", "complete", "channel"]
    unavailable = table.filter(pl.col("kpi") == "impressions", pl.col("period_start") == W)
    assert sorted(unavailable["channel"].to_list()) == ["ads", "mail"]
    assert unavailable["available"].to_list() == [False, False]
    assert unavailable["value"].to_list() == [None, None]
    assert unavailable["reason"].unique().to_list() == ["no spend table is configured"]
    assert row_of(table, "orders", channel="mail")["value"] == 1.0


def test_breakdown_with_a_filter_that_spend_cannot_take() -> None:
    # --by channel --filter platform=ios: spend has no platform, so cost KPIs are not
    # available; a pivot by channel still has a column for each KPI asked for
    rows = [
        ev("a", "2026-01-05 10:00", "visit", channel="ads"),
        ev("a", "2026-01-05 11:00", "purchase", 5.0, channel="ads"),
        ev("b", "2026-01-06 10:00", "visit", channel="mail"),
        ev("c", "2026-01-06 10:00", "visit", channel="mail"),
    ]
    events = _with_platform(rows, ["ios", "ios", "ios", "web"])
    inputs = kpis.build_inputs(
        {"events": events, "spend": SPEND_W},
        make_config(),
        start=W,
        end=date(2026, 1, 12),
        by=("channel",),
        filters={"platform": ["ios"]},
    )
    table = kpis.compute_kpi_table(inputs, ["conversion_rate", "cost_per_conversion"])
    wide = table.filter(pl.col("period_start") == W).pivot(
        "kpi", index="channel", values="value", aggregate_function="first"
    )
    assert wide.sort("channel").to_dicts() == [
        {"channel": "ads", "conversion_rate": 1.0, "cost_per_conversion": None},
        {"channel": "mail", "conversion_rate": 0.0, "cost_per_conversion": None},
    ]
    reasons = table.filter(pl.col("kpi") == "cost_per_conversion")["reason"].unique()
    assert reasons.to_list() == ["the spend table has no column 'platform' to filter on"]


def test_unavailable_kpi_with_no_segment_has_one_null_row_per_period() -> None:
    # no events in the report weeks at all: no segment, one row per period, value null
    rows = [ev("a", "2025-11-03 10:00", "visit")]
    table = kpi_table(rows, ["impressions"], by=("channel",))
    assert table.select("period_start", "channel", "available").to_dicts() == [
        {"period_start": W, "channel": None, "available": False}
    ]


# --------------------------------------------------------------------------- the first period


@pytest.mark.parametrize("first", ["2026-01-05 00:00", "2026-01-06 10:00"])
def test_first_period_of_the_data_has_nothing_to_compare_with(first: str) -> None:
    # the data starts in W (at its first instant, or later): the week before lies wholly
    # before the first event, so there is no previous value, change or test (not "+3 from 0")
    rows = [
        *(ev(u, first, "visit") for u in "abc"),
        ev("a", "2026-01-07 10:00", "purchase", 4.0),
        ev("b", "2026-01-07 10:00", "purchase", 6.0),
    ]
    table = kpi_table(rows, ["orders", "revenue", "conversion_rate", "unique_visitors"])
    for kpi in ("orders", "revenue", "conversion_rate", "unique_visitors"):
        row = row_of(table, kpi)
        assert row["value"] is not None, kpi
        stats = {k: row[k] for k in ("previous", "change", "relative_change", "p_value")}
        assert stats == dict.fromkeys(stats), kpi
        assert not row["significant"], kpi
    assert row_of(table, "orders")["value"] == 2.0


def test_second_period_compares_with_the_first() -> None:
    rows = [ev("a", "2026-01-05 10:00", "purchase", 1.0), ev("a", "2026-01-13 10:00", "visit"),
            *(ev(u, "2026-01-14 10:00", "purchase", 1.0) for u in "abc")]  # fmt: skip
    table = kpi_table(rows, ["orders"], end=date(2026, 1, 19))
    second = row_of(table, "orders", date(2026, 1, 12))
    assert (second["value"], second["previous"], second["change"]) == (3.0, 1.0, 2.0)
    assert row_of(table, "orders")["previous"] is None


def test_previous_period_inside_the_data_without_events_keeps_its_zero() -> None:
    # the data starts on 2025-12-20, the week before W has no events: an honest 0
    rows = [ev("z", "2025-12-20 10:00", "visit"), ev("a", "2026-01-07 10:00", "purchase", 4.0)]
    row = row_of(kpi_table(rows, ["orders"]), "orders")
    assert (row["value"], row["previous"], row["change"], row["relative_change"]) == (
        1.0,
        0.0,
        1.0,
        None,
    )


def test_a_filter_does_not_move_the_start_of_the_data() -> None:
    # web events in PREV, ios only from W on: filtered to ios, PREV is inside the data and
    # ios had no orders there (0), which is not "before the data"
    rows = [ev("a", "2025-12-30 10:00", "purchase", 1.0), ev("b", "2026-01-07 10:00",
            "purchase", 1.0)]  # fmt: skip
    events = _with_platform(rows, ["web", "ios"])
    inputs = kpis.build_inputs(
        {"events": events}, make_config(), start=W, end=date(2026, 1, 12),
        filters={"platform": ["ios"]},
    )  # fmt: skip
    row = row_of(kpis.compute_kpi_table(inputs, ["orders"]), "orders")
    assert (row["value"], row["previous"], row["change"]) == (1.0, 0.0, 1.0)
    assert inputs.data_start == rows[0]["timestamp"]


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("nosuch", ["unknown KPI 'nosuch'", "known KPIs: activation_rate"]),
        ("convertion_rate", ["did you mean 'conversion_rate'?"]),
        ("feature_adoption_rate[nosuch]", ["feature 'nosuch' is not mapped", "export, import"]),
        ("feature_adoption_rate[exprt]", ["did you mean 'export'?"]),
        ("conversion_rate[ios]", ["only feature_adoption_rate takes a feature"]),
    ],
)
def test_a_kpi_name_that_names_nothing_is_refused(name: str, words: list[str]) -> None:
    with pytest.raises(DataError) as raised:
        kpi_table([ev("a", "2026-01-05 10:00", "visit")], [name])
    for word in words:
        assert word in str(raised.value)


@pytest.mark.parametrize(
    ("by", "words"),
    [
        (("channel", "channel"), ["'channel' is given twice", "available dimensions: channel"]),
        (("user_id",), ["'user_id' is a canonical column", "available dimensions: channel"]),
        (("revenue",), ["'revenue' is a canonical column"]),
    ],
)
def test_a_breakdown_must_be_distinct_dimensions(by: tuple[str, ...], words: list[str]) -> None:
    with pytest.raises(DataError) as raised:
        kpi_table([ev("a", "2026-01-05 10:00", "visit")], ["orders"], by=by)
    for word in words:
        assert word in str(raised.value)


# --------------------------------------------------------------------------- optional columns


@pytest.mark.parametrize(
    ("drop", "missing", "kept"),
    [
        ("impressions", {"impressions": "impressions", "ctr": "impressions"}, "clicks"),
        ("clicks", {"clicks": "clicks", "ctr": "clicks"}, "impressions"),
    ],
)
def test_a_kpi_whose_spend_column_is_missing_is_not_available(drop, missing, kept) -> None:
    # a spend table with cost only is valid input: its KPIs are "not available", never 0
    rows = [ev("a", "2026-01-05 10:00", "visit"), ev("a", "2026-01-05 11:00", "lead")]
    table = kpi_table(rows, [*missing, kept, "cost_per_lead"], spend=SPEND_W.drop(drop))
    for name, column in missing.items():
        row = row_of(table, name)
        assert (row["available"], row["value"]) == (False, None)
        assert row["reason"] == f"the spend table has no column '{column}'"
    assert row_of(table, kept)["available"] is True
    assert row_of(table, "cost_per_lead")["value"] == 90.0


def test_revenue_kpis_without_a_revenue_column_are_not_available() -> None:
    rows = [ev("a", "2026-01-05 10:00", "visit"), ev("a", "2026-01-05 11:00", "purchase")]
    events = events_frame(rows).drop("revenue")
    inputs = kpis.build_inputs({"events": events}, make_config(), start=W, end=date(2026, 1, 12))
    table = kpis.compute_kpi_table(inputs, ["orders", "revenue", "aov", "arpu"])
    for name in ("revenue", "aov", "arpu"):
        row = row_of(table, name)
        assert (row["available"], row["value"]) == (False, None)
        assert row["reason"] == "the events table has no column 'revenue'"
    assert row_of(table, "orders")["value"] == 1.0


def test_ticket_kpis_name_the_ticket_column_they_miss() -> None:
    rows = [ev("a", "2026-01-05 10:00", "visit")]
    tickets = TICKETS_W.drop("resolved_at", "handle_minutes")
    names = ["first_contact_resolution", "avg_handling_time", "time_to_resolution"]
    table = kpi_table(rows, names, tickets=tickets)
    reasons = {name: row_of(table, name)["reason"] for name in names}
    assert reasons == {
        "first_contact_resolution": "the tickets table has no column 'resolved_at'",
        "avg_handling_time": "the tickets table has no column 'handle_minutes'",
        "time_to_resolution": "the tickets table has no column 'resolved_at'",
    }

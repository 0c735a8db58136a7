"""Every KPI of docs/kpis.md#kpis-by-stage on tiny literal data, values computed by hand.

The reported period is the ISO week ``W`` = [2026-01-05, 2026-01-12) (Monday to Sunday, UTC)
unless a test says otherwise; the week before, ``PREV`` = [2025-12-29, 2026-01-05), is only
aggregated for ``previous``. Every role is mapped onto an event of the same name.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pytest

import journeylib.kpis as kpis
from journeylib.config import JourneyConfig, config_from_dict
from journeylib.config.schema import ROLES
from journeylib.config.stages import KPI_NAMES
from journeylib.errors import DataError

W = date(2026, 1, 5)
W_END = date(2026, 1, 12)
NEXT = date(2026, 1, 12)
US = timedelta(microseconds=1)
ALL_ROLES: dict[str, list[str]] = {role: [role] for role in ROLES} | {
    "feature:export": ["feature:export"],
    "feature:import": ["feature:import"],
}
EVENT_SCHEMA = {
    "user_id": pl.String,
    "timestamp": pl.Datetime("us", "UTC"),
    "event": pl.String,
    "session_id": pl.String,
    "revenue": pl.Float64,
    "channel": pl.String,
}


# --------------------------------------------------------------------------- builders


def at(when: str | datetime) -> datetime:
    """A UTC timestamp from ``"2026-01-05 10:00"`` (or an aware datetime as it is)."""
    if isinstance(when, datetime):
        return when
    return datetime.fromisoformat(when).replace(tzinfo=UTC)


def ev(
    user: str,
    when: str | datetime,
    event: str,
    revenue: float | None = None,
    *,
    channel: str = "ads",
    session: str | None = None,
) -> dict[str, Any]:
    """One canonical event row."""
    return {
        "user_id": user,
        "timestamp": at(when),
        "event": event,
        "session_id": session,
        "revenue": revenue,
        "channel": channel,
    }


def events_frame(rows: list[dict[str, Any]]) -> pl.LazyFrame:
    frame = pl.DataFrame(rows, schema=EVENT_SCHEMA)
    if frame["session_id"].null_count() == frame.height:
        frame = frame.drop("session_id")
    return frame.lazy()


def spend_frame(rows: list[tuple[str, str, float, int, int]]) -> pl.LazyFrame:
    """Rows of (date, channel, cost, impressions, clicks)."""
    return pl.LazyFrame(
        [(date.fromisoformat(d), c, cost, imp, clk) for d, c, cost, imp, clk in rows],
        schema={
            "date": pl.Date,
            "channel": pl.String,
            "cost": pl.Float64,
            "impressions": pl.Int64,
            "clicks": pl.Int64,
        },
        orient="row",
    )


def surveys_frame(rows: list[tuple[str, str, str, float]]) -> pl.LazyFrame:
    """Rows of (user, timestamp, survey, score)."""
    return pl.LazyFrame(
        [(u, at(t), s, score) for u, t, s, score in rows],
        schema={
            "user_id": pl.String,
            "timestamp": pl.Datetime("us", "UTC"),
            "survey": pl.String,
            "score": pl.Float64,
        },
        orient="row",
    )


def tickets_frame(rows: list[tuple[str, str, str | None, int, float]]) -> pl.LazyFrame:
    """Rows of (ticket, opened_at, resolved_at, contacts, handle_minutes)."""
    return pl.LazyFrame(
        [(t, at(o), at(r) if r else None, c, h) for t, o, r, c, h in rows],
        schema={
            "ticket_id": pl.String,
            "opened_at": pl.Datetime("us", "UTC"),
            "resolved_at": pl.Datetime("us", "UTC"),
            "contacts": pl.Int64,
            "handle_minutes": pl.Float64,
        },
        orient="row",
    )


def make_config(
    *,
    roles: dict[str, list[str]] | None = None,
    timezone_name: str = "UTC",
    targets: dict[str, float] | None = None,
) -> JourneyConfig:
    return config_from_dict(
        {
            "name": "t",
            "timezone": timezone_name,
            "sources": {"events": {"path": "e.csv"}},
            "roles": ALL_ROLES if roles is None else roles,
            "targets": targets or {},
        }
    )


def kpi_table(
    rows: list[dict[str, Any]],
    names: list[str],
    *,
    start: date = W,
    end: date = W_END,
    grain: str = "week",
    by: tuple[str, ...] = (),
    filters: dict[str, list[str]] | None = None,
    config: JourneyConfig | None = None,
    **tables: pl.LazyFrame,
) -> pl.DataFrame:
    inputs = kpis.build_inputs(
        {"events": events_frame(rows), **tables},
        config or make_config(),
        start=start,
        end=end,
        grain=grain,
        by=by,
        filters=filters,
    )
    return kpis.compute_kpi_table(inputs, names)


def row_of(table: pl.DataFrame, kpi: str, period: date = W, **segment: str) -> dict[str, Any]:
    selected = table.filter(pl.col("kpi") == kpi, pl.col("period_start") == period)
    for column, value in segment.items():
        selected = selected.filter(pl.col(column) == value)
    assert selected.height == 1, selected
    return selected.row(0, named=True)


def value_of(rows: list[dict[str, Any]], kpi: str, period: date = W, **options: Any) -> Any:
    return row_of(kpi_table(rows, [kpi], **options), kpi, period)["value"]


SPEND_W = spend_frame(
    [
        ("2026-01-05", "ads", 60.0, 1000, 30),
        ("2026-01-09", "mail", 30.0, 500, 20),
        ("2026-01-02", "ads", 999.0, 9999, 999),  # previous week: not in W
    ]
)

# --------------------------------------------------------------------------- registry


def test_every_kpi_of_section_2_is_registered() -> None:
    assert set(kpis.REGISTRY) == set(KPI_NAMES)


# --------------------------------------------------------------------------- one case per KPI

# (kpi, events, extra tables, expected value, expected numerator, expected denominator)
CASES: list[tuple[str, list[dict[str, Any]], dict[str, pl.LazyFrame], float, Any, Any]] = [
    # visitors a, b (a twice); c has no visit -> 2
    (
        "unique_visitors",
        [
            ev("a", "2026-01-05 10:00", "visit"),
            ev("a", "2026-01-07 10:00", "visit"),
            ev("b", "2026-01-06 10:00", "visit"),
            ev("c", "2026-01-06 10:00", "signup"),
        ],
        {},
        2.0,
        None,
        None,
    ),
    # a was first seen in PREV, b first seen in W; c is new but no visitor -> 1
    (
        "new_visitors",
        [
            ev("a", "2025-12-30 10:00", "signup"),
            ev("a", "2026-01-05 10:00", "visit"),
            ev("b", "2026-01-06 10:00", "visit"),
            ev("c", "2026-01-06 10:00", "signup"),
        ],
        {},
        1.0,
        None,
        None,
    ),
    # visitors a, b, c; engaged a (and d, who is no visitor) -> 1/3
    (
        "engagement_rate",
        [
            ev("a", "2026-01-05 10:00", "visit"),
            ev("a", "2026-01-05 10:01", "engage"),
            ev("b", "2026-01-05 10:00", "visit"),
            ev("c", "2026-01-05 10:00", "visit"),
            ev("d", "2026-01-05 10:00", "engage"),
        ],
        {},
        1 / 3,
        1.0,
        3.0,
    ),
    # visitors a, b; product_view a (c views but never visits) -> 1/2
    (
        "product_view_rate",
        [
            ev("a", "2026-01-05 10:00", "visit"),
            ev("a", "2026-01-05 10:01", "product_view"),
            ev("b", "2026-01-05 10:00", "visit"),
            ev("c", "2026-01-05 10:00", "product_view"),
        ],
        {},
        0.5,
        1.0,
        2.0,
    ),
    # viewers a, b, c; carts a (d carts without a view) -> 1/3
    (
        "add_to_cart_rate",
        [
            ev("a", "2026-01-05 10:00", "product_view"),
            ev("a", "2026-01-05 10:01", "add_to_cart"),
            ev("b", "2026-01-05 10:00", "product_view"),
            ev("c", "2026-01-05 10:00", "product_view"),
            ev("d", "2026-01-05 10:00", "add_to_cart"),
        ],
        {},
        1 / 3,
        1.0,
        3.0,
    ),
    # carts a, b, c; a buys next day; b buys 8 days later (out of window); c never -> 2/3
    (
        "cart_abandonment_rate",
        [
            ev("a", "2026-01-05 10:00", "add_to_cart"),
            ev("a", "2026-01-06 10:00", "purchase", 10.0),
            ev("b", "2026-01-05 10:00", "add_to_cart"),
            ev("b", "2026-01-13 10:00", "purchase", 10.0),
            ev("c", "2026-01-07 10:00", "add_to_cart"),
        ],
        {},
        2 / 3,
        2.0,
        3.0,
    ),
    # visitors a, b, c, d; leads a, b -> 1/2
    (
        "lead_rate",
        [
            *(ev(u, "2026-01-05 10:00", "visit") for u in "abcd"),
            ev("a", "2026-01-05 10:05", "lead"),
            ev("b", "2026-01-08 10:05", "lead"),
        ],
        {},
        0.5,
        2.0,
        4.0,
    ),
    # visitors a, b, c; buyer a (d buys without a visit) -> 1/3
    (
        "conversion_rate",
        [
            *(ev(u, "2026-01-05 10:00", "visit") for u in "abc"),
            ev("a", "2026-01-05 11:00", "purchase", 10.0),
            ev("d", "2026-01-05 11:00", "purchase", 10.0),
        ],
        {},
        1 / 3,
        1.0,
        3.0,
    ),
    # purchase events: a x2, b x1 (a purchase in PREV is not in W) -> 3
    (
        "orders",
        [
            ev("a", "2026-01-05 11:00", "purchase", 10.0),
            ev("a", "2026-01-06 11:00", "purchase", 20.0),
            ev("b", "2026-01-11 23:59", "purchase", 5.5),
            ev("b", "2026-01-04 23:59", "purchase", 7.0),
            ev("c", "2026-01-05 11:00", "visit"),
        ],
        {},
        3.0,
        None,
        None,
    ),
    # revenue of purchases in W: 10 + 20 + 5.5; revenue on a visit event does not count -> 35.5
    (
        "revenue",
        [
            ev("a", "2026-01-05 11:00", "purchase", 10.0),
            ev("a", "2026-01-06 11:00", "purchase", 20.0),
            ev("b", "2026-01-11 23:59", "purchase", 5.5),
            ev("c", "2026-01-05 11:00", "visit", 100.0),
        ],
        {},
        35.5,
        None,
        None,
    ),
    # 35.5 revenue / 3 orders
    (
        "aov",
        [
            ev("a", "2026-01-05 11:00", "purchase", 10.0),
            ev("a", "2026-01-06 11:00", "purchase", 20.0),
            ev("b", "2026-01-11 23:59", "purchase", 5.5),
        ],
        {},
        35.5 / 3,
        35.5,
        3.0,
    ),
    # 3 purchase events / (3 purchase + 1 payment_failed events) -> 3/4
    (
        "payment_success_rate",
        [
            ev("a", "2026-01-05 11:00", "payment_failed"),
            ev("a", "2026-01-05 11:01", "purchase", 10.0),
            ev("a", "2026-01-06 11:00", "purchase", 20.0),
            ev("b", "2026-01-07 11:00", "purchase", 5.0),
        ],
        {},
        0.75,
        3.0,
        4.0,
    ),
    # spend in W: 60 + 30; impressions 1000 + 500; clicks 30 + 20
    ("impressions", [ev("a", "2026-01-05 10:00", "visit")], {"spend": SPEND_W}, 1500.0, None, None),
    ("clicks", [ev("a", "2026-01-05 10:00", "visit")], {"spend": SPEND_W}, 50.0, None, None),
    ("ctr", [ev("a", "2026-01-05 10:00", "visit")], {"spend": SPEND_W}, 50 / 1500, 50.0, 1500.0),
    # cost 90 / leads a, b, c -> 30
    (
        "cost_per_lead",
        [ev(u, "2026-01-06 10:00", "lead") for u in "abc"],
        {"spend": SPEND_W},
        30.0,
        90.0,
        3.0,
    ),
    # cost 90 / buyers a, b (a buys twice) -> 45
    (
        "cost_per_conversion",
        [
            ev("a", "2026-01-06 10:00", "purchase", 1.0),
            ev("a", "2026-01-07 10:00", "purchase", 1.0),
            ev("b", "2026-01-06 10:00", "purchase", 1.0),
        ],
        {"spend": SPEND_W},
        45.0,
        90.0,
        2.0,
    ),
    # new customers in W: a and c; b bought first in PREV -> 90 / 2 = 45
    (
        "cac",
        [
            ev("a", "2026-01-06 10:00", "purchase", 1.0),
            ev("b", "2026-01-02 10:00", "purchase", 1.0),
            ev("b", "2026-01-06 10:00", "purchase", 1.0),
            ev("c", "2026-01-11 10:00", "purchase", 1.0),
        ],
        {"spend": SPEND_W},
        45.0,
        90.0,
        2.0,
    ),
    # trials a, b, c in W; a buys 29 days later, b 31 days later, c never -> 1/3
    (
        "trial_to_paid_rate",
        [
            ev("a", "2026-01-05 10:00", "trial_start"),
            ev("a", "2026-02-03 10:00", "purchase", 1.0),
            ev("b", "2026-01-05 10:00", "trial_start"),
            ev("b", "2026-02-05 10:00", "purchase", 1.0),
            ev("c", "2026-01-06 10:00", "trial_start"),
        ],
        {},
        1 / 3,
        1.0,
        3.0,
    ),
    # signups a, b, c; a activates 1 h later, b 8 days later, c never -> 1/3
    (
        "activation_rate",
        [
            ev("a", "2026-01-05 10:00", "signup"),
            ev("a", "2026-01-05 11:00", "activation"),
            ev("b", "2026-01-05 10:00", "signup"),
            ev("b", "2026-01-13 10:00", "activation"),
            ev("c", "2026-01-05 10:00", "signup"),
        ],
        {},
        1 / 3,
        1.0,
        3.0,
    ),
    # delays 3600 s, 10800 s and 9 days = 777600 s (any delay); d never -> median 10800
    (
        "time_to_value",
        [
            ev("a", "2026-01-05 10:00", "signup"),
            ev("a", "2026-01-05 11:00", "activation"),
            ev("a", "2026-01-05 12:00", "activation"),
            ev("b", "2026-01-06 10:00", "signup"),
            ev("b", "2026-01-06 13:00", "activation"),
            ev("c", "2026-01-07 10:00", "signup"),
            ev("c", "2026-01-16 10:00", "activation"),
            ev("d", "2026-01-07 10:00", "signup"),
        ],
        {},
        10800.0,
        None,
        3.0,
    ),
    # daily actives: Mon a, b; Tue a; Sun c (twice) -> (2 + 1 + 1) / 7 days
    (
        "dau",
        [
            ev("a", "2026-01-05 10:00", "visit"),
            ev("b", "2026-01-05 12:00", "signup"),
            ev("a", "2026-01-06 10:00", "visit"),
            ev("c", "2026-01-11 10:00", "visit"),
            ev("c", "2026-01-11 23:00", "visit"),
        ],
        {},
        4 / 7,
        None,
        None,
    ),
    (
        "mau",
        [
            ev("a", "2026-01-05 10:00", "visit"),
            ev("b", "2026-01-05 12:00", "signup"),
            ev("a", "2026-01-06 10:00", "visit"),
            ev("c", "2026-01-11 10:00", "visit"),
            ev("c", "2026-01-11 23:00", "visit"),
        ],
        {},
        3.0,
        None,
        None,
    ),
    # dau 4/7 over mau 3
    (
        "stickiness",
        [
            ev("a", "2026-01-05 10:00", "visit"),
            ev("b", "2026-01-05 12:00", "signup"),
            ev("a", "2026-01-06 10:00", "visit"),
            ev("c", "2026-01-11 10:00", "visit"),
            ev("c", "2026-01-11 23:00", "visit"),
        ],
        {},
        (4 / 7) / 3,
        4 / 7,
        3.0,
    ),
    # sessions split at 30 min: a 10:00-10:20-10:45 (2700 s), a 12:00 (0 s), b 10:00-10:10
    # (600 s) -> (2700 + 0 + 600) / 3 = 1100
    (
        "avg_session_duration",
        [
            ev("a", "2026-01-05 10:00", "visit"),
            ev("a", "2026-01-05 10:20", "product_view"),
            ev("a", "2026-01-05 10:45", "visit"),
            ev("a", "2026-01-05 12:00", "visit"),
            ev("b", "2026-01-06 10:00", "visit"),
            ev("b", "2026-01-06 10:10", "visit"),
        ],
        {},
        1100.0,
        3300.0,
        3.0,
    ),
    # visitors a, b, c; only a has 2 sessions (10:00 and 14:00) -> 1/3
    (
        "repeat_visit_rate",
        [
            ev("a", "2026-01-05 10:00", "visit"),
            ev("a", "2026-01-05 14:00", "visit"),
            ev("b", "2026-01-05 10:00", "visit"),
            ev("b", "2026-01-05 10:10", "visit"),
            ev("c", "2026-01-07 10:00", "visit"),
        ],
        {},
        1 / 3,
        1.0,
        3.0,
    ),
    # active in PREV: a, b, c; of them active in W: a, b (d is new) -> 2/3
    (
        "retention_rate",
        [
            *(ev(u, "2026-01-01 10:00", "visit") for u in "abc"),
            *(ev(u, "2026-01-06 10:00", "visit") for u in "abd"),
        ],
        {},
        2 / 3,
        2.0,
        3.0,
    ),
    (
        "churn_rate",
        [
            *(ev(u, "2026-01-01 10:00", "visit") for u in "abc"),
            *(ev(u, "2026-01-06 10:00", "visit") for u in "abd"),
        ],
        {},
        1 / 3,
        1.0,
        3.0,
    ),
    # new in W: d, e; churned: c; active in PREV: a, b, c -> (2 - 1) / 3
    (
        "user_growth_rate",
        [
            *(ev(u, "2026-01-01 10:00", "visit") for u in "abc"),
            *(ev(u, "2026-01-06 10:00", "visit") for u in "abde"),
        ],
        {},
        1 / 3,
        1.0,
        3.0,
    ),
    # customers by the end of W: a (PREV + W), b (W), c (2 in W); d buys only after W
    # -> repeat a, c -> 2/3
    (
        "repeat_purchase_rate",
        [
            ev("a", "2026-01-01 10:00", "purchase", 1.0),
            ev("a", "2026-01-06 10:00", "purchase", 1.0),
            ev("b", "2026-01-06 10:00", "purchase", 1.0),
            ev("c", "2026-01-06 10:00", "purchase", 1.0),
            ev("c", "2026-01-07 10:00", "purchase", 1.0),
            ev("d", "2026-01-13 10:00", "purchase", 1.0),
            ev("d", "2026-01-14 10:00", "purchase", 1.0),
        ],
        {},
        2 / 3,
        2.0,
        3.0,
    ),
    # revenue 30 in W / active users a, b, c -> 10
    (
        "arpu",
        [
            ev("a", "2026-01-06 10:00", "purchase", 20.0),
            ev("b", "2026-01-06 10:00", "purchase", 10.0),
            ev("c", "2026-01-06 10:00", "visit"),
            ev("c", "2025-12-30 10:00", "purchase", 50.0),
        ],
        {},
        10.0,
        30.0,
        3.0,
    ),
    # the data ends at the last event, 2026-01-11 12:00 (before the end of W), so eligible
    # first purchases are on or before 2025-10-13 12:00: a (10 + 20 within 90 days of
    # 2025-10-01; 100 on 2026-01-06 is after) and b (5); c is too recent -> (30 + 5) / 2
    (
        "ltv_90d",
        [
            ev("a", "2025-10-01 10:00", "purchase", 10.0),
            ev("a", "2025-12-01 10:00", "purchase", 20.0),
            ev("a", "2026-01-06 10:00", "purchase", 100.0),
            ev("b", "2025-10-10 10:00", "purchase", 5.0),
            ev("c", "2025-11-01 10:00", "purchase", 40.0),
            ev("c", "2026-01-11 12:00", "visit"),
        ],
        {},
        17.5,
        None,
        None,
    ),
    # NPS answers in W: 10, 9, 9, 7, 3 (a csat answer does not count) -> 60% - 20% = 40
    (
        "nps",
        [ev("a", "2026-01-05 10:00", "visit")],
        {
            "surveys": surveys_frame(
                [
                    ("a", "2026-01-05 10:00", "nps", 10.0),
                    ("b", "2026-01-06 10:00", "nps", 9.0),
                    ("c", "2026-01-06 10:00", "nps", 9.0),
                    ("d", "2026-01-07 10:00", "nps", 7.0),
                    ("e", "2026-01-08 10:00", "nps", 3.0),
                    ("e", "2026-01-08 10:00", "csat", 1.0),
                    ("f", "2026-01-02 10:00", "nps", 0.0),
                ]
            )
        },
        40.0,
        2.0,
        5.0,
    ),
    # CSAT answers 5, 4, 3, 1 -> 2/4
    (
        "csat",
        [ev("a", "2026-01-05 10:00", "visit")],
        {
            "surveys": surveys_frame(
                [
                    ("a", "2026-01-05 10:00", "csat", 5.0),
                    ("b", "2026-01-06 10:00", "csat", 4.0),
                    ("c", "2026-01-06 10:00", "csat", 3.0),
                    ("d", "2026-01-07 10:00", "csat", 1.0),
                    ("d", "2026-01-07 10:00", "nps", 10.0),
                ]
            )
        },
        0.5,
        2.0,
        4.0,
    ),
    # CES answers 7, 5, 6 -> mean 6
    (
        "ces",
        [ev("a", "2026-01-05 10:00", "visit")],
        {
            "surveys": surveys_frame(
                [
                    ("a", "2026-01-05 10:00", "ces", 7.0),
                    ("b", "2026-01-06 10:00", "ces", 5.0),
                    ("c", "2026-01-06 10:00", "ces", 6.0),
                ]
            )
        },
        6.0,
        18.0,
        3.0,
    ),
    # buyers a, b, c, d; referrers a (and e, who did not buy) -> 1/4
    (
        "referral_rate",
        [
            *(ev(u, "2026-01-06 10:00", "purchase", 1.0) for u in "abcd"),
            ev("a", "2026-01-06 11:00", "referral"),
            ev("e", "2026-01-06 11:00", "referral"),
        ],
        {},
        0.25,
        1.0,
        4.0,
    ),
    # buyers a, b; reviewers a -> 1/2
    (
        "review_rate",
        [
            *(ev(u, "2026-01-06 10:00", "purchase", 1.0) for u in "ab"),
            ev("a", "2026-01-07 11:00", "review"),
        ],
        {},
        0.5,
        1.0,
        2.0,
    ),
]

TICKETS_W = tickets_frame(
    [
        # resolved in W, 1 h, 1 contact, 10 min
        ("t1", "2026-01-05 10:00", "2026-01-05 11:00", 1, 10.0),
        # opened in PREV, resolved in W: 1 day, 3 contacts, 20 min
        ("t2", "2026-01-04 10:00", "2026-01-05 10:00", 3, 20.0),
        # resolved in W, 2 h, 1 contact, 30 min
        ("t3", "2026-01-07 10:00", "2026-01-07 12:00", 1, 30.0),
        # opened in W, not resolved
        ("t4", "2026-01-08 10:00", None, 1, 50.0),
        # opened in W, resolved next week
        ("t5", "2026-01-09 10:00", "2026-01-12 10:00", 1, 100.0),
    ]
)

CASES += [
    # resolved in W: t1, t2, t3; first contact t1, t3 -> 2/3
    ("first_contact_resolution", [ev("a", "2026-01-05 10:00", "visit")], {"tickets": TICKETS_W},
     2 / 3, 2.0, 3.0),
    # mean of 10, 20, 30 minutes -> 20 min = 1200 s
    ("avg_handling_time", [ev("a", "2026-01-05 10:00", "visit")], {"tickets": TICKETS_W},
     1200.0, 3600.0, 3.0),
    # median of 3600, 86400, 7200 s -> 7200
    ("time_to_resolution", [ev("a", "2026-01-05 10:00", "visit")], {"tickets": TICKETS_W},
     7200.0, None, 3.0),
]  # fmt: skip


@pytest.mark.parametrize(
    ("kpi", "rows", "tables", "value", "numerator", "denominator"),
    CASES,
    ids=[case[0] for case in CASES],
)
def test_kpi_value(
    kpi: str,
    rows: list[dict[str, Any]],
    tables: dict[str, pl.LazyFrame],
    value: float,
    numerator: float | None,
    denominator: float | None,
) -> None:
    row = row_of(kpi_table(rows, [kpi], **tables), kpi)
    assert row["available"] is True
    assert row["value"] == pytest.approx(value)
    if numerator is not None:
        assert row["numerator"] == pytest.approx(numerator)
    if denominator is not None:
        assert row["denominator"] == pytest.approx(denominator)


def test_every_registered_kpi_has_a_hand_computed_case() -> None:
    covered = {case[0] for case in CASES} | {"feature_adoption_rate", "clv_simple"}
    assert covered == set(kpis.REGISTRY)


# --------------------------------------------------------------------------- families and lifetimes


def test_feature_adoption_rate_expands_to_one_kpi_per_feature() -> None:
    # active a, b, c, d; export: a, b -> 2/4; import: c -> 1/4
    rows = [
        *(ev(u, "2026-01-05 10:00", "visit") for u in "abcd"),
        ev("a", "2026-01-05 10:01", "feature:export"),
        ev("b", "2026-01-06 10:01", "feature:export"),
        ev("c", "2026-01-06 10:01", "feature:import"),
    ]
    table = kpi_table(rows, ["feature_adoption_rate"])
    assert sorted(table["kpi"].to_list()) == [
        "feature_adoption_rate[export]",
        "feature_adoption_rate[import]",
    ]
    assert row_of(table, "feature_adoption_rate[export]")["value"] == pytest.approx(0.5)
    assert row_of(table, "feature_adoption_rate[import]")["value"] == pytest.approx(0.25)


def test_one_feature_can_be_asked_for_by_name() -> None:
    rows = [
        ev("a", "2026-01-05 10:01", "feature:export"),
        ev("b", "2026-01-06 10:01", "feature:import"),
    ]
    table = kpi_table(rows, ["feature_adoption_rate[export]"])
    assert table["kpi"].to_list() == ["feature_adoption_rate[export]"]
    assert table["value"].item() == pytest.approx(0.5)


def test_clv_simple_is_revenue_per_customer_month_over_monthly_churn() -> None:
    # report April 2026; the data ends at the last event (2 April), so the window is the last
    # three full months, January to March. Customer-months: Jan {a, b}, Feb {a}, Mar {a}: 4,
    # revenue 40 -> 10 per customer-month. Churn: Dec {a} -> Jan keeps a; Jan {a, b} -> Feb
    # loses b; Feb {a} -> Mar keeps a: 1 churned of 4 -> 0.25. CLV = 10 / 0.25 = 40.
    rows = [
        ev("a", "2025-12-15 10:00", "purchase", 10.0),
        ev("a", "2026-01-15 10:00", "purchase", 10.0),
        ev("b", "2026-01-16 10:00", "purchase", 10.0),
        ev("a", "2026-02-15 10:00", "purchase", 10.0),
        ev("a", "2026-03-15 10:00", "purchase", 10.0),
        ev("c", "2026-04-02 10:00", "visit"),
    ]
    value = value_of(
        rows, "clv_simple", date(2026, 4, 1), start=date(2026, 4, 1), end=date(2026, 5, 1),
        grain="month",
    )  # fmt: skip
    assert value == pytest.approx(40.0)


@pytest.mark.parametrize(
    ("first_purchase_of_b", "expected"),
    [
        # data end 2026-01-11 12:00 minus 90 days = 2025-10-13 12:00: b counts -> (30 + 5) / 2
        (at("2025-10-13 12:00"), 17.5),
        # one microsecond later b is not 90 days before the end: only a -> 30
        (at("2025-10-13 12:00") + US, 30.0),
    ],
    ids=["exactly-90-days", "90-days-minus-1us"],
)
def test_ltv_90d_needs_the_first_purchase_at_least_90_days_before_the_data_end(
    first_purchase_of_b: datetime, expected: float
) -> None:
    rows = [
        ev("a", "2025-10-01 10:00", "purchase", 10.0),
        ev("a", "2025-12-01 10:00", "purchase", 20.0),
        ev("b", first_purchase_of_b, "purchase", 5.0),
        ev("c", "2026-01-11 12:00", "visit"),
    ]
    assert value_of(rows, "ltv_90d") == pytest.approx(expected)


def test_avg_session_duration_uses_session_id_when_present() -> None:
    # session s1: 10:00 -> 11:00 (3600 s, no 30-min split); s2: 10:00 -> 10:05 (300 s)
    rows = [
        ev("a", "2026-01-05 10:00", "visit", session="s1"),
        ev("a", "2026-01-05 11:00", "visit", session="s1"),
        ev("b", "2026-01-06 10:00", "visit", session="s2"),
        ev("b", "2026-01-06 10:05", "visit", session="s2"),
    ]
    assert value_of(rows, "avg_session_duration") == pytest.approx(1950.0)


# --------------------------------------------------------------------------- empty periods, zeros

ONE_WEEK_OF_DATA = [
    ev("a", "2026-01-05 10:00", "visit"),
    ev("a", "2026-01-05 11:00", "purchase", 10.0),
    ev("b", "2026-01-06 10:00", "visit"),
]


@pytest.mark.parametrize("kpi", ["unique_visitors", "orders", "revenue", "mau", "dau"])
def test_count_in_a_period_without_events_is_zero(kpi: str) -> None:
    table = kpi_table(ONE_WEEK_OF_DATA, [kpi], end=date(2026, 1, 19))
    assert row_of(table, kpi, NEXT)["value"] == 0.0


@pytest.mark.parametrize(
    "kpi", ["conversion_rate", "aov", "arpu", "activation_rate", "cart_abandonment_rate"]
)
def test_rate_in_a_period_without_events_is_null(kpi: str) -> None:
    table = kpi_table(ONE_WEEK_OF_DATA, [kpi], end=date(2026, 1, 19))
    row = row_of(table, kpi, NEXT)
    assert row["value"] is None
    assert row["available"] is True


@pytest.mark.parametrize(
    ("kpi", "rows", "tables"),
    [
        # buyers but no visitors: 0 visitors
        ("conversion_rate", [ev("a", "2026-01-05 10:00", "purchase", 1.0)], {}),
        # spend but no buyers
        ("cost_per_conversion", [ev("a", "2026-01-05 10:00", "visit")], {"spend": SPEND_W}),
        # no signups in W
        ("activation_rate", [ev("a", "2026-01-05 10:00", "activation")], {}),
        # nobody active in PREV
        ("retention_rate", [ev("a", "2026-01-05 10:00", "visit")], {}),
        ("user_growth_rate", [ev("a", "2026-01-05 10:00", "visit")], {}),
        # no CSAT answers
        ("csat", [ev("a", "2026-01-05 10:00", "visit")],
         {"surveys": surveys_frame([("a", "2026-01-05 10:00", "nps", 9.0)])}),
    ],
    ids=lambda case: case if isinstance(case, str) else "",
)  # fmt: skip
def test_zero_denominator_gives_null_not_zero(
    kpi: str, rows: list[dict[str, Any]], tables: dict[str, pl.LazyFrame]
) -> None:
    row = row_of(kpi_table(rows, [kpi], **tables), kpi)
    assert row["value"] is None
    assert row["denominator"] in (0.0, None)


# --------------------------------------------------------------------------- time: ties, windows


def test_purchase_at_the_same_instant_as_the_cart_converts() -> None:
    rows = [
        ev("a", "2026-01-05 10:00", "add_to_cart"),
        ev("a", "2026-01-05 10:00", "purchase", 1.0),
    ]
    assert value_of(rows, "cart_abandonment_rate") == 0.0


def test_activation_at_the_signup_instant_counts_with_zero_delay() -> None:
    rows = [ev("a", "2026-01-05 10:00", "signup"), ev("a", "2026-01-05 10:00", "activation")]
    table = kpi_table(rows, ["activation_rate", "time_to_value"])
    assert row_of(table, "activation_rate")["value"] == 1.0
    assert row_of(table, "time_to_value")["value"] == 0.0


ENTRY = at("2026-01-06 09:30")


@pytest.mark.parametrize(
    ("kpi", "entry_event", "target_event", "delay", "expected"),
    [
        # at the window end exactly: converts (cart not abandoned, user activated, paid)
        ("cart_abandonment_rate", "add_to_cart", "purchase", timedelta(days=7), 0.0),
        ("cart_abandonment_rate", "add_to_cart", "purchase", timedelta(days=7) + US, 1.0),
        ("activation_rate", "signup", "activation", timedelta(days=7), 1.0),
        ("activation_rate", "signup", "activation", timedelta(days=7) + US, 0.0),
        ("trial_to_paid_rate", "trial_start", "purchase", timedelta(days=30), 1.0),
        ("trial_to_paid_rate", "trial_start", "purchase", timedelta(days=30) + US, 0.0),
    ],
    ids=["cart-7d", "cart-7d+1us", "activation-7d", "activation-7d+1us", "trial-30d",
         "trial-30d+1us"],
)  # fmt: skip
def test_conversion_window_is_inclusive_to_the_microsecond(
    kpi: str, entry_event: str, target_event: str, delay: timedelta, expected: float
) -> None:
    rows = [ev("a", ENTRY, entry_event), ev("a", ENTRY + delay, target_event, 1.0)]
    assert value_of(rows, kpi) == expected


def test_entry_is_the_first_step_1_event_of_the_period() -> None:
    # cart Mon 10:00 and again Sat 10:00; purchase Tue of next week = 8 days after the first
    # cart (3 days after the second): entry is the first cart, so the cart is abandoned
    rows = [
        ev("a", "2026-01-05 10:00", "add_to_cart"),
        ev("a", "2026-01-10 10:00", "add_to_cart"),
        ev("a", "2026-01-13 10:00", "purchase", 1.0),
    ]
    assert value_of(rows, "cart_abandonment_rate") == 1.0


def test_purchase_before_the_cart_does_not_convert_it() -> None:
    rows = [
        ev("a", "2026-01-05 09:00", "purchase", 1.0),
        ev("a", "2026-01-05 10:00", "add_to_cart"),
    ]
    assert value_of(rows, "cart_abandonment_rate") == 1.0


ORDER_CASES = [case for case in CASES if case[0] in {
    "cart_abandonment_rate", "time_to_value", "avg_session_duration", "repeat_visit_rate",
    "retention_rate", "dau", "ltv_90d", "new_visitors",
}]  # fmt: skip


@pytest.mark.parametrize(
    ("kpi", "rows", "tables", "value", "numerator", "denominator"),
    ORDER_CASES,
    ids=[case[0] for case in ORDER_CASES],
)
def test_events_out_of_order_give_the_same_value(
    kpi: str,
    rows: list[dict[str, Any]],
    tables: dict[str, pl.LazyFrame],
    value: float,
    numerator: float | None,
    denominator: float | None,
) -> None:
    shuffled = list(reversed(rows))
    random.Random(7).shuffle(shuffled)
    assert value_of(shuffled, kpi, **tables) == pytest.approx(value)


def test_dst_evening_event_belongs_to_the_next_local_day_in_berlin() -> None:
    # 2026-03-29 is the spring-forward day (UTC+2 from 01:00 UTC): 21:30 UTC = 23:30 local on
    # the 29th, 22:30 UTC = 00:30 local on the 30th
    rows = [ev("b", "2026-03-29 21:30", "visit"), ev("a", "2026-03-29 22:30", "visit")]
    table = kpi_table(
        rows, ["unique_visitors", "dau"], start=date(2026, 3, 29), end=date(2026, 3, 31),
        grain="day", config=make_config(timezone_name="Europe/Berlin"),
    )  # fmt: skip
    visitors = table.filter(pl.col("kpi") == "unique_visitors").sort("period_start")
    assert visitors.select("period_start", "value").rows() == [
        (date(2026, 3, 29), 1.0),
        (date(2026, 3, 30), 1.0),
    ]
    assert row_of(table, "dau", date(2026, 3, 30))["value"] == 1.0


def test_month_grain_counts_the_calendar_month() -> None:
    # purchases on Jan 1 00:00 and Jan 31 23:59 count; Dec 31 23:59 and Feb 1 00:00 do not
    rows = [
        ev("a", "2025-12-31 23:59", "purchase", 1.0),
        ev("a", "2026-01-01 00:00", "purchase", 1.0),
        ev("a", "2026-01-31 23:59", "purchase", 1.0),
        ev("b", "2026-01-15 12:00", "visit"),
        ev("b", "2026-02-01 00:00", "purchase", 1.0),
    ]
    table = kpi_table(
        rows, ["orders", "dau"], start=date(2026, 1, 1), end=date(2026, 2, 1), grain="month"
    )
    orders = row_of(table, "orders", date(2026, 1, 1))
    assert orders["value"] == 2.0
    assert orders["period_end"] == date(2026, 2, 1)
    # daily actives: Jan 1 a, Jan 15 b, Jan 31 a -> 3 / 31 days
    assert row_of(table, "dau", date(2026, 1, 1))["value"] == pytest.approx(3 / 31)


# --------------------------------------------------------------------------- breakdowns, filters

TWO_WEEKS_TWO_CHANNELS = [
    # a: ads in PREV; in W first touch mail (10:00), then ads (11:00)
    ev("a", "2026-01-01 10:00", "visit", channel="ads"),
    ev("a", "2026-01-06 10:00", "visit", channel="mail"),
    ev("a", "2026-01-06 11:00", "purchase", 5.0, channel="ads"),
    # b: ads in PREV only
    ev("b", "2026-01-02 10:00", "visit", channel="ads"),
    # c: mail in W only
    ev("c", "2026-01-07 10:00", "visit", channel="mail"),
]


def test_user_takes_the_channel_of_their_first_event_in_each_period() -> None:
    table = kpi_table(
        TWO_WEEKS_TWO_CHANNELS, ["unique_visitors", "orders"], start=date(2025, 12, 29),
        by=("channel",),
    )  # fmt: skip
    prev = date(2025, 12, 29)
    assert row_of(table, "unique_visitors", prev, channel="ads")["value"] == 2.0
    assert row_of(table, "unique_visitors", prev, channel="mail")["value"] == 0.0
    assert row_of(table, "unique_visitors", W, channel="ads")["value"] == 0.0
    assert row_of(table, "unique_visitors", W, channel="mail")["value"] == 2.0
    # a's order (on an ads event) goes to a's segment in W: mail
    assert row_of(table, "orders", W, channel="mail")["value"] == 1.0
    assert row_of(table, "orders", W, channel="ads")["value"] == 0.0


def test_retention_segment_is_the_value_in_the_previous_period() -> None:
    # active in PREV (both ads): a, b; in W only a (now mail) -> ads retention 1/2
    table = kpi_table(TWO_WEEKS_TWO_CHANNELS, ["retention_rate"], by=("channel",))
    row = row_of(table, "retention_rate", W, channel="ads")
    assert (row["numerator"], row["denominator"]) == (1.0, 2.0)


def test_last_touch_breakdown_when_the_config_says_so() -> None:
    config = config_from_dict(
        {
            "name": "t",
            "sources": {"events": {"path": "e.csv"}},
            "roles": ALL_ROLES,
            "breakdown_touch": "last",
        }
    )
    table = kpi_table(TWO_WEEKS_TWO_CHANNELS, ["unique_visitors"], by=("channel",), config=config)
    # in W, a's last event is on ads, c's on mail
    assert row_of(table, "unique_visitors", W, channel="ads")["value"] == 1.0
    assert row_of(table, "unique_visitors", W, channel="mail")["value"] == 1.0


def test_event_filter_keeps_only_matching_events_in_every_table() -> None:
    # mail events in W: a visit, c visit; purchases on mail: none (a bought on ads)
    # spend on mail in W: 30 -> cost per conversion null (0 buyers), clicks 20
    table = kpi_table(
        TWO_WEEKS_TWO_CHANNELS, ["unique_visitors", "orders", "clicks", "conversion_rate"],
        filters={"channel": ["mail"]}, spend=SPEND_W,
    )  # fmt: skip
    assert row_of(table, "unique_visitors")["value"] == 2.0
    assert row_of(table, "orders")["value"] == 0.0
    assert row_of(table, "clicks")["value"] == 20.0
    assert row_of(table, "conversion_rate")["value"] == 0.0


# --------------------------------------------------------------------------- availability


@pytest.mark.parametrize(
    ("kpi", "reason"),
    [
        *((k, "no spend table is configured") for k in (
            "impressions", "clicks", "ctr", "cost_per_lead", "cost_per_conversion", "cac")),
        *((k, "no surveys table is configured") for k in ("nps", "csat", "ces")),
        *((k, "no tickets table is configured") for k in (
            "first_contact_resolution", "avg_handling_time", "time_to_resolution")),
    ],
)  # fmt: skip
def test_kpi_of_a_missing_table_is_not_available(kpi: str, reason: str) -> None:
    row = row_of(kpi_table(ONE_WEEK_OF_DATA, [kpi]), kpi)
    assert (row["available"], row["value"], row["reason"]) == (False, None, reason)


@pytest.mark.parametrize("kpi", ["lead_rate", "cost_per_lead"])
def test_kpi_of_an_unmapped_role_is_not_available(kpi: str) -> None:
    roles = {role: names for role, names in ALL_ROLES.items() if role != "lead"}
    table = kpi_table(ONE_WEEK_OF_DATA, [kpi], config=make_config(roles=roles), spend=SPEND_W)
    row = row_of(table, kpi)
    assert (row["available"], row["value"]) == (False, None)
    assert row["reason"] == "role 'lead' is not mapped to any event in the config"


# --------------------------------------------------------------------------- statistics, targets

# PREV: visitors a, b, c, d, buyers a, b (2/4); W: visitors a, b, c, d, buyer a (1/4)
TWO_WEEKS_CONVERSION = [
    *(ev(u, "2026-01-01 10:00", "visit") for u in "abcd"),
    *(ev(u, "2026-01-01 11:00", "purchase", 1.0) for u in "ab"),
    *(ev(u, "2026-01-06 10:00", "visit") for u in "abcd"),
    ev("a", "2026-01-06 11:00", "purchase", 1.0),
]


def test_rate_carries_previous_change_wilson_interval_and_z_test() -> None:
    row = row_of(kpi_table(TWO_WEEKS_CONVERSION, ["conversion_rate"]), "conversion_rate")
    assert row["value"] == pytest.approx(0.25)
    assert row["previous"] == pytest.approx(0.5)
    assert row["change"] == pytest.approx(-0.25)
    # Wilson 95% for 1/4: centre (0.25 + z²/8) / (1 + z²/4), half-width
    # z * sqrt(0.25 * 0.75 / 4 + z²/64) / (1 + z²/4), z = 1.959964
    assert row["ci_low"] == pytest.approx(0.0455873, abs=1e-6)
    assert row["ci_high"] == pytest.approx(0.6993582, abs=1e-6)
    # pooled p = 3/8, se = sqrt(3/8 * 5/8 * (1/4 + 1/4)) = 0.342327, z = 0.25 / se = 0.730297,
    # two-sided p = 2 * (1 - Phi(0.730297)) = 0.465209
    assert row["p_value"] == pytest.approx(0.465209, abs=1e-5)


def test_count_previous_is_the_value_of_the_period_before() -> None:
    row = row_of(kpi_table(TWO_WEEKS_CONVERSION, ["orders"]), "orders")
    assert (row["value"], row["previous"], row["change"]) == (1.0, 2.0, -1.0)


# W: visitors a, b, c, d; buyers a (first purchase in PREV) and e (no visit, first purchase)
# -> conversion 1/4; new customers {e} -> cac = 90 / 1
TARGET_ROWS = [
    ev("a", "2026-01-01 11:00", "purchase", 1.0),
    *(ev(u, "2026-01-06 10:00", "visit") for u in "abcd"),
    ev("a", "2026-01-06 11:00", "purchase", 1.0),
    ev("e", "2026-01-07 11:00", "purchase", 1.0),
]


@pytest.mark.parametrize(
    ("kpi", "target", "value", "direction", "status"),
    [
        ("conversion_rate", 0.2, 0.25, "higher", "met"),
        ("conversion_rate", 0.25, 0.25, "higher", "met"),
        ("conversion_rate", 0.3, 0.25, "higher", "missed"),
        ("cac", 100.0, 90.0, "lower", "met"),
        ("cac", 90.0, 90.0, "lower", "met"),
        ("cac", 80.0, 90.0, "lower", "missed"),
    ],
)
def test_status_against_the_target_follows_the_direction(
    kpi: str, target: float, value: float, direction: str, status: str
) -> None:
    config = make_config(targets={kpi: target})
    row = row_of(kpi_table(TARGET_ROWS, [kpi], config=config, spend=SPEND_W), kpi)
    assert row["value"] == pytest.approx(value)
    assert (row["target"], row["direction"], row["status"]) == (target, direction, status)


def test_no_target_gives_no_status() -> None:
    row = row_of(kpi_table(TARGET_ROWS, ["conversion_rate"]), "conversion_rate")
    assert (row["target"], row["status"]) == (None, None)


# --------------------------------------------------------------------------- more options


def test_partial_last_period_ends_at_end() -> None:
    # report [Mon 5, Thu 8): the visit on Thu 8 is outside, the week is incomplete
    rows = [ev("a", "2026-01-05 10:00", "visit"), ev("b", "2026-01-08 10:00", "visit")]
    row = row_of(kpi_table(rows, ["unique_visitors"], end=date(2026, 1, 8)), "unique_visitors")
    assert (row["value"], row["period_end"], row["complete"]) == (1.0, date(2026, 1, 8), False)


def test_activity_roles_define_who_is_active() -> None:
    # with activity_roles [visit], b (signup only) is not active: mau 2, not 3
    config = config_from_dict(
        {
            "name": "t",
            "sources": {"events": {"path": "e.csv"}},
            "roles": ALL_ROLES,
            "activity_roles": ["visit"],
        }
    )
    rows = [
        ev("a", "2026-01-05 10:00", "visit"),
        ev("b", "2026-01-05 12:00", "signup"),
        ev("c", "2026-01-11 10:00", "visit"),
    ]
    assert value_of(rows, "mau", config=config) == 2.0


def test_ces_direction_comes_from_the_config() -> None:
    config = config_from_dict(
        {
            "name": "t",
            "sources": {"events": {"path": "e.csv"}},
            "roles": ALL_ROLES,
            "surveys": {"ces": {"min": 1, "max": 7, "higher_is_better": False}},
        }
    )
    surveys = surveys_frame([("a", "2026-01-05 10:00", "ces", 2.0)])
    table = kpi_table(ONE_WEEK_OF_DATA, ["ces"], config=config, surveys=surveys)
    assert row_of(table, "ces")["direction"] == "lower"


@pytest.mark.parametrize(
    ("first_purchase_of_b", "expected"),
    [
        # a later event exists (2026-02-01), so for W the data ends at W's end, 2026-01-12
        # 00:00; minus 90 days = 2025-10-14 00:00: b counts -> (30 + 5) / 2
        (at("2025-10-14 00:00"), 17.5),
        (at("2025-10-14 00:00") + US, 30.0),
    ],
    ids=["exactly-90-days", "90-days-minus-1us"],
)
def test_ltv_90d_of_a_period_ends_at_the_period_end(
    first_purchase_of_b: datetime, expected: float
) -> None:
    rows = [
        ev("a", "2025-10-01 10:00", "purchase", 10.0),
        ev("a", "2025-12-01 10:00", "purchase", 20.0),
        ev("b", first_purchase_of_b, "purchase", 5.0),
        ev("c", "2026-02-01 12:00", "visit"),
    ]
    assert value_of(rows, "ltv_90d") == pytest.approx(expected)


def test_cost_per_conversion_by_channel_uses_the_channel_of_spend_and_of_users() -> None:
    # W: mail segment {a (buyer), c}, spend 30 -> 30 / 1; ads: 60 / 0 buyers -> null
    table = kpi_table(
        TWO_WEEKS_TWO_CHANNELS, ["cost_per_conversion"], by=("channel",), spend=SPEND_W
    )
    assert row_of(table, "cost_per_conversion", channel="mail")["value"] == pytest.approx(30.0)
    assert row_of(table, "cost_per_conversion", channel="ads")["value"] is None


def test_a_breakdown_column_missing_from_the_events_names_the_available_ones() -> None:
    with pytest.raises(DataError, match=r"'country'.*available dimensions: channel"):
        kpi_table(ONE_WEEK_OF_DATA, ["orders"], by=("country",))


def test_p_value_is_null_without_a_previous_rate() -> None:
    # nobody visits in PREV: no previous rate, so no test of the change (not NaN, not 0)
    rows = [ev("a", "2026-01-06 10:00", "visit"), ev("a", "2026-01-06 11:00", "purchase", 1.0)]
    row = row_of(kpi_table(rows, ["conversion_rate"]), "conversion_rate")
    assert (row["value"], row["previous"], row["p_value"]) == (1.0, None, None)

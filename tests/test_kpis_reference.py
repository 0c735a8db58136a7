"""The Polars KPI table, funnel and retention agree with independent DuckDB SQL on the sample.

The sample company is generated once per session; the engine's validated canonical tables are
collected to Arrow and registered in DuckDB, so both implementations see the same rows.
Integers must be equal and floats equal to a relative 1e-9.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from reference.funnel_sql import funnel_sql
from reference.kpis_sql import kpi_table_sql
from reference.retention_sql import retention_sql

import journeylib
from journeylib.journey import Journey
from journeylib.periods import local_bound
from journeylib.sample import generate_sample

SAMPLE_USERS = 4_000
SAMPLE_SEED = 3
RELATIVE = 1e-9

# (name, grain, start, end): the sample runs from Monday 2026-05-04 to 2026-10-30
CASES = {
    "week": ("week", date(2026, 5, 11), date(2026, 10, 26)),
    "month": ("month", date(2026, 6, 1), date(2026, 10, 1)),
    "day": ("day", date(2026, 6, 1), date(2026, 6, 15)),
    # the report ends on a Wednesday: the last week is cut to [2026-10-12, 2026-10-14)
    "week_cut": ("week", date(2026, 5, 11), date(2026, 10, 14)),
}
REFERENCE_KPIS = (
    "unique_visitors",
    "new_visitors",
    "engagement_rate",
    "product_view_rate",
    "add_to_cart_rate",
    "lead_rate",
    "conversion_rate",
    "orders",
    "revenue",
    "aov",
    "arpu",
    "payment_success_rate",
    "impressions",
    "clicks",
    "ctr",
    "cac",
    "cost_per_lead",
    "cost_per_conversion",
    "cart_abandonment_rate",
    "activation_rate",
    "trial_to_paid_rate",
    "feature_adoption_rate[export]",
    "feature_adoption_rate[dashboards]",
    "feature_adoption_rate[sharing]",
    "dau",
    "mau",
    "stickiness",
    "retention_rate",
    "churn_rate",
    "user_growth_rate",
    "repeat_purchase_rate",
    "referral_rate",
    "review_rate",
    "nps",
    "csat",
    "ces",
    "first_contact_resolution",
    "avg_handling_time",
)
FIELDS = ("value", "numerator", "denominator")

# score/mean KPIs have no row in a period without answers or tickets
SPARSE_KPIS = {"nps", "ces", "avg_handling_time"}


@pytest.fixture(scope="session")
def journey(tmp_path_factory: pytest.TempPathFactory) -> Journey:
    out: Path = tmp_path_factory.mktemp("sample")
    result = generate_sample(out, users=SAMPLE_USERS, seed=SAMPLE_SEED)
    return journeylib.load(result.config_path)


@pytest.fixture(scope="session")
def duck(journey: Journey) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET threads = 2")
    for name, table in journey.tables.items():
        con.register(name, table.collect().to_arrow())
    return con


@pytest.fixture(scope="session")
def engine_tables(journey: Journey) -> dict[str, dict[tuple[date, str], tuple]]:
    tables = {}
    for case, (grain, start, end) in CASES.items():
        table = journey.kpis(start=start, end=end, grain=grain, kpis=REFERENCE_KPIS)
        tables[case] = {
            (row["period_start"], row["kpi"]): (row["value"], row["numerator"], row["denominator"])
            for row in table.iter_rows(named=True)
        }
    return tables


@pytest.fixture(scope="session")
def reference_tables(
    journey: Journey, duck: duckdb.DuckDBPyConnection
) -> dict[str, dict[tuple[date, str], tuple]]:
    return {
        case: kpi_table_sql(
            duck,
            events_table="events",
            spend_table="spend",
            surveys_table="surveys",
            tickets_table="tickets",
            roles=journey.config.roles,
            timezone=journey.config.timezone,
            grain=grain,
            start=start,
            end=end,
        )
        for case, (grain, start, end) in CASES.items()
    }


def _agree(found: float | None, expected: float | None) -> bool:
    if found is None or expected is None:
        return found is None and expected is None
    return math.isclose(found, expected, rel_tol=RELATIVE, abs_tol=1e-12)


def _params() -> list:
    params = []
    for case in CASES:
        for kpi in REFERENCE_KPIS:
            for field in FIELDS:
                params.append(pytest.param(case, kpi, field, id=f"{case}-{kpi}-{field}"))
    return params


@pytest.mark.parametrize(("case", "kpi", "field"), _params())
def test_kpi_agrees_with_sql_reference(
    engine_tables: dict, reference_tables: dict, case: str, kpi: str, field: str
) -> None:
    position = FIELDS.index(field)
    expected = {
        period: row[position]
        for (period, name), row in reference_tables[case].items()
        if name == kpi
    }
    assert expected, f"the reference computed no period of {kpi}"
    found = {
        period: engine_tables[case].get((period, kpi), (None,) * 3)[position] for period in expected
    }
    disagree = {
        p: (found[p], expected[p]) for p in sorted(expected) if not _agree(found[p], expected[p])
    }
    assert not disagree, f"{kpi}.{field} (engine, reference) by period: {disagree}"


@pytest.mark.parametrize("case", list(CASES))
def test_reference_covers_every_reported_period(
    engine_tables: dict, reference_tables: dict, case: str
) -> None:
    engine_periods = {period for period, _kpi in engine_tables[case]}
    _grain, start, end = CASES[case]
    assert min(engine_periods) == start
    assert max(engine_periods) < end
    for kpi in set(REFERENCE_KPIS) - SPARSE_KPIS:
        covered = {period for period, name in reference_tables[case] if name == kpi}
        assert covered == engine_periods, kpi


def test_funnel_agrees_with_sql_reference(
    journey: Journey, duck: duckdb.DuckDBPyConnection
) -> None:
    roles = ["visit", "product_view", "add_to_cart", "checkout", "purchase"]
    timezone = journey.config.timezone
    start, end = date(2026, 6, 1), date(2026, 9, 1)
    engine = journey.funnel(roles, start=start, end=end, window="7d")
    reference = funnel_sql(
        duck,
        "events",
        steps=[journey.config.events_for(role) for role in roles],
        start=local_bound(start, timezone),
        end=local_bound(end, timezone),
        window=timedelta(days=7),
    )
    columns = ["step", "users", "median_seconds_from_previous", "p90_seconds_from_previous"]
    found = engine.select(columns).to_dicts()
    assert [row["users"] for row in found] == [row["users"] for row in reference]
    for engine_row, reference_row in zip(found, reference, strict=True):
        for column in columns[2:]:
            assert _agree(engine_row[column], reference_row[column]), (column, engine_row)


@pytest.mark.parametrize("grain", ["week", "month"])
def test_retention_agrees_with_sql_reference(
    journey: Journey, duck: duckdb.DuckDBPyConnection, grain: str
) -> None:
    engine = journey.retention(grain=grain)
    reference = retention_sql(
        duck,
        "events",
        grain=grain,
        timezone=journey.config.timezone,
        data_end=journey.time_range[1],
    )
    assert engine.height > 10
    assert engine.select(reference.columns).equals(reference)


def test_reference_sees_the_validated_rows(
    journey: Journey, duck: duckdb.DuckDBPyConnection
) -> None:
    engine_rows = journey.tables["events"].select(pl.len()).collect().item()
    assert duck.execute("SELECT count(*) FROM events").fetchone()[0] == engine_rows

"""The funnel of docs/kpis.md#funnels in plain DuckDB SQL, for agreement tests.

Written from the definition, not from the Polars engine: attempt "first", non-strict, no
exclusion. Rows of a unit are numbered by (timestamp, event name); each step takes the row
with the lowest number among the step's events at or after the previous step's timestamp,
within the window of the entry, that no earlier step used. The numbering therefore means
"earliest, and among equal timestamps the smallest event name".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import duckdb

__all__ = ["funnel_sql"]


def _names(names: Sequence[str]) -> str:
    return ", ".join("'" + name.replace("'", "''") + "'" for name in names)


def _step_sql(step: int, names: Sequence[str], window_us: int) -> str:
    previous = step - 1
    carried = ", ".join(f"p.r{j}, p.t{j}" for j in range(1, step))
    unused = " AND ".join(f"e.rn <> p.r{j}" for j in range(1, step))
    return f"""
    s{step}_pick AS (
        SELECT p.unit, {carried}, min(e.rn) AS r{step}
        FROM s{previous} p
        JOIN ev e
          ON e.unit = p.unit
         AND e.event IN ({_names(names)})
         AND e.ts >= p.t{previous}
         AND e.ts <= p.t1 + to_microseconds({window_us})
         AND {unused}
        GROUP BY ALL
    ),
    s{step} AS (
        SELECT s.*, e.ts AS t{step}
        FROM s{step}_pick s JOIN ev e ON e.unit = s.unit AND e.rn = s.r{step}
    )"""


def funnel_sql(
    con: duckdb.DuckDBPyConnection,
    events_table: str,
    *,
    steps: Sequence[Sequence[str]],
    start: datetime,
    end: datetime,
    window: timedelta,
    unit: str = "user_id",
) -> list[dict]:
    """Per step: ``step``, ``users``, median and p90 seconds from the previous step.

    ``events_table`` has ``timestamp`` (TIMESTAMPTZ), ``event`` and the ``unit`` column.
    """
    window_us = window // timedelta(microseconds=1)
    all_names = sorted({name for step in steps for name in step})
    step_ctes = ",".join(_step_sql(k, steps[k - 1], window_us) for k in range(2, len(steps) + 1))
    counts = " UNION ALL ".join(
        f"""SELECT {k} AS step, count(*) AS users,
               quantile_cont({_seconds(k)}, 0.5) AS median_seconds_from_previous,
               quantile_cont({_seconds(k)}, 0.9) AS p90_seconds_from_previous
            FROM s{k}"""
        for k in range(1, len(steps) + 1)
    )
    query = f"""
    WITH ev AS (
        SELECT "{unit}" AS unit, "timestamp" AS ts, event,
               row_number() OVER (PARTITION BY "{unit}" ORDER BY "timestamp", event) AS rn
        FROM {events_table}
        WHERE "{unit}" IS NOT NULL
          AND event IN ({_names(all_names)})
          AND "timestamp" >= $start
          AND "timestamp" <= $end + to_microseconds({window_us})
    ),
    s1 AS (
        SELECT e.unit, e.rn AS r1, e.ts AS t1
        FROM ev e
        JOIN (
            SELECT unit, min(rn) AS rn FROM ev
            WHERE event IN ({_names(steps[0])}) AND ts >= $start AND ts < $end
            GROUP BY unit
        ) first_entry USING (unit, rn)
    ){"," if step_ctes else ""}{step_ctes}
    {counts}
    ORDER BY step
    """
    rows = con.execute(query, {"start": start, "end": end}).fetchall()
    keys = ("step", "users", "median_seconds_from_previous", "p90_seconds_from_previous")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def _seconds(step: int) -> str:
    if step == 1:
        return "NULL::DOUBLE"
    return f"(epoch_us(t{step}) - epoch_us(t{step - 1})) / 1e6"

"""Cohort retention written from docs/kpis.md#retention-cohorts, in plain DuckDB SQL.

An independent implementation to check :func:`journeylib.retention.retention_matrix` against:
same parameters, same cells, same columns.

- Period of an event: ``date_trunc(grain, local wall-clock time)``; DuckDB's ``week`` is the ISO
  week (Monday start).
- Cohort: the earliest period holding one of the user's cohort events.
- Cell (c, k): the period ``c + k grains``; ``on`` counts cohort users with a return event in
  that period, ``on_or_after`` those whose latest return period is that one or later.
- A cell is observed when its period's end (local midnight) is not after the data end
  (default: the last timestamp), compared on the local wall clock.
- Offsets run from 0 to ``max_offset``, or by default to the period holding the data end.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

import duckdb
import polars as pl

__all__ = ["retention_sql"]

_OFFSET = {
    "day": "date_diff('day', {a}, {b})",
    "week": "date_diff('day', {a}, {b}) // 7",
    "month": "date_diff('month', {a}, {b})",
}
_SHIFT = {
    "day": "to_days(CAST({k} AS INTEGER))",
    "week": "to_days(CAST(7 * ({k}) AS INTEGER))",
    "month": "to_months(CAST({k} AS INTEGER))",
}


def _event_filter(parameter: str, names: Sequence[str] | None) -> str:
    return "TRUE" if names is None else f"list_contains(${parameter}, event)"


def retention_sql(
    con: duckdb.DuckDBPyConnection,
    events_table: str,
    *,
    grain: str = "week",
    timezone: str = "UTC",
    cohort_events: Sequence[str] | None = None,
    return_events: Sequence[str] | None = None,
    mode: str = "on",
    cohort_start: date | None = None,
    cohort_end: date | None = None,
    max_offset: int | None = None,
    data_end: datetime | None = None,
) -> pl.DataFrame:
    """The retention matrix of ``events_table`` (``user_id``, ``timestamp`` TIMESTAMPTZ, ``event``).

    Examples
    --------
    >>> con = duckdb.connect()  # doctest: +SKIP
    >>> retention_sql(con, "events", grain="month", timezone="Europe/Berlin")  # doctest: +SKIP
    """
    if grain not in _OFFSET:
        raise ValueError(f"unknown grain {grain!r}")
    if data_end is not None and data_end.tzinfo is None:
        data_end = data_end.replace(tzinfo=UTC)

    def offset(a: str, b: str) -> str:
        return _OFFSET[grain].format(a=a, b=b)

    def shift(k: str) -> str:
        return _SHIFT[grain].format(k=k)

    last_offset = (
        str(int(max_offset))
        if max_offset is not None
        else f"greatest({offset('s.cohort', 'o.last_period')}, 0)"
    )
    if mode == "on":
        counted = """
        counted AS (
            SELECT g.cohort, g.cell_offset, count(r.user_id) AS users
            FROM grid g LEFT JOIN returns r
              ON r.cohort = g.cohort AND r.period = g.period_start
            GROUP BY g.cohort, g.cell_offset
        )"""
    elif mode == "on_or_after":
        counted = """
        latest AS (
            SELECT cohort, max(period) AS last_return
            FROM returns GROUP BY user_id, cohort
        ),
        latest_counts AS (
            SELECT cohort, last_return, count(*) AS n FROM latest GROUP BY cohort, last_return
        ),
        counted AS (
            SELECT g.cohort, g.cell_offset, coalesce(sum(l.n), 0) AS users
            FROM grid g LEFT JOIN latest_counts l
              ON l.cohort = g.cohort AND l.last_return >= g.period_start
            GROUP BY g.cohort, g.cell_offset
        )"""
    else:
        raise ValueError(f"unknown mode {mode!r}")

    sql = f"""
    WITH
    local_events AS (
        SELECT user_id, event,
               CAST(date_trunc('{grain}', timezone($tz, "timestamp")) AS DATE) AS period
        FROM {events_table}
    ),
    observation AS (
        SELECT timezone($tz, coalesce(CAST($data_end AS TIMESTAMPTZ), max("timestamp")))
                   AS local_end
        FROM {events_table}
    ),
    first_cohort AS (
        SELECT user_id, min(period) AS cohort
        FROM local_events WHERE {_event_filter("cohort_events", cohort_events)}
        GROUP BY user_id
    ),
    cohort_sizes AS (
        SELECT cohort, count(*) AS cohort_size FROM first_cohort
        WHERE ($cohort_start IS NULL OR cohort >= CAST($cohort_start AS DATE))
          AND ($cohort_end IS NULL OR cohort <= CAST($cohort_end AS DATE))
        GROUP BY cohort
    ),
    returns AS (
        SELECT DISTINCT e.user_id, f.cohort, e.period
        FROM local_events e JOIN first_cohort f ON e.user_id = f.user_id
        WHERE {_event_filter("return_events", return_events)} AND e.period >= f.cohort
    ),
    observation_periods AS (
        SELECT local_end, CAST(date_trunc('{grain}', local_end) AS DATE) AS last_period
        FROM observation
    ),
    offsets AS (
        SELECT s.cohort, s.cohort_size, o.local_end,
               unnest(generate_series(0, {last_offset})) AS cell_offset
        FROM cohort_sizes s CROSS JOIN observation_periods o
    ),
    grid AS (
        SELECT cohort, cohort_size, cell_offset, local_end,
               CAST(cohort + {shift("cell_offset")} AS DATE) AS period_start,
               CAST(cohort + {shift("cell_offset + 1")} AS TIMESTAMP) AS period_end
        FROM offsets
    ),
    {counted.strip()}
    SELECT g.cohort,
           CAST(g.cell_offset AS BIGINT) AS "offset",
           g.period_start,
           CAST(g.cohort_size AS BIGINT) AS cohort_size,
           CAST(CASE WHEN g.period_end <= g.local_end THEN c.users END AS BIGINT) AS users,
           CAST(CASE WHEN g.period_end <= g.local_end THEN c.users END AS DOUBLE)
               / g.cohort_size AS retention
    FROM grid g JOIN counted c ON c.cohort = g.cohort AND c.cell_offset = g.cell_offset
    ORDER BY g.cohort, g.cell_offset
    """
    parameters = {
        "tz": timezone,
        "data_end": data_end,
        "cohort_start": cohort_start,
        "cohort_end": cohort_end,
    }
    if cohort_events is not None:
        parameters["cohort_events"] = list(cohort_events)
    if return_events is not None:
        parameters["return_events"] = list(return_events)
    return con.sql(sql, params=parameters).pl()

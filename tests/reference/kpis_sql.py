"""The KPI table of docs/kpis.md#kpis-by-stage in plain DuckDB SQL, for agreement tests.

Written from the definitions, not from the Polars engine, with these readings:

- A period is a local-time day, ISO week (Monday start) or month of ``timezone``; the report
  covers ``[start, end)`` (``start`` aligned down to the grain, the last period cut at ``end``).
  An event, answer or ticket is "in P" when its local date is in P.
- "Users" are distinct ``user_id``; "active" means any event.
- A rate "X / visitors" is the share of visitors who also have X in the period; likewise among
  product viewers (add_to_cart_rate) and purchasers (referral and review rates).
- dau = (sum over the days of P of the day's active users) / days of P; mau = active users in
  P; stickiness = dau / mau.
- retention_rate: of the users active in the period before P, the share active in P.
- new_visitors: visitors in P whose first event ever (over all the data) is in P; cac: spend
  cost in P / users whose first purchase ever is in P.
- Two-step conversions (cart abandonment, activation, trial to paid): the entry is the user's
  first step-1 event in P; converted when a step-2 event lies at or after it and at most the
  window (exact hours) after it, anywhere in the data.

Every KPI row is ``(value, numerator, denominator)``; counts carry no numerator/denominator, a
rate with a zero denominator has a null value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import duckdb

__all__ = ["kpi_table_sql"]

KpiRows = dict[tuple[date, str], tuple[float | None, float | None, float | None]]

_INTERVAL = {"day": "INTERVAL 1 DAY", "week": "INTERVAL 7 DAY", "month": "INTERVAL 1 MONTH"}

# (kpi, numerator role, population role): users with the first among users with the second
_SHARES = (
    ("engagement_rate", "engage", "visit"),
    ("product_view_rate", "product_view", "visit"),
    ("add_to_cart_rate", "add_to_cart", "product_view"),
    ("lead_rate", "lead", "visit"),
    ("conversion_rate", "purchase", "visit"),
    ("referral_rate", "referral", "purchase"),
    ("review_rate", "review", "purchase"),
)
# (kpi, entry role, target role, window in hours, counted: converted or not)
_TWO_STEPS = (
    ("cart_abandonment_rate", "add_to_cart", "purchase", 7 * 24, "NOT converted"),
    ("activation_rate", "signup", "activation", 7 * 24, "converted"),
    ("trial_to_paid_rate", "trial_start", "purchase", 30 * 24, "converted"),
)


def _names(names: Sequence[str]) -> str:
    return ", ".join("'" + name.replace("'", "''") + "'" for name in names)


def _rate(numerator: str, denominator: str) -> str:
    """Columns value, numerator, denominator of a rate (null value on a zero denominator)."""
    return (
        f"CASE WHEN ({denominator}) > 0 THEN CAST({numerator} AS DOUBLE) / ({denominator}) END, "
        f"CAST({numerator} AS DOUBLE), CAST({denominator} AS DOUBLE)"
    )


def _count(value: str) -> str:
    return f"CAST({value} AS DOUBLE), NULL::DOUBLE, NULL::DOUBLE"


def _selects(roles: Mapping[str, Sequence[str]], grain: str, tables: set[str]) -> list[str]:
    """One ``SELECT period_start, kpi, value, numerator, denominator`` per computable KPI."""
    mapped = {role for role, names in roles.items() if names}
    parts: list[str] = []

    def add(kpi: str, columns: str, source: str, needs: Sequence[str] = ()) -> None:
        if set(needs) <= mapped:
            parts.append(f"SELECT p.period_start, '{kpi}' AS kpi, {columns} FROM {source}")

    per_period = "periods p LEFT JOIN user_period u USING (period_start) GROUP BY ALL"
    add("unique_visitors", _count("count(u.user_id) FILTER (u.visit)"), per_period, ["visit"])
    for kpi, role, among in _SHARES:
        add(
            kpi,
            _rate(
                f"count(u.user_id) FILTER (u.{among} AND u.{_flag(role)})",
                f"count(u.user_id) FILTER (u.{among})",
            ),
            per_period,
            [role, among],
        )
    for role in sorted(r for r in mapped if r.startswith("feature:")):
        kpi = f"feature_adoption_rate[{role.removeprefix('feature:')}]"
        add(
            kpi, _rate(f"count(u.user_id) FILTER (u.{_flag(role)})", "count(u.user_id)"), per_period
        )
    add("mau", _count("count(u.user_id)"), per_period)
    add("orders", _count("coalesce(sum(u.orders), 0)"), per_period, ["purchase"])
    add("revenue", _count("coalesce(sum(u.revenue), 0)"), per_period, ["purchase"])
    add(
        "aov",
        _rate("coalesce(sum(u.revenue), 0)", "coalesce(sum(u.orders), 0)"),
        per_period,
        ["purchase"],
    )
    add("arpu", _rate("coalesce(sum(u.revenue), 0)", "count(u.user_id)"), per_period, ["purchase"])
    add(
        "payment_success_rate",
        _rate("coalesce(sum(u.orders), 0)", "coalesce(sum(u.orders + u.failed_payments), 0)"),
        per_period,
        ["purchase", "payment_failed"],
    )
    add(
        "new_visitors",
        _count(
            "count(u.user_id) FILTER (u.visit AND f.first_day < p.period_end "
            "AND f.first_day >= p.period_start)"
        ),
        "periods p LEFT JOIN user_period u USING (period_start) "
        "LEFT JOIN user_firsts f USING (user_id) GROUP BY ALL",
        ["visit"],
    )
    usage = "periods p LEFT JOIN usage USING (period_start)"
    add("dau", _count("coalesce(usage.active_user_days, 0) / p.days"), usage)
    add(
        "stickiness",
        _rate("coalesce(usage.active_user_days, 0) / p.days", "coalesce(usage.mau, 0)"),
        usage,
    )
    moves = "periods p LEFT JOIN transitions t USING (period_start) WHERE p.reported"
    add("retention_rate", _rate("coalesce(t.retained, 0)", "coalesce(t.previous, 0)"), moves)
    add(
        "churn_rate",
        _rate("coalesce(t.previous - t.retained, 0)", "coalesce(t.previous, 0)"),
        moves,
    )
    add(
        "user_growth_rate",
        _rate(
            "coalesce(t.new_users, 0) - coalesce(t.previous - t.retained, 0)",
            "coalesce(t.previous, 0)",
        ),
        moves,
    )
    for kpi, entry, target, _hours, counted in _TWO_STEPS:
        add(
            kpi,
            _rate(f"count(c.user_id) FILTER ({counted})", "count(c.user_id)"),
            f"periods p LEFT JOIN conversions_{entry} c USING (period_start) GROUP BY ALL",
            [entry, target],
        )
    add(
        "repeat_purchase_rate",
        _rate(
            "count(*) FILTER (f.second_purchase < p.end_utc)",
            "count(*) FILTER (f.first_purchase < p.end_utc)",
        ),
        "periods p CROSS JOIN user_firsts f GROUP BY ALL",
        ["purchase"],
    )
    if "spend" in tables:
        spend = "periods p LEFT JOIN spend_period s USING (period_start)"
        add("impressions", _count("coalesce(s.impressions, 0)"), spend)
        add("clicks", _count("coalesce(s.clicks, 0)"), spend)
        add("ctr", _rate("coalesce(s.clicks, 0)", "coalesce(s.impressions, 0)"), spend)
        add(
            "cac", _rate("coalesce(s.cost, 0)", "coalesce(s.new_customers, 0)"), spend, ["purchase"]
        )
        add("cost_per_lead", _rate("coalesce(s.cost, 0)", "coalesce(s.leads, 0)"), spend, ["lead"])
        add(
            "cost_per_conversion",
            _rate("coalesce(s.cost, 0)", "coalesce(s.buyers, 0)"),
            spend,
            ["purchase"],
        )
    if "surveys" in tables:
        answers = (
            "periods p JOIN answers a USING (period_start) WHERE a.survey = '{0}' GROUP BY ALL"
        )
        promoters = "count(*) FILTER (a.score >= 9)"
        detractors = "count(*) FILTER (a.score <= 6)"
        add(
            "nps",
            f"100.0 * ({promoters} - {detractors}) / count(*), "
            f"CAST({promoters} - {detractors} AS DOUBLE), CAST(count(*) AS DOUBLE)",
            answers.format("nps"),
        )
        add(
            "csat",
            _rate("count(a.score) FILTER (a.score >= 4)", "count(a.score)"),
            "periods p LEFT JOIN (SELECT * FROM answers WHERE survey = 'csat') a "
            "USING (period_start) GROUP BY ALL",
        )
        add("ces", "avg(a.score), sum(a.score), CAST(count(*) AS DOUBLE)", answers.format("ces"))
    if "tickets" in tables:
        resolved = "periods p LEFT JOIN resolved r USING (period_start) GROUP BY ALL"
        add(
            "first_contact_resolution",
            _rate("count(r.ticket_id) FILTER (r.contacts = 1)", "count(r.ticket_id)"),
            resolved,
        )
        add(
            "avg_handling_time",
            "60 * avg(r.handle_minutes), 60 * sum(r.handle_minutes), "
            "CAST(count(r.handle_minutes) AS DOUBLE)",
            "periods p JOIN resolved r USING (period_start) GROUP BY ALL",
        )
    return parts


def _flag(role: str) -> str:
    return '"' + role.replace('"', "") + '"' if ":" in role else role


def _ctes(
    *,
    events_table: str,
    spend_table: str | None,
    surveys_table: str | None,
    tickets_table: str | None,
    roles: Mapping[str, Sequence[str]],
    grain: str,
) -> str:
    step = _INTERVAL[grain]
    mapped = {role: names for role, names in roles.items() if names}
    purchase = _names(mapped.get("purchase", ["\x00"]))
    failed = _names(mapped.get("payment_failed", ["\x00"]))
    flags = ",\n".join(
        f"bool_or(event IN ({_names(names)})) AS {_flag(role)}" for role, names in mapped.items()
    )
    ctes = [
        f"""bounds AS (
            SELECT CAST(date_trunc('{grain}', $start) AS DATE) AS reported_start,
                   CAST(date_trunc('{grain}', $start) - {step} AS DATE) AS first_start
        )""",
        f"""periods AS (
            SELECT period_start,
                   CAST(least(period_start + {step}, $end) AS DATE) AS period_end,
                   date_diff('day', period_start, least(period_start + {step}, $end)) AS days,
                   period_start >= (SELECT reported_start FROM bounds) AS reported,
                   timezone($tz, CAST(least(period_start + {step}, $end) AS TIMESTAMP))
                       AS end_utc
            FROM (
                SELECT DISTINCT CAST(date_trunc('{grain}', day) AS DATE) AS period_start
                FROM range((SELECT first_start FROM bounds), $end, INTERVAL 1 DAY) AS t(day)
            )
        )""",
        f"""events_local AS MATERIALIZED (
            SELECT user_id, "timestamp" AS ts, event, revenue,
                   CAST(timezone($tz, "timestamp") AS DATE) AS day
            FROM {events_table}
        )""",
        f"""events_in AS (
            SELECT *, CAST(date_trunc('{grain}', day) AS DATE) AS period_start
            FROM events_local
            WHERE day >= (SELECT first_start FROM bounds) AND day < $end
        )""",
        f"""user_period AS (
            SELECT period_start, user_id, {flags},
                   count(*) FILTER (event IN ({purchase})) AS orders,
                   count(*) FILTER (event IN ({failed})) AS failed_payments,
                   sum(revenue) FILTER (event IN ({purchase})) AS revenue
            FROM events_in GROUP BY ALL
        )""",
        f"""user_firsts AS (
            SELECT user_id,
                   CAST(timezone($tz, min(ts)) AS DATE) AS first_day,
                   min(ts) FILTER (event IN ({purchase})) AS first_purchase,
                   CAST(timezone($tz, min(ts) FILTER (event IN ({purchase}))) AS DATE)
                       AS first_purchase_day,
                   list_sort(list(ts) FILTER (event IN ({purchase})))[2] AS second_purchase
            FROM events_local GROUP BY user_id
        )""",
        """usage AS (
            SELECT period_start, sum(users) AS active_user_days,
                   (SELECT count(DISTINCT user_id) FROM events_in e
                    WHERE e.period_start = daily.period_start) AS mau
            FROM (SELECT period_start, day, count(DISTINCT user_id) AS users
                  FROM events_in GROUP BY ALL) AS daily
            GROUP BY period_start
        )""",
        f"""transitions AS (
            SELECT p.period_start,
                   (SELECT count(*) FROM user_period b
                    WHERE b.period_start = CAST(p.period_start - {step} AS DATE)) AS previous,
                   (SELECT count(*) FROM user_period b JOIN user_period a USING (user_id)
                    WHERE b.period_start = CAST(p.period_start - {step} AS DATE)
                      AND a.period_start = p.period_start) AS retained,
                   (SELECT count(*) FROM user_period a JOIN user_firsts f USING (user_id)
                    WHERE a.period_start = p.period_start
                      AND f.first_day >= p.period_start AND f.first_day < p.period_end)
                       AS new_users
            FROM periods p
        )""",
    ]
    for _kpi, entry, target, hours, _counted in _TWO_STEPS:
        if entry in mapped and target in mapped:
            ctes.append(
                f"""conversions_{entry} AS (
                SELECT e.period_start, e.user_id,
                       EXISTS (SELECT 1 FROM events_local t
                               WHERE t.user_id = e.user_id
                                 AND t.event IN ({_names(mapped[target])})
                                 AND t.ts >= e.entered
                                 AND t.ts <= e.entered + INTERVAL {hours} HOUR) AS converted
                FROM (SELECT period_start, user_id, min(ts) AS entered FROM events_in
                      WHERE event IN ({_names(mapped[entry])}) GROUP BY ALL) AS e
            )"""
            )
    if spend_table:
        lead = _flag("lead") if "lead" in mapped else "FALSE"
        buyer = "purchase" if "purchase" in mapped else "FALSE"
        ctes.append(
            f"""spend_period AS (
            SELECT p.period_start,
                   (SELECT sum(cost) FROM {spend_table} s
                    WHERE s.date >= p.period_start AND s.date < p.period_end) AS cost,
                   (SELECT sum(impressions) FROM {spend_table} s
                    WHERE s.date >= p.period_start AND s.date < p.period_end) AS impressions,
                   (SELECT sum(clicks) FROM {spend_table} s
                    WHERE s.date >= p.period_start AND s.date < p.period_end) AS clicks,
                   (SELECT count(*) FROM user_firsts f
                    WHERE f.first_purchase_day >= p.period_start
                      AND f.first_purchase_day < p.period_end) AS new_customers,
                   (SELECT count(*) FROM user_period u
                    WHERE u.period_start = p.period_start AND u.{lead}) AS leads,
                   (SELECT count(*) FROM user_period u
                    WHERE u.period_start = p.period_start AND u.{buyer}) AS buyers
            FROM periods p
        )"""
        )
    if surveys_table:
        ctes.append(
            f"""answers AS (
            SELECT p.period_start, s.survey, s.score
            FROM {surveys_table} s
            JOIN periods p ON CAST(timezone($tz, s."timestamp") AS DATE) >= p.period_start
                          AND CAST(timezone($tz, s."timestamp") AS DATE) < p.period_end
        )"""
        )
    if tickets_table:
        ctes.append(
            f"""resolved AS (
            SELECT p.period_start, k.ticket_id, k.contacts, k.handle_minutes
            FROM {tickets_table} k
            JOIN periods p ON CAST(timezone($tz, k.resolved_at) AS DATE) >= p.period_start
                          AND CAST(timezone($tz, k.resolved_at) AS DATE) < p.period_end
        )"""
        )
    return ",\n".join(ctes)


def kpi_table_sql(
    con: duckdb.DuckDBPyConnection,
    *,
    events_table: str,
    spend_table: str | None,
    surveys_table: str | None,
    tickets_table: str | None,
    roles: Mapping[str, Sequence[str]],
    timezone: str,
    grain: str,
    start: date,
    end: date,
) -> KpiRows:
    """Every KPI the reference knows, for each reported period of ``[start, end)``.

    ``events_table`` has ``user_id``, ``timestamp`` (TIMESTAMPTZ), ``event``, ``revenue``;
    spend has ``date``, ``cost``, ``impressions``, ``clicks``; surveys ``timestamp``,
    ``survey``, ``score``; tickets ``ticket_id``, ``resolved_at``, ``contacts``,
    ``handle_minutes``. A table given as ``None`` leaves its KPIs out.

    Returns
    -------
    dict
        ``{(period_start, kpi): (value, numerator, denominator)}``.

    Examples
    --------
    >>> rows = kpi_table_sql(con, events_table="events", spend_table=None,
    ...                      surveys_table=None, tickets_table=None,
    ...                      roles={"visit": ["page_view"]}, timezone="Europe/Berlin",
    ...                      grain="week", start=date(2026, 6, 1),
    ...                      end=date(2026, 7, 1))  # doctest: +SKIP
    >>> rows[(date(2026, 6, 1), "unique_visitors")]  # doctest: +SKIP
    (1234.0, None, None)
    """
    if grain not in _INTERVAL:
        raise ValueError(f"unknown grain {grain!r}; expected day, week or month")
    tables = {
        name
        for name, table in (
            ("spend", spend_table),
            ("surveys", surveys_table),
            ("tickets", tickets_table),
        )
        if table
    }
    ctes = _ctes(
        events_table=events_table,
        spend_table=spend_table,
        surveys_table=surveys_table,
        tickets_table=tickets_table,
        roles=roles,
        grain=grain,
    )
    union = "\nUNION ALL\n".join(
        f"SELECT * FROM ({part}) WHERE period_start >= (SELECT reported_start FROM bounds)"
        for part in _selects(roles, grain, tables)
    )
    query = f"WITH {ctes}\n{union}"
    rows = con.execute(query, {"tz": timezone, "start": start, "end": end}).fetchall()
    return {(row[0], row[1]): (row[2], row[3], row[4]) for row in rows}

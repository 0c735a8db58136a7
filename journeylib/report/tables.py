"""The tables a report shows: KPI rows as text with their classes, breakdowns, segments.

They take the frames :class:`journeylib.report.context.ReportContext` computed and return
what :func:`journeylib.report.display.show_table` prints; no number is computed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from journeylib._format import format_change, format_value
from journeylib.errors import DataError
from journeylib.kpis import kpi_label

__all__ = ["breakdown_table", "kpi_classes", "kpi_rows", "segment_table", "thousands"]


def thousands(value: Any) -> str:
    """An integer with thousands separators; anything else as it is."""
    return f"{value:,}" if isinstance(value, int) else str(value)


def kpi_rows(rows: pl.DataFrame, currency: str) -> pl.DataFrame:
    """A stage's KPI rows as the text of the stage table (hidden ``_good``/``_significant``).

    Changes are written as the scorecards write them (rates in percentage points).
    """
    records = []
    for row in rows.iter_rows(named=True):
        unit = row["unit"]
        change = (
            "" if row["change"] is None else format_change(row["change"], unit, currency=currency)
        )
        records.append(
            {
                "kpi": kpi_label(row["kpi"]),
                "value": format_value(row["value"], unit, currency=currency)
                if row["available"]
                else f"not available: {row['reason']}",
                "previous": format_value(row["previous"], unit, currency=currency),
                "change": change,
                "p value": "" if row["p_value"] is None else f"{row['p_value']:.3f}",
                "target": format_value(row["target"], unit, currency=currency)
                if row["target"] is not None
                else "",
                "status": row["status"] or "",
                "_good": row["improved"],
                "_significant": bool(row["significant"]),
            }
        )
    return pl.DataFrame(records)


def kpi_classes(row: dict, column: str) -> str | None:
    """The CSS class of one cell of the stage table."""
    if column in ("value", "previous", "target", "p value"):
        return "num"
    if column == "change" and row.get("_significant"):
        return "good" if row.get("_good") else "bad"
    if column == "status":
        return {"met": "good", "missed": "bad"}.get(row["status"])
    if column == "change":
        return "muted"
    return None


def breakdown_table(
    table: pl.DataFrame,
    *,
    by: str,
    kpis: Sequence[str],
    currency: str = "EUR",
    period_start: object = None,
) -> pl.DataFrame:
    """One line per value of ``by``, one column per KPI, for one period (default: the latest).

    A KPI that is not available for a value shows ``–``.

    Examples
    --------
    >>> from datetime import date
    >>> table = pl.DataFrame({"period_start": [date(2026, 1, 5)] * 2, "channel": ["a", "b"],
    ...     "kpi": ["cac"] * 2, "unit": ["currency"] * 2, "value": [5.0, None]})
    >>> breakdown_table(table, by="channel", kpis=["cac"]).rows()
    [('a', 'EUR 5.00'), ('b', '–')]
    """
    missing = [c for c in ("period_start", "kpi", "unit", "value", by) if c not in table.columns]
    if missing:
        raise DataError(
            f"breakdown_table: the KPI table lacks column(s) {', '.join(missing)}; found "
            + ", ".join(table.columns)
        )
    if table.height == 0:
        raise DataError("breakdown_table: the KPI table has no rows")
    chosen = period_start if period_start is not None else table["period_start"].max()
    rows = table.filter(pl.col("period_start") == chosen)
    segments = rows.get_column(by).cast(pl.String).fill_null("(none)")
    rows = rows.with_columns(segments.alias(by))
    values = sorted(rows.get_column(by).unique().to_list())
    records = []
    for value in values:
        record = {by: value}
        for kpi in kpis:
            found = rows.filter((pl.col(by) == value) & (pl.col("kpi") == kpi))
            if found.height == 0 or found["value"][0] is None:
                record[kpi_label(kpi)] = "–"
            else:
                record[kpi_label(kpi)] = format_value(
                    found["value"][0], found["unit"][0], currency=currency
                )
        records.append(record)
    return pl.DataFrame(records, schema=[by, *(kpi_label(k) for k in kpis)])


def segment_table(segments: pl.DataFrame, *, limit: int = 10) -> pl.DataFrame:
    """Segments of a friction result (``FrictionResult.worse`` or ``.segments``) as a table.

    One line per segment, in the given order: the transition, the segment
    (``dimension = value``), its users, its rate against the other users', the difference in
    points, the users it lost beyond the others' rate and the Holm-adjusted p value.

    Examples
    --------
    >>> segments = pl.DataFrame({"from_name": ["cart"], "to_name": ["buy"],
    ...     "dimension": ["platform"], "value": ["ios"], "users": [200], "rate": [0.40],
    ...     "others_rate": [0.55], "difference": [-0.15], "users_lost": [30.2],
    ...     "p_value_adjusted": [0.0004]})
    >>> segment_table(segments).row(0)
    ('cart → buy', 'platform = ios', '200', '40.0%', '55.0%', '−15.0 points', '30', '0.0004')
    """
    needed = (
        "from_name",
        "to_name",
        "dimension",
        "value",
        "users",
        "rate",
        "others_rate",
        "difference",
        "users_lost",
        "p_value_adjusted",
    )
    missing = [c for c in needed if c not in segments.columns]
    if missing:
        raise DataError(
            f"segment_table: the segments lack column(s) {', '.join(missing)}; found "
            + ", ".join(segments.columns)
        )
    records = []
    for row in segments.head(limit).iter_rows(named=True):
        difference = row["difference"]
        records.append(
            {
                "transition": f"{row['from_name']} → {row['to_name']}",
                "segment": f"{row['dimension']} = {row['value']}",
                "users": f"{row['users']:,}",
                "rate": format_value(row["rate"], "rate"),
                "other users": format_value(row["others_rate"], "rate"),
                "difference": "–"
                if difference is None
                else f"{'−' if difference < 0 else '+'}{abs(100 * difference):.1f} points",
                "users lost": "–" if row["users_lost"] is None else f"{row['users_lost']:,.0f}",
                "adjusted p": "–"
                if row["p_value_adjusted"] is None
                else f"{row['p_value_adjusted']:.2g}",
            }
        )
    columns = ["transition", "segment", "users", "rate", "other users", "difference"]
    return pl.DataFrame(records, schema=[*columns, "users lost", "adjusted p"])

"""The KPI table as the report and the dashboard show it: one row per KPI, values as text."""

from __future__ import annotations

import polars as pl

from journeylib._format import format_value

__all__ = ["kpi_cell_class", "kpi_rows"]


def kpi_rows(rows: pl.DataFrame, currency: str) -> pl.DataFrame:
    """The KPI table as shown: KPI label, value, previous, change, p value, target, status.

    Values are written in their unit; ``_good`` and ``_significant`` (hidden columns) say how
    :func:`kpi_cell_class` colours the change.
    """
    from journeylib.report.story import kpi_label

    records = []
    for row in rows.iter_rows(named=True):
        unit = row["unit"]
        change = (
            ""
            if row["change"] is None
            else format_value(abs(row["change"]), unit, currency=currency)
        )
        if change:
            change = ("+" if row["change"] > 0 else "−") + change
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
                "_good": _is_good(row),
                "_significant": bool(row["significant"]),
            }
        )
    return pl.DataFrame(records)


def _is_good(row: dict) -> bool | None:
    if row["change"] is None or row["change"] == 0:
        return None
    return (row["change"] > 0) == (row["direction"] == "higher")


def kpi_cell_class(row: dict, column: str) -> str | None:
    """The class of a cell of :func:`kpi_rows`: ``num``, ``good``, ``bad`` or ``muted``."""
    if column in ("value", "previous", "target", "p value"):
        return "num"
    if column == "change" and row.get("_significant"):
        return "good" if row.get("_good") else "bad"
    if column == "status":
        return {"met": "good", "missed": "bad"}.get(row["status"])
    if column == "change":
        return "muted"
    return None

"""The tables a report shows: KPI rows as text with their classes, and number formats.

They take the frames :class:`journeylib.report.context.ReportContext` computed and return
what :func:`journeylib.report.display.show_table` prints; no number is computed here.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from journeylib.charts import format_value
from journeylib.report.story import kpi_label

__all__ = ["kpi_classes", "kpi_rows", "thousands"]


def thousands(value: Any) -> str:
    """An integer with thousands separators; anything else as it is."""
    return f"{value:,}" if isinstance(value, int) else str(value)


def kpi_rows(rows: pl.DataFrame, currency: str) -> pl.DataFrame:
    """A stage's KPI rows as the text of the stage table (hidden ``_good``/``_significant``)."""
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

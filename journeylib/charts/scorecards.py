"""KPI scorecards: one tile per KPI of a period, with the change, its significance and status."""

from __future__ import annotations

from datetime import date

import altair as alt
import polars as pl

from journeylib._format import format_change, format_value
from journeylib.charts._data import heading, in_order, latest, prepare
from journeylib.charts._theme import (
    BAD,
    GOOD,
    MISSING,
    NEUTRAL,
    SIGNIFICANT_MARKER,
    STATUS_COLOURS,
    UNAVAILABLE,
)
from journeylib.errors import DataError
from journeylib.kpis import KPI_TABLE_COLUMNS, kpi_label

__all__ = ["NOT_AVAILABLE", "kpi_scorecards", "tile_labels"]

NOT_AVAILABLE = "not available"
#: The KPI table's columns a tile reads.
_COLUMNS = tuple(
    c
    for c in KPI_TABLE_COLUMNS
    if c not in ("period_end", "complete", "numerator", "denominator", "ci_low", "ci_high", "se")
)
#: Tone of the change line: whether the move is good (the KPI table's ``improved``).
TONES: dict[str, str] = {
    "good": GOOD,
    "bad": BAD,
    "flat": NEUTRAL,
    "unavailable": UNAVAILABLE,
    **STATUS_COLOURS,
}
_TILE = {"width": 170, "height": 92}


def _tone(row: dict) -> str:
    if not row["available"]:
        return "unavailable"
    if row["improved"] is None:
        return "flat"
    return "good" if row["improved"] else "bad"


def tile_labels(row: dict, currency: str) -> dict:
    """The texts of one KPI tile: value, change (arrow, significance marker), target status.

    The report's scorecards and the dashboard's cards both write a KPI with these labels.
    """
    tone = _tone(row)
    if tone == "unavailable":
        return {
            "value_label": NOT_AVAILABLE,
            "change_label": row["reason"] or "",
            "tone": tone,
            "status_label": "",
            "status_tone": "unavailable",
        }
    change = row["change"]
    arrow = ""
    if change is not None:
        arrow = "▲ " if change > 0 else ("▼ " if change < 0 else "► ")
    marker = f" {SIGNIFICANT_MARKER}" if row["significant"] else ""
    relative = row["relative_change"]
    relative_text = "" if relative is None else f" ({100 * relative:+.1f}%)".replace("-", "−")
    change_text = format_change(change, row["unit"], currency=currency)
    status = row["status"] or "no target"
    target = ""
    if row["target"] is not None:
        target = f" · target {format_value(row['target'], row['unit'], currency=currency)}"
    return {
        "value_label": format_value(row["value"], row["unit"], currency=currency),
        "change_label": f"{arrow}{change_text}{relative_text}{marker}",
        "tone": tone,
        "status_label": f"{status}{target}",
        "status_tone": status,
    }


def kpi_scorecards(
    table: pl.DataFrame, *, period: date | None = None, currency: str = "EUR"
) -> alt.FacetChart:
    """A grid of KPI tiles for one period.

    Each tile shows the value in its unit, the change against the previous period with an arrow
    coloured by whether the move is good (the table's ``improved``), ``●`` when the change is
    significant (p < 0.05), and the target status. Unavailable KPIs read "not available", in
    grey, with the reason.

    Parameters
    ----------
    table
        The KPI table (:func:`journeylib.kpis.compute_kpi_table`), one row per KPI and period.
    period
        The ``period_start`` to show (default: the latest).
    currency
        Currency code written before currency values.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import date
    >>> table = pl.DataFrame({"period_start": [date(2026, 1, 5)], "stage": ["purchase"],
    ...     "kpi": ["conversion_rate"], "unit": ["rate"], "direction": ["higher"],
    ...     "value": [0.05], "previous": [0.04], "change": [0.01], "relative_change": [0.25],
    ...     "p_value": [0.01], "significant": [True], "improved": [True], "target": [0.04],
    ...     "status": ["met"], "available": [True], "reason": [None]})
    >>> kpi_scorecards(table).to_dict()["facet"]["field"]
    'label'
    """
    frame = prepare(table, "kpi_scorecards", _COLUMNS)
    frame = latest(frame, "period_start", "kpi_scorecards", period)
    duplicated = frame.filter(pl.col("kpi").is_duplicated()).get_column("kpi").unique().to_list()
    if duplicated:
        raise DataError(
            f"kpi_scorecards: {len(duplicated)} KPI(s) have several rows in period "
            f"{frame.get_column('period_start')[0]} ({', '.join(sorted(duplicated))}); "
            "expected one row per KPI: filter the table to one breakdown value first"
        )
    tiles = pl.DataFrame([tile_labels(row, currency) for row in frame.iter_rows(named=True)])
    labels = pl.Series("label", [kpi_label(k) for k in frame.get_column("kpi")], pl.String)
    frame = pl.concat([frame, tiles], how="horizontal").with_columns(labels)
    frame, order = in_order(frame, "label", frame.get_column("label").to_list())
    colour = alt.Scale(domain=list(TONES), range=list(TONES.values()))
    tooltip = [
        alt.Tooltip("label:N", title="KPI"),
        alt.Tooltip("stage:N"),
        alt.Tooltip("value_label:N", title="value"),
        alt.Tooltip("change_label:N", title="change"),
        alt.Tooltip("p_value:Q", title="p-value", format=".3f"),
        alt.Tooltip("status_label:N", title="target"),
        alt.Tooltip("reason:N"),
    ]
    base = alt.Chart().properties(**_TILE)
    background = base.mark_rect(fill="#FAFAFA", stroke=MISSING).encode(tooltip=tooltip)
    value = base.mark_text(align="left", fontSize=22, fontWeight="bold").encode(
        x=alt.value(10),
        y=alt.value(28),
        text="value_label:N",
        color=alt.condition(
            "datum.available", alt.value("#1A1A1A"), alt.value(NEUTRAL), empty=False
        ),
    )
    change = base.mark_text(align="left").encode(
        x=alt.value(10),
        y=alt.value(56),
        text="change_label:N",
        color=alt.Color("tone:N", scale=colour, legend=None),
    )
    status = base.mark_text(align="left", fontSize=11).encode(
        x=alt.value(10),
        y=alt.value(78),
        text="status_label:N",
        color=alt.Color("status_tone:N", scale=colour, legend=None),
    )
    subtitle = [f"period starting {frame.get_column('period_start')[0]}"]
    subtitle.append(f"{SIGNIFICANT_MARKER} change significant at p < 0.05")
    return alt.layer(background, value, change, status, data=frame).facet(
        facet=alt.Facet(
            "label:N", sort=order, title=None, header=alt.Header(labelFontWeight="bold")
        ),
        columns=4,
        title=heading("KPIs", subtitle),
    )

"""The trend of one KPI over periods, with its 95% interval and its target."""

from __future__ import annotations

import altair as alt
import polars as pl

from journeylib._format import format_value, vega_format
from journeylib.charts._data import heading, kpi_axis, prepare
from journeylib.charts._theme import NEUTRAL, PALETTE
from journeylib.errors import DataError
from journeylib.kpis import kpi_label

__all__ = ["kpi_trend"]

_COLUMNS = ("period_start", "kpi", "unit", "value")


def kpi_trend(table: pl.DataFrame, kpi: str, *, currency: str = "EUR") -> alt.LayerChart:
    """A line of one KPI over ``period_start``, its 95% band and a dashed target rule.

    The band (``ci_low``/``ci_high``) is drawn when the table has it; the target rule only
    when the KPI has a target. Durations are plotted in the unit that suits their size.

    Parameters
    ----------
    table
        The KPI table (:func:`journeylib.kpis.compute_kpi_table`).
    kpi
        The KPI to draw, e.g. ``"conversion_rate"``.
    currency
        Currency code of currency KPIs (in the axis title and tooltips).

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import date
    >>> table = pl.DataFrame({"period_start": [date(2026, 1, 5), date(2026, 1, 12)],
    ...     "kpi": ["orders", "orders"], "unit": ["count", "count"], "value": [10.0, 12.0]})
    >>> [layer["mark"]["type"] for layer in kpi_trend(table, "orders").to_dict()["layer"]]
    ['line']
    """
    frame = prepare(table, "kpi_trend", _COLUMNS)
    rows = frame.filter(pl.col("kpi") == kpi).sort("period_start")
    if rows.height == 0:
        known = ", ".join(frame.get_column("kpi").unique(maintain_order=True).to_list())
        raise DataError(f"kpi_trend: no rows for KPI '{kpi}' in the table; KPIs found: {known}")
    if rows.get_column("period_start").is_duplicated().any():
        raise DataError(
            f"kpi_trend: KPI '{kpi}' has several rows per period_start; expected one: "
            "filter the table to one breakdown value first"
        )
    unit = rows.get_column("unit")[0]
    bounds = [c for c in ("value", "ci_low", "ci_high", "target") if c in rows.columns]
    labels = [format_value(v, unit, currency=currency) for v in rows.get_column("value")]
    rows = rows.with_columns(pl.Series("value_label", labels, pl.String))
    y_title, size = kpi_axis(kpi, unit, rows.get_column("value"), currency=currency)
    if size != 1.0:
        rows = rows.with_columns(pl.col(bounds) / size)
    number = vega_format(unit)
    x = alt.X("period_start:T", title="period", axis=alt.Axis(format="%Y-%m-%d"))
    y = alt.Y("value:Q", title=y_title, axis=alt.Axis(format=number))
    tooltip = [
        alt.Tooltip("period_start:T", title="period", format="%Y-%m-%d"),
        alt.Tooltip("value_label:N", title=kpi_label(kpi)),
        *(alt.Tooltip(f"{c}:Q", format=number) for c in bounds if c != "value"),
    ]
    base = alt.Chart(rows).encode(x=x)
    layers: list[alt.Chart] = []
    has_band = "ci_low" in rows.columns and "ci_high" in rows.columns
    if has_band and rows.get_column("ci_low").is_not_null().any():
        band = base.mark_area(opacity=0.2, color=PALETTE[0]).encode(
            y=alt.Y("ci_low:Q", title=y_title), y2="ci_high:Q"
        )
        layers.append(band)
    layers.append(base.mark_line(point=True, color=PALETTE[0]).encode(y=y, tooltip=tooltip))
    if "target" in rows.columns and rows.get_column("target").is_not_null().any():
        target = rows.get_column("target").drop_nulls()[-1]
        rule = (
            alt.Chart(pl.DataFrame({"target": [target]}))
            .mark_rule(strokeDash=[6, 4], color=NEUTRAL)
            .encode(y="target:Q", tooltip=[alt.Tooltip("target:Q", format=number)])
        )
        layers.append(rule)
    subtitle = ["shaded: 95% interval"] if len(layers) > 1 and has_band else []
    return alt.layer(*layers).properties(
        title=heading(kpi_label(kpi), subtitle), width=460, height=240
    )

"""One KPI over periods, one line per value of a breakdown (channel, campaign, ...)."""

from __future__ import annotations

import altair as alt
import polars as pl

from journeylib._format import format_value, vega_format
from journeylib.charts._data import field, heading, kpi_axis, prepare
from journeylib.errors import DataError
from journeylib.kpis import kpi_label

__all__ = ["breakdown_trend"]

_COLUMNS = ("period_start", "kpi", "unit", "value")


def breakdown_trend(
    table: pl.DataFrame, kpi: str, *, by: str, currency: str = "EUR", title: str | None = None
) -> alt.Chart:
    """A line per value of ``by`` of one KPI over ``period_start``.

    Parameters
    ----------
    table
        A KPI table broken down by ``by`` (:meth:`journeylib.Journey.kpis` with ``by=``).
    kpi
        The KPI to draw.
    by
        The breakdown column.
    currency
        Currency code of currency KPIs.
    title
        Chart title (default: the KPI's label by the breakdown).

    Examples
    --------
    >>> from datetime import date
    >>> table = pl.DataFrame({"period_start": [date(2026, 1, 5)] * 2, "channel": ["a", "b"],
    ...     "kpi": ["cac"] * 2, "unit": ["currency"] * 2, "value": [5.0, 7.0]})
    >>> breakdown_trend(table, "cac", by="channel").to_dict()["mark"]["type"]
    'line'
    """
    frame = prepare(table, "breakdown_trend", (*_COLUMNS, by))
    rows = frame.filter(pl.col("kpi") == kpi).sort(by, "period_start")
    if rows.height == 0:
        known = ", ".join(frame.get_column("kpi").unique(maintain_order=True).to_list())
        raise DataError(f"breakdown_trend: no rows for KPI '{kpi}'; KPIs found: {known}")
    unit = rows.get_column("unit")[0]
    labels = [format_value(v, unit, currency=currency) for v in rows.get_column("value")]
    rows = rows.with_columns(
        pl.Series("value_label", labels, pl.String),
        pl.col(by).cast(pl.String).fill_null("(none)"),
        pl.col("period_start").cast(pl.String).alias("period_label"),
    )
    axis_title, size = kpi_axis(kpi, unit, rows.get_column("value"), currency=currency)
    if size != 1.0:
        rows = rows.with_columns(pl.col("value") / size)
    return (
        alt.Chart(rows)
        .mark_line(point=True)
        .encode(
            # ISO dates as ordinal labels: one tick per period, the same in every time zone
            x=alt.X("period_label:O", title="period"),
            y=alt.Y("value:Q", title=axis_title, axis=alt.Axis(format=vega_format(unit))),
            color=alt.Color(field=field(by), type="nominal", title=by),
            tooltip=[
                alt.Tooltip(field=field(by), type="nominal", title=by),
                alt.Tooltip("period_label:O", title="period"),
                alt.Tooltip("value_label:N", title=kpi_label(kpi)),
            ],
        )
        .properties(title=heading(title or f"{kpi_label(kpi)} by {by}"), width=480, height=240)
    )

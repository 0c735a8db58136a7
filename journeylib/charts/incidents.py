"""Incidents drawn on a trend chart: a shaded band from each incident's start to its end."""

from __future__ import annotations

import altair as alt
import polars as pl

from journeylib.charts._data import prepare
from journeylib.charts._theme import BAD

__all__ = ["with_incidents"]

_COLUMNS = ("start", "end", "sentence")


def with_incidents(trend: alt.LayerChart, incidents: pl.DataFrame) -> alt.LayerChart:
    """``trend`` (:func:`journeylib.charts.kpi_trend`) with the incidents as shaded bands.

    Parameters
    ----------
    trend
        A trend chart over ``period_start``.
    incidents
        ``IncidentsResult.incidents`` (:func:`journeylib.optimise.detect_incidents`): ``start``,
        ``end`` (exclusive) and ``sentence``, shown as the band's tooltip.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import date
    >>> from journeylib.charts import kpi_trend
    >>> table = pl.DataFrame({"period_start": [date(2026, 1, 5), date(2026, 1, 12)],
    ...     "kpi": ["orders", "orders"], "unit": ["count", "count"], "value": [10.0, 12.0]})
    >>> found = pl.DataFrame({"start": [date(2026, 1, 12)], "end": [date(2026, 1, 19)],
    ...     "sentence": ["checkout fell"]})
    >>> with_incidents(kpi_trend(table, "orders"), found).to_dict()["layer"][0]["mark"]["type"]
    'rect'
    """
    if incidents.height == 0:
        return trend
    frame = prepare(incidents, "with_incidents", _COLUMNS).select(
        pl.col("start").cast(pl.Date), pl.col("end").cast(pl.Date), "sentence"
    )
    bands = (
        alt.Chart(frame)
        .mark_rect(color=BAD, opacity=0.12)
        .encode(
            x=alt.X("start:T"),
            x2="end:T",
            tooltip=[alt.Tooltip("sentence:N", title="incident")],
        )
    )
    return alt.layer(bands, *trend.layer).properties(
        title=trend.title, width=trend.width, height=trend.height
    )

"""Charts of the optimisation engine: an experiment's variants with their intervals, and an
incident's rate against its baseline."""

from __future__ import annotations

from datetime import date

import altair as alt
import polars as pl

from journeylib.charts._data import prepare
from journeylib.charts._theme import NEUTRAL, PALETTE
from journeylib.kpis import kpi_title

__all__ = ["experiment_chart", "incident_chart"]

_VARIANT_COLUMNS = ("variant", "value", "ci_low", "ci_high")
_PERIOD_COLUMNS = ("period", "rate", "baseline_rate")


def experiment_chart(variants: pl.DataFrame, *, kpi: str, rate: bool = True) -> alt.LayerChart:
    """Each variant's value as a point with its 95% interval as a bar.

    Parameters
    ----------
    variants
        One row per variant: ``variant``, ``value``, ``ci_low``, ``ci_high`` (an
        :class:`journeylib.optimise.ExperimentReadout`'s ``variants``).
    kpi
        The KPI's name (the axis title).
    rate
        Whether the values are rates (a percent axis).

    Examples
    --------
    >>> frame = pl.DataFrame({"variant": ["control", "treatment"], "value": [0.19, 0.21],
    ...                       "ci_low": [0.18, 0.20], "ci_high": [0.20, 0.22]})
    >>> [layer["mark"]["type"] for layer in experiment_chart(frame, kpi="cr").to_dict()["layer"]]
    ['rule', 'point']
    """
    frame = prepare(variants, "experiment_chart", _VARIANT_COLUMNS).select(_VARIANT_COLUMNS)
    number = ".1%" if rate else ",.2f"
    y = alt.Y("variant:N", title=None, sort=None)
    x_title = f"{kpi_title(kpi)}, 95% interval"
    base = alt.Chart(frame).encode(y=y)
    # the axis spans the intervals, not zero: the bars are what the reader compares
    scale = alt.Scale(zero=False, nice=True)
    bars = base.mark_rule(strokeWidth=3, color=NEUTRAL).encode(
        x=alt.X("ci_low:Q", title=x_title, axis=alt.Axis(format=number), scale=scale),
        x2="ci_high:Q",
    )
    points = base.mark_point(filled=True, size=90, color=PALETTE[0]).encode(
        x=alt.X("value:Q", title=x_title, axis=alt.Axis(format=number), scale=scale),
        tooltip=[
            alt.Tooltip("variant:N"),
            *(alt.Tooltip(f"{c}:Q", format=number) for c in ("value", "ci_low", "ci_high")),
        ],
    )
    return alt.layer(bars, points).properties(height=40 * max(2, frame.height))


def incident_chart(periods: pl.DataFrame, *, start: date, end: date, title: str) -> alt.LayerChart:
    """A series' rate per period, its baseline (dashed) and the incident's window (shaded).

    Parameters
    ----------
    periods
        ``period``, ``rate`` and ``baseline_rate`` of one series (an
        :class:`journeylib.optimise.IncidentsResult`'s ``periods`` or ``series``, filtered).
    start, end
        The incident's window (``end`` exclusive).
    title
        What the rate is (the axis title), e.g. ``checkout → purchase on android``.

    Examples
    --------
    >>> frame = pl.DataFrame({"period": [date(2026, 8, 29), date(2026, 8, 30)],
    ...                       "rate": [0.97, 0.62], "baseline_rate": [0.96, 0.96]})
    >>> spec = incident_chart(frame, start=date(2026, 8, 30), end=date(2026, 8, 31),
    ...                       title="payment_success_rate").to_dict()
    >>> [layer["mark"]["type"] for layer in spec["layer"]]
    ['rect', 'line', 'line']
    """
    frame = prepare(periods, "incident_chart", _PERIOD_COLUMNS).select(_PERIOD_COLUMNS)
    window = pl.DataFrame({"start": [start], "end": [end]})
    x = alt.X("period:T", title="period", axis=alt.Axis(format="%d %b"))
    y = alt.Y("rate:Q", title=title, axis=alt.Axis(format="%"))
    shade = (
        alt.Chart(window)
        .mark_rect(opacity=0.15, color=PALETTE[1])
        .encode(x=alt.X("start:T", title="period"), x2="end:T")
    )
    base = alt.Chart(frame).encode(x=x)
    rate = base.mark_line(point=True, color=PALETTE[0]).encode(
        y=y,
        tooltip=[
            alt.Tooltip("period:T", format="%Y-%m-%d"),
            alt.Tooltip("rate:Q", format=".1%"),
            alt.Tooltip("baseline_rate:Q", format=".1%"),
        ],
    )
    baseline = base.mark_line(strokeDash=[4, 3], color=NEUTRAL).encode(
        y=alt.Y("baseline_rate:Q", title=title)
    )
    return alt.layer(shade, rate, baseline)

"""Funnel detail charts: conversion of a trended funnel over periods, and step timings."""

from __future__ import annotations

import altair as alt
import polars as pl

from journeylib._format import COUNT_FORMAT, RATE_FORMAT, format_duration
from journeylib.charts._data import heading, prepare, transition_axis
from journeylib.charts._theme import NEUTRAL, PALETTE
from journeylib.errors import DataError

__all__ = ["funnel_trend", "step_timings"]

_TREND_COLUMNS = ("period", "step", "step_name", "users", "conversion_from_first")
_TIMING_COLUMNS = (
    "step",
    "step_name",
    "median_seconds_from_previous",
    "p90_seconds_from_previous",
)


def funnel_trend(trended: pl.DataFrame, *, title: str = "Funnel conversion by period"):
    """Conversion from the first to the last step per entry period, with its 95% band.

    Parameters
    ----------
    trended
        A trended funnel (:meth:`journeylib.Journey.funnel` with ``trend=``): one row per
        period x step.
    title
        Chart title.

    Examples
    --------
    >>> from datetime import date
    >>> trended = pl.DataFrame({"period": [date(2026, 1, 5)] * 2, "step": [1, 2],
    ...     "step_name": ["visit", "purchase"], "users": [100, 20],
    ...     "conversion_from_first": [1.0, 0.2], "ci_low": [0.96, 0.13],
    ...     "ci_high": [1.0, 0.29]})
    >>> [layer["mark"]["type"] for layer in funnel_trend(trended).to_dict()["layer"]]
    ['area', 'line']
    """
    frame = prepare(trended, "funnel_trend", _TREND_COLUMNS)
    if frame.height == 0:
        raise DataError("funnel_trend: the trended funnel has no rows")
    last = frame.get_column("step").max()
    rows = frame.filter(pl.col("step") == last).sort("period")
    first_name = frame.filter(pl.col("step") == 1).get_column("step_name")[0]
    last_name = rows.get_column("step_name")[0]
    entries = frame.filter(pl.col("step") == 1).select("period", entries="users")
    rows = rows.join(entries, on="period", how="left").with_columns(
        pl.col("period").cast(pl.String).alias("period_label")
    )
    # ISO dates as ordinal labels: one tick per period, read the same in every time zone
    base = alt.Chart(rows).encode(x=alt.X("period_label:O", title="entry period"))
    layers = []
    if {"ci_low", "ci_high"} <= set(rows.columns):
        layers.append(
            base.mark_area(opacity=0.2, color=PALETTE[0]).encode(
                y=alt.Y("ci_low:Q", title="conversion"), y2="ci_high:Q"
            )
        )
    layers.append(
        base.mark_line(point=True, color=PALETTE[0]).encode(
            y=alt.Y("conversion_from_first:Q", title="conversion", axis=alt.Axis(format=".0%")),
            tooltip=[
                alt.Tooltip("period_label:O", title="entry period"),
                alt.Tooltip("conversion_from_first:Q", title="converted", format=RATE_FORMAT),
                alt.Tooltip("users:Q", title="users at the last step", format=COUNT_FORMAT),
                alt.Tooltip("entries:Q", title="entries", format=COUNT_FORMAT),
            ],
        )
    )
    subtitle = [f"{first_name} → {last_name}, with 95% intervals"]
    return alt.layer(*layers).properties(title=heading(title, subtitle), width=480, height=240)


def step_timings(steps: pl.DataFrame, *, title: str = "Time between steps") -> alt.LayerChart:
    """Median and 90th-percentile time from the previous step, one row per step after the first.

    A bar runs from the median to the 90th percentile, with a tick at the median; the axis is
    in the unit that suits the slowest step (minutes, hours or days).

    Parameters
    ----------
    steps
        A funnel frame (:meth:`journeylib.Journey.funnel`, without breakdown or trend).
    title
        Chart title.

    Examples
    --------
    >>> steps = pl.DataFrame({"step": [1, 2], "step_name": ["visit", "purchase"],
    ...     "median_seconds_from_previous": [None, 600.0],
    ...     "p90_seconds_from_previous": [None, 7200.0]})
    >>> [layer["mark"]["type"] for layer in step_timings(steps).to_dict()["layer"]]
    ['bar', 'tick']
    """
    from journeylib._format import duration_axis

    frame = prepare(steps, "step_timings", _TIMING_COLUMNS)
    if "period" in frame.columns or frame.get_column("step").is_duplicated().any():
        raise DataError(
            "step_timings: expected one row per step; pass a funnel without breakdown or trend"
        )
    previous = frame.sort("step").get_column("step_name").shift(1)
    frame = (
        frame.sort("step")
        .with_columns(previous.alias("from_name"))
        .filter(pl.col("step") > 1)
        .with_columns(
            (pl.col("from_name") + " → " + pl.col("step_name")).alias("transition"),
            pl.col("median_seconds_from_previous")
            .map_elements(format_duration, pl.String)
            .alias("median_label"),
            pl.col("p90_seconds_from_previous")
            .map_elements(format_duration, pl.String)
            .alias("p90_label"),
        )
    )
    unit, size = duration_axis(frame.get_column("p90_seconds_from_previous").max())
    frame = frame.with_columns(
        (pl.col("median_seconds_from_previous") / size).alias("median"),
        (pl.col("p90_seconds_from_previous") / size).alias("p90"),
    )
    y = transition_axis("step")
    tooltip = [
        alt.Tooltip("transition:N"),
        alt.Tooltip("median_label:N", title="median"),
        alt.Tooltip("p90_label:N", title="90th percentile"),
    ]
    base = alt.Chart(frame).encode(y=y, tooltip=tooltip)
    bars = base.mark_bar(color=PALETTE[0], opacity=0.35).encode(
        x=alt.X("median:Q", title=f"time from the previous step ({unit})"), x2="p90:Q"
    )
    ticks = base.mark_tick(color=NEUTRAL, thickness=3).encode(x="median:Q")
    subtitle = ["tick: median; bar: median to 90th percentile"]
    return alt.layer(bars, ticks).properties(title=heading(title, subtitle), width=420)

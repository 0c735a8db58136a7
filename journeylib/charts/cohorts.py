"""Cohort charts: pooled retention curves (per acquisition segment) and value by cohort."""

from __future__ import annotations

import altair as alt
import polars as pl

from journeylib._format import COUNT_FORMAT, RATE_FORMAT
from journeylib.charts._data import field, heading, prepare
from journeylib.charts._theme import PALETTE

__all__ = ["cohort_value_chart", "retention_curves"]

_CURVE_COLUMNS = ("offset", "cohorts", "cohort_size", "users", "retention")
_VALUE_COLUMNS = ("cohort", "offset", "cohort_size", "value_per_user")


def retention_curves(
    curves: pl.DataFrame,
    *,
    by: str | None = None,
    grain: str = "week",
    title: str = "Retention curves",
) -> alt.LayerChart:
    """Retention by offset, one line per segment, with the 95% band when there is one line.

    Parameters
    ----------
    curves
        Pooled curves (:func:`journeylib.retention.pooled_retention`).
    by
        The segment column (one coloured line per value); None: one line with its band.
    grain
        The offset grain, for the axis title.
    title
        Chart title.

    Examples
    --------
    >>> curves = pl.DataFrame({"offset": [0, 1], "cohorts": [2, 1], "cohort_size": [40, 10],
    ...     "users": [40, 5], "retention": [1.0, 0.5], "ci_low": [0.9, 0.2],
    ...     "ci_high": [1.0, 0.8]})
    >>> [layer["mark"]["type"] for layer in retention_curves(curves).to_dict()["layer"]]
    ['area', 'line']
    """
    frame = prepare(curves, "retention_curves", (*_CURVE_COLUMNS, *([by] if by else [])))
    x = alt.X("offset:O", title=f"{grain}s since the cohort's first {grain}")
    y = alt.Y("retention:Q", title="retained", axis=alt.Axis(format=".0%"))
    tooltip = [
        *([alt.Tooltip(field=field(by), type="nominal", title=by)] if by else []),
        alt.Tooltip("offset:O", title=f"{grain}s later"),
        alt.Tooltip("retention:Q", title="retained", format=RATE_FORMAT),
        alt.Tooltip("users:Q", title="users retained", format=COUNT_FORMAT),
        alt.Tooltip("cohort_size:Q", title="of cohort users", format=COUNT_FORMAT),
        alt.Tooltip("cohorts:Q", title="cohorts observed"),
    ]
    base = alt.Chart(frame).encode(x=x)
    layers = []
    if by is None and {"ci_low", "ci_high"} <= set(frame.columns):
        layers.append(
            base.mark_area(opacity=0.2, color=PALETTE[0]).encode(
                y=alt.Y("ci_low:Q", title="retained"), y2="ci_high:Q"
            )
        )
    line = base.mark_line(point=True).encode(y=y, tooltip=tooltip)
    if by is not None:
        line = line.encode(color=alt.Color(field=field(by), type="nominal", title=by))
    else:
        line = line.encode(color=alt.value(PALETTE[0]))
    layers.append(line)
    subtitle = ["pooled over the cohorts observed at each offset"]
    return alt.layer(*layers).properties(title=heading(title, subtitle), width=480, height=260)


def cohort_value_chart(
    values: pl.DataFrame,
    *,
    currency: str = "EUR",
    grain: str = "month",
    title: str = "Value per cohort user",
) -> alt.Chart:
    """Cumulated revenue per cohort user by offset, one line per cohort.

    Cells not fully observed (null ``value_per_user``) are left out of the lines.

    Parameters
    ----------
    values
        The frame of :func:`journeylib.retention.cohort_value` (collected).
    currency
        Currency code of the value axis.
    grain
        The offset grain, for the axis title.
    title
        Chart title.

    Examples
    --------
    >>> from datetime import date
    >>> values = pl.DataFrame({"cohort": [date(2026, 1, 1)] * 2, "offset": [0, 1],
    ...     "cohort_size": [10, 10], "value_per_user": [5.0, 8.0]})
    >>> cohort_value_chart(values).to_dict()["mark"]["type"]
    'line'
    """
    frame = prepare(values, "cohort_value_chart", _VALUE_COLUMNS)
    frame = frame.filter(pl.col("value_per_user").is_not_null()).with_columns(
        pl.col("cohort").cast(pl.String).alias("cohort_label")
    )
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("offset:O", title=f"{grain}s since the cohort's {grain}"),
            y=alt.Y(
                "value_per_user:Q",
                title=f"revenue per cohort user ({currency}, cumulated)",
                axis=alt.Axis(format=",.0f"),
            ),
            color=alt.Color("cohort_label:O", title="cohort", scale=alt.Scale(scheme="viridis")),
            tooltip=[
                alt.Tooltip("cohort_label:O", title="cohort"),
                alt.Tooltip("offset:O", title=f"{grain}s later"),
                alt.Tooltip("value_per_user:Q", title=f"per user ({currency})", format=",.2f"),
                alt.Tooltip("cohort_size:Q", title="cohort users", format=COUNT_FORMAT),
            ],
        )
        .properties(title=heading(title, ["unobserved periods left out"]), width=480, height=260)
    )

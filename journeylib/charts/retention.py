"""The retention heatmap: cohorts by offset, with not-observed cells drawn apart from 0."""

from __future__ import annotations

import altair as alt
import polars as pl

from journeylib._format import COUNT_FORMAT, RATE_FORMAT
from journeylib.charts._data import heading, in_order, prepare
from journeylib.charts._theme import MISSING, SEQUENTIAL_SCHEME

__all__ = ["retention_heatmap"]

_COLUMNS = ("cohort", "offset", "cohort_size", "users", "retention")
OBSERVED = "isValid(datum.retention)"


def retention_heatmap(matrix: pl.DataFrame, *, title: str = "Retention") -> alt.LayerChart:
    """A heatmap of retention by cohort (rows) and offset (columns), with percent labels.

    A null ``retention`` means the cell's period is not fully observed: it is drawn as a grey
    cell without a label, never coloured as 0%.

    Parameters
    ----------
    matrix
        The retention matrix (:func:`journeylib.retention.retention_matrix`, collected).
    title
        Chart title.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import date
    >>> matrix = pl.DataFrame({"cohort": [date(2026, 1, 5)] * 2, "offset": [0, 1],
    ...     "cohort_size": [10, 10], "users": [10, None], "retention": [1.0, None]})
    >>> retention_heatmap(matrix).to_dict()["layer"][0]["mark"]["type"]
    'rect'
    """
    frame = prepare(matrix, "retention_heatmap", _COLUMNS)
    frame = frame.with_columns(
        pl.col("cohort").cast(pl.String).alias("cohort_label"),
        pl.when(pl.col("retention").is_null())
        .then(pl.lit("not observed yet"))
        .otherwise(pl.lit("observed"))
        .alias("observed"),
    ).sort("cohort", "offset")
    cohorts = frame.get_column("cohort_label").unique(maintain_order=True).to_list()
    frame, cohorts = in_order(frame, "cohort_label", cohorts)
    base = alt.Chart(frame).encode(
        x=alt.X("offset:O", title="periods since first visit", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("cohort_label:O", title="cohort", sort=cohorts),
    )
    tooltip = [
        alt.Tooltip("cohort_label:O", title="cohort"),
        alt.Tooltip("offset:O", title="offset"),
        alt.Tooltip("cohort_size:Q", title="cohort size", format=COUNT_FORMAT),
        alt.Tooltip("users:Q", title="returning users", format=COUNT_FORMAT),
        alt.Tooltip("retention:Q", format=RATE_FORMAT),
        alt.Tooltip("observed:N", title="cell"),
    ]
    colour = alt.Color(
        "retention:Q",
        scale=alt.Scale(scheme=SEQUENTIAL_SCHEME, domain=[0, 1]),
        legend=alt.Legend(format=".0%", title="retention"),
    )
    observed = base.transform_filter(OBSERVED).mark_rect().encode(color=colour, tooltip=tooltip)
    unobserved = (
        base.transform_filter(f"!{OBSERVED}")
        .mark_rect(color=MISSING, stroke="#FFFFFF", strokeDash=[3, 3])
        .encode(tooltip=tooltip)
    )
    labels = (
        base.transform_filter(OBSERVED)
        .mark_text(fontSize=11)
        .encode(
            text=alt.Text("retention:Q", format=".0%"),
            color=alt.condition(
                "datum.retention > 0.5", alt.value("#1A1A1A"), alt.value("#FFFFFF")
            ),
        )
    )
    subtitle = ["grey: not observed yet (not 0%)"] if frame["retention"].null_count() else []
    return alt.layer(observed, unobserved, labels).properties(
        title=heading(title, subtitle), width=alt.Step(44), height=alt.Step(26)
    )

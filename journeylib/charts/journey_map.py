"""The journey map: stages left to right as tiles coloured by score band."""

from __future__ import annotations

import altair as alt
import polars as pl

from journeylib.charts._data import heading, in_order, prepare
from journeylib.charts._theme import BAD, GOOD, MISSING, PALETTE

__all__ = ["SCORE_BANDS", "journey_map"]

_COLUMNS = ("stage", "score", "weight", "kpis_scored", "kpis_left_out")
#: Score bands and their colours; a stage without a score is "no data".
SCORE_BANDS: dict[str, str] = {
    "80-100": GOOD,
    "50-79": PALETTE[1],
    "0-49": BAD,
    "no data": MISSING,
}


def journey_map(stages: pl.DataFrame, *, title: str = "Journey") -> alt.LayerChart:
    """Stages in journey order as tiles coloured by score band, labelled "stage · score".

    Parameters
    ----------
    stages
        The stages frame of :func:`journeylib.score.journey_score`, in journey order.
    title
        Chart title.

    Examples
    --------
    >>> import polars as pl
    >>> stages = pl.DataFrame({"stage": ["awareness", "purchase"], "score": [85.0, None],
    ...     "weight": [1.0, 1.0], "kpis_scored": [2, 0], "kpis_left_out": [0, 3]})
    >>> journey_map(stages).to_dict()["layer"][0]["mark"]["type"]
    'rect'
    """
    frame = prepare(stages, "journey_map", _COLUMNS)
    # one rule: the band is that of the whole number the tile shows (79.6 shows 80: 80-100)
    shown = pl.col("score").round(0).cast(pl.Int64)
    band = (
        pl.when(shown.is_null())
        .then(pl.lit("no data"))
        .when(shown >= 80)
        .then(pl.lit("80-100"))
        .when(shown >= 50)
        .then(pl.lit("50-79"))
        .otherwise(pl.lit("0-49"))
    )
    label = (
        pl.when(shown.is_null())
        .then(pl.col("stage") + pl.lit(" · no data"))
        .otherwise(pl.col("stage") + pl.lit(" · ") + shown.cast(pl.String))
    )
    last = pl.int_range(pl.len()) == pl.len() - 1
    frame = frame.with_columns(
        band.alias("band"),
        label.alias("label"),
        pl.when(last).then(pl.lit("")).otherwise(pl.lit("➜")).alias("arrow"),
    )
    frame, order = in_order(frame, "stage", frame.get_column("stage").to_list())
    base = alt.Chart(frame).encode(
        x=alt.X("stage:N", sort=order, axis=None, scale=alt.Scale(paddingInner=0.25))
    )
    tiles = base.mark_rect(cornerRadius=6).encode(
        color=alt.Color(
            "band:N",
            scale=alt.Scale(domain=list(SCORE_BANDS), range=list(SCORE_BANDS.values())),
            title="stage score",
        ),
        tooltip=[
            alt.Tooltip("stage:N"),
            alt.Tooltip("score:Q", format=".0f"),
            alt.Tooltip("weight:Q", format=".2f"),
            alt.Tooltip("kpis_scored:Q", title="KPIs scored"),
            alt.Tooltip("kpis_left_out:Q", title="KPIs left out"),
        ],
    )
    labels = base.mark_text(fontWeight="bold", color="#1A1A1A").encode(text="label:N")
    arrows = base.mark_text(fontSize=18, dx=74, color="#6B6B6B").encode(text="arrow:N")
    return alt.layer(tiles, labels, arrows).properties(
        title=heading(title), width=alt.Step(150), height=70
    )

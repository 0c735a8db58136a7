"""Survey answer distributions: NPS groups, CSAT's satisfied answers, CES scale."""

from __future__ import annotations

import altair as alt
import polars as pl

from journeylib._format import COUNT_FORMAT, RATE_FORMAT
from journeylib.charts._data import heading, prepare
from journeylib.charts._theme import BAD, GOOD, NEUTRAL, PALETTE
from journeylib.errors import DataError

__all__ = ["SURVEY_GROUPS", "survey_distribution"]

_COLUMNS = ("survey", "score", "answers", "share")
#: Answer groups per survey and their colours, in legend order.
SURVEY_GROUPS: dict[str, dict[str, str]] = {
    "nps": {"detractor (0-6)": BAD, "passive (7-8)": NEUTRAL, "promoter (9-10)": GOOD},
    "csat": {"not satisfied (1-3)": NEUTRAL, "satisfied (4-5)": GOOD},
    "ces": {"answers": PALETTE[0]},
}


def _group(survey: str) -> pl.Expr:
    score = pl.col("score")
    if survey == "nps":
        names = list(SURVEY_GROUPS["nps"])
        return (
            pl.when(score <= 6)
            .then(pl.lit(names[0]))
            .when(score <= 8)
            .then(pl.lit(names[1]))
            .otherwise(pl.lit(names[2]))
        )
    if survey == "csat":
        names = list(SURVEY_GROUPS["csat"])
        return pl.when(score >= 4).then(pl.lit(names[1])).otherwise(pl.lit(names[0]))
    return pl.lit("answers")


def survey_distribution(distribution: pl.DataFrame, *, survey: str) -> alt.LayerChart:
    """Bars of the share of answers per score of one survey, coloured by answer group.

    NPS: detractors (0-6), passives (7-8), promoters (9-10); CSAT: answers 4-5 highlighted
    as satisfied; CES: one colour over its scale.

    Parameters
    ----------
    distribution
        The frame of :func:`journeylib.kpis.surveys.score_distribution` (collected).
    survey
        ``"nps"``, ``"csat"`` or ``"ces"``.

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"survey": ["csat"] * 5, "score": [1.0, 2.0, 3.0, 4.0, 5.0],
    ...     "answers": [0, 1, 1, 4, 4], "share": [0.0, 0.1, 0.1, 0.4, 0.4]})
    >>> survey_distribution(frame, survey="csat").to_dict()["layer"][0]["mark"]["type"]
    'bar'
    """
    if survey not in SURVEY_GROUPS:
        raise ValueError(f"unknown survey {survey!r}; expected one of {', '.join(SURVEY_GROUPS)}")
    frame = prepare(distribution, "survey_distribution", _COLUMNS)
    rows = frame.filter(pl.col("survey") == survey)
    if rows.height == 0:
        found = ", ".join(frame.get_column("survey").unique().sort().to_list()) or "none"
        raise DataError(
            f"survey_distribution: no rows for survey '{survey}'; surveys found: {found}"
        )
    rows = rows.with_columns(_group(survey).alias("group")).sort("score")
    total = int(rows.get_column("answers").sum())
    groups = SURVEY_GROUPS[survey]
    base = alt.Chart(rows).encode(
        x=alt.X("score:O", title=f"{survey.upper()} score", axis=alt.Axis(labelAngle=0))
    )
    bars = base.mark_bar().encode(
        y=alt.Y("share:Q", title="share of answers", axis=alt.Axis(format=".0%")),
        color=alt.Color(
            "group:N",
            scale=alt.Scale(domain=list(groups), range=list(groups.values())),
            title=None,
            legend=None if survey == "ces" else alt.Legend(),
        ),
        tooltip=[
            alt.Tooltip("score:O"),
            alt.Tooltip("answers:Q", format=COUNT_FORMAT),
            alt.Tooltip("share:Q", format=RATE_FORMAT),
            alt.Tooltip("group:N"),
        ],
    )
    labels = base.mark_text(dy=-6, fontSize=11).encode(
        y="share:Q", text=alt.Text("share:Q", format=".0%")
    )
    title = heading(f"{survey.upper()} answers", [f"{total:,} answers"])
    return alt.layer(bars, labels).properties(title=title, width=alt.Step(36), height=220)

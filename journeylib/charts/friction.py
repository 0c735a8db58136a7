"""Friction charts: the funnel's transitions by users lost, and what dropped users did next."""

from __future__ import annotations

import altair as alt
import polars as pl

from journeylib._format import COUNT_FORMAT, RATE_FORMAT
from journeylib.charts._data import heading, prepare, transition_axis
from journeylib.charts._theme import BAD, NEUTRAL

__all__ = ["friction_chart", "next_events_chart"]

_TRANSITION_COLUMNS = ("rank", "from_step", "from_name", "to_name", "users", "lost", "rate")
_NEXT_COLUMNS = ("from_step", "from_name", "to_name", "next_event", "users", "share", "dropped")


def friction_chart(transitions: pl.DataFrame, *, title: str = "Where users are lost"):
    """Bars of users lost per funnel transition, most lost first, labelled with the rate.

    Parameters
    ----------
    transitions
        ``FrictionResult.transitions`` (:meth:`journeylib.Journey.friction`).
    title
        Chart title.

    Examples
    --------
    >>> transitions = pl.DataFrame({"rank": [1], "from_step": [1], "from_name": ["visit"],
    ...     "to_name": ["purchase"], "users": [100], "lost": [80], "rate": [0.2]})
    >>> [layer["mark"]["type"] for layer in friction_chart(transitions).to_dict()["layer"]]
    ['bar', 'text']
    """
    frame = prepare(transitions, "friction_chart", _TRANSITION_COLUMNS).with_columns(
        (pl.col("from_name") + " → " + pl.col("to_name")).alias("transition"),
        pl.format(
            "{} lost · {} went on",
            pl.col("lost").map_elements(lambda v: f"{v:,}", pl.String),
            pl.col("rate").map_elements(
                lambda v: "–" if v is None else f"{100 * v:.0f}%", pl.String
            ),
        ).alias("label"),
    )
    y = transition_axis("rank")
    tooltip = [
        alt.Tooltip("transition:N"),
        alt.Tooltip("users:Q", title="could take it", format=COUNT_FORMAT),
        alt.Tooltip("lost:Q", title="lost", format=COUNT_FORMAT),
        alt.Tooltip("rate:Q", title="went on", format=RATE_FORMAT),
    ]
    base = alt.Chart(frame).encode(y=y)
    bars = base.mark_bar(color=BAD).encode(
        x=alt.X("lost:Q", title="users lost", axis=alt.Axis(format=COUNT_FORMAT)),
        tooltip=tooltip,
    )
    labels = base.mark_text(align="left", dx=4, color=NEUTRAL).encode(x="lost:Q", text="label:N")
    return alt.layer(bars, labels).properties(
        title=heading(title, ["most users lost first"]), width=420
    )


def next_events_chart(
    next_events: pl.DataFrame, *, title: str = "What dropped users did instead"
) -> alt.Chart:
    """Share of each next event among the users dropped at each transition.

    ``left`` is the share that did nothing more in their window.

    Parameters
    ----------
    next_events
        ``FrictionResult.next_events`` (:func:`journeylib.optimise.next_events`).
    title
        Chart title.

    Examples
    --------
    >>> rows = pl.DataFrame({"from_step": [1, 1], "from_name": ["visit"] * 2,
    ...     "to_name": ["cart"] * 2, "next_event": ["page_view", "left"], "users": [6, 4],
    ...     "share": [0.6, 0.4], "dropped": [10, 10]})
    >>> next_events_chart(rows).to_dict()["spec"]["mark"]["type"]
    'bar'
    """
    frame = prepare(next_events, "next_events_chart", _NEXT_COLUMNS).with_columns(
        pl.format(
            "{} → {} (dropped: {})",
            "from_name",
            "to_name",
            pl.col("dropped").map_elements(lambda v: f"{v:,}", pl.String),
        ).alias("transition"),
        pl.col("share").rank("ordinal", descending=True).over("from_step").alias("order"),
    )
    return (
        alt.Chart(frame)
        .mark_bar(color=NEUTRAL)
        .encode(
            x=alt.X("share:Q", title="share of the dropped users", axis=alt.Axis(format=".0%")),
            y=alt.Y(
                "next_event:N",
                sort=alt.EncodingSortField(field="order", op="min", order="ascending"),
                title=None,
            ),
            tooltip=[
                alt.Tooltip("next_event:N", title="next event"),
                alt.Tooltip("users:Q", title="users", format=COUNT_FORMAT),
                alt.Tooltip("share:Q", title="share", format=RATE_FORMAT),
            ],
        )
        .properties(width=360)
        .facet(
            row=alt.Row(
                "transition:N",
                title=None,
                sort=alt.EncodingSortField(field="from_step", op="min", order="ascending"),
                header=alt.Header(labelAngle=0, labelAlign="left"),
            ),
            title=heading(title, ["left: nothing more in their window"]),
        )
        .resolve_scale(y="independent")
    )

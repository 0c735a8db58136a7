"""The funnel chart: users per step, conversion from the first step, drop-off between steps."""

from __future__ import annotations

import altair as alt
import polars as pl

from journeylib._format import COUNT_FORMAT, RATE_FORMAT, format_duration
from journeylib.charts._data import field, heading, latest, prepare
from journeylib.charts._theme import BAD, PALETTE

__all__ = ["funnel_chart"]

_COLUMNS = (
    "step",
    "step_name",
    "users",
    "conversion_from_first",
    "conversion_from_previous",
    "drop_off",
    "in_progress",
    "median_seconds_from_previous",
)
_KNOWN = {
    *_COLUMNS,
    "period",
    "ci_low",
    "ci_high",
    "prev_ci_low",
    "prev_ci_high",
    "p90_seconds_from_previous",
}
_STEP_HEIGHT = 44
_WIDTH = 420


def _labelled(steps: pl.DataFrame, groups: list[str]) -> pl.DataFrame:
    over = groups or None
    previous_users = pl.col("users").shift(1)
    previous_users = previous_users.over(over) if over else previous_users
    frame = steps.sort(*groups, "step").with_columns(previous_users.alias("previous_users"))
    users = frame.get_column("users").to_list()
    first = frame.get_column("conversion_from_first").to_list()
    drops = frame.get_column("drop_off").to_list()
    previous = frame.get_column("previous_users").to_list()
    medians = frame.get_column("median_seconds_from_previous").to_list()
    labels, drop_labels = [], []
    for count, share, drop, before in zip(users, first, drops, previous, strict=True):
        shown = "–" if share is None else f"{100 * share:.0f}%"
        labels.append(f"{count:,} users · {shown} of first")
        if before is None or drop is None:
            drop_labels.append(None)
        else:
            rate = f" ({100 * drop / before:.0f}%)" if before else ""
            drop_labels.append(f"−{drop:,}{rate}")
    return frame.with_columns(
        pl.Series("label", labels, pl.String),
        pl.Series("drop_label", drop_labels, pl.String),
        pl.Series("median_time", [format_duration(m) for m in medians], pl.String),
    )


def funnel_chart(steps: pl.DataFrame, *, title: str | None = None) -> alt.Chart | alt.FacetChart:
    """Horizontal bars of users per step, labelled, with the drop-off between steps.

    Parameters
    ----------
    steps
        The funnel frame (:func:`journeylib.funnel.compute_funnel`, collected). A column
        outside the funnel's own (e.g. ``channel``) is a breakdown: one row of bars per value.
        With a ``period`` column, the latest period is shown.
    title
        Chart title (default ``"Funnel"``).

    Returns
    -------
    alt.LayerChart or alt.FacetChart
        Bars, "N users · X% of first" labels and "−N (Y%)" drop-off notes between steps.

    Examples
    --------
    >>> import polars as pl
    >>> steps = pl.DataFrame({"step": [1, 2], "step_name": ["visit", "purchase"],
    ...     "users": [100, 20], "conversion_from_first": [1.0, 0.2],
    ...     "conversion_from_previous": [1.0, 0.2], "drop_off": [None, 80],
    ...     "in_progress": [0, 0], "median_seconds_from_previous": [None, 3600.0]})
    >>> funnel_chart(steps).to_dict()["layer"][0]["mark"]["type"]
    'bar'
    """
    frame = prepare(steps, "funnel_chart", _COLUMNS)
    subtitle = []
    if "period" in frame.columns:
        frame = latest(frame, "period", "funnel_chart")
        subtitle.append(f"period {frame.get_column('period')[0]}")
    groups = [name for name in frame.columns if name not in _KNOWN]
    frame = _labelled(frame, groups)
    y = alt.Y(
        "step_name:N",
        # by step number: a list of step names would become a Vega expression of the names
        sort=alt.EncodingSortField(field="step", op="min", order="ascending"),
        title=None,
        axis=alt.Axis(labelLimit=200),
        scale=alt.Scale(paddingInner=0.5),
    )
    tooltip = [
        alt.Tooltip("step_name:N", title="step"),
        *(alt.Tooltip(field=field(name), type="nominal", title=name) for name in groups),
        alt.Tooltip("users:Q", title="users", format=COUNT_FORMAT),
        alt.Tooltip("conversion_from_first:Q", title="of first step", format=RATE_FORMAT),
        alt.Tooltip("conversion_from_previous:Q", title="of previous step", format=RATE_FORMAT),
        alt.Tooltip("drop_off:Q", title="dropped off", format=COUNT_FORMAT),
        alt.Tooltip("in_progress:Q", title="still in window", format=COUNT_FORMAT),
        alt.Tooltip("median_time:N", title="median time from previous"),
    ]
    base = alt.Chart(frame).encode(y=y)
    bars = base.mark_bar(color=PALETTE[0]).encode(
        x=alt.X("users:Q", title="users", axis=alt.Axis(format=COUNT_FORMAT)), tooltip=tooltip
    )
    labels = base.mark_text(align="left", dx=4).encode(x="users:Q", text="label:N")
    drops = (
        base.transform_filter("isValid(datum.drop_label)")
        .mark_text(align="right", dy=-_STEP_HEIGHT / 2, color=BAD, fontStyle="italic")
        .encode(x=alt.value(_WIDTH), text="drop_label:N")
    )
    layers = alt.layer(bars, labels, drops)
    top = heading(title or "Funnel", subtitle)
    if groups:
        return layers.properties(height=alt.Step(_STEP_HEIGHT), width=_WIDTH).facet(
            row=alt.Row(field=field(groups[0]), type="nominal", title=groups[0]), title=top
        )
    return layers.properties(title=top, height=alt.Step(_STEP_HEIGHT), width=_WIDTH)

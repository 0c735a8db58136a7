"""Channel comparison: cost per conversion against conversion rate, sized by visitors.

Channels are named by colour in a legend, never by text beside the points: two channels with
close values would print their names on top of each other.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from journeylib._format import COUNT_FORMAT, RATE_FORMAT, format_value
from journeylib.charts._data import heading, latest, prepare
from journeylib.charts._theme import PALETTE
from journeylib.errors import DataError
from journeylib.kpis import kpi_label, kpi_title

__all__ = ["channel_comparison"]

_COLUMNS = ("period_start", "channel", "kpi", "value")
_KPIS = ("cost_per_conversion", "conversion_rate", "unique_visitors")


def channel_comparison(table: pl.DataFrame, *, currency: str = "EUR") -> alt.LayerChart:
    """Scatter of cost per conversion (x) against conversion rate (y) per channel.

    Uses the latest period. Point size is unique visitors; each channel has its own colour,
    named in the colour legend (the colours follow the channels of the data, in name order).
    Channels without spend (no cost per conversion) cannot sit on the x axis: they are left out
    and named in the subtitle.

    Parameters
    ----------
    table
        A KPI table broken down by ``channel`` holding the three KPIs.
    currency
        Currency code of the cost axis.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import date
    >>> table = pl.DataFrame({"period_start": [date(2026, 1, 5)] * 3, "channel": ["ads"] * 3,
    ...     "kpi": ["cost_per_conversion", "conversion_rate", "unique_visitors"],
    ...     "value": [12.0, 0.05, 400.0]})
    >>> channel_comparison(table).to_dict()["layer"][0]["mark"]["type"]
    'point'
    """
    frame = prepare(table, "channel_comparison", _COLUMNS)
    frame = latest(frame, "period_start", "channel_comparison")
    missing = [k for k in _KPIS if k not in set(frame.get_column("kpi").to_list())]
    if missing:
        raise DataError(
            f"channel_comparison: the KPI table lacks KPI(s) {', '.join(missing)}; "
            f"expected {', '.join(_KPIS)}"
        )
    wide = (
        frame.filter(pl.col("kpi").is_in(_KPIS) & pl.col("channel").is_not_null())
        .pivot("kpi", index="channel", values="value", aggregate_function="first")
        .sort("channel")
    )
    no_spend = wide.filter(pl.col("cost_per_conversion").is_null()).get_column("channel")
    points = wide.filter(pl.col("cost_per_conversion").is_not_null()).with_columns(
        pl.col("cost_per_conversion")
        .map_elements(lambda v: format_value(v, "currency", currency=currency), pl.String)
        .alias("cost_label")
    )
    subtitle = [f"period starting {frame.get_column('period_start')[0]}"]
    if no_spend.len():
        subtitle.append(f"not shown (no spend data): {', '.join(no_spend.to_list())}")
    channels = points.get_column("channel").cast(pl.String).to_list()
    if len(channels) > len(PALETTE):
        raise DataError(
            f"channel_comparison: {len(channels)} channels with spend, more than the "
            f"{len(PALETTE)} colours the legend can tell apart; filter the table to fewer channels"
        )
    # the domain is the data's channels (no value is written into the spec as a list)
    colour = alt.Scale(range=list(PALETTE))
    cost, conversion = kpi_label("cost_per_conversion"), kpi_label("conversion_rate")
    visitors = kpi_label("unique_visitors")
    chart = (
        alt.Chart(points)
        .mark_point(filled=True, opacity=0.85, stroke="white", strokeWidth=1)
        .encode(
            x=alt.X(
                "cost_per_conversion:Q",
                title=kpi_title("cost_per_conversion", currency=currency),
                axis=alt.Axis(format=",.2f"),
                scale=alt.Scale(zero=False, padding=30),
            ),
            y=alt.Y(
                "conversion_rate:Q",
                title=kpi_title("conversion_rate"),
                axis=alt.Axis(format=RATE_FORMAT),
                scale=alt.Scale(zero=False, padding=30),
            ),
            color=alt.Color(
                "channel:N",
                title="channel",
                scale=colour,
                legend=alt.Legend(orient="right", columns=1, symbolOpacity=1),
            ),
            size=alt.Size(
                "unique_visitors:Q",
                title=kpi_title("unique_visitors"),
                legend=alt.Legend(format=COUNT_FORMAT, orient="right", titleLimit=0),
                scale=alt.Scale(range=[60, 900]),
            ),
            # the largest points first: a small one is never hidden under a larger one
            order=alt.Order("unique_visitors:Q", sort="descending"),
            tooltip=[
                alt.Tooltip("channel:N"),
                alt.Tooltip("cost_label:N", title=cost),
                alt.Tooltip("conversion_rate:Q", title=conversion, format=RATE_FORMAT),
                alt.Tooltip("unique_visitors:Q", title=visitors, format=COUNT_FORMAT),
            ],
        )
    )
    title = heading("Channels: cost against conversion", subtitle)
    return alt.layer(chart).properties(title=title, width=420, height=280)

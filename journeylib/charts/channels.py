"""Channel comparison: cost per conversion against conversion rate, sized by visitors."""

from __future__ import annotations

import altair as alt
import polars as pl

from journeylib._format import COUNT_FORMAT, RATE_FORMAT, format_value
from journeylib.charts._data import heading, latest, prepare
from journeylib.charts._theme import PALETTE
from journeylib.errors import DataError

__all__ = ["channel_comparison"]

_COLUMNS = ("period_start", "channel", "kpi", "value")
_KPIS = ("cost_per_conversion", "conversion_rate", "unique_visitors")


def channel_comparison(table: pl.DataFrame, *, currency: str = "EUR") -> alt.LayerChart:
    """Scatter of cost per conversion (x) against conversion rate (y) per channel.

    Uses the latest period. Point size is unique visitors; each point is labelled with its
    channel. Channels without spend (no cost per conversion) cannot sit on the x axis: they are
    left out and named in the subtitle.

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
    base = alt.Chart(points).encode(
        x=alt.X(
            "cost_per_conversion:Q",
            title=f"cost per conversion ({currency})",
            axis=alt.Axis(format=",.2f"),
            scale=alt.Scale(zero=False, padding=30),
        ),
        y=alt.Y(
            "conversion_rate:Q",
            title="conversion rate",
            axis=alt.Axis(format=".1%"),
            scale=alt.Scale(zero=False, padding=30),
        ),
    )
    dots = base.mark_point(filled=True, opacity=0.8, color=PALETTE[0]).encode(
        size=alt.Size(
            "unique_visitors:Q",
            title="unique visitors",
            legend=alt.Legend(format=COUNT_FORMAT),
            scale=alt.Scale(range=[60, 900]),
        ),
        tooltip=[
            alt.Tooltip("channel:N"),
            alt.Tooltip("cost_label:N", title="cost per conversion"),
            alt.Tooltip("conversion_rate:Q", title="conversion rate", format=RATE_FORMAT),
            alt.Tooltip("unique_visitors:Q", title="unique visitors", format=COUNT_FORMAT),
        ],
    )
    labels = base.mark_text(align="left", dx=12, dy=-8).encode(text="channel:N")
    title = heading("Channels: cost against conversion", subtitle)
    return alt.layer(dots, labels).properties(title=title, width=420, height=280)

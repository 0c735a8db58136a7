"""KPI cards as HTML: value, change, significance, target status and a sparkline.

The text of a card is the report scorecards' (:func:`journeylib.charts.scorecards.tile_labels`);
the rows are the KPI table's. Every value is text in the markup (screen readers, copy and paste
and tests read it); the sparkline is an inline SVG polyline of the recent periods' values.
Every data value is escaped: a KPI or stage name never becomes markup.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import polars as pl

from journeylib.charts._theme import BAD, GOOD, NEUTRAL, PALETTE, STATUS_COLOURS, UNAVAILABLE
from journeylib.charts.scorecards import tile_labels
from journeylib.kpis import kpi_label

__all__ = ["kpi_cards_html", "sparkline_svg"]

_TONE_COLOURS = {"good": GOOD, "bad": BAD, "flat": NEUTRAL, "unavailable": UNAVAILABLE}
_SPARK_WIDTH, _SPARK_HEIGHT = 120, 28


def sparkline_svg(values: Sequence[float | None], *, label: str) -> str:
    """A small line of ``values`` (nulls leave gaps) as inline SVG, or ``""`` without two values.

    Examples
    --------
    >>> sparkline_svg([1.0, 2.0, 3.0], label="orders").startswith("<svg")
    True
    """
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(points) < 2:
        return ""
    low = min(v for _, v in points)
    high = max(v for _, v in points)
    span = (high - low) or 1.0
    step = _SPARK_WIDTH / max(len(values) - 1, 1)
    coords = " ".join(
        f"{i * step:.1f},{_SPARK_HEIGHT - 2 - (v - low) / span * (_SPARK_HEIGHT - 4):.1f}"
        for i, v in points
    )
    return (
        f'<svg class="spark" width="{_SPARK_WIDTH}" height="{_SPARK_HEIGHT}" role="img" '
        f'aria-label="{html.escape(label)}"><polyline fill="none" stroke="{PALETTE[0]}" '
        f'stroke-width="1.5" points="{coords}"/></svg>'
    )


def kpi_cards_html(
    rows: pl.DataFrame,
    *,
    trend: pl.DataFrame | None = None,
    currency: str = "EUR",
    labels: dict[str, str] | None = None,
) -> str:
    """One card per KPI row (one period), in the rows' order.

    Parameters
    ----------
    rows
        KPI table rows of one period (:meth:`journeylib.journey.Journey.kpis`).
    trend
        The KPI table over recent periods: each card draws its KPI's values as a sparkline.
    currency
        Currency code written before currency values.
    labels
        KPI name -> the name shown (default: the registry's label, ``Conversion rate``).

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import date
    >>> rows = pl.DataFrame({"period_start": [date(2026, 1, 5)], "stage": ["purchase"],
    ...     "kpi": ["orders"], "unit": ["count"], "direction": ["higher"], "value": [12.0],
    ...     "previous": [10.0], "change": [2.0], "relative_change": [0.2], "p_value": [None],
    ...     "significant": [False], "improved": [True], "target": [None], "status": [None],
    ...     "available": [True], "reason": [None]})
    >>> 'data-kpi="orders"' in kpi_cards_html(rows)
    True
    """
    labels = labels or {}
    series: dict[str, list[float | None]] = {}
    if trend is not None and trend.height:
        for (kpi,), group in trend.sort("period_start").group_by("kpi", maintain_order=True):
            series[str(kpi)] = group["value"].to_list()
    cards = []
    for row in rows.iter_rows(named=True):
        kpi = str(row["kpi"])
        text = tile_labels(row, currency)
        tone = _TONE_COLOURS.get(text["tone"], NEUTRAL)
        status_colour = STATUS_COLOURS.get(text["status_tone"], NEUTRAL)
        name = labels.get(kpi) or kpi_label(kpi)
        spark = sparkline_svg(series.get(kpi, []), label=f"{name}, recent periods")
        p_value = row.get("p_value")
        title = "" if p_value is None else f' title="p = {p_value:.3g}"'
        cards.append(
            f'<div class="jl-card" data-kpi="{html.escape(kpi)}">'
            f'<div class="jl-card-name">{html.escape(name)}</div>'
            f'<div class="jl-card-value" data-value="{html.escape(_raw(row["value"]))}">'
            f"{html.escape(text['value_label'])}</div>"
            f'<div class="jl-card-change" style="color:{tone}"{title}>'
            f"{html.escape(text['change_label'])}</div>"
            f'<div class="jl-card-status" style="color:{status_colour}">'
            f"{html.escape(text['status_label'])}</div>"
            f"{spark}</div>"
        )
    return f'<div class="jl-cards">{"".join(cards)}</div>'


def _raw(value: float | None) -> str:
    """The unformatted value (``repr`` of the float), for scripts and tests."""
    return "" if value is None else repr(float(value))

"""Checks and casts every builder applies to its input frame before charting."""

from __future__ import annotations

import re
from collections.abc import Sequence

import altair as alt
import polars as pl

from journeylib._format import duration_axis
from journeylib.errors import DataError
from journeylib.kpis import kpi_title

__all__ = [
    "MAX_ROWS",
    "field",
    "heading",
    "in_order",
    "kpi_axis",
    "latest",
    "prepare",
    "transition_axis",
]

#: Altair refuses more rows by default; builders take aggregated frames far below it.
MAX_ROWS = 5000


def prepare(frame: pl.DataFrame, builder: str, required: Sequence[str]) -> pl.DataFrame:
    """Check the columns and the row count, and make every column serialisable.

    Durations become Float64 seconds, Decimals Float64. Raises :class:`DataError` naming the
    builder and the missing columns, and ``ValueError`` above :data:`MAX_ROWS` rows.
    """
    if isinstance(frame, pl.LazyFrame):
        raise TypeError(f"{builder}: expected an aggregated pl.DataFrame, got a LazyFrame")
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise DataError(
            f"{builder}: input frame lacks column(s) {', '.join(missing)}; "
            f"expected {', '.join(required)}; found {', '.join(frame.columns) or 'no columns'}"
        )
    if frame.height > MAX_ROWS:
        raise ValueError(
            f"{builder}: {frame.height} rows, more than the {MAX_ROWS} a chart takes; "
            "aggregate the frame in Polars before charting"
        )
    casts = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Duration):
            casts.append((pl.col(name).dt.total_microseconds() / 1e6).alias(name))
        elif isinstance(dtype, pl.Decimal):
            casts.append(pl.col(name).cast(pl.Float64))
    return frame.with_columns(casts) if casts else frame


def latest(frame: pl.DataFrame, column: str, builder: str, chosen: object = None) -> pl.DataFrame:
    """The rows of the chosen value of ``column`` (default: its latest value)."""
    values = frame.get_column(column).drop_nulls().unique().sort()
    if values.len() == 0:
        raise DataError(f"{builder}: column '{column}' has no values; expected at least one row")
    wanted = values[-1] if chosen is None else chosen
    rows = frame.filter(pl.col(column) == wanted)
    if rows.height == 0:
        found = ", ".join(str(v) for v in values.to_list())
        raise DataError(f"{builder}: no rows with {column} = {wanted}; found {found}")
    return rows


def field(name: str) -> str:
    """A column name as a Vega-Lite field: ``.``, ``[`` and ``]`` (nested access) escaped.

    Pass it as ``field=`` (never in the ``"name:N"`` shorthand, which reads ``:`` as the type).

    Examples
    --------
    >>> field("utm.source[0]")
    'utm\\\\.source\\\\[0\\\\]'
    """
    return re.sub(r"([\\.\[\]])", r"\\\1", name)


def in_order(
    frame: pl.DataFrame, column: str, order: Sequence[object]
) -> tuple[pl.DataFrame, alt.EncodingSortField]:
    """Sort ``column`` in ``order`` through a rank column, not a list of its values.

    Vega-Lite turns a sort list into an expression holding every value; a value that the
    expression parser reads as code (U+2028 in a string) would stop the chart from drawing.
    A numeric ``<column>_order`` column sorts the same without any value in an expression.
    """
    rank = f"{column}_order"
    positions = {value: index for index, value in enumerate(order)}
    ranked = frame.with_columns(
        pl.col(column).replace_strict(positions, default=None, return_dtype=pl.Int64).alias(rank)
    )
    return ranked, alt.EncodingSortField(field=rank, op="min", order="ascending")


def heading(title: str, subtitle: Sequence[str] = ()) -> alt.Title:
    """A chart title with an optional subtitle (one line per entry)."""
    return alt.Title(title, subtitle=list(subtitle) if subtitle else alt.Undefined)


def kpi_axis(kpi: str, unit: str, values: pl.Series, *, currency: str) -> tuple[str, float]:
    """The axis title of a KPI's values (its label and unit in words) and the divisor that
    puts them in that unit: durations are plotted in the unit their largest value suits.

    Examples
    --------
    >>> kpi_axis("avg_session_duration", "duration", pl.Series([600.0]), currency="EUR")
    ('Average session duration (minutes)', 60.0)
    """
    if unit != "duration":
        return kpi_title(kpi, unit=unit, currency=currency), 1.0
    name, size = duration_axis(values.abs().max())
    return kpi_title(kpi, unit=unit, shown_in=name), size


def transition_axis(order: str) -> alt.Y:
    """The y axis of one bar per funnel transition (``transition:N``), in ``order``'s order."""
    return alt.Y(
        "transition:N",
        sort=alt.EncodingSortField(field=order, op="min", order="ascending"),
        title=None,
        axis=alt.Axis(labelLimit=260),
    )

"""The data quality panel: quarantined rows per table and rule, or a clear "all clean"."""

from __future__ import annotations

import altair as alt
import polars as pl

from journeylib._format import COUNT_FORMAT
from journeylib.charts._data import heading, in_order, prepare
from journeylib.charts._theme import GOOD

__all__ = ["ALL_CLEAN", "data_quality_panel"]

_COLUMNS = ("table", "rule", "column", "count", "rows_read")
ALL_CLEAN = "All clean"


def data_quality_panel(quality: pl.DataFrame) -> alt.LayerChart:
    """Bars of quarantined rows per table, coloured by rule; clean tables say "clean".

    When no table quarantined a row, the panel is a single "All clean" message with the rows
    read.

    Parameters
    ----------
    quality
        ``DataQuality.to_frame()``: one row per table and rule, a clean table with a null rule
        and a count of 0.

    Examples
    --------
    >>> import polars as pl
    >>> quality = pl.DataFrame({"table": ["events"], "rule": [None], "column": [None],
    ...     "count": [0], "rows_read": [120]}, schema_overrides={"rule": pl.String,
    ...     "column": pl.String})
    >>> data_quality_panel(quality).to_dict()["layer"][0]["mark"]["type"]
    'text'
    """
    # only the columns drawn: locations and example values stay out of the spec
    frame = prepare(quality, "data_quality_panel", _COLUMNS).select(_COLUMNS)
    problems = frame.filter(pl.col("rule").is_not_null() & (pl.col("count") > 0))
    read = frame.group_by("table", maintain_order=True).agg(pl.col("rows_read").first())
    total_read = int(read.get_column("rows_read").sum())
    quarantined = int(problems.get_column("count").sum())
    subtitle = [f"{quarantined:,} of {total_read:,} rows quarantined in {read.height} tables"]
    if problems.height == 0:
        message = pl.DataFrame(
            {"message": [f"{ALL_CLEAN}: {total_read:,} rows read, none quarantined"]}
        )
        text = (
            alt.Chart(message)
            .mark_text(fontSize=16, color=GOOD, align="left")
            .encode(text="message:N", x=alt.value(0), y=alt.value(20))
        )
        return alt.layer(text).properties(
            title=heading("Data quality", subtitle), width=420, height=40
        )
    problems = problems.with_columns(
        (pl.col("rule") + " (" + pl.col("column") + ")").alias("problem")
    )
    clean = read.join(problems.select("table").unique(), on="table", how="anti").with_columns(
        pl.lit("clean").alias("note")
    )
    tables = read.get_column("table").to_list()
    problems, order = in_order(problems, "table", tables)
    clean, _ = in_order(clean, "table", tables)
    y = alt.Y("table:N", sort=order, title=None)
    bars = (
        alt.Chart(problems)
        .mark_bar()
        .encode(
            y=y,
            x=alt.X("count:Q", title="rows quarantined", axis=alt.Axis(format=COUNT_FORMAT)),
            color=alt.Color("problem:N", title="rule (column)"),
            tooltip=[
                alt.Tooltip("table:N"),
                alt.Tooltip("rule:N"),
                alt.Tooltip("column:N"),
                alt.Tooltip("count:Q", title="rows quarantined", format=COUNT_FORMAT),
                alt.Tooltip("rows_read:Q", title="rows read", format=COUNT_FORMAT),
            ],
        )
    )
    layers = [bars]
    if clean.height:
        notes = (
            alt.Chart(clean)
            .mark_text(align="left", color=GOOD, dx=4)
            .encode(y=y, x=alt.value(0), text="note:N")
        )
        layers.append(notes)
    return alt.layer(*layers).properties(
        title=heading("Data quality", subtitle), width=420, height=alt.Step(28)
    )

"""Event-level filters ``{column: [values]}``: the one function that applies them.

A filter keeps the rows whose value in the column, read as text, is one of the values. The
KPIs, funnels, retention, the optimisation engine, the report and the dashboard all filter
through :func:`apply_filters`, so a filter means the same everywhere and a column that is not
there is refused with the same words.

Examples
--------
>>> import polars as pl
>>> events = pl.LazyFrame({"channel": ["ads", "seo", None], "n": [1, 2, 3]})
>>> apply_filters(events, {"channel": ["ads"]}).collect()["n"].to_list()
[1]
>>> apply_filters(events, {"platform": ["ios"]})
Traceback (most recent call last):
...
journeylib.errors.DataError: filter column 'platform' is not in the events; available: channel, n
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import polars as pl

from journeylib.errors import DataError

__all__ = ["apply_filters", "check_filter_columns", "filter_expr"]


def filter_expr(column: str, values: Sequence[str]) -> pl.Expr:
    """True where ``column``, read as text, is one of ``values``."""
    return pl.col(column).cast(pl.String).is_in(list(values))


def check_filter_columns(columns: Iterable[str], filters: Mapping[str, Sequence[str]]) -> None:
    """Raise :class:`DataError` naming the first filter column the events do not have."""
    available = list(columns)
    for column in filters:
        if column not in available:
            raise DataError(
                f"filter column {column!r} is not in the events; available: {', '.join(available)}"
            )


def apply_filters(events: pl.LazyFrame, filters: Mapping[str, Sequence[str]]) -> pl.LazyFrame:
    """The events that pass every filter (each filter column must be in the events)."""
    if not filters:
        return events
    check_filter_columns(events.collect_schema().names(), filters)
    return events.filter(*(filter_expr(column, values) for column, values in filters.items()))

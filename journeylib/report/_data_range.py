"""Before a kernel starts: does the report period hold any event? Read from timestamps only.

``journey report run`` refuses an empty period before it starts a kernel. Loading the journey
(every column read and validated) would double the run's loading time, so this reads only the
events source's timestamp column (and the columns of the report's filters), converted by the
same plan validation uses: the data's first and last valid timestamps, and how many events lie
in the period. Rows that other rules quarantine are still counted here, so a period can pass
this check and still be found empty by :class:`journeylib.report.ReportContext` in the kernel,
which raises :class:`EmptyPeriodError` on the validated events; the runner refuses that run
the same way (exit 2, nothing published). Database sources are read whole by their reader, so
they are only checked in the kernel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from journeylib.config import JourneyConfig
from journeylib.data.filters import filter_expr
from journeylib.errors import DataError
from journeylib.report.period import ReportPeriod

__all__ = ["EmptyPeriodError", "EventSpan", "empty_period_message", "event_span"]

_FILE_KINDS = ("csv", "parquet")


class EmptyPeriodError(DataError):
    """The report period holds no event (with the report's filters): nothing to report."""


@dataclass(frozen=True)
class EventSpan:
    """The events' first and last valid timestamps (UTC) and a counter of events in a range."""

    first: datetime
    last: datetime
    frame: pl.LazyFrame

    def count(self, start: datetime, end: datetime) -> int:
        """Events with a valid timestamp in ``[start, end)`` (and the filters)."""
        inside = (pl.col("timestamp") >= start) & (pl.col("timestamp") < end)
        return int(self.frame.filter(inside).select(pl.len()).collect().item())


def event_dimensions(config: JourneyConfig) -> list[str] | None:
    """The dimension columns of the events source (its columns beyond the canonical ones),
    from its schema alone; None for database sources.

    Raises
    ------
    SourceError, SchemaError
        When the source cannot be read or does not fit the events table (as validation does).
    """
    from journeylib.data import scan_source
    from journeylib.validate.table import _plan

    source = config.sources.events
    if source.kind not in _FILE_KINDS:
        return None
    raw = scan_source("events", source)
    _, dimensions = _plan("events", raw.collect_schema(), source, config, None)
    return list(dimensions)


def event_span(config: JourneyConfig, filters: Mapping[str, list[str]]) -> EventSpan | None:
    """Timestamps of the events source, filtered; None for database sources.

    Raises
    ------
    SourceError, SchemaError
        When the source cannot be read or does not fit the events table (as validation does).
    DataError
        When a filter names a column the events do not have, or no timestamp is valid.
    """
    from journeylib.data import scan_source
    from journeylib.validate import value_name
    from journeylib.validate.table import _plan

    source = config.sources.events
    if source.kind not in _FILE_KINDS:
        return None
    raw = scan_source("events", source)
    plans, dimensions = _plan("events", raw.collect_schema(), source, config, None)
    available = [*plans, *dimensions]
    unknown = [column for column in filters if column not in available]
    if unknown:
        raise DataError(
            f"filter column {unknown[0]!r} is not in the events; available: {', '.join(available)}"
        )
    used = {"timestamp": plans["timestamp"]}
    used |= {column: plans[column] for column in filters if column in plans}
    staged = raw
    for level in range(max(len(plan.stages) for plan in used.values())):
        stage = {
            name: expr
            for plan in used.values()
            if level < len(plan.stages)
            for name, expr in plan.stages[level].items()
        }
        if stage:
            staged = staged.with_columns(**stage)
    staged = staged.with_columns(
        plan.value.cast(plan.column.dtype).alias(value_name(column))
        for column, plan in used.items()
    )
    valid = staged.filter(
        pl.all_horizontal(
            pl.lit(True), *(~check.flag.fill_null(False) for check in used["timestamp"].checks)
        )
    )
    frame = valid.select(
        pl.col(value_name("timestamp")).alias("timestamp"),
        *(
            pl.col(value_name(column)).alias(f"__jl_filter_{column}")
            for column in used
            if column != "timestamp"
        ),
        *(column for column in filters if column in dimensions),
    )
    for column, wanted in filters.items():
        name = f"__jl_filter_{column}" if column in used else column
        frame = frame.filter(filter_expr(name, wanted))
    bounds = valid.select(
        pl.col(value_name("timestamp")).min().alias("first"),
        pl.col(value_name("timestamp")).max().alias("last"),
    ).collect()
    first, last = bounds.row(0)
    if first is None:
        raise DataError(f"events source {source.location}: no event has a valid timestamp")
    return EventSpan(first=first, last=last, frame=frame)


def empty_period_message(
    period: ReportPeriod,
    first: datetime,
    last: datetime,
    filters: Mapping[str, list[str]] | None = None,
) -> str:
    """``empty period: week 2026-W45 (...) has no events; the data covers ...``."""
    shown = ", ".join(f"{column} in {values}" for column, values in (filters or {}).items())
    with_filters = f" with the filters {shown}" if shown else ""
    text = (
        f"empty period: {period.description} ({period.start} to {period.end}) has no "
        f"events{with_filters}; the data covers {first:%Y-%m-%d} to {last:%Y-%m-%d} (UTC)"
    )
    if period.start > last.date():
        text += "; for historical or sample data, set as_of to data_end"
    return text

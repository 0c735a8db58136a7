"""The funnel per unit: which step each unit reached, when, and its values on the entry event.

:func:`journeylib.funnel.compute_funnel` aggregates units into steps; the optimisation engine
(friction, incidents, next events, correlation) needs the units themselves. :func:`funnel_units`
runs the same matchers on the same events (compiled loops for first-attempt funnels with
disjoint steps, one join per step otherwise) and returns one row per unit. Counting its rows
per step gives exactly ``compute_funnel``'s ``users`` and ``in_progress`` (a test holds the two
together).

The values of columns on the entry event (the unit's own id, dimensions) are read afterwards,
for the entry events only: the matchers run on the unit, time and name of the funnel's events
alone, and a second read of the events keeps the rows at the units' entry times (a filter
that the Parquet reader applies before it decodes the other columns) and matches them to the
units by unit and time. On 10M events with five text dimensions, carrying the values through
the matcher (read, filtered and hashed for each of the 8.2M funnel events) cost as much as the
funnel itself; reading them for the 0.5M entries costs well under that. The match is by value,
not by row number, so it holds for events that do not come in the same order twice (a join's
output, say).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import polars as pl

from journeylib.errors import DataError
from journeylib.funnel._dense import breakdown_order, dense_applies
from journeylib.funnel._match import UNIT
from journeylib.funnel._shared import DEFAULTS, check_arguments, match_funnel

__all__ = ["UNIT_KEY", "FunnelUnits", "funnel_units", "step_time"]

#: The column of the unit's 64-bit key (the hash the matchers join on: ``hash(seed=0)``).
UNIT_KEY = "unit_key"


def step_time(step: int) -> str:
    """The column holding the time a unit reached ``step`` (1-based): ``t_<step>``."""
    return f"t_{step}"


@dataclass(frozen=True)
class FunnelUnits:
    """One row per unit of a funnel, with the funnel's parameters.

    ``units`` columns: ``unit_key`` (UInt64, the unit's hash), the unit column itself (its
    values, when asked for), ``reached`` (the furthest step, 1-based), ``t_1..t_K`` (UTC time of
    each step reached, null past ``reached``), ``entry_time`` (the first entry event),
    ``latest_entry`` (the latest attempt's entry; the first with ``attempt="first"``),
    ``in_progress`` (did not reach the last step and its window was still open at
    ``data_end``), and one column per dimension (its value on the entry event).
    """

    units: pl.DataFrame
    steps: tuple[tuple[str, ...], ...]
    step_names: tuple[str, ...]
    start: datetime
    end: datetime
    window: timedelta
    unit: str
    attempt: Literal["first", "best"]
    strict: bool
    exclude: tuple[str, ...]
    dimensions: tuple[str, ...]
    timezone: str
    data_end: datetime | None

    @property
    def step_count(self) -> int:
        """How many steps the funnel has."""
        return len(self.steps)

    def step_counts(self) -> pl.DataFrame:
        """``step``, ``users`` (units reaching it) and ``in_progress`` (stopped there, open)."""
        return pl.DataFrame(
            {
                "step": list(range(1, self.step_count + 1)),
                "users": [
                    int((self.units["reached"] >= step).sum())
                    for step in range(1, self.step_count + 1)
                ],
                "in_progress": [
                    int((self.units["in_progress"] & (self.units["reached"] == step)).sum())
                    for step in range(1, self.step_count + 1)
                ],
            },
            schema={"step": pl.Int32, "users": pl.Int64, "in_progress": pl.Int64},
        )


_TIME, _EVENT, _UNIT_ROW, _READ_ROW = "_entry_us", "_entry_event", "_unit_row", "_read_row"


def _with_entry_values(
    units: pl.DataFrame,
    events: pl.LazyFrame,
    carried: Sequence[str],
    unit: str,
    entry_names: Sequence[str],
    schema: pl.Schema,
) -> pl.DataFrame:
    """``units`` with the ``carried`` columns of each unit's entry event (see the module doc).

    A unit's entry event is its step-1 event at its ``entry_time`` (to the microsecond, as the
    matchers' order keys hold it) with the smallest name, as the matchers order equal times;
    of several such events, the smallest combination of values wins (nulls last), as for a
    breakdown (:func:`journeylib.funnel._dense.breakdown_order`).
    """
    if not carried:
        return units
    if units.height == 0:
        return units.with_columns(pl.lit(None, schema[c]).alias(c) for c in carried)
    entry_us = pl.col("timestamp").dt.epoch("us")
    entries = units.select(UNIT, pl.col("entry_time").dt.epoch("us").alias(_TIME))
    read = (
        events.filter(
            entry_us.is_in(entries.get_column(_TIME).unique().implode()),
            pl.col("event").is_in(list(entry_names)),
            pl.col(unit).is_not_null(),
        )
        .select(
            pl.col(unit).hash(seed=0).alias(UNIT),
            entry_us.alias(_TIME),
            pl.col("event").cast(pl.String).alias(_EVENT),
            *carried,
        )
        .collect()
        .rechunk()
    )
    # the join holds row numbers only: the values are gathered once, in the units' order
    pairs = entries.with_row_index(_UNIT_ROW).join(
        read.select(UNIT, _TIME).with_row_index(_READ_ROW), on=[UNIT, _TIME]
    )
    if pairs.height != units.height or pairs.get_column(_UNIT_ROW).n_unique() != pairs.height:
        pairs = _first_entry(pairs, read, carried, schema)
    if pairs.height != units.height:
        missing = units.height - pairs.height
        raise DataError(
            f"the entry events of {missing} of {units.height} units were not found when the "
            "events were read again: the events changed between two reads"
        )
    chosen = pairs.sort(_UNIT_ROW).get_column(_READ_ROW)
    return units.hstack(read.select(carried)[chosen])


def _first_entry(
    pairs: pl.DataFrame, read: pl.DataFrame, carried: Sequence[str], schema: pl.Schema
) -> pl.DataFrame:
    """One of ``pairs`` per unit row: of several events at a unit's entry time, the first
    name's, then the smallest combination of values."""
    order = (
        breakdown_order(pl.struct(carried), pl.Struct({c: schema[c] for c in carried}))
        if len(carried) > 1
        else pl.col(carried[0])
    )
    several = pairs.filter(pl.col(_UNIT_ROW).is_duplicated())
    candidates = several.hstack(read.select(_EVENT, *carried)[several.get_column(_READ_ROW)])
    chosen = (
        candidates.sort(pl.col(_EVENT), order, nulls_last=True, maintain_order=True)
        .unique(_UNIT_ROW, keep="first", maintain_order=True)
        .select(pairs.columns)
    )
    return pl.concat([pairs.filter(~pl.col(_UNIT_ROW).is_duplicated()), chosen])


def funnel_units(
    events: pl.LazyFrame,
    *,
    steps: Sequence[Sequence[str]],
    step_names: Sequence[str] | None = None,
    start: datetime,
    end: datetime,
    window: timedelta = DEFAULTS["window"],
    unit: str = DEFAULTS["unit"],
    attempt: Literal["first", "best"] = DEFAULTS["attempt"],
    strict: bool = DEFAULTS["strict"],
    exclude: Sequence[str] = (),
    dimensions: Sequence[str] = (),
    unit_values: bool = True,
    data_end: datetime | None = None,
    timezone: str = "UTC",
) -> FunnelUnits:
    """Match units through the funnel and return one row per unit (see :class:`FunnelUnits`).

    The arguments and the counting rules are those of :func:`journeylib.funnel.compute_funnel`
    (entry, window, order, attempts, strict mode, exclusions, in progress). ``dimensions`` are
    columns whose value on each unit's entry event is kept (as ``compute_funnel``'s
    ``breakdown``; with several columns, identical entry rows that differ in their values
    resolve to the smallest combination). ``unit_values`` keeps the unit's own value too (a
    column named like ``unit``); without it the units are known by ``unit_key`` only, which
    saves hashing their values. ``timezone`` is recorded for callers that group by period.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> events = pl.LazyFrame(
    ...     {
    ...         "user_id": ["a", "a", "b"],
    ...         "timestamp": [datetime(2026, 1, 1, h, tzinfo=timezone.utc) for h in (1, 2, 3)],
    ...         "event": ["view", "buy", "view"],
    ...         "platform": ["ios", "ios", "web"],
    ...     }
    ... )
    >>> result = funnel_units(
    ...     events,
    ...     steps=[["view"], ["buy"]],
    ...     start=datetime(2026, 1, 1, tzinfo=timezone.utc),
    ...     end=datetime(2026, 1, 2, tzinfo=timezone.utc),
    ...     dimensions=["platform"],
    ... )
    >>> result.units.sort("user_id").select("user_id", "reached", "platform").rows()
    [('a', 2, 'ios'), ('b', 1, 'web')]
    """
    steps = [list(step) for step in steps]
    names = list(step_names) if step_names is not None else [" | ".join(s) for s in steps]
    schema = events.collect_schema()
    dimensions = [d for d in dict.fromkeys(dimensions) if d != unit]
    needed = [("unit", unit), *(("dimension", d) for d in dimensions)]
    check_arguments(schema.names(), steps, names, start, end, window, attempt, exclude, needed)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    carried = [*([unit] if unit_values else []), *dimensions]
    dense = dense_applies(steps, best=attempt == "best", strict=strict, exclude=exclude)
    span, options = (start, end, window), (unit, attempt, strict, exclude)
    units, observed_end = match_funnel(events, steps, span, options, None, dense, data_end)
    units = _with_entry_values(units, events, carried, unit, steps[0], schema)
    units = units.rename({UNIT: UNIT_KEY})
    times = [step_time(step) for step in range(1, len(steps) + 1)]
    units = units.select(
        UNIT_KEY,
        *([unit] if unit_values else []),
        "reached",
        *times,
        "entry_time",
        "latest_entry",
        "in_progress",
        *dimensions,
    )
    return FunnelUnits(
        units=units,
        steps=tuple(tuple(step) for step in steps),
        step_names=tuple(names),
        start=start,
        end=end,
        window=window,
        unit=unit,
        attempt=attempt,
        strict=strict,
        exclude=tuple(exclude),
        dimensions=tuple(dimensions),
        timezone=timezone,
        data_end=observed_end,
    )

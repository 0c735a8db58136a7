"""The funnel per unit: which step each unit reached, when, and its values on the entry event.

:func:`journeylib.funnel.compute_funnel` aggregates units into steps; the optimisation engine
(friction, incidents, next events, correlation) needs the units themselves. :func:`funnel_units`
runs the same matchers on the same events (compiled loops for first-attempt funnels with
disjoint steps, one join per step otherwise) and returns one row per unit. Counting its rows
per step gives exactly ``compute_funnel``'s ``users`` and ``in_progress`` (a test holds the two
together).

The values of several columns on the entry event (the unit's own id, dimensions) travel through
the matchers as one breakdown value, so that the events are read once: a single column as it
is; several, in the compiled loops, as one struct (hashed once per event, its values held once
per distinct combination: no text is built per event); in the join-based matchers, joined into
one string (separated by the unit separator, U+001F, which the values must not hold) and split
again afterwards. Both order the combinations alike when entry rows tie (see
:func:`journeylib.funnel._dense.breakdown_order`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import polars as pl

from journeylib.funnel._dense import NULL_TEXT, SEPARATOR, dense_applies
from journeylib.funnel._match import SEGMENT, UNIT
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


def _encoded(carried: Sequence[str], *, dense: bool) -> pl.Expr:
    """One value standing for the ``carried`` columns of an event (see the module doc)."""
    if len(carried) == 1:
        return pl.col(carried[0]).alias(SEGMENT)
    if dense:
        return pl.struct(carried).alias(SEGMENT)
    parts = [pl.col(c).cast(pl.String).fill_null(NULL_TEXT) for c in carried]
    return pl.concat_str(parts, separator=SEPARATOR).alias(SEGMENT)


def _decoded(units: pl.DataFrame, carried: Sequence[str], schema: pl.Schema) -> pl.DataFrame:
    if not carried:
        return units
    if len(carried) == 1:
        return units.rename({SEGMENT: carried[0]})
    if isinstance(units.schema[SEGMENT], pl.Struct):
        return units.unnest(SEGMENT)
    parts = pl.col(SEGMENT).str.split(SEPARATOR)
    return units.with_columns(
        pl.when(parts.list.get(index) != NULL_TEXT)
        .then(parts.list.get(index))
        .cast(schema[column], strict=False)
        .alias(column)
        for index, column in enumerate(carried)
    ).drop(SEGMENT)


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
    segment = _encoded(carried, dense=dense) if carried else None
    span, options = (start, end, window), (unit, attempt, strict, exclude)
    units, observed_end = match_funnel(events, steps, span, options, segment, dense, data_end)
    units = units.rename({UNIT: UNIT_KEY})
    units = _decoded(units, carried, schema)
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

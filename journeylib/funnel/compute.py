"""Funnels (docs/kpis.md#funnels): ordered steps, an entry period and a window.

A funnel is an analysis, not a KPI expression: :func:`compute_funnel` collects internally, in
stages: the funnel's events once, then either compiled loops over one hash table of the units
per partition (:mod:`journeylib.funnel._dense`, for first-attempt funnels with disjoint steps,
not strict and without exclusions) or one join per step on the shrinking set of attempts still
in the funnel (:mod:`journeylib.funnel._match`, every option). Both measured several times
faster than one lazy plan with repeated sub-plans.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import polars as pl

from journeylib.funnel._dense import dense_applies
from journeylib.funnel._match import SEGMENT
from journeylib.funnel._shared import DEFAULTS, check_arguments, match_funnel
from journeylib.funnel._summary import PERIOD, summarise_steps
from journeylib.periods import Grain, period_start_expr, period_starts

__all__ = ["FunnelResult", "compute_funnel"]

_UTC = UTC


@dataclass(frozen=True)
class FunnelResult:
    """A computed funnel: the tidy per-step table, the in-progress total and the parameters.

    ``steps`` has one row per [breakdown value x] [entry period x] step; see
    :func:`compute_funnel` for its columns.
    """

    steps: pl.DataFrame
    in_progress: int
    step_names: tuple[str, ...]
    start: datetime
    end: datetime
    window: timedelta
    unit: str
    attempt: Literal["first", "best"]
    strict: bool
    exclude: tuple[str, ...]
    breakdown: str | None
    trend_grain: Grain | None
    timezone: str
    data_end: datetime | None


def _period_grid(start: datetime, end: datetime, grain: Grain, timezone: str) -> pl.DataFrame:
    zone = ZoneInfo(timezone)
    first_day = start.astimezone(zone).date()
    last_day = (end - timedelta(microseconds=1)).astimezone(zone).date()
    starts = period_starts(first_day, last_day + timedelta(days=1), grain)
    return pl.DataFrame({PERIOD: starts}, schema={PERIOD: pl.Date})


def compute_funnel(
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
    breakdown: str | None = None,
    trend_grain: Grain | None = None,
    timezone: str = "UTC",
    data_end: datetime | None = None,
) -> FunnelResult:
    """Count units through ordered steps, as docs/kpis.md#funnels defines it.

    Rules (a unit is a distinct value of ``unit``; rows with a null unit are not units):

    - **Entry**: the unit's first step-1 event with a timestamp in ``[start, end)``. Later steps
      may lie after ``end``, up to ``entry + window`` inclusive.
    - **Order**: step k+1 is the earliest event of its names at or after the step-k event
      (equal timestamps count) that no earlier step used: one row never fills two steps, but a
      second row with the same timestamp can. Among rows with the same timestamp, the one with
      the smallest event name is taken. Units reaching step k count at every step before it.
    - ``attempt="best"``: every step-1 event in the period starts an attempt; the unit counts
      up to the furthest step any attempt reached (ties: the earliest attempt, whose step times
      are reported).
    - ``strict=True``: step k+1 only counts when no other event of the unit (any event name,
      not only the funnel's) has a timestamp strictly between the step-k and step-k+1 events.
      Events at either step's exact timestamp never break the sequence (their order is
      unknown). A unit whose earliest next-step event is preceded by another event stops.
    - ``exclude``: an attempt with an exclusion event at or after its entry and at or before
      its last step's time (or ``entry + window`` when it did not finish) is dropped; a unit
      with no attempt left is removed from all counts.
    - ``breakdown``: each unit takes the column's value on its entry event (its first step-1
      event in the period, also with ``attempt="best"``).
    - ``trend_grain``: units are grouped by the period (in ``timezone``) of that entry event;
      every period overlapping ``[start, end)`` is listed, with 0 users when empty.
    - **In progress**: a unit that did not reach the last step and whose latest entry plus
      ``window`` is after ``data_end`` (default: the last timestamp of ``events``) can still
      convert. It counts in ``in_progress`` on the row of the step it reached, and is not
      counted as lost: ``drop_off(k) = users(k-1) - users(k) - in_progress(k-1)``.

    Columns of ``FunnelResult.steps``: [breakdown column] [``period``] ``step`` (1-based),
    ``step_name``, ``users``, ``conversion_from_first`` with ``ci_low``/``ci_high`` (95%
    Wilson), ``conversion_from_previous`` with ``prev_ci_low``/``prev_ci_high`` (step 1 is
    compared with itself), ``drop_off`` (null at step 1), ``in_progress``,
    ``median_seconds_from_previous`` and ``p90_seconds_from_previous`` (linear interpolation,
    null at step 1). A zero denominator gives null conversions, never 0.

    The computation collects internally (the caller's frame stays lazy). Funnels with
    ``attempt="first"``, not strict, without exclusions and with no event name in two steps
    (the common case) are matched by compiled loops: the first such call after installing
    journeylib compiles them (a few seconds, then cached on disk), and their events are held
    at 16 bytes each. Every other funnel runs as one Polars join per step.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> events = pl.LazyFrame(
    ...     {
    ...         "user_id": ["a", "a", "b"],
    ...         "timestamp": [datetime(2026, 1, 1, h, tzinfo=timezone.utc) for h in (1, 2, 3)],
    ...         "event": ["view", "buy", "view"],
    ...     }
    ... )
    >>> result = compute_funnel(
    ...     events,
    ...     steps=[["view"], ["buy"]],
    ...     start=datetime(2026, 1, 1, tzinfo=timezone.utc),
    ...     end=datetime(2026, 1, 2, tzinfo=timezone.utc),
    ... )
    >>> result.steps["users"].to_list()
    [2, 1]
    """
    steps = [list(step) for step in steps]
    names = list(step_names) if step_names is not None else [" | ".join(s) for s in steps]
    columns = events.collect_schema().names()
    needed = [("unit", unit), *([("breakdown", breakdown)] if breakdown else [])]
    check_arguments(columns, steps, names, start, end, window, attempt, exclude, needed)
    start, end = start.astimezone(_UTC), end.astimezone(_UTC)
    segment = pl.col(breakdown).alias(SEGMENT) if breakdown is not None else None
    dense = dense_applies(steps, best=attempt == "best", strict=strict, exclude=exclude)
    span, options = (start, end, window), (unit, attempt, strict, exclude)
    units, observed_end = match_funnel(events, steps, span, options, segment, dense, data_end)
    groups: list[str] = []
    grid: pl.DataFrame | None = None
    if breakdown is not None:
        groups.append(SEGMENT)
        grid = units.select(pl.col(SEGMENT).unique())
    if trend_grain is not None:
        units = units.with_columns(
            period_start_expr("entry_time", trend_grain, timezone).alias(PERIOD)
        )
        groups.append(PERIOD)
        periods = _period_grid(start, end, trend_grain, timezone)
        grid = periods if grid is None else grid.join(periods, how="cross")
    table = summarise_steps(units, step_names=names, groups=groups, grid=grid)
    if breakdown is not None:
        table = table.rename({SEGMENT: breakdown})
    return FunnelResult(
        steps=table,
        in_progress=int(units["in_progress"].sum()),
        step_names=tuple(names),
        start=start,
        end=end,
        window=window,
        unit=unit,
        attempt=attempt,
        strict=strict,
        exclude=tuple(exclude),
        breakdown=breakdown,
        trend_grain=trend_grain,
        timezone=timezone,
        data_end=observed_end,
    )

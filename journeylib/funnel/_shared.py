"""What :func:`journeylib.funnel.compute_funnel` and :func:`journeylib.funnel.funnel_units`
share: the counting options' defaults (the config model's), the checks of their arguments and
the matching of units through the steps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import polars as pl

from journeylib.config import FunnelConfig
from journeylib.errors import SchemaError
from journeylib.funnel._dense import match_first_attempts
from journeylib.funnel._match import UNIT, add_order_key, match_units

__all__ = ["DEFAULTS", "check_arguments", "match_funnel"]

#: window, unit, attempt, strict and exclude of a funnel that sets none.
DEFAULTS = FunnelConfig.defaults()


def check_arguments(
    columns: Sequence[str],
    steps: Sequence[Sequence[str]],
    step_names: Sequence[str],
    start: datetime,
    end: datetime,
    window: timedelta,
    attempt: str,
    exclude: Sequence[str],
    needed: Sequence[tuple[str, str]],
) -> None:
    """Raise ``ValueError`` for arguments no funnel can have, and :class:`SchemaError` when a
    ``needed`` column, given as ``(what, name)`` (``("unit", "user_id")``), is missing."""
    if not steps or any(isinstance(s, str) or not s for s in steps):
        raise ValueError(f"steps must be a non-empty list of event-name lists, got {steps!r}")
    if len(step_names) != len(steps):
        raise ValueError(f"got {len(steps)} steps but {len(step_names)} step_names")
    for label, value in (("start", start), ("end", end)):
        if value.tzinfo is None:
            raise ValueError(f"{label} must be an aware datetime (UTC), got naive {value}")
    if start >= end:
        raise ValueError(f"the period [start, end) is empty: start {start} >= end {end}")
    if window < timedelta(0):
        raise ValueError(f"window must not be negative, got {window}")
    if attempt not in ("first", "best"):
        raise ValueError(f"attempt must be 'first' or 'best', got {attempt!r}")
    overlap = sorted(set(exclude) & {name for step in steps for name in step})
    if overlap:
        raise ValueError(f"exclusion events must not fill a step: {', '.join(overlap)}")
    missing = [f"{what} column '{name}'" for what, name in needed if name not in columns]
    if missing:
        problems = [f"the funnel needs the {m}, which is missing" for m in missing]
        raise SchemaError(
            "events", "frame", [*problems, f"columns found: {', '.join(sorted(columns))}"]
        )


def match_funnel(
    events: pl.LazyFrame,
    steps: Sequence[Sequence[str]],
    bounds: tuple[datetime, datetime, timedelta],
    options: tuple[str, str, bool, Sequence[str]],
    segment: pl.Expr | None,
    dense: bool,
    data_end: datetime | None,
) -> tuple[pl.DataFrame, datetime | None]:
    """The units matched through ``steps`` (see :func:`journeylib.funnel.compute_funnel` for
    the rules), with ``in_progress``, and the data end it was judged against.

    ``bounds`` is ``(start, end, window)``, ``options`` ``(unit, attempt, strict, exclude)``.

    ``segment`` is the value each unit carries from its entry event (a breakdown, or the
    encoded columns of :func:`journeylib.funnel.funnel_units`); ``dense`` picks the compiled
    loops (:func:`journeylib.funnel._dense.dense_applies`) over one join per step.
    """
    start, end, window = bounds
    unit, attempt, strict, exclude = options
    # units are joined on a 64-bit hash of their value: several times faster than strings
    selected = [pl.col(unit).hash(seed=0).alias(UNIT), pl.col("timestamp"), pl.col("event")]
    if segment is not None:
        selected.append(segment)
    funnel_names = sorted({name for step in steps for name in step} | set(exclude))
    in_range = [
        pl.col("timestamp") >= start,
        pl.col("timestamp") <= end + window,
        pl.col(unit).is_not_null(),
    ]
    if not strict:
        in_range.append(pl.col("event").is_in(funnel_names))
    funnel_events = events.filter(*in_range).select(selected)
    also = [events.select(pl.col("timestamp").max())] if data_end is None else []
    matching = {
        "steps": [list(step) for step in steps],
        "funnel_names": funnel_names,
        "start": start,
        "end": end,
        "window": window,
        "also": also,
    }
    if dense:
        units, collected = match_first_attempts(funnel_events, **matching)
    else:
        keyed = add_order_key(funnel_events, funnel_names, only_funnel_names=not strict)
        units, collected = match_units(
            keyed, best=attempt == "best", strict=strict, exclude=list(exclude), **matching
        )
    observed_end = data_end.astimezone(UTC) if data_end else collected[-1].item()
    still_open = (
        pl.col("latest_entry") + window > observed_end if observed_end is not None else False
    )
    units = units.with_columns(in_progress=(pl.col("reached") < len(steps)) & still_open)
    return units, observed_end

"""What :func:`journeylib.funnel.compute_funnel` and :func:`journeylib.funnel.funnel_units`
share before matching: the counting options' defaults (the config model's) and the checks of
their arguments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from journeylib.config import FunnelConfig
from journeylib.errors import SchemaError

__all__ = ["DEFAULTS", "check_arguments"]

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

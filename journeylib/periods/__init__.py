"""Periods: grains, period starts and stepping, local time zones, durations.

The one place for grain arithmetic; every analysis steps periods through these functions.
"""

from __future__ import annotations

from journeylib.periods.calendar import (
    GRAIN_EVERY,
    GRAINS,
    MAX_SPAN_DAYS,
    Grain,
    Span,
    align,
    local_bound,
    next_period_start,
    period_end_expr,
    period_start_expr,
    period_starts,
    periods_before,
    previous_period,
    truncate_to_grain,
)
from journeylib.periods.durations import MAX_WINDOW, format_duration, parse_duration, parse_window
from journeylib.periods.expressions import (
    data_end_expr,
    local_wall_clock,
    period_after,
    period_index,
)
from journeylib.periods.zone import local_period_start

__all__ = [
    "GRAINS",
    "GRAIN_EVERY",
    "MAX_SPAN_DAYS",
    "MAX_WINDOW",
    "Grain",
    "Span",
    "align",
    "data_end_expr",
    "format_duration",
    "local_bound",
    "local_period_start",
    "local_wall_clock",
    "next_period_start",
    "parse_duration",
    "parse_window",
    "period_after",
    "period_end_expr",
    "period_index",
    "period_start_expr",
    "period_starts",
    "periods_before",
    "previous_period",
    "truncate_to_grain",
]

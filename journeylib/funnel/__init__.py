"""Funnels (docs/kpis.md#funnels): matching each unit's steps, drop-off and times."""

from __future__ import annotations

from journeylib.funnel.compute import FunnelResult, compute_funnel
from journeylib.funnel.units import UNIT_KEY, FunnelUnits, funnel_units, step_time

__all__ = [
    "UNIT_KEY",
    "FunnelResult",
    "FunnelUnits",
    "compute_funnel",
    "funnel_units",
    "step_time",
]

"""The optimisation engine: friction, incidents, loops and experiments (docs/kpis.md#experiments,
docs/kpis.md#friction-incidents-and-loops).

Pure functions on the validated tables (or on the per-unit funnel frame of
:func:`journeylib.funnel.units.funnel_units`) returning tidy Polars frames in frozen result
records, with the plain-English sentences the report, the alerts and the CLI show.

Examples
--------
>>> from journeylib.optimise import detect_incidents, friction
>>> units = funnel_units(journey.tables["events"], steps=..., start=..., end=...)
... # doctest: +SKIP
>>> detect_incidents(units, grain="week").incidents["sentence"]  # doctest: +SKIP
"""

from __future__ import annotations

from journeylib.funnel import FunnelUnits, funnel_units
from journeylib.optimise._units import default_dimensions
from journeylib.optimise.correlation import correlation
from journeylib.optimise.experiments import (
    ExperimentReadout,
    ExperimentResult,
    SrmCheck,
    read_experiment,
)
from journeylib.optimise.friction import FrictionResult, friction
from journeylib.optimise.incidents import (
    ALL,
    DAILY_UP_TO_DAYS,
    LOOK_BACK_DAYS,
    IncidentsResult,
    detect_incidents,
    incident_key,
    merge_incidents,
)
from journeylib.optimise.kpi_incidents import (
    DEFAULT_KPIS,
    detect_kpi_incidents,
    kpi_incident_key,
    kpi_rate_series,
)
from journeylib.optimise.loops import LoopsResult, detect_loops
from journeylib.optimise.next_events import LEFT, next_events
from journeylib.optimise.sentences import incident_sentence, kpi_incident_sentence, loop_sentence

__all__ = [
    "ALL",
    "DAILY_UP_TO_DAYS",
    "DEFAULT_KPIS",
    "LEFT",
    "LOOK_BACK_DAYS",
    "ExperimentReadout",
    "ExperimentResult",
    "FrictionResult",
    "FunnelUnits",
    "IncidentsResult",
    "LoopsResult",
    "SrmCheck",
    "correlation",
    "default_dimensions",
    "detect_incidents",
    "detect_kpi_incidents",
    "detect_loops",
    "friction",
    "funnel_units",
    "incident_key",
    "incident_sentence",
    "kpi_incident_key",
    "kpi_incident_sentence",
    "kpi_rate_series",
    "loop_sentence",
    "merge_incidents",
    "next_events",
    "read_experiment",
]

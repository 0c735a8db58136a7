"""The optimisation engine: friction, incidents, loops and experiments (KPI_DEFINITIONS.md
sections 6 and 7).

Pure functions on the validated tables (or on the per-unit funnel frame of
:func:`journeylib._funnel_units.funnel_units`) returning tidy Polars frames in frozen result
records, with the plain-English sentences the report, the alerts and the CLI show.
"""

from __future__ import annotations

from journeylib.optimise.incidents import ALL, IncidentsResult, detect_incidents, incident_key

__all__ = ["ALL", "IncidentsResult", "detect_incidents", "incident_key"]

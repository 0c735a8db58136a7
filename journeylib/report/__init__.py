"""Reports: the report notebook's sections, Papermill runs, offline HTML, email, schedule."""

from __future__ import annotations

from journeylib.report.context import ReportContext
from journeylib.report.period import ReportPeriod, resolve_period

__all__ = ["ReportContext", "ReportPeriod", "resolve_period"]

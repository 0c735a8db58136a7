"""Reports: the report notebook's sections, Papermill runs, offline HTML, email, schedule.

``ReportContext`` (and with it Altair and the chart builders) loads on first use, so commands
that only check or schedule a report start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from journeylib.report.period import ReportPeriod, resolve_period

if TYPE_CHECKING:
    from journeylib.report.context import ReportContext

__all__ = ["ReportContext", "ReportPeriod", "resolve_period"]


def __getattr__(name: str) -> Any:
    if name == "ReportContext":
        from journeylib.report.context import ReportContext

        return ReportContext
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

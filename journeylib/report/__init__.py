"""Reports: the report notebook's sections, Papermill runs, offline HTML, email, schedule.

The names below load on first use, so that ``journey schedule`` and the email modules do not
import Altair and the report context just to read a schedule file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from journeylib.report.context import ReportContext
    from journeylib.report.period import ReportPeriod, resolve_period

__all__ = ["ReportContext", "ReportPeriod", "resolve_period"]

_HOMES = {
    "ReportContext": "journeylib.report.context",
    "ReportPeriod": "journeylib.report.period",
    "resolve_period": "journeylib.report.period",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'journeylib.report' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value

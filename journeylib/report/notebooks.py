"""The notebooks of ``notebooks/``: reports (run by Papermill) or dashboards (served by Voila).

A notebook says what it is in its metadata: ``{"journeylib": {"kind": "dashboard"}}`` marks a
dashboard, served by Voila and never run as a report; any other notebook (``"kind": "report"``
or no ``kind``) is a report notebook: ``journey report run NAME`` runs it, ``journey
new-report --from NAME`` can copy it, and the test suite executes it under Papermill.

Examples
--------
>>> notebook_kind("notebooks/journey_report.ipynb")  # doctest: +SKIP
'report'
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

__all__ = ["DASHBOARD", "REPORT", "NotebookKind", "notebook_kind", "report_notebooks"]

NotebookKind = Literal["report", "dashboard"]
REPORT: NotebookKind = "report"
DASHBOARD: NotebookKind = "dashboard"


def notebook_kind(notebook: str | os.PathLike[str] | Any) -> NotebookKind:
    """``"dashboard"`` when the notebook's metadata says so, else ``"report"``.

    ``notebook`` is a path or a notebook already read (``nbformat`` node or dict). A file that
    is not JSON is a report notebook here: reading it as one gives the located error.
    """
    if isinstance(notebook, str | os.PathLike):
        try:
            node = json.loads(Path(notebook).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return REPORT
    else:
        node = notebook
    metadata = node.get("metadata", {}) if isinstance(node, dict) else {}
    ours = metadata.get("journeylib", {}) if isinstance(metadata, dict) else {}
    kind = ours.get("kind") if isinstance(ours, dict) else None
    return DASHBOARD if kind == DASHBOARD else REPORT


def report_notebooks(folder: str | os.PathLike[str]) -> list[Path]:
    """The report notebooks of a folder (``*.ipynb``, dashboards left out), by name."""
    return sorted(path for path in Path(folder).glob("*.ipynb") if notebook_kind(path) == REPORT)

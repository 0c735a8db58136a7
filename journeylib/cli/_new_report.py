"""``journey new-report NAME [--from TEMPLATE]``: a report notebook and its schedule entry."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

__all__ = ["add_new_report_command"]


def add_new_report_command(commands: argparse._SubParsersAction) -> None:
    """Register ``journey new-report`` on the ``journey`` parser."""
    from journeylib.report.scaffold import DEFAULT_TEMPLATE

    command = commands.add_parser(
        "new-report",
        help="start a report notebook from a template (notebooks/NAME.ipynb)",
        description=(
            "Copy a report notebook of notebooks/ (the template) to notebooks/NAME.ipynb, "
            "without outputs and with its title from NAME, and add a commented job for it to "
            "reports/schedule.yml. The report runs at once with: journey report run NAME. "
            "Refuses an existing notebook or job, a NAME that is not an identifier and an "
            "unknown template (exit 2, nothing written). Run it in the project's folder."
        ),
    )
    command.add_argument("name", help="the report's name: letters, digits, underscores")
    command.add_argument(
        "--from",
        dest="template",
        default=DEFAULT_TEMPLATE,
        metavar="TEMPLATE",
        help=f"a report notebook of notebooks/, by name ({DEFAULT_TEMPLATE})",
    )
    command.set_defaults(handler=_run)


def _shown(path: Path) -> str:
    relative = os.path.relpath(path, Path.cwd())
    return relative if not relative.startswith("..") else str(path)


def _run(args: argparse.Namespace) -> int:
    from journeylib.report.scaffold import new_report

    made = new_report(args.name, template=args.template)
    print(f"notebook written: {_shown(made.notebook)} (from {made.template})")
    print(f"schedule entry added, commented out: {_shown(made.schedule)}")
    print(f"run it: journey report run {made.name}")
    return 0

"""``journey report run``: run a report notebook into ``reports/`` and optionally email it."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

__all__ = ["add_report_commands", "parse_parameter"]


def add_report_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``journey report run`` on the ``journey`` parser."""
    report = commands.add_parser(
        "report",
        help="run a report notebook into reports/<name>/<period>/ (HTML, notebook, email)",
        description="Reports: executed notebooks rendered to offline HTML, optionally emailed.",
    )
    actions = report.add_subparsers(dest="report_command", metavar="ACTION", required=True)
    run = actions.add_parser(
        "run",
        help="execute a report notebook with Papermill and write its HTML",
        description=(
            "Execute a report notebook (a name in notebooks/ or a path) with Papermill into "
            "reports/<name>/<period>/: the executed notebook and an offline HTML report. "
            "A failing notebook produces no report: it is kept under reports/<name>/_failed/ and "
            "the --owner gets an alert. SMTP settings come from JOURNEY_SMTP_HOST, _PORT, "
            "_SECURITY (starttls|ssl|none), _USER, _PASSWORD and _FROM."
        ),
    )
    run.add_argument("report", help="report name (notebooks/<name>.ipynb) or notebook path")
    run.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        default=[],
        help="notebook parameter; VALUE is read as YAML (7, [a, b], {platform: [ios]})",
    )
    run.add_argument("--email", action="store_true", help="email the report to --to")
    run.add_argument("--to", action="append", default=[], metavar="ADDRESS", help="recipient")
    run.add_argument("--owner", metavar="ADDRESS", help="who is alerted when the run fails")
    run.add_argument("--out", type=Path, default=Path("reports"), help="reports folder (reports)")
    run.add_argument("--timeout", type=int, default=1800, help="seconds per cell (1800)")
    run.set_defaults(handler=_run)


def parse_parameter(value: str) -> Any:
    """A parameter value as YAML; dates stay ``YYYY-MM-DD`` strings."""
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    if isinstance(parsed, datetime | date):
        return value
    return parsed


def _run(args: argparse.Namespace) -> int:
    from journeylib.errors import JourneyError
    from journeylib.report.run import run_report

    if args.email and not args.to:
        raise JourneyError("--email needs at least one --to ADDRESS")
    parameters = {name: parse_parameter(value) for name, value in args.parameter}
    result = run_report(
        args.report,
        parameters=parameters,
        out_root=args.out,
        email_to=args.to if args.email else (),
        owner=args.owner,
        timeout=args.timeout,
    )
    if result.ok:
        print(f"report written: {result.html}")
        if result.emailed_to:
            print(f"emailed to: {', '.join(result.emailed_to)}")
        print(f"({result.seconds:.1f} s)")
        return 0
    print(f"journey report run: {result.name} failed: {result.error}", file=sys.stderr)
    if result.html is not None:
        print(f"the report was written: {result.html}", file=sys.stderr)
    else:
        print(
            f"no report was published; executed notebook kept: {result.notebook}", file=sys.stderr
        )
    if result.alerted:
        print(f"alert sent to {result.alerted}", file=sys.stderr)
    return 1

"""``journey report run``: run a report notebook into ``reports/`` and optionally email it."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

__all__ = ["add_report_commands"]


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
            "_SECURITY (starttls|ssl|none), _USER, _PASSWORD and _FROM. Parameters must be "
            "declared by the notebook (papermill --help-notebook NOTEBOOK lists them) and fit "
            "their type; they are checked, with the period and the mail settings, before the "
            "kernel starts (exit 2). SIGINT stops a run with exit 130, SIGTERM with 143: the "
            "kernel is stopped and nothing is published."
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
        help="notebook parameter; VALUE is text for a str parameter, else YAML "
        "(7, [a, b], {platform: [ios]}); a relative config_path is read from the current "
        "folder",
    )
    run.add_argument("--email", action="store_true", help="email the report to --to")
    run.add_argument(
        "--to", action="append", default=[], type=_address, metavar="ADDRESS", help="recipient"
    )
    run.add_argument(
        "--owner", type=_address, metavar="ADDRESS", help="who is alerted when the run fails"
    )
    run.add_argument("--out", type=Path, default=Path("reports"), help="reports folder (reports)")
    run.add_argument(
        "--timeout", type=_seconds, default=1800, help="seconds per cell, above 0 (1800)"
    )
    run.set_defaults(handler=_run)


def _seconds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of seconds, got {text!r}"
        ) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {value}")
    return value


def _address(text: str) -> str:
    from journeylib.report.email import is_address

    if not is_address(text):
        raise argparse.ArgumentTypeError(
            f"expected an email address such as team@example.com, got {text!r}"
        )
    return text


def _run(args: argparse.Namespace) -> int:
    from journeylib.errors import JourneyError
    from journeylib.report.kernel import Terminated
    from journeylib.report.parameters import check_parameters
    from journeylib.report.run import find_notebook, run_report

    if args.email and not args.to:
        raise JourneyError("--email needs at least one --to ADDRESS")
    if args.to and not args.email:
        raise JourneyError(
            f"--to {args.to[0]} without --email: add --email to send the report, or leave --to out"
        )
    notebook = find_notebook(args.report)
    given = dict(args.parameter)
    for key in ("config_path", "config"):
        if given.get(key) and not Path(given[key]).is_absolute():
            # a path typed on the command line is read from where the user stands; the
            # notebook's own default stays relative to the notebook's folder
            given[key] = str(Path(given[key]).resolve())
    parameters = check_parameters(notebook, given, from_text=True)
    try:
        result = run_report(
            notebook,
            parameters=parameters,
            out_root=args.out,
            email_to=args.to if args.email else (),
            owner=args.owner,
            timeout=args.timeout,
        )
    except (KeyboardInterrupt, Terminated) as stop:
        name = "SIGTERM" if isinstance(stop, Terminated) else "SIGINT"
        print(
            f"journey report run: interrupted by {name}; the kernel was stopped and "
            "nothing was published",
            file=sys.stderr,
        )
        number = Terminated.signal_number if isinstance(stop, Terminated) else signal.SIGINT
        return 128 + int(number)
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
    elif result.alert_error:
        print(
            f"journey report run: the alert to {args.owner} could not be sent: "
            f"{result.alert_error}",
            file=sys.stderr,
        )
    return 1

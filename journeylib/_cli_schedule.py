"""``journey schedule tick | list``: arguments and output only; the rules live in the schedule.

Exit codes: 0 every due job ran ok (or nothing was due, or another tick is running), 1 a job
failed or crashed, 2 the schedule or state file cannot be used (raised as a ``JourneyError``
and mapped by ``journey``'s main).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

__all__ = ["add_schedule_commands"]

DEFAULT_SCHEDULE = Path("reports/schedule.yml")
STATE_NAME = ".schedule-state.json"

EPILOG = """\
Run it from cron every few minutes; each tick runs what became due, once:

  */5 * * * * cd /srv/journey && .venv/bin/journey schedule tick >> reports/schedule.log 2>&1

A job first seen by a tick starts from its next slot (no back-fill). A run that fails is
recorded and not repeated (its owner is alerted); a run that crashes is retried by the next
tick. Only one tick runs at a time: a tick started while another runs exits 0 at once.

With Airflow instead: one DAG per job with schedule=<the job's cron>, a start_date in the
schedule's time zone, catchup=False for catch_up: latest (True for all), and one
PapermillOperator task with input_nb=<notebook> and parameters=<the job's parameters>.
"""


def add_schedule_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``journey schedule`` with its ``tick`` and ``list`` subcommands."""
    schedule = commands.add_parser(
        "schedule",
        help="run scheduled reports (tick) or show the schedule (list)",
        description="Scheduled report notebooks: reports/schedule.yml lists the jobs.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = schedule.add_subparsers(dest="schedule_command", metavar="ACTION", required=True)
    tick = actions.add_parser(
        "tick",
        help="run every job slot that is due now, each once",
        description="Run every job slot that is due now, each at most once.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tick.set_defaults(handler=_run_tick)
    listing = actions.add_parser(
        "list",
        help="each job with its next run and last result",
        description="Each job: cron, next run (schedule time zone), last slot and result.",
    )
    listing.set_defaults(handler=_run_list)
    for parser in (tick, listing):
        parser.add_argument(
            "--schedule", type=Path, default=DEFAULT_SCHEDULE, help=f"({DEFAULT_SCHEDULE})"
        )
        parser.add_argument(
            "--state",
            type=Path,
            help=f"the state file (default: {STATE_NAME} beside the schedule file)",
        )
        parser.add_argument(
            "--now",
            type=_moment,
            metavar="ISO-DATETIME",
            help="pretend the clock reads this (for testing); without an offset it is read "
            "in the schedule's time zone",
        )


def _moment(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO date-time such as 2026-11-16T07:05+01:00, got {text!r}"
        ) from None


def _load(args: argparse.Namespace):
    from journeylib.report.schedule import load_schedule

    schedule = load_schedule(args.schedule)
    state_path = args.state or args.schedule.parent / STATE_NAME
    now = args.now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=ZoneInfo(schedule.timezone))
    return schedule, state_path, now


def _run_tick(args: argparse.Namespace) -> int:
    from journeylib.report import schedule as scheduling

    schedule, state_path, now = _load(args)
    report = scheduling.tick(
        schedule, state_path=state_path, now=now, run_job=scheduling.run_notebook_job
    )
    stamp = now.astimezone(UTC).isoformat(timespec="seconds")
    if report.locked:
        print(f"{stamp} another tick is running (lock {state_path}.lock); nothing done")
        return 0
    for name in report.initialised:
        print(f"{stamp} {name}: first seen, runs from its next slot")
    for run in report.runs:
        detail = f" ({run.message})" if run.message else ""
        target = f" -> {run.report}" if run.report else ""
        print(f"{stamp} {run.job} slot {run.slot.isoformat()}: {run.status}{detail}{target}")
    if not report.runs and not report.initialised:
        print(f"{stamp} nothing due")
    return report.exit_code


def _run_list(args: argparse.Namespace) -> int:
    from journeylib.report._cron import next_slot
    from journeylib.report.schedule import read_state

    schedule, state_path, now = _load(args)
    zone = ZoneInfo(schedule.timezone)
    states = read_state(state_path)

    def local(moment: datetime | None) -> str:
        return "-" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")

    rows = [("job", "cron", f"next run ({schedule.timezone})", "last slot", "result", "message")]
    for job in schedule.jobs:
        state = states.get(job.name)
        upcoming = local(next_slot(job.cron, schedule.timezone, now)) if job.enabled else "disabled"
        result = (state.result if state else None) or "never run"
        message = (state.message or state.report or "") if state else ""
        rows.append(
            (job.name, job.cron, upcoming, local(state and state.last_slot), result, message)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
    if not schedule.jobs:
        print("(no jobs)")
    return 0

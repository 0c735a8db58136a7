"""``journey schedule tick | list | show``: arguments and output; the rules live in the schedule.

Exit codes: 0 every due job ran ok (or nothing was due, or another tick is running), 1 a job
failed or crashed, 2 the schedule, its state or the mail settings cannot be used (raised as a
``JourneyError`` and mapped by ``journey``'s main), or an alert job's mail was not delivered
(the slot is deferred to the next tick; stderr says why in one line). Every path resolves
against the schedule file's folder (the state beside it, reports into it unless ``--out``),
wherever it is run from.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from journeylib.errors import JourneyError

if TYPE_CHECKING:
    from journeylib.report.schedule import Job, JobState, Schedule

__all__ = ["add_schedule_commands"]

DEFAULT_SCHEDULE = Path("reports/schedule.yml")
STATE_NAME = ".schedule-state.json"
#: the message column of ``schedule list``: its first line, cut to this many characters
LIST_MESSAGE_WIDTH = 80

EPILOG = """\
Run it from cron every few minutes; each tick runs what became due, once:

  */5 * * * * cd /srv/journey && .venv/bin/journey schedule tick >> reports/schedule.log 2>&1

A job first seen by a tick starts from its next slot (no back-fill). A run that fails is
recorded and not repeated (its owner is alerted); a run that crashes is retried by the next
tick, and given up after 3 attempts (its owner is alerted once). No email goes twice to one
recipient for one slot. An alert job (kind: alert) mails each new incident once, and once more
each time it grows; a mail the server refuses is sent by the next tick (exit 2 meanwhile).
Only one tick runs at a time: a tick started while another runs exits 0 at once. Reports go
into the schedule file's folder unless --out says otherwise.

With Airflow instead: one DAG per job with schedule=<the job's cron>, a start_date in the
schedule's time zone, catchup=False for catch_up: latest (True for all), and one
PapermillOperator task with input_nb=<notebook> and parameters=<the job's parameters>.
"""


def add_schedule_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``journey schedule`` with its ``tick``, ``list`` and ``show`` subcommands."""
    schedule = commands.add_parser(
        "schedule",
        help="run scheduled reports and alerts (tick) or show the schedule (list, show)",
        description="Scheduled report notebooks and incident alerts: reports/schedule.yml "
        "lists the jobs.",
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
    tick.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="reports folder (default: the schedule file's folder)",
    )
    tick.set_defaults(handler=_run_tick)
    listing = actions.add_parser(
        "list",
        help="each job on one line: next run and last result",
        description="Each job on one line: cron, next run (schedule time zone), last slot and "
        "result, and the first line of its last message (the whole of it: schedule show JOB).",
    )
    listing.set_defaults(handler=_run_list)
    show = actions.add_parser(
        "show",
        help="one job in full: its settings, state and last message",
        description="One job in full: its settings, next run, state and its whole last message.",
    )
    show.add_argument("job", help="the job's name")
    show.set_defaults(handler=_run_show)
    for parser in (tick, listing, show):
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


def _load(args: argparse.Namespace) -> tuple[Schedule, Path, datetime, dict[str, JobState]]:
    """The schedule, its state file, the clock, and the state read (checked before any write)."""
    from journeylib.report.email import DeliveryJournal, journal_path
    from journeylib.report.schedule import load_schedule, read_state
    from journeylib.report.schedule._alert_ledger import AlertLedger, ledger_path

    schedule = load_schedule(args.schedule)
    state_path = args.state or args.schedule.parent / STATE_NAME
    now = args.now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=ZoneInfo(schedule.timezone))
    states = read_state(state_path)
    DeliveryJournal(journal_path(state_path))  # an unreadable journal stops us before any run
    AlertLedger(ledger_path(state_path))  # so does an unreadable alert ledger
    return schedule, state_path, now, states


def _run_tick(args: argparse.Namespace) -> int:
    from journeylib.report import schedule as scheduling

    schedule, state_path, now, _ = _load(args)
    scheduling.check_mail_settings(schedule)
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise JourneyError(f"--out {args.out} is a file, not a folder for the reports")
    out_root = args.out if args.out is not None else args.schedule.parent
    with _quiet_mail_log():
        report = scheduling.tick(
            schedule,
            state_path=state_path,
            now=now,
            run_job=scheduling.run_job,
            out_root=out_root,
        )
    stamp = now.astimezone(UTC).isoformat(timespec="seconds")
    if report.locked:
        print(f"{stamp} another tick is running (lock {state_path}.lock); nothing done")
        return 0
    for name in report.initialised:
        print(f"{stamp} {name}: first seen, runs from its next slot")
    for run in report.runs:
        detail = f" ({_first_line(run.message)})" if run.message else ""
        target = f" -> {run.report}" if run.report else ""
        print(f"{stamp} {run.job} slot {run.slot.isoformat()}: {run.status}{detail}{target}")
        said = [*run.warnings, *([run.message or ""] if run.status == "deferred" else [])]
        for warning in said:
            print(
                f"journey schedule tick: {run.job} slot {run.slot.isoformat()}: "
                f"{_first_line(warning, width=None)}",
                file=sys.stderr,
            )
    if not report.runs and not report.initialised:
        print(f"{stamp} nothing due")
    return report.exit_code


@contextlib.contextmanager
def _quiet_mail_log() -> Iterator[None]:
    """Keep the mail logger's retries off stderr during a tick, unless logging is configured:
    the tick says in one line per slot what became of its mail."""
    logger = logging.getLogger("journeylib.report.email")
    if logger.handlers or logging.getLogger().handlers:
        yield
        return
    quiet = logging.NullHandler()
    logger.addHandler(quiet)
    try:
        yield
    finally:
        logger.removeHandler(quiet)


def _run_list(args: argparse.Namespace) -> int:
    from journeylib.report.schedule import MAX_ATTEMPTS, AlertJob
    from journeylib.report.schedule.cron import next_slot

    schedule, _, now, states = _load(args)
    zone = ZoneInfo(schedule.timezone)

    def local(moment: datetime | None) -> str:
        return "-" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")

    rows = [("job", "cron", f"next run ({schedule.timezone})", "last slot", "result", "message")]
    for job in schedule.jobs:
        state = states.get(job.name)
        upcoming = local(next_slot(job.cron, schedule.timezone, now)) if job.enabled else "disabled"
        result = (state.result if state else None) or "never run"
        message = (state.message or state.report or "") if state else ""
        if state is not None and state.attempts and state.attempt_slot is not None:
            result = f"retrying ({state.attempts} of {MAX_ATTEMPTS})"
            message = state.attempt_error or "the last attempt did not finish"
        elif state is not None and state.attempt_slot is not None and state.attempt_error:
            result, message = "deferred", state.attempt_error
        if isinstance(job, AlertJob) and not message:
            message = f"alerts: {job.target}"
        rows.append(
            (
                job.name,
                job.cron,
                upcoming,
                local(state and state.last_slot),
                result,
                _first_line(message),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
    if not schedule.jobs:
        print("(no jobs)")
    return 0


def _run_show(args: argparse.Namespace) -> int:
    from journeylib.report.schedule import MAX_ATTEMPTS
    from journeylib.report.schedule.cron import next_slot

    schedule, state_path, now, states = _load(args)
    job = _job_named(schedule, args.job, args.schedule)
    zone = ZoneInfo(schedule.timezone)

    def local(moment: datetime | None) -> str:
        return "-" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")

    state = states.get(job.name)
    upcoming = local(next_slot(job.cron, schedule.timezone, now)) if job.enabled else "disabled"
    fields: list[tuple[str, Any]] = [
        ("job", job.name),
        ("kind", job.kind),
        ("cron", f"{job.cron} ({schedule.timezone})"),
        *_job_fields(job),
        ("recipients", ", ".join(job.recipients) or "-"),
        ("owner", job.owner or "-"),
        ("catch up", schedule.catch_up_of(job)),
        ("enabled", "yes" if job.enabled else "no"),
        ("next run", upcoming),
        ("state file", state_path),
    ]
    if state is None:
        fields.append(("state", "not seen by a tick yet"))
    else:
        fields += [
            ("done until", local(state.done_until)),
            ("last slot", local(state.last_slot)),
            ("result", state.result or "never run"),
            ("ran at", local(state.ran_at)),
            ("report", state.report or "-"),
        ]
        if state.skipped:
            fields.append(("skipped", ", ".join(local(s) for s in state.skipped)))
        if state.attempt_slot is not None and state.attempts:
            fields.append(
                (
                    "retrying",
                    f"slot {local(state.attempt_slot)}: {state.attempts} of {MAX_ATTEMPTS} "
                    "attempts started",
                )
            )
            if state.attempt_error:
                fields.append(("last crash", state.attempt_error))
        elif state.attempt_slot is not None and state.attempt_error:
            fields.append(("deferred", f"slot {local(state.attempt_slot)}: {state.attempt_error}"))
        fields += [(f"warning {i}", w) for i, w in enumerate(state.warnings, start=1)]
    width = max(len(name) for name, _ in fields)
    for name, value in fields:
        print(f"{name.ljust(width)}  {value}")
    if state is not None and state.message:
        print("message:")
        for line in state.message.splitlines():
            print(f"  {line}")
    if job.kind == "alert":
        _print_alerted(job, state_path)
    return 0


def _job_fields(job: Any) -> list[tuple[str, Any]]:
    """What a job runs: a report's notebook and parameters, or what an alert job watches."""
    if job.kind != "alert":
        return [
            ("notebook", os.path.normpath(job.notebook)),
            ("parameters", _mapping(job.parameters)),
        ]
    funnel = job.funnel
    if isinstance(funnel, list):
        funnel = " → ".join(funnel)
    return [
        ("config", os.path.normpath(job.config)),
        ("funnel", funnel or "the config's first funnel"),
        ("grain", job.grain),
        ("kpi", ", ".join(job.kpi) or "-"),
        ("by", ", ".join(job.by) if job.by is not None else "every dimension"),
        ("baseline", f"{job.baseline} {job.grain}s before each period"),
        ("lookback", f"incidents starting in the {job.watched_periods} {job.grain}s before a slot"),
    ]


def _print_alerted(job: Any, state_path: Path) -> None:
    """The incidents the job has mailed: key, what each mail announced, who has it."""
    from journeylib.report.schedule._alert_ledger import AlertLedger, ledger_path

    ledger = AlertLedger(ledger_path(state_path))
    keys = ledger.keys(job.name)
    print(f"incidents and their mails ({len(keys)}):" if keys else "incidents mailed: none yet")
    for key in keys:
        print(f"  {key}")
        for revision in ledger.revisions(job.name, key):
            states = ", ".join(
                f"{recipient} {status or 'not sent yet'}"
                for recipient, status in revision.recipients.items()
            )
            print(
                f"    {revision.kind} (slot {revision.planned_at}): to {revision.end} "
                f"(end excluded), about {revision.users_lost} lost; {states}"
            )


def _job_named(schedule: Schedule, name: str, file: Path) -> Job:
    for job in schedule.jobs:
        if job.name == name:
            return job
    known = ", ".join(job.name for job in schedule.jobs) or "(none)"
    raise JourneyError(f"no job named {name!r} in {file}; jobs: {known}")


def _mapping(values: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in values.items()) or "-"


def _first_line(text: str | None, width: int | None = LIST_MESSAGE_WIDTH) -> str:
    """The first non-empty line of ``text``, cut to ``width`` (``…`` marks a cut)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    first = lines[0] if lines else ""
    more = len(lines) > 1
    if width is not None and len(first) > width:
        first, more = first[: width - 1], True
    return first + ("…" if more else "")

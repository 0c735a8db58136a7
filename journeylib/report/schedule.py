"""The report schedule (``reports/schedule.yml``) and ``tick``: run each due job exactly once.

A schedule lists jobs, each a notebook run on a cron expression read in the schedule's time zone
(see :mod:`journeylib.report._cron`). Nothing runs in the background: a system crontab calls
``journey schedule tick`` every few minutes, and each tick runs the slots that became due::

    */5 * * * * cd /srv/journey && .venv/bin/journey schedule tick >> reports/schedule.log 2>&1

The rules of a tick, chosen so that no slot ever runs twice and none is silently lost:

- **First sight.** A job not yet in the state file is initialised to *now* without running:
  it runs from its first slot after the tick that first saw it (no surprise back-fill).
- **Catch-up.** The slots due are those after the job's last completed slot, up to now.
  ``catch_up: latest`` (default) runs only the newest and records the others as skipped;
  ``all`` runs each in order.
- **One tick at a time.** The whole tick holds ``fcntl.flock`` on ``<state>.lock``, without
  waiting: a second tick started meanwhile does nothing and exits 0 ("another tick is running");
  the next tick picks up whatever is due. The state is read after the lock is taken.
- **Atomic state.** After each slot the state file is replaced atomically (temporary file,
  fsync, ``os.replace``), so it is always the old or the new version, never half of one.
- **Failure versus crash.** A run that reports failure (``ok=False``; its owner is alerted) is
  recorded as failed and its slot counts as done: the alert is not re-sent every tick. A run that
  raises, or a process killed mid-run, leaves the slot not done, so the next tick retries it.
- **A job that keeps crashing** is given up after ``MAX_ATTEMPTS`` (3) attempts at the same
  slot: each attempt is recorded in the state *before* the run starts, so a run killed with the
  whole process counts too. The third crash (or the tick after a third killed attempt) records
  the slot as failed, alerts the owner once and moves on to the next slot.
- **Email at most once.** Every report email and owner alert of a slot goes through the
  delivery journal beside the state file (``<state stem>.deliveries.json``): the intent is
  recorded, durably, just before the message content goes to the server and the delivery as
  soon as the server accepts it (before ``QUIT``). A retried slot runs its notebook again but
  mails only recipients with no record. A recipient whose delivery was cut off between the two
  records (a window of one content transfer and one reply) may have the message: it is not sent
  again, and the tick says so on stderr and in the state. So: never twice; exactly once unless a
  delivery is cut off inside that window, and then it is reported, never silent.
- **Mail settings.** A job with recipients is refused before its run starts when the
  ``JOURNEY_SMTP_*`` variables are missing or invalid (``journey schedule tick`` refuses the
  whole tick with exit 2 as soon as an enabled job has recipients or an owner). An owner alert
  that cannot be sent is said on stderr (one line, why) and recorded with the slot.
- **Disabled jobs** skip their slots (they are not caught up when enabled again); jobs removed
  from the file are dropped from the state.

Loading checks every job's notebook: it must exist and be a readable notebook. Paths in the
file (``notebook``) are relative to the schedule file's folder; ``journey schedule tick``
writes reports into that folder too (``reports/<name>/<period>/`` for the default
``reports/schedule.yml``) unless ``--out`` says otherwise, and keeps the state beside the file,
wherever it is run from. ``parameters`` are handed to the notebook unchanged (the notebook runs
in its own folder). With Airflow instead of cron, each job is one task::

    with DAG("weekly-kpis", schedule="0 7 * * MON", catchup=False,   # catch_up: latest
             start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Berlin")):
        PapermillOperator(task_id="report", input_nb="notebooks/journey_report.ipynb",
                          output_nb="reports/weekly-kpis-{{ ds }}.ipynb",
                          parameters={"config_path": "data/sample/journey.yml",
                                      "period": "last_full_week", "grain": "week"})

``catchup=True`` is ``catch_up: all``. Airflow starts a run at the *end* of its data interval
and keeps its own state; do not run both schedulers for the same job.

Examples
--------
>>> from journeylib.report.schedule import load_schedule, tick
>>> schedule = load_schedule("reports/schedule.yml")  # doctest: +SKIP
>>> tick(schedule, state_path="reports/.schedule-state.json", now=now).exit_code  # doctest: +SKIP
0
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from journeylib._atomic import atomic_path
from journeylib.config import _key_lines, _located_problems, _Strict, _valid_timezone
from journeylib.errors import ConfigError
from journeylib.report._cron import CronError, parse_cron, slots_between
from journeylib.report._delivery import (
    DeliveryJournal,
    SlotDeliveries,
    deliver,
    journal_path,
    mail_error_text,
)

__all__ = [
    "MAX_ATTEMPTS",
    "STATE_VERSION",
    "Job",
    "JobOutcome",
    "JobState",
    "Schedule",
    "ScheduleError",
    "SlotContext",
    "SlotRun",
    "TickReport",
    "alert_owner",
    "check_mail_settings",
    "load_schedule",
    "read_state",
    "run_notebook_job",
    "schedule_from_dict",
    "tick",
]

#: Attempts at one slot before a job that keeps crashing is given up (and its owner alerted).
MAX_ATTEMPTS = 3
#: The version of the state file this module writes; it reads this one and older.
STATE_VERSION = 2

CatchUp = Literal["all", "latest"]
_JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")


class ScheduleError(ConfigError):
    """The schedule file or its state file cannot be used; each problem is located."""

    def __init__(self, file: str, problems: list[str]) -> None:
        super().__init__(file, problems)
        count = len(self.problems)
        head = f"{file}: {count} problem{'s' if count != 1 else ''} in the schedule"
        Exception.__init__(self, "\n".join([head, *(f"  - {p}" for p in self.problems)]))


class Job(_Strict):
    """One scheduled report: a notebook, its parameters, when it runs and who receives it."""

    name: str
    cron: str
    notebook: Path
    parameters: dict[str, Any] = Field(default_factory=dict)
    recipients: list[str] = Field(default_factory=list)
    owner: str | None = None
    catch_up: CatchUp | None = None
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _JOB_NAME.match(value):
            raise PydanticCustomError(
                "job_name",
                "job name '{value}' must start with a letter or digit and hold only letters, "
                "digits, '.', '_' and '-'",
                {"value": value},
            )
        return value

    @field_validator("cron")
    @classmethod
    def _check_cron(cls, value: str) -> str:
        try:
            parse_cron(value)
        except CronError as exc:
            raise PydanticCustomError("cron", str(exc)) from None
        return value

    @field_validator("notebook", mode="before")
    @classmethod
    def _resolve_notebook(cls, value: Any, info: ValidationInfo) -> Any:
        base = (info.context or {}).get("base_dir")
        if isinstance(value, str | Path) and base is not None and not Path(value).is_absolute():
            return Path(base) / value
        return value

    @field_validator("recipients", "owner")
    @classmethod
    def _check_addresses(cls, value: Any) -> Any:
        for address in [value] if isinstance(value, str) else value or []:
            if not _ADDRESS.match(address):
                raise PydanticCustomError(
                    "address", "expected an email address, got '{value}'", {"value": address}
                )
        return value


class Schedule(_Strict):
    """A whole schedule file. Build it with :func:`load_schedule` or :func:`schedule_from_dict`."""

    timezone: str = "UTC"
    catch_up: CatchUp = "latest"
    jobs: list[Job] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            return _valid_timezone(value)
        except OSError:  # a folder of the zone database ("Europe") or a name too long
            raise PydanticCustomError(
                "timezone",
                "unknown time zone '{value}'; use an IANA name such as Europe/Berlin",
                {"value": value},
            ) from None

    @field_validator("jobs")
    @classmethod
    def _check_unique_names(cls, jobs: list[Job]) -> list[Job]:
        names = [job.name for job in jobs]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise PydanticCustomError("jobs", "job '{name}' is listed twice", {"name": repeated[0]})
        return jobs

    def catch_up_of(self, job: Job) -> CatchUp:
        """The job's catch-up rule: its own, else the schedule's."""
        return job.catch_up or self.catch_up


def load_schedule(path: str | os.PathLike[str]) -> Schedule:
    """Load and validate a schedule file.

    Raises
    ------
    ScheduleError
        Listing every problem with its line and key path, e.g.
        ``schedule.yml: line 4: jobs.0.crn: unknown key 'crn' (did you mean 'cron'?)``.

    Examples
    --------
    >>> load_schedule("reports/schedule.yml").timezone  # doctest: +SKIP
    'Europe/Berlin'
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        lines = _key_lines(yaml.compose(text))
    except FileNotFoundError:
        raise ScheduleError(str(file), ["the file does not exist"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScheduleError(str(file), [f"cannot be read: {exc}"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScheduleError(str(file), [f"{where}not valid YAML: {problem}"]) from None
    if not isinstance(data, dict):
        raise ScheduleError(str(file), ["expected a mapping with 'jobs' at the top"])
    schedule = _validate(data, file=str(file), base_dir=file.resolve().parent, lines=lines)
    _check_notebooks(schedule, file=str(file), lines=lines)
    return schedule


def schedule_from_dict(
    data: dict[str, Any],
    *,
    base_dir: str | os.PathLike[str] | None = None,
    check_notebooks: bool = True,
) -> Schedule:
    """Validate a schedule given as a dict (notebook paths resolve against ``base_dir``).

    ``check_notebooks=False`` skips the check that each notebook exists and reads (for a
    schedule built before its notebooks, as in tests with a stand-in runner).

    Examples
    --------
    >>> job = {"name": "daily", "cron": "@daily", "notebook": "report.ipynb"}
    >>> schedule = schedule_from_dict({"jobs": [job]}, base_dir="/srv", check_notebooks=False)
    >>> schedule.jobs[0].notebook
    PosixPath('/srv/report.ipynb')
    """
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    schedule = _validate(dict(data), file="<schedule>", base_dir=base.resolve(), lines={})
    if check_notebooks:
        _check_notebooks(schedule, file="<schedule>", lines={})
    return schedule


def _validate(
    data: dict[str, Any], *, file: str, base_dir: Path, lines: dict[tuple[str, ...], int]
) -> Schedule:
    try:
        return Schedule.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise ScheduleError(file, _located_problems(exc, lines)) from None


def _check_notebooks(schedule: Schedule, *, file: str, lines: dict[tuple[str, ...], int]) -> None:
    """Every job's notebook exists and reads as a notebook, or a located error names the job."""
    problems = []
    for index, job in enumerate(schedule.jobs):
        problem = _notebook_problem(job.notebook)
        if problem:
            line = lines.get(("jobs", str(index), "notebook"))
            where = f"line {line}: " if line else ""
            problems.append(f"{where}jobs.{index}.notebook: job '{job.name}': {problem}")
    if problems:
        raise ScheduleError(file, problems)


def _notebook_problem(path: Path) -> str | None:
    """Why ``path`` is not a readable Jupyter notebook, or None when it is one."""
    import nbformat

    if not path.exists():
        return f"notebook {path} does not exist"
    if path.is_dir():
        return f"notebook {path} is a folder, not a notebook file"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return f"notebook {path} cannot be read ({_one_line(exc)})"
    except ValueError as exc:
        return f"{path} is not a notebook (not JSON: {_one_line(exc)})"
    if not (
        isinstance(data, dict)
        and isinstance(data.get("nbformat"), int)
        and isinstance(data.get("cells"), list)
    ):
        return f"{path} is not a notebook (no 'nbformat' and 'cells' in its JSON)"
    try:
        with warnings.catch_warnings():  # e.g. cells without ids: not a reason to refuse
            warnings.simplefilter("ignore")
            nbformat.validate(data)
    except Exception as exc:  # ValidationError, and TypeError on cells of the wrong type
        return f"notebook {path} is not a valid notebook ({_one_line(exc)})"
    return None


def _one_line(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- state


@dataclass(frozen=True)
class JobState:
    """What the state file knows of one job.

    ``done_until`` is the cursor: every slot up to it is handled (run, skipped or dropped).
    ``last_slot`` and the fields after it describe the last slot that ran; ``ran_at`` is the
    clock of the tick that ran it; ``warnings`` are what that slot's tick said on stderr (an
    alert that could not be sent, a delivery cut off earlier). ``attempt_slot``, ``attempts``
    and ``attempt_error`` follow the slot being retried: attempts started (recorded before each
    run), and the error of the last one when it raised (None when it was killed).
    """

    done_until: datetime
    last_slot: datetime | None = None
    result: Literal["ok", "failed"] | None = None
    ran_at: datetime | None = None
    message: str | None = None
    report: str | None = None
    skipped: tuple[datetime, ...] = ()
    warnings: tuple[str, ...] = ()
    attempt_slot: datetime | None = None
    attempts: int = 0
    attempt_error: str | None = None


def read_state(state_path: str | os.PathLike[str]) -> dict[str, JobState]:
    """The state of every job by name (empty when the state file does not exist yet).

    Raises
    ------
    ScheduleError
        When the file is not a state file, or one written by a newer journeylib.
    """
    path = Path(state_path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        version = raw.get("version", 1)
        if not isinstance(version, int) or version > STATE_VERSION:
            raise ScheduleError(
                str(path),
                [
                    f"the state file has version {version!r}; this journeylib reads versions "
                    f"1-{STATE_VERSION} (written by a newer journeylib? upgrade it)"
                ],
            )
        states = {}
        for name, entry in raw["jobs"].items():
            try:
                states[name] = _job_state(entry)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ValueError(f"job '{name}': {_one_line(exc)}") from None
        return states
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        reason = _one_line(exc if not isinstance(exc, KeyError) else f"no key {exc}")
        raise ScheduleError(
            str(path),
            [f"the state file cannot be read ({reason}); fix or delete it (jobs restart from now)"],
        ) from None


def _job_state(entry: dict[str, Any]) -> JobState:
    if "done_until" not in entry:
        raise ValueError("no 'done_until'")
    state = JobState(
        done_until=_moment(entry, "done_until"),  # type: ignore[arg-type]
        last_slot=_moment(entry, "last_slot"),
        result=entry.get("result"),
        ran_at=_moment(entry, "ran_at"),
        message=entry.get("message"),
        report=entry.get("report"),
        skipped=tuple(_moment({"skipped": s}, "skipped") for s in entry.get("skipped", [])),  # type: ignore[misc]
        warnings=tuple(str(w) for w in entry.get("warnings", [])),
        attempt_slot=_moment(entry, "attempt_slot"),
        attempts=int(entry.get("attempts", 0)),
        attempt_error=entry.get("attempt_error"),
    )
    if state.result not in (None, "ok", "failed"):
        raise ValueError(f"result {state.result!r} is not ok or failed")
    return state


def _moment(entry: dict[str, Any], key: str) -> datetime | None:
    """An aware datetime from the state, or None; the error names the key and the value."""
    text = entry.get(key)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"{key} {text!r} is not an ISO date-time") from None
    if moment.utcoffset() is None:
        raise ValueError(f"{key} {text!r} has no UTC offset")
    return moment


def _write_state(state_path: Path, states: dict[str, JobState]) -> None:
    def text(moment: datetime | None) -> str | None:
        return None if moment is None else moment.isoformat()

    payload = {
        "version": STATE_VERSION,
        "jobs": {
            name: {
                "done_until": text(state.done_until),
                "last_slot": text(state.last_slot),
                "result": state.result,
                "ran_at": text(state.ran_at),
                "message": state.message,
                "report": state.report,
                "skipped": [text(s) for s in state.skipped],
                "warnings": list(state.warnings),
                "attempt_slot": text(state.attempt_slot),
                "attempts": state.attempts,
                "attempt_error": state.attempt_error,
            }
            for name, state in sorted(states.items())
        },
    }
    with atomic_path(state_path) as partial, partial.open("w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())


@contextlib.contextmanager
def _tick_lock(state_path: Path) -> Iterator[bool]:
    """Hold ``<state>.lock`` without waiting; yields whether this tick got it."""
    lock_path = state_path.with_name(state_path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- tick


@dataclass(frozen=True)
class JobOutcome:
    """What a runner reports for one slot: success, a message, the report it wrote, and
    ``warnings`` to say on stderr (an owner alert that could not be sent, a delivery that an
    earlier attempt left uncertain)."""

    ok: bool
    message: str | None = None
    report: Path | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class SlotContext:
    """What a runner gets besides the job and the slot.

    ``out_root`` is the reports folder (None: the runner's default); ``deliveries`` is the
    slot's record in the delivery journal, to hand to :func:`journeylib.report.run.run_report`.
    """

    out_root: Path | None
    deliveries: SlotDeliveries


@dataclass(frozen=True)
class SlotRun:
    """One slot handled by a tick.

    ``status`` is ``ok`` or ``failed`` (the slot is done), ``skipped`` (catch-up ``latest``
    passed over it; done) or ``crashed`` (the runner raised; the slot will be retried).
    ``attempt`` counts the runs of this slot so far (0 for a skipped slot).
    """

    job: str
    slot: datetime
    status: Literal["ok", "failed", "skipped", "crashed"]
    message: str | None = None
    report: Path | None = None
    warnings: tuple[str, ...] = ()
    attempt: int = 0


@dataclass(frozen=True)
class TickReport:
    """What one tick did. ``locked`` is true when another tick held the lock (nothing ran)."""

    runs: tuple[SlotRun, ...] = ()
    initialised: tuple[str, ...] = ()
    locked: bool = False

    @property
    def exit_code(self) -> int:
        """0 when every slot run is ok (or nothing was due), 1 when one failed or crashed."""
        return 1 if any(run.status in ("failed", "crashed") for run in self.runs) else 0


Runner = Callable[[Job, datetime, SlotContext], JobOutcome]
#: ``alert(job, slot, error, deliveries)`` alerts the owner; returns why it could not, or None.
Alerter = Callable[[Job, datetime, str, SlotDeliveries], str | None]


def check_mail_settings(schedule: Schedule, environ: Mapping[str, str] = os.environ) -> None:
    """Refuse a schedule whose enabled jobs send mail while ``JOURNEY_SMTP_*`` is unusable.

    A job sends mail when it has recipients (the report) or an owner (the failure alert).

    Raises
    ------
    MailSettingsError
        Naming each bad variable and the jobs that need them.
    """
    from journeylib.report.email import MailSettingsError, SmtpSettings

    mailing = [job.name for job in schedule.jobs if job.enabled and (job.recipients or job.owner)]
    if not mailing:
        return
    try:
        SmtpSettings.from_env(environ)
    except MailSettingsError as exc:
        jobs = ", ".join(f"'{name}'" for name in mailing)
        needed_by = f"job{'s' if len(mailing) > 1 else ''} {jobs} (recipients or owner)"
        raise MailSettingsError(exc.problems, needed_by=needed_by) from None


def run_notebook_job(job: Job, slot: datetime, context: SlotContext | None = None) -> JobOutcome:
    """The default runner: execute the job's notebook for ``slot`` and mail the report.

    A job with recipients is refused before its run starts when the mail settings are unusable
    (the outcome is a failure naming the variables; the owner alert is still tried).
    """
    from journeylib.report.email import MailSettingsError, SmtpSettings
    from journeylib.report.run import run_report

    if job.recipients:
        try:
            SmtpSettings.from_env()
        except MailSettingsError as exc:
            message = f"not run: the report is to be mailed but {mail_error_text(exc)}"
            deliveries = context.deliveries if context is not None else None
            problem = alert_owner(job, slot, message, deliveries) if job.owner else None
            return JobOutcome(ok=False, message=message, warnings=_alert_warnings(job, problem))
    options: dict[str, Any] = {}
    if context is not None:
        options["deliveries"] = context.deliveries
        if context.out_root is not None:
            options["out_root"] = context.out_root
    result = run_report(
        job.notebook,
        parameters=job.parameters,
        email_to=job.recipients,
        owner=job.owner,
        now=slot,
        **options,
    )
    report = result.html if result.html is not None else result.notebook
    warnings_said = [*_alert_warnings(job, getattr(result, "alert_error", None))]
    warnings_said += list(getattr(result, "notes", ()))
    return JobOutcome(
        ok=bool(result.ok), message=result.error, report=report, warnings=tuple(warnings_said)
    )


def alert_owner(
    job: Job, slot: datetime, error: str, deliveries: SlotDeliveries | None
) -> str | None:
    """The default alerter: mail the owner that ``job`` failed at ``slot``, at most once.

    Returns why the alert could not be sent, or None when it was (or an earlier attempt of the
    slot sent it already).
    """
    from journeylib.errors import JourneyError
    from journeylib.report.email import SmtpSettings, build_failure_alert

    if job.owner is None:
        return None
    try:
        settings = SmtpSettings.from_env()
        message = build_failure_alert(
            job=job.name, error=error, notebook_path=None, sender=settings.sender, owner=job.owner
        )
        delivered = deliver(message, settings, deliveries and deliveries.log("alert"))
    except JourneyError as exc:
        return mail_error_text(exc)
    return delivered.uncertain_note("alert")


def _alert_warnings(job: Job, problem: str | None) -> tuple[str, ...]:
    if problem is None:
        return ()
    return (f"the alert to the owner {job.owner} could not be sent: {problem}",)


def tick(
    schedule: Schedule,
    *,
    state_path: str | os.PathLike[str],
    now: datetime,
    run_job: Runner = run_notebook_job,
    out_root: str | os.PathLike[str] | None = None,
    alert: Alerter = alert_owner,
    max_attempts: int = MAX_ATTEMPTS,
) -> TickReport:
    """Run every slot that is due at ``now``, each at most once (see the module docstring).

    Parameters
    ----------
    schedule
        The validated schedule.
    state_path
        The JSON state file; ``<state_path>.lock`` beside it guards the tick, and the delivery
        journal lives beside it too.
    now
        The current time (time-zone aware); injected so that tests need no real clock.
    run_job
        Runs one job for one slot (``run_job(job, slot, context)``); raising means the slot is
        retried by the next tick, up to ``max_attempts`` attempts.
    out_root
        The reports folder handed to the runner (None: the runner's default, ``reports``
        under the current folder; ``journey schedule tick`` passes the schedule file's folder).
    alert
        Alerts a job's owner when its slot is given up after ``max_attempts`` attempts.
    max_attempts
        Attempts at one slot (each recorded before it starts) before it is given up.

    Examples
    --------
    >>> report = tick(schedule, state_path="reports/.schedule-state.json",
    ...               now=datetime.now(UTC))  # doctest: +SKIP
    >>> [(run.job, run.status) for run in report.runs]  # doctest: +SKIP
    [('weekly-kpis', 'ok')]
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be a time-zone-aware datetime, got naive {now}")
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
    now = now.astimezone(UTC)
    path = Path(state_path)
    reports = None if out_root is None else Path(out_root)
    with _tick_lock(path) as acquired:
        if not acquired:
            return TickReport(locked=True)
        journal_file = journal_path(path)
        for name in (path.name, journal_file.name):
            for leftover in path.parent.glob(f".{name}.*.partial"):
                leftover.unlink(missing_ok=True)  # from a process killed while writing
        states = {n: s for n, s in read_state(path).items() if n in _names(schedule)}
        journal = DeliveryJournal(journal_file)
        # slots up to a job's cursor are done for good: nothing will mail for them again
        journal.prune(lambda job, slot: job in states and slot > states[job].done_until)
        runs: list[SlotRun] = []
        initialised = []
        for job in schedule.jobs:
            state = states.get(job.name)
            if state is None or not job.enabled:
                initialised += [job.name] if state is None and job.enabled else []
                base = state or JobState(done_until=now)
                states[job.name] = replace(base, done_until=max(now, base.done_until))
                continue
            due = slots_between(job.cron, schedule.timezone, state.done_until, now)
            skipped: tuple[datetime, ...] = ()
            if schedule.catch_up_of(job) == "latest" and len(due) > 1:
                skipped, due = tuple(due[:-1]), due[-1:]
                runs += [SlotRun(job.name, slot, "skipped") for slot in skipped]
            for slot in due:
                context = SlotContext(reports, journal.for_slot(job.name, slot))
                run = _attempt_slot(job, slot, states, path, run_job, context, alert, max_attempts)
                runs.append(run)
                if run.status == "crashed":
                    break
                states[job.name] = JobState(
                    done_until=slot,
                    last_slot=slot,
                    result=run.status,
                    ran_at=now,
                    message=run.message,
                    report=None if run.report is None else str(run.report),
                    skipped=skipped,
                    warnings=run.warnings,
                )
                _write_state(path, states)
        _write_state(path, states)
    return TickReport(runs=tuple(runs), initialised=tuple(initialised))


def _names(schedule: Schedule) -> set[str]:
    return {job.name for job in schedule.jobs}


def _attempt_slot(
    job: Job,
    slot: datetime,
    states: dict[str, JobState],
    path: Path,
    run_job: Runner,
    context: SlotContext,
    alert: Alerter,
    max_attempts: int,
) -> SlotRun:
    """Run a slot once more, or give it up after ``max_attempts`` attempts that did not finish.

    The attempt is written to the state before the run, so that a process killed mid-run still
    counts it; a crash is kept in ``states`` (the caller writes it) for the next tick to see.
    """
    current = states[job.name]
    tried = current.attempts if current.attempt_slot == slot else 0
    if tried >= max_attempts:  # the earlier attempts were killed: do not start another
        return _give_up(job, slot, tried, current.attempt_error, alert, context.deliveries)
    tried += 1
    states[job.name] = replace(current, attempt_slot=slot, attempts=tried, attempt_error=None)
    _write_state(path, states)
    run = replace(_run_slot(job, slot, run_job, context), attempt=tried)
    if run.status != "crashed":
        return run
    if tried >= max_attempts:
        return _give_up(job, slot, tried, run.message, alert, context.deliveries)
    states[job.name] = replace(states[job.name], attempt_error=run.message)
    return run


def _give_up(
    job: Job,
    slot: datetime,
    tried: int,
    error: str | None,
    alert: Alerter,
    deliveries: SlotDeliveries,
) -> SlotRun:
    last = error or "the run never finished (its process was killed or the machine stopped)"
    message = f"given up after {tried} attempts that did not finish; the last: {last}"
    problem = alert(job, slot, message, deliveries) if job.owner else None
    return SlotRun(
        job.name, slot, "failed", message, warnings=_alert_warnings(job, problem), attempt=tried
    )


def _run_slot(job: Job, slot: datetime, run_job: Runner, context: SlotContext) -> SlotRun:
    try:
        outcome = run_job(job, slot, context)
    except Exception as exc:  # a crash: the slot stays due and the next tick retries it
        return SlotRun(job.name, slot, "crashed", f"{type(exc).__name__}: {exc}")
    status: Literal["ok", "failed"] = "ok" if outcome.ok else "failed"
    return SlotRun(job.name, slot, status, outcome.message, outcome.report, outcome.warnings)

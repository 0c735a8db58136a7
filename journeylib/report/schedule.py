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

import json
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from journeylib.config import _key_lines, _located_problems, _Strict, _valid_timezone
from journeylib.errors import ConfigError
from journeylib.report._cron import CronError, parse_cron, slots_between
from journeylib.report._delivery import DeliveryJournal, SlotDeliveries, journal_path
from journeylib.report._mail_mime import is_address
from journeylib.report._schedule_runner import (
    JobOutcome,
    SlotContext,
    alert_owner,
    alert_warnings,
    check_mail_settings,
    run_notebook_job,
)
from journeylib.report._schedule_state import (
    STATE_VERSION,
    JobState,
    one_line,
    read_state,
    tick_lock,
    write_state,
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

CatchUp = Literal["all", "latest"]
_JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


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

    @field_validator("parameters")
    @classmethod
    def _check_parameters(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        # parameters are code (Papermill writes ``name = value``): checked against the notebook
        # when the job is loaded; a notebook that is not there is reported by its own check
        from journeylib.errors import JourneyError
        from journeylib.report.parameters import ParameterError, check_parameters

        notebook = info.data.get("notebook")
        if not isinstance(notebook, Path) or not notebook.is_file():
            return value
        try:
            return check_parameters(notebook, value)
        except JourneyError as exc:
            where = {"key": exc.parameter} if isinstance(exc, ParameterError) else {}
            job = info.data.get("name")
            reason = (f"job '{job}': " if job else "") + " ".join(str(exc).split())
            raise PydanticCustomError(
                "parameter", "{reason}", {"reason": reason, **where}
            ) from None

    @field_validator("recipients", "owner")
    @classmethod
    def _check_addresses(cls, value: Any) -> Any:
        for address in [value] if isinstance(value, str) else value or []:
            if not is_address(address):
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
        return f"notebook {path} cannot be read ({one_line(exc)})"
    except ValueError as exc:
        return f"{path} is not a notebook (not JSON: {one_line(exc)})"
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
        return f"notebook {path} is not a valid notebook ({one_line(exc)})"
    return None


# --------------------------------------------------------------------------- tick


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
    with tick_lock(path) as acquired:
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
                write_state(path, states)
        write_state(path, states)
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
    write_state(path, states)
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
        job.name, slot, "failed", message, warnings=alert_warnings(job, problem), attempt=tried
    )


def _run_slot(job: Job, slot: datetime, run_job: Runner, context: SlotContext) -> SlotRun:
    try:
        outcome = run_job(job, slot, context)
    except Exception as exc:  # a crash: the slot stays due and the next tick retries it
        return SlotRun(job.name, slot, "crashed", f"{type(exc).__name__}: {exc}")
    status: Literal["ok", "failed"] = "ok" if outcome.ok else "failed"
    return SlotRun(job.name, slot, status, outcome.message, outcome.report, outcome.warnings)

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
- **Disabled jobs** skip their slots (they are not caught up when enabled again); jobs removed
  from the file are dropped from the state.

Paths in the file (``notebook``) are relative to the schedule file's folder; ``parameters``
are handed to the notebook unchanged. With Airflow instead of cron, each job is one task::

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
from collections.abc import Callable, Iterator
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

__all__ = [
    "Job",
    "JobOutcome",
    "JobState",
    "Schedule",
    "ScheduleError",
    "SlotRun",
    "TickReport",
    "load_schedule",
    "read_state",
    "run_notebook_job",
    "schedule_from_dict",
    "tick",
]

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
        return _valid_timezone(value)

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
    return _validate(data, file=str(file), base_dir=file.resolve().parent, lines=lines)


def schedule_from_dict(
    data: dict[str, Any], *, base_dir: str | os.PathLike[str] | None = None
) -> Schedule:
    """Validate a schedule given as a dict (notebook paths resolve against ``base_dir``).

    Examples
    --------
    >>> job = {"name": "daily", "cron": "@daily", "notebook": "report.ipynb"}
    >>> schedule_from_dict({"jobs": [job]}, base_dir="/srv").jobs[0].notebook
    PosixPath('/srv/report.ipynb')
    """
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    return _validate(dict(data), file="<schedule>", base_dir=base.resolve(), lines={})


def _validate(
    data: dict[str, Any], *, file: str, base_dir: Path, lines: dict[tuple[str, ...], int]
) -> Schedule:
    try:
        return Schedule.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise ScheduleError(file, _located_problems(exc, lines)) from None


# --------------------------------------------------------------------------- state


@dataclass(frozen=True)
class JobState:
    """What the state file knows of one job.

    ``done_until`` is the cursor: every slot up to it is handled (run, skipped or dropped).
    ``last_slot`` and the fields after it describe the last slot that ran; ``ran_at`` is the
    clock of the tick that ran it.
    """

    done_until: datetime
    last_slot: datetime | None = None
    result: Literal["ok", "failed"] | None = None
    ran_at: datetime | None = None
    message: str | None = None
    report: str | None = None
    skipped: tuple[datetime, ...] = ()


def read_state(state_path: str | os.PathLike[str]) -> dict[str, JobState]:
    """The state of every job by name (empty when the state file does not exist yet)."""
    path = Path(state_path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {name: _job_state(entry) for name, entry in raw["jobs"].items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ScheduleError(
            str(path),
            [f"the state file cannot be read ({exc!r}); fix or delete it (jobs restart from now)"],
        ) from None


def _job_state(entry: dict[str, Any]) -> JobState:
    moment = lambda text: None if text is None else datetime.fromisoformat(text)  # noqa: E731
    return JobState(
        done_until=datetime.fromisoformat(entry["done_until"]),
        last_slot=moment(entry.get("last_slot")),
        result=entry.get("result"),
        ran_at=moment(entry.get("ran_at")),
        message=entry.get("message"),
        report=entry.get("report"),
        skipped=tuple(datetime.fromisoformat(s) for s in entry.get("skipped", [])),
    )


def _write_state(state_path: Path, states: dict[str, JobState]) -> None:
    def text(moment: datetime | None) -> str | None:
        return None if moment is None else moment.isoformat()

    payload = {
        "version": 1,
        "jobs": {
            name: {
                "done_until": text(state.done_until),
                "last_slot": text(state.last_slot),
                "result": state.result,
                "ran_at": text(state.ran_at),
                "message": state.message,
                "report": state.report,
                "skipped": [text(s) for s in state.skipped],
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
    """What a runner reports for one slot: success, a message, and the report it wrote."""

    ok: bool
    message: str | None = None
    report: Path | None = None


@dataclass(frozen=True)
class SlotRun:
    """One slot handled by a tick.

    ``status`` is ``ok`` or ``failed`` (the slot is done), ``skipped`` (catch-up ``latest``
    passed over it; done) or ``crashed`` (the runner raised; the slot will be retried).
    """

    job: str
    slot: datetime
    status: Literal["ok", "failed", "skipped", "crashed"]
    message: str | None = None
    report: Path | None = None


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


Runner = Callable[[Job, datetime], JobOutcome]


def run_notebook_job(job: Job, slot: datetime) -> JobOutcome:
    """The default runner: execute the job's notebook for ``slot`` and mail the report."""
    from journeylib.report.run import run_report

    result = run_report(
        job.notebook,
        parameters=job.parameters,
        email_to=job.recipients,
        owner=job.owner,
        now=slot,
    )
    report = result.html if result.html is not None else result.notebook
    return JobOutcome(ok=bool(result.ok), message=result.error, report=report)


def tick(
    schedule: Schedule,
    *,
    state_path: str | os.PathLike[str],
    now: datetime,
    run_job: Runner = run_notebook_job,
) -> TickReport:
    """Run every slot that is due at ``now``, each at most once (see the module docstring).

    Parameters
    ----------
    schedule
        The validated schedule.
    state_path
        The JSON state file; ``<state_path>.lock`` beside it guards the tick.
    now
        The current time (time-zone aware); injected so that tests need no real clock.
    run_job
        Runs one job for one slot; raising means the slot is retried by the next tick.

    Examples
    --------
    >>> report = tick(schedule, state_path="reports/.schedule-state.json",
    ...               now=datetime.now(UTC))  # doctest: +SKIP
    >>> [(run.job, run.status) for run in report.runs]  # doctest: +SKIP
    [('weekly-kpis', 'ok')]
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be a time-zone-aware datetime, got naive {now}")
    now = now.astimezone(UTC)
    path = Path(state_path)
    with _tick_lock(path) as acquired:
        if not acquired:
            return TickReport(locked=True)
        for leftover in path.parent.glob(f".{path.name}.*.partial"):
            leftover.unlink(missing_ok=True)  # from a process killed while writing
        states = {n: s for n, s in read_state(path).items() if n in _names(schedule)}
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
                run = _run_slot(job, slot, run_job)
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
                )
                _write_state(path, states)
        _write_state(path, states)
    return TickReport(runs=tuple(runs), initialised=tuple(initialised))


def _names(schedule: Schedule) -> set[str]:
    return {job.name for job in schedule.jobs}


def _run_slot(job: Job, slot: datetime, run_job: Runner) -> SlotRun:
    try:
        outcome = run_job(job, slot)
    except Exception as exc:  # a crash: the slot stays due and the next tick retries it
        return SlotRun(job.name, slot, "crashed", f"{type(exc).__name__}: {exc}")
    status: Literal["ok", "failed"] = "ok" if outcome.ok else "failed"
    return SlotRun(job.name, slot, status, outcome.message, outcome.report)

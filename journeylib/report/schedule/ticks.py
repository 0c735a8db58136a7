"""``tick``: run each due job of the report schedule exactly once.

A schedule lists jobs, each a notebook run on a cron expression read in the schedule's time zone
(see :mod:`journeylib.report.schedule.cron`). Nothing runs in the background: a system crontab calls
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
- **Alert jobs** (``kind: alert``) mail each new incident once and each growth of it once,
  through the alert ledger beside the state (``<state stem>.alerts.json``, see
  :mod:`journeylib.report.schedule.alerts`). When a mail is refused or the server cannot be
  reached, the slot is *deferred*: not done, not counted as an attempt, retried by the next
  tick, and the tick exits 2 with one line on stderr saying why.
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

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from journeylib.report.email._delivery import DeliveryJournal, SlotDeliveries, journal_path
from journeylib.report.schedule._alert_ledger import ledger_path
from journeylib.report.schedule._runner import (
    JobOutcome,
    SlotContext,
    alert_owner,
    alert_warnings,
    run_job,
)
from journeylib.report.schedule._state import JobState, read_state, tick_lock, write_state
from journeylib.report.schedule.cron import slots_between
from journeylib.report.schedule.model import Schedule, ScheduledJob

__all__ = ["MAX_ATTEMPTS", "SlotRun", "TickReport", "tick"]

#: Attempts at one slot before a job that keeps crashing is given up (and its owner alerted).
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class SlotRun:
    """One slot handled by a tick.

    ``status`` is ``ok`` or ``failed`` (the slot is done), ``skipped`` (catch-up ``latest``
    passed over it; done), ``crashed`` (the runner raised; the slot will be retried) or
    ``deferred`` (a mail was not delivered; the next tick runs the slot again).
    ``attempt`` counts the runs of this slot so far (0 for a skipped slot).
    """

    job: str
    slot: datetime
    status: Literal["ok", "failed", "skipped", "crashed", "deferred"]
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
        """0 when every slot run is ok (or nothing was due), 1 when one failed or crashed, 2
        when a mail was not delivered (a deferred slot)."""
        if any(run.status == "deferred" for run in self.runs):
            return 2
        return 1 if any(run.status in ("failed", "crashed") for run in self.runs) else 0


Runner = Callable[[ScheduledJob, datetime, SlotContext], JobOutcome]
#: ``alert(job, slot, error, deliveries)`` alerts the owner; returns why it could not, or None.
Alerter = Callable[[ScheduledJob, datetime, str, SlotDeliveries], str | None]


def tick(
    schedule: Schedule,
    *,
    state_path: str | os.PathLike[str],
    now: datetime,
    run_job: Runner = run_job,
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
        retried by the next tick, up to ``max_attempts`` attempts (default: the notebook of a
        report job, the incidents of an alert job).
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
        alerts_file = ledger_path(path)
        for name in (path.name, journal_file.name, alerts_file.name):
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
                context = SlotContext(reports, journal.for_slot(job.name, slot), alerts_file)
                run = _attempt_slot(job, slot, states, path, run_job, context, alert, max_attempts)
                runs.append(run)
                if run.status in ("crashed", "deferred"):
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
    job: ScheduledJob,
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
    if run.status == "deferred":  # it finished: not an attempt towards giving up
        states[job.name] = replace(
            states[job.name], attempt_slot=slot, attempts=tried - 1, attempt_error=run.message
        )
        return run
    if run.status != "crashed":
        return run
    if tried >= max_attempts:
        return _give_up(job, slot, tried, run.message, alert, context.deliveries)
    states[job.name] = replace(states[job.name], attempt_error=run.message)
    return run


def _give_up(
    job: ScheduledJob,
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


def _run_slot(job: ScheduledJob, slot: datetime, run_job: Runner, context: SlotContext) -> SlotRun:
    try:
        outcome = run_job(job, slot, context)
    except Exception as exc:  # a crash: the slot stays due and the next tick retries it
        return SlotRun(job.name, slot, "crashed", f"{type(exc).__name__}: {exc}")
    status: Literal["ok", "failed", "deferred"] = (
        "ok" if outcome.ok else "deferred" if outcome.retry else "failed"
    )
    return SlotRun(job.name, slot, status, outcome.message, outcome.report, outcome.warnings)

"""Scheduled reports and alerts: the schedule file, its cron expressions, the state between
ticks, the runner of each job and ``tick``, which runs each due slot exactly once.

- :mod:`~journeylib.report.schedule.model`: the jobs of ``reports/schedule.yml``, loaded with
  located errors (report jobs, and alert jobs: :mod:`~journeylib.report.schedule.alert_job`);
- :mod:`~journeylib.report.schedule.alerts`: the runner of an alert job, which mails each new
  incident once (and each growth of it once);
- :mod:`~journeylib.report.schedule.cron`: the cron parser and the slots between two moments;
- :mod:`~journeylib.report.schedule.ticks`: the tick and its rules (see its docstring);
- ``_state`` and ``_runner``: the state file and the run of one job's slot.
"""

from __future__ import annotations

from journeylib.errors import ScheduleError
from journeylib.report.schedule._runner import (
    JobOutcome,
    SlotContext,
    alert_owner,
    check_mail_settings,
    run_job,
    run_notebook_job,
)
from journeylib.report.schedule._state import STATE_VERSION, JobState, read_state
from journeylib.report.schedule.model import (
    AlertJob,
    Job,
    Schedule,
    ScheduledJob,
    load_schedule,
    schedule_from_dict,
)
from journeylib.report.schedule.ticks import MAX_ATTEMPTS, SlotRun, TickReport, tick

__all__ = [
    "MAX_ATTEMPTS",
    "STATE_VERSION",
    "AlertJob",
    "Job",
    "JobOutcome",
    "JobState",
    "Schedule",
    "ScheduleError",
    "ScheduledJob",
    "SlotContext",
    "SlotRun",
    "TickReport",
    "alert_owner",
    "check_mail_settings",
    "load_schedule",
    "read_state",
    "run_job",
    "run_notebook_job",
    "schedule_from_dict",
    "tick",
]

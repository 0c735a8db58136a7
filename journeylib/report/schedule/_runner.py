"""The default runner and alerter of the schedule, and the check of its mail settings.

:func:`run_job` runs a slot of any job: :func:`run_notebook_job` executes a report job's
notebook through :func:`journeylib.report.run.run_report`, handing it the slot's deliveries so
that a retried slot mails nobody twice, and an alert job goes to
:func:`journeylib.report.schedule.alerts.run_alert_job`; :func:`alert_owner` mails the owner of
a job given up after its last attempt. All read the ``JOURNEY_SMTP_*`` environment variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from journeylib.report.email._delivery import SlotDeliveries, deliver, mail_error_text

if TYPE_CHECKING:
    from journeylib.report.schedule.model import Job, Schedule, ScheduledJob

__all__ = [
    "JobOutcome",
    "SlotContext",
    "alert_owner",
    "alert_warnings",
    "check_mail_settings",
    "run_job",
    "run_notebook_job",
]


@dataclass(frozen=True)
class JobOutcome:
    """What a runner reports for one slot: success, a message and the report it wrote.

    ``warnings`` are lines for stderr: an owner alert that could not be sent, a delivery that an
    earlier attempt left uncertain. ``retry`` (with ``ok`` false) defers the slot: a mail could
    not be delivered, so the next tick runs the slot again (an alert job's incidents).
    """

    ok: bool
    message: str | None = None
    report: Path | None = None
    warnings: tuple[str, ...] = ()
    retry: bool = False


@dataclass(frozen=True)
class SlotContext:
    """What a runner gets besides the job and the slot.

    ``out_root`` is the reports folder (None: the runner's default); ``deliveries`` is the
    slot's record in the delivery journal, to hand to :func:`journeylib.report.run.run_report`;
    ``alert_ledger`` is the file of the incidents alert jobs mailed (beside the state).
    """

    out_root: Path | None
    deliveries: SlotDeliveries
    alert_ledger: Path | None = None


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


def run_job(job: ScheduledJob, slot: datetime, context: SlotContext | None = None) -> JobOutcome:
    """The default runner: a report job's notebook, or an alert job's incidents."""
    from journeylib.report.schedule.alert_job import AlertJob

    if isinstance(job, AlertJob):
        from journeylib.report.schedule.alerts import run_alert_job

        return run_alert_job(job, slot, context)
    return run_notebook_job(job, slot, context)


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
            return JobOutcome(ok=False, message=message, warnings=alert_warnings(job, problem))
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
    warnings_said = [*alert_warnings(job, getattr(result, "alert_error", None))]
    warnings_said += list(getattr(result, "notes", ()))
    return JobOutcome(
        ok=bool(result.ok), message=result.error, report=report, warnings=tuple(warnings_said)
    )


def alert_owner(
    job: ScheduledJob, slot: datetime, error: str, deliveries: SlotDeliveries | None
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
        wording = (
            {
                "subject_prefix": "[journey alert job failed]",
                "failed_what": "The scheduled journey alert job '{job}' failed; its incidents "
                "were not mailed.",
            }
            if job.kind == "alert"
            else {}
        )
        message = build_failure_alert(
            job=job.name,
            error=error,
            notebook_path=None,
            sender=settings.sender,
            owner=job.owner,
            **wording,
        )
        delivered = deliver(message, settings, deliveries and deliveries.log("alert"))
    except JourneyError as exc:
        return mail_error_text(exc)
    return delivered.uncertain_note("alert")


def alert_warnings(job: ScheduledJob, problem: str | None) -> tuple[str, ...]:
    if problem is None:
        return ()
    return (f"the alert to the owner {job.owner} could not be sent: {problem}",)

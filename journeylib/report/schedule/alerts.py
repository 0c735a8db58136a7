"""The runner of an alert job: find the incidents of a journey and mail each new one once.

For a slot, the job watches the complete periods before it: the period holding the slot's date
(in the journey's time zone) is not over, so the watch ends where it starts, and it begins
``lookback`` periods earlier (:data:`~journeylib.report.schedule.alert_job.DEFAULT_LOOKBACK`).
The incidents are those ``journey incidents`` finds (the same engine calls:
:meth:`journeylib.Journey.incidents` for the funnel, :meth:`~journeylib.Journey.kpi_incidents`
for the ``kpi`` watched, merged by :func:`journeylib.optimise.merge_incidents`) that start in
the watch. The funnel is watched up to its last period whose conversion windows all closed
before the end of the data (a period with windows still open reads low).

Each incident is known by its key (transition or KPI, segment, start). The alert ledger
(:mod:`._alert_ledger`) says what was mailed about it:

- never mailed: a ``new`` mail (the sentence, the numbers, the segments most affected, the
  chart of its rate against the baseline, and the latest published report of the journey or
  the command that makes one);
- mailed, and now with a later end or more users lost: one ``update`` mail saying how it grew;
- mailed and unchanged: nothing.

A mail is planned in the ledger (with everything it is built from) before it is sent, and its
delivery recorded around the content transfer, so a tick killed at any moment mails nobody twice
and the next tick sends what is left. When the mail server refuses a mail or cannot be reached,
the slot is *deferred*: the tick exits 2 saying why in one line, and the next tick runs the slot
again and sends what was not sent.

This module lives in the report face, not in the engine: it mails, renders charts and reads the
schedule's files, none of which the engine may know.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from journeylib.errors import JourneyError
from journeylib.report.schedule._alert_ledger import AlertLedger, Revision
from journeylib.report.schedule._runner import JobOutcome, SlotContext, alert_owner, alert_warnings

if TYPE_CHECKING:
    from journeylib.journey import Journey
    from journeylib.optimise import IncidentsResult
    from journeylib.report.email import SmtpSettings
    from journeylib.report.schedule.alert_job import AlertJob

__all__ = ["Watch", "latest_report", "report_command", "run_alert_job", "watch_of", "watched"]

#: The report notebook named in the command of a mail when no report is published yet.
REPORT_NOTEBOOK = "journey_report"


@dataclass(frozen=True)
class Watch:
    """The periods a slot watches: incidents starting in ``[start, end)`` (local dates)."""

    start: date
    end: date


def watch_of(job: AlertJob, slot: datetime, timezone: str) -> Watch:
    """The complete periods before ``slot``: ``lookback`` periods up to the one holding it.

    Examples
    --------
    >>> watch_of(job, datetime(2026, 9, 3, 5, tzinfo=UTC), "Europe/Berlin")  # doctest: +SKIP
    Watch(start=datetime.date(2026, 8, 6), end=datetime.date(2026, 9, 3))
    """
    from journeylib.periods.calendar import align, previous_period

    end = align(slot.astimezone(ZoneInfo(timezone)).date(), job.grain)
    start = end
    for _ in range(job.watched_periods):
        start = previous_period(start, job.grain)
    return Watch(start, end)


def watched(journey: Journey, job: AlertJob, watch: Watch) -> IncidentsResult:
    """The incidents starting in the watch, as ``journey incidents [--kpi]`` finds them."""
    from journeylib.optimise import merge_incidents

    common: dict[str, Any] = {
        "start": watch.start,
        "end": watch.end,
        "grain": job.grain,
        "by": list(job.by) if job.by is not None else None,
        "baseline_periods": job.baseline,
    }
    found = []
    funnel_end = _complete_end(journey, job, watch)
    if funnel_end is not None and funnel_end > watch.start:
        found.append(journey.incidents(job.funnel, **{**common, "end": funnel_end}))
    if job.kpi:
        found.append(journey.kpi_incidents(list(job.kpi), **common))
    return merge_incidents(*found)


def _complete_end(journey: Journey, job: AlertJob, watch: Watch) -> date | None:
    """Where the funnel's watch ends: the periods whose every entry had its whole conversion
    window before the end of the data (None: the job watches no funnel).

    A transition's rate in a period whose windows are still open is judged on the units that
    entered early only, so near the end of the data it reads low; a daily watch of a funnel with
    a 7-day window is therefore a week behind the data, where a KPI's is a day behind.
    """
    from datetime import timedelta

    from journeylib.config.model import FunnelConfig
    from journeylib.periods.calendar import align

    if isinstance(job.funnel, list):
        window = FunnelConfig.model_fields["window"].default
    elif job.funnel is not None:
        window = journey.config.funnels[job.funnel].window
    elif journey.config.funnels:
        window = next(iter(journey.config.funnels.values())).window
    else:
        return None
    assert isinstance(window, timedelta)
    last = journey.time_range[1].astimezone(ZoneInfo(journey.config.timezone))
    return min(watch.end, align((last - window).date(), job.grain))


def run_alert_job(job: AlertJob, slot: datetime, context: SlotContext | None = None) -> JobOutcome:
    """Mail the new and grown incidents of ``job`` at ``slot`` (see the module docstring).

    Returns a failure (its owner alerted once) when the journey cannot be read or watched, and
    a deferral (``retry``) when a mail could not be delivered: what was not sent is sent by the
    next tick.
    """
    import journeylib
    from journeylib.report.email import MailSettingsError, SmtpSettings
    from journeylib.report.email._delivery import mail_error_text

    deliveries = context.deliveries if context is not None else None

    def failed(message: str) -> JobOutcome:
        problem = alert_owner(job, slot, message, deliveries) if job.owner else None
        return JobOutcome(ok=False, message=message, warnings=alert_warnings(job, problem))

    try:
        settings = SmtpSettings.from_env()
    except MailSettingsError as exc:
        return failed(f"not run: the incidents are to be mailed but {mail_error_text(exc)}")
    try:
        journey = journeylib.load(job.config)
        watch = watch_of(job, slot, journey.config.timezone)
        problem = _no_data(journey, watch)
        if problem:
            return failed(problem)
        result = watched(journey, job, watch)
    except JourneyError as exc:
        reason = " ".join(str(exc).split())
        return failed(f"the incidents of {job.config} cannot be found: {reason}")
    ledger = AlertLedger(ledger_path_of(context))
    out_root = context.out_root if context is not None else None
    mailer = _Mailer(job, ledger, settings)
    notes = [_cut_off_note(revision, cut) for revision, cut in ledger.cut_off(job.name)]
    try:
        for key in ledger.keys(job.name):  # mails planned by an attempt that did not finish
            last = ledger.last(job.name, key)
            if last is not None and mailer.still_to(last):
                mailer.send(last)
        counts = {"new": 0, "update": 0, "unchanged": 0}
        for row in result.incidents.sort("start", "key").iter_rows(named=True):
            kind, revision = _plan(job, ledger, result, row, slot, journey, watch, out_root)
            counts[kind] += 1
            if revision is not None:
                mailer.send(revision)
    except _Undelivered as undelivered:
        return JobOutcome(
            ok=False,
            retry=True,
            message=f"{undelivered}; {mailer.summary()}; the next tick sends what is left",
            warnings=tuple(notes),
        )
    ledger.prune(job.name, started_before=watch.start)
    message = (
        f"{mailer.summary()}: {counts['new']} new, {counts['update']} grown, "
        f"{counts['unchanged']} unchanged incidents ({watch.start}..{watch.end})"
    )
    return JobOutcome(ok=True, message=message, warnings=tuple(notes))


def ledger_path_of(context: SlotContext | None) -> Path:
    """The alert ledger of the tick (beside the schedule's state)."""
    if context is None or context.alert_ledger is None:
        raise ValueError("an alert job runs inside a tick: its context names the alert ledger")
    return context.alert_ledger


def _no_data(journey: Journey, watch: Watch) -> str | None:
    zone = ZoneInfo(journey.config.timezone)
    first, last = (moment.astimezone(zone).date() for moment in journey.time_range)
    if last < watch.start or first >= watch.end:
        return (
            f"no events from {watch.start} to {watch.end} (end excluded) to watch: the events of "
            f"{journey.config.name} run from {first} to {last} ({journey.config.timezone})"
        )
    return None


def _plan(
    job: AlertJob,
    ledger: AlertLedger,
    result: IncidentsResult,
    row: dict[str, Any],
    slot: datetime,
    journey: Journey,
    watch: Watch,
    out_root: Path | None,
) -> tuple[str, Revision | None]:
    """What the incident needs: ``new``, ``update`` (with its planned revision) or
    ``unchanged``."""
    key = row["key"]
    lost = round(row["users_lost"])
    last = ledger.last(job.name, key)
    if last is not None and row["end"] <= last.end and lost <= last.users_lost:
        return "unchanged", None
    kind = "new" if last is None else "update"
    mail = _mail_record(job, result, row, journey, out_root)
    mail["kind"] = kind
    if last is not None:
        first = ledger.revisions(job.name, key)[0]
        mail["previous"] = {
            "end": last.end.isoformat(),
            "users_lost": last.users_lost,
            "mailed": first.planned_at[:10],
        }
    revision = ledger.plan(
        job.name,
        key,
        kind=kind,
        end=row["end"],
        users_lost=lost,
        start=row["start"],
        planned_at=slot,
        mail=mail,
        recipients=tuple(job.recipients),
    )
    return kind, revision


def _mail_record(
    job: AlertJob,
    result: IncidentsResult,
    row: dict[str, Any],
    journey: Journey,
    out_root: Path | None,
) -> dict[str, Any]:
    """Everything the incident's mail is built from, as JSON values (kept in the ledger)."""
    from journeylib.optimise.incidents import incident_measures

    series = result.series_of(row)
    report = latest_report(job.config, out_root)
    return {
        "job": job.name,
        "key": row["key"],
        "kpi": row["kpi"],
        "from_step": row["from_name"],
        "to_step": row["to_name"],
        "dimension": row["dimension"],
        "value": row["value"],
        **incident_measures(row),
        "grain": job.grain,
        "sentence": row["sentence"],
        "segments": result.segments_of(row),
        "series": []
        if series is None
        else [
            {
                "period": s["period"].isoformat(),
                "rate": s["rate"],
                "baseline_rate": s["baseline_rate"],
            }
            for s in series.iter_rows(named=True)
        ],
        "report": report or {"command": report_command(job.config, row["start"], row["end"])},
    }


def report_command(config: Path, start: date, end: date) -> str:
    """The command that publishes a report of ``config`` covering ``[start, end)``.

    Examples
    --------
    >>> print(report_command(Path("/srv/j.yml"), date(2026, 8, 30), date(2026, 9, 4)))
    journey report run journey_report -p config_path /srv/j.yml -p period 2026-08-30..2026-09-04
    """
    return (
        f"journey report run {REPORT_NOTEBOOK} -p config_path {config} "
        f"-p period {start.isoformat()}..{end.isoformat()}"
    )


def latest_report(config: Path, out_root: Path | None) -> dict[str, str] | None:
    """The latest report published under ``out_root`` from ``config``: its HTML and period.

    A published report is ``<out_root>/<name>/<period>/report.html`` beside its executed
    notebook, whose Papermill parameters name the config (``config_path``, relative to the
    notebook's folder unless absolute). The newest by modification time wins.
    """
    root = Path(out_root) if out_root is not None else Path("reports")
    target = config.resolve()
    pages = sorted(
        (page for page in root.glob("*/*/report.html") if not page.parent.name.startswith(".")),
        key=lambda page: page.stat().st_mtime_ns,
        reverse=True,
    )
    for page in pages:
        if _report_config(page.with_name("report.ipynb")) == target:
            return {"path": str(page.resolve()), "period": page.parent.name}
    return None


def _report_config(executed: Path) -> Path | None:
    try:
        meta = json.loads(executed.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError):
        return None
    papermill = meta.get("papermill") or {}
    value = (papermill.get("parameters") or {}).get("config_path")
    if not isinstance(value, str) or not value:
        return None
    path = Path(value)
    if not path.is_absolute():
        source = Path(papermill.get("input_path") or "")
        if not source.is_absolute():
            return None
        path = source.parent / path
    return path.resolve()


class _Undelivered(Exception):  # noqa: N818 (a state of delivery, not an error of the caller)
    """A mail the server did not take: the slot is deferred."""


class _Mailer:
    """Sends revisions through the ledger and counts what happened."""

    def __init__(self, job: AlertJob, ledger: AlertLedger, settings: SmtpSettings) -> None:
        self.job = job
        self.ledger = ledger
        self.settings = settings
        self.mailed = 0
        self.left = 0

    def send(self, revision: Revision) -> None:
        from journeylib.report.email import EmailDeliveryError
        from journeylib.report.email._delivery import deliver
        from journeylib.report.email._incident import build_incident_alert

        recipients = [r for r in revision.recipients if r in self.job.recipients]
        if not recipients:
            return
        message = build_incident_alert(
            revision.mail,
            sender=self.settings.sender,
            recipients=recipients,
            chart_png=_chart_png(revision.mail),
        )
        try:
            delivered = deliver(message, self.settings, self.ledger.log(self.job.name, revision))
        except EmailDeliveryError as exc:
            self.left += 1
            raise _Undelivered(
                f"the {revision.kind} mail of incident {revision.key} was not delivered: "
                f"{' '.join(str(exc).split())}"
            ) from None
        refused = [r for r in recipients if r not in delivered.reached]
        refused = [r for r in refused if r not in delivered.uncertain]
        if refused:
            self.left += 1
            raise _Undelivered(
                f"the {revision.kind} mail of incident {revision.key} was refused for "
                f"{', '.join(refused)}"
            )
        self.mailed += 1

    def still_to(self, revision: Revision) -> tuple[str, ...]:
        """The recipients a revision still has to reach (those the job still lists: one
        taken off the job's recipients is not mailed any more)."""
        return tuple(r for r in revision.pending if r in self.job.recipients)

    def summary(self) -> str:
        said = f"{self.mailed} mail{'s' if self.mailed != 1 else ''} sent"
        return said + (f", {self.left} not delivered" if self.left else "")


def _chart_png(mail: dict[str, Any]) -> bytes | None:
    """The incident's rate against its baseline, with its window shaded, as a PNG."""
    import base64

    import polars as pl

    from journeylib.charts.optimise import incident_chart
    from journeylib.report.display import chart_bundle
    from journeylib.report.email._incident import incident_title

    if not mail.get("series"):
        return None
    schema = {"period": pl.String, "rate": pl.Float64, "baseline_rate": pl.Float64}
    frame = pl.DataFrame(mail["series"], schema=schema).with_columns(pl.col("period").str.to_date())
    title = incident_title(mail)
    chart = incident_chart(
        frame,
        start=date.fromisoformat(mail["start"]),
        end=date.fromisoformat(mail["end"]),
        title=title,
    )
    return base64.b64decode(chart_bundle(chart, name="incident", title=title)["image/png"])


def _cut_off_note(revision: Revision, recipients: tuple[str, ...]) -> str:
    return (
        f"an earlier attempt was cut off while the server took the {revision.kind} mail of "
        f"incident {revision.key} for {', '.join(recipients)}: it may have arrived, so it was "
        "not sent again (see the mail server's log)"
    )

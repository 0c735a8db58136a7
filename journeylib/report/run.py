"""Run a report notebook with Papermill into ``reports/<name>/<period>/``, render, email.

The run executes in a staging folder beside the target and is published with a rename, so a
report folder is either absent or complete (executed notebook + HTML), never half-written. A
notebook that raises never produces a report and never sends one: its executed notebook is
kept under ``reports/<name>/_failed/`` and the job's owner gets an alert.

Before a kernel starts, the inputs are checked and refused with a
:class:`~journeylib.errors.JourneyError` (nothing written): a path that is not a report
notebook, parameters the notebook does not declare or whose values do not fit
(:func:`journeylib.report.parameters.check_parameters`), a period without events, and, when the
report is to be emailed, the SMTP settings of the environment. A period that the kernel finds
empty is refused the same way (:class:`~journeylib.report._data_range.EmptyPeriodError`).

Interrupted runs: SIGINT raises ``KeyboardInterrupt`` and SIGTERM
:class:`~journeylib.report.kernel.Terminated`; either stops the kernel and removes the staging
folder before it propagates (``journey report run`` exits 130 or 143). A run killed outright
(SIGKILL) leaves its staging folder behind; the next run of the same report removes staging
folders whose process is gone (never a live one's), and puts back a previous report that a kill
in the middle of :func:`_publish` left aside.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat

from journeylib.errors import JourneyError
from journeylib.report.email import MailSettingsError

__all__ = ["MailSettingsError", "ReportResult", "find_notebook", "run_report"]

NOTEBOOK_DIR = Path("notebooks")


@dataclass(frozen=True)
class ReportResult:
    """What a report run produced.

    ``ok`` is true only when the notebook ran, the report was published and, when asked,
    the email was accepted by the server. ``alert_error`` says why the owner alert could not be
    sent; ``notes`` are lines worth showing (e.g. a delivery of an earlier attempt that was cut
    off and is not repeated).
    """

    ok: bool
    name: str
    notebook: Path
    folder: Path | None = None
    html: Path | None = None
    period: str | None = None
    title: str | None = None
    error: str | None = None
    emailed_to: tuple[str, ...] = ()
    alerted: str | None = None
    alert_error: str | None = None
    notes: tuple[str, ...] = ()
    seconds: float = 0.0


def find_notebook(report: str | os.PathLike[str], *, root: Path | None = None) -> Path:
    """The notebook of a report: a path to an ``.ipynb``, or a name in ``notebooks/``."""
    candidate = Path(report)
    if candidate.suffix == ".ipynb" or candidate.exists():
        if candidate.is_dir():
            raise JourneyError(f"report notebook {candidate} is a folder, not a notebook (.ipynb)")
        if not candidate.is_file():
            raise JourneyError(f"report notebook {candidate} does not exist")
        return candidate
    folder = (root or Path.cwd()) / NOTEBOOK_DIR
    path = folder / f"{report}.ipynb"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.ipynb")) if folder.is_dir() else []
        raise JourneyError(
            f"no report named {report!r}: {path} does not exist; "
            f"reports: {', '.join(known) or '(none)'}"
        )
    return path


def run_report(
    report: str | os.PathLike[str],
    *,
    parameters: Mapping[str, Any] | None = None,
    out_root: str | os.PathLike[str] = "reports",
    email_to: Sequence[str] = (),
    owner: str | None = None,
    now: datetime | None = None,
    kernel_name: str | None = None,
    timeout: int = 1800,
    smtp: Any = None,
    deliveries: Any = None,
) -> ReportResult:
    """Execute a report notebook, publish its HTML, and email it when recipients are given.

    Parameters
    ----------
    report
        A notebook path or a report name (``journey_report`` -> ``notebooks/journey_report``).
    parameters
        Papermill parameters (they override the notebook's ``parameters`` cell).
    out_root
        The reports folder; the report lands in ``<out_root>/<name>/<period>/``.
    email_to
        Recipients of the report email (none: no email).
    owner
        Who is alerted when the run fails.
    now
        The run's clock (a scheduled slot): sets ``as_of`` when the parameters leave it out.
    kernel_name, timeout
        Jupyter kernel (default: the project's kernel, ``journeylib``), and the limit in
        seconds for each cell.
    smtp
        :class:`journeylib.report.email.SmtpSettings` (default: from the environment when an
        email is to be sent).
    deliveries
        The schedule's delivery record of this slot
        (:class:`journeylib.report.email._delivery.SlotDeliveries`): a retried slot mails only the
        recipients it has not mailed yet, and alerts the owner at most once.

    Returns
    -------
    ReportResult

    Raises
    ------
    JourneyError
        Before anything runs, for inputs that cannot make a report (see the module docstring);
        nothing is written then.
    KeyboardInterrupt, Terminated
        When SIGINT or SIGTERM stopped the run (the kernel is stopped, nothing is left).

    Examples
    --------
    >>> run_report("journey_report", parameters={"as_of": "data_end"})  # doctest: +SKIP
    """
    import papermill

    from journeylib.report._staging import clean_stale, discard
    from journeylib.report.kernel import KERNEL_NAME, report_kernel, require_kernel
    from journeylib.report.parameters import (
        check_parameters,
        check_report_data,
        notebook_parameters,
    )

    started = time.monotonic()
    if timeout <= 0:
        raise JourneyError(f"timeout: expected a number of seconds above 0, got {timeout}")
    notebook = find_notebook(report)
    kernel_name = kernel_name or KERNEL_NAME
    require_kernel(kernel_name)
    name = notebook.stem
    root = Path(out_root)
    params = dict(parameters or {})
    if now is not None and "as_of" not in params and "as_of" in notebook_parameters(notebook):
        params["as_of"] = now.date().isoformat()
    params = check_parameters(notebook, params)
    if email_to and smtp is None:
        smtp = _mail_settings()
    check_report_data(notebook, params)
    from journeylib.report.experiment_readout import check_readout_parameters

    check_readout_parameters(notebook, params)
    clean_stale(root / name)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    staging = root / name / f".run-{stamp}-{os.getpid()}"
    created = [folder for folder in (root / name, root) if not folder.exists()]
    staging.mkdir(parents=True, exist_ok=False)
    executed = staging / "report.ipynb"
    try:
        with report_kernel() as kernel:
            papermill.execute_notebook(
                str(notebook),
                str(executed),
                parameters=params,
                kernel_name=kernel_name,
                cwd=str(notebook.parent.resolve()),
                progress_bar=False,
                start_timeout=120,
                execution_timeout=timeout,
                **kernel,
            )
    except Exception as exc:  # a failing notebook never becomes a report
        _refuse_empty_period(exc, staging, created)
        return _failed(exc, name, notebook, staging, executed, owner, smtp, started, deliveries)
    except BaseException:  # SIGINT, SIGTERM: the kernel is stopped; leave nothing behind
        discard(staging, created)
        raise

    executed_nb = nbformat.read(executed, as_version=4)
    run = _run_metadata(executed_nb)
    period = run.get("period") or stamp
    title = run.get("title") or name
    executed_nb.metadata["journeylib"] = {
        "title": title,
        "period": period,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    nbformat.write(executed_nb, executed)
    from journeylib.report.render import render_html

    (staging / "report.html").write_text(render_html(executed_nb, title=title), encoding="utf-8")
    folder = _publish(staging, root / name / period)
    html_path = folder / "report.html"
    result = ReportResult(
        ok=True,
        name=name,
        notebook=folder / "report.ipynb",
        folder=folder,
        html=html_path,
        period=period,
        title=title,
        seconds=time.monotonic() - started,
    )
    if not email_to:
        return result
    return _email(result, executed_nb, email_to, owner, smtp, started, deliveries)


def _mail_settings(purpose: str = "the report email") -> Any:
    """The SMTP settings of the environment, checked before the run (no server contacted).

    Raises :class:`MailSettingsError`, which names the ``JOURNEY_SMTP_*`` variables and what
    needs them.
    """
    from journeylib.report.email import SmtpSettings

    try:
        return SmtpSettings.from_env()
    except MailSettingsError as exc:
        raise MailSettingsError(exc.problems, needed_by=purpose) from None


def _refuse_empty_period(exc: BaseException, staging: Path, created: Sequence[Path]) -> None:
    """A period the kernel found empty is refused input, not a failed run: nothing is kept."""
    from papermill.exceptions import PapermillExecutionError

    from journeylib.report._data_range import EmptyPeriodError
    from journeylib.report._staging import discard

    if isinstance(exc, PapermillExecutionError) and exc.ename == EmptyPeriodError.__name__:
        discard(staging, created)
        raise EmptyPeriodError(_strip_ansi(exc.evalue)) from None


def _run_metadata(notebook: nbformat.NotebookNode) -> dict[str, Any]:
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("journeylib", {})
            if meta.get("role") == "run":
                return dict(meta)
    return {}


def _publish(staging: Path, target: Path) -> Path:
    """Swap the staging folder in place of ``target`` (never a half-written report)."""
    previous = None
    if target.exists():
        previous = target.with_name(f".old-{target.name}-{os.getpid()}")
        os.replace(target, previous)
    os.replace(staging, target)
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)
    return target


def _error_text(exc: BaseException) -> str:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        lines = [line for line in exc.traceback[-6:] if line.strip()]
        return f"{exc.ename}: {exc.evalue} (cell {exc.exec_count})\n" + "\n".join(lines)
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def _strip_ansi(text: str) -> str:

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _failed(
    exc: BaseException,
    name: str,
    notebook: Path,
    staging: Path,
    executed: Path,
    owner: str | None,
    smtp: Any,
    started: float,
    deliveries: Any = None,
) -> ReportResult:
    error = _strip_ansi(_error_text(exc))
    kept = staging.parent / "_failed" / staging.name.removeprefix(".run-")
    kept.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging, kept)
    kept_notebook = kept / executed.name
    alerted = alert_error = None
    if owner:
        alerted, alert_error = _alert(name, error, kept_notebook, owner, smtp, deliveries)
    return ReportResult(
        ok=False,
        name=name,
        notebook=kept_notebook if kept_notebook.exists() else notebook,
        folder=kept,
        error=error,
        alerted=alerted,
        alert_error=alert_error,
        seconds=time.monotonic() - started,
    )


def _alert(
    name: str, error: str, notebook: Path, owner: str, smtp: Any, deliveries: Any = None
) -> tuple[str | None, str | None]:
    """Send the failure alert to the owner: ``(owner, None)``, or ``(None, why it did not go)``.

    With a delivery record, an alert an earlier attempt of the slot sent is not sent again.
    """
    from journeylib.report.email import build_failure_alert
    from journeylib.report.email._delivery import deliver, mail_error_text

    try:
        settings = smtp or _mail_settings("the owner alert")
        message = build_failure_alert(
            job=name,
            error=error,
            notebook_path=str(notebook),
            sender=settings.sender,
            owner=owner,
        )
        delivered = deliver(message, settings, deliveries and deliveries.log("alert"))
    except JourneyError as exc:
        return None, mail_error_text(exc)
    if delivered.uncertain:
        return None, delivered.uncertain_note("alert")
    return owner, None


def _email(
    result: ReportResult,
    notebook: nbformat.NotebookNode,
    recipients: Sequence[str],
    owner: str | None,
    smtp: Any,
    started: float,
    deliveries: Any = None,
) -> ReportResult:
    from dataclasses import replace

    from journeylib.report.email import (
        Attachment,
        SmtpSettings,
        build_message,
        email_body_from_notebook,
    )
    from journeylib.report.email._delivery import deliver, mail_error_text

    try:
        settings = smtp or SmtpSettings.from_env()
        body = email_body_from_notebook(notebook)
        assert result.html is not None
        attachment = Attachment(
            f"{result.name}-{result.period}.html", result.html.read_bytes(), "text/html"
        )
        message = build_message(
            body,
            subject=result.title or result.name,
            sender=settings.sender,
            recipients=list(recipients),
            attachments=[attachment],
        )
        delivered = deliver(message, settings, deliveries and deliveries.log("report"))
    except JourneyError as exc:
        error = mail_error_text(exc)
        alerted, alert_error = (
            _alert(
                result.name,
                f"the report was written but not emailed: {error}",
                result.notebook,
                owner,
                smtp,
                deliveries,
            )
            if owner
            else (None, None)
        )
        return replace(
            result,
            ok=False,
            error=error,
            alerted=alerted,
            alert_error=alert_error,
            seconds=time.monotonic() - started,
        )
    note = delivered.uncertain_note("report")
    return replace(
        result,
        emailed_to=delivered.reached,
        notes=(note,) if note else (),
        seconds=time.monotonic() - started,
    )

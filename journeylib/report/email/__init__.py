"""The report email: body from the executed notebook, MIME message, failure alert, delivery.

A scheduled run executes the report notebook with Papermill; the outputs tagged with
``{"journeylib": {"role": ...}}`` become an email-safe HTML body (inline CSS, charts as inline
PNG parts referenced by ``cid:``, no scripts, no remote resources) with a plain-text
alternative. The full interactive report rides along as an attachment. A failed run sends a
plain-text alert to the owner instead, with no report content. Delivery retries transient SMTP
failures and never shows the password, in errors or in logs (logger
``journeylib.report.email``). Once the message content is handed to the server a broken
connection is not retried (the server may have delivered it): at most once, never twice. The
mail settings are the environment variables ``JOURNEY_SMTP_HOST``, ``_PORT``, ``_SECURITY``,
``_USER``, ``_PASSWORD``, ``_FROM`` and ``_TIMEOUT``; an error about them names the variable.

Examples
--------
>>> import nbformat
>>> from journeylib.report.email import (
...     Attachment, SmtpSettings, build_message, email_body_from_notebook, send_message,
... )
>>> notebook = nbformat.read("reports/weekly-2026-W43.ipynb", as_version=4)  # doctest: +SKIP
>>> body = email_body_from_notebook(notebook)  # doctest: +SKIP
>>> message = build_message(
...     body, subject=body.subject_hint, sender="reports@example.com",
...     recipients=["team@example.com"],
...     attachments=[Attachment("weekly-2026-W43.html", report_html, "text/html")],
... )  # doctest: +SKIP
>>> send_message(message, SmtpSettings.from_env()).summary  # doctest: +SKIP
'accepted for 1 of 1 recipients (after 1 attempt)'
"""

from __future__ import annotations

from journeylib.report.email._body import EmailBody, chart_cid, email_body_from_notebook
from journeylib.report.email._delivery import DeliveryJournal, DeliveryJournalError, journal_path
from journeylib.report.email._errors import (
    EmailContentError,
    EmailDeliveryError,
    MailSettingsError,
)
from journeylib.report.email._mime import (
    Attachment,
    build_failure_alert,
    build_message,
    is_address,
)
from journeylib.report.email._send import DeliveryLog, send_message
from journeylib.report.email._smtp import SendReport, SmtpSettings

__all__ = [
    "Attachment",
    "DeliveryJournal",
    "DeliveryJournalError",
    "DeliveryLog",
    "EmailBody",
    "EmailContentError",
    "EmailDeliveryError",
    "MailSettingsError",
    "SendReport",
    "SmtpSettings",
    "build_failure_alert",
    "build_message",
    "chart_cid",
    "email_body_from_notebook",
    "is_address",
    "journal_path",
    "send_message",
]

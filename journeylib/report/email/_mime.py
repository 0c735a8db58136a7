"""MIME assembly: the report message and the failure alert.

The report message is always ``multipart/mixed`` > ``multipart/alternative`` >
(``text/plain``, ``multipart/related`` > (``text/html``, inline PNGs)), followed by the
attachments, so that every client finds the same structure whatever the content.
"""

from __future__ import annotations

import email.policy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from journeylib.report.email._body import EmailBody
from journeylib.report.email._errors import EmailContentError

__all__ = ["Attachment", "build_failure_alert", "build_message", "is_address"]

#: An address as the suite accepts it: one ``@`` between non-empty parts, no white space.
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")
_CID_REFERENCE = re.compile(r"""cid:([^"'\s>)]+)""")
TRACEBACK_LINES = 20


def is_address(text: str) -> bool:
    """Whether ``text`` is an email address the suite sends to (``team@example.com``).

    Examples
    --------
    >>> is_address("team@example.com"), is_address("team"), is_address("a b@c")
    (True, False, False)
    """
    return bool(_ADDRESS.match(text))


@dataclass(frozen=True)
class Attachment:
    """A file attached to the report email.

    Examples
    --------
    >>> Attachment("journey-2026-W43.html", b"<html>...</html>", "text/html").mimetype
    'text/html'
    """

    filename: str
    data: bytes
    mimetype: str = "application/octet-stream"

    def __post_init__(self) -> None:
        if "/" not in self.mimetype:
            raise EmailContentError(
                f"attachment {self.filename!r}: mimetype must be 'type/subtype'; "
                f"found {self.mimetype!r}"
            )


def build_message(
    body: EmailBody,
    *,
    subject: str,
    sender: str,
    recipients: Sequence[str],
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """Assemble the report email, with the charts as inline images and the attachments.

    Parameters
    ----------
    body
        From :func:`email_body_from_notebook`.
    subject, sender
        The Subject and From headers.
    recipients
        The To addresses (at least one).
    attachments
        Files to attach, e.g. the full interactive report as ``text/html``.

    Returns
    -------
    EmailMessage
        A ``multipart/mixed`` message with the SMTP policy (CRLF line ends).

    Raises
    ------
    EmailContentError
        When a ``cid:`` in the HTML has no image, an image is never referenced, there are no
        recipients, or a header value contains a line break.

    Examples
    --------
    >>> message = build_message(
    ...     body, subject=body.subject_hint, sender="reports@example.com",
    ...     recipients=["team@example.com"],
    ...     attachments=[Attachment("report.html", report_html, "text/html")],
    ... )  # doctest: +SKIP
    """
    _check_cids(body)
    _check_headers(subject=subject, sender=sender, recipients=recipients)
    message = _headed_message(subject=subject, sender=sender, recipients=recipients)
    message.set_content(body.text)
    message.add_alternative(body.html, subtype="html")
    html_part = message.get_payload()[1]
    html_part.make_related()
    for cid, png in body.images.items():
        html_part.add_related(
            png,
            maintype="image",
            subtype="png",
            cid=f"<{cid}>",
            disposition="inline",
            filename=f"{cid.split('@', 1)[0]}.png",
        )
    message.make_mixed()
    for attachment in attachments:
        maintype, subtype = attachment.mimetype.split("/", 1)
        message.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
        if maintype == "text":
            # bytes of a text part are UTF-8 here; without the parameter readers assume ASCII
            message.get_payload()[-1].set_param("charset", "utf-8")
    for part in message.walk():
        if part is not message:
            del part["MIME-Version"]
    return message


def build_failure_alert(
    *,
    job: str,
    error: str,
    notebook_path: str | None,
    sender: str,
    owner: str,
    subject_prefix: str = "[journey report failed]",
    failed_what: str = "The scheduled journey report job '{job}' failed; no report was sent.",
) -> EmailMessage:
    """A plain-text alert to the report's owner when a scheduled run failed.

    It names the job, gives the last lines of the traceback and where the executed notebook is
    kept; it carries no report content (a failed run must never reach the audience).

    Parameters
    ----------
    job
        The scheduled job's name.
    error
        The error or full traceback; only its last lines are kept.
    notebook_path
        Where the executed (failed) notebook was saved; None when the run never finished
        (the alert then says so).
    sender, owner
        From and To.
    subject_prefix
        Put before the job name in the subject.
    failed_what
        The first line of the body; ``{job}`` is replaced by the job's name (an alert job says
        its incidents were not mailed).

    Examples
    --------
    >>> alert = build_failure_alert(
    ...     job="weekly-journey", error="Traceback ...\\nDataError: no events",
    ...     notebook_path="/srv/reports/failed/weekly.ipynb",
    ...     sender="reports@example.com", owner="analyst@example.com",
    ... )
    >>> alert["Subject"]
    '[journey report failed] weekly-journey'
    """
    _check_headers(subject=f"{subject_prefix} {job}", sender=sender, recipients=[owner])
    message = _headed_message(subject=f"{subject_prefix} {job}", sender=sender, recipients=[owner])
    tail = "\n".join(error.strip().splitlines()[-TRACEBACK_LINES:])
    kept = (
        f"The executed notebook is kept at:\n{notebook_path}\n"
        if notebook_path is not None
        else "No executed notebook was kept: the run never finished.\n"
    )
    message.set_content(
        f"{failed_what.replace('{job}', job)}\n\n"
        f"Error (last lines of the traceback):\n\n{tail}\n\n{kept}"
    )
    return message


def _headed_message(*, subject: str, sender: str, recipients: Sequence[str]) -> EmailMessage:
    message = EmailMessage(policy=email.policy.SMTP)
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=True)
    domain = sender.rpartition("@")[2].strip(" >") or "journeylib"
    message["Message-ID"] = make_msgid(domain=domain)
    return message


def _check_headers(*, subject: str, sender: str, recipients: Sequence[str]) -> None:
    if isinstance(recipients, str) or not recipients:
        raise EmailContentError(
            f"recipients must be a non-empty list of addresses; found {recipients!r}"
        )
    for name, value in [
        ("subject", subject),
        ("sender", sender),
        *(("recipient", r) for r in recipients),
    ]:
        if "\r" in value or "\n" in value:
            raise EmailContentError(f"{name} must be one line; found {value!r}")


def _check_cids(body: EmailBody) -> None:
    referenced = set(_CID_REFERENCE.findall(body.html))
    missing = sorted(referenced - set(body.images))
    unused = sorted(set(body.images) - referenced)
    problems = []
    if missing:
        problems.append(f"cid referenced in the HTML without an image: {', '.join(missing)}")
    if unused:
        problems.append(f"image never referenced by a cid in the HTML: {', '.join(unused)}")
    if problems:
        raise EmailContentError("; ".join(problems))

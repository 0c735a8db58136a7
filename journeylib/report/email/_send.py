"""Delivery through smtplib: retry transient failures, raise permanent ones, never leak secrets.

Transient: connection refused or reset, timeouts, a dropped connection, and any 4xx reply (also
when every recipient got a 4xx, as with greylisting). Permanent: 5xx replies, authentication
failures, TLS errors, and every recipient refused with at least one 5xx. The password is
scrubbed (also in the base64 forms AUTH PLAIN and AUTH LOGIN send) from every message and log
line, since a misbehaving server may echo it.

At most once: once the message itself has been handed to the server, a broken connection is
not retried, because the server may have delivered it before the line went down (the error
lists those recipients as ``uncertain``). A :class:`DeliveryLog` passed to
:func:`send_message` hears about each step in between: ``sending`` just before the message
content goes out (after every ``RCPT`` was answered), ``accepted`` as soon as the server
answers 250 to it (before ``QUIT``), ``not_sent`` when it refuses it.
"""

from __future__ import annotations

import base64
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Protocol

from journeylib.report.email._errors import EmailDeliveryError
from journeylib.report.email._smtp import SendReport, SmtpSettings, log

__all__ = ["DeliveryLog", "message_recipients", "send_message"]


class DeliveryLog(Protocol):
    """Hears what happens to one message, so that a caller can record it durably."""

    def sending(self, recipients: tuple[str, ...]) -> None:
        """The content is about to go out to these recipients (the server took their RCPT)."""

    def accepted(self, recipients: tuple[str, ...]) -> None:
        """The server answered 250 to the content: it has taken the message for them."""

    def not_sent(self, recipients: tuple[str, ...]) -> None:
        """The server refused the content, or it never left: nothing was delivered."""


class _TransientError(Exception):
    """A failure worth another attempt; carries the scrubbed reason."""


class _Uncertain(Exception):  # noqa: N818 (not an error of the caller: a state of delivery)
    """The content went out and the connection broke before the server's answer."""

    def __init__(self, recipients: tuple[str, ...], reason: str) -> None:
        super().__init__(reason)
        self.recipients = recipients


class _LoggedDelivery:
    """``smtplib`` with the DATA phase split open, to tell the :class:`DeliveryLog`."""

    delivery_log: DeliveryLog | None = None
    _taken: list[str]

    def mail(self, sender: str, options: Sequence[str] = ()) -> tuple[int, bytes]:
        self._taken = []
        return super().mail(sender, options)  # type: ignore[misc]

    def rcpt(self, recip: str, options: Sequence[str] = ()) -> tuple[int, bytes]:
        code, reply = super().rcpt(recip, options)  # type: ignore[misc]
        if code in (250, 251):
            self._taken.append(recip)
        return code, reply

    def data(self, msg: bytes | str) -> tuple[int, bytes]:
        """``smtplib.SMTP.data``, telling the log before the content and after the reply."""
        self.putcmd("data")  # type: ignore[attr-defined]
        code, reply = self.getreply()  # type: ignore[attr-defined]
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        taken = tuple(self._taken)
        if self.delivery_log is not None:
            self.delivery_log.sending(taken)
        try:
            # sendall hands every byte to the kernel or raises: on a raise the final "." is not
            # out, so the server cannot have taken the message
            self.send(_terminated(msg))  # type: ignore[attr-defined]
        except OSError:
            if self.delivery_log is not None:
                self.delivery_log.not_sent(taken)
            raise
        try:
            code, reply = self.getreply()  # type: ignore[attr-defined]
        except OSError as broken:
            raise _Uncertain(taken, f"{type(broken).__name__}: {broken}") from None
        if self.delivery_log is not None:
            if code == 250:
                self.delivery_log.accepted(taken)
            else:
                self.delivery_log.not_sent(taken)
        return code, reply


class _SMTP(_LoggedDelivery, smtplib.SMTP):
    pass


class _SMTPSSL(_LoggedDelivery, smtplib.SMTP_SSL):
    pass


def _terminated(msg: bytes | str) -> bytes:
    """The content as DATA sends it: leading dots doubled, ending in a ``.`` line.

    ``sendmail`` hands over bytes with CRLF line ends already (a ``str`` is fixed up there).
    """
    data = msg.encode("ascii") if isinstance(msg, str) else msg
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def message_recipients(message: EmailMessage) -> list[str]:
    """The addresses of the To, Cc and Bcc headers, in order."""
    return [address for _, address in getaddresses(_recipient_headers(message))]


def send_message(
    message: EmailMessage,
    settings: SmtpSettings,
    *,
    recipients: Sequence[str] | None = None,
    delivery_log: DeliveryLog | None = None,
    attempts: int = 4,
    backoff: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> SendReport:
    """Send a message, retrying transient failures with exponential backoff.

    Parameters
    ----------
    message
        From :func:`build_message` or :func:`build_failure_alert`; recipients are read from
        its To, Cc and Bcc headers.
    settings
        Server, security, credentials and timeout.
    recipients
        The envelope recipients (default: every address of the To, Cc and Bcc headers); a
        retried delivery passes the ones still to do.
    delivery_log
        Told each step of the delivery (see :class:`DeliveryLog`), e.g. to record it.
    attempts
        Connections to try at most (at least 1).
    backoff
        The first delay in seconds; it doubles after each failed attempt (2, 4, 8 s).
    sleep
        Waits between attempts; tests pass a function that records the delays.

    Returns
    -------
    SendReport
        Attempts made, accepted and refused recipients.

    Raises
    ------
    EmailDeliveryError
        At once on a permanent failure, or after the last attempt on transient ones. Its
        message names ``host:port``, the SMTP code and text and the refused recipients, never
        the password. A connection broken after the content went out is raised at once (its
        ``uncertain`` recipients may have the message), never retried.

    Examples
    --------
    >>> report = send_message(message, SmtpSettings.from_env())  # doctest: +SKIP
    >>> report.summary  # doctest: +SKIP
    'accepted for 2 of 2 recipients (after 1 attempt)'
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, found {attempts}")
    envelope = list(recipients) if recipients is not None else message_recipients(message)
    if not envelope:
        raise ValueError("send_message needs at least one recipient")
    last_reason = ""
    for attempt in range(1, attempts + 1):
        log.info(
            "sending %r to %d recipient(s) via %s (attempt %d of %d)",
            _scrub(str(message.get("Subject", "")), settings),
            len(envelope),
            settings.address,
            attempt,
            attempts,
        )
        try:
            refused = _deliver_once(message, settings, envelope, delivery_log)
        except _TransientError as transient:
            last_reason = str(transient)
            if attempt == attempts:
                break
            delay = backoff * 2 ** (attempt - 1)
            log.warning("%s; retrying in %.1f s", last_reason, delay)
            sleep(delay)
            continue
        except EmailDeliveryError as permanent:
            permanent.attempts = attempt
            raise
        report = SendReport(
            attempts=attempt,
            accepted=tuple(r for r in envelope if r not in refused),
            refused=refused,
        )
        (log.warning if refused else log.info)("%s: %s", settings.address, report.summary)
        return report
    message_text = f"gave up after {attempts} attempts: {last_reason}"
    log.error("%s", message_text)
    raise EmailDeliveryError(message_text, attempts=attempts)


def _recipient_headers(message: EmailMessage) -> list[str]:
    return [str(value) for name in ("To", "Cc", "Bcc") for value in message.get_all(name, [])]


def _deliver_once(
    message: EmailMessage,
    settings: SmtpSettings,
    envelope: list[str],
    delivery_log: DeliveryLog | None,
) -> dict[str, tuple[int, str]]:
    """One connection: connect, secure, log in, send. Returns the refused recipients."""
    where = settings.address
    connection: _SMTP | _SMTPSSL | None = None
    try:
        context = ssl.create_default_context()
        if settings.security == "ssl":
            connection = _SMTPSSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            connection = _SMTP(settings.host, settings.port, timeout=settings.timeout)
            if settings.security == "starttls":
                connection.starttls(context=context)
        connection.delivery_log = delivery_log
        if settings.user:
            connection.login(settings.user, settings.password or "")
        refused = connection.send_message(message, to_addrs=envelope)
        _quit(connection)
        return {
            address: (code, _reply_text(text, settings))
            for address, (code, text) in refused.items()
        }
    except _Uncertain as broken:
        listed = ", ".join(broken.recipients)
        raise _permanent(
            f"{where}: the connection broke after the message was handed over "
            f"({_scrub(str(broken), settings)}); the server may have delivered it to {listed}, "
            "so it is not sent again",
            uncertain=broken.recipients,
        ) from None
    except smtplib.SMTPRecipientsRefused as refusal:
        refusals = {
            address: (code, _reply_text(text, settings))
            for address, (code, text) in refusal.recipients.items()
        }
        listed = "; ".join(f"{a} ({c} {t})" for a, (c, t) in refusals.items())
        if all(400 <= code < 500 for code, _ in refusals.values()):
            reason = f"{where}: every recipient temporarily refused: {listed}"
            raise _TransientError(reason) from None
        raise _permanent(
            f"{where}: every recipient refused, nothing was sent: {listed}", refused=refusals
        ) from None
    except smtplib.SMTPAuthenticationError as failure:
        reply = _reply(failure, settings)
        reason = f"{where}: authentication failed for user {settings.user!r}: {reply}"
        if 400 <= failure.smtp_code < 500:
            raise _TransientError(reason) from None
        raise _permanent(reason, code=failure.smtp_code) from None
    except smtplib.SMTPResponseException as failure:
        reason = f"{where}: server replied {_reply(failure, settings)}"
        if 400 <= failure.smtp_code < 500:
            raise _TransientError(reason) from None
        raise _permanent(reason, code=failure.smtp_code) from None
    except smtplib.SMTPServerDisconnected as failure:
        raise _TransientError(
            f"{where}: connection closed by the server ({_scrub(str(failure), settings)})"
        ) from None
    except ssl.SSLError as failure:
        raise _permanent(
            f"{where}: TLS failed ({_scrub(str(failure), settings)}); check "
            f"JOURNEY_SMTP_SECURITY={settings.security} and JOURNEY_SMTP_PORT"
        ) from None
    except smtplib.SMTPException as failure:
        raise _permanent(f"{where}: {_scrub(str(failure), settings)}") from None
    except OSError as failure:
        kind = type(failure).__name__
        raise _TransientError(f"{where}: {kind}: {_scrub(str(failure), settings)}") from None
    finally:
        if connection is not None:
            connection.close()


def _quit(connection: smtplib.SMTP) -> None:
    """The message is accepted once sendmail returns; a failed QUIT changes nothing."""
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        log.debug("QUIT failed after the message was accepted")


def _permanent(
    reason: str,
    *,
    code: int | None = None,
    refused: dict[str, tuple[int, str]] | None = None,
    uncertain: tuple[str, ...] = (),
) -> EmailDeliveryError:
    log.error("%s", reason)
    return EmailDeliveryError(reason, code=code, refused=refused, uncertain=uncertain)


def _reply(failure: smtplib.SMTPResponseException, settings: SmtpSettings) -> str:
    return f"{failure.smtp_code} {_reply_text(failure.smtp_error, settings)}"


def _reply_text(text: bytes | str, settings: SmtpSettings) -> str:
    decoded = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return _scrub(decoded, settings)


def _scrub(text: str, settings: SmtpSettings) -> str:
    """Replace the password, raw or as AUTH PLAIN/LOGIN send it in base64, by ``***``."""
    password = settings.password
    if not password:
        return text
    user = settings.user or ""
    secrets = {
        password,
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(f"\0{user}\0{password}".encode()).decode(),
    }
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text

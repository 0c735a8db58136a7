"""Delivery through smtplib: retry transient failures, raise permanent ones, never leak secrets.

Transient: connection refused or reset, timeouts, a dropped connection, and any 4xx reply (also
when every recipient got a 4xx, as with greylisting). Permanent: 5xx replies, authentication
failures, TLS errors, and every recipient refused with at least one 5xx. The password is
scrubbed (also in the base64 forms AUTH PLAIN and AUTH LOGIN send) from every message and log
line, since a misbehaving server may echo it.
"""

from __future__ import annotations

import base64
import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import getaddresses

from journeylib.report._mail_errors import EmailDeliveryError
from journeylib.report._mail_smtp import SendReport, SmtpSettings, log

__all__ = ["send_message"]


class _TransientError(Exception):
    """A failure worth another attempt; carries the scrubbed reason."""


def send_message(
    message: EmailMessage,
    settings: SmtpSettings,
    *,
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
        the password.

    Examples
    --------
    >>> report = send_message(message, SmtpSettings.from_env())  # doctest: +SKIP
    >>> report.summary  # doctest: +SKIP
    'accepted for 2 of 2 recipients (after 1 attempt)'
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, found {attempts}")
    recipients = [address for _, address in getaddresses(_recipient_headers(message))]
    last_reason = ""
    for attempt in range(1, attempts + 1):
        log.info(
            "sending %r to %d recipient(s) via %s (attempt %d of %d)",
            _scrub(str(message.get("Subject", "")), settings),
            len(recipients),
            settings.address,
            attempt,
            attempts,
        )
        try:
            refused = _deliver_once(message, settings)
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
            accepted=tuple(r for r in recipients if r not in refused),
            refused=refused,
        )
        (log.warning if refused else log.info)("%s: %s", settings.address, report.summary)
        return report
    message_text = f"gave up after {attempts} attempts: {last_reason}"
    log.error("%s", message_text)
    raise EmailDeliveryError(message_text, attempts=attempts)


def _recipient_headers(message: EmailMessage) -> list[str]:
    return [str(value) for name in ("To", "Cc", "Bcc") for value in message.get_all(name, [])]


def _deliver_once(message: EmailMessage, settings: SmtpSettings) -> dict[str, tuple[int, str]]:
    """One connection: connect, secure, log in, send. Returns the refused recipients."""
    where = settings.address
    connection: smtplib.SMTP | None = None
    try:
        context = ssl.create_default_context()
        if settings.security == "ssl":
            connection = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            connection = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            if settings.security == "starttls":
                connection.starttls(context=context)
        if settings.user:
            connection.login(settings.user, settings.password or "")
        refused = connection.send_message(message)
        _quit(connection)
        return {
            address: (code, _reply_text(text, settings))
            for address, (code, text) in refused.items()
        }
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
    reason: str, *, code: int | None = None, refused: dict[str, tuple[int, str]] | None = None
) -> EmailDeliveryError:
    log.error("%s", reason)
    return EmailDeliveryError(reason, code=code, refused=refused)


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

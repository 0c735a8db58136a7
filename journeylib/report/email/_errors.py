"""The errors of the report email: bad notebook content, bad mail settings, a failed delivery."""

from __future__ import annotations

from journeylib.errors import ConfigError, JourneyError

__all__ = ["EmailContentError", "EmailDeliveryError", "MailSettingsError"]


class EmailContentError(JourneyError):
    """The report notebook or the message cannot make a valid email.

    Raised for a tagged output without the data its role needs, two charts with one name, two
    headlines, or an HTML body whose ``cid:`` references and inline images do not match.
    """


class MailSettingsError(ConfigError):
    """The ``JOURNEY_SMTP_*`` environment variables are missing or invalid.

    Each problem names its variable; the head line says that these are environment variables
    (not keys of a config file) and, with ``needed_by``, what needs them. ``file`` is
    ``"<environment>"``.

    Examples
    --------
    >>> print(MailSettingsError(["JOURNEY_SMTP_HOST is required (the SMTP server), found nothing"]))
    mail settings (environment variables JOURNEY_SMTP_*): 1 problem
      - JOURNEY_SMTP_HOST is required (the SMTP server), found nothing
    """

    def __init__(self, problems: list[str], *, needed_by: str | None = None) -> None:
        super().__init__("<environment>", problems)
        count = len(self.problems)
        needed = f" needed by {needed_by}" if needed_by else ""
        head = (
            f"mail settings (environment variables JOURNEY_SMTP_*){needed}: "
            f"{count} problem{'s' if count != 1 else ''}"
        )
        Exception.__init__(self, "\n".join([head, *(f"  - {p}" for p in self.problems)]))

    @property
    def summary(self) -> str:
        """The problems on one line, for a log line or a table cell."""
        return "; ".join(self.problems)


class EmailDeliveryError(JourneyError):
    """The SMTP server did not take the message, permanently or after every retry.

    The message names the server (``host:port``), the SMTP code and text, and the refused
    recipients; the password is scrubbed from it, even when the server echoes it.

    Parameters
    ----------
    message
        The already scrubbed explanation.
    code
        The SMTP reply code, when the server gave one.
    attempts
        How many connections were tried.
    refused
        Refused recipients, address to ``(code, text)``.
    uncertain
        Recipients that may have received the message: the connection broke after the message
        was handed to the server and before it replied. Such a message is never retried.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        attempts: int = 1,
        refused: dict[str, tuple[int, str]] | None = None,
        uncertain: tuple[str, ...] = (),
    ) -> None:
        self.code = code
        self.attempts = attempts
        self.refused = dict(refused or {})
        self.uncertain = tuple(uncertain)
        super().__init__(message)

"""The errors of the report email: bad notebook content, and a delivery that failed."""

from __future__ import annotations

from journeylib.errors import JourneyError

__all__ = ["EmailContentError", "EmailDeliveryError"]


class EmailContentError(JourneyError):
    """The report notebook or the message cannot make a valid email.

    Raised for a tagged output without the data its role needs, two charts with one name, two
    headlines, or an HTML body whose ``cid:`` references and inline images do not match.
    """


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
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        attempts: int = 1,
        refused: dict[str, tuple[int, str]] | None = None,
    ) -> None:
        self.code = code
        self.attempts = attempts
        self.refused = dict(refused or {})
        super().__init__(message)

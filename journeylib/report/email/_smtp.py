"""SMTP settings from the environment, and delivery with retries and scrubbed errors."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from journeylib.report.email._errors import MailSettingsError
from journeylib.report.email._mime import is_address

__all__ = ["SendReport", "SmtpSettings", "log"]

log = logging.getLogger("journeylib.report.email")

Security = Literal["starttls", "ssl", "none"]
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "ssl": 465, "none": 25}
DEFAULT_TIMEOUT = 30.0
_PREFIX = "JOURNEY_SMTP_"


@dataclass(frozen=True, repr=False)
class SmtpSettings:
    """How to reach the SMTP server; ``repr`` and ``str`` never show the password.

    Examples
    --------
    >>> settings = SmtpSettings.from_env({
    ...     "JOURNEY_SMTP_HOST": "smtp.example.com", "JOURNEY_SMTP_FROM": "reports@example.com",
    ...     "JOURNEY_SMTP_USER": "reports", "JOURNEY_SMTP_PASSWORD": "s3cret",
    ... })
    >>> settings
    SmtpSettings(host='smtp.example.com', port=587, security='starttls', user='reports', \
password=***, sender='reports@example.com', timeout=30.0)
    """

    host: str
    sender: str
    port: int = 587
    security: Security = "starttls"
    user: str | None = None
    password: str | None = field(default=None, compare=False)
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> SmtpSettings:
        """Read ``JOURNEY_SMTP_*`` variables; every missing or invalid one is reported at once.

        Raises
        ------
        MailSettingsError
            A :class:`~journeylib.errors.ConfigError` with file ``"<environment>"`` and one
            problem per variable, each naming it (``JOURNEY_SMTP_PORT must be ...``).
        """
        problems: list[str] = []
        host = environ.get(f"{_PREFIX}HOST", "").strip()
        sender = environ.get(f"{_PREFIX}FROM", "").strip()
        security = environ.get(f"{_PREFIX}SECURITY", "starttls").strip().lower() or "starttls"
        user = environ.get(f"{_PREFIX}USER", "").strip() or None
        password = environ.get(f"{_PREFIX}PASSWORD") or None
        if not host:
            problems.append(f"{_PREFIX}HOST is required (the SMTP server), found nothing")
        if not is_address(sender):
            problems.append(
                f"{_PREFIX}FROM is required: an address such as reports@example.com, "
                f"found {sender!r}"
            )
        if security not in DEFAULT_PORTS:
            problems.append(
                f"{_PREFIX}SECURITY must be one of starttls, ssl, none; found {security!r}"
            )
            security = "starttls"
        if bool(user) != bool(password):
            set_one, unset = ("USER", "PASSWORD") if user else ("PASSWORD", "USER")
            problems.append(f"{_PREFIX}{set_one} is set but {_PREFIX}{unset} is not; set both")
        port = _number(environ, "PORT", DEFAULT_PORTS[security], int, problems)
        if isinstance(port, int) and not 0 < port < 65536:
            problems.append(f"{_PREFIX}PORT must be within 1-65535, found {port}")
        timeout = _number(environ, "TIMEOUT", DEFAULT_TIMEOUT, float, problems)
        if not math.isfinite(timeout) or timeout <= 0:
            problems.append(
                f"{_PREFIX}TIMEOUT must be a positive number of seconds, found {timeout}"
            )
        if problems:
            raise MailSettingsError(problems)
        return cls(
            host=host,
            sender=sender,
            port=int(port),
            security=security,  # type: ignore[arg-type]
            user=user,
            password=password,
            timeout=float(timeout),
        )

    @property
    def address(self) -> str:
        """``host:port``, for messages."""
        return f"{self.host}:{self.port}"

    def __repr__(self) -> str:
        shown = "***" if self.password else "None"
        return (
            f"SmtpSettings(host={self.host!r}, port={self.port}, security={self.security!r}, "
            f"user={self.user!r}, password={shown}, sender={self.sender!r}, "
            f"timeout={self.timeout})"
        )

    __str__ = __repr__


def _number(
    environ: Mapping[str, str], name: str, default: float, kind: type, problems: list[str]
) -> float:
    raw = environ.get(f"{_PREFIX}{name}", "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        expected = "an integer" if kind is int else "a number of seconds"
        problems.append(f"{_PREFIX}{name} must be {expected}, found {raw!r}")
        return default


@dataclass(frozen=True)
class SendReport:
    """What the server accepted.

    Attributes
    ----------
    attempts
        Connections tried, the successful one included.
    accepted
        Recipients the server took.
    refused
        Recipients the server refused, address to ``(code, text)``; a partial refusal is
        reported here rather than raised.
    """

    attempts: int
    accepted: tuple[str, ...]
    refused: Mapping[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        """One line for logs: who got it, who did not and why."""
        total = len(self.accepted) + len(self.refused)
        line = f"accepted for {len(self.accepted)} of {total} recipients"
        if self.refused:
            refusals = "; ".join(
                f"{address} ({code} {text})" for address, (code, text) in self.refused.items()
            )
            line += f"; delivered anyway, but refused for: {refusals}"
        return f"{line} (after {self.attempts} attempt{'s' if self.attempts != 1 else ''})"

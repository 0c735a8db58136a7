"""A real SMTP server for the report tests: aiosmtpd on 127.0.0.1 and a free port, with AUTH."""

from __future__ import annotations

import contextlib
import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from journeylib.report.email import SmtpSettings

SENDER = "reports@example.com"
TEAM = "team@example.com"
OWNER = "owner@example.com"
SMTP_USER = "reports"
SMTP_PASSWORD = "pw-Zq7!never-shown-9041"


@dataclass
class Mailbox:
    """What a real SMTP server received: raw messages with their envelopes."""

    messages: list[tuple[list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.original_content)))
        return "250 Message accepted for delivery"

    def parsed(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(raw, policy=email.policy.default) for _, raw in self.messages
        ]


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode(),
        auth_data.password.decode(),
    ) == (SMTP_USER, SMTP_PASSWORD)
    return AuthResult(success=ok)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, SmtpSettings]]:
    """A real aiosmtpd server on 127.0.0.1 requiring AUTH; stopped on exit."""
    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticator,
        auth_require_tls=False,
        auth_required=True,
    )
    controller.start()
    try:
        yield (
            mailbox,
            SmtpSettings(
                host="127.0.0.1",
                port=port,
                security="none",
                sender=SENDER,
                user=SMTP_USER,
                password=SMTP_PASSWORD,
                timeout=10.0,
            ),
        )
    finally:
        controller.stop()

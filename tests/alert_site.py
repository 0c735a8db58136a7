"""A project folder with an alert job on the sample company, a real SMTP server and its mail.

Shared by ``tests/test_report_schedule_alert*.py``. The sample (50,000 users, seed 7: the default of
``make sample``) holds the android payment incident (30 Aug to 3 Sep 2026); the site keeps a copy
of it whose events stop at a chosen day, to extend it a day at a time as the data of a live
journey grows.
"""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import socket
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

SENDER = "alerts@example.com"
ONCALL = "oncall@example.com"
PAYMENTS = "payments@example.com"
OWNER = "owner@example.com"
INCIDENT = "payment_success_rate|platform=android|2026-08-30"
SMTP_VARIABLES = ("HOST", "PORT", "SECURITY", "USER", "PASSWORD", "FROM", "TIMEOUT")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps what it accepts; ``refuse`` makes it answer DATA so, and
    the addresses in ``unknown`` are refused at RCPT."""

    refuse: str | None = None
    unknown: tuple[str, ...] = ()
    port: int = 0
    messages: list[tuple[list[str], bytes]] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, options) -> str:
        if address in self.unknown:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return self.refuse
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def parsed(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(content, policy=email.policy.default)  # type: ignore[misc]
            for _, content in self.messages
        ]

    def recipients(self) -> list[list[str]]:
        return [rcpt for rcpt, _ in self.messages]

    def subjects(self) -> list[str]:
        return [str(message["Subject"]) for message in self.parsed()]


def smtp_env(port: int) -> dict[str, str]:
    """The mail settings of a server on 127.0.0.1 (every other JOURNEY_SMTP_* unset)."""
    values = {f"JOURNEY_SMTP_{name}": "" for name in SMTP_VARIABLES}
    return values | {
        "JOURNEY_SMTP_HOST": "127.0.0.1",
        "JOURNEY_SMTP_PORT": str(port),
        "JOURNEY_SMTP_SECURITY": "none",
        "JOURNEY_SMTP_FROM": SENDER,
        "JOURNEY_SMTP_TIMEOUT": "60",
    }


def alert_schedule(
    *,
    config: str = "../journey/journey.yml",
    recipients: Sequence[str] = (ONCALL, PAYMENTS),
    extra: str = "",
) -> str:
    """A schedule with one daily alert job on the payment KPI, 07:00 Berlin time."""
    return textwrap.dedent(
        f"""\
        timezone: Europe/Berlin
        jobs:
          - name: payments
            kind: alert
            cron: "0 7 * * *"
            config: {config}
            grain: day
            kpi: payment_success_rate
            by: [platform, country]
            recipients: [{", ".join(recipients)}]
            owner: {OWNER}
        """
    ) + textwrap.indent(textwrap.dedent(extra), "    ")


def events_until(sample: Path, journey: Path, day: str) -> None:
    """Copy the sample to ``journey`` (once) and keep its events before ``day`` (Berlin)."""
    if not journey.exists():
        shutil.copytree(sample, journey, ignore=shutil.ignore_patterns("events"))
    limit = datetime.fromisoformat(day).replace(tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)
    events = pl.read_parquet(sample / "events" / "**" / "*.parquet", hive_partitioning=False)
    kept = events.filter(pl.col("event_time") < limit)
    folder = journey / "events"
    staging = journey / ".events-new"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    kept.write_parquet(staging / "part-0.parquet")
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(staging, folder)


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def images(message: EmailMessage) -> list[EmailMessage]:
    return [part for part in message.walk() if part.get_content_type() == "image/png"]

"""An alert job never mails an incident twice and never loses one: real ticks, a real SMTP
server, a real SIGKILL, two ticks at once.

Each test runs ``journey schedule tick`` as a child process against aiosmtpd on 127.0.0.1, on
the sample company with its events up to 3 Sep 2026 (the android payment incident is under
way). The server stalls at a chosen moment of the delivery: before it answers a recipient
(nothing handed over yet), after it accepted the message (while the client waits for the answer
to QUIT), or after it received the content, before it answers it. The test kills the tick there
with SIGKILL, lets the server go on, runs the next tick and counts what the server received.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from alert_site import INCIDENT, ONCALL, PAYMENTS, alert_schedule, events_until, free_port, smtp_env

from journeylib.sample import generate_sample

JOURNEY = (sys.executable, "-m", "journeylib.cli")
BEFORE = "2026-09-03T06:00"  # Berlin: the first tick, which only sees the job
DUE = "2026-09-03T07:05"  # the 07:00 slot is due
SLOT = "2026-09-03T05:00:00+00:00"
TIMEOUT = 240


@dataclass
class StallingMailbox:
    """Keeps every message; ``stall`` is ``rcpt`` (before answering the first recipient),
    ``quit`` (the message accepted, QUIT hangs), ``reply`` (content kept, no answer) or None."""

    stall: str | None = None
    messages: list[tuple[list[str], bytes]] = field(default_factory=list)
    stalled: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(self, server, session, envelope, address, options) -> str:
        if self.stall == "rcpt":
            await self._hang()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        if self.stall == "reply":
            await self._hang()
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> Any:
        if self.stall == "quit":
            await self._hang()
        return "221 Bye"

    async def _hang(self) -> None:
        self.stalled.set()
        deadline = time.monotonic() + 120
        while not self.released.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    def recipients(self) -> list[list[str]]:
        return [rcpt for rcpt, _ in self.messages]


@pytest.fixture(scope="module")
def journey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sample = generate_sample(tmp_path_factory.mktemp("lumen"), users=50_000, seed=7)
    folder = tmp_path_factory.mktemp("site") / "journey"
    events_until(sample.config_path.parent, folder, "2026-09-03")
    return folder


@dataclass
class Site:
    root: Path
    schedule: Path
    mailbox: StallingMailbox
    env: dict[str, str]

    def tick(self, now: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*JOURNEY, "schedule", "tick", "--schedule", str(self.schedule), "--now", now],
            cwd=self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def tick_to_end(self, now: str) -> tuple[int, str, str]:
        child = self.tick(now)
        out, err = child.communicate(timeout=TIMEOUT)
        return child.returncode, out, err

    def ledger(self) -> dict[str, Any]:
        path = self.schedule.parent / ".schedule-state.alerts.json"
        return json.loads(path.read_text(encoding="utf-8"))["jobs"]["payments"]


@pytest.fixture
def site(tmp_path: Path, journey: Path) -> Iterator[Any]:
    controllers: list[Controller] = []

    def make(stall: str | None) -> Site:
        schedule = tmp_path / "reports" / "schedule.yml"
        schedule.parent.mkdir()
        schedule.write_text(alert_schedule(config=str(journey / "journey.yml")), encoding="utf-8")
        mailbox = StallingMailbox(stall=stall)
        controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
        controller.start()
        controllers.append(controller)
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEY_SMTP_")}
        env = {**inherited, "PYTHONWARNINGS": "ignore", **smtp_env(controller.port)}
        made = Site(tmp_path, schedule, mailbox, env)
        code, out, _ = made.tick_to_end(BEFORE)
        assert (code, "payments: first seen" in out) == (0, True)
        return made

    yield make
    for controller in controllers:
        controller.handler.released.set()
        controller.stop()


def kill_when_stalled(site: Site) -> None:
    """Run the due tick until the server stalls, then SIGKILL it."""
    child = site.tick(DUE)
    try:
        assert site.mailbox.stalled.wait(timeout=TIMEOUT), child.communicate(timeout=5)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    site.mailbox.stall = None
    site.mailbox.released.set()


def statuses(site: Site) -> list[dict[str, str | None]]:
    return [
        {r: (record or {}).get("status") for r, record in revision["recipients"].items()}
        for revision in site.ledger()[INCIDENT]["revisions"]
    ]


def test_killed_while_waiting_for_quit_the_incident_is_not_mailed_again(site) -> None:
    here = site("quit")
    kill_when_stalled(here)
    assert here.mailbox.recipients() == [[ONCALL, PAYMENTS]]
    code, out, err = here.tick_to_end(DUE)  # the slot is retried: the incidents found again
    assert (code, err) == (0, ""), out + err
    assert f"payments slot {SLOT}: ok (0 mails sent: 0 new, 0 grown, 1 unchanged" in out
    assert here.mailbox.recipients() == [[ONCALL, PAYMENTS]]
    assert statuses(here) == [{ONCALL: "sent", PAYMENTS: "sent"}]


def test_cut_off_before_the_servers_answer_is_reported_once_never_repeated(site) -> None:
    here = site("reply")
    kill_when_stalled(here)  # the server holds the message; the client never heard back
    assert here.mailbox.recipients() == [[ONCALL, PAYMENTS]]
    code, out, err = here.tick_to_end(DUE)
    assert code == 0, out + err
    (line,) = err.splitlines()
    assert line.startswith(f"journey schedule tick: payments slot {SLOT}: ")
    assert f"cut off while the server took the new mail of incident {INCIDENT}" in line
    assert "not sent again" in line
    assert here.mailbox.recipients() == [[ONCALL, PAYMENTS]]
    assert statuses(here) == [{ONCALL: "uncertain", PAYMENTS: "uncertain"}]
    code, out, err = here.tick_to_end("2026-09-03T08:00")  # said once: nothing due, nothing said
    assert (code, err, len(here.mailbox.messages)) == (0, "", 1)


def test_killed_before_the_message_left_it_is_sent_by_the_next_tick(site) -> None:
    here = site("rcpt")
    kill_when_stalled(here)  # planned in the ledger, nothing handed over
    assert here.mailbox.messages == []
    assert statuses(here) == [{ONCALL: None, PAYMENTS: None}]
    code, out, err = here.tick_to_end(DUE)
    assert (code, err) == (0, ""), out + err
    assert here.mailbox.recipients() == [[ONCALL, PAYMENTS]]  # no loss, and once
    assert statuses(here) == [{ONCALL: "sent", PAYMENTS: "sent"}]
    code, out, err = here.tick_to_end("2026-09-03T08:00")
    assert (code, len(here.mailbox.messages)) == (0, 1)


def test_a_second_tick_while_the_first_mails_does_nothing(site) -> None:
    here = site("quit")
    first = here.tick(DUE)
    try:
        assert here.mailbox.stalled.wait(timeout=TIMEOUT), first.communicate(timeout=5)
        code, out, err = here.tick_to_end(DUE)  # the first holds the lock, mid-delivery
        assert (code, err) == (0, ""), out + err
        assert "another tick is running" in out
        here.mailbox.released.set()
        out, err = first.communicate(timeout=TIMEOUT)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0, out + err
    assert f"payments slot {SLOT}: ok (1 mail sent: 1 new" in out
    assert here.mailbox.recipients() == [[ONCALL, PAYMENTS]]
    code, out, _ = here.tick_to_end(DUE)
    assert (code, "nothing due" in out, len(here.mailbox.messages)) == (0, True, 1)

"""Scheduled email is never sent twice: real ticks, a real SMTP server, a real SIGKILL.

Each test runs ``journey schedule tick`` as a child process against aiosmtpd on 127.0.0.1. The
server stalls at a chosen moment of the delivery (after it accepted the message, while the
client waits for the answer to QUIT; or after it received the content, before it answers it);
the test kills the tick there with SIGKILL, lets the server accept again, runs a second tick
for the same slot, and counts what the server received.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest
from aiosmtpd.controller import Controller
from nbformat.v4 import new_code_cell, new_notebook

ALICE = "alice@example.com"
BOB = "bob@example.com"
OWNER = "owner@example.com"
SENDER = "reports@example.com"
SLOT = "2026-01-05T07:00:00+00:00"
BEFORE_SLOT = "2026-01-05T06:00:00+00:00"
AFTER_SLOT = "2026-01-05T07:01:00+00:00"
JOURNEY = (sys.executable, "-m", "journeylib.cli")
KERNEL_TIMEOUT = 240  # the tick starts a kernel and runs the notebook: slow on a busy machine


@dataclass
class StallingMailbox:
    """An SMTP handler that keeps every message and can stall at one moment of a delivery.

    ``stall`` is ``"quit"`` (the message is accepted with 250, then QUIT hangs), ``"reply"``
    (the content is received and kept, the 250 never comes) or None (no stall).
    """

    stall: str | None = None
    messages: list[tuple[list[str], bytes]] = field(default_factory=list)
    stalled: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Site:
    """A project folder with a schedule, its notebooks and a mail server."""

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
        """Exit code, stdout, and the lines the tick itself wrote to stderr."""
        child = self.tick(now)
        out, err = child.communicate(timeout=KERNEL_TIMEOUT)
        # the kernel's own start-up warning is not the tick's to say (nor to hide)
        said = [line for line in err.splitlines() if not line.startswith("[IPKernelApp]")]
        return child.returncode, out, "\n".join(said)

    def state(self) -> dict[str, Any]:
        path = self.schedule.parent / ".schedule-state.json"
        return json.loads(path.read_text(encoding="utf-8"))["jobs"]["weekly"]


def write_notebook(path: Path, *, fails: bool) -> Path:
    body = (
        "raise RuntimeError('the orders table went missing')"
        if fails
        else "from journeylib.report.display import show\n"
        "show({'text/html': '<p>Visits rose 4%.</p>', 'text/plain': 'Visits rose 4%.'}, "
        "'headline')"
    )
    notebook = new_notebook(
        cells=[
            new_code_cell("as_of = 'data_end'", metadata={"tags": ["parameters"]}),
            new_code_cell(body),
        ]
    )
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Any]:
    controllers: list[Controller] = []

    def make(*, fails: bool, recipients: list[str], stall: str) -> Site:
        write_notebook(tmp_path / "notebooks" / "weekly.ipynb", fails=fails)
        schedule = tmp_path / "reports" / "schedule.yml"
        schedule.parent.mkdir(exist_ok=True)
        schedule.write_text(
            textwrap.dedent(
                f"""\
                timezone: UTC
                jobs:
                  - name: weekly
                    cron: "0 7 * * MON"
                    notebook: ../notebooks/weekly.ipynb
                    recipients: {json.dumps(recipients)}
                    owner: {OWNER}
                """
            ),
            encoding="utf-8",
        )
        mailbox = StallingMailbox(stall=stall)
        port = free_port()
        controller = Controller(mailbox, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEY_SMTP_")}
        env = {
            **inherited,
            "PYTHONWARNINGS": "ignore",
            "JOURNEY_SMTP_HOST": "127.0.0.1",
            "JOURNEY_SMTP_PORT": str(port),
            "JOURNEY_SMTP_SECURITY": "none",
            "JOURNEY_SMTP_FROM": SENDER,
            "JOURNEY_SMTP_TIMEOUT": "90",
        }
        made = Site(tmp_path, schedule, mailbox, env)
        code, out, _ = made.tick_to_end(BEFORE_SLOT)
        assert (code, "weekly: first seen" in out) == (0, True)
        return made

    yield make
    for controller in controllers:
        controller.handler.released.set()
        controller.stop()


def kill_when_stalled(site: Site) -> None:
    """Run the due tick until the server stalls, then SIGKILL it."""
    child = site.tick(AFTER_SLOT)
    try:
        assert site.mailbox.stalled.wait(timeout=KERNEL_TIMEOUT), child.communicate(timeout=5)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    site.mailbox.stall = None
    site.mailbox.released.set()


def test_report_killed_while_waiting_for_quit_is_not_mailed_again(site) -> None:
    here = site(fails=False, recipients=[ALICE, BOB], stall="quit")
    kill_when_stalled(here)
    assert here.mailbox.recipients() == [[ALICE, BOB]]
    code, out, err = here.tick_to_end(AFTER_SLOT)  # the slot is retried: its notebook runs again
    assert (code, err) == (0, ""), out + err
    assert f"weekly slot {SLOT}: ok" in out
    assert here.mailbox.recipients() == [[ALICE, BOB]]  # still one message per recipient
    state = here.state()
    assert (state["result"], state["last_slot"], state["attempts"]) == ("ok", SLOT, 0)


def test_owner_alert_killed_while_waiting_for_quit_is_not_sent_again(site) -> None:
    here = site(fails=True, recipients=[], stall="quit")
    kill_when_stalled(here)
    assert here.mailbox.recipients() == [[OWNER]]
    code, out, err = here.tick_to_end(AFTER_SLOT)
    assert code == 1, out + err
    assert f"weekly slot {SLOT}: failed (RuntimeError: the orders table went missing" in out
    assert err == ""
    assert here.mailbox.recipients() == [[OWNER]]
    assert here.state()["result"] == "failed"


def test_delivery_cut_off_before_the_servers_answer_is_reported_not_repeated(site) -> None:
    here = site(fails=False, recipients=[ALICE], stall="reply")
    kill_when_stalled(here)  # the server holds the message; the client never heard back
    assert here.mailbox.recipients() == [[ALICE]]
    code, out, err = here.tick_to_end(AFTER_SLOT)
    assert code == 0, out + err
    assert here.mailbox.recipients() == [[ALICE]]
    (line,) = err.splitlines()
    assert line.startswith(f"journey schedule tick: weekly slot {SLOT}: ")
    assert f"cut off while the server took the report for {ALICE}" in line
    assert "not sent again" in line
    assert here.state()["warnings"] == [line.split(f"{SLOT}: ", 1)[1]]

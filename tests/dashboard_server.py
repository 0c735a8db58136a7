"""A test helper: ``journey dashboard`` on a free port of 127.0.0.1, stopped when done.

:func:`running_dashboard` starts the command as a user does, waits for the URL it prints and
for the page to answer, yields a :class:`Served`, then sends SIGTERM and waits; the kernels
that ran just before the stop are recorded, so a test can check none of them outlived the
server (:meth:`Served.leftover_kernels`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Served", "free_port", "kernel_pids", "running_dashboard"]

START_TIMEOUT = 180


@dataclass(frozen=True)
class Served:
    url: str
    process: subprocess.Popen
    log: Path
    #: the kernel processes running just before the server was stopped
    kernels: list[int] = field(default_factory=list)

    def leftover_kernels(self) -> list[int]:
        """Those of :attr:`kernels` still alive (after the stop, orphans would be here)."""
        return [pid for pid in self.kernels if _alive(pid)]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def kernel_pids(server_pid: int) -> list[int]:
    """Kernel processes started by the server (children whose command runs ipykernel)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat[1]) == server_pid and "ipykernel" in command:
            found.append(int(entry.name))
    return found


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "voila/static/voila.js", timeout=5):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def running_dashboard(
    args: Sequence[str],
    *,
    cwd: Path,
    log: Path,
    env: dict[str, str] | None = None,
    host: str = "127.0.0.1",
) -> Iterator[Served]:
    port = free_port()
    command = [sys.executable, "-m", "journeylib.cli", "dashboard", *args, "--port", str(port)]
    full_env = {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}
    handle = log.open("w")
    process = subprocess.Popen(
        command, cwd=cwd, env=full_env, stdout=handle, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://{host}:{port}/"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise AssertionError(
                    f"journey dashboard exited {process.returncode}:\n" + log.read_text()
                )
            if "Journey dashboard: http" in log.read_text() and _answers(url):
                break
            if time.monotonic() > deadline:
                raise AssertionError("journey dashboard did not start:\n" + log.read_text())
            time.sleep(0.5)
        served = Served(url, process, log)
        yield served
    finally:
        if "served" in locals():
            served.kernels.extend(kernel_pids(process.pid))
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        handle.close()

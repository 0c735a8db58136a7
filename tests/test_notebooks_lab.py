"""``make lab``: JupyterLab on 127.0.0.1 whose kernel is the project's, with journeylib in it.

The test starts the real make target on a free port of 127.0.0.1 (token set, no browser, the
session's small sample as the sample), asks the REST API for the kernelspecs, finds the
project's kernel ``journeylib`` as the default one, starts it and runs a cell through the
kernel's websocket that imports journeylib and prints where from; then stops the server.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import websocket

import journeylib
from journeylib.report.kernel import KERNEL_NAME

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT = 180

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Lab:
    url: str
    token: str
    log: Path

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
        return json.loads(text) if text else {}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, small_sample_config: Path) -> Iterator[Lab]:
    sample = small_sample_config.parent
    home = tmp_path_factory.mktemp("lab")
    port, token = free_port(), secrets.token_hex(16)
    log = home / "lab.log"
    environment = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    args = f"--no-browser --IdentityProvider.token={token} --ServerApp.port_retries=0"
    with log.open("w") as out:
        server = subprocess.Popen(
            ["make", "-s", "lab", f"LAB_PORT={port}", f"LAB_ARGS={args}", f"SAMPLE_DIR={sample}"],
            cwd=REPO,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # make and JupyterLab in a group of their own, stopped below
        )
    started = Lab(f"http://127.0.0.1:{port}", token, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                started.request("GET", "/api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield started
    finally:
        stop(server)


def stop(server: subprocess.Popen) -> None:
    """Stop make and JupyterLab (the group the test started), killing them if they hang."""
    for sig, wait in ((signal.SIGTERM, 60), (signal.SIGKILL, 30)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, sig)
        try:
            server.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def test_lab_listens_on_localhost_only(lab: Lab):
    assert lab.url.startswith("http://127.0.0.1:")
    assert f"http://127.0.0.1:{lab.url.rsplit(':', 1)[1]}/lab" in lab.log.read_text()


def test_the_project_kernel_is_listed_and_the_default(lab: Lab):
    specs = lab.request("GET", "/api/kernelspecs")
    assert KERNEL_NAME in specs["kernelspecs"]
    assert specs["default"] == KERNEL_NAME
    spec = specs["kernelspecs"][KERNEL_NAME]["spec"]
    assert spec["display_name"] == "Python (journeylib)"
    # the kernel runs this environment's Python: journeylib and its dependencies are there
    assert Path(spec["argv"][0]).resolve() == Path(sys.executable).resolve()


def execute(lab: Lab, kernel_id: str, code: str, timeout: float = 120) -> tuple[str, list]:
    """Run ``code`` in a kernel through its websocket; its stdout and any error outputs."""
    address = lab.url.replace("http://", "ws://") + f"/api/kernels/{kernel_id}/channels"
    connection = websocket.create_connection(
        address, header=[f"Authorization: token {lab.token}"], timeout=timeout
    )
    msg_id, session = uuid.uuid4().hex, uuid.uuid4().hex
    request = {
        "header": {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "session": session,
            "username": "test",
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
        },
        "channel": "shell",
        "buffers": [],
    }
    stdout, errors = "", []
    try:
        connection.send(json.dumps(request))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(connection.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = message["msg_type"]
            if kind == "stream" and message["content"]["name"] == "stdout":
                stdout += message["content"]["text"]
            elif kind == "error":
                errors.append(message["content"])
            elif kind == "status" and message["content"]["execution_state"] == "idle":
                return stdout, errors
    finally:
        connection.close()
    pytest.fail(f"no reply from the kernel in {timeout} s")


def test_a_cell_imports_journeylib_in_the_project_kernel(lab: Lab):
    kernel = lab.request("POST", "/api/kernels", {"name": KERNEL_NAME})
    try:
        assert kernel["name"] == KERNEL_NAME
        stdout, errors = execute(
            lab,
            kernel["id"],
            "import sys, journeylib\n"
            "print(journeylib.__version__, journeylib.__file__, sys.prefix)",
        )
        assert errors == []
        version, location, prefix = stdout.split()
        assert version == journeylib.__version__
        assert Path(location).resolve() == Path(journeylib.__file__).resolve()
        assert Path(prefix).resolve() == Path(sys.prefix).resolve()
    finally:
        lab.request("DELETE", f"/api/kernels/{kernel['id']}")

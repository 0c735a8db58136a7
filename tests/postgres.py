"""A real, throw-away PostgreSQL server for tests.

:func:`temporary_postgres` creates a cluster in a temporary folder, starts it on 127.0.0.1 and a
free port (its unix socket stays in the same folder), creates a database owned by a
password-protected user, yields the URI, and always stops the server and removes the folder
afterwards. When run as root (initdb refuses root), the server binaries run as the ``postgres``
system user that Debian's ``postgresql`` package creates.

Examples
--------
>>> with temporary_postgres(find_postgres_bin_dir()) as uri:  # doctest: +SKIP
...     print(uri)
postgresql://journey:...@127.0.0.1:54321/journey
"""

from __future__ import annotations

import ctypes
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

__all__ = [
    "POSTGRES_BIN_GLOBS",
    "find_postgres_bin_dir",
    "free_port",
    "temporary_postgres",
]

POSTGRES_BIN_GLOBS = ("/usr/lib/postgresql/*/bin/initdb", "/usr/local/pgsql/bin/initdb")
_SERVER_BINARIES = ("initdb", "postgres")
_ADMIN = "journey_admin"
_START_ATTEMPTS = 3
_PR_SET_PDEATHSIG = 1


def find_postgres_bin_dir() -> Path | None:
    """The folder holding ``initdb`` and ``postgres`` (newest version), or ``None``.

    Debian keeps them in ``/usr/lib/postgresql/<version>/bin``, outside ``PATH``; ``PATH`` is
    searched after that.
    """
    candidates = sorted(
        (Path(found).parent for pattern in POSTGRES_BIN_GLOBS for found in glob.glob(pattern)),
        key=lambda folder: _version_key(folder.parent.name),
        reverse=True,
    )
    initdb_on_path = shutil.which("initdb")
    if initdb_on_path:
        candidates.append(Path(initdb_on_path).resolve().parent)
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in _SERVER_BINARIES):
            return folder
    return None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def temporary_postgres(
    bin_dir: Path,
    *,
    user: str = "journey",
    password: str = "s3cret-Journey!pw",
    database: str = "journey",
    prefix: str = "journeylib-pg-",
) -> Iterator[str]:
    """Run a temporary PostgreSQL cluster and yield ``postgresql://user:password@127.0.0.1:port/db``.

    Parameters
    ----------
    bin_dir
        Folder of ``initdb`` and ``postgres`` (see :func:`find_postgres_bin_dir`).
    user, password, database
        The login role (password authentication over TCP) and the database it owns.
    prefix
        Name prefix of the temporary folder (tests use it to check that nothing is left behind).

    Raises
    ------
    RuntimeError
        When the cluster cannot be created or started; the message carries the server log.
    """
    run_as = _server_account()
    root = Path(tempfile.mkdtemp(prefix=prefix))
    server = _Server(bin_dir, root, run_as)
    try:
        if run_as is not None:
            os.chown(root, run_as.pw_uid, run_as.pw_gid)
        admin_password = secrets.token_hex(16)
        server.init(admin_password)
        server.start()
        _create_login(server.port, admin_password, user=user, password=password, database=database)
        secret = quote(password, safe="!$&'()*+,;=-._~")  # percent-encode only what a URI needs
        yield f"postgresql://{user}:{secret}@127.0.0.1:{server.port}/{database}"
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


def _server_account() -> pwd.struct_passwd | None:
    """The ``postgres`` account to run the binaries as when we are root, else ``None``."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError(
            "running as root, and initdb refuses root: create the 'postgres' system user "
            "(Debian's postgresql package does) or run the tests as another user"
        ) from None


class _Server:
    """One cluster folder: ``data/`` (the cluster), ``server.log`` and the unix socket."""

    def __init__(self, bin_dir: Path, root: Path, run_as: pwd.struct_passwd | None) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.log = root / "server.log"
        self.run_as = run_as
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def _process_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"cwd": self.root, "env": {**os.environ, "LC_ALL": "C"}}
        if self.run_as is not None:
            options |= {"user": self.run_as.pw_uid, "group": self.run_as.pw_gid}
            options["extra_groups"] = []
        return options

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **self._process_options(),
        )

    def init(self, admin_password: str) -> None:
        password_file = self.root / "admin-password"
        password_file.write_text(admin_password + "\n")
        if self.run_as is not None:
            os.chown(password_file, self.run_as.pw_uid, self.run_as.pw_gid)
        result = self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            _ADMIN,
            f"--pwfile={password_file}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        password_file.unlink()
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> None:
        """Run ``postgres`` as our own child (so stopping it also reaps it) and wait until ready."""
        for _ in range(_START_ATTEMPTS):
            self.port = free_port()
            with self.log.open("w") as log:
                self.process = subprocess.Popen(
                    [
                        str(self.bin_dir / "postgres"),
                        "-D",
                        str(self.data),
                        *("-c", "listen_addresses=127.0.0.1", "-c", f"port={self.port}"),
                        *("-c", f"unix_socket_directories={self.root}"),
                        *("-c", "fsync=off", "-c", "synchronous_commit=off"),
                        *("-c", "full_page_writes=off", "-c", "max_connections=20"),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    preexec_fn=_stop_when_parent_dies,
                    **self._process_options(),
                )
            if self._wait_until_ready():
                return
            self.stop()
            if "could not bind" not in self.log.read_text():
                break
        raise RuntimeError(f"PostgreSQL did not start:\n{self.log.read_text()}")

    def _wait_until_ready(self, timeout: float = 30) -> bool:
        # postmaster.pid's 8th line turns to "ready" once connections are accepted
        pid_file = self.data / "postmaster.pid"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                lines = pid_file.read_text().splitlines()
            except FileNotFoundError:
                lines = []
            if len(lines) >= 8 and lines[7].strip() == "ready":
                return True
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL; always reaped."""
        if self.process is None:
            return
        for stop_signal, grace in ((signal.SIGINT, 15), (signal.SIGQUIT, 5), (signal.SIGKILL, 5)):
            if self.process.poll() is not None:
                break
            self.process.send_signal(stop_signal)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                continue
        self.process = None


def _stop_when_parent_dies() -> None:
    """In the server's process: get SIGINT (fast shutdown) when the test process dies.

    So a test run killed without cleanup leaves no server running. Linux only; runs after the
    switch to the ``postgres`` user, which would otherwise clear the setting.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGINT)


def _create_login(
    port: int, admin_password: str, *, user: str, password: str, database: str
) -> None:
    with psycopg.connect(
        host="127.0.0.1",
        port=port,
        user=_ADMIN,
        password=admin_password,
        dbname="postgres",
        autocommit=True,
    ) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(user), sql.Literal(password)
            )
        )
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(database), sql.Identifier(user)
            )
        )

"""The harness of the table-driven bad-input tests (``tests/test_*_bad_inputs*.py``).

Every error a user can cause must end the command with exit code 2 and one clear line on
stderr that names the input (a config with several problems lists them below it, one
``  - `` line each), with no traceback, and must write nothing. A case is a
:class:`BadInput`: the command line, the words the message must hold, and the folders whose
contents must not change. :func:`check_bad_input` runs the command in a child process (as a
user runs it, so a traceback printed by any layer is seen) and asserts all of that.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["BadInput", "CliRun", "check_bad_input", "run_journey", "snapshot"]


@dataclass(frozen=True)
class BadInput:
    """One bad input: ``args`` of ``journey``, and what the one-line message must name.

    ``{dir}`` in an argument is replaced by the case's working folder. ``message`` lists
    substrings the stderr line must contain (case-insensitive); ``env`` adds environment
    variables; ``watch`` names folders (relative to the working folder) that must be left as
    they were (default: the whole working folder).
    """

    id: str
    args: Sequence[str]
    message: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    watch: Sequence[str] = (".",)


@dataclass(frozen=True)
class CliRun:
    """What one run of ``journey`` gave."""

    returncode: int
    stdout: str
    stderr: str


def run_journey(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> CliRun:
    """Run ``python -m journeylib.cli ARGS`` in ``cwd`` and capture its output."""
    full_env = {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}
    done = subprocess.run(
        [sys.executable, "-m", "journeylib.cli", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return CliRun(done.returncode, done.stdout, done.stderr)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (relative path -> sha256), to tell that nothing changed."""
    if not folder.exists():
        return {}
    if folder.is_file():
        return {".": hashlib.sha256(folder.read_bytes()).hexdigest()}
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            found[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_dir() and not any(path.iterdir()):
            found[str(path.relative_to(folder)) + "/"] = "empty folder"
    return found


def check_bad_input(case: BadInput, workdir: Path) -> CliRun:
    """Run a bad input in ``workdir`` and assert exit 2, one named line, nothing written."""
    args = [arg.replace("{dir}", str(workdir)) for arg in case.args]
    env = {k: v.replace("{dir}", str(workdir)) for k, v in case.env.items()}
    before = {name: snapshot(workdir / name) for name in case.watch}
    run = run_journey(args, cwd=workdir, env=env)
    shown = f"journey {' '.join(args)}\nexit {run.returncode}\nstderr:\n{run.stderr}"
    assert run.returncode == 2, shown
    assert "Traceback" not in run.stderr, shown
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert lines, shown
    # one line; a config with several problems lists them below it, one "  - " line each
    assert all(line.startswith("  - ") for line in lines[1:]), shown
    text = run.stderr.lower()
    for word in case.message:
        assert word.replace("{dir}", str(workdir)).lower() in text, f"{word!r} not said\n{shown}"
    after = {name: snapshot(workdir / name) for name in case.watch}
    assert after == before, f"files changed\n{shown}"
    return run

"""Shared fixtures, and the rule for tests that need a system program.

A test that drives a real program (PostgreSQL, chromium) is skipped with an install hint when the
program is missing, except under ``CI=true``, where a missing program is a failure: CI must run
every test.
"""

from __future__ import annotations

import glob
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from postgres import POSTGRES_BIN_GLOBS, find_postgres_bin_dir, temporary_postgres

__all__ = ["require_system_tool"]

POSTGRES_INSTALL_HINT = "apt-get install postgresql (or make system-deps)"


def require_system_tool(name: str, install_hint: str, *, candidates: Sequence[str] = ()) -> Path:
    """The path of a program the test needs; skip (fail under ``CI=true``) when it is missing.

    Parameters
    ----------
    name
        The program, looked up on ``PATH`` after ``candidates``.
    install_hint
        How to install it, e.g. ``"apt-get install chromium (or make system-deps)"``.
    candidates
        Paths or globs to try first, for programs outside ``PATH``
        (``/usr/lib/postgresql/*/bin/initdb``).

    Examples
    --------
    >>> chromium = require_system_tool("chromium", "apt-get install chromium")  # doctest: +SKIP
    """
    found = [Path(p) for pattern in candidates for p in sorted(glob.glob(pattern), reverse=True)]
    on_path = shutil.which(name)
    if on_path:
        found.append(Path(on_path))
    for path in found:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    message = f"{name} is not installed; install it with: {install_hint}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: tests needing it must run)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_bin_dir() -> Path:
    """The folder of ``initdb`` and ``postgres`` (skip or fail when PostgreSQL is missing)."""
    initdb = require_system_tool("initdb", POSTGRES_INSTALL_HINT, candidates=POSTGRES_BIN_GLOBS)
    bin_dir = find_postgres_bin_dir()
    if bin_dir is None:
        pytest.fail(f"{initdb} has no postgres server binary beside it", pytrace=False)
    return bin_dir


@pytest.fixture(scope="session")
def postgres_uri(postgres_bin_dir: Path) -> Iterator[str]:
    """``postgresql://journey:<password>@127.0.0.1:<port>/journey`` of a throw-away server."""
    with temporary_postgres(postgres_bin_dir) as uri:
        yield uri


CHROMIUM_INSTALL_HINT = "apt-get install chromium (or make system-deps)"
#: Flags for Debian's chromium in a sandbox with no network but loopback.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's chromium (skip or fail when missing; never a downloaded browser)."""
    return require_system_tool("chromium", CHROMIUM_INSTALL_HINT, candidates=("/usr/bin/chromium",))


@pytest.fixture(scope="session")
def browser(chromium_path: Path) -> Iterator[object]:
    """A headless chromium driven by Playwright, closed after the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium_path), args=list(CHROMIUM_FLAGS)
        )
        try:
            yield launched
        finally:
            launched.close()

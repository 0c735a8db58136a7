"""Shared fixtures, the ``slow`` marker, and the rule for tests that need a system program.

A test that drives a real program (PostgreSQL, chromium) is skipped with an install hint when the
program is missing, except under ``CI=true``, where a missing program is a failure: CI must run
every test.

The small sample company (3,000 users) and the first run of the report notebook on it are
session fixtures (``small_sample_config``, ``published_report``): the whole suite generates
the one and executes the other once.
"""

from __future__ import annotations

import glob
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from postgres import POSTGRES_BIN_GLOBS, find_postgres_bin_dir, temporary_postgres

__all__ = ["PublishedReport", "require_system_tool"]

REPO = Path(__file__).resolve().parents[1]
REPORT_NOTEBOOK = REPO / "notebooks" / "journey_report.ipynb"
#: The small sample company of the session: 3,000 users, seed 7, 180 days from 2026-05-04.
SAMPLE_USERS = 3_000
SAMPLE_SEED = 7

POSTGRES_INSTALL_HINT = "apt-get install postgresql (or make system-deps)"

#: Modules whose tests run Papermill, a browser, JupyterLab, Voilà or PostgreSQL (or the report
#: notebook through the CLI): every test in them is ``slow``, left out by ``make test-fast``.
SLOW_MODULES = frozenset(
    {
        "test_dashboard_browser.py",
        "test_dashboard_serve.py",
        "test_notebooks.py",
        "test_notebooks_browser.py",
        "test_notebooks_lab.py",
        "test_report_browser.py",
        "test_report_browser_values.py",
        "test_report_emailed.py",
        "test_report_kernel.py",
        "test_report_run.py",
    }
)
#: Modules whose every test starts ``journey`` as a child process (as a user runs it: exit code,
#: stderr, files left behind), about a second of start-up each: ``slow`` too.
CHILD_PROCESS_MODULES = frozenset(
    {
        "test_cli_bad_inputs.py",
        "test_cli_bad_inputs_analyses.py",
        "test_cli_bad_inputs_optimise.py",
        "test_cli_pipes.py",
        "test_dashboard_bad_inputs.py",
        "test_notebooks_bad_inputs.py",
        "test_report_bad_inputs.py",
        "test_report_bad_inputs_experiment_readout.py",
        "test_report_bad_inputs_scaffold.py",
        "test_report_bad_inputs_schedule.py",
        "test_report_schedule_delivery.py",
    }
)
#: Fixtures that start such a program: a test using one (even through another fixture) is slow.
SLOW_FIXTURES = frozenset(
    {"browser", "chromium_path", "postgres_bin_dir", "postgres_uri", "published_report"}
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``slow`` the tests of :data:`SLOW_MODULES` and :data:`CHILD_PROCESS_MODULES`, those
    using :data:`SLOW_FIXTURES` and those marked ``browser`` or ``postgres``."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if (
            item.path.name in SLOW_MODULES | CHILD_PROCESS_MODULES
            or fixtures & SLOW_FIXTURES
            or item.get_closest_marker("browser")
            or item.get_closest_marker("postgres")
        ):
            item.add_marker(pytest.mark.slow)


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


@pytest.fixture(scope="session")
def small_sample_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The absolute ``journey.yml`` of the session's small sample company (3,000 users)."""
    from journeylib.sample import generate_sample

    folder = tmp_path_factory.mktemp("sample")
    result = generate_sample(folder, users=SAMPLE_USERS, seed=SAMPLE_SEED)
    return Path(result.config_path).resolve()


@dataclass(frozen=True)
class PublishedReport:
    """The first run of the report notebook, and its files as they were right after it."""

    result: Any  # journeylib.report.run.ReportResult
    out_root: Path
    html: str
    notebook: Any


@pytest.fixture(scope="session")
def published_report(
    tmp_path_factory: pytest.TempPathFactory, small_sample_config: Path
) -> PublishedReport:
    """The report notebook run once for the session on the small sample (``as_of`` data end)."""
    from journeylib.report.run import run_report

    out_root = tmp_path_factory.mktemp("reports")
    result = run_report(
        REPORT_NOTEBOOK,
        parameters={"config_path": str(small_sample_config), "as_of": "data_end"},
        out_root=out_root,
        timeout=300,
    )
    assert result.ok, result.error
    assert result.html is not None
    return PublishedReport(
        result=result,
        out_root=out_root,
        html=result.html.read_text(encoding="utf-8"),
        notebook=nbformat.read(result.notebook, as_version=4),
    )

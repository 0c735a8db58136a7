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
#: stderr, files left behind), about a second of start-up each, or reads the default sample:
#: ``slow`` too, so that ``make test-fast`` stays under a minute.
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
        "test_report_schedule_alert_delivery.py",
        "test_report_schedule_delivery.py",
        # git running the notebook filter and nbdime's diff and merge drivers
        "test_notebooks_hygiene.py",
        # the report's optimisation and the KPI incidents on the default sample (50,000 users)
        "test_optimise_kpi_incidents.py",
        "test_report_optimise.py",
        "test_report_schedule_alert.py",
    }
)
#: Single tests of otherwise fast modules (``module::test``) that start a child process or
#: take several seconds of generated data.
SLOW_TESTS = frozenset(
    {
        "test_charts_workbench.py::test_render_offline_puts_the_vega_libraries_in_the_output",
        "test_dashboard.py::test_the_cards_hold_the_numbers_of_journey_kpis_json",
        "test_dashboard.py::test_the_card_markup_carries_each_value_of_the_cli",
        "test_data_sources.py::test_a_bad_byte_far_down_a_large_file_is_found",
        "test_funnel_dense.py::test_dense_matches_the_general_matcher",
        "test_journey_api.py::test_cli_stops_quietly_when_the_reader_goes_away",
        "test_kpis_determinism.py::test_kpi_table_is_identical_across_runs",
        "test_optimise_incidents.py::test_a_significant_fall_below_ten_percent_is_not_an_incident",
        "test_report_escaping.py::test_a_value_xml_cannot_hold_does_not_abort_the_chart_image",
        "test_stats.py::test_ratio_delta_variance_matches_the_spread_of_repeated_experiments",
        "test_validate.py::test_every_row_is_kept_quarantined_or_a_counted_duplicate",
    }
)
#: Fixtures of a module that generate a sample company of thousands of users (a few seconds
#: each): the tests that read one are slow; the module's tests on literal frames are not.
SAMPLE_FIXTURES = {
    "test_dashboard.py": {"sample"},
    "test_journey_api.py": {"sample_config"},
    "test_kpis_reference.py": {"journey"},
    "test_kpis_slices.py": {"sample"},
}
#: Fixtures that start such a program: a test using one (even through another fixture) is slow.
SLOW_FIXTURES = frozenset(
    {
        "browser",
        "chromium_path",
        "postgres_bin_dir",
        "postgres_uri",
        "published_report",
        "small_sample_config",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``slow`` the tests of :data:`SLOW_MODULES`, :data:`CHILD_PROCESS_MODULES` and
    :data:`SLOW_TESTS`, those using :data:`SLOW_FIXTURES` or their module's
    :data:`SAMPLE_FIXTURES`, and those marked ``browser`` or ``postgres``."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        module = item.path.name
        if (
            module in SLOW_MODULES | CHILD_PROCESS_MODULES
            or f"{module}::{getattr(item, 'originalname', item.name)}" in SLOW_TESTS
            or fixtures & (SLOW_FIXTURES | SAMPLE_FIXTURES.get(module, set()))
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

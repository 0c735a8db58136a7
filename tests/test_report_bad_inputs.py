"""Bad inputs of ``journey report run``: exit 2, one line naming the input, nothing written.

Each case runs the command in a child process (harness ``tests/bad_inputs.py``) against the real
report notebook and a tiny journey with a hole in its data (``tests/gap_journey.py``), with the
reports folder inside the watched working folder: no report, no staging folder, no ``_failed``
entry may appear. ``{dir}`` is the case's working folder, ``{config}`` the journey config; the
files a case needs (a broken config, a broken notebook) are written before the command runs.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import nbformat
import pytest
from bad_inputs import BadInput, check_bad_input
from gap_journey import GAP_WEEK, write_gap_journey
from nbformat.v4 import new_code_cell, new_notebook

REPORT = str(Path(__file__).resolve().parents[1] / "notebooks" / "journey_report.ipynb")
RUN = ["report", "run", REPORT, "--out", "{dir}/reports", "-p", "config_path", "{config}"]
NO_SMTP = {
    name: ""
    for name in (
        "JOURNEY_SMTP_HOST",
        "JOURNEY_SMTP_PORT",
        "JOURNEY_SMTP_SECURITY",
        "JOURNEY_SMTP_USER",
        "JOURNEY_SMTP_PASSWORD",
        "JOURNEY_SMTP_FROM",
    )
}
KNOWN = "config_path, period, as_of, grain, filters, comparison, title, funnel"


def parameter(name: str, value: str) -> list[str]:
    return [*RUN, "-p", name, value]


def _notebook_without_parameters() -> str:
    return nbformat.writes(new_notebook(cells=[new_code_cell("x = 1")]))


#: Files written into the working folder before a case runs (relative path -> text).
FILES = {
    "not-yaml": {"bad.yml": "name: [unclosed\nsources: {\n"},
    "config-invalid": {"invalid.yml": "name: x\ntimezone: Mars/Olympus\n"},
    "notebook-not-json": {"broken.ipynb": "root:x:0:0:do-not-print-me\n"},
    "notebook-without-parameters": {"plain.ipynb": _notebook_without_parameters()},
}

CASES = [
    BadInput("unknown-parameter", parameter("colour", "red"), ["no parameter 'colour'", KNOWN]),
    BadInput(
        "code-in-a-parameter-name",
        parameter("x = open('{dir}/pwned', 'w').write('hi'); y", "1"),
        ['no parameter "x = open(', KNOWN],
    ),
    BadInput(
        "trend-periods-not-a-number",
        parameter("trend_periods", "many"),
        ["parameter 'trend_periods'", "expected int, got 'many'"],
    ),
    BadInput(
        "filters-a-list",
        parameter("filters", "[ios]"),
        ["parameter 'filters'", "expected dict[str, list[str]]"],
    ),
    BadInput(
        "trend-kpis-a-number",
        parameter("trend_kpis", "7"),
        ["parameter 'trend_kpis'", "expected list[str], got 7"],
    ),
    BadInput("trend-kpis-unknown", parameter("trend_kpis", "[nosuch]"), ["trend_kpis", "nosuch"]),
    BadInput("funnel-unknown", parameter("funnel", "checkout"), ["funnel", "'checkout'", "main"]),
    BadInput(
        "period-malformed",
        parameter("period", "last_week"),
        ["period: expected last_full_day", "'last_week'"],
    ),
    BadInput(
        "period-inverted",
        parameter("period", "2026-10-12..2026-10-05"),
        ["period '2026-10-12..2026-10-05' is empty", "end must be after the start"],
    ),
    BadInput(
        "period-not-whole-weeks",
        parameter("period", "2026-10-05..2026-10-20"),
        ["period '2026-10-05..2026-10-20' must be whole weeks", "2026-10-05..2026-10-26"],
    ),
    BadInput(
        "period-range-too-long",
        parameter("period", "2026-08-03..2026-10-19"),
        ["period '2026-08-03..2026-10-19' lasts 77 days", "at most 31 days"],
    ),
    BadInput(
        "comparison-not-as-long-as-the-range",
        [*parameter("period", "2026-10-05..2026-10-19"), "-p", "comparison", GAP_WEEK],
        [f"comparison '{GAP_WEEK}' lasts 7 days; it must last 14 days"],
    ),
    BadInput(
        "period-outside-the-data",
        parameter("period", "2027-01-04..2027-01-11"),
        ["empty period", "2027-01-04 to 2027-01-11", "the data covers 2026-09-28 to 2026-10-18"],
    ),
    BadInput(
        "period-inside-the-data-without-events",
        parameter("period", GAP_WEEK),
        ["empty period", "2026-10-05 to 2026-10-12", "the data covers 2026-09-28 to 2026-10-18"],
    ),
    BadInput(
        "filters-match-nothing",
        parameter("filters", "{platform: [android]}"),
        ["empty period", "platform in ['android']"],
    ),
    BadInput("as-of-malformed", parameter("as_of", "yesterday"), ["as_of", "'yesterday'"]),
    BadInput("grain-unknown", parameter("grain", "yearly"), ["grain", "'yearly'"]),
    BadInput(
        "comparison-malformed",
        parameter("comparison", "2026-10-05"),
        ["comparison: expected previous, previous_year", "'2026-10-05'"],
    ),
    BadInput(
        "comparison-not-one-week",
        parameter("comparison", "2026-09-28..2026-10-12"),
        ["comparison '2026-09-28..2026-10-12' must be one week"],
    ),
    BadInput(
        "filters-unknown-column",
        parameter("filters", "{os: [ios]}"),
        ["filter column 'os'", "available: user_id, timestamp, event, channel, platform"],
    ),
    BadInput(
        "filters-empty-list",
        parameter("filters", "{platform: []}"),
        ["filters: 'platform' needs a value"],
    ),
    BadInput(
        "config-missing",
        [*RUN, "-p", "config_path", "{dir}/missing.yml"],
        ["config_path", "{dir}/missing.yml", "does not exist"],
    ),
    BadInput(
        "not-yaml",
        [*RUN, "-p", "config_path", "{dir}/bad.yml"],
        ["{dir}/bad.yml", "not valid YAML"],
    ),
    BadInput(
        "config-invalid",
        [*RUN, "-p", "config_path", "{dir}/invalid.yml"],
        ["{dir}/invalid.yml", "sources", "timezone"],
    ),
    BadInput(
        "notebook-etc-passwd",
        ["report", "run", "/etc/passwd", "--out", "{dir}/reports"],
        ["/etc/passwd is not a report notebook", ".ipynb"],
    ),
    BadInput(
        "notebook-a-dashboard",
        [
            "report",
            "run",
            str(Path(__file__).parents[1] / "notebooks" / "journey_dashboard.ipynb"),
            "--out",
            "{dir}/reports",
        ],
        ["journey_dashboard.ipynb is a dashboard notebook", "journey dashboard"],
    ),
    BadInput(
        "notebook-a-folder",
        ["report", "run", "{dir}", "--out", "{dir}/reports"],
        ["is a folder, not a notebook"],
    ),
    BadInput(
        "notebook-not-json",
        ["report", "run", "{dir}/broken.ipynb", "--out", "{dir}/reports"],
        ["{dir}/broken.ipynb is not a notebook: not JSON"],
    ),
    BadInput(
        "notebook-without-parameters",
        ["report", "run", "{dir}/plain.ipynb", "--out", "{dir}/reports"],
        ["{dir}/plain.ipynb has no cell tagged 'parameters'"],
    ),
    BadInput(
        "unknown-report-name",
        ["report", "run", "weekly_kpis", "--out", "{dir}/reports"],
        ["no report named 'weekly_kpis'", "reports: (none)"],
    ),
    BadInput("email-without-to", [*RUN, "--email"], ["--email needs at least one --to"]),
    BadInput(
        "email-without-smtp-settings",
        [*RUN, "--email", "--to", "team@example.com"],
        ["needed by the report email", "JOURNEY_SMTP_HOST is required", "JOURNEY_SMTP_FROM"],
        env=NO_SMTP,
    ),
    BadInput("timeout-zero", [*RUN, "--timeout", "0"], ["--timeout", "above 0"]),
    BadInput(
        "relative-config-path-read-from-the-current-folder",
        [*RUN, "-p", "config_path", "nosuch/journey.yml"],
        ["config_path", "{dir}/nosuch/journey.yml does not exist"],
    ),
    BadInput("to-without-email", [*RUN, "--to", "team@example.com"], ["--to", "without --email"]),
    BadInput(
        "to-not-an-address", [*RUN, "--email", "--to", "team"], ["--to", "email address", "'team'"]
    ),
    BadInput("owner-not-an-address", [*RUN, "--owner", "ops"], ["--owner", "'ops'"]),
]


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(write_gap_journey(tmp_path_factory.mktemp("gap-journey")))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_bad_report_input_exits_2_with_one_line(case: BadInput, config: str, tmp_path: Path):
    for name, text in FILES.get(case.id, {}).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    concrete = dataclasses.replace(
        case,
        args=[arg.replace("{config}", config) for arg in case.args],
        message=[word.replace("{config}", config) for word in case.message],
    )
    run = check_bad_input(concrete, tmp_path)
    assert not (tmp_path / "reports").exists()
    assert not (tmp_path / "pwned").exists()
    assert "do-not-print-me" not in run.stderr
    assert "root:" not in run.stderr


def test_the_table_holds_at_least_twenty_distinct_inputs():
    assert len({case.id for case in CASES}) == len(CASES) >= 20


def test_a_period_only_the_kernel_finds_empty_is_refused_not_kept(tmp_path_factory, tmp_path):
    # week 41 holds events whose timestamps are valid but which validation quarantines (no
    # user id): the check before the kernel counts them, the kernel's validated events do not
    config = write_gap_journey(tmp_path_factory.mktemp("invalid-week"), invalid_week=True)
    case = BadInput(
        "period-empty-after-validation",
        [*RUN[:-1], str(config), "-p", "period", GAP_WEEK],
        ["empty period", "2026-10-05 to 2026-10-12", "the data covers 2026-09-28 to 2026-10-18"],
    )
    check_bad_input(case, tmp_path)
    assert not (tmp_path / "reports").exists()

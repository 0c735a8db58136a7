"""Bad inputs of ``journey schedule tick | list | show`` and ``journey sample``.

Each case runs the command in a child process in a folder holding a project (a valid notebook,
a ``reports/`` folder and, per case, a schedule file, a state file or a delivery journal) and
asserts exit 2, one line on stderr naming the input, no traceback, and that nothing in the
folder changed: no report, no state file, no lock file, no sample file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from bad_inputs import BadInput, check_bad_input
from nbformat.v4 import new_code_cell, new_notebook

SCHEDULE = "reports/schedule.yml"
STATE = "reports/.schedule-state.json"
JOURNAL = "reports/.schedule-state.deliveries.json"
NOTEBOOK = "../notebooks/weekly.ipynb"
# every mail variable is set (empty means unset), so that none leaks in from the environment
UNSET = {
    f"JOURNEY_SMTP_{name}": ""
    for name in ("HOST", "PORT", "SECURITY", "USER", "PASSWORD", "FROM", "TIMEOUT")
}
MAIL_OK = UNSET | {"JOURNEY_SMTP_HOST": "127.0.0.1", "JOURNEY_SMTP_FROM": "reports@example.com"}
NO_MAIL = dict(UNSET)


def job(**fields: str) -> str:
    """A schedule with one job; ``fields`` replace or add YAML lines of the job."""
    lines = {"name": "weekly", "cron": "'0 7 * * MON'", "notebook": NOTEBOOK, **fields}
    body = "".join(f"    {key}: {value}\n" for key, value in lines.items() if value is not None)
    return "timezone: UTC\njobs:\n  - " + body.lstrip()


@dataclass(frozen=True)
class Case:
    """A bad input and the files the project holds for it (path relative to the project)."""

    id: str
    args: tuple[str, ...]
    message: tuple[str, ...]
    files: dict[str, str | bytes] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=lambda: dict(MAIL_OK))


def tick(*extra: str) -> tuple[str, ...]:
    return ("schedule", "tick", "--schedule", SCHEDULE, "--now", "2026-01-05T08:00", *extra)


def schedule_case(id: str, text: str, *message: str, command: str = "tick") -> Case:
    args = ("schedule", command, "--schedule", SCHEDULE)
    return Case(id, args, message, files={SCHEDULE: text})


CASES = [
    # --- the schedule file
    Case(
        "schedule-missing",
        ("schedule", "tick", "--schedule", "reports/nosuch.yml"),
        ("reports/nosuch.yml", "the file does not exist"),
    ),
    schedule_case("schedule-not-yaml", "jobs: [\n", "schedule.yml", "not valid YAML"),
    schedule_case("schedule-a-list", "- weekly\n", "expected a mapping with 'jobs'"),
    Case(
        "schedule-not-utf8",
        ("schedule", "list", "--schedule", SCHEDULE),
        ("schedule.yml", "cannot be read", "utf-8"),
        files={SCHEDULE: "# M\xfcnchen\njobs: []\n".encode("latin-1")},
    ),
    schedule_case("unknown-top-key", "jobz: []\n", "line 1", "unknown key 'jobz'", "jobs"),
    schedule_case(
        "unknown-job-key",
        job(crn="'@daily'"),
        "jobs.0.crn",
        "unknown key 'crn' (did you mean 'cron'?)",
    ),
    schedule_case("cron-four-fields", job(cron="'0 7 * *'"), "jobs.0.cron", "expected 5 fields"),
    schedule_case("cron-out-of-range", job(cron="'61 * * * *'"), "61 is out of range 0-59"),
    schedule_case("cron-bad-weekday", job(cron="'0 7 * * MUN'"), "unknown value 'MUN'"),
    schedule_case("cron-zero-step", job(cron="'*/0 * * * *'"), "step must be a whole number"),
    schedule_case("cron-unknown-macro", job(cron="'@often'"), "unknown macro '@often'"),
    schedule_case("cron-never-matches", job(cron="'0 0 30 2 *'"), "never matches"),
    schedule_case("cron-superscript-digit", job(cron="'\u00b2 * * * *'"), "unknown value"),
    schedule_case("cron-not-text", job(cron="5"), "jobs.0.cron", "valid string"),
    schedule_case(
        "timezone-unknown",
        job().replace("UTC", "Mars/Olympus"),
        "unknown time zone 'Mars/Olympus'",
    ),
    schedule_case(
        "timezone-a-folder", job().replace("UTC", "Europe"), "unknown time zone 'Europe'"
    ),
    schedule_case(
        "duplicate-job-names",
        job() + f"  - {{name: weekly, cron: '@daily', notebook: {NOTEBOOK}}}\n",
        "job 'weekly' is listed twice",
    ),
    schedule_case("bad-job-name", job(name="'weekly report'"), "job name 'weekly report'"),
    schedule_case(
        "bad-recipient", job(recipients="[team.example.com]"), "jobs.0.recipients", "team.example"
    ),
    schedule_case("bad-owner", job(owner="nobody"), "jobs.0.owner", "got 'nobody'"),
    schedule_case(
        "notebook-missing",
        job(notebook="../notebooks/gone.ipynb"),
        "job 'weekly'",
        "gone.ipynb does not exist",
    ),
    schedule_case("notebook-a-folder", job(notebook="../notebooks"), "job 'weekly'", "is a folder"),
    Case(
        "notebook-not-a-notebook",
        ("schedule", "list", "--schedule", SCHEDULE),
        ("job 'weekly'", "passwd.ipynb is not a notebook"),
        files={SCHEDULE: job(notebook="passwd.ipynb"), "reports/passwd.ipynb": "root:x:0:0:\n"},
    ),
    schedule_case(
        "catch-up-bad", job(catch_up="sometimes"), "jobs.0.catch_up", "'all' or 'latest'"
    ),
    schedule_case("enabled-bad", job(enabled="maybe"), "jobs.0.enabled", "boolean"),
    schedule_case(
        "parameters-not-a-mapping",
        job(parameters="[1, 2]"),
        "jobs.0.parameters",
        "dictionary",
        command="list",
    ),
    # --- the state file and the delivery journal
    Case(
        "state-corrupt",
        tick(),
        (".schedule-state.json", "the state file cannot be read", "fix or delete it"),
        files={SCHEDULE: job(), STATE: '{"version": 2, "jobs": {"weekly": {'},
    ),
    Case(
        "state-bad-moment",
        ("schedule", "list", "--schedule", SCHEDULE),
        ("the state file cannot be read", "job 'weekly'", "done_until '2026-13-01'"),
        files={
            SCHEDULE: job(),
            STATE: '{"version": 2, "jobs": {"weekly": {"done_until": "2026-13-01"}}}',
        },
    ),
    Case(
        "state-newer-version",
        tick(),
        ("has version 99", "this journeylib reads versions 1-2"),
        files={SCHEDULE: job(), STATE: '{"version": 99, "jobs": {}}'},
    ),
    Case(
        "state-a-folder",
        tick("--state", "reports"),
        ("reports", "the state file cannot be read"),
        files={SCHEDULE: job()},
    ),
    Case(
        "journal-corrupt",
        tick(),
        ("the delivery journal", ".deliveries.json", "cannot be read"),
        files={SCHEDULE: job(), STATE: '{"version": 2, "jobs": {}}', JOURNAL: "[1"},
    ),
    # --- flags
    Case(
        "now-not-a-moment",
        ("schedule", "tick", "--schedule", SCHEDULE, "--now", "monday"),
        ("--now", "'monday'"),
        files={SCHEDULE: job()},
    ),
    Case(
        "tick-out-a-file",
        tick("--out", "reports/schedule.yml"),
        ("--out", "schedule.yml", "is a file"),
        files={SCHEDULE: job()},
    ),
    Case(
        "show-unknown-job",
        ("schedule", "show", "monthly", "--schedule", SCHEDULE),
        ("no job named 'monthly'", "jobs: weekly"),
        files={SCHEDULE: job()},
    ),
    Case("show-no-job", ("schedule", "show"), ("required: job",)),
    Case("schedule-no-action", ("schedule",), ("required: ACTION",)),
    # --- mail settings, for a job that mails
    Case(
        "smtp-host-missing",
        tick(),
        ("JOURNEY_SMTP_HOST is required", "environment variables", "job 'weekly'"),
        files={SCHEDULE: job(recipients="[team@example.com]")},
        env=NO_MAIL,
    ),
    Case(
        "smtp-port-bad",
        tick(),
        ("JOURNEY_SMTP_PORT must be an integer", "'smtp'"),
        files={SCHEDULE: job(owner="owner@example.com")},
        env=MAIL_OK | {"JOURNEY_SMTP_PORT": "smtp"},
    ),
    Case(
        "smtp-port-out-of-range",
        tick(),
        ("JOURNEY_SMTP_PORT must be within 1-65535",),
        files={SCHEDULE: job(recipients="[team@example.com]")},
        env=MAIL_OK | {"JOURNEY_SMTP_PORT": "70000"},
    ),
    Case(
        "smtp-security-bad",
        tick(),
        ("JOURNEY_SMTP_SECURITY must be one of starttls, ssl, none", "'tls'"),
        files={SCHEDULE: job(recipients="[team@example.com]")},
        env=MAIL_OK | {"JOURNEY_SMTP_SECURITY": "tls"},
    ),
    Case(
        "smtp-timeout-bad",
        tick(),
        ("JOURNEY_SMTP_TIMEOUT must be a positive number",),
        files={SCHEDULE: job(recipients="[team@example.com]")},
        env=MAIL_OK | {"JOURNEY_SMTP_TIMEOUT": "nan"},
    ),
    Case(
        "smtp-password-without-user",
        tick(),
        ("JOURNEY_SMTP_PASSWORD is set but JOURNEY_SMTP_USER is not",),
        files={SCHEDULE: job(recipients="[team@example.com]")},
        env=MAIL_OK | {"JOURNEY_SMTP_PASSWORD": "s3cret"},
    ),
    # --- journey sample
    Case(
        "sample-out-a-file",
        ("sample", "--users", "50", "--out", "notes.txt"),
        ("--out notes.txt is an existing file",),
        files={"notes.txt": "mine\n"},
    ),
    Case(
        "sample-out-occupied",
        ("sample", "--users", "50", "--out", "company"),
        ("company is not empty", "orders.csv", "--force"),
        files={"company/orders.csv": "id\n1\n"},
    ),
    Case("sample-users-zero", ("sample", "--users", "0", "--out", "s"), ("--users", "got 0")),
    Case(
        "sample-users-too-many",
        ("sample", "--users", "999999999", "--out", "s"),
        ("--users", "at most 5,000,000"),
    ),
    Case("sample-days-negative", ("sample", "--days", "-3", "--out", "s"), ("--days", "-3")),
    Case("sample-days-too-many", ("sample", "--days", "100000", "--out", "s"), ("at most 3,660",)),
    Case("sample-seed-not-a-number", ("sample", "--seed", "x", "--out", "s"), ("--seed", "'x'")),
    Case("sample-seed-negative", ("sample", "--seed", "-1", "--out", "s"), ("--seed", "-1")),
    Case("sample-force-with-a-value", ("sample", "--force=yes", "--out", "s"), ("--force",)),
    Case("sample-no-out", ("sample", "--users", "50"), ("--out",)),
]


def test_enough_distinct_cases() -> None:
    assert len(CASES) >= 20
    assert len({case.id for case in CASES}) == len(CASES)


def make_project(folder: Path, files: dict[str, str | bytes]) -> None:
    notebook = new_notebook(cells=[new_code_cell("as_of = 'data_end'")])
    (folder / "notebooks").mkdir()
    nbformat.write(notebook, folder / "notebooks" / "weekly.ipynb")
    (folder / "reports").mkdir()
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(case: Case, tmp_path: Path) -> None:
    make_project(tmp_path, case.files)
    check_bad_input(BadInput(case.id, case.args, case.message, env=case.env), tmp_path)

"""Bad inputs of ``journey new-report``: exit 2, one line naming the input, nothing written.

Each case runs in a working folder laid out like the project (``notebooks/`` with the report
notebook and a dashboard notebook, ``reports/schedule.yml`` with one job and one commented
job); the whole folder is watched, so a refused name leaves no notebook, no partial file and
no changed schedule.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from bad_inputs import BadInput, check_bad_input
from nbformat.v4 import new_code_cell, new_notebook

REPO = Path(__file__).resolve().parents[1]
SCHEDULE = """\
timezone: UTC
jobs:
  - name: weekly_journey
    cron: "0 7 * * MON"
    notebook: ../notebooks/journey_report.ipynb
    enabled: false
  # - name: old_report
  #   cron: "0 8 * * MON"
"""


def dashboard_notebook() -> str:
    notebook = new_notebook(
        cells=[
            new_code_cell('segment: str = "all"  # the segment', metadata={"tags": ["parameters"]})
        ]
    )
    notebook.metadata["journeylib"] = {"kind": "dashboard"}
    return nbformat.writes(notebook)


def lay_out(folder: Path, *, schedule: str = SCHEDULE) -> None:
    (folder / "notebooks").mkdir()
    shutil.copy(REPO / "notebooks" / "journey_report.ipynb", folder / "notebooks")
    (folder / "notebooks" / "journey_dashboard.ipynb").write_text(dashboard_notebook())
    (folder / "reports").mkdir()
    (folder / "reports" / "schedule.yml").write_text(schedule)


NEW = ["new-report"]
CASES = [
    BadInput(
        "hyphen", [*NEW, "weekly-emea"], ["'weekly-emea' is not a valid identifier", "weekly_emea"]
    ),
    BadInput("space", [*NEW, "weekly emea"], ["not a valid identifier", "e.g. weekly_emea"]),
    BadInput("leading-digit", [*NEW, "2026_emea"], ["'2026_emea' is not a valid identifier"]),
    BadInput("keyword", [*NEW, "class"], ["'class' is not a valid identifier", "keyword"]),
    BadInput("path", [*NEW, "../escape"], ["'../escape' is not a valid identifier"]),
    BadInput("empty", [*NEW, ""], ["'' is not a valid identifier"]),
    BadInput("non-ascii", [*NEW, "wöchentlich"], ["'wöchentlich' is not a valid identifier"]),
    BadInput(
        "existing-notebook", [*NEW, "journey_report"], ["journey_report.ipynb already exists"]
    ),
    BadInput(
        "existing-job",
        [*NEW, "weekly_journey"],
        ["already has a job named 'weekly_journey'", "line 3"],
    ),
    BadInput(
        "commented-job", [*NEW, "old_report"], ["already has a job named 'old_report'", "commented"]
    ),
    BadInput(
        "unknown-template",
        [*NEW, "weekly_emea", "--from", "nope"],
        ["unknown template 'nope'", "templates: journey_report"],
    ),
    BadInput(
        "template-path",
        [*NEW, "weekly_emea", "--from", "../notebooks/journey_report"],
        ["unknown template"],
    ),
    BadInput(
        "dashboard-template",
        [*NEW, "weekly_emea", "--from", "journey_dashboard"],
        ["dashboard notebook"],
    ),
    BadInput("missing-name", NEW, ["journey new-report", "required: name"]),
    BadInput("unknown-flag", [*NEW, "weekly_emea", "--force"], ["unrecognized arguments: --force"]),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_bad_new_report_input_exits_2_with_one_line(case: BadInput, tmp_path: Path):
    lay_out(tmp_path)
    check_bad_input(case, tmp_path)


def test_outside_a_project_folder(tmp_path: Path):
    check_bad_input(
        BadInput("no-notebooks", [*NEW, "weekly_emea"], ["no notebooks/ folder"]), tmp_path
    )


def test_a_schedule_that_is_not_yaml(tmp_path: Path):
    lay_out(tmp_path, schedule="jobs: [unclosed\n")
    check_bad_input(
        BadInput("schedule-not-yaml", [*NEW, "weekly_emea"], ["schedule.yml", "not valid yaml"]),
        tmp_path,
    )

"""``journey new-report``: the scaffolded notebook, its schedule entry, and a first run.

The project folder of each test is a copy of ``notebooks/`` and ``reports/schedule.yml``; the
new notebook must be its template without outputs, with its own title, and must run with
``journey report run NAME`` straight away; its commented schedule entry, once uncommented,
must load as a job of that notebook.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import papermill
import pytest
import yaml
from bad_inputs import run_journey

from journeylib.report.notebooks import report_notebooks
from journeylib.report.scaffold import new_report
from journeylib.report.schedule import load_schedule

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = [path.stem for path in report_notebooks(REPO / "notebooks")]


def project(folder: Path, sample_config: Path) -> Path:
    """A project folder: the notebooks, the schedule, and the small sample as data/sample."""
    shutil.copytree(REPO / "notebooks", folder / "notebooks")
    (folder / "reports").mkdir()
    shutil.copy(REPO / "reports" / "schedule.yml", folder / "reports" / "schedule.yml")
    (folder / "data").mkdir()
    (folder / "data" / "sample").symlink_to(sample_config.parent)
    return folder


def uncommented(text: str, name: str) -> str:
    """The schedule with the new report's entry uncommented."""
    lines, inside = [], False
    for line in text.splitlines():
        if re.match(rf"\s*# - name: {name}$", line):
            inside = True
        elif inside and not re.match(r"\s*#   ", line):
            inside = False
        lines.append(line.replace("# ", "", 1) if inside else line)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("template", TEMPLATES)
def test_the_new_notebook_is_its_template_with_its_own_title(
    template, tmp_path, small_sample_config
):
    made = new_report("weekly_emea", template=template, root=project(tmp_path, small_sample_config))
    assert made.notebook == tmp_path / "notebooks" / "weekly_emea.ipynb"
    new = nbformat.read(made.notebook, as_version=4)
    old = nbformat.read(REPO / "notebooks" / f"{template}.ipynb", as_version=4)
    assert new.metadata["journeylib"] == {"kind": "report", "template": template}
    assert new.metadata["kernelspec"]["name"] == "journeylib"
    assert len(new.cells) == len(old.cells)
    for before, after in zip(old.cells, new.cells, strict=True):
        if "parameters" in before.metadata.get("tags", []):
            continue
        assert after.source == before.source
    assert all(not c.get("outputs") and not c.get("execution_count") for c in new.cells)
    params_old = papermill.inspect_notebook(str(REPO / "notebooks" / f"{template}.ipynb"))
    params_new = papermill.inspect_notebook(str(made.notebook))
    assert {k: v["inferred_type_name"] for k, v in params_new.items()} == {
        k: v["inferred_type_name"] for k, v in params_old.items()
    }
    assert params_new["title"]["default"] == '"Weekly emea"'
    assert params_new["title"]["help"] == params_old["title"]["help"]


def test_the_schedule_keeps_its_jobs_and_gains_a_commented_entry(tmp_path, small_sample_config):
    root = project(tmp_path, small_sample_config)
    schedule = root / "reports" / "schedule.yml"
    before = schedule.read_text()
    new_report("weekly_emea", root=root)
    after = schedule.read_text()
    assert after.startswith(before.rstrip("\n"))
    assert yaml.safe_load(after) == yaml.safe_load(before)
    assert "  # - name: weekly_emea" in after
    assert "#   notebook: ../notebooks/weekly_emea.ipynb" in after
    schedule.write_text(uncommented(after, "weekly_emea"))
    jobs = {job.name: job for job in load_schedule(schedule).jobs}
    assert set(jobs) == {"weekly-journey", "weekly_emea"}
    job = jobs["weekly_emea"]
    assert Path(job.notebook).resolve() == (root / "notebooks" / "weekly_emea.ipynb").resolve()
    assert job.parameters == {
        "config_path": "../data/sample/journey.yml",
        "period": "last_full_week",
    }
    assert job.enabled is False


def test_a_missing_schedule_is_created_and_an_empty_one_gets_a_note(tmp_path, small_sample_config):
    root = project(tmp_path, small_sample_config)
    schedule = root / "reports" / "schedule.yml"
    schedule.unlink()
    new_report("first", root=root)
    assert yaml.safe_load(schedule.read_text())["jobs"] == []
    assert "replace 'jobs: []' above by 'jobs:'" in schedule.read_text()
    assert list(load_schedule(schedule).jobs) == []
    new_report("second", root=root)
    text = schedule.read_text()
    assert text.count("# - name: first") == text.count("# - name: second") == 1


def test_the_entry_goes_inside_the_jobs_list_when_keys_follow_it(tmp_path, small_sample_config):
    root = project(tmp_path, small_sample_config)
    schedule = root / "reports" / "schedule.yml"
    schedule.write_text(
        "jobs:\n"
        "    - name: weekly-journey\n"
        '      cron: "0 7 * * MON"\n'
        "      notebook: ../notebooks/journey_report.ipynb\n"
        "      enabled: false\n"
        "\n"
        "timezone: Europe/Berlin\n"
    )
    new_report("weekly_emea", root=root)
    text = uncommented(schedule.read_text(), "weekly_emea")
    assert "    - name: weekly_emea" in text  # the list's own indentation
    schedule.write_text(text)
    loaded = load_schedule(schedule)
    assert [job.name for job in loaded.jobs] == ["weekly-journey", "weekly_emea"]
    assert loaded.timezone == "Europe/Berlin"


@pytest.mark.slow
def test_new_report_then_report_run_produces_an_html_report(tmp_path, small_sample_config):
    root = project(tmp_path, small_sample_config)
    made = run_journey(["new-report", "weekly_emea"], cwd=root)
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines() == [
        "notebook written: notebooks/weekly_emea.ipynb (from journey_report)",
        "schedule entry added, commented out: reports/schedule.yml",
        "run it: journey report run weekly_emea",
    ]
    ran = run_journey(["report", "run", "weekly_emea"], cwd=root)
    assert ran.returncode == 0, ran.stderr
    (html,) = (root / "reports" / "weekly_emea").glob("*/report.html")
    page = html.read_text(encoding="utf-8")
    assert "<h1>Weekly emea</h1>" in page
    assert f"report written: {html.relative_to(root)}" in ran.stdout
    executed = nbformat.read(html.with_name("report.ipynb"), as_version=4)
    assert executed.metadata["papermill"]["parameters"] == {}
    assert executed.metadata["papermill"]["exception"] is None

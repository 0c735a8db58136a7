"""The report notebook run with Papermill: the published folder, its HTML, failures, the CLI.

The first run is the session's ``published_report`` (``tests/conftest.py``); the failing
notebook alerts its owner through a real SMTP server (aiosmtpd on 127.0.0.1); the schedule's
tick runs the report with the real runner.
"""

from __future__ import annotations

import html
import json
import os
import re
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from report_html import (
    PERIOD,
    SECTIONS,
    TITLE,
    chart_outputs,
    loaded_urls,
    outputs_of_role,
    parse_page,
)
from report_mail import OWNER, Mailbox, smtp_server

from journeylib.cli import main
from journeylib.report.run import ReportResult, run_report
from journeylib.report.schedule import load_schedule, tick

# aiosmtpd warns about AUTH without TLS, which the local test server does on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
REPORT_NOTEBOOK = NOTEBOOKS / "journey_report.ipynb"


# --------------------------------------------------------------------------- first run


def test_report_run_is_ok_for_the_sample_period(published_report):
    assert (
        published_report.result.ok,
        published_report.result.period,
        published_report.result.title,
    ) == (
        True,
        PERIOD,
        TITLE,
    )


def test_report_folder_holds_notebook_and_html(published_report):
    folder = published_report.out_root / "journey_report" / PERIOD
    assert published_report.result.folder == folder
    assert (folder / "report.html").is_file()
    assert (folder / "report.ipynb").is_file()


def test_executed_notebook_metadata_names_title_and_period(published_report):
    metadata = published_report.notebook.metadata["journeylib"]
    assert (metadata["title"], metadata["period"]) == (TITLE, PERIOD)


@pytest.mark.parametrize(
    "code",
    ["ReportContext.create(", "show_headline(", "report.show_", "trend_periods = 8", "import "],
)
def test_html_holds_no_input_code(published_report, code):
    assert code not in published_report.html


def test_html_drops_analyst_only_cells(published_report):
    assert "This cell is not part of the rendered report" not in published_report.html


def test_html_loads_no_remote_url(published_report):
    page = parse_page(published_report.html)
    remote = [url for url in loaded_urls(page) if url.lower().startswith(("http:", "https:", "//"))]
    assert remote == []
    assert [attrs for tag, attrs, _ in page.elements if tag == "script" and "src" in attrs] == []
    assert [attrs for tag, attrs, _ in page.elements if tag == "link"] == []


def test_html_has_one_chart_holder_per_chart_output(published_report):
    page = parse_page(published_report.html)
    holders = [
        attrs["data-chart"]
        for _, attrs, _ in page.elements
        if "journeylib-chart" in attrs.get("class", "").split()
    ]
    names = [meta["name"] for meta in chart_outputs(published_report.notebook)]
    assert len(names) >= 10
    assert holders == names


def test_html_headline_comes_before_the_first_section(published_report):
    page = parse_page(published_report.html)
    headline = next(
        i for i, (_, attrs, _) in enumerate(page.elements) if attrs.get("class") == "headline"
    )
    first_section = next(i for i, (tag, _, _) in enumerate(page.elements) if tag == "h2")
    assert headline < first_section


def test_notebook_text_outputs_carry_every_section(published_report):
    assert outputs_of_role(published_report.notebook, "section") == SECTIONS


def test_headline_opens_with_the_journey_score(published_report):
    (headline,) = outputs_of_role(published_report.notebook, "headline")
    assert headline.startswith("- Journey score ")
    assert "for week 2026-W43 (19 Oct – 25 Oct 2026)" in headline


# --------------------------------------------------------------------------- emailed second run


ERROR_TEXT = "the orders table went missing"


def write_failing_notebook(folder: Path, name: str = "failing_report") -> Path:
    notebook = new_notebook(
        cells=[
            new_code_cell("source = 'orders'", metadata={"tags": ["parameters"]}),
            new_code_cell(f"raise RuntimeError({ERROR_TEXT!r} + ' (' + source + ')')"),
        ]
    )
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


@dataclass(frozen=True)
class FailedRun:
    result: ReportResult
    out_root: Path
    mailbox: Mailbox


@pytest.fixture(scope="module")
def failed(tmp_path_factory: pytest.TempPathFactory) -> FailedRun:
    folder = tmp_path_factory.mktemp("failing")
    notebook = write_failing_notebook(folder)
    out_root = folder / "reports"
    with smtp_server() as (mailbox, settings):
        result = run_report(
            notebook,
            parameters={"source": "orders-2026"},
            out_root=out_root,
            owner=OWNER,
            smtp=settings,
            timeout=60,
        )
    return FailedRun(result, out_root, mailbox)


def test_failing_notebook_run_is_not_ok(failed):
    assert failed.result.ok is False
    assert failed.result.html is None
    assert f"RuntimeError: {ERROR_TEXT} (orders-2026)" in failed.result.error


def test_failing_notebook_publishes_no_report_folder(failed):
    assert [p.name for p in (failed.out_root / "failing_report").iterdir()] == ["_failed"]


def test_failing_notebook_is_kept_under_failed(failed):
    (kept,) = (failed.out_root / "failing_report" / "_failed").iterdir()
    assert failed.result.notebook == kept / "report.ipynb"
    executed = nbformat.read(kept / "report.ipynb", as_version=4)
    assert executed.metadata["papermill"]["exception"] is True


def test_failure_alerts_the_owner_once(failed):
    assert failed.result.alerted == OWNER
    assert [recipients for recipients, _ in failed.mailbox.messages] == [[OWNER]]


def test_failure_alert_holds_the_error_and_the_kept_notebook(failed):
    (alert,) = failed.mailbox.parsed()
    text = alert.get_body(preferencelist=("plain",)).get_content()
    assert alert["To"] == OWNER
    assert f"{ERROR_TEXT} (orders-2026)" in text
    assert str(failed.result.notebook) in text


def test_failure_alert_carries_no_report(failed):
    (alert,) = failed.mailbox.parsed()
    assert list(alert.iter_attachments()) == []
    assert {part.get_content_type() for part in alert.walk()} <= {"text/plain", "multipart/mixed"}


# --------------------------------------------------------------------------- CLI exit codes


def test_cli_exits_1_for_a_failing_notebook(tmp_path, capsys):
    notebook = write_failing_notebook(tmp_path)
    code = main(["report", "run", str(notebook), "--out", str(tmp_path / "reports")])
    err = capsys.readouterr().err
    assert code == 1
    assert f"journey report run: failing_report failed: RuntimeError: {ERROR_TEXT}" in err
    assert "no report was published; executed notebook kept: " in err


def test_cli_says_why_the_owner_alert_could_not_be_sent(tmp_path, capsys, monkeypatch):
    for variable in ("HOST", "PORT", "SECURITY", "USER", "PASSWORD", "FROM"):
        monkeypatch.delenv(f"JOURNEY_SMTP_{variable}", raising=False)
    notebook = write_failing_notebook(tmp_path)
    code = main(
        ["report", "run", str(notebook), "--out", str(tmp_path / "reports"), "--owner", OWNER]
    )
    err = capsys.readouterr().err
    assert code == 1
    (said,) = [line for line in err.splitlines() if "alert" in line]
    assert said == (
        f"journey report run: the alert to {OWNER} could not be sent: mail settings: "
        "JOURNEY_SMTP_HOST is required (the SMTP server), found nothing; JOURNEY_SMTP_FROM is "
        "required: an address such as reports@example.com, found ''"
    )


def test_the_stored_report_shows_sources_relative_to_the_config(
    published_report, small_sample_config
):
    folder = str(small_sample_config.parent)
    outputs = json.dumps([cell.get("outputs", []) for cell in published_report.notebook.cells])
    assert folder not in outputs
    assert folder not in published_report.html
    assert (
        "<td>source of events (relative to the config)</td><td>events</td>" in published_report.html
    )
    (shown,) = re.findall(r"<td>parameter config_path</td><td>(.*?)</td>", published_report.html)
    assert html.unescape(shown) == "'journey.yml'"


def test_cli_exits_2_for_an_unknown_report_and_lists_the_known_ones(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    code = main(["report", "run", "no_such_report", "--out", str(tmp_path / "reports")])
    err = capsys.readouterr().err
    assert code == 2
    assert "no report named 'no_such_report'" in err
    known = ", ".join(path.stem for path in sorted(NOTEBOOKS.glob("*.ipynb")))
    assert "journey_report" in known
    assert err.rstrip().endswith(f"reports: {known}")
    assert not (tmp_path / "reports").exists()


# --------------------------------------------------------------------------- schedule tick


def test_schedule_tick_runs_the_due_report_with_the_real_runner(
    tmp_path, small_sample_config, monkeypatch
):
    schedule_file = tmp_path / "schedule.yml"
    schedule_file.write_text(
        textwrap.dedent(
            f"""\
            timezone: UTC
            jobs:
              - name: weekly-journey
                cron: "0 7 * * MON"
                notebook: {REPORT_NOTEBOOK}
                parameters:
                  config_path: {small_sample_config}
                  as_of: data_end
            """
        ),
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    schedule = load_schedule(schedule_file)
    state = tmp_path / "state.json"
    first = tick(schedule, state_path=state, now=datetime(2026, 11, 2, 6, 0, tzinfo=UTC))
    assert (first.initialised, first.runs) == (("weekly-journey",), ())
    second = tick(schedule, state_path=state, now=datetime(2026, 11, 2, 7, 30, tzinfo=UTC))
    html = tmp_path / "reports" / "journey_report" / PERIOD / "report.html"
    assert [(run.slot, run.status, run.report) for run in second.runs] == [
        (
            datetime(2026, 11, 2, 7, 0, tzinfo=UTC),
            "ok",
            Path("reports/journey_report") / PERIOD / "report.html",
        )
    ]
    assert html.is_file()
    assert os.path.getsize(html) > 100_000

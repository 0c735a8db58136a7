"""Report parameters are code: names, types and report rules are checked before a kernel starts.

The checks read the real report notebook's parameters cell (its annotations) with Papermill's
inspector; the schedule applies the same check to every job when it loads the file.
"""

from __future__ import annotations

import json
import textwrap
from datetime import date
from pathlib import Path

import nbformat
import pytest
from gap_journey import GAP_WEEK, write_gap_journey
from nbformat.v4 import new_code_cell, new_notebook

from journeylib.errors import JourneyError
from journeylib.report._data_range import EmptyPeriodError
from journeylib.report.parameters import (
    NotebookError,
    check_parameters,
    check_report_data,
    notebook_parameters,
    parse_text_value,
    read_notebook,
)
from journeylib.report.schedule import ScheduleError, load_schedule

REPORT = Path(__file__).resolve().parents[1] / "notebooks" / "journey_report.ipynb"
DECLARED = (
    "config_path, period, as_of, grain, filters, comparison, title, funnel, trend_periods, "
    "trend_kpis"
)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(write_gap_journey(tmp_path_factory.mktemp("gap")))


def refused(parameters: dict, **options: object) -> str:
    with pytest.raises(JourneyError) as raised:
        check_parameters(REPORT, parameters, **options)
    message = str(raised.value)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------- names and types


def test_the_notebook_declares_every_parameter_with_an_annotation():
    declared = notebook_parameters(REPORT)
    assert ", ".join(declared) == DECLARED
    assert {name: p.annotation for name, p in declared.items() if p.annotation is None} == {}


def test_a_valid_set_of_parameters_comes_back_unchanged(config):
    parameters = {
        "config_path": config,
        "period": "2026-10-12..2026-10-19",
        "filters": {"platform": ["ios"]},
        "trend_periods": 4,
        "funnel": "main",
    }
    assert check_parameters(REPORT, parameters) == parameters


def test_code_in_a_parameter_name_is_refused_with_the_known_names(config, tmp_path):
    pwned = tmp_path / "pwned"
    name = f"x = open({str(pwned)!r}, 'w').write('hi'); y"
    message = refused({"config_path": config, name: 1})
    assert message == f"journey_report.ipynb has no parameter {name!r}; its parameters: {DECLARED}"
    assert not pwned.exists()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("trend_periods", "many", "expected int, got 'many' (str)"),
        ("trend_periods", True, "expected int, got True (bool)"),
        ("trend_periods", 2.5, "expected int, got 2.5 (float)"),
        ("filters", ["ios"], "expected dict[str, list[str]], got ['ios'] (list)"),
        ("filters", {"platform": "ios"}, "expected dict[str, list[str]], got {'platform': 'ios'}"),
        ("trend_kpis", "nps", "expected list[str], got 'nps' (str)"),
        ("trend_kpis", ["nps", 3], "expected list[str], got ['nps', 3] (list)"),
        ("title", None, "expected str, got None (None)"),
        ("funnel", 3, "expected Optional[str], got 3 (int)"),
        ("period", 7, "expected str, got 7 (int)"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_naming_the_parameter(config, name, value, expected):
    message = refused({"config_path": config, name: value})
    assert message.startswith(f"parameter {name!r} of journey_report.ipynb: ")
    assert expected in message


def test_an_optional_parameter_takes_none(config):
    assert check_parameters(REPORT, {"config_path": config, "funnel": None})["funnel"] is None


def test_dates_from_yaml_become_iso_text(config):
    checked = check_parameters(REPORT, {"config_path": config, "as_of": date(2026, 10, 19)})
    assert checked["as_of"] == "2026-10-19"


@pytest.mark.parametrize(
    ("text", "annotation", "value"),
    [
        ("2026", "str", "2026"),
        ("007", "str", "007"),
        ("[a, b]", "str", "[a, b]"),
        ("12", "int", 12),
        ("{platform: [ios]}", "dict[str, list[str]]", {"platform": ["ios"]}),
        ("[nps, ctr]", "list[str]", ["nps", "ctr"]),
        ("null", "Optional[str]", None),
        ("main", "Optional[str]", "main"),
        ("2026-10-19", None, "2026-10-19"),
        ("{platform: [ios", "dict", "{platform: [ios"),
    ],
)
def test_command_line_text_is_read_for_the_annotation(text, annotation, value):
    assert parse_text_value(text, annotation) == value


def test_command_line_text_of_a_text_parameter_stays_text(config):
    checked = check_parameters(
        REPORT, {"config_path": config, "title": "2026", "trend_periods": "12"}, from_text=True
    )
    assert (checked["title"], checked["trend_periods"]) == ("2026", 12)


# --------------------------------------------------------------------------- report rules


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({"period": "last_week"}, "period: expected last_full_day, last_full_week"),
        ({"period": "2026-10-12..2026-10-05"}, "the end must be after the start"),
        ({"period": "2026-10-05..2026-10-20"}, "must be whole weeks"),
        ({"period": "2026-08-03..2026-10-19"}, "lasts 77 days: a range of dates lasts at most"),
        (
            {"period": "2026-10-05..2026-10-19", "comparison": "2026-09-28..2026-10-05"},
            "comparison '2026-09-28..2026-10-05' lasts 7 days; it must last 14 days",
        ),
        ({"grain": "yearly"}, "grain: expected one of day, week, month, got 'yearly'"),
        ({"as_of": "yesterday"}, "as_of: expected 'now', 'data_end' or a date"),
        ({"comparison": "2026-10-05"}, "comparison: expected previous, previous_year or"),
        ({"comparison": "2026-10-01..2026-13-01"}, "comparison: expected last_full_day"),
        ({"comparison": "2026-10-05..2026-10-20"}, "comparison '2026-10-05..2026-10-20' must"),
        ({"filters": {"platform": []}}, "filters: 'platform' needs a value"),
        ({"funnel": "nosuch"}, "funnel: the config has no funnel 'nosuch'; funnels: main"),
        ({"trend_kpis": ["nosuch"]}, "trend_kpis: unknown KPI 'nosuch'; known: "),
        ({"trend_periods": 0}, "trend_periods: expected a whole number of at least 1"),
    ],
)
def test_report_rules_are_applied_before_the_kernel(config, parameters, expected):
    assert expected in refused({"config_path": config, **parameters})


def test_a_range_of_whole_weeks_and_a_comparison_as_long_pass(config):
    parameters = {
        "config_path": config,
        "period": "2026-09-28..2026-10-12",
        "comparison": "2026-09-14..2026-09-28",
    }
    assert check_parameters(REPORT, parameters) == parameters


def test_a_comparison_error_names_the_comparison_not_the_period(config):
    message = refused({"config_path": config, "comparison": "2026-10-01..2026-13-01"})
    assert message.startswith("comparison: ")


def test_a_comparison_is_checked_against_the_grain_of_a_relative_period(config):
    message = refused({"config_path": config, "period": "last_full_month", "comparison": GAP_WEEK})
    assert "must be one month" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist"),
        ("name: [unclosed\n", "not valid YAML"),
        ("name: x\n", "sources"),
    ],
)
def test_a_bad_config_path_is_one_line_naming_the_file(tmp_path, content, expected):
    path = tmp_path / "journey.yml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    message = refused({"config_path": str(path)})
    assert str(path) in message
    assert expected in message


def test_a_relative_config_path_resolves_against_the_notebook_folder(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    notebook = folder / "report.ipynb"
    notebook.write_text(REPORT.read_text(encoding="utf-8"), encoding="utf-8")
    write_gap_journey(tmp_path / "data")
    assert check_parameters(notebook, {"config_path": "../data/journey.yml"})
    with pytest.raises(JourneyError, match="does not exist"):
        check_parameters(notebook, {"config_path": "data/journey.yml"})


def test_the_default_config_path_is_checked_when_none_is_given(tmp_path):
    notebook = tmp_path / "report.ipynb"
    notebook.write_text(REPORT.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(JourneyError, match=r"config_path '\.\./data/sample/journey\.yml'"):
        check_parameters(notebook, {})


def test_rules_only_apply_to_notebooks_that_declare_a_config(tmp_path):
    notebook = write_notebook(tmp_path / "other.ipynb", 'period: str = "soon"  # any text')
    assert check_parameters(notebook, {"period": "whenever"}) == {"period": "whenever"}


# --------------------------------------------------------------------------- the data


def test_a_period_without_events_inside_the_data_is_an_empty_period(config):
    with pytest.raises(EmptyPeriodError) as raised:
        check_report_data(REPORT, {"config_path": config, "period": GAP_WEEK})
    assert str(raised.value) == (
        "empty period: week 2026-W41 (05 Oct – 11 Oct 2026) (2026-10-05 to 2026-10-12) has no "
        "events; the data covers 2026-09-28 to 2026-10-18 (UTC)"
    )


def test_a_period_after_the_data_says_how_to_anchor_on_the_data(config):
    with pytest.raises(EmptyPeriodError, match="set as_of to data_end"):
        check_report_data(REPORT, {"config_path": config, "as_of": "2027-02-01"})


def test_filters_that_match_nothing_in_the_period_make_it_empty(config):
    with pytest.raises(EmptyPeriodError, match=r"with the filters platform in \['android'\]"):
        check_report_data(REPORT, {"config_path": config, "filters": {"platform": ["android"]}})


def test_a_filter_on_a_column_the_events_lack_names_the_available_ones(config):
    with pytest.raises(JourneyError) as raised:
        check_report_data(REPORT, {"config_path": config, "filters": {"os": ["ios"]}})
    assert str(raised.value) == (
        "filter column 'os' is not in the events; available: user_id, timestamp, event, "
        "channel, platform"
    )


def test_a_period_with_events_passes(config):
    check_report_data(REPORT, {"config_path": config, "period": "2026-10-12..2026-10-19"})
    check_report_data(REPORT, {"config_path": config, "period": "2026-10-05..2026-10-19"})
    check_report_data(REPORT, {"config_path": config, "filters": {"platform": ["ios"]}})


# --------------------------------------------------------------------------- notebooks


def write_notebook(path: Path, parameters: str | None) -> Path:
    cells = [new_code_cell("x = 1")]
    if parameters is not None:
        cells.insert(0, new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    nbformat.write(new_notebook(cells=cells), path)
    return path


def test_a_file_that_is_not_a_notebook_is_refused_without_quoting_it():
    with pytest.raises(NotebookError) as raised:
        read_notebook("/etc/passwd")
    assert str(raised.value) == (
        "/etc/passwd is not a report notebook: expected a Jupyter notebook (.ipynb)"
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("root:x:0:0:secret-line\n", "is not a notebook: not JSON"),
        (json.dumps({"cells": "nope"}), "is not a notebook nbformat reads"),
    ],
)
def test_an_ipynb_that_is_not_a_notebook_is_refused(tmp_path, content, expected):
    path = tmp_path / "broken.ipynb"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(NotebookError) as raised:
        read_notebook(path)
    assert expected in str(raised.value)
    assert "secret-line" not in str(raised.value)


def test_a_folder_and_a_notebook_without_parameters_are_refused(tmp_path):
    with pytest.raises(NotebookError, match="is a folder"):
        read_notebook(tmp_path)
    plain = write_notebook(tmp_path / "plain.ipynb", None)
    with pytest.raises(NotebookError, match="has no cell tagged 'parameters'"):
        read_notebook(plain)


# --------------------------------------------------------------------------- the schedule


def write_schedule(folder: Path, parameters: str) -> Path:
    path = folder / "schedule.yml"
    path.write_text(
        textwrap.dedent(
            f"""\
            timezone: UTC
            jobs:
              - name: weekly-journey
                cron: "0 7 * * MON"
                notebook: {REPORT}
                parameters:
            """
        )
        + textwrap.indent(textwrap.dedent(parameters), "      "),
        encoding="utf-8",
    )
    return path


def test_a_job_with_valid_parameters_loads(tmp_path, config):
    path = write_schedule(tmp_path, f"config_path: {config}\ntrend_periods: 4\n")
    assert load_schedule(path).jobs[0].parameters == {"config_path": config, "trend_periods": 4}


@pytest.mark.parametrize(
    ("parameters", "line", "expected"),
    [
        (
            "trend_periods: many\n",
            8,
            "jobs.0.parameters.trend_periods: job 'weekly-journey': parameter 'trend_periods' "
            "of journey_report.ipynb: expected int, got 'many' (str)",
        ),
        (
            "'x = 1; y': 2\n",
            8,
            "jobs.0.parameters.x = 1; y: job 'weekly-journey': journey_report.ipynb has no "
            f"parameter 'x = 1; y'; its parameters: {DECLARED}",
        ),
        (
            "comparison: 2026-10-05\n",
            8,
            "jobs.0.parameters.comparison: job 'weekly-journey': comparison: expected previous",
        ),
    ],
)
def test_a_job_with_a_bad_parameter_is_refused_at_load(
    tmp_path, config, parameters, line, expected
):
    path = write_schedule(tmp_path, f"config_path: {config}\n{parameters}")
    with pytest.raises(ScheduleError) as raised:
        load_schedule(path)
    (problem,) = raised.value.problems
    assert problem.startswith(f"line {line}: {expected}")

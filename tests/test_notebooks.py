"""The notebooks in notebooks/: their parameters, a Papermill run each, and nbval.

Notebooks are committed without outputs, so nbval (``--nbval-lax``) checks that a copy
parameterised for the session's small sample runs cell by cell without error, in this
environment. The sanitize file is checked on two real runs of the report: their volatile
outputs (generation time, run time, paths, content hash) differ, the sanitised ones do not.
"""

from __future__ import annotations

import ast
import configparser
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import papermill
import pytest
from test_report import NOTEBOOKS, REPORT_NOTEBOOK, published_report, small_sample_config

import journeylib

SANITIZE = Path(__file__).with_name("nbval_sanitize.cfg")
NOTEBOOK_PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
#: The report notebook's parameters, in order, with the annotation of each one.
REPORT_PARAMETERS = {
    "config_path": "str",
    "period": "str",
    "as_of": "str",
    "grain": "str",
    "filters": "dict[str, list[str]]",
    "comparison": "str",
    "title": "str",
    "funnel": "Optional[str]",
    "trend_periods": "int",
    "trend_kpis": "list[str]",
}
#: Code cells of the report notebook once Papermill injected its parameters cell.
REPORT_CODE_CELLS = 15
_TYPES = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "dict": dict,
    "list": list,
    "None": type(None),
}


def sample_parameters(
    factory: pytest.TempPathFactory, notebook: Path = REPORT_NOTEBOOK
) -> dict[str, Any]:
    config = str(small_sample_config(factory))
    if notebook.stem == "experiment_readout":
        # the sample's config declares the checkout test: the readout's default experiment
        return {"config": config}
    return {"config_path": config, "as_of": "data_end"}


# --------------------------------------------------------------------------- parameters


def test_notebooks_folder_holds_the_report():
    assert REPORT_NOTEBOOK in NOTEBOOK_PATHS


def test_report_parameters_are_listed_with_their_annotation():
    inspected = papermill.inspect_notebook(str(REPORT_NOTEBOOK))
    declared = {name: entry["inferred_type_name"] for name, entry in inspected.items()}
    assert declared == REPORT_PARAMETERS
    assert list(inspected) == list(REPORT_PARAMETERS)


def test_papermill_help_shows_every_type_and_comment():
    done = subprocess.run(
        [sys.executable, "-m", "papermill", "--help-notebook", str(REPORT_NOTEBOOK)],
        capture_output=True,
        text=True,
        check=True,
    )
    for name, annotation in REPORT_PARAMETERS.items():
        assert f"  {name}: {annotation} (default " in done.stdout
    assert "Unknown type" not in done.stdout
    assert "the journey config (relative to this folder)" in done.stdout


@pytest.mark.parametrize("notebook", NOTEBOOK_PATHS, ids=lambda path: path.stem)
def test_every_parameter_default_fits_its_annotation_and_has_a_comment(notebook):
    inspected = papermill.inspect_notebook(str(notebook))
    assert inspected, f"{notebook.name} has no cell tagged 'parameters'"
    wrong = {}
    for name, entry in inspected.items():
        annotation = entry["inferred_type_name"]
        optional = annotation.startswith("Optional[")
        outer = annotation.removeprefix("Optional[").removesuffix("]").partition("[")[0]
        allowed = (_TYPES.get(outer, ()), *((type(None),) if optional else ()))
        default = ast.literal_eval(entry["default"])
        if not entry["help"].strip() or not isinstance(default, allowed):
            wrong[name] = (annotation, entry["help"], entry["default"])
    assert wrong == {}


@pytest.mark.parametrize("notebook", NOTEBOOK_PATHS, ids=lambda path: path.stem)
def test_notebook_is_committed_without_outputs(notebook):
    cells = nbformat.read(notebook, as_version=4).cells
    code = [cell for cell in cells if cell.cell_type == "code"]
    assert [cell.outputs for cell in code if cell.outputs] == []
    assert [cell.execution_count for cell in code if cell.execution_count] == []


# --------------------------------------------------------------------------- Papermill run


_EXECUTED: dict[str, Any] = {}


def executed(notebook: Path, factory: pytest.TempPathFactory) -> Any:
    """A notebook executed once per session with Papermill on the small sample."""
    if notebook.stem not in _EXECUTED:
        output = factory.mktemp("papermill") / notebook.name
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=sample_parameters(factory, notebook),
            kernel_name="python3",
            cwd=str(notebook.parent),
            progress_bar=False,
            start_timeout=120,
            execution_timeout=300,
        )
        _EXECUTED[notebook.stem] = nbformat.read(output, as_version=4)
    return _EXECUTED[notebook.stem]


@pytest.mark.parametrize("notebook", NOTEBOOK_PATHS, ids=lambda path: path.stem)
def test_notebook_runs_with_papermill_on_the_sample(notebook, tmp_path_factory):
    result = executed(notebook, tmp_path_factory)
    code = [cell for cell in result.cells if cell.cell_type == "code"]
    errors = [o for cell in code for o in cell.outputs if o.output_type == "error"]
    assert result.metadata["papermill"]["exception"] is None
    assert errors == []
    assert all(cell.execution_count for cell in code)


# --------------------------------------------------------------------------- nbval


def test_nbval_runs_the_parameterised_report(tmp_path, tmp_path_factory):
    copy = tmp_path / REPORT_NOTEBOOK.name
    papermill.execute_notebook(
        str(REPORT_NOTEBOOK),
        str(copy),
        parameters=sample_parameters(tmp_path_factory),
        prepare_only=True,
        progress_bar=False,
    )
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "--nbval-current-env",
            "--nbval-sanitize-with",
            str(SANITIZE),
            "-p",
            "no:cacheprovider",
            "-q",
            copy.name,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert f"{REPORT_CODE_CELLS} passed" in completed.stdout.splitlines()[-1]


def sanitize_patterns() -> list[tuple[re.Pattern[str], str]]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(SANITIZE, encoding="utf-8")
    return [(re.compile(parser[s]["regex"]), parser[s]["replace"]) for s in parser.sections()]


def text_outputs(notebook: Any) -> list[str]:
    """The outputs nbval compares: text and HTML of every code cell (images are skipped)."""
    return [
        output.get("data", {}).get(kind, output.get("text", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        for kind in ("text/plain", "text/html")
        if kind in output.get("data", {}) or (kind == "text/plain" and "text" in output)
    ]


def sanitised(texts: list[str]) -> list[str]:
    patterns = sanitize_patterns()
    result = []
    for text in texts:
        for pattern, replacement in patterns:
            text = pattern.sub(replacement, text)
        result.append(text)
    return result


def test_nbval_sanitize_file_parses_like_nbval_reads_it():
    from nbval.plugin import get_sanitize_patterns

    read_by_nbval = get_sanitize_patterns(SANITIZE.read_text(encoding="utf-8"))
    assert [(p.pattern, r) for p, r in sanitize_patterns()] == read_by_nbval
    assert len(read_by_nbval) >= 4


@pytest.mark.parametrize(
    ("volatile", "expected"),
    [
        ("generated at (UTC) │ 2026-11-23 18:18:14 │", "generated at (UTC) │ GENERATED-AT │"),
        ("<td>2026-11-23T18:18:14+00:00</td>", "<td>GENERATED-AT</td>"),
        ("│ run time ┆ 12.3 s  │", "│ run time ┆ RUN-TIME│"),
        ("<td>9.8 s</td>", "<td>RUN-TIME</td>"),
        ("'/tmp/pytest-of-ci/pytest-3/sample0/journey.yml'", "'ABSOLUTE-PATH'"),
        ("│ data content hash ┆ 3fa9c0e1b2d4a6f8 │", "│ data content hash ┆ CONTENT-HASH │"),
        ("Journey score 80/100 for week 2026-W43", "Journey score 80/100 for week 2026-W43"),
        ("data time range (UTC) 2026-05-04 05:10", "data time range (UTC) 2026-05-04 05:10"),
    ],
)
def test_sanitize_file_replaces_only_volatile_text(volatile, expected):
    assert sanitised([volatile]) == [expected]


def test_two_runs_of_the_report_agree_once_sanitised(tmp_path_factory):
    first = text_outputs(published_report(tmp_path_factory).notebook)
    second = text_outputs(executed(REPORT_NOTEBOOK, tmp_path_factory))
    assert len(first) == len(second) > 20
    assert first != second  # generation time and run time differ between real runs
    assert sanitised(first) == sanitised(second)


def test_the_experiment_readout_reads_the_declared_test_with_its_verdicts(tmp_path_factory):
    notebook = NOTEBOOKS / "experiment_readout.ipynb"
    result = executed(notebook, tmp_path_factory)
    roles = [
        output.get("metadata", {}).get("journeylib", {}).get("role")
        for cell in result.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    ]
    assert roles[:2] == ["run", "headline"]
    assert roles.count("chart") == 2  # conversion_rate and aov, each with its interval bars
    journey = journeylib.load(small_sample_config(tmp_path_factory))
    declared = journey.config.experiments["checkout_test"]
    expected = journey.experiment(
        declared.variant,
        declared.kpis,
        start=declared.start,
        control=declared.control,
        expected_split=declared.expected_split,
    )
    headline = next(
        output
        for cell in result.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.get("metadata", {}).get("journeylib", {}).get("role") == "headline"
    )
    text = headline["data"]["text/plain"]
    assert text == "\n".join(f"- {readout.verdict}" for readout in expected.readouts)


def test_the_experiment_readout_defines_no_function_or_class():
    notebook = nbformat.read(NOTEBOOKS / "experiment_readout.ipynb", as_version=4)
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    tree = ast.parse(code)
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)]

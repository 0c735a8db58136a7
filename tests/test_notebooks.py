"""The notebooks in notebooks/: their parameters, a Papermill run each, nbval, and no logic.

Every report notebook of ``notebooks/`` (a notebook whose metadata says
``{"journeylib": {"kind": "dashboard"}}`` is a Voila dashboard, served and not run as a
report: :func:`journeylib.report.notebooks.report_notebooks` leaves it out), plus one made by
``journey new-report``, is executed with Papermill on the session's small sample and passes
nbval. Notebooks are committed without outputs, so nbval (``--nbval-lax``) checks that a copy
parameterised for the small sample runs cell by cell without error, in this environment. The
sanitize file is checked on two real runs of the report: their volatile outputs (generation
time, run time, paths, content hash) differ, the sanitised ones do not.
"""

from __future__ import annotations

import ast
import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import papermill
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import journeylib
from journeylib.report.notebooks import notebook_kind, report_notebooks
from journeylib.report.scaffold import new_report

SANITIZE = Path(__file__).with_name("nbval_sanitize.cfg")
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
REPORT_NOTEBOOK = NOTEBOOKS / "journey_report.ipynb"
#: Every notebook of notebooks/, dashboards included (the rules on code and outputs hold for all).
ALL_NOTEBOOKS = sorted(NOTEBOOKS.glob("*.ipynb"))
#: The report notebooks: run by Papermill (journey report run), executed here.
NOTEBOOK_PATHS = report_notebooks(NOTEBOOKS)
#: The report notebooks by name, and the one ``journey new-report`` makes in a copy of them.
SCAFFOLDED = "new_report_made"
RUN_NAMES = [path.stem for path in NOTEBOOK_PATHS] + [SCAFFOLDED]
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
    "float": (int, float),
    "bool": bool,
    "dict": dict,
    "list": list,
    "None": type(None),
}
_SHARED: dict[str, Path] = {}


def notebook_path(name: str, factory: pytest.TempPathFactory) -> Path:
    """A report notebook of notebooks/ by name, or the one new-report makes (once a session)."""
    if name != SCAFFOLDED:
        return NOTEBOOKS / f"{name}.ipynb"
    if name not in _SHARED:
        root = factory.mktemp("new-report")
        shutil.copytree(NOTEBOOKS, root / "notebooks")
        _SHARED[name] = new_report(SCAFFOLDED, template="explore_journey", root=root).notebook
    return _SHARED[name]


def sample_parameters(sample_config: Path, notebook: Path = REPORT_NOTEBOOK) -> dict:
    """The small sample's parameters, those the notebook declares."""
    config = str(sample_config)
    # the experiment readout takes `config` (the sample declares the checkout test)
    wanted = {"config_path": config, "config": config, "as_of": "data_end"}
    declared = papermill.inspect_notebook(str(notebook))
    return {name: value for name, value in wanted.items() if name in declared}


# --------------------------------------------------------------------------- parameters


def test_notebooks_folder_holds_the_suite():
    names = {path.stem for path in NOTEBOOK_PATHS}
    suite = {"journey_report", "explore_journey", "funnel_deep_dive", "cohort_retention"}
    assert suite | {"channel_performance"} <= names


def test_report_parameters_are_listed_with_their_annotation():
    inspected = papermill.inspect_notebook(str(REPORT_NOTEBOOK))
    declared = {name: entry["inferred_type_name"] for name, entry in inspected.items()}
    assert declared == REPORT_PARAMETERS
    assert list(inspected) == list(REPORT_PARAMETERS)


@pytest.mark.parametrize("notebook", ALL_NOTEBOOKS, ids=lambda path: path.stem)
def test_papermill_help_shows_every_type_and_comment(notebook):
    done = subprocess.run(
        [sys.executable, "-m", "papermill", "--help-notebook", str(notebook)],
        capture_output=True,
        text=True,
        check=True,
    )
    for name, entry in papermill.inspect_notebook(str(notebook)).items():
        assert f"  {name}: {entry['inferred_type_name']} (default " in done.stdout
    assert "Unknown type" not in done.stdout
    assert "Parameters inferred for notebook" in done.stdout


def test_papermill_help_of_the_report_names_its_config():
    done = subprocess.run(
        [sys.executable, "-m", "papermill", "--help-notebook", str(REPORT_NOTEBOOK)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "the journey config (relative to this folder)" in done.stdout


@pytest.mark.parametrize("notebook", ALL_NOTEBOOKS, ids=lambda path: path.stem)
def test_every_parameter_has_a_type_a_fitting_default_and_a_comment(notebook):
    inspected = papermill.inspect_notebook(str(notebook))
    assert inspected, f"{notebook.name} has no cell tagged 'parameters'"
    wrong = {}
    for name, entry in inspected.items():
        annotation = entry["inferred_type_name"]
        optional = annotation.startswith("Optional[")
        outer = annotation.removeprefix("Optional[").removesuffix("]").partition("[")[0]
        allowed = _TYPES.get(outer, ())
        allowed = (*(allowed if isinstance(allowed, tuple) else (allowed,)),)
        allowed += (type(None),) if optional else ()
        default = ast.literal_eval(entry["default"])
        # "None" is what papermill infers for a parameter without annotation
        if annotation == "None" or not entry["help"].strip() or not isinstance(default, allowed):
            wrong[name] = (annotation, entry["help"], entry["default"])
    assert wrong == {}


def test_the_type_check_fails_on_an_unannotated_parameter(tmp_path):
    path = tmp_path / "bare.ipynb"
    cell = new_code_cell(
        'period = "last_full_week"  # no annotation', metadata={"tags": ["parameters"]}
    )
    notebook = new_notebook(cells=[cell])
    notebook.metadata["kernelspec"] = {"name": "journeylib", "language": "python"}
    nbformat.write(notebook, path)
    (entry,) = papermill.inspect_notebook(str(path)).values()
    assert entry["inferred_type_name"] == "None"


@pytest.mark.parametrize("notebook", ALL_NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_committed_without_outputs(notebook):
    cells = nbformat.read(notebook, as_version=4).cells
    code = [cell for cell in cells if cell.cell_type == "code"]
    assert [cell.outputs for cell in code if cell.outputs] == []
    assert [cell.execution_count for cell in code if cell.execution_count] == []


# --------------------------------------------------------------------------- no logic


def definitions(notebook: Any) -> list[str]:
    """The functions and classes a notebook's code cells define (``def``, ``class``)."""
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        # IPython magics and shell escapes are not Python: leave their lines out
        source = "\n".join(
            "" if line.lstrip().startswith(("%", "!")) else line
            for line in cell.source.splitlines()
        )
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                found.append(f"cell {index}: {type(node).__name__} {node.name}")
    return found


@pytest.mark.parametrize("notebook", ALL_NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_defines_no_function_or_class(notebook):
    # logic belongs in journeylib, where it is tested and shared; a notebook calls it
    assert definitions(nbformat.read(notebook, as_version=4)) == []


def test_a_notebook_with_a_function_or_a_class_fails_the_rule():
    notebook = new_notebook(
        cells=[
            new_markdown_cell("def in markdown is prose"),
            new_code_cell("%matplotlib inline\nx = 1"),
            new_code_cell("def conversion(a, b):\n    return a / b"),
            new_code_cell("if True:\n    class Step:\n        pass"),
            new_code_cell("async def fetch():\n    pass"),
        ]
    )
    assert definitions(notebook) == [
        "cell 2: FunctionDef conversion",
        "cell 3: ClassDef Step",
        "cell 4: AsyncFunctionDef fetch",
    ]


def test_a_dashboard_is_told_apart_by_its_metadata(tmp_path):
    report, dashboard = tmp_path / "a_dashboard_named_report.ipynb", tmp_path / "board.ipynb"
    nbformat.write(new_notebook(), report)
    marked = new_notebook()
    marked.metadata["journeylib"] = {"kind": "dashboard"}
    nbformat.write(marked, dashboard)
    assert (notebook_kind(report), notebook_kind(dashboard)) == ("report", "dashboard")
    assert report_notebooks(tmp_path) == [report]


# --------------------------------------------------------------------------- Papermill run


_EXECUTED: dict[str, Any] = {}


def executed(notebook: Path, factory: pytest.TempPathFactory, sample_config: Path) -> Any:
    """A notebook executed once per session with Papermill on the small sample."""
    if notebook.stem not in _EXECUTED:
        output = factory.mktemp("papermill") / notebook.name
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=sample_parameters(sample_config, notebook),
            kernel_name="python3",
            cwd=str(notebook.parent),
            progress_bar=False,
            start_timeout=120,
            execution_timeout=300,
        )
        _EXECUTED[notebook.stem] = nbformat.read(output, as_version=4)
    return _EXECUTED[notebook.stem]


@pytest.mark.slow
@pytest.mark.parametrize("name", RUN_NAMES)
def test_notebook_runs_with_papermill_on_the_sample(name, tmp_path_factory, small_sample_config):
    notebook = notebook_path(name, tmp_path_factory)
    result = executed(notebook, tmp_path_factory, small_sample_config)
    code = [cell for cell in result.cells if cell.cell_type == "code"]
    errors = [o for cell in code for o in cell.outputs if o.output_type == "error"]
    assert result.metadata["papermill"]["exception"] is None
    assert errors == []
    assert all(cell.execution_count for cell in code)
    # the run marker the report runner reads (period and title), shown by every report
    roles = [
        o.get("metadata", {}).get("journeylib", {}).get("role") for c in code for o in c.outputs
    ]
    assert "run" in roles


# --------------------------------------------------------------------------- nbval


@pytest.mark.slow
@pytest.mark.parametrize("name", RUN_NAMES)
def test_nbval_runs_the_parameterised_notebook(
    name, tmp_path, tmp_path_factory, small_sample_config
):
    notebook = notebook_path(name, tmp_path_factory)
    copy = tmp_path / notebook.name
    papermill.execute_notebook(
        str(notebook),
        str(copy),
        parameters=sample_parameters(small_sample_config, notebook),
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
    code_cells = sum(c.cell_type == "code" for c in nbformat.read(copy, as_version=4).cells)
    assert f"{code_cells} passed" in completed.stdout.splitlines()[-1]
    if notebook == REPORT_NOTEBOOK:
        assert code_cells == REPORT_CODE_CELLS


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


def test_two_runs_of_the_report_agree_once_sanitised(
    tmp_path_factory, small_sample_config, published_report
):
    first = text_outputs(published_report.notebook)
    second = text_outputs(executed(REPORT_NOTEBOOK, tmp_path_factory, small_sample_config))
    assert len(first) == len(second) > 20
    assert first != second  # generation time and run time differ between real runs
    assert sanitised(first) == sanitised(second)


def test_the_experiment_readout_reads_the_declared_test_with_its_verdicts(
    tmp_path_factory, small_sample_config
):
    notebook = NOTEBOOKS / "experiment_readout.ipynb"
    result = executed(notebook, tmp_path_factory, small_sample_config)
    roles = [
        output.get("metadata", {}).get("journeylib", {}).get("role")
        for cell in result.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    ]
    assert roles[:2] == ["run", "headline"]
    assert roles.count("chart") == 2  # conversion_rate and aov, each with its interval bars
    journey = journeylib.load(small_sample_config)
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

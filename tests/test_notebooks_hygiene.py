"""Notebooks that review well in git: committed without outputs, diffed and merged by cell.

``.gitattributes`` sends every notebook through nbstripout (outputs and execution counts
stripped as it is staged) and nbdime (cell-level diff and merge); ``make venv`` (or ``make
notebook-git``) sets those filters in ``.git/config`` with ``scripts/notebook-git.sh``. Here:
the notebooks git holds (in HEAD and in the index) carry no outputs or execution counts, the
attributes name the filters, and in a new repository set up like a fresh clone the filter
really strips a notebook and the diff driver really shows its cells.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

REPO = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def git(*args: str, cwd: Path = REPO, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=check, timeout=120
    )


def in_git_checkout() -> bool:
    return shutil.which("git") is not None and (
        git("rev-parse", "--is-inside-work-tree", check=False).stdout.strip() == "true"
    )


needs_git = pytest.mark.skipif(
    not in_git_checkout(), reason="not a git checkout (a source archive): no committed notebooks"
)


def output_problems(text: str) -> list[str]:
    """What a stored notebook must not carry: outputs and execution counts, cell by cell."""
    notebook = json.loads(text)
    problems = []
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"cell {index}: {len(cell['outputs'])} output(s)")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {index}: execution count {cell['execution_count']}")
    for key in ("widgets", "papermill"):
        if key in notebook.get("metadata", {}):
            problems.append(f"metadata.{key}")
    return problems


def executed_notebook() -> nbformat.NotebookNode:
    """A notebook as a kernel leaves it: outputs, execution counts, a parameters tag."""
    cell = new_code_cell(
        'period: str = "last_full_week"  # the period',
        execution_count=4,
        outputs=[
            new_output("execute_result", {"text/plain": "'last_full_week'"}, execution_count=4)
        ],
        metadata={"tags": ["parameters"]},
    )
    notebook = new_notebook(cells=[new_markdown_cell("# Report"), cell])
    notebook.metadata["kernelspec"] = {
        "name": "journeylib",
        "display_name": "x",
        "language": "python",
    }
    notebook.metadata["papermill"] = {"parameters": {}}
    return notebook


def test_the_check_finds_outputs_and_execution_counts():
    assert output_problems(nbformat.writes(executed_notebook())) == [
        "cell 1: 1 output(s)",
        "cell 1: execution count 4",
        "metadata.papermill",
    ]


@needs_git
@pytest.mark.parametrize("where", ["HEAD", "index"])
def test_notebooks_in_git_carry_no_outputs(where):
    listed = git("ls-files", "-z", "--", "*.ipynb").stdout.split("\0")
    paths = [path for path in listed if path]
    assert any(path == "notebooks/journey_report.ipynb" for path in paths)
    found = {}
    for path in paths:
        spec = f"HEAD:{path}" if where == "HEAD" else f":{path}"
        shown = git("show", spec, check=False)
        if shown.returncode != 0:  # staged, not yet committed
            continue
        problems = output_problems(shown.stdout)
        if problems:
            found[path] = problems
    assert found == {}, "commit notebooks through the nbstripout filter (make venv sets it)"


def test_gitattributes_send_notebooks_through_nbstripout_and_nbdime():
    lines = (REPO / ".gitattributes").read_text().splitlines()
    assert "*.ipynb filter=nbstripout diff=jupyternotebook merge=jupyternotebook" in lines


@pytest.fixture
def fresh_clone(tmp_path: Path) -> Path:
    """A new repository with the project's .gitattributes, set up by scripts/notebook-git.sh."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "clone"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(REPO / ".gitattributes", repo / ".gitattributes")
    shutil.copy(REPO / "scripts" / "notebook-git.sh", repo / "scripts" / "notebook-git.sh")
    git("init", "-q", cwd=repo)
    git("config", "user.email", "test@example.com", cwd=repo)
    git("config", "user.name", "test", cwd=repo)
    git("config", "color.ui", "never", cwd=repo)
    # the project's virtual environment, where a clone's make venv would put it
    (repo / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    done = subprocess.run(
        ["bash", "scripts/notebook-git.sh", ".venv"], cwd=repo, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    (repo / "notebooks").mkdir()
    return repo


def test_the_filter_strips_a_notebook_as_it_is_committed(fresh_clone: Path):
    path = fresh_clone / "notebooks" / "report.ipynb"
    nbformat.write(executed_notebook(), path)
    git("add", ".gitattributes", "notebooks/report.ipynb", cwd=fresh_clone)
    git("commit", "-q", "-m", "report", cwd=fresh_clone)
    stored = git("show", "HEAD:notebooks/report.ipynb", cwd=fresh_clone).stdout
    assert output_problems(stored) == []
    cells = json.loads(stored)["cells"]
    assert cells[1]["metadata"]["tags"] == ["parameters"]  # tags stay: Papermill needs them
    assert "".join(cells[1]["source"]) == 'period: str = "last_full_week"  # the period'
    assert output_problems(path.read_text()) != []  # the working copy keeps its outputs
    # and git sees the notebook as unchanged: it compares the stripped form
    assert git("status", "--porcelain", "notebooks", cwd=fresh_clone).stdout == ""


def test_the_diff_shows_cells_not_json(fresh_clone: Path):
    path = fresh_clone / "notebooks" / "report.ipynb"
    nbformat.write(executed_notebook(), path)
    git("add", ".", cwd=fresh_clone)
    git("commit", "-q", "-m", "report", cwd=fresh_clone)
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[1].source = 'period: str = "last_full_month"  # the period'
    notebook.cells[1].execution_count = 9
    nbformat.write(notebook, path)
    shown = ANSI.sub("", git("diff", cwd=fresh_clone).stdout)
    assert "## modified /cells/1/source:" in shown
    assert '-  period: str = "last_full_week"  # the period' in shown
    assert '+  period: str = "last_full_month"  # the period' in shown
    assert "outputs" not in shown
    assert "execution_count" not in shown

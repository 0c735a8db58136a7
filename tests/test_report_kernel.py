"""The kernel of a report run, seen from outside: ``journey report run`` in a child process.

A small notebook records its kernel's pid and transport in a file, then sleeps, so a test can
signal the run while a cell executes and then check what the process left: its exit code and
stderr, whether the kernel is still alive, what is under ``reports/``. A quick notebook of the
same name shows the next run's cleaning of staging folders and the kernel's quiet stderr.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from journeylib.report._staging import clean_stale

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

#: A kernel takes a few seconds to start on a loaded 2-core machine.
START_TIMEOUT = 120
NAME = "kernel_probe"

PROBE = """\
import os, time
from pathlib import Path
from ipykernel.kernelapp import IPKernelApp

app = IPKernelApp.instance()
Path(marker).write_text(f"{os.getpid()} {app.transport}")
time.sleep(sleep_seconds)
"""


def write_probe(folder: Path) -> Path:
    """``<folder>/kernel_probe.ipynb``: writes ``<pid> <transport>`` to ``marker``, sleeps."""
    notebook = new_notebook(
        cells=[
            new_code_cell(
                'marker: str = "kernel.txt"  # where the kernel writes its pid and transport\n'
                "sleep_seconds: float = 0  # how long the cell then sleeps",
                metadata={"tags": ["parameters"]},
            ),
            new_code_cell(PROBE),
        ]
    )
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{NAME}.ipynb"
    nbformat.write(notebook, path)
    return path


def start_run(workdir: Path, sleep_seconds: float) -> subprocess.Popen[str]:
    notebook = write_probe(workdir / "notebooks")
    command = [
        sys.executable,
        "-m",
        "journeylib.cli",
        "report",
        "run",
        str(notebook),
        "--out",
        str(workdir / "reports"),
        "-p",
        "marker",
        str(workdir / "kernel.txt"),
        "-p",
        "sleep_seconds",
        str(sleep_seconds),
    ]
    environment = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen(
        command,
        cwd=workdir,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_kernel(run: subprocess.Popen[str], marker: Path) -> tuple[int, str]:
    """The kernel's pid and transport, once its cell runs."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text().strip():
            pid, transport = marker.read_text().split()
            return int(pid), transport
        if run.poll() is not None:
            pytest.fail(f"the run ended before its kernel started:\n{run.communicate()}")
        time.sleep(0.2)
    run.kill()
    pytest.fail("the kernel did not start in time")


def alive(pid: int) -> bool:
    """True while ``pid`` is a running (not zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def wait_gone(pid: int, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.2)
    return False


def staging_folders(workdir: Path) -> list[str]:
    folder = workdir / "reports" / NAME
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


# --------------------------------------------------------------------------- signals


@pytest.mark.parametrize(
    ("signal_number", "exit_code", "name"),
    [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")],
)
def test_a_signal_stops_the_kernel_and_leaves_nothing(tmp_path, signal_number, exit_code, name):
    run = start_run(tmp_path, sleep_seconds=300)
    kernel, _ = wait_for_kernel(run, tmp_path / "kernel.txt")
    (staging,) = staging_folders(tmp_path)
    assert staging == f".run-{staging[5:20]}-{run.pid}"
    run.send_signal(signal_number)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == exit_code, stderr
    assert stderr.splitlines() == [
        f"journey report run: interrupted by {name}; the kernel was stopped and nothing was "
        "published"
    ]
    assert wait_gone(kernel), f"kernel {kernel} still runs"
    assert staging_folders(tmp_path) == []


def test_a_killed_run_leaves_staging_that_the_next_run_removes(tmp_path):
    run = start_run(tmp_path, sleep_seconds=300)
    kernel, _ = wait_for_kernel(run, tmp_path / "kernel.txt")
    run.send_signal(signal.SIGKILL)
    run.communicate(timeout=60)
    (stale,) = staging_folders(tmp_path)
    assert stale == f".run-{stale[5:20]}-{run.pid}"
    # the kernel polls its parent and leaves when it is gone
    assert wait_gone(kernel), f"kernel {kernel} outlived its killed parent"
    live = tmp_path / "reports" / NAME / f".run-20260101T000000-{os.getpid()}"
    live.mkdir()
    (tmp_path / "kernel.txt").unlink()
    again = start_run(tmp_path, sleep_seconds=0)
    _, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr
    left = staging_folders(tmp_path)
    assert stale not in left
    assert live.name in left
    (published,) = [name for name in left if name != live.name]
    assert (tmp_path / "reports" / NAME / published / "report.html").is_file()
    assert live.is_dir()


def test_a_run_over_ipc_prints_nothing_on_stderr(tmp_path):
    run = start_run(tmp_path, sleep_seconds=0)
    stdout, stderr = run.communicate(timeout=300)
    assert run.returncode == 0, stderr
    assert stderr == ""
    assert "report written: " in stdout
    kernel, transport = (tmp_path / "kernel.txt").read_text().split()
    assert transport == "ipc"
    assert wait_gone(int(kernel))


# --------------------------------------------------------------------------- the cleaning


def test_cleaning_keeps_live_runs_and_restores_a_report_set_aside(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder = tmp_path / "reports" / "weekly"
    dead_staging = folder / f".run-20261102T070000-{dead.pid}"
    live_staging = folder / f".run-20261102T070000-{os.getpid()}"
    set_aside = folder / f".old-2026-W43-{dead.pid}"
    replaced = folder / f".old-2026-W42-{dead.pid}"
    for path in (dead_staging, live_staging, set_aside, replaced, folder / "2026-W42"):
        path.mkdir(parents=True)
        (path / "report.html").write_text(path.name, encoding="utf-8")
    (folder / "_failed").mkdir()
    clean_stale(folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["2026-W42", "2026-W43", "_failed", live_staging.name]
    )
    # a kill between the two renames of a publication: the previous report comes back
    assert (folder / "2026-W43" / "report.html").read_text() == set_aside.name
    assert (folder / "2026-W42" / "report.html").read_text() == "2026-W42"


def test_the_project_kernel_runs_this_environments_python():
    # make venv registers it; reports, the dashboard and JupyterLab run notebooks in it
    from jupyter_client.kernelspec import KernelSpecManager

    from journeylib.report.kernel import KERNEL_NAME

    spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    assert Path(spec.argv[0]).resolve() == Path(sys.executable).resolve()
    assert spec.display_name == "Python (journeylib)"


def test_a_missing_kernel_is_refused_before_anything_runs(tmp_path):
    from journeylib.errors import JourneyError
    from journeylib.report.run import run_report

    with pytest.raises(JourneyError, match=r"kernel 'no-such-kernel' is not installed.*ipykernel"):
        run_report(
            NOTEBOOKS / "journey_report.ipynb", out_root=tmp_path, kernel_name="no-such-kernel"
        )
    assert list(tmp_path.iterdir()) == []


def test_every_notebook_names_the_project_kernel():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        assert nbformat.read(path, as_version=4).metadata.kernelspec.name == "journeylib", path

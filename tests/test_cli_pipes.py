"""``journey kpis ... | head``: when the reader goes away, every analysis in every format
exits 141 quietly (as a Unix filter ended by SIGPIPE), never 0 with its output cut short.

The reader is a real pipe: it reads the first bytes and closes (as ``head -c`` does), so the
command is still writing when it goes. Outputs are larger than a pipe's buffer (64 KiB).
With ``PYTHONUNBUFFERED=1`` the text layer of stdout used to swallow the short write into the
closing pipe and the command exited 0, its output lost.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from journeylib.sample import generate_sample

FORMATS = ("table", "csv", "json")
#: Commands whose output is larger than a pipe's buffer on the sample below.
LARGE = {
    "kpis": ["kpis", "{config}", "--grain", "day"],
    "funnel": ["funnel", "{config}", "--grain", "day", "--trend", "--by", "channel"],
    "retention": ["retention", "{config}", "--grain", "day"],
}


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pipes")
    return generate_sample(out / "s", users=2000, seed=6).config_path


def _run(args: list[str], *, read_bytes: int | None, unbuffered: bool) -> tuple[int, str, int]:
    """Run ``journey ARGS`` into a pipe; read ``read_bytes`` then close it (``None``: the
    reader is gone before the first byte). Returns exit code, stderr and bytes read."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("PYTHONUNBUFFERED", None)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    read_end, write_end = os.pipe()
    if read_bytes is None:
        os.close(read_end)
    process = subprocess.Popen(
        [sys.executable, "-m", "journeylib.cli", *args],
        stdout=write_end,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    os.close(write_end)
    got = 0
    if read_bytes is not None:
        with os.fdopen(read_end, "rb") as reader:
            got = len(reader.read(read_bytes))
    _, stderr = process.communicate(timeout=300)
    return process.returncode, stderr, got


@pytest.mark.parametrize("output", FORMATS)
@pytest.mark.parametrize("command", sorted(LARGE))
def test_a_reader_that_goes_away_ends_the_command_with_141(
    command: str, output: str, config: Path
) -> None:
    # each output is over 100 KiB here, so the command is still writing when the reader goes
    args = [a.format(config=config) for a in LARGE[command]] + ["--format", output]
    code, stderr, got = _run(args, read_bytes=100, unbuffered=True)
    assert got == 100
    assert (code, stderr) == (141, "")


@pytest.mark.parametrize("output", FORMATS)
def test_a_reader_gone_before_the_first_byte_gives_141(output: str, config: Path) -> None:
    code, stderr, _ = _run(
        ["score", str(config), "--format", output], read_bytes=None, unbuffered=False
    )
    assert (code, stderr) == (141, "")


def test_a_buffered_stdout_exits_141_too(config: Path) -> None:
    args = [a.format(config=config) for a in LARGE["kpis"]] + ["--format", "csv"]
    code, stderr, _ = _run(args, read_bytes=100, unbuffered=False)
    assert (code, stderr) == (141, "")

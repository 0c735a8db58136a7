"""Bad flags of every command: exit 2, one line naming the flag, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from bad_inputs import BadInput, check_bad_input

CASES = [
    BadInput("unknown-command", ["nosuch"], ["invalid choice: 'nosuch'", "journey --help"]),
    BadInput("kpis-bad-grain", ["kpis", "x.yml", "--grain", "yearly"], ["--grain", "yearly"]),
    BadInput("kpis-bad-start", ["kpis", "x.yml", "--start", "2026-13-01"], ["--start"]),
    BadInput("funnel-bad-window", ["funnel", "x.yml", "--window", "soon"], ["--window"]),
    BadInput("report-run-no-report", ["report", "run"], ["report run", "required: report"]),
    BadInput("sample-zero-users", ["sample", "--users", "0", "--out", "s"], ["--users"]),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_bad_flag_exits_2_with_one_line(case: BadInput, tmp_path: Path) -> None:
    check_bad_input(case, tmp_path)

"""The command line's plain-text tables: aligned columns, values written in their units."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from journeylib.cli._table import (
    MAX_CELL,
    fit_cell,
    funnel_text,
    kpi_text,
    render,
    retention_text,
    score_text,
)


def test_render_aligns_text_left_and_numbers_right():
    text = render(["step", "users"], [["visit", "1,204"], ["buy", "87"]], numeric=[False, True])
    assert text.splitlines() == ["step   users", "-----  -----", "visit  1,204", "buy       87"]


def _kpi_row(**values) -> dict:
    row = {
        "period_start": date(2026, 9, 1), "complete": True, "stage": "purchase",
        "kpi": "conversion_rate", "unit": "rate", "value": 0.1270, "previous": 0.1258,
        "change": 0.0012, "ci_low": 0.1220, "ci_high": 0.1322, "p_value": 0.7363,
        "target": 0.12, "status": "met", "available": True, "reason": None,
    }  # fmt: skip
    return row | values


KPI_SCHEMA = {
    "period_start": pl.Date, "complete": pl.Boolean, "stage": pl.String, "kpi": pl.String,
    "unit": pl.String, "value": pl.Float64, "previous": pl.Float64, "change": pl.Float64,
    "ci_low": pl.Float64, "ci_high": pl.Float64, "p_value": pl.Float64, "target": pl.Float64,
    "status": pl.String, "available": pl.Boolean, "reason": pl.String, "channel": pl.String,
}  # fmt: skip


def _kpis(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame([{"channel": None} | row for row in rows], schema=KPI_SCHEMA)


def test_kpi_text_writes_each_value_in_its_unit():
    table = _kpis(
        _kpi_row(),
        _kpi_row(kpi="revenue", unit="currency", value=168384.81, previous=155485.85,
                 change=12898.96, ci_low=None, ci_high=None, p_value=None, target=None,
                 status=None),
        _kpi_row(kpi="ctr", value=0.01608, ci_low=0.01581, ci_high=0.01635, p_value=0.0004,
                 status="missed", target=0.02),
    )  # fmt: skip
    lines = kpi_text(table, by=[], currency="EUR").splitlines()
    assert lines[0].split() == ["period", "stage", "kpi", "value", "previous", "change", "95%",
                                "CI", "p", "target", "status"]  # fmt: skip
    assert lines[2].split() == ["2026-09-01", "purchase", "conversion_rate", "12.7%",
                                "12.6%", "+0.1", "pp", "12.2%", "to", "13.2%", "0.736", "12.0%",
                                "met"]  # fmt: skip
    assert lines[3].split() == ["2026-09-01", "purchase", "revenue", "EUR", "168,384.81", "EUR",
                                "155,485.85", "+EUR", "12,898.96"]  # fmt: skip
    # a rate interval takes the decimals that tell its ends apart; small p-values are bounded
    assert "1.58% to 1.64%" in lines[4]
    assert "<0.001" in lines[4]
    assert len(lines) == 5


def test_kpi_text_marks_partial_periods_and_lists_unavailable_kpis_once():
    unavailable = {"value": None, "previous": None, "change": None, "ci_low": None,
                   "ci_high": None, "p_value": None, "status": None, "available": False,
                   "kpi": "cac", "unit": "currency", "reason": "no spend table"}  # fmt: skip
    table = _kpis(
        _kpi_row(channel="email"),
        _kpi_row(channel=None, complete=False, period_start=date(2026, 10, 1)),
        _kpi_row(channel="email", **unavailable),
        _kpi_row(channel="web", **unavailable),
    )
    lines = kpi_text(table, by=["channel"], currency="EUR").splitlines()
    assert lines[0].split()[:2] == ["period", "channel"]
    assert lines[2].startswith("2026-09-01   email")
    assert lines[3].startswith("2026-10-01*  –")
    assert lines[4].split()[3:5] == ["cac", "n/a"]
    assert lines[-2:] == [
        "* the data ends before this period does",
        "not available: cac: no spend table",
    ]


def _funnel(in_progress: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "platform": ["ios", "ios"],
            "step": [1, 2],
            "step_name": ["visit", "buy"],
            "users": [1000, 125],
            "conversion_from_first": [1.0, 0.125],
            "ci_low": [0.996, 0.106],
            "ci_high": [1.0, 0.147],
            "conversion_from_previous": [1.0, 0.125],
            "drop_off": [None, 870],
            "in_progress": in_progress,
            "median_seconds_from_previous": [None, 5400.0],
            "p90_seconds_from_previous": [None, 200_000.0],
        }
    )


def test_funnel_text_has_a_line_a_step_and_says_who_is_still_in_progress():
    lines = funnel_text(_funnel([5, 0]), groups=["platform"]).splitlines()
    assert lines[0].split()[:5] == ["platform", "step", "name", "users", "of"]
    assert lines[3].split() == ["ios", "2", "buy", "125", "12.5%", "10.6%", "to", "14.7%",
                                "12.5%", "870", "0", "1h", "30m", "2.3", "days"]  # fmt: skip
    assert lines[-1].startswith("5 still in progress")
    assert "in progress:" not in funnel_text(_funnel([0, 0]), groups=["platform"])


def test_retention_text_leaves_unobserved_cells_blank():
    matrix = pl.DataFrame(
        {
            "cohort": [date(2026, 5, 1)] * 3 + [date(2026, 6, 1)] * 2,
            "cohort_size": [6436] * 3 + [9990] * 2,
            "offset": [0, 1, 2, 0, 1],
            "retention": [1.0, 0.6033, 0.0, 1.0, None],
        }
    )
    assert retention_text(matrix).splitlines() == [
        "cohort       size      +0     +1    +2",
        "----------  -----  ------  -----  ----",
        "2026-05-01  6,436  100.0%  60.3%  0.0%",
        "2026-06-01  9,990  100.0%",
    ]


@pytest.mark.parametrize(
    ("overall", "first_line"),
    [(85.76, "Journey score: 85.8 / 100"), (None, "Journey score: no KPI has both a value")],
)
def test_score_text(overall, first_line):
    stages = pl.DataFrame(
        {
            "stage": ["awareness"],
            "score": [79.0],
            "weight": [1.0],
            "kpis_scored": [2],
            "kpis_left_out": [1],
        }
    )
    lines = score_text(overall, stages, ["clicks (awareness): no target"]).splitlines()
    assert lines[0].startswith(first_line)
    assert lines[4].split() == ["awareness", "79.0", "1", "2", "1"]
    assert lines[-2:] == ["Left out:", "  clicks (awareness): no target"]


# --------------------------------------------------------------------------- long values


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("web", "web"),
        ("x" * MAX_CELL, "x" * MAX_CELL),
        ("x" * (MAX_CELL + 1), "x" * (MAX_CELL - 1) + "…"),
        ("line\nbreak\ttab", "line\\nbreak\\ttab"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("é" * 5_000_000, "é" * (MAX_CELL - 1) + "…"),
    ],
    ids=["short", "at-the-cap", "over-the-cap", "newline-and-tab", "terminal-escape", "5-mb"],
)
def test_a_cell_fits_one_line_of_at_most_the_cap(value: str, shown: str) -> None:
    assert fit_cell(value) == shown


def test_render_cuts_long_cells_and_headers_and_keeps_the_columns_aligned():
    long = "campaign-" + "z" * 200
    lines = render(["channel", "h" * 60], [[long, "1"], ["web", "22"]], numeric=[False, True])
    assert {len(line.rstrip()) for line in lines.splitlines()} == {2 * MAX_CELL + 2}
    assert lines.splitlines()[2] == fit_cell(long) + "  " + " " * (MAX_CELL - 1) + "1"


def test_kpis_table_with_a_huge_dimension_value_stays_small(tmp_path, capsys):
    # one user's channel is 1 MB: every row of the table used to be padded to it
    from journeylib.cli import main

    huge = "q" * 1_000_000
    rows = [f"u{i},2026-01-0{1 + i % 7}T10:00:00Z,visit,{'web' if i else huge}" for i in range(30)]
    events = tmp_path / "events.csv"
    events.write_text("user_id,timestamp,event,channel\n" + "\n".join(rows) + "\n")
    args = ["kpis", "--events", str(events), "--by", "channel", "--kpi", "unique_visitors"]
    assert main([*args, "--format", "table"]) == 0
    text = capsys.readouterr().out
    assert len(text) < 5_000
    assert max(map(len, text.splitlines())) <= 200
    assert "q" * (MAX_CELL - 1) + "…" in text
    assert main([*args, "--format", "json"]) == 0  # json and csv stay complete
    assert huge in {row["breakdown"]["channel"] for row in json.loads(capsys.readouterr().out)}
    assert main([*args, "--format", "csv"]) == 0
    assert huge in capsys.readouterr().out

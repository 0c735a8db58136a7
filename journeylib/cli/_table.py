"""The command line's ``--format table``: aligned plain-text columns, values in their units.

Every number is written as the report writes it (:mod:`journeylib._format`): rates as
percentages, currency with the journey's code, durations in s/m/h or days, counts with
thousands separators. The machine-readable forms are ``--format json`` and ``csv``.

Examples
--------
>>> print(render(["step", "users"], [["visit", "1,204"], ["buy", "87"]], numeric=[False, True]))
step   users
-----  -----
visit  1,204
buy       87
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from journeylib._format import format_change, format_count, format_duration, format_value

__all__ = ["MAX_CELL", "fit_cell", "funnel_text", "kpi_text", "render", "retention_text",
           "score_text"]  # fmt: skip

_BLANK = "–"
#: The widest cell of a table, in characters: a longer value is cut and ends in "…".
MAX_CELL = 40
_ELLIPSIS = "…"


def fit_cell(text: str, width: int = MAX_CELL) -> str:
    r"""``text`` on one line of at most ``width`` characters: control characters (a newline, a
    tab) written as escapes, a longer text cut with ``…`` at its end.

    Examples
    --------
    >>> fit_cell("a\tb")
    'a\\tb'
    >>> fit_cell("x" * 50, 10)
    'xxxxxxxxx…'
    """
    head = text[: width + 1]  # never escape more of a huge value than can be shown
    if not head.isprintable():
        head = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in head)
    return head[: width - 1] + _ELLIPSIS if len(head) > width else head


def render(header: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: Sequence[bool]) -> str:
    """``rows`` under ``header``, two spaces between columns; ``numeric`` ones right-aligned.

    Every cell is fitted to one line of at most :data:`MAX_CELL` characters (:func:`fit_cell`).
    """
    header = [fit_cell(name) for name in header]
    rows = [[fit_cell(cell) for cell in row] for row in rows]
    widths = [max([len(name), *(len(row[i]) for row in rows)]) for i, name in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        padded = (
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(cells, widths, numeric, strict=True)
        )
        return "  ".join(padded).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _interval(low: float | None, high: float | None, unit: str, currency: str) -> str:
    """``low to high``; a rate interval takes up to 3 decimals, so that its ends differ."""
    if low is None or high is None:
        return ""
    if unit == "rate":
        for decimals in (1, 2, 3):
            ends = [f"{100 * end:.{decimals}f}%".replace("-", "−") for end in (low, high)]
            if ends[0] != ends[1]:
                break
        return " to ".join(ends)
    low_text = format_value(low, unit, currency=currency)
    return f"{low_text} to {format_value(high, unit, currency=currency)}"


def _p_value(p: float | None) -> str:
    if p is None:
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def kpi_text(table: pl.DataFrame, *, by: Sequence[str], currency: str) -> str:
    """The KPI table (:meth:`journeylib.Journey.kpis`), one line per period, breakdown and KPI.

    Periods the data does not cover to their end are marked ``*``; KPIs that are not
    available are listed under the table with the reason, once each.
    """
    columns = [("period", False), *((c, False) for c in by), ("stage", False), ("kpi", False)]
    columns += [(name, True) for name in ("value", "previous", "change", "95% CI", "p", "target")]
    columns += [("status", False)]
    header, numeric = zip(*columns, strict=True)
    rows, missing, partial = [], {}, False
    for row in table.iter_rows(named=True):
        unit = row["unit"]
        period = _cell(row["period_start"])
        if not row["complete"]:
            period, partial = period + "*", True
        if not row["available"]:
            missing.setdefault(row["kpi"], row["reason"])
        rows.append(
            [
                period,
                *(_cell(row[c]) for c in by),
                row["stage"],
                row["kpi"],
                format_value(row["value"], unit, currency=currency) if row["available"] else "n/a",
                format_value(row["previous"], unit, currency=currency),
                format_change(row["change"], unit, currency=currency),
                _interval(row["ci_low"], row["ci_high"], unit, currency),
                _p_value(row["p_value"]),
                ""
                if row["target"] is None
                else format_value(row["target"], unit, currency=currency),
                row["status"] or "",
            ]
        )
    text = render(header, rows, numeric=numeric)
    if partial:
        text += "\n* the data ends before this period does"
    for kpi, reason in missing.items():
        text += f"\nnot available: {kpi}: {reason}"
    return text


def funnel_text(frame: pl.DataFrame, *, groups: Sequence[str]) -> str:
    """The funnel's step table (:meth:`journeylib.Journey.funnel`), one line per step.

    ``groups`` are the breakdown and period columns in front of the steps.
    """
    header = [*groups, "step", "name", "users", "of first", "95% CI", "of previous", "drop-off"]
    header += ["in progress", "median time", "p90 time"]
    numeric = [*(False for _ in groups), True, False, *([True] * 8)]
    rows = []
    for row in frame.iter_rows(named=True):
        rows.append(
            [
                *(_cell(row[c]) for c in groups),
                str(row["step"]),
                row["step_name"],
                format_count(row["users"]),
                format_value(row["conversion_from_first"], "rate"),
                _interval(row["ci_low"], row["ci_high"], "rate", ""),
                format_value(row["conversion_from_previous"], "rate"),
                format_count(row["drop_off"]),
                format_count(row["in_progress"]),
                format_duration(row["median_seconds_from_previous"]),
                format_duration(row["p90_seconds_from_previous"]),
            ]
        )
    text = render(header, rows, numeric=numeric)
    in_progress = int(frame["in_progress"].sum())
    if in_progress:
        text += (
            f"\n{format_count(in_progress)} still in progress: their window runs past the end of"
            " the data (not counted as drop-off)"
        )
    return text


def retention_text(matrix: pl.DataFrame) -> str:
    """The retention matrix (:meth:`journeylib.Journey.retention`): a line per cohort, a column
    per offset; a cell the data cannot show yet is blank."""
    offsets = sorted(matrix["offset"].unique().to_list())
    sizes = matrix.group_by("cohort").agg(pl.col("cohort_size").first()).sort("cohort")
    cells = {(r["cohort"], r["offset"]): r["retention"] for r in matrix.iter_rows(named=True)}
    header = ["cohort", "size", *(f"+{offset}" for offset in offsets)]
    rows = []
    for cohort, size in sizes.iter_rows():
        retained = [cells.get((cohort, offset)) for offset in offsets]
        rows.append(
            [
                _cell(cohort),
                format_count(size),
                *("" if r is None else format_value(r, "rate") for r in retained),
            ]
        )
    return render(header, rows, numeric=[False, *([True] * (len(offsets) + 1))])


def score_text(overall: float | None, stages: pl.DataFrame, left_out: Sequence[str]) -> str:
    """The journey score (:meth:`journeylib.Journey.score`): the overall score, a line per
    stage, then what was left out and why."""
    lines = [
        "Journey score: no KPI has both a value and a target"
        if overall is None
        else f"Journey score: {format_value(overall, 'score')} / 100"
    ]
    header = ["stage", "score", "weight", "KPIs scored", "left out"]
    rows = [
        [
            row["stage"],
            format_value(row["score"], "score"),
            f"{row['weight']:g}",
            str(row["kpis_scored"]),
            str(row["kpis_left_out"]),
        ]
        for row in stages.iter_rows(named=True)
    ]
    lines += ["", render(header, rows, numeric=[False, True, True, True, True])]
    if left_out:
        lines += ["", "Left out:", *(f"  {item}" for item in left_out)]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return _BLANK
    return value.isoformat() if isinstance(value, date) else str(value)

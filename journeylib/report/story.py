"""Sentences a report opens with: the score, the significant movers, targets, data quality.

Pure functions of the KPI table and the score: every figure they quote is a number the engine
computed; they choose what to say and how, nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from journeylib.charts import format_value
from journeylib.kpis import kpi_label

__all__ = ["headline_sentences", "kpi_label", "movers", "target_summary"]

#: The largest number of movers the headline names.
MAX_MOVERS = 3


def movers(table: pl.DataFrame, period_start: date, *, limit: int = MAX_MOVERS) -> pl.DataFrame:
    """The KPIs of a period that moved significantly, largest relative move first.

    A KPI without a value in either period (``previous`` null: the comparison period has no
    data) never moves, whatever its other columns say.
    """
    return (
        table.filter(
            (pl.col("period_start") == period_start)
            & pl.col("significant").fill_null(False)
            & pl.col("relative_change").is_not_null()
            & pl.col("previous").is_not_null()
            & pl.col("value").is_not_null()
            & pl.col("p_value").is_not_null()
        )
        .sort(pl.col("relative_change").abs(), descending=True)
        .head(limit)
    )


def _move_sentence(row: dict, currency: str, previous_label: str) -> str:
    verb = "rose" if (row["change"] or 0) > 0 else "fell"
    judgement = "better" if row["improved"] else "worse"
    before = format_value(row["previous"], row["unit"], currency=currency)
    after = format_value(row["value"], row["unit"], currency=currency)
    relative = f"{row['relative_change']:+.0%}"
    p_value = row["p_value"]
    p_text = "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"
    return (
        f"{kpi_label(row['kpi'])} {verb} from {before} to {after} ({relative}, {p_text}): "
        f"{judgement} than {previous_label}."
    )


def target_summary(table: pl.DataFrame, period_start: date, *, currency: str) -> str | None:
    """``9 of 15 KPIs with a target met it; furthest behind: ...`` (None without targets)."""
    current = table.filter(
        (pl.col("period_start") == period_start) & pl.col("status").is_not_null()
    )
    if current.height == 0:
        return None
    met = current.filter(pl.col("status") == "met").height
    sentence = f"{met} of {current.height} KPIs with a target met it"
    missed = current.filter(pl.col("status") == "missed").with_columns(
        pl.when(pl.col("direction") == "lower")
        .then(pl.col("value") / pl.col("target"))
        .otherwise(pl.col("target") / pl.col("value"))
        .alias("_gap")
    )
    if missed.height:
        worst = missed.sort("_gap", descending=True, nulls_last=True).row(0, named=True)
        value = format_value(worst["value"], worst["unit"], currency=currency)
        target = format_value(worst["target"], worst["unit"], currency=currency)
        sentence += (
            f"; furthest behind: {kpi_label(worst['kpi']).lower()} at {value} against {target}"
        )
    return sentence + "."


def headline_sentences(
    table: pl.DataFrame,
    *,
    period_start: date,
    period_text: str,
    previous_label: str,
    overall: float | None,
    previous_overall: float | None,
    currency: str,
    quarantined: int = 0,
    findings: Sequence[str] = (),
) -> list[str]:
    """The headline of a report, in plain sentences.

    Parameters
    ----------
    table
        The KPI table holding the report period (and the previous one).
    period_start, period_text
        The report period's first day and how to name it ("week 2026-W43 (19 Oct – 25 Oct)").
    previous_label
        How to name the comparison ("the previous week").
    overall, previous_overall
        Journey scores of the period and of the previous one.
    currency
        Currency code for money values.
    quarantined
        Rows quarantined by validation (mentioned when not 0).
    findings
        Sentences of the optimisation engine (the period's incidents, the top friction
        point), said right after the score.

    Examples
    --------
    >>> headline_sentences(table, period_start=date(2026, 10, 19), period_text="week 43",
    ...                    previous_label="the previous week", overall=71.2,
    ...                    previous_overall=68.0, currency="EUR")  # doctest: +SKIP
    """
    sentences = []
    if overall is None:
        sentences.append(f"No journey score for {period_text}: no KPI with a target has data.")
    else:
        score = f"Journey score {overall:.0f}/100 for {period_text}"
        if previous_overall is not None:
            score += f" ({previous_overall:.0f} in {previous_label})"
        sentences.append(score + ".")
    sentences += list(findings)
    moved = movers(table, period_start)
    current = table.filter(pl.col("period_start") == period_start)
    if current.height and current.get_column("previous").is_null().all():
        sentences.append(f"No comparison with {previous_label}: it has no data.")
    elif moved.height == 0:
        sentences.append(f"No KPI moved by more than noise against {previous_label} (p < 0.05).")
    for row in moved.iter_rows(named=True):
        sentences.append(_move_sentence(row, currency, previous_label))
    targets = target_summary(table, period_start, currency=currency)
    if targets:
        sentences.append(targets)
    if quarantined:
        sentences.append(
            f"{quarantined:,} rows failed validation and were quarantined (see Data quality)."
        )
    return sentences

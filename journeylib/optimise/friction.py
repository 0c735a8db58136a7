"""Friction: where units are lost, and the segments that convert significantly worse.

As docs/kpis.md#friction-incidents-and-loops defines it. Transitions are ranked by units lost
(reached step k, did not reach k+1, window closed). For each transition, every segment (a value
of a dimension on the unit's entry event) is compared with the other units of the transition by
the pooled two-proportion z-test; the p-values of all segments tested are Holm-adjusted
together, and a segment is a friction point when it converts worse with an adjusted p below
``alpha``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from journeylib.funnel import FunnelUnits
from journeylib.optimise._units import transition_rows, value_text
from journeylib.stats import (
    difference_interval,
    holm_adjust,
    two_proportion_ztest,
    wilson_interval,
)

__all__ = ["FrictionResult", "friction"]


@dataclass(frozen=True)
class FrictionResult:
    """Transitions ranked by units lost, and the segments converting worse.

    Attributes
    ----------
    transitions
        One row per transition, most units lost first: ``rank``, ``from_step``,
        ``from_name``, ``to_step``, ``to_name``, ``users`` (could take it), ``converted``,
        ``lost``, ``in_progress`` (stopped at the step, window still open: not counted),
        ``rate`` with ``ci_low``/``ci_high`` (95% Wilson).
    segments
        One row per transition and segment tested (at least ``min_users`` units on each
        side): ``from_step``, ``from_name``, ``to_name``, ``dimension``, ``value``, ``users``,
        ``converted``, ``rate``, ``others_users``, ``others_rate``, ``difference`` (segment
        minus others) with ``ci_low``/``ci_high`` (unpooled 95%), ``relative_difference``,
        ``p_value``, ``p_value_adjusted`` (Holm over every segment tested), ``users_lost``
        (units the segment lost beyond the others' rate), ``worse`` (significantly worse).
        Worse segments come first, by ``users_lost``.
    alpha
        The significance level applied to the adjusted p-values.
    next_events, correlation
        What dropped units did instead (:func:`journeylib.optimise.next_events`) and the
        funnel correlation (:func:`journeylib.optimise.correlation`), when computed (they
        read the events; :meth:`journeylib.Journey.friction` fills them in).
    """

    transitions: pl.DataFrame
    segments: pl.DataFrame
    alpha: float
    next_events: pl.DataFrame | None = None
    correlation: pl.DataFrame | None = None

    @property
    def worse(self) -> pl.DataFrame:
        """The segments that convert significantly worse than the rest (friction points)."""
        return self.segments.filter("worse")

    def top_sentence(self, unit: str = "user_id") -> str | None:
        """The top friction point in words (:func:`journeylib.optimise.sentences.
        friction_sentence`): the transition losing most units, with its worst segment when
        one converts significantly worse there; ``None`` when no unit was lost.

        Examples
        --------
        >>> journey.friction().top_sentence()  # doctest: +SKIP
        """
        from journeylib.optimise.sentences import friction_sentence, segment_name

        if self.transitions.is_empty():
            return None
        top = self.transitions.row(0, named=True)
        if not top["lost"]:
            return None
        worse = self.worse.filter(pl.col("from_step") == top["from_step"])
        segment = worse.row(0, named=True) if worse.height else None
        return friction_sentence(
            from_name=top["from_name"],
            to_name=top["to_name"],
            users=top["users"],
            lost=top["lost"],
            unit=unit,
            segment=segment_name(segment["dimension"], segment["value"]) if segment else None,
            segment_rate=segment["rate"] if segment else None,
            others_rate=segment["others_rate"] if segment else None,
            segment_lost=segment["users_lost"] if segment else None,
        )


_SEGMENT_SCHEMA = {
    "from_step": pl.Int32,
    "from_name": pl.String,
    "to_name": pl.String,
    "dimension": pl.String,
    "value": pl.String,
    "users": pl.Int64,
    "converted": pl.Int64,
    "rate": pl.Float64,
    "others_users": pl.Int64,
    "others_rate": pl.Float64,
    "difference": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "relative_difference": pl.Float64,
    "p_value": pl.Float64,
    "p_value_adjusted": pl.Float64,
    "users_lost": pl.Float64,
    "worse": pl.Boolean,
}


def _transitions(units: FunnelUnits, rows: pl.DataFrame) -> pl.DataFrame:
    names = units.step_names
    counts = rows.group_by("from_step").agg(
        pl.len().cast(pl.Int64).alias("users"), pl.col("converted").sum().cast(pl.Int64)
    )
    frame = units.units
    open_counts = {
        step: int((frame["in_progress"] & (frame["reached"] == step)).sum())
        for step in range(1, units.step_count)
    }
    records = []
    for step in range(1, units.step_count):
        found = counts.filter(pl.col("from_step") == step)
        users, converted = found.row(0)[1:] if found.height else (0, 0)
        low, high = wilson_interval(converted, users)
        records.append(
            {
                "from_step": step,
                "from_name": names[step - 1],
                "to_step": step + 1,
                "to_name": names[step],
                "users": users,
                "converted": converted,
                "lost": users - converted,
                "in_progress": open_counts[step],
                "rate": converted / users if users else None,
                "ci_low": low,
                "ci_high": high,
            }
        )
    schema = {
        "from_step": pl.Int32,
        "from_name": pl.String,
        "to_step": pl.Int32,
        "to_name": pl.String,
        "users": pl.Int64,
        "converted": pl.Int64,
        "lost": pl.Int64,
        "in_progress": pl.Int64,
        "rate": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
    }
    ranked = pl.DataFrame(records, schema=schema).sort(
        ["lost", "from_step"], descending=[True, False]
    )
    return ranked.with_row_index("rank", offset=1).with_columns(pl.col("rank").cast(pl.Int32))


def _segment_counts(rows: pl.DataFrame, dimensions: Sequence[str]) -> pl.DataFrame:
    parts = [
        rows.group_by("from_step", value_text(d).alias("value")).agg(
            pl.lit(d).alias("dimension"),
            pl.len().cast(pl.Int64).alias("users"),
            pl.col("converted").sum().cast(pl.Int64),
        )
        for d in dimensions
    ]
    if not parts:
        schema = {
            "from_step": pl.Int32,
            "value": pl.String,
            "dimension": pl.String,
            "users": pl.Int64,
            "converted": pl.Int64,
        }
        return pl.DataFrame(schema=schema)
    return pl.concat(parts).sort("from_step", "dimension", "value", nulls_last=True)


def friction(
    units: FunnelUnits,
    *,
    dimensions: Sequence[str] | None = None,
    alpha: float = 0.01,
    min_users: int = 30,
) -> FrictionResult:
    """Rank the funnel's transitions by units lost and find the segments converting worse.

    Parameters
    ----------
    units
        The per-unit funnel (:func:`journeylib.funnel.units.funnel_units`).
    dimensions
        Dimensions whose values are tested (default: the dimensions ``units`` carries).
        A null value is a segment of its own.
    alpha
        Level of the Holm-adjusted p-values (docs/kpis.md#friction-incidents-and-loops: 0.01).
    min_users
        Segments with fewer units (or fewer other units) at a transition are not tested.

    Returns
    -------
    FrictionResult

    Examples
    --------
    >>> result = friction(units)  # doctest: +SKIP
    >>> result.worse.select("from_name", "to_name", "dimension", "value")  # doctest: +SKIP
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    dimensions = list(units.dimensions if dimensions is None else dimensions)
    rows = transition_rows(units, dimensions)
    transitions = _transitions(units, rows)
    totals = {r["from_step"]: (r["users"], r["converted"]) for r in transitions.to_dicts()}
    names = units.step_names
    records = []
    for segment in _segment_counts(rows, dimensions).iter_rows(named=True):
        step = segment["from_step"]
        users, converted = segment["users"], segment["converted"]
        all_users, all_converted = totals[step]
        others_users, others_converted = all_users - users, all_converted - converted
        if users < min_users or others_users < min_users:
            continue
        rate, others_rate = converted / users, others_converted / others_users
        low, high = difference_interval(others_converted, others_users, converted, users)
        records.append(
            {
                "from_step": step,
                "from_name": names[step - 1],
                "to_name": names[step],
                "dimension": segment["dimension"],
                "value": segment["value"],
                "users": users,
                "converted": converted,
                "rate": rate,
                "others_users": others_users,
                "others_rate": others_rate,
                "difference": rate - others_rate,
                "ci_low": low,
                "ci_high": high,
                "relative_difference": rate / others_rate - 1 if others_rate else None,
                "p_value": two_proportion_ztest(converted, users, others_converted, others_users),
                "users_lost": max(0.0, users * (others_rate - rate)),
            }
        )
    adjusted = holm_adjust([r["p_value"] for r in records])
    for record, p_adjusted in zip(records, adjusted, strict=True):
        record["p_value_adjusted"] = p_adjusted
        record["worse"] = p_adjusted is not None and p_adjusted < alpha and record["difference"] < 0
    segments = pl.DataFrame(records, schema=_SEGMENT_SCHEMA).sort(
        ["worse", "users_lost", "from_step", "dimension", "value"],
        descending=[True, True, False, False, False],
        nulls_last=True,
    )
    return FrictionResult(transitions=transitions, segments=segments, alpha=alpha)

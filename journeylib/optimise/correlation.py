"""Funnel correlation: the events and dimension values that go with converting, or not.

As PostHog's funnel correlation reports it: among the units whose window closed (or that
converted), each event name (other than the funnel's own steps and exclusions) done between
the entry and the conversion (or the window's end for units that did not convert), and each
value of a dimension on the entry event, splits the units into a 2x2 table (with / without x
converted / not). Its odds ratio says how much the property raises (> 1) or lowers (< 1) the
odds of converting, with Woolf's 95% interval and the Wald p-value
(:func:`journeylib.stats.odds_ratio`), Holm-adjusted over every property tested.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from journeylib.funnel import UNIT_KEY, FunnelUnits, step_time
from journeylib.optimise._events import unit_events
from journeylib.optimise._units import value_text
from journeylib.stats import holm_adjust, odds_ratio

__all__ = ["correlation"]

_SCHEMA = {
    "kind": pl.String,
    "dimension": pl.String,
    "value": pl.String,
    "users": pl.Int64,
    "converted": pl.Int64,
    "rate": pl.Float64,
    "others_rate": pl.Float64,
    "odds_ratio": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "p_value": pl.Float64,
    "p_value_adjusted": pl.Float64,
    "direction": pl.String,
}


def correlation(
    events: pl.LazyFrame,
    units: FunnelUnits,
    *,
    dimensions: Sequence[str] | None = None,
    target_step: int | None = None,
    min_users: int = 10,
) -> pl.DataFrame:
    """Odds ratios of converting for every event name and dimension value (see module doc).

    Parameters
    ----------
    events
        The events the funnel was matched on.
    units
        The per-unit funnel.
    dimensions
        Dimensions whose values are tested (default: those ``units`` carries).
    target_step
        Converting means reaching this step (default: the last).
    min_users
        Properties held by fewer units, or by all but fewer, are not tested.

    Returns
    -------
    pl.DataFrame
        ``kind`` (``event`` or ``dimension``), ``dimension`` (null for events), ``value``,
        ``users`` (with the property), ``converted``, ``rate``, ``others_rate``,
        ``odds_ratio``, ``ci_low``, ``ci_high``, ``p_value``, ``p_value_adjusted``,
        ``direction`` (``raises`` or ``lowers``); strongest significant first.

    Examples
    --------
    >>> correlation(events, units).head(5)  # doctest: +SKIP
    """
    target = units.step_count if target_step is None else target_step
    if not 2 <= target <= units.step_count:
        raise ValueError(f"target_step must be between 2 and {units.step_count}, got {target}")
    dimensions = list(units.dimensions if dimensions is None else dimensions)
    converted = pl.col("reached") >= target
    finished = units.units.filter(converted | ~pl.col("in_progress")).with_columns(
        converted.alias("converted")
    )
    total, total_converted = finished.height, int(finished["converted"].sum())
    spans = finished.select(
        UNIT_KEY,
        "converted",
        pl.col(step_time(1)).alias("_from"),
        pl.when("converted")
        .then(pl.col(step_time(target)))
        .otherwise(pl.col(step_time(1)) + units.window)
        .alias("_until"),
    )
    own = sorted({name for step in units.steps for name in step} | set(units.exclude))
    done = (
        unit_events(events, units, spans)
        .filter(
            pl.col("timestamp") >= pl.col("_from"),
            pl.col("timestamp") <= pl.col("_until"),
            ~pl.col("event").is_in(own),
        )
        .select(UNIT_KEY, "event", "converted")
        .unique([UNIT_KEY, "event"])
        .group_by("event")
        .agg(pl.len().alias("users"), pl.col("converted").sum())
        .select(
            pl.lit("event").alias("kind"),
            pl.lit(None, pl.String).alias("dimension"),
            pl.col("event").alias("value"),
            "users",
            "converted",
        )
        .collect()
    )
    parts = [done]
    for dimension in dimensions:
        parts.append(
            finished.group_by(value_text(dimension).alias("value"))
            .agg(
                pl.lit("dimension").alias("kind"),
                pl.lit(dimension).alias("dimension"),
                pl.len().alias("users"),
                pl.col("converted").sum(),
            )
            .select("kind", "dimension", "value", "users", "converted")
        )
    counts = pl.concat(
        [p.with_columns(pl.col("users", "converted").cast(pl.Int64)) for p in parts]
    ).sort("kind", "dimension", "value", nulls_last=True)
    records = []
    for row in counts.iter_rows(named=True):
        users, hits = row["users"], row["converted"]
        if users < min_users or total - users < min_users:
            continue
        ratio, low, high, p_value = odds_ratio(
            hits, users - hits, total_converted - hits, total - users - (total_converted - hits)
        )
        if ratio is None:
            continue
        records.append(
            {
                **row,
                "rate": hits / users,
                "others_rate": (total_converted - hits) / (total - users),
                "odds_ratio": ratio,
                "ci_low": low,
                "ci_high": high,
                "p_value": p_value,
                "direction": "raises" if ratio > 1 else "lowers",
            }
        )
    for record, adjusted in zip(records, holm_adjust([r["p_value"] for r in records]), strict=True):
        record["p_value_adjusted"] = adjusted
    frame = pl.DataFrame(records, schema=_SCHEMA)
    strength = pl.col("odds_ratio").log().abs()
    return frame.sort(
        [pl.col("p_value_adjusted") >= 0.05, strength, "value"],
        descending=[False, True, False],
    )

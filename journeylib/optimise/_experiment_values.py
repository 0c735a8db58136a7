"""Per-user values of KPIs over one experiment period, computed by the KPIs' own formulas.

The KPI formulas of the registry aggregate :class:`journeylib.kpis.KpiInputs` per period and
breakdown. An experiment needs each randomised user's numerator and denominator over the whole
experiment period, so the shared per-user aggregates are built by day
(:func:`journeylib.kpis.build_inputs`), merged into one period (flags: any; counts and sums:
total) and the formula is run with the user as its breakdown. The numbers are therefore those
of the KPI's single definition, only cut per user.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date

import polars as pl

from journeylib.config import JourneyConfig
from journeylib.errors import DataError
from journeylib.kpis import KPI, KpiInputs, build_inputs, user_key
from journeylib.periods import local_bound

__all__ = ["USER", "assign_variants", "per_user_values"]

#: The column of the user's key in the per-user frames (the KPI aggregates' 64-bit key).
USER = "user_id"


def _one_period(inputs: KpiInputs) -> KpiInputs:
    """The inputs with every reported day merged into one period, broken down by user."""
    rows = inputs.user_period.filter(pl.col("period_start") >= inputs.start)
    schema = rows.collect_schema()
    merged = [
        pl.col(name).any() if dtype == pl.Boolean else pl.col(name).sum()
        for name, dtype in schema.items()
        if name not in (USER, "period_start", *inputs.by)
    ]
    user_period = (
        rows.group_by(USER)
        .agg(merged)
        .with_columns(pl.lit(inputs.start, pl.Date).alias("period_start"))
    )
    periods = inputs.periods.filter(pl.col("period_start") >= inputs.start)
    whole = [
        pl.col(name).min()
        if name == "period_start"
        else pl.col(name).all()
        if dtype == pl.Boolean
        else pl.col(name).sum()
        if dtype.is_integer()
        else pl.col(name).max()
        for name, dtype in periods.collect_schema().items()
    ]
    return replace(inputs, user_period=user_period, periods=periods.select(whole), by=(USER,))


def per_user_values(
    tables: Mapping[str, pl.LazyFrame],
    config: JourneyConfig,
    kpis: Sequence[KPI],
    *,
    start: date,
    end: date,
) -> dict[str, pl.DataFrame]:
    """Each KPI's ``numerator`` and ``denominator`` per user (``user_id`` key) in ``[start, end)``.

    Only users with a row in the per-user aggregates (an event in the period) are listed.
    """
    inputs = build_inputs(
        {"events": tables["events"]},
        config,
        start=start,
        end=end,
        grain="day",
        with_sessions=False,
    )
    merged = _one_period(inputs)
    values = {}
    for kpi in kpis:
        reason = kpi.missing_inputs(merged)
        if reason:
            raise DataError(f"KPI {kpi.name} cannot be read in an experiment: {reason}")
        values[kpi.name] = (
            kpi.compute(merged)
            .select(USER, pl.col("numerator").fill_null(0.0), pl.col("denominator").fill_null(0.0))
            .collect()
        )
    return values


def assign_variants(
    events: pl.LazyFrame, column: str, *, start: date, end: date, timezone: str
) -> pl.DataFrame:
    """Per user seen with a variant in ``[start, end)``: the first variant and how many seen.

    Returns ``user_id`` (key), ``variant`` (as text: the value on the user's first event with
    one) and ``variants_seen``.
    """
    schema = events.collect_schema()
    if column not in schema:
        dimensions = [c for c in schema if c not in ("user_id", "timestamp", "event")]
        raise DataError(
            f"no variant column {column!r} in the events; columns: {', '.join(dimensions)}"
        )
    lower, upper = local_bound(start, timezone), local_bound(end, timezone)
    return (
        events.filter(
            pl.col(column).is_not_null(),
            pl.col("user_id").is_not_null(),
            pl.col("timestamp") >= lower,
            pl.col("timestamp") < upper,
        )
        .select(
            user_key(pl.col("user_id")).alias(USER),
            "timestamp",
            pl.col(column).cast(pl.String).alias("variant"),
        )
        .group_by(USER)
        .agg(
            pl.col("variant").sort_by("timestamp", "variant").first(),
            pl.col("variant").n_unique().alias("variants_seen"),
        )
        .collect()
    )

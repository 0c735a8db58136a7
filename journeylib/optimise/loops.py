"""Loops: units going back from a later funnel step to an earlier one more often than before.

As docs/kpis.md#friction-incidents-and-loops defines them. A unit that reached step j loops
back to an earlier step i when it has an event of step i after its step-j event, inside its
window (checkout, then product views again); only units whose window closed by the end of the
data count. Per pair (j, i) and period (of the step-j event, local), the share of units that
looped is compared with the previous ``baseline_periods`` periods as incidents are
(:mod:`journeylib.optimise.incidents`): a rise with p < ``alpha`` of at least ``min_rise`` is
flagged, and consecutive flagged periods merge into one loop.

The events of the funnel's steps are read once: the latest event of each step per unit, in its
window, tells every pair at once (a unit looped from j to i when its latest step-i event is
after its step-j event).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import polars as pl

from journeylib.funnel import UNIT_KEY, FunnelUnits, step_time
from journeylib.optimise._events import unit_events
from journeylib.optimise._trailing import flag_periods, merge_runs, rate_p_value
from journeylib.optimise._units import closed
from journeylib.optimise.sentences import loop_sentence
from journeylib.periods import Grain, period_start_expr, period_starts

__all__ = ["LoopsResult", "detect_loops"]

_KEYS = ["from_step", "to_step"]


@dataclass(frozen=True)
class LoopsResult:
    """Loops of one funnel at one grain.

    Attributes
    ----------
    loops
        One row per loop: ``key`` (``checkout→product_view|loop|2026-09-07``), ``from_step``
        and ``from_name`` (the later step), ``to_step`` and ``to_name`` (the earlier one),
        ``start``, ``end`` (exclusive), ``periods``, ``users`` (reached the later step),
        ``looped``, ``baseline_rate``, ``rate``, ``relative_change``, ``extra_users``
        (looped beyond the baseline rate), ``p_value``, ``sentence``.
    periods
        Every tested period of every pair: ``from_step``, ``to_step``, ``period``, ``users``,
        ``hits``, ``rate``, ``baseline_rate``, ``relative_change``, ``p_value``, ``flagged``.
    """

    loops: pl.DataFrame
    periods: pl.DataFrame
    grain: Grain
    baseline_periods: int


def _latest_step_events(events: pl.LazyFrame, units: FunnelUnits) -> pl.DataFrame:
    """Per unit (that reached step 2 or further): the latest time of each step's events."""
    chosen = units.units.filter(pl.col("reached") >= 2).select(
        UNIT_KEY, (pl.col(step_time(1)) + units.window).alias("_until")
    )
    owners = [(name, step) for step, names in enumerate(units.steps, start=1) for name in names]
    step_of = pl.DataFrame(
        {"event": [n for n, _ in owners], "step": [s for _, s in owners]},
        schema={"event": pl.String, "step": pl.Int32},
    )
    return (
        unit_events(events.filter(pl.col("event").is_in(step_of["event"].implode())), units, chosen)
        .filter(pl.col("timestamp") <= pl.col("_until"))
        .join(step_of.lazy(), on="event")
        .group_by(UNIT_KEY, "step")
        .agg(pl.col("timestamp").max().alias("latest"))
        .collect()
    )


def detect_loops(
    events: pl.LazyFrame,
    units: FunnelUnits,
    *,
    grain: Grain = "week",
    baseline_periods: int = 4,
    alpha: float = 0.01,
    min_rise: float = 0.10,
) -> LoopsResult:
    """Find the loops of a funnel (see the module doc).

    Examples
    --------
    >>> detect_loops(events, units, grain="week").loops  # doctest: +SKIP
    """
    latest = _latest_step_events(events, units)
    frame = units.units.filter(pl.col("reached") >= 2, closed(units))
    rows = []
    for later in range(2, units.step_count + 1):
        reached = frame.filter(pl.col("reached") >= later).select(
            UNIT_KEY, pl.col(step_time(later)).alias("at")
        )
        for earlier in range(1, later):
            back = latest.filter(pl.col("step") == earlier).select(UNIT_KEY, "latest")
            rows.append(
                reached.join(back, on=UNIT_KEY, how="left").select(
                    pl.lit(later, pl.Int32).alias("from_step"),
                    pl.lit(earlier, pl.Int32).alias("to_step"),
                    "at",
                    (pl.col("latest") > pl.col("at")).fill_null(False).alias("looped"),
                )
            )
    names = units.step_names
    empty = pl.DataFrame(
        schema={
            "from_step": pl.Int32,
            "to_step": pl.Int32,
            "period": pl.Date,
            "users": pl.Int64,
            "hits": pl.Int64,
        }
    )
    if rows:
        pairs = pl.concat(rows).with_columns(
            period_start_expr("at", grain, units.timezone).alias("period")
        )
        series = pairs.group_by(*_KEYS, "period").agg(
            pl.len().cast(pl.Int64).alias("users"),
            pl.col("looped").sum().cast(pl.Int64).alias("hits"),
        )
    else:
        series = empty
    grid = (
        period_starts(series["period"].min(), series["period"].max() + timedelta(days=1), grain)
        if series.height
        else []
    )
    tested = flag_periods(
        series,
        keys=_KEYS,
        periods=grid,
        baseline_periods=baseline_periods,
        alpha=alpha,
        min_change=min_rise,
        direction="rise",
    )
    runs = merge_runs(tested, keys=_KEYS, grain=grain).sort("start", *_KEYS)
    loops = []
    for run in runs.iter_rows(named=True):
        from_name, to_name = names[run["from_step"] - 1], names[run["to_step"] - 1]
        extra = run["hits"] - run["users"] * run["baseline_rate"]
        loops.append(
            {
                "key": f"{from_name}→{to_name}|loop|{run['start'].isoformat()}",
                "from_step": run["from_step"],
                "from_name": from_name,
                "to_step": run["to_step"],
                "to_name": to_name,
                "start": run["start"],
                "end": run["end"],
                "periods": run["periods"],
                "users": run["users"],
                "looped": run["hits"],
                "baseline_rate": run["baseline_rate"],
                "rate": run["rate"],
                "relative_change": run["rate"] / run["baseline_rate"] - 1
                if run["baseline_rate"]
                else None,
                "extra_users": extra,
                "p_value": rate_p_value(
                    run["hits"], run["users"], run["baseline_hits"], run["baseline_users"]
                ),
                "sentence": loop_sentence(
                    from_name=from_name,
                    to_name=to_name,
                    start=run["start"],
                    end=run["end"],
                    baseline_rate=run["baseline_rate"],
                    rate=run["rate"],
                    baseline_periods=baseline_periods,
                    grain=grain,
                    extra_users=extra,
                    unit=units.unit,
                ),
            }
        )
    schema = {
        "key": pl.String,
        "from_step": pl.Int32,
        "from_name": pl.String,
        "to_step": pl.Int32,
        "to_name": pl.String,
        "start": pl.Date,
        "end": pl.Date,
        "periods": pl.Int64,
        "users": pl.Int64,
        "looped": pl.Int64,
        "baseline_rate": pl.Float64,
        "rate": pl.Float64,
        "relative_change": pl.Float64,
        "extra_users": pl.Float64,
        "p_value": pl.Float64,
        "sentence": pl.String,
    }
    return LoopsResult(
        loops=pl.DataFrame(loops, schema=schema),
        periods=tested.drop("baseline_users", "baseline_hits"),
        grain=grain,
        baseline_periods=baseline_periods,
    )

"""What dropped units did instead: their next event after the step they stopped at.

For the units that reached step k and not k+1 (their window closed), the next event is the
earliest event of the unit strictly after its step-k event and inside its window (ties: the
smallest event name); units with no such event ``left``. Shares are of the units dropped at
that transition.
"""

from __future__ import annotations

import polars as pl

from journeylib.funnel import UNIT_KEY, FunnelUnits, step_time
from journeylib.optimise._events import unit_events

__all__ = ["LEFT", "next_events"]

#: The next event of a dropped unit that did nothing more in its window.
LEFT = "left"


def next_events(events: pl.LazyFrame, units: FunnelUnits, *, top: int = 5) -> pl.DataFrame:
    """The most frequent next events of the units dropped at each transition.

    Parameters
    ----------
    events
        The events the funnel was matched on (same filters).
    units
        The per-unit funnel.
    top
        How many next events to keep per transition (``left`` is always kept).

    Returns
    -------
    pl.DataFrame
        ``from_step``, ``from_name``, ``to_name``, ``next_event``, ``users``, ``share`` (of
        the units dropped there), ``dropped`` (units dropped at the transition), most
        frequent first.

    Examples
    --------
    >>> next_events(events, units).filter(pl.col("from_step") == 4)  # doctest: +SKIP
    """
    frame = units.units
    last = units.step_count
    dropped = frame.filter(pl.col("reached") < last, ~pl.col("in_progress")).select(
        UNIT_KEY,
        pl.col("reached").alias("from_step"),
        pl.coalesce(
            [pl.when(pl.col("reached") == s).then(pl.col(step_time(s))) for s in range(1, last)]
        ).alias("_after"),
        (pl.col(step_time(1)) + units.window).alias("_until"),
    )
    following = (
        unit_events(events, units, dropped)
        .filter(pl.col("timestamp") > pl.col("_after"), pl.col("timestamp") <= pl.col("_until"))
        .group_by(UNIT_KEY)
        .agg(pl.col("event").sort_by("timestamp", "event").first().alias("next_event"))
        .collect()
    )
    chosen = dropped.join(following, on=UNIT_KEY, how="left").with_columns(
        pl.col("next_event").fill_null(LEFT)
    )
    names = {step: name for step, name in enumerate(units.step_names, start=1)}
    counted = (
        chosen.group_by("from_step", "next_event")
        .agg(pl.len().cast(pl.Int64).alias("users"))
        .with_columns(pl.col("users").sum().over("from_step").alias("dropped"))
        .with_columns((pl.col("users") / pl.col("dropped")).alias("share"))
        .sort(["from_step", "users", "next_event"], descending=[False, True, False])
    )
    rank = pl.int_range(pl.len()).over("from_step")
    kept = counted.filter((rank < top) | (pl.col("next_event") == LEFT))
    return kept.select(
        pl.col("from_step").cast(pl.Int32),
        pl.col("from_step").replace_strict(names, return_dtype=pl.String).alias("from_name"),
        (pl.col("from_step") + 1).replace_strict(names, return_dtype=pl.String).alias("to_name"),
        "next_event",
        "users",
        "share",
        "dropped",
    )

"""Funnel matching for the common case, on dense unit indices: first attempt, steps disjoint.

When the funnel counts each unit's first entry only (``attempt="first"``), is not strict, has
no exclusion events and no event name fills two steps, a step's event is simply the unit's
smallest order key at or after the previous step's timestamp and inside the entry's window
(see :mod:`journeylib._funnel_match` for the keys). Then the whole match needs two hash
operations on the collected events: one to find the entries (which numbers the units
``0..U-1``), and one join that gives every later-step event its unit's number and drops the
events outside the unit's window. Each step after that is a gather and a ``numpy.minimum.at``
over the events of that step's names, with no further join or group-by.

The events are either collected once and read from memory (the faster way) or, for inputs
above ``journeylib.funnel.STREAM_EVENTS``, read by one streaming plan that keeps only the
entries and the later-step events, so that the step-1 events (most of a funnel's) are never
held.

:func:`match_first_attempts` returns exactly what :func:`journeylib._funnel_match.match_units`
returns for the same case (a property test holds the two to each other).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from journeylib._funnel_match import KEY, SEGMENT, UNIT, Keys, add_order_key, entry_rows

__all__ = ["dense_applies", "match_first_attempts"]

_MISSING = np.iinfo(np.int64).max


def dense_applies(
    steps: Sequence[Sequence[str]], *, best: bool, strict: bool, exclude: Sequence[str]
) -> bool:
    """Whether :func:`match_first_attempts` computes this funnel."""
    names = [name for step in steps for name in set(step)]
    return not best and not strict and not exclude and len(names) == len(set(names))


@dataclass(frozen=True)
class _Read:
    """What the matching needs from the events (``also``: the extra plans' results)."""

    entries: pl.DataFrame
    later: pl.LazyFrame
    step_1: pl.LazyFrame
    also: list[pl.DataFrame]


class _Reader:
    """The funnel's events as order keys, read for the entries and the later steps.

    ``events`` holds funnel names only (see :func:`match_first_attempts`).
    """

    def __init__(
        self,
        events: pl.LazyFrame,
        steps: Sequence[Sequence[str]],
        keys: Keys,
        start: datetime,
        end: datetime,
    ) -> None:
        self.events = events
        self.keys = keys
        self.first_names = list(steps[0])
        self.later_names = [name for names in steps[1:] for name in names]
        self.period = [pl.col(KEY) >= keys.bound(start), pl.col(KEY) < keys.bound(end)]

    def _keyed(self, events: pl.LazyFrame) -> pl.LazyFrame:
        return add_order_key(events, self.keys.names, only_funnel_names=True)

    def held(self, also: Sequence[pl.LazyFrame]) -> _Read:
        """Collect the keyed events once and cut the entries and the later steps from them.

        The step-1 rows are cut eagerly before the group-by, which measured faster than the
        same filter inside the streaming plan.
        """
        keyed, *also_results = pl.collect_all([self._keyed(self.events), *also])
        step_1 = keyed.filter(self.keys.named(self.first_names), *self.period)
        # the streaming engine's group-by measured about twice as fast here as the in-memory one
        entries = _first_keys(step_1.lazy()).collect(engine="streaming")
        del step_1
        return _Read(
            entries=entries,
            later=keyed.lazy().filter(self.keys.named(self.later_names)).select(UNIT, KEY),
            step_1=keyed.lazy().filter(self.keys.named(self.first_names)),
            also=also_results,
        )

    def streamed(self, also: Sequence[pl.LazyFrame]) -> _Read:
        """One streaming read that holds the entries and the later steps, not the step-1 rows.

        The plan branches on the event names before the order key is computed: branching on
        the key made the streaming engine hold its shared input (1.3 GB against 0.6 GB at 50M
        events, measured).
        """
        event = pl.col("event")
        step_1 = self._keyed(self.events.filter(event.is_in(self.first_names)))
        later = self._keyed(self.events.filter(event.is_in(self.later_names)))
        plans = [_first_keys(step_1.filter(*self.period)), later.select(UNIT, KEY), *also]
        entries, later_events, *also_results = pl.collect_all(plans, engine="streaming")
        return _Read(entries=entries, later=later_events.lazy(), step_1=step_1, also=also_results)


def _first_keys(step_1: pl.LazyFrame) -> pl.LazyFrame:
    """Each unit's smallest step-1 key (``key_1``)."""
    return step_1.group_by(UNIT).agg(pl.col(KEY).min().alias("key_1"))


def _in_window(later: pl.LazyFrame, entries: pl.DataFrame, keys: Keys) -> pl.DataFrame:
    """The later-step events inside their unit's window: ``index``, key and event ``code``."""
    return (
        later.join(entries.lazy().select(UNIT, "index", "key_1"), on=UNIT)
        .filter(
            pl.col(KEY) >= keys.floor(pl.col("key_1")),
            pl.col(KEY) <= keys.deadline(pl.col("key_1")),
        )
        .select("index", KEY, (pl.col(KEY) % keys.scale).cast(pl.UInt16).alias("code"))
        .collect(engine="streaming")
    )


def _segments(step_1: pl.LazyFrame, entries: pl.DataFrame) -> pl.DataFrame:
    """Per unit, the breakdown value of its entry event (``step_1``: the step-1 events)."""
    entry_events = (
        step_1.select(UNIT, KEY, SEGMENT)
        .join(entries.lazy().select(UNIT, pl.col("key_1").alias(KEY)), on=[UNIT, KEY], how="semi")
        .collect(engine="streaming")
    )
    first = entries.select(UNIT, "key_1", first=pl.lit(True))
    return entry_rows(first, entry_events).select(UNIT, SEGMENT)


def _step_keys(
    in_window: pl.DataFrame, first_keys: np.ndarray, steps: Sequence[Sequence[str]], keys: Keys
) -> list[np.ndarray]:
    """Per step, each unit's key (``_MISSING`` past the step it reached).

    ``in_window`` holds the later-step events inside their unit's window (``index``, the key,
    the event ``code``, each at or after its entry's timestamp); step k takes the smallest
    key at or after the timestamp of step k-1. The events are split by code once, so that each
    event name is one run of contiguous arrays (measured a little faster than an argsort of
    the codes and a gather per run, which allocate outside Polars' memory).
    """
    runs = in_window.partition_by("code", as_dict=True, include_key=False)
    timestamp_bits = ~np.int64(keys.scale - 1)
    previous = first_keys
    step_keys = [first_keys]
    for names in steps[1:]:
        found = np.full(len(first_keys), _MISSING, dtype=np.int64)
        for name in names:
            run = runs.get((keys.names.index(name),))
            if run is None:
                continue
            units = run.get_column("index").to_numpy()
            candidates = run.get_column(KEY).to_numpy()
            if previous is not first_keys:
                # at or after the previous step's timestamp (_MISSING, a unit that stopped,
                # never is); for step 2 the window already says so
                valid = candidates >= (previous[units] & timestamp_bits)
                units, candidates = units[valid], candidates[valid]
            np.minimum.at(found, units, candidates)
        step_keys.append(found)
        previous = found
    return step_keys


def match_first_attempts(
    events: pl.LazyFrame,
    *,
    steps: Sequence[Sequence[str]],
    funnel_names: Sequence[str],
    start: datetime,
    end: datetime,
    window: timedelta,
    also: Sequence[pl.LazyFrame] = (),
    stream: bool = False,
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """One row per unit: ``reached``, ``t_1..t_K``, ``entry_time``, ``latest_entry``.

    Same result as :func:`journeylib._funnel_match.match_units` for the funnels that
    :func:`dense_applies` accepts, but ``events`` holds ``timestamp`` and ``event`` (with the
    unit's hash and the segment), not yet order keys: rows of other event names are dropped
    here, and each read computes the keys of just the rows it needs.

    The events are collected once and read from memory, or, with ``stream``, read in one
    streaming plan that holds only the entries and the later-step events (a second read with
    a breakdown): slower, but the step-1 events, most of a funnel's, are never held.
    """
    keys = Keys(funnel_names, window)
    reader = _Reader(events.filter(pl.col("event").is_in(keys.names)), steps, keys, start, end)
    read = reader.streamed(also) if stream else reader.held(also)
    entries = read.entries.with_row_index("index")
    in_window = _in_window(read.later, entries, keys)
    segmented = SEGMENT in events.collect_schema().names()
    segments = _segments(read.step_1, entries) if segmented else None
    # the events are not needed past this point: free them before the arrays
    also_results = read.also
    del read
    step_keys = _step_keys(in_window, entries.get_column("key_1").to_numpy(), steps, keys)
    del in_window
    key_columns = [f"key_{step}" for step in range(1, len(steps) + 1)]
    found_keys = entries.select(
        UNIT,
        *(pl.Series(name, column) for name, column in zip(key_columns, step_keys, strict=True)),
    )
    reached = pl.sum_horizontal(pl.col(c) != _MISSING for c in key_columns).cast(pl.Int32)
    units = found_keys.select(
        UNIT,
        reached.alias("reached"),
        *(
            keys.timestamp(pl.when(pl.col(c) != _MISSING).then(pl.col(c))).alias(f"t_{c[4:]}")
            for c in key_columns
        ),
        keys.timestamp(pl.col("key_1")).alias("latest_entry"),
        keys.timestamp(pl.col("key_1")).alias("entry_time"),
    )
    if segments is not None:
        units = units.join(segments, on=UNIT, how="left")
    return units, also_results

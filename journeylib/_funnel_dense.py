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
above ``journeylib.funnel.STREAM_EVENTS``, read by streaming plans and never held, so that the
memory stays bounded.

:func:`match_first_attempts` returns exactly what :func:`journeylib._funnel_match.match_units`
returns for the same case (a property test holds the two to each other).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from journeylib._funnel_match import KEY, SEGMENT, UNIT, Keys, entry_rows

__all__ = ["dense_applies", "match_first_attempts"]

_MISSING = np.iinfo(np.int64).max


def dense_applies(
    steps: Sequence[Sequence[str]], *, best: bool, strict: bool, exclude: Sequence[str]
) -> bool:
    """Whether :func:`match_first_attempts` computes this funnel."""
    names = [name for step in steps for name in set(step)]
    return not best and not strict and not exclude and len(names) == len(set(names))


def _entries(
    source: pl.LazyFrame | pl.DataFrame,
    first_names: Sequence[str],
    keys: Keys,
    start: datetime,
    end: datetime,
) -> pl.DataFrame:
    """Each unit's first step-1 key in ``[start, end)``, the units numbered ``0..U-1``.

    From collected events (a ``DataFrame``) the step-1 rows are cut eagerly first, which
    measured faster than the same filter inside the streaming plan; from a ``LazyFrame`` the
    filter streams, so those rows are never held.
    """
    in_period = [
        keys.named(first_names),
        pl.col(KEY) >= keys.bound(start),
        pl.col(KEY) < keys.bound(end),
    ]
    step_1 = source.filter(*in_period).lazy()
    # the streaming engine's group-by measured about twice as fast here as the in-memory one
    return (
        step_1.group_by(UNIT)
        .agg(pl.col(KEY).min().alias("key_1"))
        .collect(engine="streaming")
        .with_row_index("index")
    )


def _in_window(
    source: pl.LazyFrame, entries: pl.DataFrame, later_names: Sequence[str], keys: Keys
) -> pl.DataFrame:
    """The later-step events inside their unit's window: ``index``, key and event ``code``."""
    return (
        source.filter(keys.named(later_names))
        .select(UNIT, KEY)
        .join(entries.lazy().select(UNIT, "index", "key_1"), on=UNIT)
        .filter(
            pl.col(KEY) >= keys.floor(pl.col("key_1")),
            pl.col(KEY) <= keys.deadline(pl.col("key_1")),
        )
        .select("index", KEY, (pl.col(KEY) % keys.scale).cast(pl.UInt16).alias("code"))
        .collect(engine="streaming")
    )


def _segments(
    source: pl.LazyFrame, entries: pl.DataFrame, first_names: Sequence[str], keys: Keys
) -> pl.DataFrame:
    """Per unit, the breakdown value of its entry event."""
    entry_events = (
        source.filter(keys.named(first_names))
        .select(UNIT, KEY, SEGMENT)
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
    the event ``code``); step k takes the smallest key at or after the timestamp of step k-1.
    The events are ordered by code once (a stable radix sort of small integers, measured
    faster than sorting the frame), so each event name is one contiguous run.
    """
    codes = in_window.get_column("code").to_numpy()
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    index = in_window.get_column("index").to_numpy()
    key = in_window.get_column(KEY).to_numpy()
    timestamp_bits = ~np.int64(keys.scale - 1)
    previous = first_keys
    step_keys = [first_keys]
    for names in steps[1:]:
        found = np.full(len(first_keys), _MISSING, dtype=np.int64)
        for name in names:
            code = keys.names.index(name)
            begin, stop = np.searchsorted(sorted_codes, [code, code + 1])
            run = order[begin:stop]
            units, candidates = index[run], key[run]
            # at or after the previous step's timestamp; _MISSING (a unit that stopped) never is
            valid = candidates >= (previous[units] & timestamp_bits)
            np.minimum.at(found, units[valid], candidates[valid])
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

    Same contract as :func:`journeylib._funnel_match.match_units` for the funnels that
    :func:`dense_applies` accepts. The funnel's events are collected once and read from
    memory, or, with ``stream``, read from ``events`` in streaming plans (twice, three times
    with a breakdown) and never held: slower, but the memory no longer grows with the events.
    """
    keys = Keys(funnel_names, window)
    if stream:
        source = events
        also_results = pl.collect_all(list(also)) if also else []
    else:
        keyed, *also_results = pl.collect_all([events, *also])
        source = keyed.lazy()
    entries = _entries(source if stream else keyed, steps[0], keys, start, end)
    later = [name for names in steps[1:] for name in names]
    in_window = _in_window(source, entries, later, keys)
    segmented = SEGMENT in events.collect_schema().names()
    segments = _segments(source, entries, steps[0], keys) if segmented else None
    # the events are not needed past this point: free them before the arrays
    del source
    if not stream:
        del keyed
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

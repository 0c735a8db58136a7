"""Funnel matching on collected events: entries, steps, strict order, exclusions, attempts.

Every event gets an integer ``order_key = epoch_us * scale + event_code``, where the codes number
the funnel's event names alphabetically: ordering by it means "earliest, and among equal
timestamps the smallest event name", ``order_key // scale`` is the timestamp again and
``order_key % scale`` the event code, so the collected events need no string column. Each
step is one hash join of the attempts still in the funnel with that step's events, a filter on
the keys and a minimum per attempt, so the work shrinks with the funnel and nothing is sorted.
The entries and every step's candidates are cut from the collected events in one
``collect_all`` on the streaming engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import polars as pl

__all__ = [
    "KEY",
    "SEGMENT",
    "UNIT",
    "Keys",
    "add_order_key",
    "entry_rows",
    "event_code",
    "match_units",
]

UNIT = "_unit"
SEGMENT = "_segment"
KEY = "_order_key"
_US = timedelta(microseconds=1)


def _scale(code_count: int) -> int:
    return 1 << max(1, code_count.bit_length())


def event_code(names: Sequence[str], *, only_these: bool) -> pl.Expr:
    """The position of ``event`` in the sorted ``names``; ``len(names)`` for any other name.

    With ``only_these`` (the rows are already cut to ``names``) and names of distinct byte
    lengths, the length alone tells the name: a lookup by ``str.len_bytes()`` (read from the
    string's header) measured about 0.05 s faster per 8M rows than casting to an enum, the
    general way.
    """
    names = sorted(set(names))
    lengths = [len(name.encode()) for name in names]
    if only_these and len(set(lengths)) == len(lengths):
        by_length = [len(names)] * (max(lengths) + 1)
        for code, length in enumerate(lengths):
            by_length[length] = code
        table = pl.lit(pl.Series(by_length, dtype=pl.Int64))
        # (the cast does nothing to a String column and reads a categorical one as strings)
        return table.gather(pl.col("event").cast(pl.String).str.len_bytes())
    # an enum's physical codes are the category positions; cheaper than replace_strict
    as_enum = pl.col("event").cast(pl.Enum(names), strict=False)
    return as_enum.to_physical().cast(pl.Int64).fill_null(len(names))


def add_order_key(
    events: pl.LazyFrame, funnel_names: Sequence[str], *, only_funnel_names: bool = False
) -> pl.LazyFrame:
    """Replace ``timestamp`` and ``event`` by ``_order_key``.

    Names outside ``funnel_names`` share the last code (strict mode). ``only_funnel_names``
    says the rows are already cut to ``funnel_names`` (any other name would get a wrong code).
    """
    names = sorted(set(funnel_names))
    code = event_code(names, only_these=only_funnel_names)
    order_key = pl.col("timestamp").dt.epoch("us") * _scale(len(names)) + code
    return events.with_columns(order_key.alias(KEY)).drop("timestamp", "event")


class Keys:
    """Conversions between timestamps and order keys for one set of funnel names."""

    def __init__(self, funnel_names: Sequence[str], window: timedelta) -> None:
        self.names = sorted(set(funnel_names))
        self.scale = _scale(len(self.names))
        self.window_us = window // _US

    def named(self, names: Sequence[str]) -> pl.Expr:
        """True for the keys of events named ``names``."""
        codes = [self.names.index(name) for name in set(names) if name in self.names]
        return (pl.col(KEY) % self.scale).is_in(codes)

    def floor(self, key: pl.Expr) -> pl.Expr:
        """The smallest key of the same timestamp."""
        return key // self.scale * self.scale

    def deadline(self, entry_key: pl.Expr) -> pl.Expr:
        """The largest key inside the window of an entry (window end inclusive)."""
        return (entry_key // self.scale + self.window_us) * self.scale + (self.scale - 1)

    def timestamp(self, key: pl.Expr) -> pl.Expr:
        return (key // self.scale).cast(pl.Datetime("us", "UTC"))

    def bound(self, moment: datetime) -> int:
        return (moment - datetime(1970, 1, 1, tzinfo=moment.tzinfo)) // _US * self.scale


def _entries(
    events: pl.LazyFrame,
    first_names: Sequence[str],
    keys: Keys,
    start: datetime,
    end: datetime,
    best: bool,
) -> pl.LazyFrame:
    """The attempts: each unit's first step-1 event in ``[start, end)``, or (``best``) all.

    ``first`` marks the earliest attempt of each unit.
    """
    entries = events.filter(
        keys.named(first_names),
        pl.col(KEY) >= keys.bound(start),
        pl.col(KEY) < keys.bound(end),
    ).select(UNIT, pl.col(KEY).alias("key_1"))
    if not best:
        earliest = entries.group_by(UNIT).agg(pl.col("key_1").min())
        return earliest.with_row_index("attempt").with_columns(first=pl.lit(True))
    first = pl.col("key_1") == pl.col("key_1").min().over(UNIT)
    return entries.with_row_index("attempt").with_columns(first=first)


def _next_step(
    state: pl.DataFrame,
    candidates: pl.DataFrame,
    step: int,
    used_steps: Sequence[int],
    keys: Keys,
) -> pl.DataFrame:
    """Each attempt's smallest candidate key at or after the previous step, unused, in window."""
    conditions = [
        pl.col(KEY) >= keys.floor(pl.col(f"key_{step - 1}")),
        pl.col(KEY) <= keys.deadline(pl.col("key_1")),
    ]
    if used_steps:
        # identical rows are one key with a count; a key is free while rows remain unused
        candidates = candidates.group_by(UNIT, KEY).len("rows")
        used = pl.sum_horizontal([pl.col(f"key_{j}") == pl.col(KEY) for j in used_steps])
        conditions.append(pl.col("rows") > used)
    needed = ["attempt", UNIT, "key_1", f"key_{step - 1}", *(f"key_{j}" for j in used_steps)]
    found = (
        state.lazy()
        .select(list(dict.fromkeys(needed)))
        .join(candidates.lazy(), on=UNIT)
        .filter(*conditions)
        .group_by("attempt")
        .agg(pl.col(KEY).min().alias(f"key_{step}"))
    )
    return state.lazy().join(found, on="attempt").collect()


def _strict_filter(
    advanced: pl.DataFrame, events: pl.DataFrame, step: int, keys: Keys
) -> pl.DataFrame:
    """Keep attempts with no event of the unit strictly between steps ``step-1`` and ``step``."""
    previous_floor = keys.floor(pl.col(f"key_{step - 1}"))
    after_previous = (
        advanced.select("attempt", UNIT, f"key_{step - 1}")
        .join(events.select(UNIT, KEY), on=UNIT)
        .filter(pl.col(KEY) >= previous_floor + keys.scale)
        .group_by("attempt")
        .agg(pl.col(KEY).min().alias("next_other"))
    )
    step_floor = keys.floor(pl.col(f"key_{step}"))
    broken = (keys.floor(pl.col("next_other")) < step_floor).fill_null(False)
    return (
        advanced.join(after_previous, on="attempt", how="left").filter(~broken).drop("next_other")
    )


def _excluded(
    attempts: pl.DataFrame, events: pl.DataFrame, exclude: Sequence[str], last: int, keys: Keys
) -> pl.Series:
    """Attempts with an exclusion event from entry to the last step (or the window end)."""
    exclusions = events.filter(keys.named(exclude)).select(UNIT, KEY)
    bound = (
        pl.when(pl.col("reached") == last)
        .then(keys.floor(pl.col(f"key_{last}")) + (keys.scale - 1))
        .otherwise(keys.deadline(pl.col("key_1")))
    )
    flagged = (
        attempts.select("attempt", UNIT, "key_1", "reached", f"key_{last}")
        .join(exclusions, on=UNIT)
        .filter(pl.col(KEY) >= keys.floor(pl.col("key_1")), pl.col(KEY) <= bound)
        .get_column("attempt")
    )
    return attempts["attempt"].is_in(flagged.implode())


def match_units(
    events: pl.LazyFrame,
    *,
    steps: Sequence[Sequence[str]],
    funnel_names: Sequence[str],
    start: datetime,
    end: datetime,
    window: timedelta,
    best: bool,
    strict: bool,
    exclude: Sequence[str],
    also: Sequence[pl.LazyFrame] = (),
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """One row per unit: ``reached``, ``t_1..t_K`` (null past it), ``entry_time``, ``latest_entry``.

    The entries and each step's candidates are collected from ``events`` in one streaming
    pass, with the plans ``also`` (their results are returned second). The events themselves
    are only held in memory when strict mode, exclusions or a breakdown need them.

    ``events`` carries ``_unit``, ``_order_key`` (and ``_segment``, taken from the entry
    event). With ``best`` the attempt reaching the furthest step wins (ties: the earliest);
    units whose every attempt is excluded are dropped.
    """
    keys = Keys(funnel_names, window)
    segmented = SEGMENT in events.collect_schema().names()
    plans = [_entries(events, steps[0], keys, start, end, best)]
    plans += [events.filter(keys.named(names)).select(UNIT, KEY) for names in steps[1:]]
    if strict or exclude or segmented:
        plans.append(events)
    collected = pl.collect_all([*plans, *also])
    attempts, step_candidates = collected[0], collected[1 : len(steps)]
    every_event = collected[len(steps)] if len(plans) > len(steps) else None
    state = attempts.select("attempt", UNIT, "key_1")
    finished: list[pl.DataFrame] = []
    for index, candidates in enumerate(step_candidates, start=1):
        step = index + 1
        used_steps = [j + 1 for j in range(index) if set(steps[j]) & set(steps[index])]
        advanced = _next_step(state, candidates, step, used_steps, keys)
        if strict:
            advanced = _strict_filter(advanced, every_event, step, keys)
        stopped = state.join(advanced.select("attempt"), on="attempt", how="anti")
        finished.append(stopped.with_columns(reached=pl.lit(step - 1, pl.Int32)))
        state = advanced
    finished.append(state.with_columns(reached=pl.lit(len(steps), pl.Int32)))
    reached = pl.concat(finished, how="diagonal")
    key_columns = [f"key_{step}" for step in range(1, len(steps) + 1)]
    reached = reached.with_columns(
        pl.lit(None, pl.Int64).alias(c) for c in key_columns if c not in reached.columns
    )
    if exclude:
        reached = reached.filter(~_excluded(reached, every_event, exclude, len(steps), keys))
    if best:
        latest = reached.group_by(UNIT).agg(pl.col("key_1").max().alias("latest_key"))
        chosen = reached.sort(["reached", "key_1", "attempt"], descending=[True, False, False])
        chosen = chosen.unique(UNIT, keep="first", maintain_order=True).join(latest, on=UNIT)
    else:
        # one attempt per unit: it is the chosen, the latest and the first one
        chosen = reached.with_columns(latest_key=pl.col("key_1"))
    if best or segmented:
        chosen = chosen.join(entry_rows(attempts, every_event), on=UNIT)
    else:
        chosen = chosen.with_columns(entry_key=pl.col("key_1"))
    units = chosen.select(
        UNIT,
        "reached",
        *(keys.timestamp(pl.col(c)).alias(f"t_{c[4:]}") for c in key_columns),
        keys.timestamp(pl.col("latest_key")).alias("latest_entry"),
        keys.timestamp(pl.col("entry_key")).alias("entry_time"),
        *([SEGMENT] if segmented else []),
    )
    return units, collected[len(plans) :]


def entry_rows(attempts: pl.DataFrame, events: pl.DataFrame | None) -> pl.DataFrame:
    """Per unit: the time of its first entry and (with a breakdown) the entry's segment.

    Identical entry rows with different segment values resolve to the smallest value.
    """
    first = attempts.filter("first").select(UNIT, "key_1").unique()
    if events is None or SEGMENT not in events.columns:
        return first.select(UNIT, pl.col("key_1").alias("entry_key"))
    segments = events.select(UNIT, pl.col(KEY).alias("key_1"), SEGMENT)
    return (
        first.join(segments, on=[UNIT, "key_1"])
        .group_by(UNIT)
        .agg(pl.col("key_1").first().alias("entry_key"), pl.col(SEGMENT).min())
    )

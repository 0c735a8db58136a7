"""Funnel matching for the common case: first attempt, steps disjoint, in compiled loops.

When the funnel counts each unit's first entry only (``attempt="first"``), is not strict, has
no exclusion events and no event name fills two steps, a step's event is simply the unit's
smallest order key at or after the previous step's timestamp and inside the entry's window
(see :mod:`journeylib.funnel._match` for the keys). That needs one hash table of the units and
a pass over each step's events, done by the compiled loops of
:mod:`journeylib.funnel._kernels`:

1. the funnel's events are read as batches of (unit hash, order key) from one streaming plan;
   each batch is reordered at once by partition (the top bits of the hash) and step, so the
   events are held in 16 bytes each and never as strings (with a breakdown, 8 bytes more: a
   64-bit hash of the value, the values themselves held once each);
2. each partition's units are matched on their own, in parallel threads: its table stays
   small enough for the processor's cache. On the 50M-event benchmark data (2 cores), the
   matching took 0.39-0.53 s, where what it replaced took 1.5-1.8 s: the Polars group-by of
   the entries (0.76 s), the window join (0.49-0.57 s) and the step arrays (0.29-0.44 s).

:func:`match_first_attempts` returns exactly what :func:`journeylib.funnel._match.match_units`
returns for the same case (a property test holds the two to each other).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from journeylib.funnel._match import KEY, SEGMENT, UNIT, Keys, add_order_key

__all__ = [
    "BLOCK_ROWS",
    "NULL_TEXT",
    "PARTITION_BITS",
    "SEPARATOR",
    "breakdown_order",
    "dense_applies",
    "match_first_attempts",
]

#: Bits of the unit hash that choose its partition. With 128 partitions, the 2.6M units of the
#: 50M-event benchmark are about 20,000 a partition, whose table (65,536 slots of 48 bytes for
#: 5 steps: at most half full) stays in the processor's cache. 256 and 512 partitions
#: measured no faster there, a table up to 70% full slower.
PARTITION_BITS = 7
#: Rows of one block of the held events: 64 MB an array, above the size (32 MB) from which
#: the C allocator always maps large arrays on their own and unmaps them when freed
BLOCK_ROWS = 1 << 23
# (journeylib.funnel._kernels.MISSING, not imported here: numba loads on the first funnel)
_MISSING = np.iinfo(np.int64).max


def dense_applies(
    steps: Sequence[Sequence[str]], *, best: bool, strict: bool, exclude: Sequence[str]
) -> bool:
    """Whether :func:`match_first_attempts` computes this funnel."""
    names = [name for step in steps for name in set(step)]
    return not best and not strict and not exclude and len(names) == len(set(names))


#: Separates the values of several breakdown columns joined into one text
SEPARATOR = "\x1f"
#: Stands for a null value in such a text: above every other text, so nulls sort last as the
#: matchers' own breakdown values do (ties between entry rows resolve to the smallest value)
NULL_TEXT = "\U0010ffff"


def breakdown_order(values: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The sort key of breakdown values: the values themselves, or for a struct of several
    columns the text the join-based matchers compare (fields as text, nulls as
    :data:`NULL_TEXT`, joined by :data:`SEPARATOR`), so both matchers break ties alike."""
    if not isinstance(dtype, pl.Struct):
        return values
    parts = [values.struct.field(f.name).cast(pl.String).fill_null(NULL_TEXT) for f in dtype.fields]
    return pl.concat_str(parts, separator=SEPARATOR)


_SEGMENT_CODE = "_segment_code"
#: The code of a null breakdown value (the others are 64-bit hashes of the value)
_NULL_SEGMENT = np.iinfo(np.int64).max


@dataclass(frozen=True)
class _Partitioned:
    """The funnel's events as hashes and keys in blocks, each batch ordered by partition and step.

    Batch ``b`` lies in block ``batch_block[b]``, its buckets (partition * steps + step) from
    ``starts[b]``. With a breakdown, ``segments`` holds each event's breakdown code and
    ``breakdown`` the codes and values of the step-1 events.
    """

    units: object  # numba typed lists of int64 arrays, one a block
    keys: object
    segments: object
    batch_block: np.ndarray
    starts: np.ndarray
    breakdown: _Breakdown | None


class _Breakdown:
    """The breakdown values of the step-1 events by code, gathered batch by batch.

    Each code's value is taken once, from the first row holding it: a compiled loop over the
    batch's codes finds the rows of new codes (:func:`journeylib.funnel._kernels.new_codes`),
    and only those rows' values are gathered. No Polars operation runs per batch: on 2 cores,
    those waited behind the streaming read for its threads (about 4 ms each, 0.3-0.8 s over
    the 105 batches of 10M events).
    """

    def __init__(self, dtype: pl.DataType) -> None:
        self._dtype = dtype
        self._seen = np.zeros(1 << 12, np.int64)
        self._count = 0
        self._parts: list[pl.DataFrame] = [
            pl.DataFrame(schema={_SEGMENT_CODE: pl.Int64, SEGMENT: dtype})
        ]

    def add(self, batch: pl.DataFrame, codes: np.ndarray) -> None:
        """Take the values of the codes of ``batch`` (its ``codes`` as int64) not seen yet."""
        from journeylib.funnel._kernels import grown_codes, new_codes

        size = self._seen.shape[0]
        while 2 * (self._count + codes.shape[0]) > size:
            size *= 2
        if size != self._seen.shape[0]:
            self._seen = grown_codes(self._seen, size)
        rows = new_codes(codes, self._seen, _NULL_SEGMENT)
        if rows.shape[0]:
            self._count += rows.shape[0]
            self._parts.append(batch.select(_SEGMENT_CODE, SEGMENT)[rows])

    def values(self) -> pl.DataFrame:
        """Each code with its value, once."""
        if len(self._parts) > 1:
            self._parts = [pl.concat(self._parts)]
        return self._parts[0]

    def ranks(self) -> tuple[np.ndarray, np.ndarray]:
        """The codes, sorted, and the rank of each one's value in value order (null last)."""
        ranked = (
            self.values()
            .sort(breakdown_order(pl.col(SEGMENT), self._dtype), nulls_last=True)
            .with_row_index("rank")
        )
        ranked = pl.concat(
            [
                ranked.select(_SEGMENT_CODE, pl.col("rank").cast(pl.Int64)),
                pl.DataFrame({_SEGMENT_CODE: [_NULL_SEGMENT], "rank": [ranked.height]}),
            ]
        ).sort(_SEGMENT_CODE)
        return ranked[_SEGMENT_CODE].to_numpy(), ranked["rank"].to_numpy()


def _with_breakdown_codes(
    keyed: pl.LazyFrame, steps: Sequence[Sequence[str]], keys: Keys, dtype: pl.DataType
) -> pl.LazyFrame:
    """``keyed`` with each event's breakdown code (0 off step 1), and the values.

    The code of a value is its 64-bit hash; for a struct of several columns, the (wrapping)
    sum of each field's hash under its own seed, which costs a third of hashing the struct.
    Only the values of step-1 events with a code are ever read (:meth:`_Breakdown.add`).
    """
    step_1 = keys.named(steps[0])
    value = pl.col(SEGMENT)
    if isinstance(dtype, pl.Struct):
        hashed = pl.sum_horizontal(
            value.struct.field(f.name).hash(seed=seed) for seed, f in enumerate(dtype.fields, 1)
        )
    else:
        hashed = value.hash(seed=0)
    code = (
        pl.when(~step_1)
        .then(pl.lit(0, pl.Int64))
        .when(value.is_null())
        .then(pl.lit(_NULL_SEGMENT, pl.Int64))
        .otherwise(hashed.reinterpret(signed=True))
    )
    return keyed.select(UNIT, KEY, code.alias(_SEGMENT_CODE), value)


def _step_of_code(steps: Sequence[Sequence[str]], keys: Keys) -> np.ndarray:
    """For each event code, the index of the step naming it (``NOT_A_STEP`` for none)."""
    from journeylib.funnel._kernels import NOT_A_STEP

    step_of_code = np.full(keys.scale, NOT_A_STEP, dtype=np.int64)
    for index, names in enumerate(steps):
        for name in names:
            step_of_code[keys.names.index(name)] = index
    return step_of_code


def _partitioned(
    keyed: pl.LazyFrame,
    steps: Sequence[Sequence[str]],
    keys: Keys,
    chunk_size: int | None,
    breakdown: _Breakdown | None,
) -> _Partitioned | None:
    """Read ``keyed`` (``_unit``, ``_order_key``) in batches, each reordered as it arrives.

    The batches are written into blocks of at least ``BLOCK_ROWS`` rows: large arrays, which
    the allocator returns to the system when freed (many small ones measured a peak RSS
    growing from run to run). With ``breakdown``, ``keyed`` also holds the breakdown codes and
    values (:func:`_with_breakdown_codes`): the codes go into blocks too, the values into
    ``breakdown``. ``None`` when there are no events.
    """
    from numba.typed import List

    from journeylib.funnel._kernels import partition_batch

    step_of_code = _step_of_code(steps, keys)
    arguments = (keys.scale - 1, len(steps), np.int64(64 - PARTITION_BITS), 1 << PARTITION_BITS)
    no_segments = np.empty(0, dtype=np.int64)
    no_segments.setflags(write=False)
    blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    batch_block, starts = [], []
    used = 0
    for batch in keyed.collect_batches(chunk_size=chunk_size, maintain_order=False):
        if batch.height == 0:
            continue
        if not blocks or used + batch.height > len(blocks[-1][0]):
            rows = max(BLOCK_ROWS, batch.height)
            segment_rows = rows if breakdown is not None else 1
            blocks.append(
                (
                    np.empty(rows, np.int64),
                    np.empty(rows, np.int64),
                    np.empty(segment_rows, np.int64),
                )
            )
            used = 0
        # Polars gives its own memory read-only and copies writable: always read-only, so
        # that the loop is compiled once
        columns = [UNIT, KEY, *([_SEGMENT_CODE] if breakdown is not None else [])]
        arrays = [batch.get_column(name).to_numpy().view(np.int64) for name in columns]
        for array in arrays:
            array.setflags(write=False)
        units, order_keys, *segments = arrays
        if breakdown is not None:
            breakdown.add(batch, segments[0])
        batch_starts = partition_batch(
            units,
            order_keys,
            segments[0] if segments else no_segments,
            step_of_code,
            *arguments,
            *blocks[-1],
            used,
        )
        used = int(batch_starts[-1])
        batch_block.append(len(blocks) - 1)
        starts.append(batch_starts)
    if not starts:
        return None
    return _Partitioned(
        units=List(block[0] for block in blocks),
        keys=List(block[1] for block in blocks),
        segments=List(block[2] for block in blocks),
        batch_block=np.array(batch_block, dtype=np.int64),
        starts=np.stack(starts),
        breakdown=breakdown,
    )


def _matched(
    partitioned: _Partitioned, n_steps: int, keys: Keys, start: datetime, end: datetime
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every unit's hash, its ``n_steps`` step keys and (with a breakdown) the code of its
    entry's breakdown value, the partitions matched in parallel.

    Each partition writes its units into its own range of shared arrays, sized by its step-1
    rows; the written parts are then copied together.
    """
    from journeylib.funnel._kernels import gathered, match_partition, step_1_rows, unwritten

    n_parts = 1 << PARTITION_BITS
    room = [step_1_rows(partitioned.starts, partition, n_steps) for partition in range(n_parts)]
    offsets = np.concatenate([[0], np.cumsum(room)]).astype(np.int64)
    segmented = partitioned.breakdown is not None
    out = unwritten(int(offsets[-1]), n_steps, segmented)
    if segmented:
        codes, ranks = partitioned.breakdown.ranks()
    else:
        codes = ranks = np.empty(0, dtype=np.int64)
    arguments = (n_steps, keys.scale, keys.bound(start), keys.bound(end), keys.window_us)

    def match(partition: int) -> int:
        return match_partition(
            partitioned.units,
            partitioned.keys,
            partitioned.segments,
            partitioned.batch_block,
            partitioned.starts,
            partition,
            *arguments,
            codes,
            ranks,
            *out,
            offsets[partition],
        )

    with ThreadPoolExecutor(max_workers=max(1, min(n_parts, pl.thread_pool_size()))) as pool:
        found = list(pool.map(match, range(n_parts)))
    return gathered(*out, offsets, np.array(found, dtype=np.int64))


def match_first_attempts(
    events: pl.LazyFrame,
    *,
    steps: Sequence[Sequence[str]],
    funnel_names: Sequence[str],
    start: datetime,
    end: datetime,
    window: timedelta,
    also: Sequence[pl.LazyFrame] = (),
    chunk_size: int | None = None,
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """One row per unit: ``reached``, ``t_1..t_K``, ``entry_time``, ``latest_entry``.

    Same result as :func:`journeylib.funnel._match.match_units` for the funnels that
    :func:`dense_applies` accepts, but ``events`` holds ``timestamp`` and ``event`` (with the
    unit's hash and the segment), not yet order keys: rows of other event names are dropped
    here. The plans ``also`` are collected too (their results are returned second);
    ``chunk_size`` is the rows of a read batch (default: the engine's).

    The events are read once and held as 16 bytes each (24 with a breakdown, whose values
    are held once per distinct value, by a 64-bit hash of the value).
    """
    keys = Keys(funnel_names, window)
    funnel = events.filter(pl.col("event").is_in(keys.names))
    keyed = add_order_key(funnel, keys.names, only_funnel_names=True)
    schema = events.collect_schema()
    breakdown = _Breakdown(schema[SEGMENT]) if SEGMENT in schema.names() else None
    if breakdown is None:
        keyed = keyed.select(UNIT, KEY)
    else:
        keyed = _with_breakdown_codes(keyed, steps, keys, schema[SEGMENT])
    also_results = pl.collect_all(list(also)) if also else []
    partitioned = _partitioned(keyed, steps, keys, chunk_size, breakdown)
    if partitioned is None:
        hashes = segment_codes = np.empty(0, dtype=np.int64)
        step_keys = np.empty((len(steps), 0), dtype=np.int64)
    else:
        hashes, step_keys, segment_codes = _matched(partitioned, len(steps), keys, start, end)
        del partitioned
    key_columns = [f"key_{step}" for step in range(1, len(steps) + 1)]
    found_keys = pl.DataFrame(
        [
            pl.Series(UNIT, hashes.view(np.uint64), dtype=pl.UInt64),
            *(
                pl.Series(name, column, dtype=pl.Int64)
                for name, column in zip(key_columns, step_keys, strict=True)
            ),
        ]
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
    if breakdown is not None:
        entry_codes = pl.Series(_SEGMENT_CODE, segment_codes, dtype=pl.Int64)
        units = (
            units.with_columns(entry_codes)
            .join(breakdown.values(), on=_SEGMENT_CODE, how="left")
            .drop(_SEGMENT_CODE)
        )
    return units, also_results

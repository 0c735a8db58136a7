"""Compiled loops of the dense funnel: events split by unit hash, then matched per partition.

The events arrive as two arrays per batch: the unit's 64-bit hash and the order key
(``epoch_us * scale + event_code``, see :mod:`journeylib.funnel._match`), and with a
breakdown a third, the code of the event's breakdown value. Each batch is
reordered by *bucket* = (partition, step), the partition being the top bits of the hash, so
that every partition's units fit a hash table small enough to stay in the processor's cache;
then each partition is matched on its own (partitions share nothing, so they run in parallel
threads, each compiled loop releasing the GIL).

Matching one partition (first attempts, steps disjoint, not strict, no exclusions):

- **entry**: the unit's smallest step-1 key in ``[lo, hi)`` (the period, as keys);
- **step k**: the smallest key of a step-k event at or after the timestamp of step k-1 (equal
  timestamps count) and at or before the entry's timestamp plus the window;
- **breakdown**: the value of the entry event; among step-1 events at the entry key, the
  smallest value (a null only when all are null).

The table is open addressing with linear probing, at most half full; column 0 of a slot holds
the unit's hash, columns ``1..K`` its step keys (``MISSING`` when not reached; an empty slot
has no entry key) and, with a breakdown, column ``K+1`` its entry's breakdown code.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "MISSING",
    "NOT_A_STEP",
    "gathered",
    "grown_codes",
    "match_partition",
    "new_codes",
    "partition_batch",
    "step_1_rows",
    "unwritten",
]

MISSING = np.iinfo(np.int64).max
NOT_A_STEP = -1
_SMALLEST_TABLE = 16


@numba.njit(cache=True, nogil=True)
def partition_batch(
    units,
    keys,
    segments,
    step_of_code,
    code_mask,
    n_steps,
    partition_shift,
    n_parts,
    out_units,
    out_keys,
    out_segments,
    offset,
):
    """Write one batch into ``out_units``/``out_keys`` from ``offset``, ordered by bucket.

    The bucket of a row is ``partition * n_steps + step``; ``units`` are the hashes read as
    int64, and the partition is their top bits (``n_parts`` a power of two,
    ``partition_shift`` = 64 - its bits). Returns the ``n_parts * n_steps + 1`` bucket starts
    (positions in ``out_units``). Rows whose code is ``NOT_A_STEP`` are left out.
    ``segments`` (the breakdown values' codes) go to ``out_segments`` alike, unless empty.
    """
    segmented = segments.shape[0] > 0
    part_mask = n_parts - 1
    # (a shift by 64 bits is undefined; with one partition the mask makes every row 0 anyway)
    partition_shift = min(partition_shift, 63)
    n_buckets = n_parts * n_steps
    counts = np.zeros(n_buckets, np.int64)
    for row in range(units.shape[0]):
        step = step_of_code[keys[row] & code_mask]
        if step != NOT_A_STEP:
            counts[((units[row] >> partition_shift) & part_mask) * n_steps + step] += 1
    starts = np.empty(n_buckets + 1, np.int64)
    starts[0] = offset
    for bucket in range(n_buckets):
        starts[bucket + 1] = starts[bucket] + counts[bucket]
    position = starts[:-1].copy()
    for row in range(units.shape[0]):
        step = step_of_code[keys[row] & code_mask]
        if step == NOT_A_STEP:
            continue
        bucket = ((units[row] >> partition_shift) & part_mask) * n_steps + step
        at = position[bucket]
        out_units[at] = units[row]
        out_keys[at] = keys[row]
        if segmented:
            out_segments[at] = segments[row]
        position[bucket] = at + 1
    return starts


@numba.njit(cache=True, nogil=True, inline="always")
def _slot(table, mask, unit):
    """The slot of ``unit``: where it is, or the empty slot where it belongs."""
    at = (unit ^ (unit >> 29)) & mask
    while table[at, 1] != MISSING and table[at, 0] != unit:
        at = (at + 1) & mask
    return at


@numba.njit(cache=True, nogil=True)
def _grown(table):
    """The entries of ``table`` in a table twice its size."""
    grown = np.full((2 * table.shape[0], table.shape[1]), MISSING, np.int64)
    mask = grown.shape[0] - 1
    for old in range(table.shape[0]):
        if table[old, 1] != MISSING:
            grown[_slot(grown, mask, table[old, 0])] = table[old]
    return grown


@numba.njit(cache=True, nogil=True, inline="always")
def _rank(segment, codes, ranks):
    """The rank of a breakdown value's code in the sorted values (``codes`` sorted)."""
    return ranks[np.searchsorted(codes, segment)]


@numba.njit(cache=True, nogil=True)
def match_partition(
    block_units,
    block_keys,
    block_segments,
    batch_block,
    batch_starts,
    partition,
    n_steps,
    scale,
    lo,
    hi,
    window_us,
    segment_codes,
    segment_ranks,
    out_units,
    out_keys,
    out_segments,
    offset,
):
    """Write each unit of one partition and its step keys from ``offset``; return how many.

    The batches of :func:`partition_batch` were written into the blocks ``block_units`` /
    ``block_keys``: batch ``b`` into block ``batch_block[b]``, with bucket starts
    ``batch_starts[b]``. ``out_units[offset:]`` and ``out_keys[:, offset:]`` must have room
    for every step-1 row of the partition (:func:`step_1_rows`).

    With a breakdown (``segment_codes`` not empty: the sorted codes of the breakdown values,
    ``segment_ranks`` their ranks in value order), each unit's entry-event code goes to
    ``out_segments``: among step-1 rows at the entry key, the one of the smallest value.
    """
    segmented = segment_codes.shape[0] > 0
    segment_column = n_steps + 1
    first_bucket = partition * n_steps
    size = _SMALLEST_TABLE
    while size < 2 * step_1_rows(batch_starts, partition, n_steps) and size < 4096:
        size *= 2
    table = np.full((size, n_steps + 1 + segmented), MISSING, np.int64)
    mask = size - 1
    used = 0
    for batch in range(batch_starts.shape[0]):
        block = batch_block[batch]
        units, keys, segments = block_units[block], block_keys[block], block_segments[block]
        for row in range(batch_starts[batch, first_bucket], batch_starts[batch, first_bucket + 1]):
            key = keys[row]
            if key < lo or key >= hi:
                continue
            at = _slot(table, mask, units[row])
            if table[at, 1] == MISSING:
                if 2 * (used + 1) > table.shape[0]:
                    table = _grown(table)
                    mask = table.shape[0] - 1
                    at = _slot(table, mask, units[row])
                table[at, 0] = units[row]
                table[at, 1] = key
                if segmented:
                    table[at, segment_column] = segments[row]
                used += 1
            elif key < table[at, 1]:
                table[at, 1] = key
                if segmented:
                    table[at, segment_column] = segments[row]
            elif segmented and key == table[at, 1]:
                # the same entry key twice: the smaller breakdown value wins (ranks are only
                # looked up on such ties)
                segment, held = segments[row], table[at, segment_column]
                if segment != held and _rank(segment, segment_codes, segment_ranks) < _rank(
                    held, segment_codes, segment_ranks
                ):
                    table[at, segment_column] = segment
    timestamp_bits = ~(scale - 1)
    for step in range(1, n_steps):
        bucket = first_bucket + step
        for batch in range(batch_starts.shape[0]):
            units, keys = block_units[batch_block[batch]], block_keys[batch_block[batch]]
            for row in range(batch_starts[batch, bucket], batch_starts[batch, bucket + 1]):
                at = _slot(table, mask, units[row])
                entry = table[at, 1]
                previous = table[at, step]
                if entry == MISSING or previous == MISSING:
                    continue  # no entry, or the unit stopped before the previous step
                key = keys[row]
                deadline = (entry // scale + window_us) * scale + (scale - 1)
                if (previous & timestamp_bits) <= key <= deadline and key < table[at, step + 1]:
                    table[at, step + 1] = key
    found = offset
    for at in range(table.shape[0]):
        if table[at, 1] != MISSING:
            out_units[found] = table[at, 0]
            for step in range(n_steps):
                out_keys[step, found] = table[at, step + 1]
            if segmented:
                out_segments[found] = table[at, segment_column]
            found += 1
    return used


@numba.njit(cache=True, nogil=True)
def step_1_rows(batch_starts, partition, n_steps):
    """The step-1 rows of one partition (at least its number of units)."""
    first_bucket = partition * n_steps
    rows = 0
    for batch in range(batch_starts.shape[0]):
        rows += batch_starts[batch, first_bucket + 1] - batch_starts[batch, first_bucket]
    return rows


@numba.njit(cache=True, nogil=True)
def gathered(out_units, out_keys, out_segments, offsets, found):
    """The units written by :func:`match_partition` (``found[p]`` from ``offsets[p]``), together.

    Returns their hashes, step keys and (with a breakdown, else empty) segment codes.
    """
    total = 0
    for partition in range(found.shape[0]):
        total += found[partition]
    n_steps = out_keys.shape[0]
    units = np.empty(total, np.int64)
    step_keys = np.empty((n_steps, total), np.int64)
    segments = np.empty(total if out_segments.shape[0] > 0 else 0, np.int64)
    at = 0
    for partition in range(found.shape[0]):
        begin = offsets[partition]
        units[at : at + found[partition]] = out_units[begin : begin + found[partition]]
        if segments.shape[0] > 0:
            segments[at : at + found[partition]] = out_segments[begin : begin + found[partition]]
        for step in range(n_steps):
            step_keys[step, at : at + found[partition]] = out_keys[
                step, begin : begin + found[partition]
            ]
        at += found[partition]
    return units, step_keys, segments


@numba.njit(cache=True, nogil=True)
def unwritten(rows, n_steps, segmented):
    """Room for ``rows`` units: hashes, step keys and segment codes (``segmented``), of which
    only the written pages are held.

    (Allocated here rather than by numpy, which asks the kernel for huge pages on large arrays,
    so that scattered writes would hold 2 MB each.)
    """
    segments = np.empty(rows if segmented else 0, np.int64)
    return np.empty(rows, np.int64), np.empty((n_steps, rows), np.int64), segments


@numba.njit(cache=True, nogil=True)
def new_codes(codes, seen, skip):
    """Rows holding a code not seen before (neither 0 nor ``skip``), which go into ``seen``.

    ``seen`` is an open-addressing set of codes (0: an empty slot; a power of two long, with
    room for every code of ``codes``: the caller grows it). Returns the rows, in order.
    """
    mask = seen.shape[0] - 1
    rows = np.empty(codes.shape[0], np.int64)
    found = 0
    for row in range(codes.shape[0]):
        code = codes[row]
        if code == 0 or code == skip:
            continue
        at = (code ^ (code >> 29)) & mask
        while seen[at] != 0 and seen[at] != code:
            at = (at + 1) & mask
        if seen[at] == 0:
            seen[at] = code
            rows[found] = row
            found += 1
    return rows[:found]


@numba.njit(cache=True, nogil=True)
def grown_codes(seen, size):
    """The codes of ``seen`` in a set of ``size`` slots (a power of two)."""
    grown = np.zeros(size, np.int64)
    mask = size - 1
    for code in seen:
        if code != 0:
            at = (code ^ (code >> 29)) & mask
            while grown[at] != 0:
                at = (at + 1) & mask
            grown[at] = code
    return grown

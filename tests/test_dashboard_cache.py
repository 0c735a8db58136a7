"""The dashboard's on-disk cache: the tables and the events' cube per data fingerprint, and a
folder that keeps only the latest fingerprints within a size bound."""

from __future__ import annotations

import os
import time
from pathlib import Path

from polars.testing import assert_frame_equal

from journeylib.config import config_from_dict
from journeylib.dashboard.cache import (
    KEEP_ENTRIES,
    STALE_STAGING_SECONDS,
    data_fingerprint,
    load_entry,
    prune,
)
from journeylib.kpis._cube import build_cube


def _config(folder: Path, index: int):
    """A small journey whose data differs with ``index`` (so does its fingerprint)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"events{index}.csv"
    rows = ["user_id,timestamp,event,channel"]
    rows += [f"u{i},2026-01-{1 + i % 28:02d}T10:00:00Z,visit,email" for i in range(40 + index)]
    rows += [f"u{i},2026-01-{1 + i % 28:02d}T10:05:00Z,purchase,ads" for i in range(0, 40, 3)]
    path.write_text("\n".join(rows) + "\n")
    return config_from_dict(
        {
            "name": f"shop {index}",
            "sources": {"events": {"path": str(path)}},
            "roles": {"visit": ["visit"], "purchase": ["purchase"]},
        }
    )


def _entries(root: Path) -> set[str]:
    return {p.name for p in root.iterdir() if not p.name.startswith(".")}


def test_the_cube_comes_back_from_the_cache_as_it_was_built(tmp_path):
    config = _config(tmp_path / "data", 0)
    first = load_entry(config, tmp_path / "cache")
    again = load_entry(config, tmp_path / "cache")
    assert (first.cached, again.cached) == (False, True)
    built = build_cube(first.loaded.tables["events"], config)
    for name, frame in built.tables.items():
        # group-by rows come in no fixed order
        assert_frame_equal(again.cube.tables[name], frame, check_exact=True, check_row_order=False)
    assert again.cube.signature == built.signature
    assert again.cube.dimensions == ("channel",)


def test_the_folder_keeps_the_latest_fingerprints_only(tmp_path):
    root = tmp_path / "cache"
    configs = [_config(tmp_path / "data", index) for index in range(KEEP_ENTRIES + 2)]
    fingerprints = [data_fingerprint(config) for config in configs]
    assert len(set(fingerprints)) == len(fingerprints)
    (root / "notes").mkdir(parents=True)  # not an entry of the cache: left alone
    for index, config in enumerate(configs):
        load_entry(config, root)
        os.utime(root / fingerprints[index] / "meta.pickle", (1000 + index, 1000 + index))
    # the oldest two went when the last two were written
    assert _entries(root) == {"notes", *fingerprints[2:]}
    # using an entry makes it the latest: the next new one pushes out the next oldest
    assert load_entry(configs[2], root).cached
    load_entry(_config(tmp_path / "data", 99), root)
    kept = _entries(root) - {"notes"}
    assert fingerprints[2] in kept
    assert fingerprints[3] not in kept
    assert len(kept) == KEEP_ENTRIES


def test_a_size_bound_removes_the_oldest_but_never_the_entry_in_use(tmp_path):
    root = tmp_path / "cache"
    configs = [_config(tmp_path / "data", index) for index in range(3)]
    for config in configs:
        load_entry(config, root)
        time.sleep(0.01)
    current = data_fingerprint(configs[0])
    removed = prune(root, keep=current, max_bytes=1)
    assert _entries(root) == {current}
    assert set(removed) == {data_fingerprint(c) for c in configs[1:]}
    assert load_entry(configs[0], root).cached


def test_a_staging_folder_left_by_a_dead_writer_is_removed(tmp_path):
    root = tmp_path / "cache"
    config = _config(tmp_path / "data", 0)
    fingerprint = data_fingerprint(config)
    stale = root / f".{fingerprint}.abc123"
    fresh = root / f".{fingerprint}.def456"
    for folder in (stale, fresh):
        folder.mkdir(parents=True)
        (folder / "events.parquet").write_bytes(b"partial")
    old = time.time() - STALE_STAGING_SECONDS - 60
    os.utime(stale, (old, old))
    prune(root)
    assert not stale.exists()
    assert fresh.exists()  # perhaps another kernel writing right now

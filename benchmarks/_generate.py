"""Seeded benchmark data: the sample company scaled to a number of events, as canonical Parquet.

The sample generator (:func:`journeylib.sample.generate_sample`) writes about 19.5 events per
user; the user count is chosen from the wanted number of events. Its tables are then loaded and
validated by journeylib once and written as canonical Parquet files (``events.parquet`` sorted by
time, ``spend.parquet``, ``surveys.parquet``, ``tickets.parquet``) next to the sample's
``journey.yml``, in a cache folder that is never committed.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

import journeylib
from journeylib.config import JourneyConfig, load_config
from journeylib.sample import generate_sample

__all__ = ["EVENTS_PER_USER", "BenchData", "bench_data"]

#: Events per user of the sample company (measured: 77,948 events for 4,000 users).
EVENTS_PER_USER = 19.5
SEED = 11
CANONICAL = ("events", "spend", "surveys", "tickets")


@dataclass(frozen=True)
class BenchData:
    """Paths of one benchmark data set and its journey config."""

    folder: Path
    config: JourneyConfig
    events_rows: int

    def path(self, table: str) -> Path:
        """The canonical Parquet file of ``table``."""
        return self.folder / f"{table}.parquet"

    def scans(self) -> dict[str, pl.LazyFrame]:
        """Lazy scans of the canonical tables, as ``build_inputs`` takes them."""
        return {table: pl.scan_parquet(self.path(table)) for table in CANONICAL}


def bench_data(cache: Path, events: int, *, seed: int = SEED) -> BenchData:
    """The data set of about ``events`` events, generated and written once into ``cache``.

    Examples
    --------
    >>> data = bench_data(Path("benchmarks/.cache"), 1_000_000)  # doctest: +SKIP
    >>> data.events_rows  # doctest: +SKIP
    1003112
    """
    cache.mkdir(parents=True, exist_ok=True)
    ignore = cache / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    folder = cache / f"events_{events // 1_000_000}m_seed{seed}"
    done = folder / "DONE"
    if not done.exists():
        began = time.perf_counter()
        sample = folder / "sample"
        shutil.rmtree(folder, ignore_errors=True)
        users = max(1, round(events / EVENTS_PER_USER))
        result = generate_sample(sample, users=users, seed=seed)
        loaded = journeylib.load(result.config_path)
        for table in CANONICAL:
            frame = loaded.tables[table]
            if table == "events":
                frame = frame.sort("timestamp")
            frame.sink_parquet(folder / f"{table}.parquet")
        shutil.rmtree(sample / "events")
        done.write_text(f"{time.perf_counter() - began:.1f} seconds\n")
        print(f"generated {folder} in {time.perf_counter() - began:.1f} s", flush=True)
    config = load_config(folder / "sample" / "journey.yml")
    rows = pl.scan_parquet(folder / "events.parquet").select(pl.len()).collect().item()
    return BenchData(folder=folder, config=config, events_rows=rows)

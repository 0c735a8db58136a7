"""The validated tables of a journey and their event cube, cached on disk by data fingerprint.

Reading and validating the sources is the slow part of opening a dashboard (about 1.2 s for
1M events here, ten times that for 10M). Each dashboard kernel would repeat it, so the first
kernel writes the validated canonical tables as Parquet (and the data-quality summary beside
them) under a folder named by the data's fingerprint, with the events' cube
(:mod:`journeylib.kpis._cube`: the events aggregated by user, day and dimension values, from
which ``Journey.kpis`` starts instead of the events); every later kernel reads them back,
already validated and aggregated. The KPI functions then run on exactly the frames
``journeylib.load`` would have produced: the numbers cannot differ from the report's or the
CLI's.

The folder keeps the :data:`KEEP_ENTRIES` most recently used fingerprints and at most
:data:`MAX_BYTES` (the entry in use is always kept): each new entry prunes the others.

The fingerprint covers the config (its resolved model), every source file (name, size and
content hash) and the journeylib version. A database source has no files to hash: such a
journey is loaded directly, without the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from journeylib.config import JourneyConfig
from journeylib.data.loading import LoadedTables, load_tables
from journeylib.kpis._cube import CUBE_TABLES, EventCube, build_cube

__all__ = [
    "CACHE_ENV",
    "KEEP_ENTRIES",
    "MAX_BYTES",
    "CachedData",
    "data_fingerprint",
    "default_cache_dir",
    "load_cached",
    "load_entry",
    "prune",
]

#: Environment variable naming the cache folder (default: the user's cache folder).
CACHE_ENV = "JOURNEY_DASHBOARD_CACHE"
#: Fingerprints kept in the cache folder (the most recently used ones).
KEEP_ENTRIES = 4
#: Bytes the cache folder may hold; the oldest entries go first (the one in use stays).
MAX_BYTES = 8 * 1024**3
#: A staging folder older than this was left by a process that died while writing.
STALE_STAGING_SECONDS = 3600
_META = "meta.pickle"
_FORMAT = 2
_ENTRY = re.compile(r"^[0-9a-f]{24}$")


@dataclass(frozen=True)
class CachedData:
    """What :func:`load_entry` gives: the tables, their cube, whether both came from disk."""

    loaded: LoadedTables
    cube: EventCube
    cached: bool


def default_cache_dir() -> Path:
    """``$JOURNEY_DASHBOARD_CACHE``, else ``$XDG_CACHE_HOME/journeylib/dashboard``."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "journeylib" / "dashboard"


def _source_files(config: JourneyConfig) -> list[Path] | None:
    files: list[Path] = []
    for source in config.sources.present().values():
        if source.path is None:
            return None
        path = Path(source.path)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            return None  # let the loader report the missing file with its own message
    return files


def data_fingerprint(config: JourneyConfig) -> str | None:
    """A hash of the config, the source files' content and the journeylib version.

    ``None`` when a source is not a file (a database): such data cannot be fingerprinted
    without reading it all.
    """
    from journeylib import __version__

    files = _source_files(config)
    if files is None:
        return None
    digest = hashlib.sha256()
    digest.update(f"format {_FORMAT} journeylib {__version__}\n".encode())
    digest.update(config.model_dump_json(exclude={"source_file"}).encode())
    for file in files:
        digest.update(f"\n{file}\n{file.stat().st_size}\n".encode())
        with file.open("rb") as handle:
            for chunk in iter(lambda h=handle: h.read(1 << 22), b""):
                digest.update(chunk)
    return digest.hexdigest()[:24]


def load_cached(config: JourneyConfig, cache_dir: Path | None = None) -> tuple[LoadedTables, bool]:
    """The journey's validated tables, from the cache when it holds this data's fingerprint.

    Returns the tables and whether they came from the cache (see :func:`load_entry`).
    """
    entry = load_entry(config, cache_dir)
    return entry.loaded, entry.cached


def load_entry(config: JourneyConfig, cache_dir: Path | None = None) -> CachedData:
    """The journey's validated tables and event cube, from the cache when it has them.

    A cache that cannot be written (read-only folder, full disk) is skipped: the tables are
    then validated and aggregated in this process, as ``journeylib.load`` does. Writing a new
    entry prunes the folder (:func:`prune`).
    """
    fingerprint = data_fingerprint(config)
    if fingerprint is None:
        loaded = load_tables(config)
        return CachedData(loaded, build_cube(loaded.tables["events"], config), False)
    root = cache_dir or default_cache_dir()
    folder = root / fingerprint
    if (folder / _META).is_file():
        try:
            loaded, cube = _read(folder, config)
        except Exception:
            # a damaged entry, or one written by a journeylib whose classes have moved
            # (unpickling names their modules): rebuild it
            shutil.rmtree(folder, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.utime(folder / _META)  # the entry's last use, for pruning
            return CachedData(loaded, cube, True)
    loaded = load_tables(config)
    cube = build_cube(loaded.tables["events"], config)
    with contextlib.suppress(OSError):
        _write(folder, loaded, cube)
    if not (folder / _META).is_file():
        return CachedData(loaded, cube, False)
    with contextlib.suppress(OSError):
        prune(root, keep=fingerprint)
    return CachedData(*_read(folder, config), False)


def _entries(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return [p for p in root.iterdir() if _ENTRY.match(p.name) and (p / _META).is_file()]


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def prune(
    root: Path,
    *,
    keep: str | None = None,
    entries: int = KEEP_ENTRIES,
    max_bytes: int = MAX_BYTES,
) -> list[str]:
    """Remove cache entries beyond the ``entries`` most recently used or ``max_bytes``.

    The entry named ``keep`` (the one in use) is never removed; staging folders left by a
    process that died while writing are. Only folders this module writes are touched: a
    folder whose name is no fingerprint is left alone. Returns the removed fingerprints.
    """
    now = time.time()
    for staging in root.glob(".*.*"):
        ours = _ENTRY.match(staging.name[1:].split(".", 1)[0])
        if ours and staging.is_dir() and now - staging.stat().st_mtime > STALE_STAGING_SECONDS:
            shutil.rmtree(staging, ignore_errors=True)
    used = sorted(_entries(root), key=lambda p: (p / _META).stat().st_mtime, reverse=True)
    if keep is not None:
        used.sort(key=lambda p: p.name != keep)  # the entry in use first (a stable sort)
    removed = []
    total = 0
    for index, folder in enumerate(used):
        size = _size(folder)
        if folder.name != keep and (index >= entries or total + size > max_bytes):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
            continue
        total += size
    return removed


def _write(folder: Path, loaded: LoadedTables, cube: EventCube) -> None:
    """Write the entry into a staging folder and rename it into place: all or nothing."""
    folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for table, frame in loaded.tables.items():
            frame.collect().write_parquet(staging / f"{table}.parquet", statistics=True)
        for table, frame in cube.tables.items():
            frame.write_parquet(staging / f"cube_{table}.parquet", statistics=True)
        meta = {
            "tables": sorted(loaded.tables),
            "quality": loaded.quality,
            "event_names": loaded.event_names,
            "roles_present": loaded.roles_present,
            "cube": {
                "tables": sorted(cube.tables),
                "dimensions": cube.dimensions,
                "schema": cube.schema,
                "signature": cube.signature,
                "sessions_unique": cube.sessions_unique,
            },
        }
        (staging / _META).write_bytes(pickle.dumps(meta))
        try:
            os.rename(staging, folder)
        except OSError:
            if not (folder / _META).is_file():  # not another kernel that got there first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _read(folder: Path, config: JourneyConfig) -> tuple[LoadedTables, EventCube]:
    meta = pickle.loads((folder / _META).read_bytes())
    tables = {
        table: pl.read_parquet(folder / f"{table}.parquet").lazy() for table in meta["tables"]
    }
    loaded = LoadedTables(
        config=config,
        tables=tables,
        quarantine={table: pl.LazyFrame() for table in tables},
        quality=meta["quality"],
        event_names=meta["event_names"],
        roles_present=meta["roles_present"],
    )
    about = meta["cube"]
    frames = {
        table: pl.read_parquet(folder / f"cube_{table}.parquet")
        for table in about["tables"]
        if table in CUBE_TABLES
    }
    cube = EventCube(
        days=frames["days"],
        sessions=frames.get("sessions"),
        timed=frames["timed"],
        dimensions=tuple(about["dimensions"]),
        schema=about["schema"],
        signature=about["signature"],
        sessions_unique=about["sessions_unique"],
    )
    return loaded, cube

"""The validated tables of a journey, cached on disk by data fingerprint.

Reading and validating the sources is the slow part of opening a dashboard (about 1.2 s for
1M events here, ten times that for 10M). Each dashboard kernel would repeat it, so the first
kernel writes the validated canonical tables as Parquet (and the data-quality summary beside
them) under a folder named by the data's fingerprint; every later kernel reads them back,
already validated. The KPI functions then run on exactly the frames ``journeylib.load`` would
have produced: the numbers cannot differ from the report's or the CLI's.

The fingerprint covers the config (its resolved model), every source file (name, size and
content hash) and the journeylib version. A database source has no files to hash: such a
journey is loaded directly, without the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import shutil
import tempfile
from pathlib import Path

import polars as pl

from journeylib.config import JourneyConfig
from journeylib.data.loading import LoadedTables, load_tables

__all__ = ["CACHE_ENV", "data_fingerprint", "default_cache_dir", "load_cached"]

#: Environment variable naming the cache folder (default: the user's cache folder).
CACHE_ENV = "JOURNEY_DASHBOARD_CACHE"
_META = "meta.pickle"
_FORMAT = 1


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

    Returns the tables and whether they came from the cache. A cache that cannot be written
    (read-only folder, full disk) is skipped: the tables are then validated in this process,
    as ``journeylib.load`` does.
    """
    fingerprint = data_fingerprint(config)
    if fingerprint is None:
        return load_tables(config), False
    folder = (cache_dir or default_cache_dir()) / fingerprint
    if (folder / _META).is_file():
        try:
            return _read(folder, config), True
        except Exception:
            # a damaged entry, or one written by a journeylib whose classes have moved
            # (unpickling names their modules): rebuild it
            shutil.rmtree(folder, ignore_errors=True)
    loaded = load_tables(config)
    with contextlib.suppress(OSError):
        _write(folder, loaded)
    return _read(folder, config) if (folder / _META).is_file() else loaded, False


def _write(folder: Path, loaded: LoadedTables) -> None:
    """Write the entry into a staging folder and rename it into place: all or nothing."""
    folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for table, frame in loaded.tables.items():
            frame.collect().write_parquet(staging / f"{table}.parquet", statistics=True)
        meta = {
            "tables": sorted(loaded.tables),
            "quality": loaded.quality,
            "event_names": loaded.event_names,
            "roles_present": loaded.roles_present,
        }
        (staging / _META).write_bytes(pickle.dumps(meta))
        try:
            os.rename(staging, folder)
        except OSError:
            if not (folder / _META).is_file():  # not another kernel that got there first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _read(folder: Path, config: JourneyConfig) -> LoadedTables:
    meta = pickle.loads((folder / _META).read_bytes())
    tables = {
        table: pl.read_parquet(folder / f"{table}.parquet").lazy() for table in meta["tables"]
    }
    return LoadedTables(
        config=config,
        tables=tables,
        quarantine={table: pl.LazyFrame() for table in tables},
        quality=meta["quality"],
        event_names=meta["event_names"],
        roles_present=meta["roles_present"],
    )

"""Load a journey's tables: read each configured source, validate it, summarise data quality.

This is the edge where data comes in: ``config -> sources -> validate``. Everything after it
works on the validated canonical tables.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from journeylib.config import JourneyConfig, load_config
from journeylib.config.schema import TABLES
from journeylib.data.atomic import atomic_path, atomic_write_text
from journeylib.data.sources import read_failure, scan_source
from journeylib.errors import JourneyError
from journeylib.validate import DataQuality, ValidatedTable, validate_table

__all__ = ["QUARANTINE_MARKER", "LoadedTables", "check_quarantine_folder", "load_tables"]


@dataclass(frozen=True)
class LoadedTables:
    """The validated canonical tables of a journey, their quarantines and data quality.

    Attributes
    ----------
    config
        The journey config the tables were loaded from.
    tables
        Canonical lazy tables by name (``events`` always; ``spend``, ``surveys``, ``tickets``
        when configured).
    quarantine
        The rejected rows of each table, in source form, with ``_row`` and ``_rule``.
    quality
        The data-quality summary every report and dashboard shows.
    event_names
        The distinct event names of the valid events (``None`` when there are too many to
        keep), found in the validation pass.
    roles_present
        The mapped roles at least one of whose event names occurs in the valid events.
    """

    config: JourneyConfig
    tables: dict[str, pl.LazyFrame]
    quarantine: dict[str, pl.LazyFrame]
    quality: DataQuality
    event_names: frozenset[str] | None = None
    roles_present: frozenset[str] | None = None

    def write_quarantine(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Write each table's quarantined rows to ``folder/<table>.csv``; returns the paths.

        ``folder`` must be new, empty, or one this method wrote before (it leaves a
        ``.journey-quarantine`` list of its files there): a folder holding anything else is
        refused (:func:`check_quarantine_folder`), so no file of the user's is overwritten.
        In a folder written before, the files of the earlier run are replaced or removed.
        """
        out = Path(folder)
        earlier = check_quarantine_folder(out)
        frames = {table: rows.collect() for table, rows in self.quarantine.items()}
        written = []
        try:
            out.mkdir(parents=True, exist_ok=True)
            for table, frame in frames.items():
                if frame.height == 0:
                    continue
                path = out / f"{table}.csv"
                with atomic_path(path) as partial:
                    _csv_safe(frame).write_csv(partial)
                written.append(path)
            names = sorted(path.name for path in written)
            for stale in earlier - set(names):
                (out / stale).unlink(missing_ok=True)
            atomic_write_text(out / QUARANTINE_MARKER, json.dumps({"files": names}) + "\n")
        except OSError as exc:
            raise JourneyError(f"--quarantine-out {out}: cannot write there: {exc}") from None
        return written


#: The list of files :meth:`LoadedTables.write_quarantine` wrote in its folder.
QUARANTINE_MARKER = ".journey-quarantine"
_QUARANTINE_FILES = frozenset(f"{table}.csv" for table in TABLES)


def check_quarantine_folder(folder: str | os.PathLike[str]) -> set[str]:
    """Refuse a quarantine folder that holds anything validation did not write there.

    Returns the names of the files an earlier run wrote (empty for a new or empty folder).

    Raises
    ------
    JourneyError
        ``folder`` is a file, or a folder holding other files than an earlier run's.
    """
    out = Path(folder)
    if not out.exists():
        return set()
    if not out.is_dir():
        raise JourneyError(
            f"--quarantine-out {out}: is a file, not a folder; give a new or empty folder"
        )
    present = {child.name for child in out.iterdir()}
    earlier: set[str] = set()
    marker = out / QUARANTINE_MARKER
    if marker.is_file():
        try:
            listed = json.loads(marker.read_text(encoding="utf-8")).get("files", [])
            earlier = {name for name in listed if name in _QUARANTINE_FILES}
        except (OSError, ValueError, AttributeError):
            earlier = set()
    foreign = sorted(present - earlier - {QUARANTINE_MARKER})
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise JourneyError(
            f"--quarantine-out {out}: the folder holds files validate did not write ({shown}); "
            "give a new or empty folder, so that no file of yours is overwritten"
        )
    return earlier


def load_tables(
    config: JourneyConfig | str | os.PathLike[str], *, materialize: bool = True
) -> LoadedTables:
    """Read and validate every source of a journey.

    Parameters
    ----------
    config
        A :class:`JourneyConfig` or the path of a ``journey.yml``.
    materialize
        Keep the validated rows in memory (read, converted and checked once, in the same pass
        as the quality summary). ``False`` keeps the tables lazy: every analysis then reads and
        checks the sources again, which needs less memory for data larger than RAM.

    Returns
    -------
    LoadedTables
        Lazy canonical tables plus the data-quality summary (computed in one pass per table).

    Raises
    ------
    ConfigError, SourceError, SchemaError
        When the config is invalid, a source cannot be read, or a table misses a column.

    Examples
    --------
    >>> loaded = load_tables("data/sample/journey.yml")  # doctest: +SKIP
    >>> print(loaded.quality.summary())  # doctest: +SKIP
    """
    if not isinstance(config, JourneyConfig):
        config = load_config(config)
    tables: dict[str, pl.LazyFrame] = {}
    quarantine: dict[str, pl.LazyFrame] = {}
    qualities = []
    found: dict[str, ValidatedTable] = {}
    for table, source in config.sources.present().items():
        frame = scan_source(table, source)
        try:
            validated = validate_table(table, frame, source, config, materialize=materialize)
        except pl.exceptions.PolarsError as exc:
            # the source's rows are read here for the first time: a byte that is not UTF-8,
            # a ragged CSV row or a corrupt Parquet page fails this pass
            raise read_failure(table, source, exc) from None
        found[table] = validated
        tables[table] = validated.data
        quarantine[table] = validated.quarantine
        qualities.append(validated.quality)
    missing = tuple(t for t in TABLES if t not in tables)
    quality = DataQuality(tables=tuple(qualities), missing=missing)
    return LoadedTables(
        config=config,
        tables=tables,
        quarantine=quarantine,
        quality=quality,
        event_names=found["events"].event_names,
        roles_present=found["events"].roles_present,
    )


def _csv_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Nested columns cannot go to CSV: write them as JSON text."""
    nested = [name for name, dtype in frame.schema.items() if dtype.is_nested()]
    if not nested:
        return frame
    return frame.with_columns(
        pl.col(name).map_elements(str, return_dtype=pl.String) for name in nested
    )

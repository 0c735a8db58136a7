"""Load a journey's tables: read each configured source, validate it, summarise data quality.

This is the edge where data comes in: ``config -> sources -> validate``. Everything after it
works on the validated canonical tables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from journeylib._atomic import atomic_path
from journeylib.config import JourneyConfig, load_config
from journeylib.schema import TABLES
from journeylib.sources import scan_source
from journeylib.validate import DataQuality, validate_table

__all__ = ["LoadedTables", "load_tables"]


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
    """

    config: JourneyConfig
    tables: dict[str, pl.LazyFrame]
    quarantine: dict[str, pl.LazyFrame]
    quality: DataQuality

    def write_quarantine(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Write each table's quarantined rows to ``folder/<table>.csv``; returns the paths."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for table, rows in self.quarantine.items():
            frame = rows.collect()
            if frame.height == 0:
                continue
            path = out / f"{table}.csv"
            with atomic_path(path) as partial:
                _csv_safe(frame).write_csv(partial)
            written.append(path)
        return written


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
    for table, source in config.sources.present().items():
        frame = scan_source(table, source)
        validated = validate_table(table, frame, source, config, materialize=materialize)
        tables[table] = validated.data
        quarantine[table] = validated.quarantine
        qualities.append(validated.quality)
    missing = tuple(t for t in TABLES if t not in tables)
    quality = DataQuality(tables=tuple(qualities), missing=missing)
    return LoadedTables(config=config, tables=tables, quarantine=quarantine, quality=quality)


def _csv_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Nested columns cannot go to CSV: write them as JSON text."""
    nested = [name for name, dtype in frame.schema.items() if dtype.is_nested()]
    if not nested:
        return frame
    return frame.with_columns(
        pl.col(name).map_elements(str, return_dtype=pl.String) for name in nested
    )

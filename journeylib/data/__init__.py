"""Reading a journey's sources (CSV, Parquet, DuckDB, SQL) and loading them, validated, with the
quarantine of rejected rows.
"""

from __future__ import annotations

from journeylib.data.loading import (
    QUARANTINE_MARKER,
    LoadedTables,
    check_quarantine_folder,
    load_tables,
)
from journeylib.data.sources import available_columns, read_failure, scan_source

__all__ = [
    "QUARANTINE_MARKER",
    "LoadedTables",
    "available_columns",
    "check_quarantine_folder",
    "load_tables",
    "read_failure",
    "scan_source",
]

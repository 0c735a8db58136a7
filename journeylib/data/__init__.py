"""Reading a journey's sources (CSV, Parquet, DuckDB, SQL) and loading them, validated, with the
quarantine of rejected rows.
"""

from __future__ import annotations

from journeylib.data.sources import available_columns, read_failure, scan_source
from journeylib.data.loading import LoadedTables, QUARANTINE_MARKER, check_quarantine_folder, load_tables

__all__ = [
    "LoadedTables",
    "QUARANTINE_MARKER",
    "available_columns",
    "check_quarantine_folder",
    "load_tables",
    "read_failure",
    "scan_source",
]

"""Reading sources: CSV, Parquet, DuckDB and SQL databases, as lazy frames with their own columns.

A source is returned exactly as stored: its own column names, no renaming, no type conversion
(validation maps and checks the columns). CSV columns are all read as strings, so a bad value
deep in a file never breaks schema inference. Reading fails early: a missing file, an empty glob,
a corrupt file, a missing table or a refused connection raises :class:`SourceError` inside
:func:`scan_source`, never later at ``collect()``, and no message ever shows a password.

Examples
--------
>>> from journeylib.config import SourceConfig
>>> events = scan_source("events", SourceConfig(path="data/events.csv"))  # doctest: +SKIP
>>> available_columns(events)  # doctest: +SKIP
['user_id', 'ts', 'event_name']
"""

from __future__ import annotations

import glob
import gzip
import itertools
import re
from pathlib import Path

import duckdb
import polars as pl

from journeylib.config import SourceConfig
from journeylib.data._csv_source import is_utf8, locate_csv_failure, read_decoded_csv
from journeylib.data._sql_source import first_line, quote_table_name, read_sql
from journeylib.errors import SourceError, close_matches

__all__ = ["available_columns", "read_failure", "scan_source"]

_GLOB_CHARS = re.compile(r"[*?\[]")
_SNIFF_BYTES = 4096


def scan_source(table: str, source: SourceConfig) -> pl.LazyFrame:
    """Open one source as a lazy frame, with the source's own column names and types.

    Parameters
    ----------
    table
        The canonical table it feeds (``events``, ``spend``, ``surveys`` or ``tickets``), named in
        messages.
    source
        Where it comes from: ``csv`` (a file or a glob; ``.csv.gz`` too; every column a string),
        ``parquet`` (a file, a glob, or a folder of hive-partitioned ``key=value/`` subfolders
        whose keys become columns), ``duckdb`` (a database file, opened read-only) or ``sql``
        (a database URI such as ``postgresql://user:${PGPASSWORD}@host/db``).

    Returns
    -------
    pl.LazyFrame
        Lazy over the files for CSV and Parquet; database results are read once (through Arrow)
        and wrapped lazily.

    Raises
    ------
    SourceError
        When the source cannot be read at all, e.g. ``events source data/events.csv: no such
        file or folder: data/events.csv (similar names in data: events.csv.gz)``.

    Examples
    --------
    >>> source = SourceConfig(kind="csv", path="spend.csv", separator=";")  # doctest: +SKIP
    >>> scan_source("spend", source).collect_schema()  # doctest: +SKIP
    Schema({'day': String, 'channel': String, 'cost': String})
    """
    if source.kind == "csv":
        return _scan_csv(table, source)
    if source.kind == "parquet":
        return _scan_parquet(table, source)
    if source.kind == "duckdb":
        return _read_duckdb(table, source)
    return read_sql(table, source)


def available_columns(frame: pl.LazyFrame) -> list[str]:
    """The column names of a lazy frame, in order (reads only the schema).

    Examples
    --------
    >>> available_columns(pl.LazyFrame({"user_id": ["u1"], "event": ["visit"]}))
    ['user_id', 'event']
    """
    return frame.collect_schema().names()


# --------------------------------------------------------------------------- files


def _scan_csv(table: str, source: SourceConfig) -> pl.LazyFrame:
    files = _matching_files(table, source, allow_folder=False)
    _check_looks_like_csv(table, source, files[0])
    if not is_utf8(source):
        try:
            return read_decoded_csv(table, source, files)
        except ValueError as exc:
            raise _error(table, source, str(exc)) from None
        except (pl.exceptions.PolarsError, OSError, EOFError) as exc:
            raise _error(table, source, f"cannot be read as CSV: {first_line(exc)}") from None
    frame = pl.scan_csv(str(source.path), separator=source.separator, infer_schema=False)
    try:
        frame.collect_schema()
    except pl.exceptions.NoDataError:
        raise _error(table, source, f"{files[0]} is empty (expected a header line)") from None
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise read_failure(table, source, exc) from None
    if any("\ufffd" in name for name in frame.collect_schema()):
        # Polars decodes the header leniently: a byte that is not UTF-8 becomes U+FFFD
        located = locate_csv_failure(table, source, files, "invalid utf-8 in the header")
        if located is not None:
            raise _error(table, source, located)
    return frame


def read_failure(table: str, source: SourceConfig, exc: BaseException) -> SourceError:
    """The error to raise when reading a source failed with ``exc`` (e.g. at ``collect``).

    For a CSV source the files are read again to name the file, line and byte (or field
    count) that Polars could not read.
    """
    located = None
    if source.kind == "csv":
        try:
            files = _matching_files(table, source, allow_folder=False)
        except SourceError as missing:
            return missing
        located = locate_csv_failure(table, source, files, str(exc))
        if located is None:
            return _error(table, source, f"cannot be read as CSV: {first_line(exc)}")
        return _error(table, source, located)
    return _error(table, source, f"cannot be read: {first_line(exc)}")


def _scan_parquet(table: str, source: SourceConfig) -> pl.LazyFrame:
    files = _matching_files(table, source, allow_folder=True)
    try:
        pl.read_parquet_schema(files[0])
    except (pl.exceptions.PolarsError, OSError) as exc:
        reason = f"{files[0]} is not a Parquet file, or a corrupt one ({first_line(exc)})"
        raise _error(table, source, reason) from None
    path = Path(str(source.path))
    if path.is_dir():
        # a glob, not the bare folder: Polars refuses folders holding other files (_SUCCESS, .crc)
        frame = pl.scan_parquet(str(path / "**" / "*.parquet"), hive_partitioning=True)
    else:
        frame = pl.scan_parquet(str(path))
    try:
        frame.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _error(table, source, f"cannot be read as Parquet: {first_line(exc)}") from None
    return frame


def _matching_files(table: str, source: SourceConfig, *, allow_folder: bool) -> list[Path]:
    """The files a path, glob or (for Parquet) folder names; raises when there are none."""
    text = str(source.path)
    if _GLOB_CHARS.search(text):
        matches = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        if not matches:
            raise _error(table, source, _no_match_reason(text))
        return matches
    path = Path(text)
    if path.is_file():
        return [path]
    if not path.exists():
        raise _error(table, source, _missing_reason(path))
    if not allow_folder:
        raise _error(table, source, f"{path} is a folder; give a file or a glob like {path}/*.csv")
    parquet_files = sorted(path.rglob("*.parquet"))
    if not parquet_files:
        raise _error(table, source, f"the folder {path} holds no .parquet files (subfolders too)")
    return parquet_files


def _check_looks_like_csv(table: str, source: SourceConfig, file: Path) -> None:
    try:
        opener = gzip.open if file.name.lower().endswith(".gz") else open
        with opener(file, "rb") as stream:
            head = stream.read(_SNIFF_BYTES)
    except gzip.BadGzipFile:
        raise _error(
            table, source, f"{file} is not a gzip file, though its name ends in .gz"
        ) from None
    except (OSError, EOFError) as exc:
        raise _error(table, source, f"{file} cannot be read: {first_line(exc)}") from None
    if head.startswith(b"PAR1"):
        raise _error(table, source, f"{file} is a Parquet file, not CSV (set kind: parquet)")
    if b"\x00" in head and is_utf8(source):
        raise _error(table, source, f"{file} is not a CSV file: it holds binary data")


def _missing_reason(path: Path) -> str:
    parent = path.parent
    if not parent.is_dir():
        return f"no such file or folder: {path} (the folder {parent} does not exist either)"
    names = sorted(child.name for child in parent.iterdir())
    close = close_matches(path.name, names, n=3, cutoff=0.75)
    if close:
        return f"no such file or folder: {path} (similar names in {parent}: {', '.join(close)})"
    return f"no such file or folder: {path} (nothing with a similar name in {parent})"


def _no_match_reason(pattern: str) -> str:
    parts = Path(pattern).parts
    fixed = list(itertools.takewhile(lambda part: not _GLOB_CHARS.search(part), parts))
    base = Path(*fixed) if fixed else Path(".")
    if not base.is_dir():
        return f"no file matches the glob {pattern} (the folder {base} does not exist)"
    return f"no file matches the glob {pattern}"


# --------------------------------------------------------------------------- duckdb


def _read_duckdb(table: str, source: SourceConfig) -> pl.LazyFrame:
    path = Path(str(source.path))
    if not path.is_file():
        reason = _missing_reason(path) if not path.exists() else f"{path} is a folder"
        raise _error(table, source, reason)
    try:
        connection = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        if "not a valid DuckDB database file" in str(exc):
            raise _error(table, source, f"{path} is not a DuckDB database file") from None
        raise _error(table, source, f"cannot open {path}: {first_line(exc)}") from None
    try:
        query = source.query or f"SELECT * FROM {quote_table_name(table, source)}"
        connection.execute("SET TimeZone = 'UTC'")  # else TIMESTAMPTZ comes in the machine's zone
        try:
            frame = connection.sql(query).pl()
        except duckdb.CatalogException as exc:
            if source.table is None:
                raise _error(table, source, f"the query failed: {first_line(exc)}") from None
            listed = ", ".join(_duckdb_tables(connection)) or "none"
            reason = f"table {source.table} does not exist; available tables: {listed}"
            raise _error(table, source, reason) from None
        except duckdb.Error as exc:
            raise _error(table, source, f"the query failed: {first_line(exc)}") from None
    finally:
        connection.close()
    return frame.lazy()


def _duckdb_tables(connection: duckdb.DuckDBPyConnection) -> list[str]:
    rows = connection.sql(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() ORDER BY table_schema, table_name"
    ).fetchall()
    return [name if schema == "main" else f"{schema}.{name}" for schema, name in rows]


# --------------------------------------------------------------------------- shared


def _error(table: str, source: SourceConfig, reason: str) -> SourceError:
    return SourceError(table, source.location, reason)

"""Reading a ``sql`` source (a database URI) through connectorx, failing fast and secret-free.

SQLite files are read with Python's ``sqlite3``, opened read-only (connectorx would create a
missing file as an empty database). connectorx retries a failing connection for 30 seconds
before it reports it (its pool does not tell a wrong password from a busy server), so the
connection is probed first: with psycopg for PostgreSQL when it is installed, else with a
plain TCP connect. Every message has the password removed, in plain, percent-encoded and
decoded form.
"""

from __future__ import annotations

import re
import socket
import sqlite3
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import polars as pl

from journeylib.config.model import SourceConfig, _redact_uri
from journeylib.errors import ConfigError, SourceError

__all__ = ["first_line", "quote_table_name", "read_sql"]

CONNECT_TIMEOUT_SECONDS = 10
_DEFAULT_PORTS = {
    "postgres": 5432,
    "postgresql": 5432,
    "redshift": 5439,
    "mysql": 3306,
    "mssql": 1433,
    "oracle": 1521,
}
_POSTGRES_SCHEMES = ("postgres", "postgresql")
#: The URI schemes a sql source reads (connectorx's, and sqlite through sqlite3).
SCHEMES = ("postgresql", "postgres", "redshift", "mysql", "mssql", "oracle", "bigquery", "sqlite")
_NAME_PART = re.compile(r'"(?:[^"]|"")+"|[^."]+')
_LIST_POSTGRES_TABLES = (
    "SELECT table_schema, table_name FROM information_schema.tables "
    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
    "ORDER BY table_schema, table_name"
)


def read_sql(table: str, source: SourceConfig) -> pl.LazyFrame:
    """Run the source's query (or ``SELECT * FROM`` its table) and return the result lazily."""
    try:
        uri = source.resolved_uri()
    except ConfigError as exc:
        raise SourceError(table, source.location, "; ".join(exc.problems)) from None
    scheme = urlsplit(uri).scheme if "://" in uri else ""
    if scheme not in SCHEMES:
        reason = (
            f"unsupported database scheme '{scheme}'" if scheme else "this is not a database URI"
        )
        raise SourceError(
            table,
            source.location,
            f"{reason}; expected {', '.join(SCHEMES)}, e.g. postgresql://user@host:5432/db or "
            "sqlite:///path/to/file.db",
        )
    if scheme == "sqlite":
        return _read_sqlite(table, source, uri)
    _probe_connection(table, source, uri)
    query = source.query or f"SELECT * FROM {quote_table_name(table, source)}"
    try:
        frame = pl.read_database_uri(query, uri, engine="connectorx")
    except ImportError:
        reason = "reading a sql source needs connectorx: pip install connectorx"
        raise SourceError(table, source.location, reason) from None
    except Exception as exc:  # connectorx raises bare RuntimeError/ValueError
        message = _scrub(str(exc), uri)
        missing = re.search(r'relation "([^"]+)" does not exist', message)
        if missing and source.table is not None:
            listed = ", ".join(_postgres_tables(uri)) or "none"
            reason = f"table {source.table} does not exist; available tables: {listed}"
        else:
            reason = _connection_reason(message, uri) or f"the query failed: {_plain(message)}"
        raise SourceError(table, source.location, reason) from None
    return frame.lazy()


def _read_sqlite(table: str, source: SourceConfig, uri: str) -> pl.LazyFrame:
    """A SQLite file, opened read-only: a missing file is an error, never a new database.

    ``sqlite:///abs/path.db`` or ``sqlite://relative/path.db`` (relative to the working
    folder, as connectorx reads it); options after ``?`` are ignored.
    """
    path = Path(unquote(uri[len("sqlite://") :].split("?", 1)[0]))
    if not path.is_file():
        problem = "is a folder" if path.is_dir() else "does not exist"
        raise SourceError(table, source.location, f"the SQLite database file {path} {problem}")
    query = source.query or f"SELECT * FROM {quote_table_name(table, source)}"
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise SourceError(table, source.location, f"cannot open {path}: {exc}") from None
    try:
        try:
            cursor = connection.execute(query)
            columns = [column[0] for column in cursor.description or ()]
            rows = cursor.fetchall()
        except sqlite3.DatabaseError as exc:
            message = str(exc)
            if "file is not a database" in message:
                reason = f"{path} is not a SQLite database file"
            elif message.startswith("no such table") and source.table is not None:
                listed = connection.execute(
                    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name"
                ).fetchall()
                names = ", ".join(name for (name,) in listed) or "none"
                reason = f"table {source.table} does not exist; available tables: {names}"
            else:
                reason = f"the query failed: {message}"
            raise SourceError(table, source.location, reason) from None
    finally:
        connection.close()
    frame = pl.DataFrame(
        {name: [row[index] for row in rows] for index, name in enumerate(columns)}, strict=False
    )
    return frame.lazy()


def quote_table_name(table: str, source: SourceConfig) -> str:
    """``schema.table`` with each part double-quoted (quotes inside doubled), exactly as written.

    Parts already in double quotes are kept; anything else that is not ``a``, ``a.b`` or
    ``a.b.c`` raises :class:`SourceError`.
    """
    name = source.table or ""
    parts = _NAME_PART.findall(name)
    if not parts or len(parts) > 3 or ".".join(parts) != name:
        reason = f"'{name}' is not a table name (expected table, schema.table or db.schema.table)"
        raise SourceError(table, source.location, reason)
    quoted = [p if p.startswith('"') else '"' + p.replace('"', '""') + '"' for p in parts]
    return ".".join(quoted)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (the rest is usually a hint or a traceback)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _probe_connection(table: str, source: SourceConfig, uri: str) -> None:
    parts = urlsplit(uri)
    if parts.scheme in _POSTGRES_SCHEMES:
        try:
            import psycopg
        except ImportError:
            psycopg = None
        if psycopg is not None:
            try:
                psycopg.connect(_libpq_uri(uri), connect_timeout=CONNECT_TIMEOUT_SECONDS).close()
            except psycopg.Error as exc:
                message = _scrub(str(exc), uri)
                reason = _connection_reason(message, uri) or _plain(message)
                raise SourceError(table, source.location, reason) from None
            return
    port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    if parts.hostname is None or port is None:
        return
    try:
        socket.create_connection((parts.hostname, port), CONNECT_TIMEOUT_SECONDS).close()
    except OSError as exc:
        reason = _connection_reason(str(exc), uri) or f"cannot connect: {exc}"
        raise SourceError(table, source.location, _scrub(reason, uri)) from None


def _connection_reason(message: str, uri: str) -> str | None:
    """A plain reason for the usual connection failures, or ``None`` for anything else."""
    parts = urlsplit(uri)
    where = f"{parts.hostname}:{parts.port or _DEFAULT_PORTS.get(parts.scheme, '?')}"
    lowered = message.lower()
    if "password authentication failed" in lowered or "access denied" in lowered:
        user = unquote(parts.username or "")
        return f"authentication failed for user '{user}' at {where}: check the user and password"
    if "connection refused" in lowered:
        return f"connection refused by {where}: is the database server running and listening?"
    if "timed out" in lowered and "connect" in lowered and "db error" not in lowered:
        return f"no answer from {where} within {CONNECT_TIMEOUT_SECONDS} s"
    database = re.search(r'database "([^"]+)" does not exist', message)
    if database:
        return f"database '{database.group(1)}' does not exist at {where}"
    if re.search(r"failed to lookup address|could not translate host name", message):
        return f"unknown host '{parts.hostname}'"
    return None


def _postgres_tables(uri: str) -> list[str]:
    try:
        listing = pl.read_database_uri(_LIST_POSTGRES_TABLES, uri, engine="connectorx")
    except Exception:  # the listing only decorates the message
        return []
    return [
        name if schema == "public" else f"{schema}.{name}"
        for schema, name in listing.select("table_schema", "table_name").iter_rows()
    ]


def _libpq_uri(uri: str) -> str:
    """The URI without connectorx's own query options, which libpq rejects."""
    parts = urlsplit(uri)
    options = [(k, v) for k, v in parse_qsl(parts.query) if not k.startswith("cx")]
    return urlunsplit(parts._replace(query=urlencode(options)))


def _scrub(text: str, uri: str) -> str:
    """``text`` with the URI's password removed, in every spelling, and URIs redacted."""
    password = urlsplit(uri).password
    if password:
        for spelling in sorted({password, unquote(password), quote(password, safe="")}, key=len)[
            ::-1
        ]:
            text = text.replace(spelling, "***")
    return _redact_uri(text)


def _plain(message: str) -> str:
    """The first line, without connectorx's pool prefix and the driver's error-class prefixes."""
    line = message.strip().splitlines()[0] if message.strip() else message
    for prefix in ("timed out waiting for connection: ", "db error: ", "ERROR: ", "FATAL: "):
        line = line.removeprefix(prefix)
    return line

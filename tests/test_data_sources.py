"""Reading sources: each kind reads a tiny literal table; each failure names path, table, reason."""

from __future__ import annotations

import gzip
import os
import socket
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import duckdb
import polars as pl
import psycopg
import pytest
from conftest import require_system_tool
from polars.testing import assert_frame_equal
from postgres import free_port, temporary_postgres

from journeylib.config import SourceConfig
from journeylib.data import available_columns, scan_source
from journeylib.data._sql_source import _scrub, quote_table_name
from journeylib.errors import SourceError


def read(source: SourceConfig) -> pl.DataFrame:
    return scan_source("events", source).collect()


def failure(source: SourceConfig, table: str = "events") -> str:
    with pytest.raises(SourceError) as caught:
        scan_source(table, source)
    assert caught.value.table == table
    return str(caught.value)


# --------------------------------------------------------------------------- csv


def test_csv_honours_the_separator_and_reads_every_column_as_string(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("user_id;ts;revenue\nu1;2026-03-01 10:00;12.50\nu2;2026-03-02 11:00;\n")
    frame = read(SourceConfig(kind="csv", path=path, separator=";"))
    expected = pl.DataFrame(
        {
            "user_id": ["u1", "u2"],
            "ts": ["2026-03-01 10:00", "2026-03-02 11:00"],
            "revenue": ["12.50", None],
        }
    )
    assert_frame_equal(frame, expected)


def test_csv_bad_value_deep_in_the_file_does_not_break_the_schema(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("user_id,revenue\n" + "u,1\n" * 5000 + "u,n/a\n")
    frame = read(SourceConfig(kind="csv", path=path))
    assert frame.schema == pl.Schema({"user_id": pl.String, "revenue": pl.String})
    assert frame["revenue"].tail(2).to_list() == ["1", "n/a"]


def test_csv_gz_is_read(tmp_path):
    path = tmp_path / "events.csv.gz"
    with gzip.open(path, "wt") as stream:
        stream.write("user_id,event\nu1,visit\n")
    frame = read(SourceConfig(path=path))
    assert_frame_equal(frame, pl.DataFrame({"user_id": ["u1"], "event": ["visit"]}))


def test_csv_glob_reads_every_matching_file(tmp_path):
    (tmp_path / "part-1.csv").write_text("user_id|event\nu1|visit\n")
    (tmp_path / "part-2.csv").write_text("user_id|event\nu2|purchase\n")
    (tmp_path / "other.txt").write_text("not part of it\n")
    frame = read(SourceConfig(kind="csv", path=tmp_path / "part-*.csv", separator="|"))
    expected = pl.DataFrame({"user_id": ["u1", "u2"], "event": ["visit", "purchase"]})
    assert_frame_equal(frame.sort("user_id"), expected)


def test_scan_is_lazy_and_available_columns_reads_the_schema(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("user_id,event,channel\nu1,visit,ads\n")
    frame = scan_source("events", SourceConfig(path=path))
    assert isinstance(frame, pl.LazyFrame)
    assert available_columns(frame) == ["user_id", "event", "channel"]


# --------------------------------------------------------------------------- parquet

TYPED = pl.DataFrame(
    {
        "user_id": ["u1", "u2"],
        "timestamp": [
            datetime(2026, 3, 1, 9, tzinfo=UTC),
            datetime(2026, 3, 2, 4, 30, tzinfo=UTC),
        ],
        "revenue": [None, 12.5],
    }
)


def test_parquet_file_keeps_its_types(tmp_path):
    TYPED.write_parquet(tmp_path / "events.parquet")
    assert_frame_equal(read(SourceConfig(path=tmp_path / "events.parquet")), TYPED)


def test_parquet_glob_reads_every_matching_file(tmp_path):
    TYPED.head(1).write_parquet(tmp_path / "a.parquet")
    TYPED.tail(1).write_parquet(tmp_path / "b.parquet")
    frame = read(SourceConfig(kind="parquet", path=tmp_path / "*.parquet"))
    assert_frame_equal(frame.sort("user_id"), TYPED)


def test_parquet_hive_folder_turns_the_partition_key_into_a_column(tmp_path):
    for country, user in (("DE", "u1"), ("FR", "u2")):
        folder = tmp_path / "events" / f"country={country}"
        folder.mkdir(parents=True)
        pl.DataFrame({"user_id": [user]}).write_parquet(folder / "part-0.parquet")
    (tmp_path / "events" / "_SUCCESS").write_text("")  # written by Spark; must be ignored
    frame = read(SourceConfig(path=tmp_path / "events"))
    expected = pl.DataFrame({"user_id": ["u1", "u2"], "country": ["DE", "FR"]})
    assert_frame_equal(frame.sort("user_id"), expected)


# --------------------------------------------------------------------------- duckdb

# the same rows in the DuckDB and PostgreSQL fixtures: 10:00+01 is 09:00 UTC
PG_EVENTS = pl.DataFrame(
    {
        "user_id": ["u1", "u2"],
        "ts": [datetime(2026, 3, 1, 9, tzinfo=UTC), None],
        "event": ["visit", "purchase"],
        "revenue": [None, 12.5],
    },
    schema={
        "user_id": pl.String,
        "ts": pl.Datetime("us", "UTC"),
        "event": pl.String,
        "revenue": pl.Float64,
    },
)


@pytest.fixture
def duckdb_file(tmp_path) -> Path:
    path = tmp_path / "journey.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE TABLE events (user_id VARCHAR, ts TIMESTAMPTZ, revenue DOUBLE)")
        connection.execute(
            "INSERT INTO events VALUES ('u1', '2026-03-01 10:00:00+01', NULL), ('u2', NULL, 12.5)"
        )
        connection.execute('CREATE SCHEMA crm; CREATE TABLE crm."Tickets" (ticket_id VARCHAR)')
        connection.execute("INSERT INTO crm.\"Tickets\" VALUES ('t1')")
    return path


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("events", PG_EVENTS.select("user_id", "ts", "revenue")),
        ("crm.Tickets", pl.DataFrame({"ticket_id": ["t1"]})),
        ('crm."Tickets"', pl.DataFrame({"ticket_id": ["t1"]})),
    ],
)
def test_duckdb_table(duckdb_file, table, expected):
    frame = read(SourceConfig(path=duckdb_file, table=table))
    assert_frame_equal(frame.sort(frame.columns[0]), expected)


def test_duckdb_query(duckdb_file):
    query = "SELECT user_id FROM events WHERE revenue IS NOT NULL"
    frame = read(SourceConfig(path=duckdb_file, query=query))
    assert_frame_equal(frame, pl.DataFrame({"user_id": ["u2"]}))


def test_duckdb_connection_is_closed_after_reading(duckdb_file):
    scan_source("events", SourceConfig(path=duckdb_file, table="events"))
    # a read-only connection still open in this process would refuse a read-write one
    with duckdb.connect(str(duckdb_file)) as writer:
        writer.execute("INSERT INTO events VALUES ('u3', NULL, 1.0)")


def test_duckdb_table_name_cannot_inject_sql(duckdb_file):
    message = failure(SourceConfig(path=duckdb_file, table="events; DROP TABLE events"))
    assert "table events; DROP TABLE events does not exist" in message
    assert read(SourceConfig(path=duckdb_file, table="events")).height == 2


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        ("events", '"events"'),
        ("crm.tickets", '"crm"."tickets"'),
        ("db.crm.tickets", '"db"."crm"."tickets"'),
        ('"Odd.Name"', '"Odd.Name"'),
        ('crm."My ""Tickets"""', '"crm"."My ""Tickets"""'),
    ],
)
def test_quote_table_name(name, quoted):
    assert quote_table_name("events", SourceConfig(path="x.duckdb", table=name)) == quoted


@pytest.mark.parametrize("name", ["a..b", "a.b.c.d", 'a"b', ".events"])
def test_quote_table_name_rejects_malformed_names(name):
    with pytest.raises(SourceError, match="is not a table name"):
        quote_table_name("events", SourceConfig(path="x.duckdb", table=name))


# --------------------------------------------------------------------------- file failures


def test_missing_file_lists_close_names(tmp_path):
    (tmp_path / "events.csv.gz").write_text("")
    (tmp_path / "spend.csv").write_text("")
    path = tmp_path / "event.csv"
    assert failure(SourceConfig(path=path)) == (
        f"events source {path}: no such file or folder: {path} "
        f"(similar names in {tmp_path}: events.csv.gz)"
    )


def test_missing_file_in_a_missing_folder(tmp_path):
    path = tmp_path / "exports" / "events.parquet"
    assert failure(SourceConfig(path=path)) == (
        f"events source {path}: no such file or folder: {path} "
        f"(the folder {tmp_path / 'exports'} does not exist either)"
    )


def test_missing_duckdb_file(tmp_path):
    path = tmp_path / "journey.duckdb"
    assert failure(SourceConfig(path=path, table="events")) == (
        f"events source {path} (events): no such file or folder: {path} "
        f"(nothing with a similar name in {tmp_path})"
    )


def test_empty_glob(tmp_path):
    pattern = tmp_path / "*.csv"
    (tmp_path / "events.tsv").write_text("")
    assert failure(SourceConfig(kind="csv", path=pattern), table="spend") == (
        f"spend source {pattern}: no file matches the glob {pattern}"
    )


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "events.parquet"
    path.write_bytes(b"user_id,event\nu1,visit\n")
    assert failure(SourceConfig(path=path)) == (
        f"events source {path}: {path} is not a Parquet file, or a corrupt one (parquet: File "
        "out of specification: The file must end with PAR1 or PARE)"
    )


def test_parquet_folder_without_parquet_files(tmp_path):
    (tmp_path / "notes.txt").write_text("")
    assert failure(SourceConfig(kind="parquet", path=tmp_path)) == (
        f"events source {tmp_path}: the folder {tmp_path} holds no .parquet files (subfolders too)"
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "{path} is empty (expected a header line)"),
        (b"PAR1\x15\x04", "{path} is a Parquet file, not CSV (set kind: parquet)"),
        (b"user\x00id\n", "{path} is not a CSV file: it holds binary data"),
    ],
)
def test_unreadable_csv(tmp_path, content, reason):
    path = tmp_path / "events.csv"
    path.write_bytes(content)
    assert failure(SourceConfig(path=path)) == f"events source {path}: " + reason.format(path=path)


def test_not_a_duckdb_file(tmp_path):
    path = tmp_path / "journey.duckdb"
    path.write_bytes(b"user_id,event\n" * 100)
    assert failure(SourceConfig(path=path, table="events")) == (
        f"events source {path} (events): {path} is not a DuckDB database file"
    )


def test_missing_duckdb_table_lists_the_available_ones(duckdb_file):
    source = SourceConfig(path=duckdb_file, table="event")
    assert failure(source) == (
        f"events source {duckdb_file} (event): table event does not exist; "
        "available tables: crm.Tickets, events"
    )


# --------------------------------------------------------------------------- sql failures
# (no server needed: these connect to a closed port of 127.0.0.1)


def closed_port_uri() -> str:
    return f"postgresql://journey:hunter2-secret@127.0.0.1:{free_port()}/journey"


def test_refused_connection():
    uri = closed_port_uri()
    port = urlsplit(uri).port
    message = failure(SourceConfig(uri=uri, table="events"))
    assert message == (
        f"events source postgresql://journey:***@127.0.0.1:{port}/journey (events): "
        f"connection refused by 127.0.0.1:{port}: is the database server running and listening?"
    )


def test_refused_connection_is_reported_alike_without_psycopg(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg raises ImportError
    uri = closed_port_uri()
    message = failure(SourceConfig(uri=uri, table="events"))
    assert message.endswith("is the database server running and listening?")
    assert "hunter2-secret" not in message


def test_unset_environment_variable_in_the_uri(monkeypatch):
    monkeypatch.delenv("JOURNEY_TEST_PASSWORD", raising=False)
    uri = "postgresql://journey:${JOURNEY_TEST_PASSWORD}@127.0.0.1:1/journey"
    assert failure(SourceConfig(uri=uri, query="SELECT 1")) == (
        "events source postgresql://journey:***@127.0.0.1:1/journey (query): "
        "uri refers to ${JOURNEY_TEST_PASSWORD}, which is not set"
    )


@pytest.mark.parametrize(
    ("uri", "text", "scrubbed"),
    [
        ("postgresql://u:pa%40ss@h/db", "password pa@ss or pa%40ss", "password *** or ***"),
        (
            "postgresql://u:plain@h/db",
            "postgresql://u:plain@h/db: plain",
            "postgresql://u:***@h/db: ***",
        ),
        ("postgresql://u@h/db", "no password here", "no password here"),
    ],
)
def test_scrub_removes_the_password_in_every_spelling(uri, text, scrubbed):
    assert _scrub(text, uri) == scrubbed


# --------------------------------------------------------------------------- postgresql


@pytest.fixture(scope="module")
def postgres_tables(postgres_uri: str) -> str:
    with psycopg.connect(postgres_uri, autocommit=True) as connection:
        connection.execute(
            "DROP TABLE IF EXISTS events; DROP SCHEMA IF EXISTS crm CASCADE;"
            "CREATE TABLE events (user_id text, ts timestamptz, event text, revenue float8);"
            "INSERT INTO events VALUES ('u1', '2026-03-01 10:00:00+01', 'visit', NULL),"
            " ('u2', NULL, 'purchase', 12.5);"
            'CREATE SCHEMA crm; CREATE TABLE crm."Tickets" (ticket_id text, opened_at timestamptz);'
            "INSERT INTO crm.\"Tickets\" VALUES ('t1', '2026-03-02 23:30:00-05');"
        )
    return postgres_uri


@pytest.mark.postgres
def test_postgres_table_with_timestamptz_and_null(postgres_tables):
    frame = read(SourceConfig(uri=postgres_tables, table="events"))
    assert_frame_equal(frame.sort("user_id"), PG_EVENTS)


@pytest.mark.postgres
def test_postgres_schema_qualified_table(postgres_tables):
    frame = read(SourceConfig(uri=postgres_tables, table="crm.Tickets"))
    expected = {"ticket_id": ["t1"], "opened_at": [datetime(2026, 3, 3, 4, 30, tzinfo=UTC)]}
    assert_frame_equal(frame, pl.DataFrame(expected))


@pytest.mark.postgres
def test_postgres_query(postgres_tables):
    query = "SELECT user_id, revenue FROM events WHERE event = 'purchase'"
    frame = read(SourceConfig(uri=postgres_tables, query=query))
    assert_frame_equal(frame, pl.DataFrame({"user_id": ["u2"], "revenue": [12.5]}))


@pytest.mark.postgres
def test_postgres_password_from_the_environment(postgres_tables, monkeypatch):
    password = urlsplit(postgres_tables).password
    monkeypatch.setenv("JOURNEY_TEST_PASSWORD", password)
    uri = postgres_tables.replace(f":{password}@", ":${JOURNEY_TEST_PASSWORD}@")
    frame = read(SourceConfig(uri=uri, table="events"))
    assert_frame_equal(frame.sort("user_id"), PG_EVENTS)


@pytest.mark.postgres
def test_postgres_wrong_password_never_shows_a_password(postgres_tables):
    right = urlsplit(postgres_tables).password
    uri = postgres_tables.replace(f":{right}@", ":Wrong-Pass-123@")
    port = urlsplit(uri).port
    message = failure(SourceConfig(uri=uri, table="events"))
    assert message == (
        f"events source postgresql://journey:***@127.0.0.1:{port}/journey (events): "
        f"authentication failed for user 'journey' at 127.0.0.1:{port}: "
        "check the user and password"
    )
    for password in (right, unquote(right), "Wrong-Pass-123"):
        assert password not in message


@pytest.mark.postgres
def test_postgres_missing_table_lists_the_available_ones(postgres_tables):
    port = urlsplit(postgres_tables).port
    assert failure(SourceConfig(uri=postgres_tables, table="event")) == (
        f"events source postgresql://journey:***@127.0.0.1:{port}/journey (event): "
        "table event does not exist; available tables: crm.Tickets, events"
    )


@pytest.mark.postgres
def test_postgres_fixture_teardown_leaves_no_server_behind(postgres_bin_dir):
    prefix = f"journeylib-pg-teardown-{os.getpid()}-"
    with temporary_postgres(postgres_bin_dir, prefix=prefix) as uri:
        port = urlsplit(uri).port
        with psycopg.connect(uri) as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)
    assert not [p for p in os.listdir(tempfile.gettempdir()) if p.startswith(prefix)]
    assert not [pid for pid in _process_ids() if prefix in _command_line(pid)]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def _process_ids() -> list[str]:
    return [entry for entry in os.listdir("/proc") if entry.isdigit()]


def _command_line(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\x00", b" ").decode()
    except OSError:
        return ""


# --------------------------------------------------------------------------- system tools


def test_require_system_tool_returns_a_found_program(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    assert require_system_tool("sh", "apt-get install dash").name == "sh"


def test_require_system_tool_skips_with_the_install_hint(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="install it with: apt-get install nothing"):
        require_system_tool("journeylib-no-such-program", "apt-get install nothing")


def test_require_system_tool_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="journeylib-no-such-program is not installed"):
        require_system_tool("journeylib-no-such-program", "apt-get install nothing")


# --------------------------------------------------------------------------- text encodings


def _load_failure(tmp_path: Path, name: str, data: bytes, **source) -> str:
    """The message of loading a journey whose events are ``data`` (read at validation)."""
    from journeylib.config import config_from_dict
    from journeylib.data import load_tables

    (tmp_path / name).write_bytes(data)
    config = config_from_dict(
        {"name": "t", "sources": {"events": {"path": name, **source}}}, base_dir=tmp_path
    )
    with pytest.raises(SourceError) as caught:
        load_tables(config)
    return str(caught.value)


LATIN1 = "user_id,timestamp,event\nu1,2026-01-05T10:00:00Z,visit\nu2,2026-01-05T11:00:00Z,café\n"


def test_a_latin1_byte_names_the_file_line_and_byte(tmp_path):
    message = _load_failure(tmp_path, "events.csv", LATIN1.encode("latin-1"))
    assert message == (
        f"events source {tmp_path / 'events.csv'}: line 3, byte 28 (0xe9) is not valid utf-8; "
        "if the file is in another encoding, set encoding (e.g. latin-1 or cp1252) on the "
        "events source"
    )


def test_a_bad_byte_far_down_a_large_file_is_found(tmp_path):
    body = "u1,2026-01-05T10:00:00Z,visit\n" * 700_000  # about 21 MB: more than one chunk
    data = ("user_id,timestamp,event\n" + body).encode() + b"u2,2026-01-05T11:00:00Z,\xff\n"
    message = _load_failure(tmp_path, "big.csv", data)
    assert "line 700002, byte 25 (0xff) is not valid utf-8" in message


def test_a_bad_byte_in_the_header_is_located(tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(b"user_id,timest\xe4mp,event\n")
    assert "line 1, byte 15 (0xe4) is not valid utf-8" in failure(SourceConfig(path=path))


def test_a_file_of_a_glob_is_named(tmp_path):
    (tmp_path / "a.csv").write_text("user_id,timestamp,event\nu1,2026-01-05T10:00:00Z,visit\n")
    message = _load_failure(tmp_path, "b.csv", LATIN1.encode("latin-1"), path="*.csv")
    assert f"{tmp_path / 'b.csv'} line 3, byte 28 (0xe9)" in message


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-16"])
def test_the_encoding_option_reads_the_file(tmp_path, encoding):
    path = tmp_path / "events.csv"
    path.write_bytes(LATIN1.encode(encoding))
    frame = read(SourceConfig(path=path, encoding=encoding))
    assert frame["event"].to_list() == ["visit", "café"]


def test_the_encoding_option_applies_to_gzip_and_globs(tmp_path):
    with gzip.open(tmp_path / "a.csv.gz", "wb") as stream:
        stream.write(LATIN1.encode("latin-1"))
    with gzip.open(tmp_path / "b.csv.gz", "wb") as stream:
        stream.write("user_id,timestamp,event\nu3,2026-01-06T10:00:00Z,Müll\n".encode("latin-1"))
    frame = read(SourceConfig(kind="csv", path=tmp_path / "*.csv.gz", encoding="latin-1"))
    assert frame["event"].to_list() == ["visit", "café", "Müll"]


def test_a_byte_the_encoding_cannot_decode_is_located(tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(b"user_id,event\nu1,visit\nu2,\x81x\n")  # 0x81 is undefined in cp1252
    message = failure(SourceConfig(path=path, encoding="cp1252"))
    assert message.endswith("line 3, byte 4 (0x81) is not valid cp1252")


def test_files_of_a_glob_with_different_headers_are_refused(tmp_path):
    (tmp_path / "a.csv").write_bytes(b"user_id,event\nu1,visit\n")
    (tmp_path / "b.csv").write_bytes(b"user_id,name\nu1,visit\n")
    message = failure(SourceConfig(kind="csv", path=tmp_path / "*.csv", encoding="latin-1"))
    assert "has the columns user_id, name, but" in message


# --------------------------------------------------------------------------- ragged rows


def test_a_row_with_too_many_fields_names_its_line(tmp_path):
    text = "user_id,timestamp,event\nu1,2026-01-05T10:00:00Z,visit\nu2,2026-01-05,visit,extra\n"
    message = _load_failure(tmp_path, "events.csv", text.encode())
    assert message == (
        f"events source {tmp_path / 'events.csv'}: line 3 has 4 fields, the header has 3: a "
        "value holding the separator ',' must be quoted, or the line has a field too many"
    )


def test_a_quoted_separator_is_not_ragged_and_lines_count_quoted_newlines(tmp_path):
    text = (
        'user_id,timestamp,event\nu1,2026-01-05T10:00:00Z,"visit, home"\n'
        'u2,2026-01-05T10:00:00Z,"two\nlines"\nu3,2026-01-05,visit,extra\n'
    )
    message = _load_failure(tmp_path, "events.csv", text.encode())
    assert "line 5 has 4 fields" in message


def test_a_ragged_row_in_a_latin1_file_is_located_too(tmp_path):
    text = "user_id,event\nu1,café\nu2,visit,extra\n"
    path = _write(tmp_path, text.encode("latin-1"))
    message = failure(SourceConfig(path=path, encoding="latin-1"))
    assert message.endswith(
        "line 3 has 3 fields, the header has 2: a value holding the separator ',' must be "
        "quoted, or the line has a field too many"
    )


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "events.csv"
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- sqlite files


@pytest.fixture
def sqlite_file(tmp_path) -> Path:
    import sqlite3

    path = tmp_path / "shop.sqlite"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE events (user_id TEXT, timestamp TEXT, event TEXT, n INT)")
    connection.execute("INSERT INTO events VALUES ('u1', '2026-01-05T10:00:00Z', 'visit', 3)")
    connection.commit()
    connection.close()
    return path


def test_sqlite_table_is_read(sqlite_file):
    frame = read(SourceConfig(uri=f"sqlite://{sqlite_file}", table="events"))
    assert frame.to_dicts() == [
        {"user_id": "u1", "timestamp": "2026-01-05T10:00:00Z", "event": "visit", "n": 3}
    ]


def test_a_missing_sqlite_file_is_named_and_not_created(tmp_path):
    missing = tmp_path / "nosuch.db"
    message = failure(SourceConfig(uri=f"sqlite://{missing}", table="events"))
    assert message.endswith(f"the SQLite database file {missing} does not exist")
    assert not missing.exists()
    assert list(tmp_path.iterdir()) == []


def test_sqlite_is_opened_read_only(sqlite_file):
    before = sqlite_file.read_bytes()
    query = "INSERT INTO events VALUES ('u9', '2026-01-06', 'visit', 1) RETURNING user_id"
    message = failure(SourceConfig(uri=f"sqlite://{sqlite_file}", query=query))
    assert "readonly database" in message
    assert sqlite_file.read_bytes() == before


def test_a_missing_sqlite_table_lists_the_available_ones(sqlite_file):
    message = failure(SourceConfig(uri=f"sqlite://{sqlite_file}", table="evts"))
    assert message.endswith("table evts does not exist; available tables: events")


def test_a_file_that_is_no_sqlite_database(tmp_path):
    path = _write(tmp_path, b"user_id,event\n" * 100)
    assert failure(SourceConfig(uri=f"sqlite://{path}", table="events")).endswith(
        f"{path} is not a SQLite database file"
    )


def test_a_missing_duckdb_file_is_not_created(tmp_path):
    path = tmp_path / "shop.duckdb"
    failure(SourceConfig(path=path, table="events"))
    assert list(tmp_path.iterdir()) == []


def test_duckdb_is_opened_read_only(duckdb_file):
    before = duckdb_file.read_bytes()
    query = "INSERT INTO events SELECT * FROM events RETURNING *"
    assert "read-only" in failure(SourceConfig(path=duckdb_file, query=query)).lower()
    assert duckdb_file.read_bytes() == before

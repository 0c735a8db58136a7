"""Reading CSV sources in their text encoding, and saying exactly where a file cannot be read.

UTF-8 files are scanned lazily by Polars. A file in another encoding (the source's
``encoding``) is decoded by Python's codec and read once into memory. When Polars fails on a
file (a byte that is not UTF-8, a row with more fields than the header), the file is read again
here, only then, to name the file, the line and the byte or the field count.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import polars as pl

from journeylib.config import SourceConfig

__all__ = ["is_utf8", "locate_csv_failure", "read_decoded_csv"]

_CHUNK_BYTES = 16 * 1024 * 1024
_UTF8 = codecs.lookup("utf-8").name


def is_utf8(source: SourceConfig) -> bool:
    """True when the source's text is UTF-8 (the default), which Polars reads itself."""
    return source.encoding is None or codecs.lookup(source.encoding).name in (_UTF8, "utf-8-sig")


def _open(file: Path) -> BinaryIO:
    return gzip.open(file, "rb") if file.name.lower().endswith(".gz") else open(file, "rb")


def _encoding_hint(table: str) -> str:
    return (
        "if the file is in another encoding, set encoding (e.g. latin-1 or cp1252) on the "
        f"{table} source"
    )


def _where(file: Path, source: SourceConfig) -> str:
    """``line 3`` for the source's own file, ``part-2.csv line 3`` for a file of a glob."""
    return "line" if str(file) == str(source.path) else f"{file} line"


def _undecodable(
    table: str,
    source: SourceConfig,
    file: Path,
    data: bytes,
    lines_before: int,
    error: UnicodeDecodeError,
) -> str:
    line_start = data.rfind(b"\n", 0, error.start) + 1
    line = lines_before + data.count(b"\n", 0, error.start) + 1
    byte = data[error.start : error.start + 1].hex()
    encoding = source.encoding or "utf-8"
    reason = (
        f"{_where(file, source)} {line}, byte {error.start - line_start + 1} (0x{byte}) is not "
        f"valid {encoding}"
    )
    return reason + ("; " + _encoding_hint(table) if source.encoding is None else "")


def _check_decodes(table: str, source: SourceConfig, file: Path) -> str | None:
    """The first byte of a UTF-8 ``file`` that is not UTF-8, located, or ``None``."""
    lines_before = 0
    carry = b""
    with _open(file) as stream:
        while True:
            chunk = stream.read(_CHUNK_BYTES)
            data = carry + chunk
            if chunk:
                # whole lines only: a newline byte never sits inside a UTF-8 character
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    carry = data
                    continue
                whole, carry = data[:cut], data[cut:]
            else:
                whole, carry = data, b""
            try:
                whole.decode("utf-8")
            except UnicodeDecodeError as exc:
                return _undecodable(table, source, file, whole, lines_before, exc)
            lines_before += whole.count(b"\n")
            if not chunk:
                return None


def _check_fields(source: SourceConfig, file: Path) -> str | None:
    """The first row of ``file`` with more fields than its header, located, or ``None``."""
    with _open(file) as stream:
        text = io.TextIOWrapper(stream, encoding=source.encoding or "utf-8", newline="")
        reader = csv.reader(text, delimiter=source.separator)
        header = next(reader, None)
        if header is None:
            return None
        line = reader.line_num + 1
        for row in reader:
            if len(row) > len(header):
                return (
                    f"{_where(file, source)} {line} has {len(row)} fields, the header has "
                    f"{len(header)}: a value holding the separator {source.separator!r} must be "
                    "quoted, or the line has a field too many"
                )
            line = reader.line_num + 1
    return None


def locate_csv_failure(
    table: str, source: SourceConfig, files: Sequence[Path], message: str
) -> str | None:
    """Where Polars' failure ``message`` on these files comes from, or ``None`` if not found.

    Only called after a failure: it reads the files again (undecodable bytes first, then rows
    with more fields than the header).
    """
    lowered = message.lower()
    for file in files:
        try:
            if "utf-8" in lowered or "utf8" in lowered:
                found = _check_decodes(table, source, file)
                if found:
                    return found
            if "field" in lowered or "ragged" in lowered:
                found = _check_fields(source, file)
                if found:
                    return found
        except (OSError, EOFError, UnicodeDecodeError, csv.Error):
            continue
    return None


def read_decoded_csv(table: str, source: SourceConfig, files: Sequence[Path]) -> pl.LazyFrame:
    """Read CSV files in the source's (non-UTF-8) ``encoding``; every column a string.

    Raises ``ValueError`` with a located reason when a file cannot be decoded, or when the
    files of a glob do not share their header.
    """
    frames = []
    for file in files:
        with _open(file) as stream:
            data = stream.read()
        try:
            text = data.decode(source.encoding or "utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(_undecodable(table, source, file, data, 0, exc)) from None
        try:
            frame = pl.read_csv(
                text.encode("utf-8"), separator=source.separator, infer_schema=False
            )
        except pl.exceptions.PolarsError as exc:
            located = _check_fields(source, file)
            raise ValueError(located or f"{file} cannot be read as CSV: {exc}") from None
        if frames and frame.columns != frames[0].columns:
            raise ValueError(
                f"{file} has the columns {', '.join(frame.columns)}, but {files[0]} has "
                f"{', '.join(frames[0].columns)}"
            )
        frames.append(frame)
    return pl.concat(frames).lazy()

"""The data-quality records of validation: what was read, kept, quarantined, and why.

Frozen values only; :mod:`journeylib.validate` fills them from one pass over each table.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import polars as pl

__all__ = ["DataQuality", "Example", "RuleViolation", "TableQuality"]

RowUnit = Literal["line", "row"]
_MAX_VALUE_CHARS = 60
NOT_CONFIGURED = "not configured (its KPIs will be reported as not available)"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _show_value(value: str | None) -> str:
    if value is None:
        return "null"
    if len(value) > _MAX_VALUE_CHARS:
        value = value[: _MAX_VALUE_CHARS - 3] + "..."
    return repr(value)


def _plain(value: Any) -> Any:
    """Tuples to lists, recursively, so the result is JSON-ready."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


@dataclass(frozen=True)
class Example:
    """One offending row: its line or row number, the file it came from (if known), its value."""

    row: int
    value: str | None
    file: str | None = None

    def describe(self, unit: RowUnit) -> str:
        """``line 3 'yesterday'``, or ``part-2.csv line 3 'yesterday'`` (multi-file sources)."""
        where = f"{unit} {self.row}"
        if self.file is not None:
            where = f"{self.file} {where}"
        return f"{where} {_show_value(self.value)}"


@dataclass(frozen=True)
class RuleViolation:
    """How many rows broke one rule on one column, with up to five examples."""

    rule: str
    column: str
    source_column: str
    count: int
    examples: tuple[Example, ...] = ()
    unit: RowUnit = "row"

    def __str__(self) -> str:
        where = self.column
        if self.source_column != self.column:
            where += f" (source column '{self.source_column}')"
        shown = ", ".join(example.describe(self.unit) for example in self.examples)
        more = ", ..." if self.count > len(self.examples) else ""
        return f"{self.rule}: {where}, {_plural(self.count, 'row')}: {shown}{more}"


@dataclass(frozen=True)
class TableQuality:
    """The outcome of validating one table.

    ``rows_read == rows_kept + rows_quarantined + duplicates_removed`` always holds.
    """

    table: str
    location: str
    rows_read: int
    rows_kept: int
    rows_quarantined: int
    duplicates_removed: int
    issues: tuple[RuleViolation, ...] = ()
    notes: tuple[str, ...] = ()
    #: what makes the table unusable for the journey (e.g. no configured role occurs in it)
    problems: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        """True when no row was quarantined."""
        return self.rows_quarantined == 0

    def summary_lines(self) -> list[str]:
        """The table's part of :meth:`DataQuality.summary`."""
        duplicates = _plural(self.duplicates_removed, "duplicate")
        lines = [
            f"{self.table} ({self.location})",
            f"  rows: {self.rows_read} read, {self.rows_kept} kept, "
            f"{self.rows_quarantined} quarantined, {duplicates} removed",
        ]
        lines += [f"  problem: {problem}" for problem in self.problems]
        lines += [f"  {issue}" for issue in self.issues]
        lines += [f"  note: {note}" for note in self.notes]
        return lines


@dataclass(frozen=True)
class DataQuality:
    """Data quality of a whole journey: one :class:`TableQuality` per configured table.

    Examples
    --------
    >>> quality = DataQuality(tables=(), missing=("spend",))
    >>> print(quality.summary())
    Data quality: 0 tables checked, 0 rows quarantined
    spend: not configured (its KPIs will be reported as not available)
    """

    tables: tuple[TableQuality, ...]
    missing: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        """True when no table quarantined a row."""
        return all(table.clean for table in self.tables)

    @property
    def rows_quarantined(self) -> int:
        """Quarantined rows over all tables."""
        return sum(table.rows_quarantined for table in self.tables)

    @property
    def problems(self) -> tuple[str, ...]:
        """What makes the data unusable for the journey, ``"<table>: <problem>"`` each."""
        return tuple(f"{t.table}: {problem}" for t in self.tables for problem in t.problems)

    def table(self, name: str) -> TableQuality:
        """The quality record of one table (``KeyError`` when it was not validated)."""
        for table in self.tables:
            if table.table == name:
                return table
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready): ``clean``, ``rows_quarantined``, ``problems``, ``tables``,
        ``missing``."""
        return {
            "clean": self.clean,
            "rows_quarantined": self.rows_quarantined,
            "problems": list(self.problems),
            "tables": [_plain(asdict(table)) for table in self.tables],
            "missing": list(self.missing),
        }

    def to_frame(self) -> pl.DataFrame:
        """One row per table and rule (a clean table has one row with a null rule)."""
        records = []
        for table in self.tables:
            base = {
                "table": table.table,
                "location": table.location,
                "rows_read": table.rows_read,
                "rows_kept": table.rows_kept,
                "rows_quarantined": table.rows_quarantined,
                "duplicates_removed": table.duplicates_removed,
            }
            if not table.issues:
                records.append(
                    {
                        **base,
                        "rule": None,
                        "column": None,
                        "source_column": None,
                        "count": 0,
                        "examples": None,
                    }
                )
            for issue in table.issues:
                shown = ", ".join(e.describe(issue.unit) for e in issue.examples)
                records.append(
                    {
                        **base,
                        "rule": issue.rule,
                        "column": issue.column,
                        "source_column": issue.source_column,
                        "count": issue.count,
                        "examples": shown,
                    }
                )
        schema = {
            "table": pl.String, "location": pl.String, "rows_read": pl.Int64,
            "rows_kept": pl.Int64, "rows_quarantined": pl.Int64,
            "duplicates_removed": pl.Int64, "rule": pl.String, "column": pl.String,
            "source_column": pl.String, "count": pl.Int64, "examples": pl.String,
        }  # fmt: skip
        return pl.DataFrame(records, schema=schema, orient="row")

    def summary(self) -> str:
        """A plain-text report for a terminal: per table the counts, each rule, the notes."""
        tables = _plural(len(self.tables), "table")
        lines = [f"Data quality: {tables} checked, {self.rows_quarantined} rows quarantined"]
        if self.problems:
            lines[0] += f", {_plural(len(self.problems), 'problem')}"
        for table in self.tables:
            lines += table.summary_lines()
        lines += [f"{name}: {NOT_CONFIGURED}" for name in self.missing]
        return "\n".join(lines)

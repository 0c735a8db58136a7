"""Validation of a source table against the canonical schema, and the data-quality summary."""

from __future__ import annotations

from journeylib.validate._convert import value_name
from journeylib.validate.table import (
    DataQuality,
    Example,
    RuleViolation,
    TableQuality,
    ValidatedTable,
    missing_tables,
    validate_table,
)

__all__ = [
    "DataQuality",
    "Example",
    "RuleViolation",
    "TableQuality",
    "ValidatedTable",
    "missing_tables",
    "validate_table",
    "value_name",
]

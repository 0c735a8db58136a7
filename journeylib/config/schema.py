"""The canonical tables of the data contract (docs/kpis.md#inputs).

Every source is mapped onto these tables. A column not listed here is a *dimension*
(channel, platform, country, variant, ...) and is kept as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

__all__ = [
    "ROLES",
    "SURVEY_KINDS",
    "TABLES",
    "Column",
    "TableSpec",
    "is_known_role",
]

UTC_DATETIME = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class Column:
    """One canonical column: its name, its type after loading, and what kind of value it is."""

    name: str
    dtype: pl.DataType
    kind: str  # "string", "datetime", "date", "float", "int"
    required: bool


@dataclass(frozen=True)
class TableSpec:
    """A canonical table: its columns in order, and whether the journey needs it."""

    name: str
    columns: tuple[Column, ...]
    mandatory: bool

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if not c.required)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _c(name: str, dtype: pl.DataType, kind: str, required: bool = False) -> Column:
    return Column(name, dtype, kind, required)


TABLES: dict[str, TableSpec] = {
    "events": TableSpec(
        "events",
        (
            _c("user_id", pl.String(), "string", required=True),
            _c("timestamp", UTC_DATETIME, "datetime", required=True),
            _c("event", pl.String(), "string", required=True),
            _c("session_id", pl.String(), "string"),
            _c("revenue", pl.Float64(), "float"),
        ),
        mandatory=True,
    ),
    "spend": TableSpec(
        "spend",
        (
            _c("date", pl.Date(), "date", required=True),
            _c("channel", pl.String(), "string", required=True),
            _c("cost", pl.Float64(), "float", required=True),
            _c("campaign", pl.String(), "string"),
            _c("impressions", pl.Int64(), "int"),
            _c("clicks", pl.Int64(), "int"),
        ),
        mandatory=False,
    ),
    "surveys": TableSpec(
        "surveys",
        (
            _c("user_id", pl.String(), "string", required=True),
            _c("timestamp", UTC_DATETIME, "datetime", required=True),
            _c("survey", pl.String(), "string", required=True),
            _c("score", pl.Float64(), "float", required=True),
        ),
        mandatory=False,
    ),
    "tickets": TableSpec(
        "tickets",
        (
            _c("ticket_id", pl.String(), "string", required=True),
            _c("opened_at", UTC_DATETIME, "datetime", required=True),
            _c("user_id", pl.String(), "string"),
            _c("resolved_at", UTC_DATETIME, "datetime"),
            _c("contacts", pl.Int64(), "int"),
            _c("handle_minutes", pl.Float64(), "float"),
        ),
        mandatory=False,
    ),
}

#: Survey kinds and their fixed scales (CES takes its scale from the config).
SURVEY_KINDS: dict[str, tuple[float, float] | None] = {"nps": (0, 10), "csat": (1, 5), "ces": None}

#: The roles a config maps event names onto. ``feature:<name>`` is open-ended.
ROLES: tuple[str, ...] = (
    "visit",
    "lead",
    "signup",
    "trial_start",
    "activation",
    "product_view",
    "add_to_cart",
    "checkout",
    "payment_failed",
    "purchase",
    "referral",
    "review",
    "engage",
)


def is_known_role(name: str) -> bool:
    """True for a role of the data contract, including ``feature:<name>``."""
    if name.startswith("feature:"):
        return len(name) > len("feature:")
    return name in ROLES

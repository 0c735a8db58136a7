"""Validation of a source table against the canonical schema (docs/kpis.md#inputs).

A source arrives with its own column names and types. :func:`validate_table` maps them onto the
canonical table, converts every canonical column to its canonical dtype, and checks each row
against named rules. Rows that break a rule go to a quarantine (in their source form, with their
line or row number and the rules they broke); exact duplicate events are removed and counted;
nothing is dropped silently: ``rows_read == rows_kept + rows_quarantined + duplicates_removed``.
The counts and examples of every rule come from one pass over the data; the validated data stays
lazy.

Examples
--------
>>> import polars as pl
>>> from journeylib.config import config_from_dict
>>> config = config_from_dict({"name": "shop", "sources": {"events": {"path": "e.parquet"}}})
>>> frame = pl.LazyFrame({"user_id": [1, 2], "timestamp": ["2026-01-05T10:00:00Z", "soon"],
...                       "event": ["visit", "visit"]})
>>> validated = validate_table("events", frame, config.sources.events, config)
>>> print(validated.quality.issues[0])
unparseable_timestamp: timestamp, 1 row: row 2 'soon'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import polars as pl

from journeylib.config import JourneyConfig, SourceConfig
from journeylib.config.schema import TABLES
from journeylib.errors import SchemaError, did_you_mean
from journeylib.validate._convert import (
    Check,
    ColumnPlan,
    UnusableColumnError,
    plan_column,
    value_name,
)
from journeylib.validate._quality import (
    DataQuality,
    Example,
    RowUnit,
    RuleViolation,
    TableQuality,
)
from journeylib.validate._rules import normalise_survey, value_rules

__all__ = [
    "DataQuality",
    "Example",
    "RuleViolation",
    "TableQuality",
    "ValidatedTable",
    "missing_tables",
    "validate_table",
]

_ROW = "__jl_row"
_BAD = "__jl_bad"
_EXAMPLES = 5
#: Distinct event names kept with the validated events (more: the names are not kept).
EVENT_NAMES_KEPT = 10_000
#: Values of the event column shown when no configured role occurs in it.
_SHOWN_VALUES = 5


@dataclass(frozen=True)
class ValidatedTable:
    """A validated table: the valid rows (lazy), the quarantined rows (lazy) and the quality.

    For the events table, ``event_names`` holds the distinct event names of the valid rows
    (``None`` when there are more than :data:`EVENT_NAMES_KEPT`) and ``roles_present`` the
    mapped roles at least one of whose event names occurs; both are ``None`` for other tables.
    """

    data: pl.LazyFrame
    quarantine: pl.LazyFrame
    quality: TableQuality
    event_names: frozenset[str] | None = None
    roles_present: frozenset[str] | None = None


def missing_tables(config: JourneyConfig) -> tuple[str, ...]:
    """The optional canonical tables the config does not configure.

    Examples
    --------
    >>> from journeylib.config import config_from_dict
    >>> config = config_from_dict({"name": "x", "sources": {"events": {"path": "e.csv"}}})
    >>> missing_tables(config)
    ('spend', 'surveys', 'tickets')
    """
    present = config.sources.present()
    return tuple(name for name in TABLES if name not in present)


def _missing_problem(canonical: str, source_name: str, available: list[str]) -> str:
    suggestion = did_you_mean(source_name, available) or did_you_mean(canonical, available)
    return (
        f"missing required column '{canonical}' (looked for source column '{source_name}'); "
        f"available: {', '.join(available) or '(none)'}{suggestion}"
    )


def _plan(
    table: str,
    schema: pl.Schema,
    source: SourceConfig,
    config: JourneyConfig,
    file_column: str | None,
) -> tuple[dict[str, ColumnPlan], list[str]]:
    """Plan every canonical column present; raise SchemaError listing every problem."""
    spec = TABLES[table]
    available = [name for name in schema.names() if name != file_column]
    problems: list[str] = []
    plans: dict[str, ColumnPlan] = {}
    for column in spec.columns:
        source_name = source.source_column(column.name)
        if source_name not in schema:
            if column.required:
                problems.append(_missing_problem(column.name, source_name, available))
            continue
        try:
            plans[column.name] = plan_column(
                column, source_name, schema[source_name], source, config
            )
        except UnusableColumnError as exc:
            problems.append(f"column '{column.name}' (source column '{source_name}'): {exc}")
    mapped = {plan.source_column for plan in plans.values()}
    dimensions = [name for name in available if name not in mapped]
    for name in dimensions:
        if name in plans:
            problems.append(
                f"column '{name}' has a canonical name but {name} is mapped from source column "
                f"'{plans[name].source_column}'; rename or drop '{name}' at the source"
            )
    if problems:
        raise SchemaError(table, source.location, problems)
    if "survey" in plans:
        plans["survey"] = normalise_survey(plans["survey"])
    return plans, dimensions


def _quality_aggregations(
    checks: list[Check], plans: dict[str, ColumnPlan], outputs: list[str], dedupe: bool,
    file_column: str | None,
) -> list[pl.Expr]:  # fmt: skip
    aggregations = [pl.len().alias("rows_read"), pl.col(_BAD).sum().alias("rows_quarantined")]
    for index, check in enumerate(checks):
        flag = pl.col(f"__jl_flag_{index}")
        aggregations += [
            flag.sum().alias(f"count_{index}"),
            pl.col(_ROW).filter(flag).head(_EXAMPLES).implode().alias(f"rows_{index}"),
            check.value.filter(flag).head(_EXAMPLES).implode().alias(f"values_{index}"),
        ]
        if file_column is not None:
            files = pl.col(file_column).cast(pl.String).filter(flag).head(_EXAMPLES)
            aggregations.append(files.implode().alias(f"files_{index}"))
    for name, plan in plans.items():
        if plan.naive_count is not None and plan.ambiguous is not None:
            ambiguous = plan.ambiguous & ~pl.col(_BAD)
            shown = pl.col(plan.source_column).cast(pl.String)
            aggregations += [
                plan.naive_count.alias(f"naive_{name}"),
                ambiguous.sum().alias(f"ambiguous_{name}"),
                pl.col(_ROW).filter(ambiguous).first().alias(f"ambiguous_row_{name}"),
                shown.filter(ambiguous).first().alias(f"ambiguous_value_{name}"),
            ]
    if dedupe and "event" in plans:
        names = pl.col(value_name("event")).filter(~pl.col(_BAD))
        distinct = names.unique()
        aggregations += [
            distinct.len().alias("event_names_count"),
            distinct.sort().head(EVENT_NAMES_KEPT).implode().alias("event_names"),
        ]
    valid = (~pl.col(_BAD)).sum()
    if dedupe:
        distinct = pl.struct(outputs).filter(~pl.col(_BAD)).n_unique()
        aggregations.append((valid - distinct).alias("duplicates_removed"))
    else:
        aggregations.append(pl.lit(0).alias("duplicates_removed"))
    return aggregations


def _notes(plans: dict[str, ColumnPlan], counts: dict[str, Any], unit: RowUnit) -> tuple[str, ...]:
    notes = []
    for name, plan in plans.items():
        naive = counts.get(f"naive_{name}") or 0
        if naive:
            were = "was" if naive == 1 else "were"
            values = "value" if naive == 1 else "values"
            notes.append(
                f"{name}: {naive} {values} without a time zone {were} read as {plan.zone} time "
                f"({plan.zone_origin})"
            )
        ambiguous = counts.get(f"ambiguous_{name}") or 0
        if ambiguous:
            times = "time" if ambiguous == 1 else "times"
            example = Example(counts[f"ambiguous_row_{name}"], counts[f"ambiguous_value_{name}"])
            notes.append(
                f"{name}: {ambiguous} local {times} fell in the daylight-saving overlap of "
                f"{plan.zone} and took the earlier instant (e.g. {example.describe(unit)})"
            )
    return tuple(notes)


def _issues(
    checks: list[Check], counts: dict[str, Any], unit: RowUnit, file_column: str | None
) -> tuple[RuleViolation, ...]:
    issues = []
    for index, check in enumerate(checks):
        count = counts[f"count_{index}"]
        if not count:
            continue
        rows, values = counts[f"rows_{index}"], counts[f"values_{index}"]
        files = counts[f"files_{index}"] if file_column else [None] * len(rows)
        examples = tuple(
            Example(row, value, PurePath(file).name if file else None)
            for row, value, file in zip(rows, values, files, strict=True)
        )
        issues.append(
            RuleViolation(check.rule, check.column, check.source_column, count, examples, unit)
        )
    return tuple(issues)


def validate_table(
    table: str,
    frame: pl.LazyFrame,
    source: SourceConfig,
    config: JourneyConfig,
    *,
    file_column: str | None = None,
    materialize: bool = False,
) -> ValidatedTable:
    """Map, convert and check one source table against its canonical schema.

    Parameters
    ----------
    table
        The canonical table: ``events``, ``spend``, ``surveys`` or ``tickets``.
    frame
        The source table with the source's own column names and types (CSV: all text).
    source
        Its source config: column mapping, ``timestamp_format``, ``timezone``, ``epoch_unit``.
    config
        The journey config (default time zone for naive timestamps, CES scale).
    file_column
        A column naming the file each row came from (Polars' ``include_file_paths``) for
        sources of several files: examples then name the file, and line or row numbers count
        within each file. The column is kept in the quarantine, not in ``data``.
    materialize
        Collect the valid rows in the same pass as the quality counts, so later analyses read
        them from memory instead of converting and checking the source again.

    Returns
    -------
    ValidatedTable
        ``data``: canonical columns (canonical dtypes) then every other column as a dimension,
        valid rows only, exact duplicate events removed; ``quarantine``: rejected rows in source
        form with ``_row`` (CSV line or 1-based row number) and ``_rule``; ``quality``.

    Raises
    ------
    SchemaError
        A required column is missing, or a column's type makes it unusable.

    Examples
    --------
    >>> from journeylib.config import config_from_dict
    >>> config = config_from_dict({"name": "x", "sources": {"events": {"path": "e.csv"}}})
    >>> frame = pl.LazyFrame({"user_id": ["u1", "u1"], "timestamp": ["2026-01-05", "2026-01-05"],
    ...                       "event": ["visit", "visit"]})
    >>> validated = validate_table("events", frame, config.sources.events, config)
    >>> validated.quality.duplicates_removed, validated.data.collect().height
    (1, 1)
    """
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")
    schema = frame.collect_schema()
    plans, dimensions = _plan(table, schema, source, config, file_column)
    unit: RowUnit = "line" if source.kind == "csv" else "row"
    first = 2 if unit == "line" else 1
    if file_column is None:
        staged = frame.with_row_index(_ROW, offset=first).with_columns(pl.col(_ROW).cast(pl.Int64))
    else:
        within_file = pl.int_range(pl.len(), dtype=pl.Int64).over(file_column) + first
        staged = frame.with_columns(within_file.alias(_ROW))
    depth = max((len(plan.stages) for plan in plans.values()), default=0)
    for level in range(depth):
        stage = {
            name: expr
            for plan in plans.values()
            if level < len(plan.stages)
            for name, expr in plan.stages[level].items()
        }
        staged = staged.with_columns(**stage)
    staged = staged.with_columns(
        plan.value.cast(plan.column.dtype).alias(value_name(name)) for name, plan in plans.items()
    )
    checks = [check for plan in plans.values() for check in plan.checks]
    checks += value_rules(plans, config)
    flags = [check.flag.fill_null(False).alias(f"__jl_flag_{i}") for i, check in enumerate(checks)]
    staged = staged.with_columns(flags).with_columns(
        pl.any_horizontal(pl.lit(False), *(f"__jl_flag_{i}" for i in range(len(checks)))).alias(
            _BAD
        )
    )
    outputs = [pl.col(value_name(name)).alias(name) for name in plans] + dimensions
    data = staged.filter(~pl.col(_BAD)).select(outputs)
    dedupe = table == "events"
    if dedupe:
        data = data.unique(maintain_order=True)
    rule_labels = [
        pl.when(pl.col(f"__jl_flag_{i}")).then(pl.lit(f"{check.rule}({check.column})"))
        for i, check in enumerate(checks)
    ]
    rule_text = pl.concat_str(rule_labels, separator=", ", ignore_nulls=True) if checks else None
    quarantine = staged.filter(pl.col(_BAD)).select(
        *schema.names(),
        pl.col(_ROW).alias("_row"),
        (rule_text if rule_text is not None else pl.lit(None, pl.String)).alias("_rule"),
    )
    aggregations = _quality_aggregations(checks, plans, outputs, dedupe, file_column)
    if materialize:
        collected, summary = pl.collect_all([data, staged.select(aggregations)])
        data = collected.lazy()
    else:
        summary = staged.select(aggregations).collect()
    counts = summary.row(0, named=True)
    duplicates = counts["duplicates_removed"]
    quarantined = counts["rows_quarantined"]
    event_names = roles_present = None
    role_notes: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    if "event_names" in counts:
        kept = counts["event_names"]
        if counts["event_names_count"] <= EVENT_NAMES_KEPT:
            event_names = frozenset(kept)
        found = _role_names_present(config, event_names, data)
        roles_present = frozenset(
            role for role, names in config.roles.items() if found & set(names)
        )
        if counts["rows_read"] - quarantined > 0:
            role_notes, problems = _role_findings(config, roles_present, plans["event"], kept)
    quality = TableQuality(
        table=table,
        location=source.location,
        rows_read=counts["rows_read"],
        rows_kept=counts["rows_read"] - quarantined - duplicates,
        rows_quarantined=quarantined,
        duplicates_removed=duplicates,
        issues=_issues(checks, counts, unit, file_column),
        notes=_notes(plans, counts, unit) + role_notes,
        problems=problems,
    )
    return ValidatedTable(data, quarantine, quality, event_names, roles_present)


def _role_names_present(
    config: JourneyConfig, event_names: frozenset[str] | None, data: pl.LazyFrame
) -> set[str]:
    """The roles' event names that occur: from the distinct names of the pass, or (when there
    were too many to keep) one query for the roles' names only."""
    role_names = sorted({name for names in config.roles.values() for name in names})
    if event_names is not None or not role_names:
        return set(role_names) & (event_names or set())
    present = data.filter(pl.col("event").is_in(role_names)).select(pl.col("event").unique())
    return set(present.collect()["event"].to_list())


def _role_findings(
    config: JourneyConfig, present: frozenset[str], event: ColumnPlan, values: list[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Notes on mapped roles that do not occur, or the problem that none occurs at all."""
    if not config.roles:
        return (), ()
    if not present:
        names = [name for names in config.roles.values() for name in names]
        listed = ", ".join(_shown(name) for name in names[:8]) + (", ..." if len(names) > 8 else "")
        held = ", ".join(_shown(value) for value in values[:_SHOWN_VALUES])
        more = ", ..." if len(values) > _SHOWN_VALUES else ""
        column = event.source_column
        return (), (
            f"no configured role occurs in the events: none of the roles' event names "
            f"({listed}) appears in column '{column}', which holds e.g. {held}{more}; "
            "map the roles to the event names the data uses (or map the right column to event)",
        )
    notes = []
    for role, names in config.roles.items():
        if role not in present:
            notes.append(
                f"role '{role}' ({', '.join(names)}) does not occur in the events: "
                "its KPIs and funnel steps count no one"
            )
    return tuple(notes), ()


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:37] + "...")

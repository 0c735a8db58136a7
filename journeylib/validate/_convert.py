"""Column conversion for validation: source values to canonical dtypes, and the parse rules.

Each canonical column becomes a :class:`ColumnPlan`: expressions that add the converted value
(and helper columns) to the frame, the checks that flag rows whose value cannot be converted,
and, for timestamps, the counts behind the notes (values read in a local time zone, values in a
daylight-saving overlap). A dtype that makes a whole column unusable raises ``SchemaError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from journeylib.config import JourneyConfig, SourceConfig
from journeylib.config.schema import Column

__all__ = ["Check", "ColumnPlan", "plan_column", "value_name"]

#: ISO-8601: date, optional time (``T`` or space, optional seconds and fraction), optional offset.
_ISO = (
    r"^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?"
    r"(?:\s?(?:[Zz]|[+-]\d{2}(?::?\d{2})?))?)?$"
)
_ISO_DATE = r"^\s*(\d{4}-\d{2}-\d{2})(?:[Tt ].*)?$"
_EPOCH_MICROS = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 1}
_OFFSET_FORMATS = ("%z", "%:z", "%#z", "%::z")


def value_name(column: str) -> str:
    """The internal name of a canonical column's converted value."""
    return f"__jl_value_{column}"


@dataclass(frozen=True)
class Check:
    """One rule on one column: ``flag`` is true where a row breaks it; ``value`` is shown."""

    rule: str
    column: str
    source_column: str
    flag: pl.Expr
    value: pl.Expr


@dataclass(frozen=True)
class ColumnPlan:
    """How one canonical column is converted and checked."""

    column: Column
    source_column: str
    value: pl.Expr
    stages: list[dict[str, pl.Expr]] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    naive_count: pl.Expr | None = None
    ambiguous: pl.Expr | None = None
    zone: str | None = None
    zone_origin: str | None = None


class UnusableColumnError(Exception):
    """A column's dtype cannot hold the canonical type; the message says how to fix it."""


def _blank_to_null(source: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.String:
        stripped = source.str.strip_chars()
        return pl.when(stripped != "").then(stripped)
    return source


def _as_text(source: pl.Expr) -> pl.Expr:
    return source.cast(pl.String)


def plan_column(
    column: Column,
    source_column: str,
    dtype: pl.DataType,
    source: SourceConfig,
    config: JourneyConfig,
) -> ColumnPlan:
    """Plan the conversion of ``source_column`` (of ``dtype``) to the canonical ``column``.

    Raises :class:`UnusableColumnError` when the dtype cannot hold the canonical type.
    """
    raw = pl.col(source_column)
    present = _blank_to_null(raw, dtype).is_not_null()
    shown = _as_text(raw)
    if dtype == pl.Null:  # a column with no value at all (e.g. an all-null database column)
        plan = ColumnPlan(column, source_column, raw.cast(column.dtype))
    elif column.kind == "string":
        plan = _plan_string(column, source_column, dtype)
    elif column.kind in ("float", "int"):
        plan = _plan_number(column, source_column, dtype, shown)
    elif column.kind == "date":
        plan = _plan_date(column, source_column, dtype, source, config, shown)
    else:
        plan = _plan_datetime(column, source_column, dtype, source, config, shown)
    if column.required:
        missing = ~present
        plan.checks.insert(0, Check("null_value", column.name, source_column, missing, shown))
    return plan


def _plan_string(column: Column, source_column: str, dtype: pl.DataType) -> ColumnPlan:
    raw = pl.col(source_column)
    if dtype == pl.String:
        value = raw
    elif dtype.is_integer() or isinstance(dtype, pl.Categorical | pl.Enum):
        value = raw.cast(pl.String)
    else:
        raise UnusableColumnError(
            f"expected text or whole numbers, found {dtype}; cast the column to text at the source"
        )
    return ColumnPlan(column, source_column, value)


def _plan_number(
    column: Column, source_column: str, dtype: pl.DataType, shown: pl.Expr
) -> ColumnPlan:
    raw = pl.col(source_column)
    if dtype == pl.String:
        text = _blank_to_null(raw, dtype)
        number = text.cast(pl.Float64, strict=False)
        if column.kind == "int":
            exact = text.cast(pl.Int64, strict=False)
            number = pl.coalesce(exact.cast(pl.Float64), number)
        present = text.is_not_null()
    elif dtype.is_numeric():
        number = raw.cast(pl.Float64)
        exact = raw.cast(pl.Int64, strict=False) if dtype.is_integer() else None
        text = raw
        present = raw.is_not_null()
    else:
        raise UnusableColumnError(
            f"expected numbers, found {dtype}; the column must hold numbers (or text of numbers)"
        )
    bad_number = present & (number.is_null() | ~number.is_finite())
    checks = [Check("not_a_number", column.name, source_column, bad_number, shown)]
    if column.kind == "int":
        fractional = ~bad_number & (number != number.floor())
        checks.append(Check("not_a_whole_number", column.name, source_column, fractional, shown))
        whole = number.cast(pl.Int64, strict=False)
        value = pl.coalesce(exact, whole) if dtype.is_integer() or dtype == pl.String else whole
    else:
        value = number
    value = pl.when(~bad_number).then(value)
    return ColumnPlan(column, source_column, value, checks=checks)


def _zone(source: SourceConfig, config: JourneyConfig) -> tuple[str, str]:
    if source.timezone is not None:
        return source.timezone, "the source's timezone"
    return config.timezone, "the journey's timezone"


def _plan_date(
    column: Column,
    source_column: str,
    dtype: pl.DataType,
    source: SourceConfig,
    config: JourneyConfig,
    shown: pl.Expr,
) -> ColumnPlan:
    raw = pl.col(source_column)
    if dtype == pl.Date:
        value = raw
    elif isinstance(dtype, pl.Datetime):
        zone, _ = _zone(source, config)
        local = raw.dt.convert_time_zone(zone) if dtype.time_zone else raw
        value = local.dt.date()
    elif dtype == pl.String:
        text = _blank_to_null(raw, dtype)
        value = text.str.extract(_ISO_DATE, 1).str.to_date("%Y-%m-%d", strict=False)
        if source.timestamp_format is not None:
            custom = text.str.to_datetime(source.timestamp_format, strict=False).dt.date()
            value = pl.coalesce(custom, value)
        bad = text.is_not_null() & value.is_null()
        check = Check("unparseable_date", column.name, source_column, bad, shown)
        return ColumnPlan(column, source_column, value, checks=[check])
    else:
        raise UnusableColumnError(
            f"expected dates, found {dtype}; use dates or ISO text (2026-01-31)"
        )
    return ColumnPlan(column, source_column, value)


def _epoch(number: pl.Expr, unit: str, *, integer: bool) -> pl.Expr:
    if integer:
        micros = number.cast(pl.Int64) // 1_000 if unit == "ns" else number.cast(pl.Int64)
        micros = micros * _EPOCH_MICROS[unit] if unit != "ns" else micros
    else:
        scale = _EPOCH_MICROS[unit] / (1_000 if unit == "ns" else 1)
        micros = (number * scale).round().cast(pl.Int64, strict=False)
    return micros.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


def _iso_parts(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Split ISO text into a naive local datetime and a UTC offset in minutes (null if none).

    Built from slices and one non-capturing regex (captures are several times slower):
    ``2026-01-31``, ``2026-01-31 09:30``, ``2026-01-31T09:30:00.123+01:00``, ``...Z``.
    """
    well_formed = text.str.contains(_ISO)
    length = text.str.len_bytes()
    has_seconds = text.str.slice(16, 1) == ":"
    clock = pl.when(length >= 16).then(text.str.slice(11, 5)).otherwise(pl.lit("00:00"))
    seconds = pl.when(has_seconds).then(text.str.slice(17, 2)).otherwise(pl.lit("00"))
    main = pl.concat_str([text.str.slice(0, 10), pl.lit(" "), clock, pl.lit(":"), seconds])
    whole = pl.when(well_formed).then(main)
    whole = whole.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us")
    after = (
        pl.when(length <= 10)
        .then(pl.lit(""))
        .when(has_seconds)
        .then(text.str.slice(19))
        .otherwise(text.str.slice(16))
    )
    zone = after.str.strip_chars_start(".0123456789")
    fraction = after.str.head(after.str.len_bytes() - zone.str.len_bytes())
    fraction_seconds = pl.concat_str([pl.lit("0"), fraction]).cast(pl.Float64, strict=False)
    local = whole + pl.duration(microseconds=(fraction_seconds * 1e6).round().cast(pl.Int64))
    zone = zone.str.strip_chars().str.replace(":", "", literal=True)
    sign = pl.when(zone.str.starts_with("-")).then(-1).otherwise(1)
    hours = zone.str.slice(1, 2).cast(pl.Int64, strict=False)
    minutes = zone.str.slice(3, 2).cast(pl.Int64, strict=False).fill_null(0)
    offset = (
        pl.when(zone == "")
        .then(None)
        .when(zone.str.to_lowercase() == "z")
        .then(0)
        .otherwise(sign * (hours * 60 + minutes))
    )
    return local, pl.when(local.is_not_null()).then(offset)


def _plan_datetime(
    column: Column,
    source_column: str,
    dtype: pl.DataType,
    source: SourceConfig,
    config: JourneyConfig,
    shown: pl.Expr,
) -> ColumnPlan:
    """Timestamps in stages, each materialised once: text, ISO parts, naive/aware, localised."""
    raw = pl.col(source_column)
    name = column.name
    zone, origin = _zone(source, config)
    text_name, local_name, offset_name = (
        f"__jl_{part}_{name}" for part in ("text", "local", "offset")
    )
    naive_name, localised_name = f"__jl_naive_{name}", f"__jl_localised_{name}"
    stages: list[dict[str, pl.Expr]] = []
    naive: pl.Expr | None = None
    aware: pl.Expr | None = None
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone:
            aware = raw.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        else:
            naive = raw.dt.cast_time_unit("us")
    elif dtype == pl.Date:
        naive = raw.cast(pl.Datetime("us"))
    elif dtype.is_numeric():
        if source.epoch_unit is None:
            raise UnusableColumnError(
                f"expected datetimes, found numbers ({dtype}); if they are epoch times, set "
                f"epoch_unit (s, ms, us or ns) on the {name} source"
            )
        aware = _epoch(raw, source.epoch_unit, integer=dtype.is_integer())
    elif dtype == pl.String:
        text, fast_name = pl.col(text_name), f"__jl_fast_{name}"
        # The common shape (seconds, no fraction, no offset) parses on Polars' fast path; the
        # general ISO parser then only sees the other rows (null elsewhere, hence cheap).
        fast = text.str.replace("T", " ", literal=True, n=1).str.to_datetime(
            "%Y-%m-%d %H:%M:%S", strict=False, time_unit="us"
        )
        local, offset = _iso_parts(pl.when(pl.col(fast_name).is_null()).then(text))
        stages += [
            {text_name: _blank_to_null(raw, dtype)},
            {fast_name: fast},
            {local_name: pl.coalesce(pl.col(fast_name), local), offset_name: offset},
        ]
        local, offset = pl.col(local_name), pl.col(offset_name)
        naive = pl.when(offset.is_null()).then(local)
        aware = (local - pl.duration(minutes=offset)).dt.replace_time_zone("UTC")
        if source.timestamp_format is not None:
            custom = text.str.to_datetime(source.timestamp_format, strict=False, time_unit="us")
            if any(code in source.timestamp_format for code in _OFFSET_FORMATS):
                aware = pl.coalesce(custom.dt.convert_time_zone("UTC"), aware)
                naive = pl.when(custom.is_null()).then(naive)
            else:
                naive = pl.coalesce(custom, naive)
                aware = pl.when(custom.is_null()).then(aware)
        if source.epoch_unit is not None:
            digits = text.str.contains(r"^-?\d+$")
            integer = pl.when(digits).then(text.cast(pl.Int64, strict=False))
            whole = _epoch(integer, source.epoch_unit, integer=True)
            decimal = _epoch(text.cast(pl.Float64, strict=False), source.epoch_unit, integer=False)
            aware = pl.coalesce(aware, whole, decimal)
    else:
        raise UnusableColumnError(
            f"expected datetimes, found {dtype}; use datetimes, ISO-8601 text "
            "(2026-01-31T09:30:00Z) or epoch numbers with epoch_unit"
        )
    value = aware if aware is not None else pl.lit(None, dtype=pl.Datetime("us", "UTC"))
    checks: list[Check] = []
    naive_count = ambiguous = None
    if naive is not None:
        naive_col, localised = pl.col(naive_name), pl.col(localised_name)
        stages.append({naive_name: naive})
        stages.append(
            {
                localised_name: naive_col.dt.replace_time_zone(
                    zone, ambiguous="earliest", non_existent="null"
                )
            }
        )
        value = pl.coalesce(value, localised.dt.convert_time_zone("UTC"))
        gap = naive_col.is_not_null() & localised.is_null()
        checks.append(Check("nonexistent_local_time", name, source_column, gap, shown))
        strict = naive_col.dt.replace_time_zone(zone, ambiguous="null", non_existent="null")
        ambiguous = localised.is_not_null() & strict.is_null()
        naive_count = naive_col.is_not_null().sum()
    if dtype == pl.String:
        bad = pl.col(text_name).is_not_null() & pl.col(value_name(name)).is_null()
        if naive is not None:
            bad = bad & pl.col(naive_name).is_null()
        checks.insert(0, Check("unparseable_timestamp", name, source_column, bad, shown))
    return ColumnPlan(
        column, source_column, value, stages, checks, naive_count, ambiguous, zone, origin
    )

"""The journey config (``journey.yml``): pydantic models and loading with located errors.

One YAML file describes one company's journey: where each canonical table comes from and how
its columns map, the time zone, which event names play which role, the stages and their KPIs,
funnels, targets and weights. Unknown keys are errors (a typo never passes silently); every
error names the file, the line and the key path; paths resolve relative to the config file.

Examples
--------
>>> from journeylib.config import load_config
>>> config = load_config("data/sample/journey.yml")  # doctest: +SKIP
>>> config.sources.events.kind  # doctest: +SKIP
'parquet'
"""

from __future__ import annotations

import codecs
import os
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    BeforeValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from journeylib.config.located import (
    KeyLines,
    StrictModel,
    read_located_yaml,
    validate_located,
)
from journeylib.config.schema import TABLES, is_known_role
from journeylib.config.stages import DEFAULT_STAGES, is_known_kpi
from journeylib.errors import ConfigError, did_you_mean
from journeylib.periods import format_duration, parse_duration, parse_window

__all__ = [
    "CesScale",
    "FunnelConfig",
    "JourneyConfig",
    "SourceConfig",
    "SourcesConfig",
    "StageConfig",
    "SurveysConfig",
    "config_from_dict",
    "load_config",
]

SourceKind = Literal["csv", "parquet", "duckdb", "sql"]
_ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _to_duration(value: Any) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise PydanticCustomError("duration", str(exc)) from None


def _to_window(value: Any) -> timedelta:
    try:
        return parse_window(value)
    except ValueError as exc:
        raise PydanticCustomError("window", str(exc)) from None


Duration = Annotated[timedelta, BeforeValidator(_to_duration)]
#: A conversion window: above 0 and at most ``MAX_WINDOW`` (ten years).
Window = Annotated[timedelta, BeforeValidator(_to_window)]
StepName = Annotated[str, Field(min_length=1)]


class SourceConfig(StrictModel):
    """Where one canonical table comes from, and how its columns map onto it.

    ``kind`` is inferred when left out: ``sql`` when ``uri`` is given, ``duckdb`` for a
    ``.duckdb``/``.db`` path, ``csv`` for ``.csv``/``.csv.gz``, else ``parquet`` (a file, a glob
    or a hive-partitioned folder). ``encoding`` (CSV only, default UTF-8) names the text
    encoding of the file, e.g. ``latin-1`` or ``cp1252``.
    """

    kind: SourceKind | None = None
    path: Path | None = None
    table: str | None = None
    query: str | None = None
    uri: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    timestamp_format: str | None = None
    timezone: str | None = None
    epoch_unit: Literal["s", "ms", "us", "ns"] | None = None
    separator: str = Field(default=",", min_length=1, max_length=1)
    encoding: str | None = None

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str | None) -> str | None:
        return None if value is None else valid_timezone(value)

    @field_validator("encoding")
    @classmethod
    def _check_encoding(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return codecs.lookup(value).name
        except LookupError:
            raise PydanticCustomError(
                "encoding",
                "unknown text encoding '{value}'; use a Python codec name such as utf-8, "
                "latin-1, cp1252 or utf-16",
                {"value": value},
            ) from None

    @field_validator("path", mode="before")
    @classmethod
    def _resolve_path(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return None
        base = (info.context or {}).get("base_dir")
        path = Path(os.path.expanduser(str(value)))
        if base is not None and not path.is_absolute():
            path = Path(base) / path
        return path

    @model_validator(mode="after")
    def _check_kind(self) -> SourceConfig:
        kind = self.kind or _infer_kind(self)
        if kind in ("csv", "parquet") and self.path is None:
            raise PydanticCustomError("source", "a {kind} source needs 'path'", {"kind": kind})
        if kind in ("csv", "parquet") and (self.table or self.query or self.uri):
            raise PydanticCustomError(
                "source",
                "a {kind} source takes 'path' only, not 'table', 'query' or 'uri'",
                {"kind": kind},
            )
        if kind == "duckdb" and self.path is None:
            raise PydanticCustomError("source", "a duckdb source needs 'path' (the database file)")
        if kind == "sql" and not self.uri:
            raise PydanticCustomError(
                "source", "a sql source needs 'uri', e.g. postgresql://user@host:5432/db"
            )
        if self.encoding is not None and kind != "csv":
            raise PydanticCustomError(
                "source",
                "'encoding' applies to csv sources only, not to a {kind} source",
                {"kind": kind},
            )
        if kind in ("duckdb", "sql") and bool(self.table) == bool(self.query):
            raise PydanticCustomError(
                "source", "a {kind} source needs exactly one of 'table' or 'query'", {"kind": kind}
            )
        if self.kind is None:
            object.__setattr__(self, "kind", kind)
        return self

    def source_column(self, canonical: str) -> str:
        """The source's column name for a canonical column (itself when not mapped)."""
        return self.columns.get(canonical, canonical)

    def resolved_uri(self) -> str:
        """The URI with ``${VAR}`` replaced from the environment (secrets stay out of the file)."""
        if self.uri is None:
            raise ValueError("this source has no uri")

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError("<environment>", [f"uri refers to ${{{name}}}, which is not set"])
            return os.environ[name]

        return _ENV_VAR.sub(substitute, self.uri)

    @property
    def location(self) -> str:
        """A short, secret-free description of the source for messages."""
        if self.kind == "sql":
            return f"{_redact_uri(self.uri or '')} ({self.table or 'query'})"
        if self.kind == "duckdb":
            return f"{self.path} ({self.table or 'query'})"
        return str(self.path)


def _infer_kind(source: SourceConfig) -> SourceKind:
    if source.uri:
        return "sql"
    name = str(source.path or "").lower()
    if name.endswith((".duckdb", ".db", ".ddb")):
        return "duckdb"
    if name.endswith((".csv", ".csv.gz", ".tsv")):
        return "csv"
    return "parquet"


def _redact_uri(uri: str) -> str:
    """Drop the password from ``scheme://user:password@host``."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", uri)


def valid_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder ("Europe")
        raise PydanticCustomError(
            "timezone",
            "unknown time zone '{value}'{suggestion}; use an IANA name such as Europe/Berlin",
            {"value": value, "suggestion": did_you_mean(value, available_timezones())},
        ) from None
    return value


class SourcesConfig(StrictModel):
    """The four canonical tables; only ``events`` is mandatory."""

    events: SourceConfig
    spend: SourceConfig | None = None
    surveys: SourceConfig | None = None
    tickets: SourceConfig | None = None

    @model_validator(mode="after")
    def _check_column_mappings(self) -> SourcesConfig:
        for table in TABLES:
            source = getattr(self, table)
            if source is None:
                continue
            spec = TABLES[table]
            unknown = [c for c in source.columns if c not in spec.names]
            if unknown:
                raise PydanticCustomError(
                    "columns",
                    "{table}.columns maps '{column}', which is not a canonical {table} column; "
                    "canonical columns: {names} (any other column is kept as a dimension "
                    "under its own name)",
                    {"table": table, "column": unknown[0], "names": ", ".join(spec.names)},
                )
        return self

    def present(self) -> dict[str, SourceConfig]:
        """The configured sources by table name."""
        return {t: getattr(self, t) for t in TABLES if getattr(self, t) is not None}


class CesScale(StrictModel):
    """The customer effort score scale; stored with every CES value."""

    min: float = 1
    max: float = 7
    higher_is_better: bool = True

    @model_validator(mode="after")
    def _check_range(self) -> CesScale:
        if self.min >= self.max:
            raise PydanticCustomError("scale", "ces scale needs min < max")
        return self


class SurveysConfig(StrictModel):
    """Survey settings: NPS is 0-10 and CSAT 1-5 by definition; CES is configurable."""

    ces: CesScale = Field(default_factory=CesScale)


class StageConfig(StrictModel):
    """One journey stage: its name, the KPIs it holds, and its weight in the overall score."""

    name: str = Field(min_length=1)
    kpis: list[str] = Field(default_factory=list)
    weight: float = Field(default=1.0, ge=0)

    @field_validator("kpis")
    @classmethod
    def _check_kpis(cls, kpis: list[str]) -> list[str]:
        for kpi in kpis:
            if not is_known_kpi(kpi):
                raise PydanticCustomError(
                    "kpi",
                    "unknown KPI '{kpi}'{suggestion}; see the glossary for the KPI names",
                    {"kpi": kpi, "suggestion": did_you_mean(kpi, _all_kpis())},
                )
        return kpis


def _all_kpis() -> set[str]:
    return {k for kpis in DEFAULT_STAGES.values() for k in kpis}


def _default_stages() -> list[StageConfig]:
    return [StageConfig(name=name, kpis=list(kpis)) for name, kpis in DEFAULT_STAGES.items()]


class FunnelConfig(StrictModel):
    """A named funnel: ordered steps (roles or event names) and its counting options."""

    steps: list[StepName] = Field(min_length=2)
    window: Window = timedelta(days=7)
    unit: str = Field(default="user_id", min_length=1)
    attempt: Literal["first", "best"] = "first"
    strict: bool = False
    exclude: list[StepName] = Field(default_factory=list)

    @property
    def window_text(self) -> str:
        return format_duration(self.window)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """The counting options of a funnel that sets none (every option but ``steps``).

        The one place they are written: a funnel of the config, an ad hoc funnel of the API
        or the command line and :func:`journeylib.funnel.compute_funnel` all take them here.

        Examples
        --------
        >>> FunnelConfig.defaults()["window"]
        datetime.timedelta(days=7)
        """
        return {
            name: field.get_default(call_default_factory=True)
            for name, field in cls.model_fields.items()
            if name != "steps"
        }


def _unknown_kpi(kpi: str) -> PydanticCustomError:
    return PydanticCustomError(
        "kpi",
        "unknown KPI '{kpi}'{suggestion}",
        {"kpi": kpi, "suggestion": did_you_mean(kpi, _all_kpis())},
    )


class ExperimentConfig(StrictModel):
    """A declared A/B test: the events column holding each user's variant, the KPIs it is
    read on, the control variant, the expected split (control first) and its period
    (``[start, end)`` local dates; open ends reach the data's ends).

    The report reads it (``journey_report``'s experiment section, the
    ``experiment_readout`` notebook) with :meth:`journeylib.Journey.experiment`.
    """

    variant: str = Field(min_length=1)
    kpis: list[str] = Field(min_length=1)
    control: str | None = None
    expected_split: list[float] | None = None
    start: date | None = None
    end: date | None = None

    @field_validator("kpis")
    @classmethod
    def _check_kpis(cls, kpis: list[str]) -> list[str]:
        for kpi in kpis:
            if not is_known_kpi(kpi):
                raise _unknown_kpi(kpi)
        return kpis

    @field_validator("expected_split")
    @classmethod
    def _check_split(cls, split: list[float] | None) -> list[float] | None:
        if split is not None and (len(split) < 2 or any(not share > 0 for share in split)):
            raise PydanticCustomError(
                "split",
                "expected_split needs two or more positive shares (control first), got {split}",
                {"split": split},
            )
        return split

    @model_validator(mode="after")
    def _check_period(self) -> ExperimentConfig:
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise PydanticCustomError(
                "period",
                "the experiment's period is empty: start {start} is not before end {end}",
                {"start": self.start.isoformat(), "end": self.end.isoformat()},
            )
        return self


class JourneyConfig(StrictModel):
    """A whole journey config. Build it with :func:`load_config` or :func:`config_from_dict`."""

    name: str = Field(min_length=1)
    timezone: str = "UTC"
    currency: str = Field(default="USD", min_length=3, max_length=3)
    sources: SourcesConfig
    roles: dict[str, list[str]] = Field(default_factory=dict)
    activity_roles: list[str] | None = None
    breakdown_touch: Literal["first", "last"] = "first"
    stages: list[StageConfig] = Field(default_factory=_default_stages)
    funnels: dict[str, FunnelConfig] = Field(default_factory=dict)
    experiments: dict[str, ExperimentConfig] = Field(default_factory=dict)
    targets: dict[str, float] = Field(default_factory=dict)
    kpi_weights: dict[str, float] = Field(default_factory=dict)
    surveys: SurveysConfig = Field(default_factory=SurveysConfig)
    source_file: Path | None = Field(default=None, exclude=True)

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        return valid_timezone(value)

    @field_validator("roles", mode="before")
    @classmethod
    def _roles_as_lists(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("roles")
    @classmethod
    def _check_roles(cls, roles: dict[str, list[str]]) -> dict[str, list[str]]:
        from journeylib.config.schema import ROLES

        for role, names in roles.items():
            if not is_known_role(role):
                raise PydanticCustomError(
                    "role",
                    "unknown role '{key}'{suggestion}; roles: {roles}, or feature:<name>",
                    {
                        "key": role,
                        "suggestion": did_you_mean(role, ROLES),
                        "roles": ", ".join(ROLES),
                    },
                )
            if not names:
                raise PydanticCustomError(
                    "role", "role '{key}' lists no event names", {"key": role}
                )
        return roles

    @field_validator("targets", "kpi_weights")
    @classmethod
    def _check_kpi_keys(cls, values: dict[str, float]) -> dict[str, float]:
        for kpi in values:
            if not is_known_kpi(kpi):
                raise PydanticCustomError(
                    "kpi",
                    "unknown KPI '{key}'{suggestion}",
                    {"key": kpi, "suggestion": did_you_mean(kpi, _all_kpis())},
                )
        return values

    @model_validator(mode="after")
    def _check_cross_references(self) -> JourneyConfig:
        names = [stage.name for stage in self.stages]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise PydanticCustomError(
                "stages", "stage '{name}' is listed twice", {"name": repeated[0]}
            )
        placed: dict[str, str] = {}
        for stage in self.stages:
            for kpi in stage.kpis:
                if kpi in placed:
                    raise PydanticCustomError(
                        "stages",
                        "KPI '{kpi}' is in both stage '{a}' and stage '{b}'",
                        {"kpi": kpi, "a": placed[kpi], "b": stage.name},
                    )
                placed[kpi] = stage.name
        for role in self.activity_roles or []:
            if role not in self.roles:
                raise PydanticCustomError(
                    "role",
                    "activity_roles names '{role}', which is not mapped under 'roles'",
                    {"role": role},
                )
        return self

    def events_for(self, role: str) -> list[str]:
        """Event names that play a role (empty when the role is not mapped)."""
        return list(self.roles.get(role, []))

    def stage_of(self, kpi: str) -> str | None:
        """The stage that holds a KPI in this journey, or ``None`` when it holds none."""
        for stage in self.stages:
            if kpi in stage.kpis:
                return stage.name
        return None


# --------------------------------------------------------------------------- loading


def load_config(path: str | os.PathLike[str]) -> JourneyConfig:
    """Load and validate a journey config file.

    Parameters
    ----------
    path
        The YAML file. Relative paths inside it resolve against its folder.

    Returns
    -------
    JourneyConfig
        The validated, frozen config.

    Raises
    ------
    ConfigError
        Listing every problem with its line and key path, e.g.
        ``journey.yml: line 7: sources.events.colums: unknown key 'colums' (did you mean
        'columns'?)``.

    Examples
    --------
    >>> config = load_config("journey.yml")  # doctest: +SKIP
    >>> config.timezone  # doctest: +SKIP
    'Europe/Berlin'
    """
    file, data, lines = read_located_yaml(
        path, error=ConfigError, top="of keys (name, sources, ...)"
    )
    return _validate(data, file=str(file), base_dir=file.resolve().parent, lines=lines)


def config_from_dict(
    data: dict[str, Any], *, base_dir: str | os.PathLike[str] | None = None
) -> JourneyConfig:
    """Validate a config given as a dict (paths resolve against ``base_dir`` or the cwd)."""
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    return _validate(dict(data), file="<config>", base_dir=base.resolve(), lines={})


def _validate(data: dict[str, Any], *, file: str, base_dir: Path, lines: KeyLines) -> JourneyConfig:
    config = validate_located(
        JourneyConfig, data, file=file, base_dir=base_dir, lines=lines, error=ConfigError
    )
    if file != "<config>":
        object.__setattr__(config, "source_file", Path(file).resolve())
    return config

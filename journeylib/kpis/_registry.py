"""The KPI registry: one :class:`KPI` record per KPI of docs/kpis.md#kpis-by-stage.

Reports, dashboards, the CLI and the glossary read a KPI's name, display label, stage, unit,
direction, inputs and doc line from here; the formula is the record's ``compute`` function.

Examples
--------
>>> kpi_label("feature_adoption_rate[dashboards]")
'Feature adoption: dashboards'
>>> kpi_title("cart_abandonment_rate")
'Cart abandonment rate (percent)'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import polars as pl

if TYPE_CHECKING:
    from journeylib.config import JourneyConfig
    from journeylib.kpis._inputs import KpiInputs

__all__ = [
    "KPI",
    "REGISTRY",
    "UNIT_WORDS",
    "Direction",
    "ExperimentKind",
    "Kind",
    "Unit",
    "get_kpi",
    "kpi_direction",
    "kpi_label",
    "kpi_title",
    "register",
    "unit_words",
]

Unit = Literal["count", "rate", "currency", "duration", "score"]
Direction = Literal["higher", "lower", "config"]
#: How the statistics treat a value: a ``rate`` is numerator / denominator of users or events
#: (Wilson interval, two-proportion z-test); a ``ratio`` is numerator / denominator of other
#: quantities (no interval); a ``count`` or ``mean`` carries no interval here.
Kind = Literal["rate", "ratio", "count", "mean", "score"]
#: How an experiment reads a KPI per randomised user: ``rate`` (a share of users: Wilson
#: interval, pooled z-test), ``mean`` (a value per user: Welch), ``ratio`` (sums whose unit is
#: not the user, such as revenue / orders: delta method). Only KPIs whose formula reads the
#: per-user table alone (``KpiInputs.user_period``) have one.
ExperimentKind = Literal["rate", "mean", "ratio"]
#: A unit as charts and tables name it (currency: the journey's code instead).
UNIT_WORDS: dict[str, str] = {
    "count": "count",
    "rate": "percent",
    "currency": "currency",
    "duration": "seconds",
    "score": "score",
}


@dataclass(frozen=True)
class KPI:
    """One KPI definition.

    Attributes
    ----------
    name
        The KPI's name as configs, reports and the CLI write it (``conversion_rate``).
    label
        The name people read, as the glossary writes it (``Conversion rate``).
    stage
        The stage it sits in by default (the config may move it).
    unit, direction, kind
        What the value is, whether higher or lower is better (``config``: the journey config
        says, see :meth:`direction_in`), and how statistics treat it.
    tables
        Canonical tables it needs (``events`` is always there; others may be missing).
    roles
        Roles it needs mapped in the config.
    columns
        Optional columns of its tables it reads, as ``table.column`` (``spend.clicks``,
        ``events.revenue``): without them the KPI is "not available", never 0.
    doc
        The one-line definition quoted by the glossary (the formula of docs/kpis.md).
    experiment
        How an experiment reads it per user (:data:`ExperimentKind`), ``None`` when it cannot.
    needs_sessions
        Whether its formula reads the sessions table (built only when a KPI needs it).
    compute
        ``(inputs) -> LazyFrame`` with ``period_start``, the breakdown columns, ``value``,
        ``numerator``, ``denominator`` (and ``kpi`` when one definition yields several, such
        as ``feature_adoption_rate[export]``).
    """

    name: str
    label: str
    stage: str
    unit: Unit
    direction: Direction
    kind: Kind
    tables: tuple[str, ...]
    roles: tuple[str, ...]
    doc: str
    compute: Callable[[KpiInputs], pl.LazyFrame]
    experiment: ExperimentKind | None = None
    columns: tuple[str, ...] = ()
    needs_sessions: bool = False

    @property
    def unit_words(self) -> str:
        """The unit in words (``percent``, ``count``, ``seconds``...)."""
        return UNIT_WORDS[self.unit]

    def direction_in(self, config: JourneyConfig) -> Literal["higher", "lower"]:
        """Whether higher or lower is better in this journey (CES: from its survey scale)."""
        if self.direction == "config":
            return "higher" if config.surveys.ces.higher_is_better else "lower"
        return self.direction

    def missing_inputs(self, inputs: KpiInputs) -> str | None:
        """Why this KPI cannot be computed on these inputs, or ``None`` when it can."""
        for table in self.tables:
            if table not in inputs.available_tables:
                return f"no {table} table is configured"
            reason = inputs.unusable_tables.get(table)
            if reason:
                return reason
        for role in self.roles:
            if not inputs.config.events_for(role):
                return f"role '{role}' is not mapped to any event in the config"
        for needed in self.columns:
            table, column = needed.split(".", 1)
            if column not in inputs.table_columns(table):
                return f"the {table} table has no column '{column}'"
        return None


REGISTRY: dict[str, KPI] = {}


def register(
    name: str,
    *,
    label: str,
    stage: str,
    unit: Unit,
    direction: Direction,
    kind: Kind,
    doc: str,
    tables: tuple[str, ...] = ("events",),
    roles: tuple[str, ...] = (),
    experiment: ExperimentKind | None = None,
    columns: tuple[str, ...] = (),
    needs_sessions: bool = False,
) -> Callable[[Callable[[KpiInputs], pl.LazyFrame]], Callable[[KpiInputs], pl.LazyFrame]]:
    """Decorator: register a KPI's formula under its name with its metadata."""

    def decorate(
        compute: Callable[[KpiInputs], pl.LazyFrame],
    ) -> Callable[[KpiInputs], pl.LazyFrame]:
        if name in REGISTRY:
            raise ValueError(f"KPI {name!r} is defined twice")
        REGISTRY[name] = KPI(
            name=name,
            label=label,
            stage=stage,
            unit=unit,
            direction=direction,
            kind=kind,
            tables=tables,
            roles=roles,
            doc=doc,
            compute=compute,
            experiment=experiment,
            columns=columns,
            needs_sessions=needs_sessions,
        )
        return compute

    return decorate


def get_kpi(name: str) -> KPI:
    """The registered KPI of that name (``feature_adoption_rate[x]`` finds the family).

    Examples
    --------
    >>> kpi = get_kpi("feature_adoption_rate[export]")
    >>> kpi.name, kpi.stage, kpi.unit, kpi.direction
    ('feature_adoption_rate', 'usage', 'rate', 'higher')
    """
    base = name.split("[", 1)[0]
    try:
        return REGISTRY[base]
    except KeyError:
        raise KeyError(f"unknown KPI {name!r}; known: {', '.join(sorted(REGISTRY))}") from None


def kpi_label(name: str) -> str:
    """The name people read of a KPI of the table (``feature_adoption_rate[x]``: its feature).

    A name the registry does not know is returned as it is.

    Examples
    --------
    >>> kpi_label("conversion_rate")
    'Conversion rate'
    """
    base, bracket, rest = name.partition("[")
    kpi = REGISTRY.get(base)
    if kpi is None:
        return name
    if bracket:
        return f"{kpi.label}: {rest.removesuffix(']')}"
    return kpi.label


def unit_words(unit: str, *, currency: str = "EUR") -> str:
    """A unit in words: ``rate`` -> ``percent``, ``currency`` -> the currency code.

    Examples
    --------
    >>> unit_words("currency", currency="USD")
    'USD'
    """
    if unit not in UNIT_WORDS:
        raise ValueError(f"unknown unit {unit!r}; expected one of {', '.join(UNIT_WORDS)}")
    return currency if unit == "currency" else UNIT_WORDS[unit]


def kpi_title(
    name: str, *, unit: str | None = None, currency: str = "EUR", shown_in: str | None = None
) -> str:
    """A KPI's label with its unit in words, for a chart title, an axis or a legend.

    ``unit`` defaults to the registry's (a name it does not know: its label alone);
    ``shown_in`` names the unit a chart plots in when it is not the stored one (durations in
    ``hours``).

    Examples
    --------
    >>> kpi_title("revenue", currency="USD")
    'Revenue (USD)'
    >>> kpi_title("avg_session_duration", shown_in="minutes")
    'Average session duration (minutes)'
    """
    if unit is None:
        kpi = REGISTRY.get(name.split("[", 1)[0])
        if kpi is None:
            return name
        unit = kpi.unit
    words = shown_in or unit_words(unit, currency=currency)
    return f"{kpi_label(name)} ({words})"


def kpi_direction(name: str, config: JourneyConfig) -> Literal["higher", "lower"]:
    """Whether higher or lower is better for a KPI of the table in this journey."""
    return get_kpi(name).direction_in(config)

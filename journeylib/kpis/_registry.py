"""The KPI registry: one :class:`KPI` record per KPI of docs/kpis.md#kpis-by-stage.

Reports, dashboards, the CLI and the glossary read a KPI's name, stage, unit, direction,
inputs and doc line from here; the formula is the record's ``compute`` function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import polars as pl

if TYPE_CHECKING:
    from journeylib.kpis._inputs import KpiInputs

__all__ = [
    "KPI",
    "REGISTRY",
    "Direction",
    "ExperimentKind",
    "Kind",
    "Unit",
    "get_kpi",
    "register",
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


@dataclass(frozen=True)
class KPI:
    """One KPI definition.

    Attributes
    ----------
    name
        The KPI's name as configs, reports and the CLI write it (``conversion_rate``).
    stage
        The stage it sits in by default (the config may move it).
    unit, direction, kind
        What the value is, whether higher or lower is better, and how statistics treat it.
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
    compute
        ``(inputs) -> LazyFrame`` with ``period_start``, the breakdown columns, ``value``,
        ``numerator``, ``denominator`` (and ``kpi`` when one definition yields several, such
        as ``feature_adoption_rate[export]``).
    """

    name: str
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
    stage: str,
    unit: Unit,
    direction: Direction,
    kind: Kind,
    doc: str,
    tables: tuple[str, ...] = ("events",),
    roles: tuple[str, ...] = (),
    experiment: ExperimentKind | None = None,
    columns: tuple[str, ...] = (),
) -> Callable[[Callable[[KpiInputs], pl.LazyFrame]], Callable[[KpiInputs], pl.LazyFrame]]:
    """Decorator: register a KPI's formula under its name with its metadata."""

    def decorate(
        compute: Callable[[KpiInputs], pl.LazyFrame],
    ) -> Callable[[KpiInputs], pl.LazyFrame]:
        if name in REGISTRY:
            raise ValueError(f"KPI {name!r} is defined twice")
        REGISTRY[name] = KPI(
            name, stage, unit, direction, kind, tables, roles, doc, compute, experiment, columns
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

"""KPI definitions (docs/kpis.md#kpis-by-stage), their registry and the KPI table.

Importing this package registers every definition; :data:`REGISTRY` maps each name to its
:class:`KPI` record (stage, unit, direction, inputs, doc line, formula).
"""

from __future__ import annotations

from journeylib.kpis import advocacy, awareness, purchase, retention, usage
from journeylib.kpis._inputs import KpiInputs, build_inputs, explain_inputs, user_key
from journeylib.kpis._registry import (
    KPI,
    REGISTRY,
    UNIT_WORDS,
    ExperimentKind,
    get_kpi,
    kpi_direction,
    kpi_label,
    kpi_title,
    unit_words,
)
from journeylib.kpis._table import (
    KPI_TABLE_COLUMNS,
    check_kpi_names,
    compare_with,
    compute_kpi_table,
    kpis_of_journey,
)

__all__ = [
    "KPI",
    "KPI_TABLE_COLUMNS",
    "REGISTRY",
    "UNIT_WORDS",
    "ExperimentKind",
    "KpiInputs",
    "build_inputs",
    "check_kpi_names",
    "compare_with",
    "compute_kpi_table",
    "explain_inputs",
    "get_kpi",
    "kpi_direction",
    "kpi_label",
    "kpi_title",
    "kpis_of_journey",
    "unit_words",
    "user_key",
]

del advocacy, awareness, purchase, retention, usage

"""Retention cohorts (docs/kpis.md#retention-cohorts), cohorts by acquisition segment, pooled
retention curves and value by cohort (the retention and churn rate per period are KPIs of
:mod:`journeylib.kpis`)."""

from __future__ import annotations

from journeylib.retention.cohorts import clv_simple, ltv_90d, retention_matrix
from journeylib.retention.segments import (
    acquisition_segments,
    pooled_retention,
    retention_by_segment,
)
from journeylib.retention.value import cohort_value

__all__ = [
    "acquisition_segments",
    "clv_simple",
    "cohort_value",
    "ltv_90d",
    "pooled_retention",
    "retention_by_segment",
    "retention_matrix",
]

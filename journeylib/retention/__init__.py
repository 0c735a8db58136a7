"""Retention cohorts and period retention (docs/kpis.md#retention-cohorts), cohorts by
acquisition segment, pooled retention curves and value by cohort."""

from __future__ import annotations

from journeylib.retention.cohorts import clv_simple, ltv_90d, period_retention, retention_matrix
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
    "period_retention",
    "pooled_retention",
    "retention_by_segment",
    "retention_matrix",
]

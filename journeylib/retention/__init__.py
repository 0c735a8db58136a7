"""Retention cohorts and period retention (KPI_DEFINITIONS.md section 4)."""

from __future__ import annotations

from journeylib.retention.cohorts import clv_simple, ltv_90d, period_retention, retention_matrix

__all__ = [
    "clv_simple",
    "ltv_90d",
    "period_retention",
    "retention_matrix",
]

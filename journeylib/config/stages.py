"""The default journey: stages and the KPIs each holds (docs/kpis.md#kpis-by-stage).

The config may rename, drop or reorder stages and move KPIs between them; the names here
are the vocabulary it may use.
"""

from __future__ import annotations

__all__ = ["DEFAULT_STAGES", "KPI_NAMES", "is_known_kpi"]

DEFAULT_STAGES: dict[str, tuple[str, ...]] = {
    "awareness": (
        "impressions",
        "clicks",
        "ctr",
        "unique_visitors",
        "new_visitors",
        "engagement_rate",
        "cost_per_lead",
    ),
    "consideration": (
        "product_view_rate",
        "add_to_cart_rate",
        "cart_abandonment_rate",
        "lead_rate",
    ),
    "purchase": (
        "conversion_rate",
        "orders",
        "revenue",
        "aov",
        "payment_success_rate",
        "cost_per_conversion",
        "cac",
        "trial_to_paid_rate",
    ),
    "onboarding": ("activation_rate", "time_to_value"),
    "usage": (
        "dau",
        "mau",
        "stickiness",
        "feature_adoption_rate",
        "avg_session_duration",
        "repeat_visit_rate",
    ),
    "retention": (
        "retention_rate",
        "churn_rate",
        "repeat_purchase_rate",
        "arpu",
        "ltv_90d",
        "clv_simple",
        "user_growth_rate",
    ),
    "advocacy": (
        "nps",
        "csat",
        "ces",
        "referral_rate",
        "review_rate",
        "first_contact_resolution",
        "avg_handling_time",
        "time_to_resolution",
    ),
}

KPI_NAMES: frozenset[str] = frozenset(k for kpis in DEFAULT_STAGES.values() for k in kpis)


def is_known_kpi(name: str) -> bool:
    """True for a KPI of docs/kpis.md#kpis-by-stage; ``feature_adoption_rate[f]`` names a feature.

    Examples
    --------
    >>> is_known_kpi("conversion_rate"), is_known_kpi("feature_adoption_rate[export]")
    (True, True)
    >>> is_known_kpi("conversion"), is_known_kpi("feature_adoption_rate[]")
    (False, False)
    """
    if name.startswith("feature_adoption_rate[") and name.endswith("]"):
        return len(name) > len("feature_adoption_rate[]")
    return name in KPI_NAMES

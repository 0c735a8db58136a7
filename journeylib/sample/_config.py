"""The journey config written next to the sample data (``journey.yml``)."""

from __future__ import annotations

from datetime import date
from typing import Any

import yaml

__all__ = ["ROLE_EVENTS", "TARGETS", "journey_config", "journey_yaml"]

#: Which company events play which role of the data contract.
ROLE_EVENTS: dict[str, list[str]] = {
    "visit": ["page_view", "landing_page_view"],
    "engage": ["scroll_75", "video_play"],
    "lead": ["newsletter_signup"],
    "signup": ["account_created"],
    "trial_start": ["trial_started"],
    "activation": ["first_project_created"],
    "product_view": ["product_viewed"],
    "add_to_cart": ["cart_add"],
    "checkout": ["checkout_started"],
    "payment_failed": ["payment_failed"],
    "purchase": ["order_completed"],
    "referral": ["referral_sent"],
    "review": ["review_posted"],
    "feature:export": ["export_clicked"],
    "feature:dashboards": ["dashboard_created"],
    "feature:sharing": ["share_clicked"],
}

#: What the company aims for: reachable for some KPIs, a stretch for others.
TARGETS: dict[str, float] = {
    "ctr": 0.02,
    "engagement_rate": 0.8,
    "product_view_rate": 0.8,
    "add_to_cart_rate": 0.45,
    "cart_abandonment_rate": 0.55,
    "conversion_rate": 0.12,
    "aov": 70.0,
    "payment_success_rate": 0.98,
    "cac": 6.0,
    "trial_to_paid_rate": 0.25,
    "activation_rate": 0.6,
    "stickiness": 0.1,
    "retention_rate": 0.45,
    "repeat_purchase_rate": 0.3,
    "nps": 30.0,
    "csat": 0.8,
    "first_contact_resolution": 0.7,
}

_HEADER = """\
# Journey config of the seeded sample company (written by journeylib.sample).
# Paths are relative to this file. STORIES.md lists what the data is known to contain.
"""


def journey_config(name: str, experiment_start: date | None = None) -> dict[str, Any]:
    """The config as a plain mapping, in the key order of the written file.

    ``experiment_start`` (the first acquisition day of the checkout A/B test, when the data
    reaches it) declares the test under ``experiments``, read from then to the data's end.
    """
    config = {
        "name": name,
        "timezone": "Europe/Berlin",
        "currency": "EUR",
        "sources": {
            "events": {
                "path": "events",
                "columns": {
                    "user_id": "customer_id",
                    "timestamp": "event_time",
                    "event": "event_name",
                    "session_id": "session",
                    "revenue": "amount",
                },
            },
            "spend": {"path": "spend.csv"},
            "surveys": {
                "path": "surveys.parquet",
                "columns": {"user_id": "customer_id", "timestamp": "answered_at"},
            },
            "tickets": {"path": "tickets.csv", "columns": {"user_id": "customer_id"}},
        },
        "roles": {role: list(events) for role, events in ROLE_EVENTS.items()},
        "funnels": {
            "main": {
                "steps": ["visit", "product_view", "add_to_cart", "checkout", "purchase"],
                "window": "7d",
            },
            "onboarding": {"steps": ["signup", "activation"], "window": "7d"},
        },
        "targets": dict(TARGETS),
        "surveys": {"ces": {"min": 1, "max": 7, "higher_is_better": True}},
    }
    if experiment_start is not None:
        config["experiments"] = {
            "checkout_test": {
                "variant": "checkout_variant",
                "kpis": ["conversion_rate", "aov"],
                "control": "control",
                "expected_split": [50, 50],
                "start": experiment_start,
            }
        }
    return config


def journey_yaml(name: str, experiment_start: date | None = None) -> str:
    """The text of ``journey.yml``."""
    body = yaml.safe_dump(
        journey_config(name, experiment_start), sort_keys=False, allow_unicode=True
    )
    return _HEADER + body

"""The sample company's design: vocabularies, behaviour rates and the ground truth of its stories.

Every number the generator uses lives here, so the documentation of the stories (STORIES.md,
stories.json) quotes the very values the data was drawn from.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CAMPAIGNS",
    "CHANNELS",
    "COUNTRIES",
    "DESIGN",
    "EVENT_NAMES",
    "PAID_CAMPAIGNS",
    "PLATFORMS",
    "VARIANTS",
    "Design",
    "event_code",
]

#: Company event names, in the order they happen inside a session.
EVENT_NAMES: tuple[str, ...] = (
    "landing_page_view",
    "page_view",
    "scroll_75",
    "video_play",
    "newsletter_signup",
    "account_created",
    "trial_started",
    "first_project_created",
    "product_viewed",
    "cart_add",
    "checkout_started",
    "payment_failed",
    "order_completed",
    "review_posted",
    "referral_sent",
    "export_clicked",
    "dashboard_created",
    "share_clicked",
)

CHANNELS: tuple[str, ...] = (
    "organic",
    "paid_search",
    "social",
    "email",
    "referral",
    "affiliate",
    "direct",
)
#: Share of acquired users per channel (summer_blast users come on top, see Design).
CHANNEL_SHARES: tuple[float, ...] = (0.30, 0.22, 0.18, 0.08, 0.07, 0.08, 0.07)

#: Campaigns: (name, channel, share within its channel, cost per click EUR, click-through rate).
CAMPAIGNS: tuple[tuple[str, str, float, float, float], ...] = (
    ("search_brand", "paid_search", 0.4, 0.90, 0.012),
    ("search_generic", "paid_search", 0.6, 1.80, 0.012),
    ("social_prospecting", "social", 0.7, 0.70, 0.036),
    ("social_retargeting", "social", 0.3, 0.90, 0.036),
    ("affiliate_network", "affiliate", 1.0, 1.20, 0.012),
    ("newsletter", "email", 1.0, 0.0, 0.0),
    ("summer_blast", "affiliate", 0.0, 1.00, 0.012),
)
#: Indexes into CAMPAIGNS of the campaigns that are bought (rows in spend.csv).
PAID_CAMPAIGNS: tuple[int, ...] = (0, 1, 2, 3, 4, 6)

PLATFORMS: tuple[str, ...] = ("web", "ios", "android")
PLATFORM_SHARES: tuple[float, ...] = (0.5, 0.25, 0.25)
COUNTRIES: tuple[str, ...] = ("DE", "FR", "NL", "AT", "BE", "ES")
COUNTRY_SHARES: tuple[float, ...] = (0.42, 0.18, 0.13, 0.11, 0.08, 0.08)
VARIANTS: tuple[str, ...] = ("control", "treatment")


def event_code(name: str) -> int:
    """The position of a company event name in :data:`EVENT_NAMES`."""
    return EVENT_NAMES.index(name)


@dataclass(frozen=True)
class Design:
    """Behaviour rates of the sample company and the ground truth of its six stories.

    Days are counted from the first day of the data (day 0), in the company's time zone.
    """

    # acquisition and sessions
    growth_over_period: float = 0.3  # acquisitions per day grow 30% from first to last day
    return_sessions_mean: float = 4.6  # mean return sessions per user (before the data ends)
    return_gap_days: float = 24.0  # mean days from acquisition to a return session
    same_channel_return: float = 0.3  # return sessions through the acquisition channel
    # session walk (per session, before the user's propensity factor)
    extra_page_views: float = 1.1
    scroll_rate: float = 0.35
    video_rate: float = 0.08
    lead_rate_first: float = 0.10
    lead_rate_later: float = 0.015
    signup_rate: float = 0.30
    trial_rate: float = 0.45
    activation_rate: float = 0.75
    quick_activation: float = 0.3
    product_view_rate: float = 0.5
    extra_product_views: float = 1.0
    add_to_cart_rate: float = 0.25
    checkout_rate: float = 0.55
    pay_rate: float = 0.75
    retry_rate: float = 0.5
    review_rate: float = 0.08
    referral_rate: float = 0.06
    feature_rates: tuple[float, float, float] = (0.18, 0.12, 0.07)  # export, dashboards, sharing
    order_median_eur: float = 55.0
    order_sigma: float = 0.6
    # story 1: social brings clicks, not buyers
    social_ctr: float = 0.036
    other_ctr: float = 0.012
    social_cart_factor: float = 0.28  # per session; about a third per user
    # story 2: payment incident on android
    incident_platform: str = "android"
    incident_first_day: int = 118
    incident_last_day: int = 122
    payment_failure: float = 0.03
    incident_payment_failure: float = 0.40
    # story 3: checkout A/B test
    test_first_day: int = 60
    test_last_day: int = 149
    treatment_lift: float = 0.10
    # story 4: NPS of users who contacted support
    nps_ticket_start: float = 20.0
    nps_ticket_end: float = -15.0
    nps_others: float = 30.0
    nps_passive_share: float = 0.25
    # story 5: weekly seasonality
    weekend_factor: float = 0.65
    # story 6: the summer_blast cohort retains worse
    blast_first_day: int = 42
    blast_last_day: int = 55
    blast_user_share: float = 0.05
    blast_return_factor: float = 0.6
    blast_gap_days: float = 14.0


DESIGN = Design()

"""The six stories the sample data carries: designed ground truth and the values realised.

The ground truth is the design (:mod:`journeylib.sample._design`); ``realised`` is measured on
the generated arrays, so a reader knows what a correct report should find at the chosen size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from journeylib.sample._design import CHANNELS, PLATFORMS, Design, event_code
from journeylib.sample._events import Events
from journeylib.sample._sessions import Population, Sessions, is_weekend

__all__ = ["Story", "build_stories"]


@dataclass(frozen=True)
class Story:
    """One pattern planted in the sample data, with the truth a report should recover.

    ``truth`` holds the designed values (dates, segment, effect size); ``realised`` the same
    quantities measured on the generated data (NaN when the draw has none, e.g. a period too
    short for the story); ``reveal`` says how a good report shows it.

    Examples
    --------
    >>> story = Story("weekly_seasonality", "Weekends are quieter", {"ratio": 0.65}, "daily dau")
    >>> story.as_dict()["truth"]
    {'ratio': 0.65}
    """

    id: str
    title: str
    truth: dict[str, Any]
    reveal: str
    realised: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The story as plain JSON-ready values."""
        return {
            "id": self.id,
            "title": self.title,
            "truth": self.truth,
            "realised": {k: None if v != v else v for k, v in self.realised.items()},
            "reveal": self.reveal,
        }


def _rate(hits: np.ndarray, mask: np.ndarray) -> float:
    total = int(mask.sum())
    return round(float(hits[mask].sum()) / total, 4) if total else float("nan")


def _session_flag(events: Events, name: str, sessions: int) -> np.ndarray:
    return np.bincount(events.session[events.code == event_code(name)], minlength=sessions) > 0


def _day(start: date, day: int) -> str:
    return (start + timedelta(days=day)).isoformat()


def build_stories(
    design: Design,
    start: date,
    days: int,
    population: Population,
    sessions: Sessions,
    events: Events,
    ctr_by_channel: dict[str, float],
    nps_of_ticket_users: tuple[float, float],
) -> tuple[Story, ...]:
    """The stories with their truth and the values measured on this draw."""
    users = population.acquired_day.size
    count = sessions.user.size
    checkout = _session_flag(events, "checkout_started", count)
    ordered = _session_flag(events, "order_completed", count)
    failed = events.code == event_code("payment_failed")
    attempt = failed | (events.code == event_code("order_completed"))
    buyer = np.bincount(events.user[events.code == event_code("order_completed")], minlength=users)
    social = population.channel == CHANNELS.index("social")

    platform = population.platform[sessions.user]
    android = platform == PLATFORMS.index(design.incident_platform)
    window = (sessions.day >= design.incident_first_day) & (
        sessions.day <= design.incident_last_day
    )
    event_android = android[events.session]
    event_window = window[events.session]
    variant = population.variant[sessions.user]

    visit_day = sessions.day[events.session[events.code <= event_code("page_view")]]
    visits_per_day = np.bincount(visit_day, minlength=days)
    weekend = is_weekend(np.arange(days), start)
    weekend_ratio = (
        visits_per_day[weekend].mean() / visits_per_day[~weekend].mean()
        if weekend.any() and (~weekend).any()
        else float("nan")
    )

    offset = sessions.day - population.acquired_day[sessions.user]
    week4 = np.zeros(users, dtype=bool)
    week4[sessions.user[(offset >= 28) & (offset < 35)]] = True
    acquired = population.acquired_day
    in_window = (acquired >= design.blast_first_day) & (acquired <= design.blast_last_day)
    others_ctr = [v for k, v in ctr_by_channel.items() if k != "social"]

    return (
        Story(
            id="social_clicks_not_buyers",
            title="Social brings clicks, not buyers",
            truth={
                "segment": "channel = social (first touch)",
                "ctr_social": design.social_ctr,
                "ctr_other_paid_channels": design.other_ctr,
                "add_to_cart_rate_factor_for_social_users": round(design.social_cart_factor, 4),
            },
            realised={
                "ctr_social": round(ctr_by_channel.get("social", float("nan")), 4),
                "ctr_other_paid_channels": round(float(np.mean(others_ctr)), 4),
                "conversion_rate_social": _rate(buyer > 0, social),
                "conversion_rate_other_channels": _rate(buyer > 0, ~social),
            },
            reveal="The awareness stage by channel shows social with about three times the CTR "
            "of paid_search and affiliate, while conversion_rate broken down by channel (first "
            "touch) shows social converting at about a third of the rest: cost per conversion "
            "of social is far above its cost per click suggests.",
        ),
        Story(
            id="android_payment_incident",
            title="Payment incident on android",
            truth={
                "segment": f"platform = {design.incident_platform}",
                "first_day": _day(start, design.incident_first_day),
                "last_day": _day(start, design.incident_last_day),
                "payment_failure_per_attempt_before": design.payment_failure,
                "payment_failure_per_attempt_during": design.incident_payment_failure,
                "retry_after_failure": design.retry_rate,
            },
            realised={
                "payment_failed_share_android_during": _rate(
                    failed, attempt & event_android & event_window
                ),
                "payment_failed_share_android_outside": _rate(
                    failed, attempt & event_android & ~event_window
                ),
                "checkout_session_to_order_android_during": _rate(
                    ordered, checkout & android & window
                ),
                "checkout_session_to_order_android_outside": _rate(
                    ordered, checkout & android & ~window
                ),
            },
            reveal="Daily payment_success_rate and the checkout -> purchase transition drop on "
            "android only during these five days; the incident detector flags the transition "
            "with android as the most affected segment, and web and ios stay flat.",
        ),
        Story(
            id="checkout_ab_test",
            title="Checkout A/B test: treatment converts better",
            truth={
                "column": "checkout_variant",
                "assignment": "50/50 for users acquired in the test window; null otherwise",
                "first_acquisition_day": _day(start, design.test_first_day),
                "last_acquisition_day": _day(start, design.test_last_day),
                "relative_lift_checkout_to_purchase_per_checkout_session": design.treatment_lift,
            },
            realised={
                "checkout_session_to_order_control": _rate(ordered, checkout & (variant == 0)),
                "checkout_session_to_order_treatment": _rate(ordered, checkout & (variant == 1)),
                "users_control": int((population.variant == 0).sum()),
                "users_treatment": int((population.variant == 1).sum()),
            },
            reveal="The experiment readout on checkout_variant shows no sample ratio mismatch "
            "and a positive lift of checkout -> purchase for treatment (about +10% relative per "
            "checkout; somewhat less per user, as users retry across sessions).",
        ),
        Story(
            id="support_users_nps_falls",
            title="NPS falls among users who contacted support",
            truth={
                "segment": "users with at least one ticket",
                "nps_ticket_users_first_day": design.nps_ticket_start,
                "nps_ticket_users_last_day": design.nps_ticket_end,
                "drift": "linear in the answer date over the whole period",
                "nps_users_without_tickets": design.nps_others,
            },
            realised={
                "nps_ticket_users_first_30_days": nps_of_ticket_users[0],
                "nps_ticket_users_last_30_days": nps_of_ticket_users[1],
            },
            reveal="NPS trended by month and split by whether the user has a ticket: the "
            "ticket users' line falls from about +20 to about -15 while the others stay near "
            "+30, so the overall NPS slips although most users are as happy as before.",
        ),
        Story(
            id="weekly_seasonality",
            title="Weekends are quieter",
            truth={
                "weekend_visits_vs_weekday": design.weekend_factor,
                "days": "Saturday and Sunday, Europe/Berlin",
            },
            realised={"weekend_visits_vs_weekday": round(float(weekend_ratio), 4)},
            reveal="Daily unique visitors and dau show a weekly saw-tooth with weekend days "
            "about 35% below weekdays; week-over-week comparisons are unaffected.",
        ),
        Story(
            id="summer_blast_cohort",
            title="The summer_blast cohort retains worse",
            truth={
                "segment": "campaign = summer_blast (channel affiliate)",
                "first_acquisition_day": _day(start, design.blast_first_day),
                "last_acquisition_day": _day(start, design.blast_last_day),
                "share_of_users": design.blast_user_share,
                "return_sessions_factor": design.blast_return_factor,
                "mean_return_gap_days": design.blast_gap_days,
                "mean_return_gap_days_others": design.return_gap_days,
            },
            realised={
                "week4_retention_summer_blast": _rate(week4, in_window & population.blast),
                "week4_retention_others_same_weeks": _rate(week4, in_window & ~population.blast),
            },
            reveal="Weekly retention cohorts broken down by campaign: the two summer_blast "
            "cohorts of late June keep about half as many users by week 4 as the other users "
            "acquired in the same weeks.",
        ),
    )

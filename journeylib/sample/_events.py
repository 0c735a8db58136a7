"""Events inside the sample company's sessions, built without a loop per user or per event.

Each session draws how many events of each kind it holds (page views, the shopping funnel,
payment attempts, sign-up, activation, feature use, ...); the events are then laid out in
:data:`EVENT_NAMES` order inside their session, seconds to minutes apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from journeylib.sample._design import CHANNELS, EVENT_NAMES, PLATFORMS, Design, event_code
from journeylib.sample._sessions import Population, Sessions

__all__ = ["Events", "draw_events"]


@dataclass(frozen=True)
class Events:
    """One entry per event, grouped by session, in time order inside each session."""

    session: np.ndarray  # index into Sessions
    user: np.ndarray
    time_us: np.ndarray
    code: np.ndarray  # index into EVENT_NAMES
    amount: np.ndarray  # EUR on order_completed, NaN elsewhere


def _bernoulli(rng: np.random.Generator, rate: np.ndarray | float, size: int) -> np.ndarray:
    return rng.random(size) < np.minimum(rate, 0.95)


def _session_counts(
    rng: np.random.Generator, population: Population, sessions: Sessions, design: Design
) -> dict[str, np.ndarray]:
    """How many events of each company event name every session holds."""
    size = sessions.user.size
    users = population.acquired_day.size
    user = sessions.user
    first = sessions.rank == 0
    later = ~first

    signup = rng.random(users) < design.signup_rate
    trial = signup & (rng.random(users) < design.trial_rate)
    activates = signup & (rng.random(users) < design.activation_rate)
    quick = rng.random(users) < design.quick_activation
    account = signup[user]

    propensity = population.propensity[user]
    social = population.channel[user] == CHANNELS.index("social")
    cart_rate = design.add_to_cart_rate * propensity
    cart_rate = np.where(social, cart_rate * design.social_cart_factor, cart_rate)
    treated = population.variant[user] == 1
    pay_rate = np.where(treated, design.pay_rate * (1 + design.treatment_lift), design.pay_rate)
    incident = (
        (population.platform[user] == PLATFORMS.index(design.incident_platform))
        & (sessions.day >= design.incident_first_day)
        & (sessions.day <= design.incident_last_day)
    )
    failure = np.where(incident, design.incident_payment_failure, design.payment_failure)

    product = _bernoulli(rng, design.product_view_rate * propensity, size)
    cart = product & _bernoulli(rng, cart_rate, size)
    checkout = cart & _bernoulli(rng, design.checkout_rate, size)
    pays = checkout & _bernoulli(rng, pay_rate, size)
    first_failed = pays & (rng.random(size) < failure)
    retried = first_failed & (rng.random(size) < design.retry_rate)
    second_failed = retried & (rng.random(size) < failure)
    ordered = (pays & ~first_failed) | (retried & ~second_failed)
    export, dashboards, sharing = (
        account & (rng.random(size) < rate) for rate in design.feature_rates
    )
    return {
        "landing_page_view": first.astype(np.int32),
        "page_view": later + rng.poisson(design.extra_page_views, size),
        "scroll_75": rng.random(size) < design.scroll_rate,
        "video_play": rng.random(size) < design.video_rate,
        "newsletter_signup": rng.random(size)
        < np.where(first, design.lead_rate_first, design.lead_rate_later),
        "account_created": first & account,
        "trial_started": first & trial[user],
        "first_project_created": activates[user]
        & ((first & quick[user]) | ((sessions.rank == 1) & ~quick[user])),
        "product_viewed": product * (1 + rng.poisson(design.extra_product_views, size)),
        "cart_add": cart * (1 + rng.poisson(0.25, size)),
        "checkout_started": checkout,
        "payment_failed": first_failed.astype(np.int32) + second_failed,
        "order_completed": ordered,
        "review_posted": ordered & (rng.random(size) < design.review_rate),
        "referral_sent": ordered & (rng.random(size) < design.referral_rate),
        "export_clicked": export,
        "dashboard_created": dashboards,
        "share_clicked": sharing,
    }


def draw_events(
    rng: np.random.Generator,
    population: Population,
    sessions: Sessions,
    design: Design,
    start: date,
) -> Events:
    """Lay out every session's events in time, with revenue on the orders."""
    counts = _session_counts(rng, population, sessions, design)
    size = sessions.user.size
    per_session = np.zeros(size, dtype=np.int64)
    for name in EVENT_NAMES:
        per_session += counts[name]
    session_offset = np.cumsum(per_session) - per_session
    total = int(per_session.sum())

    code = np.empty(total, dtype=np.uint8)
    before = np.zeros(size, dtype=np.int64)  # events of earlier kinds in the same session
    for name in EVENT_NAMES:
        count = np.asarray(counts[name], dtype=np.int64)
        owner = np.repeat(np.arange(size), count)
        within = np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count)
        code[session_offset[owner] + before[owner] + within] = event_code(name)
        before += count

    session = np.repeat(np.arange(size, dtype=np.int32), per_session)
    gap_us = (rng.lognormal(np.log(30.0), 0.9, total) * 1_000_000).astype(np.int64)
    gap_us[session_offset[per_session > 0]] = 0
    elapsed = np.cumsum(gap_us)
    time_us = sessions.start_us[session] + elapsed - elapsed[session_offset[session]]

    amount = np.full(total, np.nan)
    orders = code == event_code("order_completed")
    median = np.log(design.order_median_eur)
    amount[orders] = np.round(rng.lognormal(median, design.order_sigma, int(orders.sum())), 2)
    return Events(
        session=session,
        user=sessions.user[session],
        time_us=time_us,
        code=code,
        amount=amount,
    )

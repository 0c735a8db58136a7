"""A test helper: small seeded journeys without stories, or with one planted effect.

Each visitor arrives once, on a uniformly drawn day and time, and walks the funnel
``visit -> view -> cart -> checkout -> purchase``, each transition with a fixed probability,
minutes apart (some noise events in between). Nothing changes over time unless a :class:`Drop`
is planted; the variant column is a fair coin unless ``treatment_lift`` is given. With
``payments``, the users who reached checkout make payment attempts that fail with a fixed
probability (``payment_failed`` events), drawn from a generator of their own so that the rest
of the journey is the same with or without them. The false incident and false winner rates of
the engine are measured on these journeys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import polars as pl

from journeylib.config import JourneyConfig, config_from_dict

__all__ = ["STEPS", "Drop", "journey_config", "journey_events"]

STEPS = ("visit", "view", "cart", "checkout", "purchase")
RATES = (0.6, 0.4, 0.6, 0.75)
#: The chance that a payment attempt fails (``payment_success_rate`` about 96%, as on the
#: sample outside its incident).
PAYMENT_FAILURE = 0.04
PLATFORMS = ("web", "ios", "android")
PLATFORM_SHARES = (0.5, 0.25, 0.25)
CHANNELS = ("organic", "ads", "email", "social")
CHANNEL_SHARES = (0.4, 0.3, 0.15, 0.15)
_DAY_US = 86_400_000_000


@dataclass(frozen=True)
class Drop:
    """A planted fall of one transition (``step`` k: k -> k+1) from day ``first`` to ``last``
    (counted from the start, inclusive), for one platform (or all): its rate times ``factor``."""

    step: int
    first: int
    last: int
    factor: float
    platform: str | None = None


def journey_events(
    seed: int,
    *,
    days: int = 182,
    start: date = date(2026, 1, 5),
    visitors_per_day: int = 300,
    rates: tuple[float, ...] = RATES,
    drop: Drop | Sequence[Drop] | None = None,
    treatment_lift: float = 0.0,
    payments: bool = False,
    payment_failure: float = PAYMENT_FAILURE,
) -> pl.DataFrame:
    """One seeded journey: user_id, timestamp, event, revenue, platform, channel, variant.

    ``drop`` plants one or several drops. ``treatment_lift`` multiplies the checkout ->
    purchase rate of the treatment's users by ``1 + treatment_lift``. ``payments`` adds the
    failed payment attempts of the users who reached checkout: before each purchase, failures
    until the first success, each attempt failing with probability ``payment_failure``
    (``payment_success_rate`` is ``1 - payment_failure`` on every day); a user who stopped at
    checkout made one attempt, failed with that probability.
    """
    drops = () if drop is None else (drop,) if isinstance(drop, Drop) else tuple(drop)
    rng = np.random.default_rng(seed)
    users = days * visitors_per_day
    day = rng.integers(0, days, users)
    origin = int(datetime.combine(start, datetime.min.time(), tzinfo=UTC).timestamp()) * 10**6
    arrival = origin + day * _DAY_US + rng.integers(0, _DAY_US, users)
    platform = rng.choice(len(PLATFORMS), users, p=PLATFORM_SHARES)
    channel = rng.choice(len(CHANNELS), users, p=CHANNEL_SHARES)
    variant = rng.integers(0, 2, users)
    reached = np.ones(users, dtype=np.int64)
    alive = np.ones(users, dtype=bool)
    for step, rate in enumerate(rates, start=1):
        chance = np.full(users, rate)
        for planted in drops:
            if planted.step != step:
                continue
            hit = (day >= planted.first) & (day <= planted.last)
            if planted.platform is not None:
                hit &= platform == PLATFORMS.index(planted.platform)
            chance = np.where(hit, chance * planted.factor, chance)
        if step == len(rates) and treatment_lift:
            chance = np.where(variant == 1, np.minimum(1.0, chance * (1 + treatment_lift)), chance)
        alive &= rng.random(users) < chance
        reached += alive
    gaps = rng.exponential(4 * 60 * 10**6, (users, len(STEPS))).astype(np.int64)
    times = arrival[:, None] + np.cumsum(gaps, axis=1) - gaps[:, :1]
    owner = np.repeat(np.arange(users), reached)
    position = np.arange(owner.size) - np.repeat(np.cumsum(reached) - reached, reached)
    noise = rng.random(users) < 0.3
    noise_owner = np.flatnonzero(noise)
    timestamps = np.concatenate(
        [times[owner, position], times[noise_owner, 0] + rng.integers(1, 10**8, noise.sum())]
    )
    names = np.concatenate([np.array(STEPS)[position], np.full(noise.sum(), "browse")])
    everyone = np.concatenate([owner, noise_owner])
    if payments:
        paid = np.random.default_rng([seed, 1])
        checkout = times[:, len(STEPS) - 2]
        bought = reached == len(STEPS)
        # failures before the success of a buyer (geometric), one attempt of a non-buyer
        failures = np.where(
            bought,
            paid.geometric(1 - payment_failure, users) - 1,
            (reached == len(STEPS) - 1) & (paid.random(users) < payment_failure),
        ).astype(np.int64)
        failed_owner = np.repeat(np.arange(users), failures)
        # between the checkout and the purchase (a minute after the checkout for non-buyers)
        gap = np.where(bought, times[:, len(STEPS) - 1] - checkout, 60 * 10**6)
        offset = (gap[failed_owner] * paid.random(failed_owner.size)).astype(np.int64)
        timestamps = np.concatenate([timestamps, checkout[failed_owner] + np.maximum(offset, 1)])
        names = np.concatenate([names, np.full(failed_owner.size, "payment_failed")])
        everyone = np.concatenate([everyone, failed_owner])
    revenue = np.where(names == "purchase", np.round(rng.lognormal(4, 0.5, names.size), 2), np.nan)
    return pl.DataFrame(
        {
            "user_id": pl.Series(everyone).cast(pl.String).str.zfill(7),
            "timestamp": pl.Series(timestamps).cast(pl.Datetime("us", "UTC")),
            "event": names,
            "revenue": pl.Series(revenue, nan_to_null=True),
            "platform": np.array(PLATFORMS)[platform[everyone]],
            "channel": np.array(CHANNELS)[channel[everyone]],
            "variant": np.array(["control", "treatment"])[variant[everyone]],
        }
    ).sort("timestamp")


def journey_config(timezone: str = "UTC", *, payments: bool = False) -> JourneyConfig:
    """A config whose roles are the journey's own event names (the path is never read);
    with ``payments``, ``payment_failed`` too."""
    roles = {
        "visit": ["visit"],
        "product_view": ["view"],
        "add_to_cart": ["cart"],
        "checkout": ["checkout"],
        "purchase": ["purchase"],
        **({"payment_failed": ["payment_failed"]} if payments else {}),
    }
    return config_from_dict(
        {
            "name": "story-free",
            "timezone": timezone,
            "currency": "EUR",
            "sources": {"events": {"path": "events.parquet"}},
            "roles": roles,
        }
    )

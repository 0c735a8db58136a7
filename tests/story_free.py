"""A test helper: small seeded journeys without stories, or with one planted effect.

Each visitor arrives once, on a uniformly drawn day and time, and walks the funnel
``visit -> view -> cart -> checkout -> purchase``, each transition with a fixed probability,
minutes apart (some noise events in between). Nothing changes over time unless a :class:`Drop`
is planted; the variant column is a fair coin unless ``treatment_lift`` is given. The false
incident and false winner rates of the engine are measured on these journeys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import polars as pl

from journeylib.config import JourneyConfig, config_from_dict

__all__ = ["STEPS", "Drop", "journey_config", "journey_events"]

STEPS = ("visit", "view", "cart", "checkout", "purchase")
RATES = (0.6, 0.4, 0.6, 0.75)
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
    drop: Drop | None = None,
    treatment_lift: float = 0.0,
) -> pl.DataFrame:
    """One seeded journey: user_id, timestamp, event, revenue, platform, channel, variant.

    ``treatment_lift`` multiplies the checkout -> purchase rate of the treatment's users by
    ``1 + treatment_lift``.
    """
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
        if drop is not None and drop.step == step:
            hit = (day >= drop.first) & (day <= drop.last)
            if drop.platform is not None:
                hit &= platform == PLATFORMS.index(drop.platform)
            chance = np.where(hit, chance * drop.factor, chance)
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


def journey_config(timezone: str = "UTC") -> JourneyConfig:
    """A config whose roles are the journey's own event names (the path is never read)."""
    return config_from_dict(
        {
            "name": "story-free",
            "timezone": timezone,
            "currency": "EUR",
            "sources": {"events": {"path": "events.parquet"}},
            "roles": {
                "visit": ["visit"],
                "product_view": ["view"],
                "add_to_cart": ["cart"],
                "checkout": ["checkout"],
                "purchase": ["purchase"],
            },
        }
    )

"""Users and their sessions for the sample company, drawn with numpy in one pass per step.

Users are acquired over the whole period (weekly seasonality, slow growth); each comes back for a
number of return sessions whose gaps follow an exponential retention curve, cut where the data
ends. Session starts are local times of day in the company's time zone, stored as UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np

from journeylib.sample._design import (
    CAMPAIGNS,
    CHANNEL_SHARES,
    CHANNELS,
    COUNTRY_SHARES,
    PLATFORM_SHARES,
    Design,
)

__all__ = ["Population", "Sessions", "draw_population", "draw_sessions", "is_weekend"]

_DAY_US = 86_400_000_000
_NO_CAMPAIGN = -1
_BLAST = next(i for i, c in enumerate(CAMPAIGNS) if c[0] == "summer_blast")
_NEWSLETTER = next(i for i, c in enumerate(CAMPAIGNS) if c[0] == "newsletter")


@dataclass(frozen=True)
class Population:
    """One entry per user (index = user number)."""

    acquired_day: np.ndarray
    channel: np.ndarray  # index into CHANNELS
    campaign: np.ndarray  # index into CAMPAIGNS, -1 for none
    platform: np.ndarray
    country: np.ndarray
    variant: np.ndarray  # 0 control, 1 treatment, -1 not in the test
    propensity: np.ndarray  # multiplies the user's shopping rates
    blast: np.ndarray  # acquired through summer_blast in its window


@dataclass(frozen=True)
class Sessions:
    """One entry per session, sorted by user then start; ``rank`` 0 is the acquisition."""

    user: np.ndarray
    day: np.ndarray
    start_us: np.ndarray
    rank: np.ndarray
    channel: np.ndarray
    campaign: np.ndarray


def is_weekend(day: np.ndarray, start: date) -> np.ndarray:
    """True for days (counted from ``start``) that fall on a Saturday or Sunday."""
    return (start.weekday() + day) % 7 >= 5


def _day_weights(days: int, start: date, design: Design, first: int = 0) -> np.ndarray:
    day = np.arange(first, days)
    weight = 1 + design.growth_over_period * day / max(days - 1, 1)
    return np.where(is_weekend(day, start), design.weekend_factor, 1.0) * weight


def draw_population(
    rng: np.random.Generator, users: int, days: int, start: date, design: Design
) -> Population:
    """Draw every user's acquisition day, channel, campaign, platform, country and variant."""
    blast_days = min(design.blast_last_day + 1, days) - design.blast_first_day
    blast_users = round(users * design.blast_user_share) if blast_days > 0 else 0
    regular = users - blast_users

    weights = _day_weights(days, start, design)
    acquired = rng.choice(days, size=regular, p=weights / weights.sum())
    channel = rng.choice(len(CHANNELS), size=regular, p=CHANNEL_SHARES)
    campaign = np.full(regular, _NO_CAMPAIGN)
    pick = rng.random(regular)
    for index, (_name, channel_name, share, _cpc, _ctr) in enumerate(CAMPAIGNS):
        if share == 0:
            continue
        in_channel = channel == CHANNELS.index(channel_name)
        earlier = sum(c[2] for c in CAMPAIGNS[:index] if c[1] == channel_name)
        campaign[in_channel & (pick >= earlier) & (pick < earlier + share)] = index
    if blast_users:
        blast_weights = _day_weights(design.blast_first_day + blast_days, start, design)
        blast_weights = blast_weights[design.blast_first_day :]
        blast_acquired = design.blast_first_day + rng.choice(
            blast_days, size=blast_users, p=blast_weights / blast_weights.sum()
        )
        acquired = np.concatenate([acquired, blast_acquired])
        channel = np.concatenate([channel, np.full(blast_users, CHANNELS.index("affiliate"))])
        campaign = np.concatenate([campaign, np.full(blast_users, _BLAST)])
    # shuffle so that user numbers do not reveal the cohort
    order = rng.permutation(users)
    acquired, channel, campaign = acquired[order], channel[order], campaign[order]
    in_test = (acquired >= design.test_first_day) & (acquired <= design.test_last_day)
    variant = np.where(in_test, rng.integers(0, 2, size=users), -1)
    return Population(
        acquired_day=acquired.astype(np.int32),
        channel=channel.astype(np.int8),
        campaign=campaign.astype(np.int8),
        platform=rng.choice(len(PLATFORM_SHARES), size=users, p=PLATFORM_SHARES).astype(np.int8),
        country=rng.choice(len(COUNTRY_SHARES), size=users, p=COUNTRY_SHARES).astype(np.int8),
        variant=variant.astype(np.int8),
        propensity=rng.lognormal(-0.125, 0.5, size=users),
        blast=campaign == _BLAST,
    )


def _local_seconds(rng: np.random.Generator, size: int) -> np.ndarray:
    """Time of day in seconds: a lunchtime and a stronger evening peak, 6:30 to 23:40."""
    evening = rng.random(size) < 0.55
    hours = np.where(evening, rng.normal(20.0, 1.8, size), rng.normal(12.5, 2.8, size))
    outside = (hours < 6.5) | (hours > 23.67)
    return np.where(outside, rng.uniform(7.0, 23.0, size), hours) * 3600


def _utc_offsets_us(start: date, days: int, timezone: str) -> np.ndarray:
    zone = ZoneInfo(timezone)
    offsets = []
    for day in range(days):
        noon = datetime.combine(date.fromordinal(start.toordinal() + day), time(12), zone)
        offsets.append(int(noon.utcoffset().total_seconds()) * 1_000_000)
    return np.array(offsets, dtype=np.int64)


def draw_sessions(
    rng: np.random.Generator,
    population: Population,
    days: int,
    start: date,
    design: Design,
    timezone: str,
) -> Sessions:
    """Draw the acquisition session and the return sessions of every user."""
    users = population.acquired_day.size
    blast = population.blast
    rate = design.return_sessions_mean * rng.gamma(1.2, 1 / 1.2, size=users)
    rate = np.where(blast, rate * design.blast_return_factor, rate)
    returns = rng.poisson(rate)
    gap = np.where(blast, design.blast_gap_days, design.return_gap_days)
    gap = gap * rng.gamma(2.0, 0.5, size=users)

    returning = np.repeat(np.arange(users, dtype=np.int32), returns)
    offset = 1 + np.floor(rng.exponential(1.0, returning.size) * gap[returning])
    return_day = population.acquired_day[returning] + offset.astype(np.int32)
    # weekly seasonality: move a share of weekend returns to the next week's weekdays
    moved_share = (1 - design.weekend_factor) / (1 + 0.4 * design.weekend_factor)
    weekday = (start.weekday() + return_day) % 7
    move = (weekday >= 5) & (rng.random(returning.size) < moved_share)
    shift = rng.integers(0, 5, size=returning.size) + np.where(weekday == 5, 2, 1)
    return_day = np.where(move, return_day + shift, return_day)
    kept = return_day < days
    returning, return_day = returning[kept], return_day[kept]

    same = rng.random(returning.size) < design.same_channel_return
    other = rng.choice(3, size=returning.size, p=[0.55, 0.25, 0.20])
    other_channel = np.array([CHANNELS.index(c) for c in ("direct", "organic", "email")])
    other_campaign = np.array([_NO_CAMPAIGN, _NO_CAMPAIGN, _NEWSLETTER])
    return_channel = np.where(same, population.channel[returning], other_channel[other])
    return_campaign = np.where(same, population.campaign[returning], other_campaign[other])

    user = np.concatenate([np.arange(users, dtype=np.int32), returning])
    day = np.concatenate([population.acquired_day, return_day]).astype(np.int32)
    local_us = (_local_seconds(rng, user.size) * 1_000_000).astype(np.int64)
    epoch_us = (start.toordinal() - date(1970, 1, 1).toordinal()) * _DAY_US
    start_us = epoch_us + day.astype(np.int64) * _DAY_US + local_us
    start_us -= _utc_offsets_us(start, days, timezone)[day]
    channel = np.concatenate([population.channel, return_channel]).astype(np.int8)
    campaign = np.concatenate([population.campaign, return_campaign]).astype(np.int8)

    order = np.lexsort((start_us, user))
    user = user[order]
    first_of_user = np.cumsum(np.bincount(user, minlength=users)) - np.bincount(
        user, minlength=users
    )
    return Sessions(
        user=user,
        day=day[order],
        start_us=start_us[order],
        rank=(np.arange(user.size) - first_of_user[user]).astype(np.int32),
        channel=channel[order],
        campaign=campaign[order],
    )

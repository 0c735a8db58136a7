"""The sample company's spend, support tickets and survey answers, derived from its sessions.

Paid clicks follow the visits each campaign brings; tickets follow failed payments and a share
of sessions; survey answers follow orders, checkouts and tickets, with the NPS of users who
contacted support drifting down over the period.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from journeylib.sample._design import CAMPAIGNS, PAID_CAMPAIGNS, PLATFORMS, Design, event_code
from journeylib.sample._events import Events
from journeylib.sample._sessions import Population, Sessions

__all__ = [
    "SURVEY_KINDS",
    "customer_ids",
    "spend_frame",
    "survey_frame",
    "ticket_frame",
    "utc_column",
]

SURVEY_KINDS: tuple[str, ...] = ("nps", "csat", "ces")
_HOUR_US = 3_600_000_000
_DAY_US = 24 * _HOUR_US


def utc_column(name: str, micros: np.ndarray) -> pl.Series:
    """A ``Datetime("us", "UTC")`` column from microseconds since the epoch."""
    return (
        pl.Series(name, micros, dtype=pl.Int64).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    )


def customer_ids(name: str, user: np.ndarray) -> pl.Series:
    """Customer ids such as ``u000123`` from user numbers."""
    return ("u" + pl.Series(name, user, dtype=pl.Int64).cast(pl.String).str.zfill(6)).alias(name)


def spend_frame(
    rng: np.random.Generator, sessions: Sessions, days: int, start: date, design: Design
) -> pl.DataFrame:
    """Daily cost, impressions and clicks per paid campaign; clicks cover the visits it brought."""
    key = sessions.day.astype(np.int64) * len(CAMPAIGNS) + sessions.campaign
    paid = np.isin(sessions.campaign, PAID_CAMPAIGNS)
    visits = np.bincount(key[paid], minlength=days * len(CAMPAIGNS)).reshape(days, -1)
    blast = next(i for i, c in enumerate(CAMPAIGNS) if c[0] == "summer_blast")
    day_of_row, campaign_of_row = [], []
    for campaign in PAID_CAMPAIGNS:
        active = np.arange(days)
        if campaign == blast:
            active = active[(active >= design.blast_first_day) & (active <= design.blast_last_day)]
        day_of_row.append(active)
        campaign_of_row.append(np.full(active.size, campaign))
    day = np.concatenate(day_of_row)
    campaign = np.concatenate(campaign_of_row)
    cpc = np.array([c[3] for c in CAMPAIGNS])[campaign]
    ctr = np.array([c[4] for c in CAMPAIGNS])[campaign]
    brought = visits[day, campaign]
    clicks = brought + rng.poisson(0.12 * brought)
    daily_ctr = ctr * rng.lognormal(0.0, 0.08, day.size)
    impressions = np.round(np.maximum(clicks, 1) / daily_ctr).astype(np.int64)
    cost = np.round(clicks * cpc * rng.lognormal(0.0, 0.1, day.size), 2)
    names = pl.Series([c[0] for c in CAMPAIGNS])
    channels = pl.Series([c[1] for c in CAMPAIGNS])
    epoch_day = start.toordinal() - date(1970, 1, 1).toordinal()
    frame = pl.DataFrame(
        {
            "date": pl.Series(epoch_day + day, dtype=pl.Int32).cast(pl.Date),
            "channel": channels.gather(campaign),
            "campaign": names.gather(campaign),
            "cost": cost,
            "impressions": impressions,
            "clicks": clicks.astype(np.int64),
        }
    )
    return frame.sort("date", "channel", "campaign", maintain_order=True)


def _tickets(rng: np.random.Generator, sessions: Sessions, events: Events, end_us: int) -> dict:
    failed = np.flatnonzero(events.code == event_code("payment_failed"))
    failed = failed[rng.random(failed.size) < 0.30]
    asked = np.flatnonzero(rng.random(sessions.user.size) < 0.02)
    user = np.concatenate([events.user[failed], sessions.user[asked]])
    opened = np.concatenate([events.time_us[failed], sessions.start_us[asked]])
    opened = opened + (rng.lognormal(np.log(20.0), 0.8, opened.size) * 60e6).astype(np.int64)
    order = np.lexsort((user, opened))
    user, opened = user[order], opened[order]
    kept = opened < end_us
    user, opened = user[kept], opened[kept]
    resolved = opened + (rng.lognormal(np.log(18.0), 1.0, opened.size) * _HOUR_US).astype(np.int64)
    open_still = (rng.random(opened.size) < 0.05) | (resolved >= end_us)
    contacts = 1 + rng.poisson(0.45, opened.size)
    handle = np.round(rng.lognormal(np.log(9.0), 0.5, opened.size) * contacts**0.8, 1)
    return {
        "user": user,
        "opened": opened,
        "resolved": np.where(open_still, -1, resolved),
        "contacts": contacts,
        "handle": handle,
    }


def ticket_frame(
    rng: np.random.Generator, sessions: Sessions, events: Events, end_us: int
) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    """Support tickets as written to ``tickets.csv``, and their arrays for the surveys."""
    tickets = _tickets(rng, sessions, events, end_us)
    iso = "%Y-%m-%dT%H:%M:%SZ"
    ticket_number = pl.Series(np.arange(1, tickets["user"].size + 1)).cast(pl.String)
    resolved = utc_column("resolved_at", tickets["resolved"]).dt.strftime(iso)
    frame = pl.DataFrame(
        {
            "ticket_id": "T" + ticket_number.str.zfill(6),
            "customer_id": customer_ids("customer_id", tickets["user"]),
            "opened_at": utc_column("opened_at", tickets["opened"]).dt.strftime(iso),
            "resolved_at": resolved,
            "unresolved": tickets["resolved"] < 0,
            "contacts": tickets["contacts"].astype(np.int64),
            "handle_minutes": tickets["handle"],
        }
    )
    frame = frame.with_columns(
        pl.when(pl.col("unresolved"))
        .then(None)
        .otherwise(pl.col("resolved_at"))
        .alias("resolved_at")
    ).drop("unresolved")
    return frame, tickets


def _nps_scores(rng: np.random.Generator, target: np.ndarray, passive: float) -> np.ndarray:
    """Scores 0-10 whose expected NPS is ``target`` (promoters 9-10, passives 7-8)."""
    promoter = (1 - passive + target / 100) / 2
    draw = rng.random(target.size)
    detractor = rng.choice(7, size=target.size, p=np.array([1, 1, 1, 2, 3, 5, 7]) / 20)
    return np.where(
        draw < promoter,
        9 + rng.integers(0, 2, target.size),
        np.where(draw < promoter + passive, 7 + rng.integers(0, 2, target.size), detractor),
    )


def _scaled_scores(rng: np.random.Generator, weights: list[int], size: int) -> np.ndarray:
    return 1 + rng.choice(len(weights), size=size, p=np.array(weights) / sum(weights))


def survey_frame(
    rng: np.random.Generator,
    population: Population,
    sessions: Sessions,
    events: Events,
    tickets: dict[str, np.ndarray],
    *,
    days: int,
    end_us: int,
    design: Design,
) -> pl.DataFrame:
    """NPS, CSAT and CES answers with the answering user's platform."""
    users = population.acquired_day.size
    with_ticket = np.zeros(users, dtype=bool)
    with_ticket[tickets["user"]] = True
    # NPS of users without tickets: one answer after a random session of theirs, flat score
    per_user = np.bincount(sessions.user, minlength=users)
    first_session = np.cumsum(per_user) - per_user
    asked = np.flatnonzero(~with_ticket & (rng.random(users) < 0.15))
    chosen = first_session[asked] + (rng.random(asked.size) * per_user[asked]).astype(np.int64)
    calm_time = sessions.start_us[chosen] + 10 * 60_000_000
    calm_score = _nps_scores(rng, np.full(asked.size, design.nps_others), design.nps_passive_share)
    # NPS of users with tickets: after a ticket, drifting from start to end of the period
    after = np.flatnonzero(rng.random(tickets["user"].size) < 0.7)
    settled = np.where(tickets["resolved"] >= 0, tickets["resolved"], tickets["opened"])[after]
    ticket_time = settled + (rng.lognormal(0.0, 0.6, after.size) * _DAY_US).astype(np.int64)
    progress = np.clip((ticket_time - (end_us - days * _DAY_US)) / (days * _DAY_US), 0, 1)
    drift = design.nps_ticket_start + (design.nps_ticket_end - design.nps_ticket_start) * progress
    ticket_score = _nps_scores(rng, drift, design.nps_passive_share)
    # CSAT after orders and after tickets; CES after checkouts (hard when a payment failed)
    orders = np.flatnonzero(
        (events.code == event_code("order_completed")) & (rng.random(events.code.size) < 0.15)
    )
    order_csat = _scaled_scores(rng, [3, 4, 11, 38, 44], orders.size)
    solved = np.flatnonzero((tickets["resolved"] >= 0) & (rng.random(tickets["user"].size) < 0.3))
    ticket_csat = _scaled_scores(rng, [12, 12, 16, 30, 30], solved.size)
    failed_in = np.bincount(
        events.session[events.code == event_code("payment_failed")], minlength=sessions.user.size
    )
    checkouts = np.flatnonzero(
        (events.code == event_code("checkout_started")) & (rng.random(events.code.size) < 0.12)
    )
    hard = failed_in[events.session[checkouts]] > 0
    ces = np.where(
        hard,
        _scaled_scores(rng, [20, 22, 20, 15, 12, 7, 4], checkouts.size),
        _scaled_scores(rng, [2, 3, 6, 12, 22, 30, 25], checkouts.size),
    )
    user = np.concatenate(
        [
            asked,
            tickets["user"][after],
            events.user[orders],
            tickets["user"][solved],
            events.user[checkouts],
        ]
    )
    time_us = np.concatenate(
        [
            calm_time,
            ticket_time,
            events.time_us[orders] + (rng.uniform(1, 3, orders.size) * _DAY_US).astype(np.int64),
            tickets["resolved"][solved] + 2 * _HOUR_US,
            events.time_us[checkouts] + 5 * 60_000_000,
        ]
    )
    kind = np.repeat(
        [0, 0, 1, 1, 2], [asked.size, after.size, orders.size, solved.size, checkouts.size]
    )
    score = np.concatenate([calm_score, ticket_score, order_csat, ticket_csat, ces])
    kept = time_us < end_us
    order = np.lexsort((kind[kept], user[kept], time_us[kept]))
    user, time_us, kind, score = (a[kept][order] for a in (user, time_us, kind, score))
    return pl.DataFrame(
        {
            "customer_id": customer_ids("customer_id", user),
            "answered_at": utc_column("answered_at", time_us),
            "survey": pl.Series(SURVEY_KINDS).gather(kind),
            "score": score.astype(np.int64),
            "platform": pl.Series(PLATFORMS).gather(population.platform[user]),
        }
    )

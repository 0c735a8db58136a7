"""Advocacy KPIs: NPS, CSAT, CES, referral and review rates, and support resolution."""

from __future__ import annotations

import polars as pl

from journeylib.kpis._common import (
    exact_mean,
    exact_sum,
    finish,
    keys,
    register_share,
)
from journeylib.kpis._inputs import KpiInputs, user_key
from journeylib.kpis._registry import register
from journeylib.periods import period_start_expr

__all__: list[str] = []


def _with_segments(inputs: KpiInputs, table: pl.LazyFrame, time_column: str) -> pl.LazyFrame:
    """Rows of an optional table in the periods, with the breakdown columns.

    A breakdown column the table has is used as it is; otherwise the row takes the user's
    breakdown value in that period (null when the user has no event in it).
    """
    frame = table.filter(pl.col(time_column).is_not_null()).with_columns(
        period_start_expr(time_column, inputs.grain, inputs.timezone).alias("period_start")
    )
    frame = inputs.within_periods(frame, time_column)
    schema = frame.collect_schema()
    borrowed = [c for c in inputs.by if c not in schema]
    if borrowed and "user_id" in schema:
        segments = inputs.user_period.select(
            pl.col("user_id").alias("_user_key"), "period_start", *borrowed
        )
        frame = frame.with_columns(user_key(pl.col("user_id")).alias("_user_key")).join(
            segments, on=["_user_key", "period_start"], how="left"
        )
    elif borrowed:
        frame = frame.with_columns(pl.lit(None, pl.String).alias(c) for c in borrowed)
    return frame


def _answers(inputs: KpiInputs, survey: str) -> pl.LazyFrame:
    assert inputs.surveys is not None
    return _with_segments(inputs, inputs.surveys.filter(pl.col("survey") == survey), "timestamp")


@register(
    "nps",
    label="NPS",
    stage="advocacy",
    unit="score",
    direction="higher",
    kind="score",
    tables=("surveys",),
    doc="0–10 scale: % of answers 9–10 − % of answers 0–6, from −100 to 100",
)
def nps(inputs: KpiInputs) -> pl.LazyFrame:
    """Net promoter score: promoters minus detractors, in points from −100 to 100.

    Choices
    -------
    - Answers of the `nps` survey, 0–10: 9 and 10 are promoters, 0 to 6 detractors.
    - Its standard error is that of a difference of two multinomial shares; a change is tested
      with it (z-test). Null without answers.
    - Answers count by their `timestamp` in P. Without a breakdown column of its own, an answer
      takes its user's value in that period (empty when the user has no event in it).
    """
    promoters = (pl.col("score") >= 9).sum()
    detractors = (pl.col("score") <= 6).sum()
    answers = pl.len()
    grouped = (
        _answers(inputs, "nps")
        .group_by(keys(inputs))
        .agg(promoters.alias("_promoters"), detractors.alias("_detractors"), answers.alias("_n"))
    )
    share_pro = pl.col("_promoters") / pl.col("_n")
    share_det = pl.col("_detractors") / pl.col("_n")
    # standard error of the difference of two multinomial shares, on the -100..100 scale
    se = 100 * ((share_pro + share_det - (share_pro - share_det) ** 2) / pl.col("_n")).sqrt()
    return grouped.select(
        *keys(inputs),
        (100 * (share_pro - share_det)).alias("value"),
        (pl.col("_promoters").cast(pl.Int64) - pl.col("_detractors").cast(pl.Int64))
        .cast(pl.Float64)
        .alias("numerator"),
        pl.col("_n").cast(pl.Float64).alias("denominator"),
        se.alias("se"),
    )


@register(
    "csat",
    label="CSAT",
    stage="advocacy",
    unit="rate",
    direction="higher",
    kind="rate",
    tables=("surveys",),
    doc="1–5 scale: % of answers 4 or 5",
)
def csat(inputs: KpiInputs) -> pl.LazyFrame:
    """Customer satisfaction: the share of answers of 4 or 5 on the 1–5 scale.

    Choices
    -------
    - Answers of the `csat` survey; a rate with a Wilson interval; null without answers.
    - Answers count by their `timestamp` in P. Without a breakdown column of its own, an answer
      takes its user's value in that period (empty when the user has no event in it).
    """
    return finish(
        _answers(inputs, "csat")
        .group_by(keys(inputs))
        .agg((pl.col("score") >= 4).sum().alias("numerator"), pl.len().alias("denominator"))
    )


@register(
    "ces",
    label="CES",
    stage="advocacy",
    unit="score",
    direction="config",
    kind="mean",
    tables=("surveys",),
    doc='mean score on the configured scale (default 1–7, "it was easy", higher is better)',
)
def ces(inputs: KpiInputs) -> pl.LazyFrame:
    """Customer effort score: the mean answer on the configured scale.

    Options
    -------
    - `surveys.ces` in the config: `min` and `max` of the scale (default 1 and 7) and
      `higher_is_better` (default true: the scale reads "it was easy").

    Choices
    -------
    - The direction comes from the config and is stored with every value.
    - Its standard error is the answers' standard deviation over √n (null with a single answer);
      a change is tested with it (z-test).
    - Answers count by their `timestamp` in P. Without a breakdown column of its own, an answer
      takes its user's value in that period (empty when the user has no event in it).
    """
    # sums of scores and of squared scores in exact integer units: the same in every run
    score = pl.col("score")
    total, squares, n = exact_sum(score, scale=1000), exact_sum(score**2, scale=1000), pl.len()
    variance = (squares - total**2 / n) / (n - 1)
    return (
        _answers(inputs, "ces")
        .group_by(keys(inputs))
        .agg(
            (total / n).alias("value"),
            total.alias("numerator"),
            n.cast(pl.Float64).alias("denominator"),
            pl.when(n > 1).then((variance.clip(lower_bound=0) / n).sqrt()).alias("se"),
        )
    )


register_share(
    "referral_rate",
    label="Referral rate",
    stage="advocacy",
    role="referral",
    among="purchase",
    roles=("referral", "purchase"),
    doc="users with referral / users with purchase",
    description="""The share of the period's buyers who referred someone.

    Choices
    -------
    - Both events fall in P, in any order: the one counted need not come after the one that
      makes the population.
    """,
)


register_share(
    "review_rate",
    label="Review rate",
    stage="advocacy",
    role="review",
    among="purchase",
    roles=("review", "purchase"),
    doc="users with review / users with purchase",
    description="""The share of the period's buyers who wrote a review.

    Choices
    -------
    - Both events fall in P, in any order: the one counted need not come after the one that
      makes the population.
    """,
)


def _resolved(inputs: KpiInputs) -> pl.LazyFrame:
    assert inputs.tickets is not None
    return _with_segments(inputs, inputs.tickets, "resolved_at")


@register(
    "first_contact_resolution",
    label="First-contact resolution",
    stage="advocacy",
    unit="rate",
    direction="higher",
    kind="rate",
    tables=("tickets",),
    doc="resolved tickets in P with contacts = 1 / resolved tickets in P",
    columns=("tickets.resolved_at", "tickets.contacts"),
)
def first_contact_resolution(inputs: KpiInputs) -> pl.LazyFrame:
    """The share of tickets resolved in P that needed a single contact.

    Choices
    -------
    - A resolved ticket with no `contacts` value counts among the resolved tickets, not as
      resolved at first contact.
    - Tickets count by their `resolved_at` in P; unresolved tickets are left out. Without a
      breakdown column of its own, a ticket takes its user's value in that period.
    """
    return finish(
        _resolved(inputs)
        .group_by(keys(inputs))
        .agg((pl.col("contacts") == 1).sum().alias("numerator"), pl.len().alias("denominator"))
    )


@register(
    "avg_handling_time",
    label="Average handling time",
    stage="advocacy",
    unit="duration",
    direction="lower",
    kind="mean",
    tables=("tickets",),
    doc="mean handle_minutes of tickets resolved in P",
    columns=("tickets.handle_minutes",),
)
def avg_handling_time(inputs: KpiInputs) -> pl.LazyFrame:
    """The mean handling time of the tickets resolved in P.

    Choices
    -------
    - Tickets with no `handle_minutes` are left out of the mean.
    - Tickets count by their `resolved_at` in P; unresolved tickets are left out. Without a
      breakdown column of its own, a ticket takes its user's value in that period.
    """
    seconds = pl.col("handle_minutes") * 60
    return (
        _resolved(inputs)
        .group_by(keys(inputs))
        .agg(
            exact_mean(seconds).alias("value"),
            exact_sum(seconds).alias("numerator"),
            seconds.count().cast(pl.Float64).alias("denominator"),
        )
    )


@register(
    "time_to_resolution",
    label="Time to resolution",
    stage="advocacy",
    unit="duration",
    direction="lower",
    kind="mean",
    tables=("tickets",),
    doc="median (resolved_at − opened_at) for tickets resolved in P",
    columns=("tickets.resolved_at",),
)
def time_to_resolution(inputs: KpiInputs) -> pl.LazyFrame:
    """How long tickets took to resolve: the median from opening to resolution.

    Choices
    -------
    - The median of an even count is the mean of the two middle values.
    - Tickets count by their `resolved_at` in P; unresolved tickets are left out. Without a
      breakdown column of its own, a ticket takes its user's value in that period.
    """
    seconds = (pl.col("resolved_at") - pl.col("opened_at")).dt.total_microseconds() / 1e6
    return (
        _resolved(inputs)
        .group_by(keys(inputs))
        .agg(
            seconds.median().alias("value"),
            pl.lit(None, pl.Float64).alias("numerator"),
            pl.len().cast(pl.Float64).alias("denominator"),
        )
    )

"""Onboarding and usage KPIs: activation, time to value, DAU/MAU/stickiness, feature adoption,
session duration and repeat visits."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from journeylib.kpis._common import exact_mean, exact_sum, finish, keys, ratio, share_of_users
from journeylib.kpis._inputs import KpiInputs, flag
from journeylib.kpis._registry import register
from journeylib.kpis._timed import two_step, two_step_rate

__all__: list[str] = []

ACTIVATION_WINDOW = timedelta(days=7)
UNBOUNDED = timedelta(days=36_500)


def _no_fraction(frame: pl.LazyFrame) -> pl.LazyFrame:
    return frame.with_columns(
        pl.lit(None, pl.Float64).alias("numerator"), pl.lit(None, pl.Float64).alias("denominator")
    )


@register(
    "activation_rate",
    label="Activation rate",
    stage="onboarding",
    unit="rate",
    direction="higher",
    kind="rate",
    roles=("signup", "activation"),
    doc="users with signup in P who reach activation within 7 days / those users",
)
def activation_rate(inputs: KpiInputs) -> pl.LazyFrame:
    """The share of signups of P that reached activation within 7 days.

    Options
    -------
    - The window is fixed at 7 days.

    Choices
    -------
    - Entry: the user's first `signup` event in P; the activation may come after P's end.
    - Activated: an `activation` at or after the signup (equal timestamps count) and at most 7
      days after it (inclusive).
    - A signup whose 7 days have not ended at the end of the data and is not activated yet
      counts as not activated.
    """
    return two_step_rate(inputs, "signup", "activation", ACTIVATION_WINDOW)


@register(
    "time_to_value",
    label="Time to value",
    stage="onboarding",
    unit="duration",
    direction="lower",
    kind="mean",
    roles=("signup", "activation"),
    doc="median time from signup to first activation among those activated",
)
def time_to_value(inputs: KpiInputs) -> pl.LazyFrame:
    """How long new users of P took to activate: the median time from signup to activation.

    Choices
    -------
    - Per user, from the first `signup` in P to the first `activation` at or after it (equal
      timestamps give 0 seconds).
    - "Among those activated" sets no window: an activation any time later counts; users never
      activated are left out.
    - The median of an even count is the mean of the two middle values; null when no signup of P
      activated.
    """
    # "among those activated" has no window in the definition: any later activation counts
    entries = two_step(inputs, "signup", "activation", UNBOUNDED)
    seconds = (pl.col("reached_at") - pl.col("entered_at")).dt.total_microseconds() / 1e6
    return (
        entries.filter(pl.col("reached_at").is_not_null())
        .group_by(keys(inputs))
        .agg(
            seconds.median().alias("value"),
            pl.lit(None, pl.Float64).alias("numerator"),
            pl.len().cast(pl.Float64).alias("denominator"),
        )
    )


def _daily_active(inputs: KpiInputs) -> pl.LazyFrame:
    return (
        inputs.user_period.group_by(keys(inputs))
        .agg(pl.col("active_days").cast(pl.Int64).sum().alias("active_user_days"))
        .join(inputs.periods.select("period_start", "days"), on="period_start")
        .with_columns((pl.col("active_user_days") / pl.col("days")).alias("dau"))
    )


def _monthly_active(inputs: KpiInputs) -> pl.LazyFrame:
    return inputs.user_period.group_by(keys(inputs)).agg(
        pl.col("active").sum().cast(pl.Float64).alias("mau")
    )


@register(
    "dau",
    label="DAU",
    stage="usage",
    unit="count",
    direction="higher",
    kind="count",
    doc="mean daily active users over the days of P",
)
def dau(inputs: KpiInputs) -> pl.LazyFrame:
    """Daily active users, averaged over the days of P.

    Options
    -------
    - `activity_roles` in the config says which events make a user active.

    Choices
    -------
    - Days are local days of the journey's time zone; a day without any active user counts as 0.
    - P's days are its days inside the report: the last period cut short by the end date has
      fewer days.
    - Active users are users with any event, or with an event of the config's `activity_roles`.
    """
    # days without any active user count as 0: the sum of daily actives over the days of P
    return _no_fraction(_daily_active(inputs).select(*keys(inputs), pl.col("dau").alias("value")))


@register(
    "mau",
    label="MAU",
    stage="usage",
    unit="count",
    direction="higher",
    kind="count",
    doc="active users in P",
)
def mau(inputs: KpiInputs) -> pl.LazyFrame:
    """Active users in P (monthly at the month grain, weekly at the week grain).

    Options
    -------
    - `activity_roles` in the config says which events make a user active.

    Choices
    -------
    - Active users are users with any event, or with an event of the config's `activity_roles`.
    """
    return _no_fraction(_monthly_active(inputs).select(*keys(inputs), pl.col("mau").alias("value")))


@register(
    "stickiness",
    label="Stickiness",
    stage="usage",
    unit="rate",
    direction="higher",
    kind="ratio",
    doc="dau / mau",
)
def stickiness(inputs: KpiInputs) -> pl.LazyFrame:
    """How many of the period's active users come on an average day: DAU over MAU.

    Options
    -------
    - `activity_roles` in the config says which events make a user active.

    Choices
    -------
    - Null when P has no active user; a ratio of two counts, so it carries no interval.
    """
    joined = _daily_active(inputs).join(
        _monthly_active(inputs), on=keys(inputs), how="full", coalesce=True
    )
    return joined.select(
        *keys(inputs),
        ratio(pl.col("dau"), pl.col("mau")).alias("value"),
        pl.col("dau").alias("numerator"),
        pl.col("mau").alias("denominator"),
    )


@register(
    "feature_adoption_rate",
    label="Feature adoption",
    stage="usage",
    unit="rate",
    direction="higher",
    kind="rate",
    doc="users with feature:f / active users (one KPI per mapped feature f)",
)
def feature_adoption_rate(inputs: KpiInputs) -> pl.LazyFrame:
    """The share of the period's active users who used a feature.

    Options
    -------
    - One KPI per feature mapped in the config: the role `feature:export` gives
      `feature_adoption_rate[export]`.
    - `activity_roles` in the config says which events make a user active.

    Choices
    -------
    - Only active users count: with `activity_roles` that leave out the feature's events, a user
      who used the feature but was not active is not counted.
    - Without any `feature:` role the KPI has no rows.
    """
    features = [role for role in inputs.config.roles if role.startswith("feature:")]
    frames = [
        share_of_users(inputs, role, among=None).with_columns(
            pl.lit(f"feature_adoption_rate[{role.removeprefix('feature:')}]").alias("kpi")
        )
        for role in features
    ]
    if not frames:
        schema = {"period_start": pl.Date, **{c: pl.String for c in inputs.by}}
        empty = pl.LazyFrame(
            schema=schema
            | {
                "numerator": pl.Float64,
                "denominator": pl.Float64,
                "value": pl.Float64,
                "kpi": pl.String,
            }
        )
        return empty
    return pl.concat(frames, how="vertical_relaxed")


@register(
    "avg_session_duration",
    label="Average session duration",
    needs_sessions=True,
    stage="usage",
    unit="duration",
    direction="higher",
    kind="mean",
    doc="mean of (last − first event) over sessions starting in P; sessions from session_id, "
    "else split at 30 minutes of inactivity",
)
def avg_session_duration(inputs: KpiInputs) -> pl.LazyFrame:
    """The mean length of the sessions that start in P.

    Choices
    -------
    - Sessions come from `session_id`; events without one are split into sessions at gaps of
      more than 30 minutes of inactivity.
    - A session belongs to the period of its first event and lasts from its first to its last
      event: a one-event session lasts 0 seconds and counts.
    - The breakdown value is the user's value in the period the session starts in.
    """
    seconds = pl.col("duration_seconds")
    return inputs.sessions.group_by(keys(inputs)).agg(
        exact_mean(seconds).alias("value"),
        exact_sum(seconds).alias("numerator"),
        pl.len().cast(pl.Float64).alias("denominator"),
    )


@register(
    "repeat_visit_rate",
    label="Repeat visit rate",
    needs_sessions=True,
    stage="usage",
    unit="rate",
    direction="higher",
    kind="rate",
    roles=("visit",),
    doc="visitors with 2 or more sessions in P / visitors",
)
def repeat_visit_rate(inputs: KpiInputs) -> pl.LazyFrame:
    """The share of the period's visitors with two or more sessions in P.

    Choices
    -------
    - Sessions as for `avg_session_duration`, counted by the period they start in; any session
      counts, not only one with a visit event.
    """
    sessions = inputs.sessions.group_by("user_id", "period_start").agg(pl.len().alias("sessions"))
    visitors = inputs.user_period.filter(pl.col(flag("visit"))).join(
        sessions, on=["user_id", "period_start"], how="left"
    )
    return finish(
        visitors.group_by(keys(inputs)).agg(
            (pl.col("sessions").fill_null(0) >= 2).sum().alias("numerator"),
            pl.len().alias("denominator"),
        )
    )

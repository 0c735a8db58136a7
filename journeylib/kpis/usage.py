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

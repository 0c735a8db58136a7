"""Retention by acquisition segment, and retention curves pooled over cohorts.

Built on the retention cohorts of docs/kpis.md#retention-cohorts
(:func:`journeylib.retention.retention_matrix`), with the same cohort rule (the period of the
user's first-ever cohort event) and the same rule for cells not fully observed (null, not 0):

- :func:`acquisition_segments`: each user's value of a dimension on their first-ever cohort
  event (the channel that acquired them), so cohorts can be split by it;
- :func:`retention_by_segment`: the retention matrix of each segment's users;
- :func:`pooled_retention`: one retention curve per segment, pooled over the cohorts whose cell
  is observed (users / cohort size, summed over those cohorts), with its 95% Wilson interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import polars as pl

from journeylib.errors import DataError
from journeylib.periods import Grain
from journeylib.retention._pairs import event_flag
from journeylib.retention.cohorts import RetentionMode, retention_matrix
from journeylib.stats import wilson_exprs

__all__ = ["NO_VALUE", "acquisition_segments", "pooled_retention", "retention_by_segment"]


#: The segment of users whose first cohort event has no value in the breakdown column.
NO_VALUE = "(none)"


def acquisition_segments(
    events: pl.LazyFrame, *, by: str, cohort_events: Sequence[str] | None = None
) -> pl.LazyFrame:
    """Each user's value of ``by`` on their first-ever cohort event (first touch).

    Ties in time go to the smallest value, so the result does not depend on row order. A null
    value becomes ``"(none)"``: such users stay in the analysis under their own segment.

    Returns
    -------
    pl.LazyFrame
        ``user_id`` and ``by`` (text).

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> events = pl.LazyFrame({"user_id": ["a", "a"], "event": ["visit", "visit"],
    ...     "timestamp": [datetime(2026, 1, d, tzinfo=timezone.utc) for d in (2, 1)],
    ...     "channel": ["ads", "seo"]})
    >>> acquisition_segments(events, by="channel").collect().row(0)
    ('a', 'seo')
    """
    schema = events.collect_schema()
    if by not in schema:
        raise DataError(
            f"cohort breakdown {by!r} is not a column of the events; available: "
            + ", ".join(schema.names())
        )
    if by in ("user_id", "timestamp", "event"):
        raise DataError(
            f"cohort breakdown {by!r}: expected a dimension (channel, platform, ...), not the "
            f"{by} column itself"
        )
    value = pl.col(by).cast(pl.String).fill_null(NO_VALUE)
    return (
        events.filter(event_flag(cohort_events))
        .select("user_id", "timestamp", value.alias(by))
        .sort("user_id", "timestamp", by)
        .group_by("user_id")
        .agg(pl.col(by).first())
    )


def retention_by_segment(
    events: pl.LazyFrame,
    *,
    by: str,
    grain: Grain = "week",
    timezone: str = "UTC",
    cohort_events: Sequence[str] | None = None,
    return_events: Sequence[str] | None = None,
    mode: RetentionMode = "on",
    cohort_start: date | None = None,
    cohort_end: date | None = None,
    max_offset: int | None = None,
    data_end: datetime | None = None,
) -> pl.DataFrame:
    """The retention matrix of each acquisition segment (see :func:`acquisition_segments`).

    Each segment's matrix is :func:`journeylib.retention.retention_matrix` on all the events of
    that segment's users, with the observation end of the whole data, so the cells of every
    segment are the cells of the unsplit matrix, split.

    Returns
    -------
    pl.DataFrame
        ``by`` first, then the columns of :func:`retention_matrix`; segments in order.
    """
    segments = acquisition_segments(events, by=by, cohort_events=cohort_events).collect()
    if data_end is None:
        data_end = events.select(pl.col("timestamp").max()).collect().item()
    frames = []
    for (value,), users in segments.group_by(by, maintain_order=False):
        members = events.join(users.lazy().select("user_id"), on="user_id", how="semi")
        matrix = retention_matrix(
            members,
            grain=grain,
            timezone=timezone,
            cohort_events=cohort_events,
            return_events=return_events,
            mode=mode,
            cohort_start=cohort_start,
            cohort_end=cohort_end,
            max_offset=max_offset,
            data_end=data_end,
        ).collect()
        frames.append(matrix.select(pl.lit(value, pl.String).alias(by), pl.all()))
    if not frames:
        empty = retention_matrix(events.head(0), grain=grain, timezone=timezone).collect()
        return empty.select(pl.lit(None, pl.String).alias(by), pl.all()).head(0)
    return pl.concat(frames).sort(by, "cohort", "offset")


def pooled_retention(matrix: pl.DataFrame, *, by: str | None = None) -> pl.DataFrame:
    """One retention curve per segment: the cohorts' observed cells pooled at each offset.

    At offset k the curve is (users retained at k) / (cohort users) summed over the cohorts
    whose cell k is fully observed, so a young cohort weighs only on the offsets it has lived.

    Parameters
    ----------
    matrix
        A retention matrix (:meth:`journeylib.Journey.retention`), with ``by`` when split.
    by
        The segment column (None: one curve).

    Returns
    -------
    pl.DataFrame
        [``by``,] ``offset``, ``cohorts`` (observed at that offset), ``cohort_size``,
        ``users``, ``retention``, ``ci_low``, ``ci_high``.

    Examples
    --------
    >>> matrix = pl.DataFrame({"cohort": [1, 1, 2, 2], "offset": [0, 1, 0, 1],
    ...     "cohort_size": [10, 10, 30, 30], "users": [10, 5, 30, None]})
    >>> pooled_retention(matrix)["retention"].to_list()
    [1.0, 0.5]
    """
    keys = [by] if by else []
    missing = [c for c in (*keys, "offset", "cohort_size", "users") if c not in matrix.columns]
    if missing:
        raise DataError(
            f"pooled_retention: the matrix lacks column(s) {', '.join(missing)}; found "
            + ", ".join(matrix.columns)
        )
    return (
        matrix.filter(pl.col("users").is_not_null())
        .group_by(*keys, "offset")
        .agg(
            cohorts=pl.len().cast(pl.Int64),
            cohort_size=pl.col("cohort_size").sum().cast(pl.Int64),
            users=pl.col("users").sum().cast(pl.Int64),
        )
        .with_columns(
            retention=pl.col("users") / pl.col("cohort_size"),
            ci_low=wilson_exprs(pl.col("users"), pl.col("cohort_size"))[0],
            ci_high=wilson_exprs(pl.col("users"), pl.col("cohort_size"))[1],
        )
        .sort(*keys, "offset")
    )

"""The event cube: the events pre-aggregated once, from which the KPI pass can start instead.

:func:`build_inputs <journeylib.kpis.build_inputs>` reads every event on each call: for a
dashboard that recomputes the KPI table at each filter change, that scan is most of the cost
of a large input. An :class:`EventCube` holds what that pass needs, aggregated by every
dimension value, so that any event-level filter on dimensions (and any user-level breakdown
by a dimension) is still answered exactly:

- ``days``: one row per user, local day and combination of dimension values, with the OR of
  the role bits of its events, the counts of purchase and payment-failed events, the purchase
  revenue (integer millionths), and the first and last timestamps with the row of the data
  they come from (so the first-touch and last-touch values break ties as the event pass does);
- ``sessions``: one row per session (and combination of dimension values) with its first and
  last timestamps;
- ``timed``: the events of the timed roles themselves, with their dimension values.

:meth:`EventCube.aggregate` then produces the same tables as the event pass (``user_period``,
``timed_events``, ``sessions``, the users' first events and the time range): the KPI formulas
run unchanged on them. A filter or breakdown on a column that is not a dimension, or a
config whose roles or time zone differ from the cube's, is refused by :meth:`EventCube.covers`
and the caller aggregates the events as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from journeylib.config import JourneyConfig
from journeylib.kpis._inputs import (
    _CANONICAL,
    TIMED_ROLES,
    _event_masks,
    _expand_roles,
    _gap_sessions,
    _has,
    _keyed,
    _role_bits,
    revenue_micro,
)
from journeylib.periods.calendar import Grain

__all__ = ["CUBE_TABLES", "EventCube", "build_cube"]

#: The tables of a cube, as written to and read from disk.
CUBE_TABLES = ("days", "sessions", "timed")
_TRUNCATE = {"day": "1d", "week": "1w", "month": "1mo"}


def _signature(config: JourneyConfig) -> dict:
    """What the cube's aggregates depend on in the config."""
    masks = _event_masks(config, _role_bits(config))
    timed = sorted({name for role in TIMED_ROLES for name in config.events_for(role)})
    return {
        "timezone": config.timezone,
        "masks": dict(sorted(masks.items())),
        "roles": list(config.roles),
        "timed": timed,
        "purchase": sorted(config.events_for("purchase")),
        "payment_failed": sorted(config.events_for("payment_failed")),
    }


@dataclass(frozen=True)
class EventCube:
    """The events aggregated by user, local day and dimension values (see the module doc).

    Attributes
    ----------
    days, sessions, timed
        The aggregated tables (``sessions`` is ``None`` when the events have no
        ``session_id``).
    dimensions
        The dimension columns the cube is aggregated by (every non-canonical column).
    schema
        The schema of the events it was built from.
    signature
        The parts of the config its aggregates depend on (roles, time zone, timed events).
    sessions_unique
        Every session has one combination of dimension values: a filter keeps or drops whole
        sessions, so no regrouping is needed.
    """

    days: pl.DataFrame
    sessions: pl.DataFrame | None
    timed: pl.DataFrame
    dimensions: tuple[str, ...]
    schema: dict[str, str]
    signature: dict
    sessions_unique: bool = False

    @property
    def tables(self) -> dict[str, pl.DataFrame]:
        found = {"days": self.days, "timed": self.timed}
        if self.sessions is not None:
            found["sessions"] = self.sessions
        return found

    def covers(
        self,
        config: JourneyConfig,
        schema: pl.Schema,
        filters: dict[str, list[str]],
        by: tuple[str, ...],
    ) -> bool:
        """Whether :meth:`aggregate` answers these filters and breakdown exactly."""
        if _schema_text(schema) != self.schema or _signature(config) != self.signature:
            return False
        dimensions = set(self.dimensions)
        return set(filters) <= dimensions and set(by) <= dimensions

    def event_count(self, filters: dict[str, list[str]], start, end) -> int:
        """Events with ``start <= timestamp < end`` (UTC datetimes) matching ``filters``.

        Counted from the rows' first and last timestamps: a day row lies wholly inside a
        range of whole local days, so the bounds must be local midnights.
        """
        rows = _filtered(self.days.lazy(), filters)
        inside = (pl.col("first_ts") >= start) & (pl.col("last_ts") < end)
        return int(rows.filter(inside).select(pl.col("events").sum()).collect().item() or 0)

    def aggregate(
        self,
        config: JourneyConfig,
        events: pl.LazyFrame,
        *,
        filters: dict[str, list[str]],
        grain: Grain,
        first: date,
        end: date,
        by: tuple[str, ...],
        with_sessions: bool,
    ) -> dict[str, pl.DataFrame]:
        """The tables of the event pass (as ``_aggregate`` returns them), from the cube.

        ``events`` are the filtered events: read only when sessions need them (events
        without a ``session_id``).
        """
        bits = _role_bits(config)
        activity_bits = sum(bits[role] for role in (config.activity_roles or []))
        pick_last = config.breakdown_touch == "last"
        days = _filtered(self.days.lazy(), filters)
        period = pl.col("_day").dt.truncate(_TRUNCATE[grain])
        inside = pl.col("_day").is_between(first, end, closed="left")
        row_active = _has(pl.col("_mask"), activity_bits) if activity_bits else pl.lit(True)
        offset = (pl.col("_day") - pl.col("period_start")).dt.total_days()
        day_bit = pl.when(row_active).then(pl.lit(2, pl.Int64).pow(offset)).cast(pl.UInt32)
        # the value on the first (last) event; among equal times, the earliest row of the data
        if pick_last:
            touch = [
                pl.col(c).sort_by(["last_ts", "last_row"], descending=[True, False]).first()
                for c in by
            ]
        else:
            touch = [pl.col(c).sort_by(["first_ts", "first_row"]).first() for c in by]
        user_period = (
            days.filter(inside)
            .with_columns(period.alias("period_start"))
            .with_columns(day_bit.alias("_day_bit"))
            .group_by("user_id", "period_start")
            .agg(
                (row_active.any() if activity_bits else pl.lit(True)).alias("active"),
                pl.col("_mask").bitwise_or().alias("_roles"),
                pl.col("_day_bit").bitwise_or().alias("_days"),
                pl.col("n_purchase").sum().cast(pl.UInt32),
                pl.col("n_payment_failed").sum().cast(pl.UInt32),
                pl.col("revenue_micro").sum(),
                *touch,
            )
        )
        seen = days.group_by("user_id").agg(pl.col("first_ts").min())
        time_range = days.select(
            pl.col("first_ts").min().alias("first_ts"), pl.col("last_ts").max().alias("last_ts")
        )
        timed = _filtered(self.timed.lazy(), filters).drop(*self.dimensions)
        plans = {"user_period": user_period, "seen": seen, "time_range": time_range}
        plans["timed_events"] = timed
        if with_sessions and self.sessions is not None:
            sessions = _filtered(self.sessions.lazy(), filters)
            if self.sessions_unique:
                plans["sessions"] = sessions.select(
                    "user_id", "session_id", "session_start", "session_end"
                )
            else:
                plans["sessions"] = sessions.group_by("user_id", "session_id").agg(
                    pl.col("session_start").min(), pl.col("session_end").max()
                )
        frames = dict(zip(plans, pl.collect_all(list(plans.values())), strict=True))
        frames["user_period"] = _expand_roles(frames["user_period"], config)
        if with_sessions and self.sessions is None:
            # inactivity gaps need each user's events: sessions come from the events here
            frames["sessions"] = _gap_sessions(_keyed(events)).collect()
        return frames


def _schema_text(schema: pl.Schema | dict) -> dict[str, str]:
    return {name: str(dtype) for name, dtype in schema.items()}


def _filtered(frame: pl.LazyFrame, filters: dict[str, list[str]]) -> pl.LazyFrame:
    """The event filter of ``build_inputs``, on the cube's dimension columns."""
    for column, values in filters.items():
        frame = frame.filter(pl.col(column).cast(pl.String).is_in(values))
    return frame


def build_cube(events: pl.LazyFrame, config: JourneyConfig) -> EventCube:
    """Aggregate validated events into an :class:`EventCube` (one shared scan).

    Examples
    --------
    >>> cube = build_cube(journey.tables["events"], journey.config)  # doctest: +SKIP
    >>> journey.cube = cube  # Journey.kpis now starts from it  # doctest: +SKIP
    """
    schema = events.collect_schema()
    dimensions = tuple(c for c in schema if c not in _CANONICAL)
    has_revenue = "revenue" in schema
    bits = _role_bits(config)
    masks = _event_masks(config, bits)
    mask_type = pl.UInt32 if len(bits) <= 32 else pl.UInt64
    purchase_bit = bits.get("purchase", 0)
    failed_bit = bits.get("payment_failed", 0)
    mask = pl.col("event").replace_strict(masks, default=0, return_dtype=mask_type)
    day = pl.col("timestamp").dt.convert_time_zone(config.timezone).dt.date()
    base = _keyed(events).with_row_index("_row").with_columns(mask.alias("_mask"))
    is_purchase = _has(pl.col("_mask"), purchase_bit) if purchase_bit else pl.lit(False)
    is_failed = _has(pl.col("_mask"), failed_bit) if failed_bit else pl.lit(False)
    revenue = (
        revenue_micro(pl.col("revenue")).filter(is_purchase).sum()
        if has_revenue
        else pl.lit(0, pl.Int64)
    )
    timestamp = pl.col("timestamp")
    days = base.group_by("user_id", day.alias("_day"), *dimensions).agg(
        pl.col("_mask").bitwise_or(),
        is_purchase.sum().cast(pl.UInt32).alias("n_purchase"),
        is_failed.sum().cast(pl.UInt32).alias("n_payment_failed"),
        revenue.alias("revenue_micro"),
        timestamp.min().alias("first_ts"),
        pl.col("_row").filter(timestamp == timestamp.min()).min().alias("first_row"),
        timestamp.max().alias("last_ts"),
        pl.col("_row").filter(timestamp == timestamp.max()).min().alias("last_row"),
        pl.len().cast(pl.UInt32).alias("events"),
    )
    timed_names = sorted({n for r in TIMED_ROLES for n in config.events_for(r)})
    timed = (
        base.filter(pl.col("event").is_in(timed_names))
        .sort("_row")
        .select(
            "user_id",
            "timestamp",
            pl.col("event").cast(pl.Enum(timed_names)),
            *(["revenue"] if has_revenue else []),
            *dimensions,
        )
    )
    plans = {"days": days, "timed": timed}
    if "session_id" in schema:
        plans["sessions"] = base.group_by("user_id", "session_id", *dimensions).agg(
            timestamp.min().alias("session_start"), timestamp.max().alias("session_end")
        )
    frames = dict(zip(plans, pl.collect_all(list(plans.values())), strict=True))
    sessions = frames.get("sessions")
    unique = sessions is not None and (
        sessions.select(pl.struct("user_id", "session_id").n_unique()).item() == sessions.height
    )
    return EventCube(
        days=frames["days"],
        sessions=sessions,
        timed=frames["timed"],
        dimensions=dimensions,
        schema=_schema_text(schema),
        signature=_signature(config),
        sessions_unique=unique,
    )

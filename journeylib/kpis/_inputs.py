"""The shared per-period aggregation every KPI reads: one pass over the events.

``build_inputs`` turns the validated events into small tables (per user and period, per session,
per user over all time, and the few events that timed KPIs need) in ONE ``pl.collect_all`` whose
plans share a single scan of the events (check with :func:`explain_inputs`). Inputs larger than
:data:`SLICE_EVENTS` events are aggregated in consecutive time slices of whole periods, one such
pass per slice, which bounds the memory. Every KPI formula is then a lazy query on these small
tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import polars as pl

from journeylib.config import JourneyConfig
from journeylib.data.filters import apply_filters
from journeylib.errors import DataError
from journeylib.periods.calendar import (
    Grain,
    align,
    local_bound,
    next_period_start,
    period_start_expr,
    period_starts,
    previous_period,
    truncate_to_grain,
)

if TYPE_CHECKING:
    from journeylib.kpis._cube import EventCube

__all__ = [
    "SESSION_GAP",
    "SLICE_EVENTS",
    "TIMED_ROLES",
    "KpiInputs",
    "build_inputs",
    "check_breakdown",
    "explain_inputs",
    "flag",
    "revenue_micro",
    "user_key",
]

#: Inactivity that ends a session when the events carry no ``session_id``.
SESSION_GAP = timedelta(minutes=30)
#: Revenue is summed in millionths of the currency unit (see :func:`revenue_micro`).
MICRO = 1_000_000
#: Seed of :func:`user_key` (fixed: keys are compared within one computation only).
USER_KEY_SEED = 20_261_123
#: Events aggregated at a time by :func:`build_inputs` (see its ``slice_events``).
SLICE_EVENTS = 2_500_000
#: Roles whose individual events timed KPIs (windows, medians) need.
TIMED_ROLES = ("signup", "activation", "trial_start", "add_to_cart", "purchase")


def flag(role: str) -> str:
    """Column name of the per-user flag "has an event of this role"."""
    return f"has_{role}"


@dataclass(frozen=True)
class KpiInputs:
    """The aggregated tables KPI formulas read (all lazy, all small).

    Attributes
    ----------
    periods
        ``period_start``, ``period_end`` (exclusive), ``days``, ``complete`` and ``reported``
        (False for the period before ``start``, kept for the previous-period values).
    user_period
        One row per user and period with ``active``, ``active_days`` (local days of the period
        with an activity event), ``has_<role>`` flags, ``n_purchase``, ``n_payment_failed``,
        ``revenue_micro`` and the breakdown columns (the user's
        first-touch value in the period, or last touch if the config says so).
    user_firsts
        Per user over ALL the data: ``first_seen`` (UTC), ``first_purchase``,
        ``second_purchase``.
    sessions
        Per session starting in the periods: ``user_id``, ``period_start``, breakdown,
        ``duration_seconds``.
    timed_events
        The events of :data:`TIMED_ROLES` with ``role``, ``timestamp``, ``revenue``.
    data_start, data_end
        The first event of the whole data (before filters) and the last event aggregated.
    spend, surveys, tickets
        The optional tables (filtered), or ``None`` when not configured.
    """

    config: JourneyConfig
    grain: Grain
    timezone: str
    start: date
    end: date
    by: tuple[str, ...]
    periods: pl.LazyFrame
    user_period: pl.LazyFrame
    user_firsts: pl.LazyFrame
    sessions: pl.LazyFrame
    timed_events: pl.LazyFrame
    data_start: datetime | None
    data_end: datetime | None
    spend: pl.LazyFrame | None = None
    surveys: pl.LazyFrame | None = None
    tickets: pl.LazyFrame | None = None
    unusable_tables: dict[str, str] = field(default_factory=dict)
    event_columns: frozenset[str] = frozenset()

    @property
    def periods_first(self) -> date:
        """Start of the earliest period aggregated (the one before :attr:`start`)."""
        return previous_period(self.start, self.grain)

    @property
    def available_tables(self) -> frozenset[str]:
        present = {"events"}
        present |= {t for t in ("spend", "surveys", "tickets") if getattr(self, t) is not None}
        return frozenset(present)

    def table_columns(self, table: str) -> frozenset[str]:
        """The columns of a canonical table of these inputs (empty when it is missing)."""
        if table == "events":
            return self.event_columns
        frame = getattr(self, table, None)
        return frozenset(frame.collect_schema()) if frame is not None else frozenset()

    def within_periods(self, frame: pl.LazyFrame, time_column: str) -> pl.LazyFrame:
        """Rows whose ``period_start`` is a period here and whose time is before its end.

        The last period may be cut short by ``end``: rows after it are not in the period.
        """
        bounds = self.periods.select("period_start", pl.col("end_utc").alias("_period_end"))
        return (
            frame.join(bounds, on="period_start")
            .filter(pl.col(time_column) < pl.col("_period_end"))
            .drop("_period_end")
        )


def user_key(column: pl.Expr) -> pl.Expr:
    """The integer key that stands for a user id in the aggregates (a 64-bit hash).

    Grouping and joining on 64-bit integers instead of strings makes the aggregates several
    times faster. Two different user ids share a key with a probability of about n² / 2⁶⁵
    (3 in 100 million for a million users); the aggregates hold no user ids, only counts.
    """
    return column.cast(pl.String).hash(seed=USER_KEY_SEED)


def revenue_micro(column: pl.Expr) -> pl.Expr:
    """Revenue in integer millionths of the currency unit.

    Sums of integers do not depend on the order of addition, so every total (and every report
    built on it) is the same to the last digit from run to run, whatever the threads did.
    """
    return (column * MICRO).round().cast(pl.Int64)


def _keyed(events: pl.LazyFrame) -> pl.LazyFrame:
    return events.with_columns(user_key(pl.col("user_id")).alias("user_id"))


#: Canonical event columns, which a user-level breakdown cannot use.
_CANONICAL = ("user_id", "timestamp", "event", "revenue", "session_id")


def check_breakdown(by: tuple[str, ...], schema: pl.Schema) -> None:
    """Raise :class:`DataError` unless ``by`` names distinct dimension columns of the events.

    A breakdown gives each user one value per period (the first or last touch), so it must be
    a dimension: not ``user_id``, ``timestamp``, ``event``, ``revenue`` or ``session_id``.
    """
    dimensions = [c for c in schema if c not in _CANONICAL]
    available = f"available dimensions: {', '.join(dimensions) or '(none)'}"
    for index, column in enumerate(by):
        if column in by[:index]:
            raise DataError(f"breakdown column {column!r} is given twice; {available}")
        if column in _CANONICAL:
            raise DataError(
                f"breakdown column {column!r} is a canonical column, not a dimension (each user "
                f"takes one value of a breakdown per period); {available}"
            )
        if column not in schema:
            raise DataError(f"breakdown column {column!r} is not in the events; {available}")


def _role_bits(config: JourneyConfig) -> dict[str, int]:
    """One bit per mapped role (and one for the activity roles), in config order."""
    roles = list(config.roles)
    if len(roles) > 62:
        raise DataError(f"at most 62 roles can be mapped, the config maps {len(roles)}")
    return {role: 1 << index for index, role in enumerate(roles)}


def _event_masks(config: JourneyConfig, bits: dict[str, int]) -> dict[str, int]:
    """Event name -> OR of the bits of every role it plays."""
    masks: dict[str, int] = {}
    for role, names in config.roles.items():
        for name in names:
            masks[name] = masks.get(name, 0) | bits[role]
    return masks


def _has(mask: pl.Expr, bit: int) -> pl.Expr:
    return (mask & pl.lit(bit, pl.UInt64)) != 0


def _plans(
    events: pl.LazyFrame,
    config: JourneyConfig,
    *,
    grain: Grain,
    first: date,
    end: date,
    by: tuple[str, ...],
    with_sessions: bool = True,
) -> dict[str, pl.LazyFrame]:
    """The lazy plans of the one pass; they share the scan of ``events``."""
    timezone = config.timezone
    schema = events.collect_schema()
    check_breakdown(by, schema)
    has_revenue = "revenue" in schema
    bits = _role_bits(config)
    masks = _event_masks(config, bits)
    activity_bits = sum(bits[role] for role in (config.activity_roles or []))
    purchase_bit = bits.get("purchase", 0)
    failed_bit = bits.get("payment_failed", 0)
    base = _keyed(events).select(
        "user_id",
        "timestamp",
        "event",
        *(["revenue"] if has_revenue else []),
        *(["session_id"] if "session_id" in schema else []),
        *by,
    )
    # 32-bit masks while the roles fit: every byte here is held per event by the group-by
    mask_type = pl.UInt32 if len(bits) <= 32 else pl.UInt64
    mask = pl.col("event").replace_strict(masks, default=0, return_dtype=mask_type)
    day = pl.col("timestamp").dt.convert_time_zone(timezone).dt.date()
    truncated = truncate_to_grain(day, grain)
    # rows outside [first, end) only count for the per-user firsts and the data's time range
    period = pl.when(day.is_between(first, end, closed="left")).then(truncated)
    pick = "arg_max" if config.breakdown_touch == "last" else "arg_min"
    is_purchase = _has(pl.col("_mask"), purchase_bit) if purchase_bit else pl.lit(False)
    is_active = _has(pl.col("_mask"), activity_bits) if activity_bits else pl.lit(True)
    revenue = (
        revenue_micro(pl.col("revenue")).filter(is_purchase).sum()
        if has_revenue
        else pl.lit(0, pl.Int64)
    )
    # bit d of _days: the user was active on day d of the period (d < 31 for every grain)
    offset = (pl.col("_day") - pl.col("period_start")).dt.total_days()
    day_bit = pl.when(is_active).then(pl.lit(2, pl.Int64).pow(offset)).cast(pl.UInt32)
    user_period = (
        base.with_columns(mask.alias("_mask"), day.alias("_day"), period.alias("period_start"))
        .with_columns(day_bit.alias("_day_bit"))
        .group_by("user_id", "period_start")
        .agg(
            (is_active.any() if activity_bits else pl.lit(True)).alias("active"),
            pl.col("_mask").bitwise_or().alias("_roles"),
            pl.col("_day_bit").bitwise_or().alias("_days"),
            # 32-bit counts: per user and period they stay small, and large inputs hold millions
            is_purchase.sum().cast(pl.UInt32).alias("n_purchase"),
            (_has(pl.col("_mask"), failed_bit) if failed_bit else pl.lit(False))
            .sum()
            .cast(pl.UInt32)
            .alias("n_payment_failed"),
            revenue.alias("revenue_micro"),
            pl.col("timestamp").min().alias("first_ts"),
            *(pl.col(c).get(getattr(pl.col("timestamp"), pick)()).alias(c) for c in by),
        )
    )
    timed_names = [n for r in TIMED_ROLES for n in config.events_for(r)]
    timed_events = base.filter(pl.col("event").is_in(timed_names)).select(
        "user_id",
        "timestamp",
        # an enum of the few timed names: 1 byte a row instead of a string (millions of rows)
        pl.col("event").cast(pl.Enum(sorted(set(timed_names)))),
        *(["revenue"] if has_revenue else []),
    )
    return {
        "user_period": user_period,
        "timed_events": timed_events,
        # a global aggregate streams in constant memory, unlike one more column per group
        "time_range": base.select(
            pl.col("timestamp").min().alias("first_ts"), pl.col("timestamp").max().alias("last_ts")
        ),
        **({"sessions": _session_plan(base, schema)} if with_sessions else {}),
    }


def _expand_roles(user_period: pl.DataFrame, config: JourneyConfig) -> pl.DataFrame:
    """One ``has_<role>`` column per role from the OR-ed role bits, ``active_days`` from the day
    bits."""
    bits = _role_bits(config)
    return user_period.with_columns(
        *(_has(pl.col("_roles"), bit).alias(flag(role)) for role, bit in bits.items()),
        pl.col("_days").bitwise_count_ones().fill_null(0).cast(pl.UInt8).alias("active_days"),
    ).drop("_roles", "_days")


def _firsts(seen: pl.DataFrame, timed_events: pl.DataFrame, config: JourneyConfig) -> pl.DataFrame:
    """Per user over all the data: first event, first and second purchase.

    ``seen`` has one row per user with ``first_ts``.
    """
    purchases = (
        timed_events.filter(pl.col("event").is_in(config.events_for("purchase")))
        .group_by("user_id")
        .agg(
            pl.col("timestamp").min().alias("first_purchase"),
            pl.col("timestamp").bottom_k(2).max().alias("_second"),
            pl.len().alias("_orders"),
        )
        .select(
            "user_id",
            "first_purchase",
            pl.when(pl.col("_orders") >= 2).then(pl.col("_second")).alias("second_purchase"),
        )
    )
    first_seen = seen.select("user_id", pl.col("first_ts").alias("first_seen"))
    return first_seen.join(purchases, on="user_id", how="left")


def _gap_sessions(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Sessions of events without ``session_id``: split at :data:`SESSION_GAP` of inactivity."""
    gap_key = (
        (pl.col("timestamp").diff().over("user_id", order_by="timestamp") > SESSION_GAP)
        .fill_null(True)
        .cum_sum()
        .over("user_id", order_by="timestamp")
    )
    return (
        frame.select("user_id", "timestamp")
        .with_columns(pl.concat_str(pl.lit("~gap~"), gap_key.cast(pl.String)).alias("session_id"))
        .group_by("user_id", "session_id")
        .agg(
            pl.col("timestamp").min().alias("session_start"),
            pl.col("timestamp").max().alias("session_end"),
        )
    )


def _session_plan(base: pl.LazyFrame, schema: pl.Schema) -> pl.LazyFrame:
    """Sessions keyed by ``session_id``; events without one form a null-keyed group per user.

    The null-keyed groups are split by inactivity afterwards (:func:`_sessions`), in a second
    pass over only those events, so data with session ids is scanned once.
    """
    if "session_id" not in schema:
        return _gap_sessions(base)
    return base.group_by("user_id", "session_id").agg(
        pl.col("timestamp").min().alias("session_start"),
        pl.col("timestamp").max().alias("session_end"),
    )


def _sessions(
    keyed: pl.DataFrame, events: pl.LazyFrame, timezone: str, first: date, end: date
) -> pl.DataFrame:
    """Sessions starting in ``[first, end)`` with their duration in seconds."""
    if keyed["session_id"].null_count():
        without_id = events.filter(pl.col("session_id").is_null())
        keyed = pl.concat(
            [keyed.filter(pl.col("session_id").is_not_null()), _gap_sessions(without_id).collect()]
        )
    local = pl.col("session_start").dt.convert_time_zone(timezone).dt.date()
    return keyed.filter(local.is_between(first, end, closed="left")).select(
        "user_id",
        "session_start",
        ((pl.col("session_end") - pl.col("session_start")).dt.total_microseconds() / 1e6).alias(
            "duration_seconds"
        ),
    )


def _slice_count(events: pl.LazyFrame, slice_events: int | None) -> int:
    """How many time slices keep each slice's aggregation under ``slice_events`` events."""
    if slice_events is None:
        return 1
    if slice_events < 1:
        raise ValueError(f"slice_events must be a positive number of events, got {slice_events}")
    rows = events.select(pl.len()).collect().item()
    return max(1, -(-rows // slice_events))


def _slice_bounds(
    first: date, end: date, grain: Grain, slices: int, timezone: str
) -> list[tuple[datetime | None, datetime | None]]:
    """``[lower, upper)`` UTC bounds of consecutive slices made of whole periods.

    The first slice is open below and the last open above, so every event is in exactly one
    slice, and every (user, period) group lies in one slice.
    """
    starts = period_starts(first, end, grain)
    count = max(1, min(slices, len(starts)))
    cuts = [starts[len(starts) * index // count] for index in range(1, count)]
    uppers: list[datetime | None] = [local_bound(cut, timezone) for cut in cuts]
    lowers: list[datetime | None] = [None, *uppers]
    return list(zip(lowers, [*uppers, None], strict=True))


def _merge_seen(seen: pl.DataFrame, more: pl.DataFrame) -> pl.DataFrame:
    """Per user: the first timestamp over both frames."""
    return pl.concat([seen, more]).group_by("user_id").agg(pl.col("first_ts").min())


def _aggregate(
    events: pl.LazyFrame,
    config: JourneyConfig,
    *,
    grain: Grain,
    first: date,
    end: date,
    by: tuple[str, ...],
    with_sessions: bool,
    slices: int,
) -> dict[str, pl.DataFrame]:
    """Run the plans of :func:`_plans` over consecutive time slices of the events.

    Each slice is one shared scan; its ``(user, period)`` groups are complete, so the slices'
    results are simply stacked, and the memory of the aggregation is that of one slice. A
    Parquet file sorted by time skips the row groups outside each slice, so the slices together
    still read the file once. Sessions can cross a slice bound and are merged afterwards.
    """
    bounds = _slice_bounds(first, end, grain, slices, config.timezone)
    sliced = len(bounds) > 1
    gap_sessions = with_sessions and sliced and "session_id" not in events.collect_schema()
    parts: dict[str, list[pl.DataFrame]] = {}
    seen: pl.DataFrame | None = None
    for lower, upper in bounds:
        piece = events
        if lower is not None:
            piece = piece.filter(pl.col("timestamp") >= lower)
        if upper is not None:
            piece = piece.filter(pl.col("timestamp") < upper)
        plans = _plans(
            piece,
            config,
            grain=grain,
            first=first,
            end=end,
            by=by,
            with_sessions=with_sessions and not gap_sessions,
        )
        frames = dict(zip(plans, pl.collect_all(list(plans.values())), strict=True))
        # reduce each slice at once: only its periods' rows and its users' first times stay
        rows = frames.pop("user_period")
        slice_seen = rows.group_by("user_id").agg(pl.col("first_ts").min())
        # merged slice by slice, so it holds at most one row per user
        seen = slice_seen if seen is None else _merge_seen(seen, slice_seen)
        frames["user_period"] = _expand_roles(
            rows.filter(pl.col("period_start").is_not_null()).drop("first_ts"), config
        )
        del rows
        for name, frame in frames.items():
            parts.setdefault(name, []).append(frame)
    collected = {name: pl.concat(frames) for name, frames in parts.items()}
    collected["seen"] = seen
    if gap_sessions:
        # inactivity gaps need each user's events in one piece: one more pass, sessions only
        collected["sessions"] = _gap_sessions(_keyed(events)).collect()
    elif sliced and "sessions" in collected:
        collected["sessions"] = (
            collected["sessions"]
            .group_by("user_id", "session_id")
            .agg(pl.col("session_start").min(), pl.col("session_end").max())
        )
    return collected


def _period_frame(first: date, start: date, end: date, grain: Grain, timezone: str) -> pl.DataFrame:
    rows = []
    current = first
    while current < end:
        natural_end = next_period_start(current, grain)
        period_end = min(natural_end, end)
        rows.append(
            {
                "period_start": current,
                "period_end": period_end,
                "days": (period_end - current).days,
                "complete": period_end == natural_end,
                "reported": current >= start,
                "start_utc": local_bound(current, timezone),
                "end_utc": local_bound(period_end, timezone),
            }
        )
        current = natural_end
    return pl.DataFrame(
        rows,
        schema={
            "period_start": pl.Date,
            "period_end": pl.Date,
            "days": pl.Int64,
            "complete": pl.Boolean,
            "reported": pl.Boolean,
            "start_utc": pl.Datetime("us", "UTC"),
            "end_utc": pl.Datetime("us", "UTC"),
        },
    )


def build_inputs(
    tables: dict[str, pl.LazyFrame],
    config: JourneyConfig,
    *,
    start: date,
    end: date,
    grain: Grain = "week",
    by: tuple[str, ...] = (),
    filters: dict[str, list[str]] | None = None,
    with_sessions: bool = True,
    slice_events: int | None = SLICE_EVENTS,
    data_start: datetime | None = None,
    cube: EventCube | None = None,
) -> KpiInputs:
    """Aggregate the events once (one shared scan) into the tables KPI formulas read.

    Parameters
    ----------
    tables
        Validated canonical tables (``events`` and any of ``spend``, ``surveys``, ``tickets``).
    config
        The journey config (roles, time zone, touch rule).
    start, end
        Local dates of ``[start, end)``; ``start`` is aligned down to the grain.
    grain
        ``day``, ``week`` (ISO) or ``month``.
    by
        User-level breakdown columns (first touch in the period by default).
    filters
        Event-level filters ``{column: [values]}``, applied to every table that has the column.
    with_sessions
        Build the sessions table (needed by ``avg_session_duration`` and
        ``repeat_visit_rate`` only).
    slice_events
        Aggregate at most about this many events at a time (whole periods per slice), which
        bounds the memory of large inputs; ``None`` aggregates everything in one pass.
    data_start
        The first event of the whole data, before any filter (what a previous period is
        compared with: one wholly before it has no value). Default: the first event of
        ``tables["events"]``.
    cube
        The same events pre-aggregated (:func:`journeylib.kpis._cube.build_cube`): the pass
        starts from it when it covers the filters and breakdown, with the same result.

    Examples
    --------
    >>> inputs = build_inputs(loaded.tables, config, start=date(2026, 6, 1),
    ...                       end=date(2026, 7, 1))  # doctest: +SKIP
    """
    if end <= start:
        raise DataError(f"empty period: end {end} is not after start {start}")
    check_breakdown(tuple(by), tables["events"].collect_schema())
    aligned = align(start, grain)
    first = previous_period(aligned, grain)
    filters = filters or {}
    unusable: dict[str, str] = {}
    filtered: dict[str, pl.LazyFrame] = {}
    for name, table in tables.items():
        schema = table.collect_schema()
        if name == "events":
            table = apply_filters(table, filters)
        else:
            absent = [column for column in filters if column not in schema]
            if absent:
                unusable[name] = f"the {name} table has no column {absent[-1]!r} to filter on"
            table = apply_filters(table, {c: v for c, v in filters.items() if c in schema})
        if name == "spend":
            for column in by:
                if column not in schema:
                    unusable[name] = f"the spend table has no column {column!r} to break down by"
        filtered[name] = table

    events = filtered["events"]
    if cube is not None and cube.covers(config, tables["events"].collect_schema(), filters, by):
        collected = cube.aggregate(
            config,
            events,
            filters=filters,
            grain=grain,
            first=first,
            end=end,
            by=tuple(by),
            with_sessions=with_sessions,
        )
    else:
        collected = _aggregate(
            events,
            config,
            grain=grain,
            first=first,
            end=end,
            by=by,
            with_sessions=with_sessions,
            slices=_slice_count(tables["events"], slice_events),
        )
    periods = _period_frame(first, aligned, end, grain, config.timezone)
    seen = collected["seen"]
    firsts = _firsts(seen, collected["timed_events"], config)
    time_range = collected["time_range"]
    if data_start is None:
        data_start = (
            tables["events"].select(pl.col("timestamp").min()).collect().item()
            if filters
            else time_range["first_ts"].min()
        )
    data_end = time_range["last_ts"].max()
    user_period = collected["user_period"]
    if "sessions" in collected:
        sessions = _sessions(collected["sessions"], _keyed(events), config.timezone, first, end)
    else:
        sessions = pl.DataFrame(
            schema={
                "user_id": pl.UInt64,
                "session_start": pl.Datetime("us", "UTC"),
                "duration_seconds": pl.Float64,
            }
        )
    # lazy: the join runs only when a session KPI is computed
    sessions_lazy = (
        sessions.lazy()
        .with_columns(
            period_start_expr("session_start", grain, config.timezone).alias("period_start")
        )
        .join(
            user_period.lazy().select("user_id", "period_start", *by),
            on=["user_id", "period_start"],
            how="left",
        )
    )
    return KpiInputs(
        config=config,
        grain=grain,
        timezone=config.timezone,
        start=aligned,
        end=end,
        by=tuple(by),
        periods=periods.lazy(),
        user_period=user_period.lazy(),
        user_firsts=firsts.lazy(),
        sessions=sessions_lazy,
        timed_events=collected["timed_events"].lazy(),
        data_start=data_start,
        data_end=data_end,
        spend=filtered.get("spend"),
        surveys=filtered.get("surveys"),
        tickets=filtered.get("tickets"),
        unusable_tables=unusable,
        event_columns=frozenset(events.collect_schema()),
    )


def explain_inputs(
    events: pl.LazyFrame,
    config: JourneyConfig,
    *,
    start: date,
    end: date,
    grain: Grain = "week",
    by: tuple[str, ...] = (),
) -> str:
    """The optimised plan of the one pass over the events (shows the shared scan)."""
    first = previous_period(align(start, grain), grain)
    plans = _plans(events, config, grain=grain, first=first, end=end, by=by)
    return pl.explain_all(list(plans.values()))

"""The numbers a dashboard shows: the Journey API, called once per view and memoised.

Nothing is computed here that the engine does not compute: every frame comes from a method of
:class:`journeylib.journey.Journey` with the view's period, grain and filters, the same calls
``journey kpis|funnel|retention|incidents|friction`` make. What this module adds is memory of
what did not change between two interactions (a bounded least-recently-used store) and the
tables loaded from the on-disk cache (:mod:`journeylib.dashboard.cache`).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import polars as pl

from journeylib.dashboard.state import View, ViewOptions
from journeylib.data.filters import apply_filters
from journeylib.journey import Journey
from journeylib.periods import local_bound, next_period_start, periods_before, previous_period
from journeylib.periods.calendar import align

__all__ = ["DashboardData", "Dimension", "Memo", "open_data"]

T = TypeVar("T")
#: Views remembered per kind of result; about 40 frames of at most a few thousand rows.
MEMO_SIZE = 8
#: Periods shown by default: the last full ``grain`` and the ones before it.
DEFAULT_PERIODS = 8
#: Columns of the canonical events table that are not dimensions.
_NOT_DIMENSIONS = frozenset({"user_id", "timestamp", "event", "session_id", "revenue"})
#: A dimension with more values than this lists the largest ones only.
MAX_VALUES_LISTED = 200


@dataclass(frozen=True)
class Dimension:
    """A dimension of the events: its values with their user counts (largest first)."""

    name: str
    values: tuple[tuple[str, int], ...]


class Memo:
    """A least-recently-used store of at most ``size`` results per kind."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self.size = size
        self._store: dict[str, OrderedDict[Hashable, Any]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, kind: str, key: Hashable, compute: Callable[[], T]) -> T:
        store = self._store.setdefault(kind, OrderedDict())
        if key in store:
            store.move_to_end(key)
            self.hits += 1
            return store[key]
        self.misses += 1
        value = compute()
        store[key] = value
        if len(store) > self.size:
            store.popitem(last=False)
        return value


class DashboardData:
    """A journey and the memoised results of the views shown on it."""

    def __init__(self, journey: Journey, *, steps: tuple[str, ...] = (), window: str = "") -> None:
        self.journey = journey
        self.config = journey.config
        self.memo = Memo()
        self._steps = steps
        self._window = window
        self.zone = ZoneInfo(self.config.timezone)

    # ------------------------------------------------------------------ the data's shape

    @property
    def first_day(self) -> date:
        return self.journey.time_range[0].astimezone(self.zone).date()

    @property
    def last_day(self) -> date:
        return self.journey.time_range[1].astimezone(self.zone).date()

    def dimensions(self) -> list[Dimension]:
        """Every dimension of the events with its values and their distinct users."""

        def compute() -> list[Dimension]:
            events = self.journey.tables["events"]
            schema = events.collect_schema()
            partitions = _partition_columns(self.config)
            names = [
                name
                for name, dtype in schema.items()
                if name not in _NOT_DIMENSIONS
                and name not in partitions
                and (dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum))
            ]
            found = []
            for name in names:
                counts = (
                    events.select("user_id", pl.col(name).cast(pl.String))
                    .drop_nulls(name)
                    .group_by(name)
                    .agg(pl.col("user_id").n_unique().alias("users"))
                    .sort(["users", name], descending=[True, False])
                    .collect()
                )
                if counts.height == 0:
                    continue
                values = tuple(
                    (str(value), int(users))
                    for value, users in counts.head(MAX_VALUES_LISTED).rows()
                )
                found.append(Dimension(name, values))
            return found

        return self.memo.get("dimensions", (), compute)

    def default_steps(self) -> tuple[str, ...]:
        if self._steps:
            return self._steps
        funnels = self.config.funnels
        if funnels:
            return tuple(str(step) for step in next(iter(funnels.values())).steps)
        return ()

    def default_window(self) -> str:
        if self._window:
            return self._window
        funnels = self.config.funnels
        if funnels and not self._steps:
            return next(iter(funnels.values())).window_text
        return "7d"

    def step_names(self) -> frozenset[str]:
        """What a funnel step may be: a mapped role or an event name of the data."""
        names = set(self.config.roles)
        names |= set(self.journey._loaded.event_names or ())
        return frozenset(names)

    def default_view(self) -> View:
        """The last :data:`DEFAULT_PERIODS` full weeks before the data's end."""
        return self.view_for_grain("week")

    def view_for_grain(self, grain: str, base: View | None = None) -> View:
        """A view ending with the last full ``grain`` of the data (``base``'s other fields)."""
        end = align(self.last_day + timedelta(days=1), grain)
        if end <= self.first_day:
            end = self.last_day + timedelta(days=1)
        start = periods_before(end, grain, DEFAULT_PERIODS)
        start = max(start, align(self.first_day, grain))
        if base is None:
            return View(
                start=start,
                end=end,
                grain=grain,  # type: ignore[arg-type]
                steps=self.default_steps(),
                window=self.default_window(),
            )
        return base.changed(start=start, end=end, grain=grain)

    def options(self, default: View) -> ViewOptions:
        return ViewOptions(
            default=default,
            first_day=self.first_day,
            last_day=self.last_day + timedelta(days=1),
            dimensions={d.name: frozenset(v for v, _ in d.values) for d in self.dimensions()},
            step_names=self.step_names(),
            cohort_roles=frozenset(self.config.roles),
        )

    # ------------------------------------------------------------------ per view

    @staticmethod
    def _filters_key(view: View) -> tuple:
        return tuple(sorted((k, tuple(v)) for k, v in view.filter_map.items()))

    def event_count(self, view: View) -> int:
        """Events in ``[start, end)`` with the view's filters (0: the empty state)."""
        key = (view.start, view.end, self._filters_key(view))

        def compute() -> int:
            events = self.journey.tables["events"]
            filters = view.filter_map
            start = local_bound(view.start, self.config.timezone)
            end = local_bound(view.end, self.config.timezone)
            cube = self.journey.cube
            if cube is not None and cube.covers(self.config, events.collect_schema(), filters, ()):
                return cube.event_count(filters, start, end)
            events = apply_filters(events, filters)
            inside = (pl.col("timestamp") >= start) & (pl.col("timestamp") < end)
            return int(events.filter(inside).select(pl.len()).collect().item())

        return self.memo.get("count", key, compute)

    def kpi_table(self, view: View) -> pl.DataFrame:
        """``journey.kpis`` over the view's period: the same call as ``journey kpis``."""
        key = (view.start, view.end, view.grain, self._filters_key(view))
        return self.memo.get(
            "kpis",
            key,
            lambda: self.journey.kpis(
                start=view.start, end=view.end, grain=view.grain, filters=view.filter_map
            ),
        )

    def card_period(self, view: View) -> date:
        """The start of the last period of the view: the one the cards show."""
        table = self.kpi_table(view)
        return table["period_start"].max()

    def cards(self, view: View) -> pl.DataFrame:
        """The rows of the last period, compared with the view's comparison period."""
        key = (view.start, view.end, view.grain, view.comparison, self._filters_key(view))

        def compute() -> pl.DataFrame:
            table = self.kpi_table(view)
            period_start = table["period_start"].max()
            rows = table.filter(pl.col("period_start") == period_start)
            if view.comparison == "previous":
                return rows
            from journeylib.kpis import compare_with

            compared_start = _year_before(period_start, view.grain)
            compared = self.journey.kpis(
                start=compared_start,
                end=next_period_start(compared_start, view.grain),
                grain=view.grain,
                filters=view.filter_map,
            ).filter(pl.col("period_start") == compared_start)
            return compare_with(rows, compared)

        return self.memo.get("cards", key, compute)

    def score(self, view: View):
        key = (view.start, view.end, view.grain, view.comparison, self._filters_key(view))
        return self.memo.get("score", key, lambda: self.journey.score(table=self.cards(view)))

    def funnel(self, view: View) -> pl.DataFrame:
        key = (view.start, view.end, view.steps, view.window, view.breakdown)
        key += (self._filters_key(view),)
        return self.memo.get(
            "funnel",
            key,
            lambda: self.journey.funnel(
                list(view.steps) or None,
                start=view.start,
                end=view.end,
                window=view.window,
                by=view.breakdown,
                filters=view.filter_map,
            ),
        )

    def retention(self, view: View, cohorts: int = 8) -> pl.DataFrame:
        grain = view.retention_grain
        key = (view.end, grain, view.cohort, self._filters_key(view))

        def compute() -> pl.DataFrame:
            start = periods_before(align(view.end, grain), grain, cohorts)
            start = max(start, align(self.first_day, grain))
            return self.journey.retention(
                start=start,
                end=view.end,
                grain=grain,
                cohort_role=view.cohort,
                max_offset=cohorts,
                filters=view.filter_map,
            )

        return self.memo.get("retention", key, compute)

    def channels(self, view: View, column: str = "channel") -> pl.DataFrame | None:
        """KPIs by ``column`` in the cards' period (``None``: the events have no such column)."""
        if column not in self.journey.tables["events"].collect_schema():
            return None
        period_start = self.card_period(view)
        key = (period_start, view.grain, column, self._filters_key(view))
        return self.memo.get(
            "channels",
            key,
            lambda: self.journey.kpis(
                start=period_start,
                end=min(next_period_start(period_start, view.grain), view.end),
                grain=view.grain,
                by=column,
                filters=view.filter_map,
                kpis=["conversion_rate", "cost_per_conversion", "unique_visitors"],
            ),
        )

    def incidents(self, view: View):
        """Incidents overlapping the view's period (``Journey.incidents_in``, as the report's
        headline names them): the view's funnel and the watched rate KPIs."""
        key = (view.start, view.end, view.steps, view.window)
        key += (self._filters_key(view),)
        return self.memo.get(
            "incidents",
            key,
            lambda: self.journey.incidents_in(
                view.start,
                view.end,
                steps=list(view.steps) or None,
                window=view.window,
                filters=view.filter_map,
            ),
        )

    def friction(self, view: View):
        key = (view.start, view.end, view.steps, view.window, self._filters_key(view))
        return self.memo.get(
            "friction",
            key,
            lambda: self.journey.friction(
                list(view.steps) or None,
                start=view.start,
                end=view.end,
                window=view.window,
                filters=view.filter_map,
            ),
        )


def _year_before(start: date, grain: str) -> date:
    """The comparison period of ``previous_year`` (as the report's ``comparison_period``)."""
    from journeylib.report.inputs import comparison_period
    from journeylib.report.period import ReportPeriod

    period = ReportPeriod(start, next_period_start(start, grain), grain, str(start))  # type: ignore[arg-type]
    compared = comparison_period("previous_year", period)
    return compared.start if compared is not None else previous_period(start, grain)


def _partition_columns(config) -> frozenset[str]:
    """Hive partition keys of a folder source (``month=2026-06/``): not dimensions."""
    source = config.sources.events
    if source.path is None or not Path(source.path).is_dir():
        return frozenset()
    names = set()
    for folder in Path(source.path).iterdir():
        if folder.is_dir() and "=" in folder.name:
            names.add(folder.name.split("=", 1)[0])
    return frozenset(names)


def open_data(
    config_path: str | os.PathLike[str] | None = None,
    *,
    events: str | os.PathLike[str] | None = None,
    timezone: str = "UTC",
    steps: tuple[str, ...] = (),
    window: str = "",
    cache_dir: str | os.PathLike[str] | None = None,
) -> tuple[DashboardData, bool]:
    """Load a journey for the dashboard (a config, or an events file as ``--events`` reads it).

    The journey's KPI pass starts from the events' cube (:mod:`journeylib.kpis._cube`),
    loaded with the tables from the on-disk cache. Returns the data and whether its tables
    came from that cache.
    """
    from journeylib.config import load_config
    from journeylib.dashboard.cache import load_entry

    if events is not None:
        from journeylib.data.adhoc import events_config

        config = events_config(events, timezone)
    else:
        config = load_config(config_path)  # type: ignore[arg-type]
    entry = load_entry(config, Path(cache_dir) if cache_dir else None)
    journey = Journey(entry.loaded)
    journey.cube = entry.cube  # the KPI pass starts from the events' cube
    if steps:
        journey._check_steps(list(steps), [])  # a step that does not exist: DataError
    return DashboardData(journey, steps=steps, window=window), entry.cached

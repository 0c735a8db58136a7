"""``Journey``: a company's validated tables and the analyst API.

>>> import journeylib
>>> journey = journeylib.load("data/sample/journey.yml")  # doctest: +SKIP
>>> journey.kpis(grain="week").head()  # doctest: +SKIP

Every number the report, the dashboard and the CLI show comes from these methods.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Literal

import polars as pl

from journeylib._duration import parse_duration
from journeylib.config import JourneyConfig
from journeylib.errors import DataError
from journeylib.loading import LoadedTables, load_tables
from journeylib.periods import Grain, align, local_bound

__all__ = ["Journey", "load"]

DateLike = date | datetime | str
#: KPIs that need the sessions table (a sort-free but extra aggregation of the events).
SESSION_KPIS = frozenset({"avg_session_duration", "repeat_visit_rate"})


class Journey:
    """The validated tables of one journey and the analyses on them.

    Build it with :func:`load`. Tables stay lazy; each analysis collects what it needs once.

    Attributes
    ----------
    config
        The journey config.
    tables
        Validated canonical lazy tables by name.
    quality
        The data-quality summary (quarantined rows, duplicates, notes).
    """

    def __init__(self, loaded: LoadedTables) -> None:
        self._loaded = loaded
        self.config: JourneyConfig = loaded.config
        self.tables: dict[str, pl.LazyFrame] = loaded.tables
        self.quality = loaded.quality
        self.quarantine = loaded.quarantine

    def __repr__(self) -> str:
        first, last = self.time_range
        return (
            f"Journey({self.config.name!r}, tables={sorted(self.tables)}, "
            f"events {first:%Y-%m-%d} to {last:%Y-%m-%d})"
        )

    @cached_property
    def time_range(self) -> tuple[datetime, datetime]:
        """First and last event timestamps (UTC)."""
        bounds = (
            self.tables["events"]
            .select(
                pl.col("timestamp").min().alias("first"), pl.col("timestamp").max().alias("last")
            )
            .collect()
        )
        first, last = bounds.row(0)
        if first is None:
            raise DataError("the events table has no valid rows")
        return first, last

    def _local_range(self, start: DateLike | None, end: DateLike | None) -> tuple[date, date]:
        """``[start, end)`` as local dates; defaults: the whole time range of the data."""
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(self.config.timezone)
        first, last = self.time_range
        start_day = _as_date(start, "start") if start is not None else first.astimezone(zone).date()
        end_day = (
            _as_date(end, "end")
            if end is not None
            else last.astimezone(zone).date() + timedelta(days=1)
        )
        if end_day <= start_day:
            raise DataError(f"empty period: end {end_day} is not after start {start_day}")
        return start_day, end_day

    def kpis(
        self,
        *,
        start: DateLike | None = None,
        end: DateLike | None = None,
        grain: Grain = "week",
        by: str | Sequence[str] | None = None,
        filters: Mapping[str, str | Sequence[str]] | None = None,
        kpis: Sequence[str] | None = None,
    ) -> pl.DataFrame:
        """The KPI table: one row per period x breakdown x KPI.

        Parameters
        ----------
        start, end
            Local dates of ``[start, end)`` (default: the whole time range of the data).
            ``start`` is aligned down to the start of its period.
        grain
            ``day``, ``week`` (ISO, Monday start) or ``month``.
        by
            User-level breakdown column(s): each user takes the value of their first event in
            the period (last event when the config says ``breakdown_touch: last``).
        filters
            Event-level filters ``{column: value or values}``.
        kpis
            KPI names (default: every KPI of the journey's stages).

        Returns
        -------
        pl.DataFrame
            Columns ``period_start``, ``period_end``, ``complete``, the breakdown columns,
            ``stage``, ``kpi``, ``unit``, ``direction``, ``value``, ``numerator``,
            ``denominator``, ``ci_low``, ``ci_high`` (95% Wilson for rates), ``previous``,
            ``change``, ``relative_change``, ``p_value`` (two-proportion z-test of the change
            for rates), ``significant``, ``target``, ``status``, ``available``, ``reason``.

        Examples
        --------
        >>> journey.kpis(start="2026-06-01", end="2026-07-01", grain="week",
        ...              by="channel")  # doctest: +SKIP
        """
        from journeylib.kpis import build_inputs, compute_kpi_table

        start_day, end_day = self._local_range(start, end)
        wanted = kpis if kpis is not None else [k for s in self.config.stages for k in s.kpis]
        inputs = build_inputs(
            self.tables,
            self.config,
            start=start_day,
            end=end_day,
            grain=grain,
            by=_as_tuple(by),
            filters=_as_filters(filters),
            with_sessions=bool(SESSION_KPIS & {k.split("[", 1)[0] for k in wanted}),
        )
        return compute_kpi_table(inputs, kpis)

    def funnel(
        self,
        steps: str | Sequence[str | Sequence[str]] | None = None,
        *,
        start: DateLike | None = None,
        end: DateLike | None = None,
        window: str | timedelta | None = None,
        unit: str | None = None,
        attempt: Literal["first", "best"] | None = None,
        strict: bool | None = None,
        exclude: Sequence[str] | None = None,
        by: str | None = None,
        trend: Grain | None = None,
        filters: Mapping[str, str | Sequence[str]] | None = None,
    ) -> pl.DataFrame:
        """A funnel (KPI_DEFINITIONS.md section 3): one row per [segment x] [period x] step.

        Parameters
        ----------
        steps
            The name of a funnel of the config (default: its first funnel), or a list of
            steps, each a role, an event name, or a list of event names.
        start, end
            Entry period ``[start, end)`` as local dates (default: the whole data).
        window, unit, attempt, strict, exclude
            Override the funnel's options (``window`` as ``"7d"``, ``"12h"``...).
        by
            Breakdown column: each unit takes its value on the entry event.
        trend
            Grain of a trended funnel (conversion per entry period).
        filters
            Event-level filters ``{column: value or values}``.

        Returns
        -------
        pl.DataFrame
            ``step``, ``step_name``, ``users``, ``conversion_from_first``,
            ``conversion_from_previous``, intervals, ``drop_off``, ``in_progress``,
            ``median_seconds_from_previous``, ``p90_seconds_from_previous``.

        Examples
        --------
        >>> journey.funnel(["visit", "add_to_cart", "purchase"], window="3d")  # doctest: +SKIP
        """
        from journeylib.funnel import compute_funnel

        definition = self._funnel_definition(steps)
        start_day, end_day = self._local_range(start, end)
        resolved = [self._step_events(step) for step in definition["steps"]]
        names = [
            step if isinstance(step, str) else " | ".join(step) for step in definition["steps"]
        ]
        excluded = [
            n for name in (exclude or definition["exclude"]) for n in self._step_events(name)
        ]
        result = compute_funnel(
            _filtered(self.tables["events"], _as_filters(filters)),
            steps=resolved,
            step_names=names,
            start=local_bound(start_day, self.config.timezone),
            end=local_bound(end_day, self.config.timezone),
            window=parse_duration(window) if window is not None else definition["window"],
            unit=unit or definition["unit"],
            attempt=attempt or definition["attempt"],
            strict=definition["strict"] if strict is None else strict,
            exclude=excluded,
            breakdown=by,
            trend_grain=trend,
            timezone=self.config.timezone,
            data_end=self.time_range[1],
        )
        return result.steps

    def _funnel_definition(self, steps: str | Sequence[str | Sequence[str]] | None) -> dict:
        funnels = self.config.funnels
        if steps is None or isinstance(steps, str):
            if not funnels:
                raise DataError(
                    "the config defines no funnel: pass steps, e.g. ['visit', 'purchase']"
                )
            name = steps or next(iter(funnels))
            if name not in funnels:
                raise DataError(f"no funnel named {name!r}; the config has: {', '.join(funnels)}")
            return funnels[name].model_dump()
        if len(steps) < 2:
            raise DataError(f"a funnel needs at least 2 steps, got {list(steps)}")
        return {
            "steps": list(steps),
            "window": timedelta(days=7),
            "unit": "user_id",
            "attempt": "first",
            "strict": False,
            "exclude": [],
        }

    def _step_events(self, step: str | Sequence[str]) -> list[str]:
        """Event names of a step: a role's mapped names, else the name itself."""
        if isinstance(step, str):
            return self.config.events_for(step) or [step]
        return [name for item in step for name in self._step_events(item)]

    def retention(
        self,
        *,
        start: DateLike | None = None,
        end: DateLike | None = None,
        grain: Grain = "week",
        cohort_role: str | None = None,
        return_role: str | None = None,
        mode: Literal["on", "on_or_after"] = "on",
        max_offset: int | None = None,
        filters: Mapping[str, str | Sequence[str]] | None = None,
    ) -> pl.DataFrame:
        """The retention cohort matrix (section 4): one row per cohort x offset.

        Parameters
        ----------
        start, end
            Cohorts whose period starts in ``[start, end)`` (default: all).
        grain
            Cohort and offset grain.
        cohort_role, return_role
            Roles of the cohort and return events (default: any event).
        mode
            ``on`` (return in period c + k) or ``on_or_after`` (in c + k or later).
        max_offset
            Largest offset listed.

        Returns
        -------
        pl.DataFrame
            ``cohort``, ``offset``, ``period_start``, ``cohort_size``, ``users``,
            ``retention`` (null for periods not fully observed).

        Examples
        --------
        >>> journey.retention(grain="week", cohort_role="purchase")  # doctest: +SKIP
        """
        from journeylib.retention import retention_matrix

        start_day, end_day = self._local_range(start, end)
        return retention_matrix(
            _filtered(self.tables["events"], _as_filters(filters)),
            grain=grain,
            timezone=self.config.timezone,
            cohort_events=self._role_events(cohort_role),
            return_events=self._role_events(return_role),
            mode=mode,
            cohort_start=align(start_day, grain) if start is not None else None,
            cohort_end=end_day if end is not None else None,
            max_offset=max_offset,
            data_end=self.time_range[1],
        ).collect()

    def _role_events(self, role: str | None) -> list[str] | None:
        if role is None:
            return None
        names = self.config.events_for(role)
        if not names:
            raise DataError(f"role {role!r} is not mapped to any event in the config")
        return names

    def score(
        self,
        *,
        start: DateLike | None = None,
        end: DateLike | None = None,
        grain: Grain = "week",
        filters: Mapping[str, str | Sequence[str]] | None = None,
        table: pl.DataFrame | None = None,
    ):
        """The journey effectiveness score (section 5) of the latest period.

        Parameters
        ----------
        start, end, grain, filters
            As for :meth:`kpis`; the score is of the last period of ``[start, end)``.
        table
            A KPI table already computed with :meth:`kpis` (no recomputation).

        Returns
        -------
        JourneyScore
            ``overall``, ``stages`` and ``kpis`` frames, ``left_out`` with reasons.

        Examples
        --------
        >>> journey.score(start="2026-10-01", end="2026-11-01", grain="month").overall
        ... # doctest: +SKIP
        """
        from journeylib.score import journey_score

        if table is None:
            table = self.kpis(start=start, end=end, grain=grain, filters=filters)
        latest = table.filter(pl.col("period_start") == pl.col("period_start").max())
        weights = self.config.kpi_weights
        scored = latest.select(
            "stage",
            "kpi",
            "value",
            "target",
            "direction",
            pl.col("kpi")
            .replace_strict(weights, default=1.0, return_dtype=pl.Float64)
            .alias("weight"),
        )
        return journey_score(
            scored, stage_weights={stage.name: stage.weight for stage in self.config.stages}
        )


def load(config: str | os.PathLike[str] | JourneyConfig, *, materialize: bool = True) -> Journey:
    """Load a journey: read and validate every source of its config.

    Parameters
    ----------
    config
        The path of a ``journey.yml`` or a :class:`JourneyConfig`.
    materialize
        Keep the validated tables in memory (default): sources are read and checked once.
        ``False`` keeps them lazy, for data larger than memory (every analysis re-reads them).

    Returns
    -------
    Journey

    Examples
    --------
    >>> journey = load("data/sample/journey.yml")  # doctest: +SKIP
    >>> print(journey.quality.summary())  # doctest: +SKIP
    """
    return Journey(load_tables(config, materialize=materialize))


def _as_date(value: DateLike, name: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise DataError(f"{name}: expected a date such as 2026-06-01, got {value!r}") from None


def _as_tuple(by: str | Sequence[str] | None) -> tuple[str, ...]:
    if by is None:
        return ()
    if isinstance(by, str):
        return (by,)
    return tuple(by)


def _as_filters(
    filters: Mapping[str, str | Sequence[str]] | None,
) -> dict[str, list[str]]:
    if not filters:
        return {}
    return {k: [v] if isinstance(v, str) else [str(x) for x in v] for k, v in filters.items()}


def _filtered(events: pl.LazyFrame, filters: dict[str, list[str]]) -> pl.LazyFrame:
    schema = events.collect_schema()
    for column, values in filters.items():
        if column not in schema:
            raise DataError(
                f"filter column {column!r} is not in the events; available: {', '.join(schema)}"
            )
        events = events.filter(pl.col(column).cast(pl.String).is_in(values))
    return events

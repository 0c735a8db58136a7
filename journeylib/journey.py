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

from journeylib.config import FunnelConfig, JourneyConfig
from journeylib.config.schema import is_known_role
from journeylib.data import LoadedTables, load_tables
from journeylib.data.filters import apply_filters, check_filter_columns
from journeylib.errors import DataError, did_you_mean
from journeylib.periods import Grain, align, local_bound, parse_window, periods_before

__all__ = ["Journey", "load"]

DateLike = date | datetime | str


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
        #: the events pre-aggregated (``journeylib.kpis._cube.EventCube``): :meth:`kpis`
        #: starts from it when it covers the filters; ``None``: from the events
        self.cube = None

    def _require_usable(self) -> None:
        """Refuse data validation found unusable: no configured role occurs in it.

        Called by the analyses that need roles (every KPI; a funnel or retention on roles);
        a funnel of event names, or retention of any event, still runs on such data.
        """
        problems = self.quality.problems
        if problems:
            raise DataError(problems[0])

    def _names_in_data(self, names: Sequence[str]) -> set[str]:
        """Which of ``names`` occur as event names (from the validation pass when it kept
        the distinct names, else one query for these names only)."""
        known = self._loaded.event_names
        if known is not None:
            return {name for name in names if name in known}
        found = (
            self.tables["events"]
            .filter(pl.col("event").is_in(list(names)))
            .select(pl.col("event").unique())
            .collect()
        )
        return set(found["event"].to_list())

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
            events = self.quality.table("events")
            rules = sorted({issue.rule for issue in events.issues})
            why = f" (rules broken: {', '.join(rules)})" if rules else ""
            raise DataError(
                f"the events table ({events.location}) has no valid rows: "
                f"{events.rows_read} read, {events.rows_quarantined} quarantined{why}; "
                "journey validate lists the rows and values"
            )
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
        from journeylib.kpis import build_inputs, check_kpi_names, compute_kpi_table, get_kpi

        self._require_usable()
        if kpis is not None:
            check_kpi_names(kpis, self.config)
        start_day, end_day = self._local_range(start, end)
        wanted = kpis if kpis is not None else [k for s in self.config.stages for k in s.kpis]
        inputs = build_inputs(
            self.tables,
            self.config,
            start=start_day,
            end=end_day,
            grain=grain,
            by=_as_tuple(by),
            filters=self._checked_filters(filters),
            with_sessions=any(get_kpi(name).needs_sessions for name in wanted),
            data_start=self.time_range[0],
            cube=self.cube,
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
        """A funnel (docs/kpis.md#funnels): one row per [segment x] [period x] step.

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

        spec = self._resolved_funnel(steps, window=window, unit=unit, exclude=exclude)
        unit = spec["unit"]
        if by is not None and by in (unit, "timestamp"):
            raise DataError(
                f"funnel breakdown {by!r}: a breakdown is a column whose value each {unit} "
                f"takes on its entry event, not the {'unit' if by == unit else 'time'} itself"
            )
        start_day, end_day = self._local_range(start, end)
        result = compute_funnel(
            apply_filters(self.tables["events"], self._checked_filters(filters)),
            steps=spec["steps"],
            step_names=spec["step_names"],
            start=local_bound(start_day, self.config.timezone),
            end=local_bound(end_day, self.config.timezone),
            window=spec["window"],
            unit=unit,
            attempt=attempt or spec["attempt"],
            strict=spec["strict"] if strict is None else strict,
            exclude=spec["exclude"],
            breakdown=by,
            trend_grain=trend,
            timezone=self.config.timezone,
            data_end=self.time_range[1],
        )
        return result.steps

    def _resolved_funnel(
        self,
        steps: str | Sequence[str | Sequence[str]] | None,
        *,
        window: str | timedelta | None = None,
        unit: str | None = None,
        exclude: Sequence[str] | None = None,
    ) -> dict:
        """A funnel's checked definition with its steps and exclusions as event names.

        The one place where a funnel of the config or a list of steps becomes what the
        matchers take: every step and exclusion checked (a mapped role or an event of the
        data), the window parsed and bounded, the config's defaults filled in.
        """
        definition = self._funnel_definition(steps)
        if window is not None:
            try:
                window = parse_window(window)
            except ValueError as exc:
                raise DataError(f"funnel window: {exc}") from None
        exclusions = list(definition["exclude"] if exclude is None else exclude)
        named = [n for s in definition["steps"] for n in ([s] if isinstance(s, str) else s)]
        if any(self.config.events_for(name) for name in [*named, *exclusions]):
            self._require_usable()
        self._check_steps(definition["steps"], exclusions)
        return {
            "steps": [self._step_events(step) for step in definition["steps"]],
            "step_names": [
                step if isinstance(step, str) else " | ".join(step) for step in definition["steps"]
            ],
            "window": window if window is not None else definition["window"],
            "unit": unit or definition["unit"],
            "attempt": definition["attempt"],
            "strict": definition["strict"],
            "exclude": [n for name in exclusions for n in self._step_events(name)],
        }

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
        empty = [index + 1 for index, step in enumerate(steps) if not step]
        if empty:
            raise DataError(f"funnel step {empty[0]} is empty; steps: {list(steps)}")
        return {"steps": list(steps), **FunnelConfig.defaults()}

    def _check_steps(self, steps: Sequence[str | Sequence[str]], exclude: Sequence[str]) -> None:
        """Every step and exclusion is a mapped role or an event name of the data."""
        named = [("step", n) for s in steps for n in ([s] if isinstance(s, str) else s)]
        named += [("exclusion", name) for name in exclude]
        unmapped = [(what, n) for what, n in named if not self.config.events_for(n)]
        if not unmapped:
            return
        present = self._names_in_data([name for _, name in unmapped])
        for what, name in unmapped:
            if name in present:
                continue
            roles = list(self.config.roles)
            candidates = roles + sorted(self._loaded.event_names or ())
            suggestion = did_you_mean(name, candidates)
            if is_known_role(name):
                kind = "is a role the config does not map, and no event has that name"
            else:
                kind = "is neither a mapped role nor an event name in the data"
            raise DataError(
                f"funnel {what} {name!r} {kind}; mapped roles: {', '.join(roles) or '(none)'}"
                f"{suggestion}"
            )

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
        by: str | None = None,
    ) -> pl.DataFrame:
        """The retention cohort matrix (docs/kpis.md#retention-cohorts): one row per
        [segment x] cohort x offset.

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
        by
            Acquisition breakdown: each user takes the value of this column on their
            first-ever cohort event (:func:`journeylib.retention.retention_by_segment`).

        Returns
        -------
        pl.DataFrame
            [``by``,] ``cohort``, ``offset``, ``period_start``, ``cohort_size``, ``users``,
            ``retention`` (null for periods not fully observed).

        Examples
        --------
        >>> journey.retention(grain="week", cohort_role="purchase")  # doctest: +SKIP
        """
        from journeylib.retention import retention_matrix

        if cohort_role is not None or return_role is not None:
            self._require_usable()
        if max_offset is not None and max_offset < 0:
            raise DataError(f"max_offset: expected 0 or more, got {max_offset}")
        start_day, end_day = self._local_range(start, end)
        events = apply_filters(self.tables["events"], self._checked_filters(filters))
        options = {
            "grain": grain,
            "timezone": self.config.timezone,
            "cohort_events": self._role_events(cohort_role),
            "return_events": self._role_events(return_role),
            "mode": mode,
            "cohort_start": align(start_day, grain) if start is not None else None,
            "cohort_end": end_day if end is not None else None,
            "max_offset": max_offset,
            "data_end": self.time_range[1],
        }
        if by is not None:
            from journeylib.retention import retention_by_segment

            return retention_by_segment(events, by=by, **options)
        return retention_matrix(events, **options).collect()

    def cohort_value(
        self,
        *,
        start: DateLike | None = None,
        end: DateLike | None = None,
        grain: Grain = "month",
        cohort_role: str | None = "purchase",
        max_offset: int | None = None,
        filters: Mapping[str, str | Sequence[str]] | None = None,
    ) -> pl.DataFrame:
        """Revenue per cohort user, cumulated over the offsets: lifetime value by cohort.

        Parameters
        ----------
        start, end
            Cohorts whose period starts in ``[start, end)`` (default: all).
        grain
            Cohort and offset grain (default month).
        cohort_role
            Role whose first-ever event places a user in a cohort (default ``purchase``: the
            cohorts of first purchase; None: any event).
        max_offset, filters
            As for :meth:`retention`.

        Returns
        -------
        pl.DataFrame
            See :func:`journeylib.retention.cohort_value`.

        Examples
        --------
        >>> journey.cohort_value(grain="month")  # doctest: +SKIP
        """
        from journeylib.retention import cohort_value

        self._require_usable()
        start_day, end_day = self._local_range(start, end)
        return cohort_value(
            apply_filters(self.tables["events"], self._checked_filters(filters)),
            revenue_events=self._role_events("purchase") or [],
            grain=grain,
            timezone=self.config.timezone,
            cohort_events=self._role_events(cohort_role),
            cohort_start=align(start_day, grain) if start is not None else None,
            cohort_end=end_day - timedelta(days=1) if end is not None else None,
            max_offset=max_offset,
            data_end=self.time_range[1],
        ).collect()

    def _checked_filters(
        self, filters: Mapping[str, str | Sequence[str]] | None
    ) -> dict[str, list[str]]:
        """The filters as lists, each column present and each value found in the events.

        A value no event holds is a typo far more often than a wish for a table of zeros.
        """
        checked = _as_filters(filters)
        if not checked:
            return checked
        events = self.tables["events"]
        check_filter_columns(events.collect_schema().names(), checked)
        pairs = [(column, value) for column, values in checked.items() for value in values]
        found = (
            events.select(
                pl.col(column).cast(pl.String).is_in([value]).any().alias(str(index))
                for index, (column, value) in enumerate(pairs)
            )
            .collect()
            .row(0)
        )
        for (column, value), hit in zip(pairs, found, strict=True):
            if hit:
                continue
            held = (
                events.select(pl.col(column).cast(pl.String).drop_nulls().unique().head(1000))
                .collect()
                .to_series()
                .sort()
                .to_list()
            )
            suggestion = did_you_mean(value, held)
            shown = ", ".join(repr(v) for v in held[:10]) + (", ..." if len(held) > 10 else "")
            raise DataError(
                f"filter {column}={value}: no event has {column} {value!r}{suggestion}; "
                f"{column} holds {shown or 'no values'}"
            )
        return checked

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
        """The journey effectiveness score (docs/kpis.md#journey-score) of the latest period.

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

        self._require_usable()
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

    # -- optimisation: thin wrappers of journeylib.optimise ------------------------------

    def _optimise_units(
        self,
        steps: str | Sequence[str | Sequence[str]] | None,
        *,
        start: date,
        end: date,
        window: str | timedelta | None,
        unit: str | None,
        by: str | Sequence[str] | None,
        filters: Mapping[str, str | Sequence[str]] | None,
    ):
        """The per-unit funnel of ``steps`` with entries in ``[start, end)`` (local dates)."""
        from journeylib.optimise import default_dimensions, funnel_units

        spec = self._resolved_funnel(steps, window=window, unit=unit)
        events = apply_filters(self.tables["events"], self._checked_filters(filters))
        unit = spec["unit"]
        dimensions = (
            list(_as_tuple(by))
            if by is not None
            else default_dimensions(events.collect_schema(), unit)
        )
        return funnel_units(
            events,
            steps=spec["steps"],
            step_names=spec["step_names"],
            start=local_bound(start, self.config.timezone),
            end=local_bound(end, self.config.timezone),
            window=spec["window"],
            unit=unit,
            attempt=spec["attempt"],
            strict=spec["strict"],
            exclude=spec["exclude"],
            dimensions=dimensions,
            data_end=self.time_range[1],
            timezone=self.config.timezone,
        ), events

    def friction(
        self,
        steps: str | Sequence[str | Sequence[str]] | None = None,
        *,
        start: DateLike | None = None,
        end: DateLike | None = None,
        window: str | timedelta | None = None,
        unit: str | None = None,
        by: str | Sequence[str] | None = None,
        filters: Mapping[str, str | Sequence[str]] | None = None,
        alpha: float = 0.01,
    ):
        """Friction points of a funnel (docs/kpis.md#friction-incidents-and-loops).

        Parameters
        ----------
        steps, start, end, window, unit, filters
            As for :meth:`funnel` (default: the config's first funnel over the whole data).
        by
            Dimensions whose segments are tested (default: every dimension of the events).
        alpha
            Level of the Holm-adjusted segment tests.

        Returns
        -------
        FrictionResult
            ``transitions`` ranked by units lost, ``segments`` (``worse`` ones first),
            ``next_events`` of the dropped units and ``correlation`` odds ratios.

        Examples
        --------
        >>> journey.friction(start="2026-08-01", end="2026-09-01").worse  # doctest: +SKIP
        """
        from dataclasses import replace

        from journeylib.optimise import correlation, friction, next_events

        start_day, end_day = self._local_range(start, end)
        units, events = self._optimise_units(
            steps, start=start_day, end=end_day, window=window, unit=unit, by=by, filters=filters
        )
        result = friction(units, alpha=alpha)
        return replace(
            result,
            next_events=next_events(events, units),
            correlation=correlation(events, units),
        )

    def incidents(
        self,
        steps: str | Sequence[str | Sequence[str]] | None = None,
        *,
        start: DateLike | None = None,
        end: DateLike | None = None,
        grain: Grain = "week",
        window: str | timedelta | None = None,
        unit: str | None = None,
        by: str | Sequence[str] | None = None,
        filters: Mapping[str, str | Sequence[str]] | None = None,
        baseline_periods: int = 4,
        alpha: float = 0.01,
        min_fall: float = 0.10,
        loops: bool = False,
    ):
        """Incidents (and loops) of a funnel per ``grain``.

        As docs/kpis.md#friction-incidents-and-loops defines them.

        Parameters
        ----------
        steps, window, unit, filters
            As for :meth:`funnel`.
        start, end
            Incidents starting in ``[start, end)`` (local dates; default: the whole data).
            The ``baseline_periods`` before ``start`` serve as its baseline.
        grain
            ``day``, ``week`` or ``month``.
        by
            Dimensions whose segments are tested and listed (default: every dimension).
        baseline_periods, alpha, min_fall
            The trailing baseline and the thresholds of a flagged period.
        loops
            Also look for loops (later step back to an earlier one): returns
            ``(incidents, loops)``.

        Returns
        -------
        IncidentsResult, or (IncidentsResult, LoopsResult) with ``loops``

        Examples
        --------
        >>> journey.incidents(grain="day").incidents["sentence"]  # doctest: +SKIP
        """
        from journeylib.optimise import detect_incidents, detect_loops

        start_day, end_day = self._local_range(start, end)
        first = periods_before(align(start_day, grain), grain, baseline_periods)
        if start is None:
            first = start_day
        units, events = self._optimise_units(
            steps, start=first, end=end_day, window=window, unit=unit, by=by, filters=filters
        )
        found = detect_incidents(
            units,
            grain=grain,
            baseline_periods=baseline_periods,
            alpha=alpha,
            min_fall=min_fall,
            start=start_day if start is not None else None,
            end=end_day,
        )
        if not loops:
            return found
        looped = detect_loops(
            events, units, grain=grain, baseline_periods=baseline_periods, alpha=alpha
        )
        return found, looped

    def kpi_incidents(
        self,
        kpis: str | Sequence[str] | None = None,
        *,
        start: DateLike | None = None,
        end: DateLike | None = None,
        grain: Grain = "day",
        by: str | Sequence[str] | None = None,
        filters: Mapping[str, str | Sequence[str]] | None = None,
        baseline_periods: int = 4,
        alpha: float = 0.01,
        min_fall: float = 0.10,
    ):
        """Incidents of rate KPIs per ``grain``, by the detector of :meth:`incidents`.

        Parameters
        ----------
        kpis
            Rate KPIs where higher is better (default
            :data:`journeylib.optimise.kpi_incidents.DEFAULT_KPIS`: ``payment_success_rate``).
        start, end, grain, baseline_periods, alpha, min_fall
            As for :meth:`incidents` (default grain: day).
        by
            Dimensions whose segments are tested (default: every dimension of the events).
        filters
            Event-level filters.

        Returns
        -------
        IncidentsResult
            Its incidents name their ``kpi``; their transition columns are null.

        Examples
        --------
        >>> journey.kpi_incidents(start="2026-08-24", end="2026-09-07").incidents  # doctest: +SKIP
        """
        from journeylib.kpis import check_kpi_names
        from journeylib.optimise import default_dimensions
        from journeylib.optimise.kpi_incidents import (
            DEFAULT_KPIS,
            detect_kpi_incidents,
            kpi_rate_series,
            kpi_watch_start,
        )

        start_day, end_day = self._local_range(start, end)
        names = list(_as_tuple(kpis)) if kpis is not None else list(DEFAULT_KPIS)
        check_kpi_names(names, self.config)
        tables = dict(self.tables)
        tables["events"] = apply_filters(tables["events"], self._checked_filters(filters))
        dimensions = (
            list(_as_tuple(by))
            if by is not None
            else default_dimensions(tables["events"].collect_schema(), "user_id")
        )
        first = kpi_watch_start(start_day, grain, baseline_periods) if start else start_day
        series = kpi_rate_series(
            tables,
            self.config,
            kpis=names,
            grain=grain,
            start=first,
            end=end_day,
            dimensions=dimensions,
        )
        return detect_kpi_incidents(
            series,
            grain=grain,
            baseline_periods=baseline_periods,
            alpha=alpha,
            min_fall=min_fall,
            start=start_day if start is not None else None,
            end=end_day,
        )

    def incidents_in(
        self,
        start: DateLike,
        end: DateLike,
        *,
        steps: str | Sequence[str | Sequence[str]] | None = None,
        window: str | timedelta | None = None,
        filters: Mapping[str, str | Sequence[str]] | None = None,
    ):
        """The incidents a reader of ``[start, end)`` is told about: those of the funnel's
        transitions and of the watched rate KPIs that overlap the period, the ones that began
        up to :data:`journeylib.optimise.LOOK_BACK_DAYS` before it included.

        The report's headline and the dashboard list these. They are found by day for a period
        of at most :data:`journeylib.optimise.DAILY_UP_TO_DAYS` days, by week otherwise.

        Parameters
        ----------
        start, end
            Local dates of the period, ``end`` excluded.
        steps, window
            The funnel (default: the config's first funnel; none when the config has none).
        filters
            Event-level filters.

        Returns
        -------
        IncidentsResult or None
            None when there is neither a funnel nor a watched KPI whose roles the config maps.

        Examples
        --------
        >>> journey.incidents_in("2026-08-24", "2026-09-07").incidents["sentence"]  # doctest: +SKIP
        """
        from dataclasses import replace

        from journeylib.kpis import get_kpi
        from journeylib.optimise import (
            DAILY_UP_TO_DAYS,
            DEFAULT_KPIS,
            LOOK_BACK_DAYS,
            merge_incidents,
        )

        start_day, end_day = self._local_range(start, end)
        grain: Grain = "day" if (end_day - start_day).days <= DAILY_UP_TO_DAYS else "week"
        common = {
            "start": max(start_day - timedelta(days=LOOK_BACK_DAYS), self.time_range[0].date()),
            "end": end_day,
            "grain": grain,
            "filters": filters,
        }
        found = []
        if steps is not None or self.config.funnels:
            found.append(self.incidents(steps, window=window, **common))
        watched = [
            kpi
            for kpi in DEFAULT_KPIS
            if all(role in self.config.roles for role in get_kpi(kpi).roles)
        ]
        if watched:
            found.append(self.kpi_incidents(watched, **common))
        if not found:
            return None
        merged = merge_incidents(*found)
        overlapping = merged.incidents.filter(pl.col("start") < end_day, pl.col("end") > start_day)
        return replace(
            merged,
            incidents=overlapping,
            segments=merged.segments.filter(pl.col("key").is_in(overlapping["key"].to_list())),
        )

    def experiment(
        self,
        variant: str,
        kpis: str | Sequence[str],
        *,
        start: DateLike | None = None,
        end: DateLike | None = None,
        control: str | None = None,
        expected_split: Sequence[float] | None = None,
        cuped: bool = False,
        sequential: bool = False,
        target_lift: float | None = None,
        filters: Mapping[str, str | Sequence[str]] | None = None,
    ):
        """An A/B readout of ``kpis`` on the variant column ``variant`` (docs/kpis.md#experiments).

        Parameters
        ----------
        variant
            The events column holding each user's variant (first seen counts).
        kpis
            KPI name(s) with an experiment kind in the registry (``conversion_rate``, ``aov``,
            ``arpu``...).
        start, end
            The experiment period (local dates; default: the whole data).
        control, expected_split
            The control variant and the expected shares (control first).
        cuped, sequential, target_lift
            See :func:`journeylib.optimise.read_experiment`.
        filters
            Event-level filters.

        Returns
        -------
        ExperimentResult

        Examples
        --------
        >>> result = journey.experiment("checkout_variant", "conversion_rate")  # doctest: +SKIP
        >>> print(result.readouts[0].verdict)  # doctest: +SKIP
        """
        from journeylib.optimise import read_experiment

        start_day, end_day = self._local_range(start, end)
        tables = dict(self.tables)
        tables["events"] = apply_filters(tables["events"], _as_filters(filters))
        return read_experiment(
            tables,
            self.config,
            variant=variant,
            kpis=list(_as_tuple(kpis)),
            start=start_day,
            end=end_day,
            control=control,
            expected_split=expected_split,
            cuped=cuped,
            sequential=sequential,
            target_lift=target_lift,
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

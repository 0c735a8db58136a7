"""``ReportContext``: one report run's resolved inputs and the numbers its sections show.

The report notebook only sets parameters and calls the ``show_*`` methods in order (they live
in :mod:`journeylib.report.sections`), with markdown for the story between them. Every number
comes from :class:`journeylib.journey.Journey`, computed once here (``kpi_table``,
``current``, ``scores``) and cached for the run.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import polars as pl

from journeylib.journey import Journey, load
from journeylib.periods import Grain, align, local_bound, periods_before, previous_period
from journeylib.report.inputs import (
    check_comparison,
    check_funnel,
    check_trend_periods,
    comparison_period,
    load_report_config,
    normalise_filters,
    period_grain,
    report_period,
)
from journeylib.report.period import ReportPeriod, check_as_of, check_grain
from journeylib.report.sections import ReportSections

__all__ = ["ReportContext"]

_PREVIOUS = {"day": "the previous day", "week": "the previous week", "month": "the previous month"}


@dataclass
class ReportContext(ReportSections):
    """The resolved inputs of one report run and the sections it shows."""

    journey: Journey
    period: ReportPeriod
    parameters: dict[str, Any]
    title: str
    funnel_name: str | None
    trend_periods: int
    filters: dict[str, list[str]]
    started: float = field(default_factory=time.monotonic)
    comparison: ReportPeriod | None = None
    _cache: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        config_path: str,
        *,
        period: str = "last_full_week",
        as_of: str = "data_end",
        grain: Grain = "week",
        filters: Mapping[str, Sequence[str] | str] | None = None,
        comparison: str = "previous",
        title: str = "Customer journey report",
        funnel: str | None = None,
        trend_periods: int = 8,
    ) -> ReportContext:
        """Load the journey and resolve the period (parameters as the notebook names them)."""
        from journeylib.charts import use_theme

        started = time.monotonic()
        use_theme()
        check_grain(grain)
        check_as_of(as_of)
        if ".." not in str(period):  # an explicit period's, once it is resolved
            check_comparison(comparison, period_grain(period, grain))
        check_trend_periods(trend_periods)
        normalised = normalise_filters(filters)
        journey = load(load_report_config(config_path))
        check_funnel(funnel, journey.config)
        resolved = report_period(
            period,
            grain=grain,
            as_of=as_of,
            timezone=journey.config.timezone,
            data_end=journey.time_range[1],
        )
        _check_has_data(journey, resolved, normalised)
        compared = comparison_period(comparison, resolved)
        return cls(
            journey=journey,
            period=resolved,
            parameters={
                "config_path": config_path,
                "period": period,
                "as_of": as_of,
                "grain": grain,
                "filters": normalised,
                "comparison": comparison,
                "title": title,
                "funnel": funnel,
                "trend_periods": trend_periods,
            },
            title=title,
            funnel_name=funnel,
            trend_periods=trend_periods,
            filters=normalised,
            started=started,
            comparison=compared,
        )

    # ----------------------------------------------------------------- computed once

    @property
    def currency(self) -> str:
        return self.journey.config.currency

    @property
    def previous_label(self) -> str:
        if self.comparison is None and self.period.is_range:
            return f"the previous {self.period.days} days"
        if self.comparison is None:
            return _PREVIOUS[self.period.grain]
        return self.comparison.description

    @property
    def trend_start(self) -> date:
        """First day of the trend window: ``trend_periods`` periods (at least 2) ending with
        the report period."""
        last = align(self.period.end - timedelta(days=1), self.period.grain)
        return periods_before(last, self.period.grain, max(self.trend_periods, 2) - 1)

    def window_start(self, periods: int, grain: Grain | None = None) -> date:
        """First day of ``periods`` periods of ``grain`` (default: the report's), the last of
        them holding the report period's last day.

        Examples
        --------
        >>> report.window_start(8, "week")  # the last 8 ISO weeks up to the period end
        ... # doctest: +SKIP
        """
        grain = check_grain(grain or self.period.grain)
        check_trend_periods(periods)
        return periods_before(align(self.period.end - timedelta(days=1), grain), grain, periods - 1)

    def kpi_table(self) -> pl.DataFrame:
        """KPIs over the trend window; the last period is the report period."""
        if "kpis" not in self._cache:
            self._cache["kpis"] = self.journey.kpis(
                start=self.trend_start,
                end=self.period.end,
                grain=self.period.grain,
                filters=self.filters,
            )
        return self._cache["kpis"]

    def period_table(self) -> pl.DataFrame:
        """KPIs by the report period's length: :meth:`kpi_table` for one period of the grain;
        for a range of dates, the range and the range of the same length before it."""
        if not self.period.is_range:
            return self.kpi_table()
        if "range_kpis" not in self._cache:
            self._cache["range_kpis"] = self.journey.kpis(
                start=previous_period(self.period.start, self.period.kpi_grain),
                end=self.period.end,
                grain=self.period.kpi_grain,
                filters=self.filters,
            )
        return self._cache["range_kpis"]

    def compared_rows(self) -> pl.DataFrame:
        """The KPI rows the report period is compared with."""
        if self.comparison is None:
            previous_start = previous_period(self.period.start, self.period.kpi_grain)
            return self.period_table().filter(pl.col("period_start") == previous_start)
        if "compared" not in self._cache:
            self._cache["compared"] = self.journey.kpis(
                start=self.comparison.start,
                end=self.comparison.end,
                grain=self.comparison.kpi_grain,
                filters=self.filters,
            ).filter(pl.col("period_start") == self.comparison.start)
        return self._cache["compared"]

    def current(self) -> pl.DataFrame:
        """The report period's rows, their change and p-values against the comparison."""
        rows = self.period_table().filter(pl.col("period_start") == self.period.start)
        if self.comparison is None:
            return rows
        from journeylib.kpis import compare_with

        return compare_with(rows, self.compared_rows())

    def scores(self) -> tuple[Any, Any]:
        """Journey scores of the report period and of the period it is compared with."""
        if "scores" not in self._cache:
            this = self.journey.score(table=self.current())
            before = self.journey.score(table=self.compared_rows())
            self._cache["scores"] = (this, before)
        return self._cache["scores"]


#: Kept for callers of the former private name; the rule lives in :mod:`journeylib.report.inputs`.
_comparison_period = comparison_period


def _check_has_data(journey: Journey, period: ReportPeriod, filters: dict[str, list[str]]) -> None:
    """An empty period is refused: no event inside it (with the filters), or none at all."""
    from journeylib.data.filters import apply_filters
    from journeylib.report._data_range import EmptyPeriodError, empty_period_message

    first, last = journey.time_range
    start = local_bound(period.start, journey.config.timezone)
    end = local_bound(period.end, journey.config.timezone)
    events = apply_filters(journey.tables["events"], filters)
    inside = (
        events.filter((pl.col("timestamp") >= start) & (pl.col("timestamp") < end))
        .select(pl.len())
        .collect()
        .item()
    )
    if inside == 0:
        raise EmptyPeriodError(empty_period_message(period, first, last, filters))

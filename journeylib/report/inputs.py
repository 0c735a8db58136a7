"""The rules of a report's inputs: period, comparison, grain, as_of, filters, config, funnel.

One place for them: :class:`journeylib.report.ReportContext` applies them in the kernel, and
:func:`journeylib.report.parameters.check_parameters` applies the same functions before a
kernel starts (``journey report run``, the schedule when it loads a job), so a bad input is
refused with one line before anything runs.

Examples
--------
>>> period = report_period("2026-10-19..2026-10-26", grain="week", as_of="now",
...                        timezone="UTC", data_end=None)
>>> period.label
'2026-W43'
>>> comparison_period("previous_year", period).label
'2025-W43'
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from journeylib.config import JourneyConfig
from journeylib.errors import DataError
from journeylib.periods import MAX_SPAN_DAYS, Grain, next_period_start
from journeylib.periods.calendar import align
from journeylib.report.period import RELATIVE, ReportPeriod, resolve_period

__all__ = [
    "check_comparison",
    "check_funnel",
    "check_kpi_names",
    "check_trend_periods",
    "comparison_period",
    "load_report_config",
    "normalise_filters",
    "period_grain",
    "report_period",
]

_SCALARS = (str, int, float, bool)
_FIRST_DAY = {"day": "", "week": " (a Monday)", "month": ""}


def period_grain(period: str, grain: Grain) -> Grain:
    """The grain of a period parameter: a relative period's own, else ``grain``."""
    return RELATIVE.get(period, grain)  # type: ignore[return-value]


def report_period(
    period: str,
    *,
    grain: Grain,
    as_of: str | date,
    timezone: str,
    data_end: datetime | None,
) -> ReportPeriod:
    """The report period: :func:`resolve_period`, one ``grain`` long or a range of whole
    periods of ``grain`` lasting at most :data:`journeylib.periods.MAX_SPAN_DAYS` days (two
    ISO weeks, ten days), which the report shows as one period.

    Raises
    ------
    DataError
        Naming the period and what was expected.
    """
    resolved = resolve_period(
        period, grain=grain, as_of=as_of, timezone=timezone, data_end=data_end
    )
    if not resolved.is_range:
        return resolved
    if align(resolved.start, grain) != resolved.start or align(resolved.end, grain) != resolved.end:
        first, last = align(resolved.start, grain), align(resolved.end, grain)
        if last < resolved.end:
            last = next_period_start(last, grain)
        raise DataError(
            f"period {period!r} must be whole {grain}s: start and end on the first day of a "
            f"{grain}{_FIRST_DAY[grain]} (such as {first}..{last})"
        )
    if resolved.days > MAX_SPAN_DAYS:
        raise DataError(
            f"period {period!r} lasts {resolved.days} days: a range of dates lasts at most "
            f"{MAX_SPAN_DAYS} days (or exactly one {grain})"
        )
    return resolved


def _explicit_comparison(comparison: str, grain: Grain, days: int | None) -> ReportPeriod:
    compared = resolve_period(comparison, grain=grain, name="comparison")
    if days is not None:
        if compared.days != days:
            raise DataError(
                f"comparison {comparison!r} lasts {compared.days} days; it must last {days} "
                "days, like the report period (or use 'previous' or 'previous_year')"
            )
        return compared
    if compared.is_range:
        raise DataError(
            f"comparison {comparison!r} must be one {grain}, like the report period "
            "(or use 'previous' or 'previous_year')"
        )
    return compared


def check_comparison(comparison: object, grain: Grain, *, days: int | None = None) -> None:
    """Check a comparison parameter against the report period (no data needed): one ``grain``,
    or ``days`` days long when the period is a range of dates of that length."""
    if comparison in ("previous", "previous_year"):
        return
    if not isinstance(comparison, str) or ".." not in comparison:
        length = f"{days} days" if days is not None else f"one {grain}"
        raise DataError(
            "comparison: expected previous, previous_year or YYYY-MM-DD..YYYY-MM-DD "
            f"({length}), got {comparison!r}"
        )
    _explicit_comparison(comparison, grain, days)


def comparison_period(comparison: str, period: ReportPeriod) -> ReportPeriod | None:
    """``previous`` (None: the KPI table's previous period, or the range of the same length
    before a range of dates), ``previous_year`` or dates."""
    days = period.days if period.is_range else None
    check_comparison(comparison, period.grain, days=days)
    if comparison == "previous":
        return None
    if comparison == "previous_year":
        # weeks and days: 52 weeks earlier, so weekdays line up; months: the same month
        if period.grain == "month" and not period.is_range:
            start = period.start.replace(year=period.start.year - 1)
        else:
            start = period.start - timedelta(weeks=52)
        end = start + timedelta(days=days) if days else next_period_start(start, period.grain)
        return resolve_period(f"{start}..{end}", grain=period.grain)
    return _explicit_comparison(comparison, period.grain, days)


def normalise_filters(filters: object) -> dict[str, list[str]]:
    """Event-level filters as ``{column: [value, ...]}``.

    A filter is a mapping of column names to a value or a non-empty list of values
    (``{"platform": ["ios", "android"]}``); values compare as text.

    Raises
    ------
    DataError
        Naming the filter that does not have that shape.

    Examples
    --------
    >>> normalise_filters({"platform": "ios", "week_day": [1, 2]})
    {'platform': ['ios'], 'week_day': ['1', '2']}
    """
    if filters is None:
        return {}
    if not isinstance(filters, Mapping):
        raise DataError(
            "filters: expected a mapping of event columns to values, e.g. "
            f"{{platform: [ios]}}, got {filters!r}"
        )
    normalised: dict[str, list[str]] = {}
    for column, values in filters.items():
        if not isinstance(column, str) or not column.strip():
            raise DataError(f"filters: expected column names, got {column!r}")
        listed = [values] if isinstance(values, _SCALARS) else values
        if (
            not isinstance(listed, Sequence)
            or isinstance(listed, str)
            or not listed
            or not all(isinstance(value, _SCALARS) for value in listed)
        ):
            raise DataError(
                f"filters: {column!r} needs a value or a non-empty list of values, got {values!r}"
            )
        normalised[column] = [str(value) for value in listed]
    return normalised


def load_report_config(
    config_path: object, *, base_dir: str | os.PathLike[str] | None = None
) -> JourneyConfig:
    """Load the journey config a report names (relative paths against ``base_dir``).

    Raises
    ------
    DataError
        When ``config_path`` is not a path to an existing file.
    ConfigError
        When the file is not a valid journey config (each problem located).
    """
    from journeylib.config import load_config

    if not isinstance(config_path, str | os.PathLike) or not str(config_path).strip():
        raise DataError(f"config_path: expected the path of a journey.yml, got {config_path!r}")
    path = Path(config_path)
    if base_dir is not None and not path.is_absolute():
        path = Path(base_dir) / path
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise DataError(f"config_path {str(config_path)!r}: {path} {what}")
    return load_config(path)


def check_funnel(funnel: str | None, config: JourneyConfig) -> None:
    """A funnel parameter names one of the config's funnels (None: its first, if any)."""
    if funnel is None:
        return
    if funnel not in config.funnels:
        known = ", ".join(config.funnels) or "(none)"
        raise DataError(f"funnel: the config has no funnel {funnel!r}; funnels: {known}")


def check_kpi_names(names: Sequence[Any], parameter: str) -> None:
    """Each name is a registered KPI (``feature_adoption_rate[x]`` names its family)."""
    from journeylib.kpis import REGISTRY

    unknown = [name for name in names if str(name).split("[", 1)[0] not in REGISTRY]
    if unknown:
        raise DataError(
            f"{parameter}: unknown KPI {', '.join(repr(n) for n in unknown)}; "
            f"known: {', '.join(sorted(REGISTRY))}"
        )


def check_trend_periods(periods: object) -> int:
    """The number of periods in the trend charts: a whole number of at least 1."""
    if isinstance(periods, bool) or not isinstance(periods, int) or periods < 1:
        raise DataError(f"trend_periods: expected a whole number of at least 1, got {periods!r}")
    return periods


def check_count(value: object, parameter: str) -> int:
    """A number of periods or cohorts: a whole number of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DataError(f"{parameter}: expected a whole number of at least 1, got {value!r}")
    return value


def check_grain_parameter(value: object, parameter: str) -> Grain:
    """A grain parameter other than ``grain``: ``day``, ``week`` or ``month``."""
    from journeylib.report.period import GRAINS

    if value not in GRAINS:
        raise DataError(f"{parameter}: expected one of {', '.join(GRAINS)}, got {value!r}")
    return value  # type: ignore[return-value]


def check_window(window: object, parameter: str = "window") -> None:
    """A conversion window such as ``7d`` or ``12h`` (None: the funnel's own)."""
    from journeylib.periods import parse_window

    if window is None:
        return
    try:
        parse_window(window)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise DataError(f"{parameter}: {exc}") from None


def check_dimension(column: object, config: JourneyConfig, parameter: str) -> None:
    """A breakdown parameter names a dimension column of the events (checked on the schema;
    database sources are left to the kernel)."""
    from journeylib.report._data_range import event_dimensions

    dimensions = event_dimensions(config)
    if dimensions is None:
        return
    if column not in dimensions:
        raise DataError(
            f"{parameter}: the events have no dimension {column!r}; dimensions: "
            f"{', '.join(dimensions) or '(none)'}"
        )

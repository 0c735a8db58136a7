"""Report periods: ``last_full_week``, ``last_full_month``, ``last_full_day`` or explicit dates.

A relative period is the last full one before an anchor day: ``as_of`` ``now`` (today in the
journey's time zone, for scheduled runs), ``data_end`` (the day after the last event, for
sample and historical data) or an explicit ``YYYY-MM-DD``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from journeylib.errors import DataError
from journeylib.periods.calendar import Grain, Span, align, next_period_start, previous_period

__all__ = ["GRAINS", "RELATIVE", "ReportPeriod", "check_as_of", "check_grain", "resolve_period"]

RELATIVE = {"last_full_day": "day", "last_full_week": "week", "last_full_month": "month"}
#: The grains of a report period.
GRAINS: tuple[Grain, ...] = ("day", "week", "month")


@dataclass(frozen=True)
class ReportPeriod:
    """A resolved report period ``[start, end)`` in local dates, and its folder label.

    ``grain`` is the report's (its trend charts); a period longer than one grain is a range of
    dates (:attr:`is_range`), whose KPIs are computed over the whole range
    (:attr:`kpi_grain`).
    """

    start: date
    end: date
    grain: Grain
    label: str

    @property
    def days(self) -> int:
        """How many days the period holds."""
        return (self.end - self.start).days

    @property
    def is_range(self) -> bool:
        """True when the period is not exactly one period of its grain."""
        return align(self.start, self.grain) != self.start or (
            next_period_start(self.start, self.grain) != self.end
        )

    @property
    def kpi_grain(self) -> Grain | Span:
        """The grain its KPIs are computed by: its own, or the range as one period (compared
        with the range of the same length before it)."""
        return Span(self.start, self.days) if self.is_range else self.grain

    @property
    def description(self) -> str:
        last = self.end - timedelta(days=1)
        if self.is_range:
            return f"{self.start:%d %b %Y} – {last:%d %b %Y}"
        if self.grain == "week":
            return f"week {self.label} ({self.start:%d %b} – {last:%d %b %Y})"
        if self.grain == "month":
            return f"{self.start:%B %Y}"
        if self.start == last:
            return f"{self.start:%A %d %B %Y}"
        return f"{self.start:%d %b %Y} – {last:%d %b %Y}"


def check_grain(grain: object) -> Grain:
    """``grain`` when it is ``day``, ``week`` or ``month``; :class:`DataError` otherwise.

    Examples
    --------
    >>> check_grain("week")
    'week'
    """
    if grain not in GRAINS:
        raise DataError(f"grain: expected one of {', '.join(GRAINS)}, got {grain!r}")
    return grain  # type: ignore[return-value]


def check_as_of(as_of: object) -> str | date:
    """``as_of`` when it is ``now``, ``data_end`` or a date; :class:`DataError` otherwise.

    Examples
    --------
    >>> check_as_of("2026-11-01")
    datetime.date(2026, 11, 1)
    """
    if isinstance(as_of, date) and not isinstance(as_of, datetime):
        return as_of
    if as_of in ("now", "data_end"):
        return as_of  # type: ignore[return-value]
    try:
        return date.fromisoformat(as_of)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DataError(
            f"as_of: expected 'now', 'data_end' or a date YYYY-MM-DD, got {as_of!r}"
        ) from None


def _anchor(as_of: str | date, timezone: str, data_end: datetime | None) -> date:
    anchor = check_as_of(as_of)
    if isinstance(anchor, date):
        return anchor
    if anchor == "now":
        return datetime.now(ZoneInfo(timezone)).date()
    if data_end is None:
        raise DataError("as_of 'data_end' needs data: the events table is empty")
    return data_end.astimezone(ZoneInfo(timezone)).date() + timedelta(days=1)


def resolve_period(
    period: str,
    *,
    grain: Grain = "week",
    as_of: str | date = "now",
    timezone: str = "UTC",
    data_end: datetime | None = None,
    name: str = "period",
) -> ReportPeriod:
    """Resolve a period parameter into local dates.

    Parameters
    ----------
    period
        ``last_full_day``, ``last_full_week``, ``last_full_month``, or
        ``YYYY-MM-DD..YYYY-MM-DD`` (end exclusive).
    grain
        The grain of an explicit period (relative periods bring their own).
    as_of, timezone, data_end
        The anchor of relative periods (see the module docstring).
    name
        The parameter named in error messages (``comparison`` for a comparison period).

    Examples
    --------
    >>> resolve_period("last_full_week", as_of=date(2026, 11, 1)).label
    '2026-W43'
    """
    check_grain(grain)
    if not isinstance(period, str):
        raise DataError(
            f"{name}: expected last_full_day, last_full_week, last_full_month or "
            f"YYYY-MM-DD..YYYY-MM-DD (end exclusive), got {period!r}"
        )
    if period in RELATIVE:
        period_grain: Grain = RELATIVE[period]  # type: ignore[assignment]
        anchor = _anchor(as_of, timezone, data_end)
        end = align(anchor, period_grain)
        start = previous_period(end, period_grain)
        return ReportPeriod(start, end, period_grain, _label(start, end, period_grain))
    first, sep, last = period.partition("..")
    try:
        start, end = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        start = end = None
    if not sep or start is None or end is None:
        raise DataError(
            f"{name}: expected last_full_day, last_full_week, last_full_month or "
            f"YYYY-MM-DD..YYYY-MM-DD (end exclusive), got {period!r}"
        )
    if end <= start:
        raise DataError(f"{name} {period!r} is empty: the end must be after the start")
    resolved = ReportPeriod(start, end, grain, f"{start.isoformat()}_{end.isoformat()}")
    if not resolved.is_range:
        return ReportPeriod(start, end, grain, _label(start, end, grain))
    return resolved


def _label(start: date, end: date, grain: Grain) -> str:
    if grain == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if grain == "month":
        return f"{start:%Y-%m}"
    return start.isoformat()

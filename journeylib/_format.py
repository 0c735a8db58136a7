"""Unit formatting, as Vega format strings (axes, tooltips) and as Python formatters (labels,
tables of the command line).

Units are those of the KPI registry: ``count``, ``rate``, ``currency``, ``duration`` (seconds)
and ``score``. Rates show as percentages, currency with the journey's currency code, durations
in s/m/h or days, counts with thousands separators.

Examples
--------
>>> format_value(0.1234, "rate")
'12.3%'
>>> format_value(1234.5, "currency", currency="EUR")
'EUR 1,234.50'
>>> format_value(5400, "duration")
'1h 30m'
"""

from __future__ import annotations

import math

__all__ = [
    "COUNT_FORMAT",
    "RATE_FORMAT",
    "duration_axis",
    "format_change",
    "format_count",
    "format_duration",
    "format_rate",
    "format_value",
    "vega_format",
]

RATE_FORMAT = ".1%"
COUNT_FORMAT = ",.0f"
CURRENCY_FORMAT = ",.2f"
SCORE_FORMAT = ",.1f"
_VEGA_FORMATS = {
    "rate": RATE_FORMAT,
    "count": COUNT_FORMAT,
    "currency": CURRENCY_FORMAT,
    "score": SCORE_FORMAT,
    "duration": ",.1f",
}
#: Display units for durations: (name, seconds), largest first.
_DURATION_UNITS = (("days", 86400.0), ("hours", 3600.0), ("minutes", 60.0), ("seconds", 1.0))


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def vega_format(unit: str) -> str:
    """The d3/Vega number format of a unit (durations: of the unit :func:`duration_axis` picks).

    Examples
    --------
    >>> vega_format("rate")
    '.1%'
    """
    if unit not in _VEGA_FORMATS:
        raise ValueError(f"unknown unit {unit!r}; expected one of {', '.join(_VEGA_FORMATS)}")
    return _VEGA_FORMATS[unit]


def duration_axis(largest_seconds: float | None) -> tuple[str, float]:
    """The unit to plot durations in, and its size in seconds, chosen from the largest value.

    Examples
    --------
    >>> duration_axis(7200)
    ('hours', 3600.0)
    """
    largest = 0.0 if _missing(largest_seconds) else abs(float(largest_seconds))
    for name, size in _DURATION_UNITS:
        if largest >= 2 * size:
            return name, size
    return "seconds", 1.0


def format_count(value: float | None) -> str:
    """``1234`` -> ``'1,234'``; null -> ``'–'``."""
    return "–" if _missing(value) else f"{value:,.0f}"


def format_rate(value: float | None) -> str:
    """``0.1234`` -> ``'12.3%'``; null -> ``'–'``."""
    return "–" if _missing(value) else f"{100 * value:.1f}%"


def format_duration(seconds: float | None) -> str:
    """Seconds as ``'45s'``, ``'12m 5s'``, ``'3h 20m'`` or ``'2.5 days'``.

    Examples
    --------
    >>> format_duration(200000)
    '2.3 days'
    """
    if _missing(seconds):
        return "–"
    sign = "−" if seconds < 0 else ""
    total = abs(float(seconds))
    if total >= 86400:
        return f"{sign}{total / 86400:.1f} days"
    whole = round(total)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}h {minutes}m"
    if minutes:
        return f"{sign}{minutes}m {secs}s"
    return f"{sign}{total:.0f}s"


def format_value(value: float | None, unit: str, *, currency: str = "EUR") -> str:
    """A KPI value written in its unit.

    Examples
    --------
    >>> format_value(-12.5, "score")
    '−12.5'
    """
    if _missing(value):
        return "–"
    if unit == "rate":
        text = format_rate(value)
    elif unit == "count":
        text = format_count(value)
    elif unit == "currency":
        text = f"{currency} {value:,.2f}"
    elif unit == "duration":
        return format_duration(value)
    elif unit == "score":
        text = f"{value:,.1f}"
    else:
        raise ValueError(f"unknown unit {unit!r}; expected one of {', '.join(_VEGA_FORMATS)}")
    return text.replace("-", "−")


def format_change(change: float | None, unit: str, *, currency: str = "EUR") -> str:
    """A signed change: rates in percentage points, other units in their own unit.

    Examples
    --------
    >>> format_change(0.012, "rate")
    '+1.2 pp'
    >>> format_change(-30, "duration")
    '−30s'
    """
    if _missing(change):
        return "–"
    sign = "+" if change > 0 else ("−" if change < 0 else "±")
    size = abs(change)
    if unit == "rate":
        return f"{sign}{100 * size:.1f} pp"
    return sign + format_value(size, unit, currency=currency)

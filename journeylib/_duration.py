"""Durations written as ``7d``, ``12h``, ``30m``, ``45s`` or ``2w``."""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["format_duration", "parse_duration"]

_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([wdhms])\s*$")


def parse_duration(text: str | int | float | timedelta) -> timedelta:
    """Parse a duration such as ``"7d"`` (weeks, days, hours, minutes, seconds).

    A bare number is read as days. Raises ``ValueError`` naming the accepted forms.

    Examples
    --------
    >>> parse_duration("36h")
    datetime.timedelta(days=1, seconds=43200)
    """
    if isinstance(text, timedelta):
        return text
    if isinstance(text, bool):
        raise ValueError(f"expected a duration such as 7d, 12h or 30m, got {text!r}")
    if isinstance(text, int | float):
        return timedelta(days=float(text))
    match = _PATTERN.match(str(text))
    if not match:
        raise ValueError(f"expected a duration such as 7d, 12h, 30m, 45s or 2w, got {text!r}")
    value, unit = float(match.group(1)), match.group(2)
    return timedelta(**{_UNITS[unit]: value})


def format_duration(value: timedelta) -> str:
    """Write a duration back in the shortest exact unit (``timedelta(days=7)`` -> ``"7d"``)."""
    seconds = value.total_seconds()
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"

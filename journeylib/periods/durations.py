"""Durations written as ``7d``, ``12h``, ``30m``, ``45s`` or ``2w``; conversion windows."""

from __future__ import annotations

import math
import re
from datetime import timedelta

__all__ = ["MAX_WINDOW", "format_duration", "parse_duration", "parse_window"]

_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([wdhms])\s*$")
#: The longest conversion window accepted: ten years (any longer one means "no limit" anyway,
#: and a window must stay addable to the data's dates).
MAX_WINDOW = timedelta(days=3650)


def parse_duration(text: str | int | float | timedelta) -> timedelta:
    """Parse a duration such as ``"7d"`` (weeks, days, hours, minutes, seconds).

    A bare number is read as days. Raises ``ValueError`` naming the accepted forms (also for
    a duration too large to represent).

    Examples
    --------
    >>> parse_duration("36h")
    datetime.timedelta(days=1, seconds=43200)
    """
    if isinstance(text, timedelta):
        return text
    if isinstance(text, bool):
        raise ValueError(f"expected a duration such as 7d, 12h or 30m, got {text!r}")
    try:
        if isinstance(text, int | float):
            if not math.isfinite(text):
                raise ValueError(f"expected a finite duration, got {text!r}")
            return timedelta(days=float(text))
        match = _PATTERN.match(str(text))
        if not match:
            raise ValueError(f"expected a duration such as 7d, 12h, 30m, 45s or 2w, got {text!r}")
        value, unit = float(match.group(1)), match.group(2)
        return timedelta(**{_UNITS[unit]: value})
    except OverflowError:
        raise ValueError(f"the duration {text!r} is too large") from None


def parse_window(text: str | int | float | timedelta) -> timedelta:
    """Parse a conversion window: a duration above 0 and at most :data:`MAX_WINDOW`.

    Raises ``ValueError`` naming the accepted range.

    Examples
    --------
    >>> parse_window("3d")
    datetime.timedelta(days=3)
    >>> parse_window("0d")
    Traceback (most recent call last):
    ...
    ValueError: a window must be above 0 and at most 3650d (10 years), got '0d'
    """
    try:
        window = parse_duration(text)
    except ValueError as exc:
        if "too large" not in str(exc):
            raise
        window = None
    if window is None or not timedelta(0) < window <= MAX_WINDOW:
        shown = format_duration(text) if isinstance(text, timedelta) else repr(text)
        raise ValueError(
            f"a window must be above 0 and at most {format_duration(MAX_WINDOW)} (10 years), "
            f"got {shown}"
        )
    return window


def format_duration(value: timedelta) -> str:
    """Write a duration back in the largest unit that divides it exactly.

    Examples
    --------
    >>> format_duration(timedelta(days=7)), format_duration(timedelta(hours=36))
    ('1w', '36h')
    """
    seconds = value.total_seconds()
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"

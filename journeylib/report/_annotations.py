"""Parameter annotations as written in a notebook's parameters cell, and the values they take.

``papermill --help-notebook`` shows annotations as text (``int``, ``list[str]``,
``dict[str, list[str]]``, ``Optional[str]``); :func:`checker` turns that text into a test of
values. Values must also be writable by Papermill as Python literals (:func:`writable`).

Examples
--------
>>> checker("dict[str, list[str]]")({"platform": ["ios"]})
True
>>> checker("Optional[int]")("7")
False
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

__all__ = ["Checker", "checker", "type_name", "writable"]

Checker = Callable[[Any], bool]
_NAMES: dict[str, Checker] = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, list),
    "dict": lambda v: isinstance(v, dict),
    "None": lambda v: v is None,
    "NoneType": lambda v: v is None,
    "Any": lambda v: True,
    "object": lambda v: True,
}


def _split(arguments: str) -> list[str]:
    """Top-level comma split of ``K, list[V]``."""
    parts, depth, current = [], 0, ""
    for char in arguments:
        depth += (char == "[") - (char == "]")
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return [part for part in parts if part]


def checker(annotation: str) -> Checker | None:
    """A test of values for an annotation; None for annotations it does not know."""
    text = annotation.strip().strip("'\"")
    if "|" in text:
        options = [checker(part) for part in text.split("|")]
        return None if None in options else (lambda v: any(c(v) for c in options))  # type: ignore[misc]
    match = re.fullmatch(r"(?:typing\.)?(\w+)\s*\[(.*)\]", text)
    if match is None:
        return _NAMES.get(text.removeprefix("typing."))
    outer, inner = match.group(1), _split(match.group(2))
    inner_checks = [checker(part) for part in inner]
    if None in inner_checks:
        return None
    if outer == "Optional" and len(inner_checks) == 1:
        (item,) = inner_checks
        return lambda v: v is None or item(v)  # type: ignore[misc]
    if outer == "Union":
        return lambda v: any(c(v) for c in inner_checks)  # type: ignore[misc]
    if outer in ("list", "List") and len(inner_checks) == 1:
        (item,) = inner_checks
        return lambda v: isinstance(v, list) and all(item(x) for x in v)  # type: ignore[misc]
    if outer in ("dict", "Dict") and len(inner_checks) == 2:
        key, item = inner_checks
        return lambda v: (
            isinstance(v, dict)
            and all(
                key(k) and item(x)  # type: ignore[misc]
                for k, x in v.items()
            )
        )
    return None


def writable(value: Any, where: str) -> Any:
    """The value as Papermill can write it: JSON-like; dates become ``YYYY-MM-DD`` strings.

    Raises ``TypeError`` (naming ``where``) for anything else.
    """
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [writable(item, where) for item in value]
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise TypeError(f"{where}: mapping keys must be text, got {dict(value)!r}")
        return {key: writable(item, where) for key, item in value.items()}
    raise TypeError(f"{where}: a {type(value).__name__} cannot be written into a notebook")


def type_name(value: Any) -> str:
    return "None" if value is None else type(value).__name__

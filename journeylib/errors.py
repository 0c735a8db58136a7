"""Exceptions a user can act on.

Every error names *what* (file, table, column, key path), *where* (line, rows) and what was
expected against what was found. The CLI maps them to exit codes; notebooks show the message
without a Polars traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ConfigError",
    "DataError",
    "JourneyError",
    "SchemaError",
    "SourceError",
    "close_matches",
    "did_you_mean",
]


class JourneyError(Exception):
    """Base class of every error journeylib raises on purpose."""


class ConfigError(JourneyError):
    """The journey config is invalid: each problem carries file, line and key path.

    Parameters
    ----------
    file
        The config file (or ``"<config>"`` for a config built in code).
    problems
        One line per problem, already located (``"line 12: sources.events.path: ..."``).
    """

    def __init__(self, file: str, problems: list[str]) -> None:
        self.file = file
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{file}: {count} problem{'s' if count != 1 else ''} in the journey config"
        super().__init__("\n".join([head, *(f"  - {p}" for p in self.problems)]))


class ScheduleError(ConfigError):
    """The schedule file or its state file cannot be used; each problem is located."""

    def __init__(self, file: str, problems: list[str]) -> None:
        super().__init__(file, problems)
        count = len(self.problems)
        head = f"{file}: {count} problem{'s' if count != 1 else ''} in the schedule"
        Exception.__init__(self, "\n".join([head, *(f"  - {p}" for p in self.problems)]))


class SourceError(JourneyError):
    """A source cannot be read at all (missing file, unreadable format, refused connection)."""

    def __init__(self, table: str, location: str, reason: str) -> None:
        self.table = table
        self.location = location
        self.reason = reason
        super().__init__(f"{table} source {location}: {reason}")


class SchemaError(JourneyError):
    """A table does not fit the canonical schema (missing columns, wrong column types)."""

    def __init__(self, table: str, location: str, problems: list[str]) -> None:
        self.table = table
        self.location = location
        self.problems = list(problems)
        lines = [f"{table} source {location}: does not fit the canonical {table} table"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class DataError(JourneyError):
    """The data is readable but cannot answer the question (e.g. an empty period)."""


def close_matches(
    word: str, choices: Iterable[str], *, n: int = 1, cutoff: float = 0.6
) -> list[str]:
    """The choices closest to ``word``, best first: one that differs only by case comes
    first, then :func:`difflib.get_close_matches` (at most ``n``, similarity >= ``cutoff``).

    Examples
    --------
    >>> close_matches("Checkout", ["cart", "checkout"])
    ['checkout']
    """
    options = sorted({str(choice) for choice in choices})
    word = str(word)
    same = [choice for choice in options if choice.casefold() == word.casefold()]
    others = difflib.get_close_matches(
        word, [c for c in options if c not in same], n=n, cutoff=cutoff
    )
    return [*same, *others][:n]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` naming the choice closest to ``word``, or ``""`` for none.

    Every error that suggests a name (config keys, KPIs, roles, time zones, columns, steps,
    filter values) writes the suggestion with this function.

    Examples
    --------
    >>> did_you_mean("convertion_rate", ["conversion_rate", "orders"])
    " (did you mean 'conversion_rate'?)"
    >>> did_you_mean("xyz", ["orders"])
    ''
    """
    found = close_matches(word, choices)
    return f" (did you mean '{found[0]}'?)" if found else ""

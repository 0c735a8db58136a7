"""The view a dashboard shows, and its query string.

A :class:`View` is a frozen value: the period, grain, comparison, dimension filters, funnel
steps, window and breakdown, retention options and the chart-click filter. Every widget
change makes a new view; the page draws a view; a link carries it in its query string::

    ?start=2026-09-01&end=2026-10-01&grain=week&channel=email,social&platform=ios
     &steps=visit,add_to_cart,purchase&window=3d

A dimension is its own key, several values comma-separated. The view's own keys
(:data:`QUERY_KEYS`: ``start``, ``grain``, ``steps``...) keep their meaning whatever the data's
columns are called; any dimension may also be written ``dim.<name>``, and a dimension whose name
is one of those keys is written that way (``?start=2026-09-01&dim.start=spring`` filters a
dimension called ``start``). :func:`parse_query` checks each parameter on its own: a bad value
gives a message naming the parameter and falls back to the default of that parameter only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from urllib.parse import parse_qsl, quote, urlencode

from journeylib.periods import Grain, parse_window

__all__ = [
    "COMPARISONS",
    "DIMENSION_PREFIX",
    "GRAINS",
    "QUERY_KEYS",
    "View",
    "ViewOptions",
    "dimension_key",
    "parse_query",
    "to_query",
]

GRAINS: tuple[Grain, ...] = ("day", "week", "month")
#: previous: the period before; previous_year: 52 weeks earlier (months: the same month).
COMPARISONS = ("previous", "previous_year")
RETENTION_GRAINS: tuple[Grain, ...] = ("week", "month")
#: Query keys that are not dimensions.
QUERY_KEYS = (
    "start",
    "end",
    "grain",
    "comparison",
    "steps",
    "window",
    "breakdown",
    "retention_grain",
    "cohort",
    "tab",
)
MAX_STEPS = 8
#: The prefix of a dimension's key: always accepted, written for names that are view keys.
DIMENSION_PREFIX = "dim."


@dataclass(frozen=True)
class View:
    """What the page shows. ``filters`` maps a dimension to its selected values (sorted)."""

    start: date
    end: date
    grain: Grain = "week"
    comparison: str = "previous"
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    steps: tuple[str, ...] = ()
    window: str = "7d"
    breakdown: str | None = None
    retention_grain: Grain = "week"
    cohort: str | None = None
    #: the filter set by a chart click: (dimension, value), shown as a chip
    pick: tuple[str, str] | None = None

    @property
    def filter_map(self) -> dict[str, list[str]]:
        """Filters as the engine takes them, the chart-click filter included."""
        merged = {column: list(values) for column, values in self.filters}
        if self.pick is not None:
            column, value = self.pick
            merged[column] = [value]
        return merged

    def with_filter(self, column: str, values: Sequence[str]) -> View:
        """A copy with ``column`` filtered to ``values`` (none: not filtered)."""
        kept = dict(self.filters)
        if values:
            kept[column] = tuple(sorted(set(values)))
        else:
            kept.pop(column, None)
        return replace(self, filters=tuple(sorted(kept.items())))

    def changed(self, **changes: object) -> View:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ViewOptions:
    """What a query string is checked against: the data's dimensions, steps and defaults."""

    default: View
    first_day: date
    last_day: date
    dimensions: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: roles and event names a funnel step may be
    step_names: frozenset[str] = frozenset()
    cohort_roles: frozenset[str] = frozenset()


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_query(query: str, options: ViewOptions) -> tuple[View, list[str]]:
    """The view a query string asks for, and one message per parameter that was refused.

    Examples
    --------
    >>> from datetime import date
    >>> default = View(start=date(2026, 9, 1), end=date(2026, 10, 1))
    >>> options = ViewOptions(default, date(2026, 5, 1), date(2026, 10, 30),
    ...                       {"platform": frozenset({"ios", "android"})})
    >>> view, messages = parse_query("platform=ios&grain=year", options)
    >>> view.filters, view.grain
    ((('platform', ('ios',)),), 'week')
    >>> messages
    ["grain: expected day, week or month, got 'year'; showing week"]
    """
    default = options.default
    view = default
    messages: list[str] = []
    pairs: dict[str, str] = {}
    for key, value in parse_qsl(query.lstrip("?"), keep_blank_values=True):
        pairs[key] = value  # the last one wins, as in most web frameworks

    def refuse(key: str, why: str, fallback: str) -> None:
        messages.append(f"{key}: {why}; showing {fallback}")

    def choose(key: str, choices: tuple[str, ...], view: View) -> View:
        """The view with ``key`` set from the query when it is one of ``choices``."""
        if key not in pairs:
            return view
        if pairs[key] in choices:
            return replace(view, **{key: pairs[key]})
        words = " or ".join((", ".join(choices[:-1]), choices[-1]))
        refuse(key, f"expected {words}, got {pairs[key]!r}", getattr(default, key))
        return view

    start, end = default.start, default.end
    for key in ("start", "end"):
        if key not in pairs:
            continue
        parsed = _date(pairs[key])
        if parsed is None:
            shown = default.start if key == "start" else default.end
            refuse(key, f"expected a date YYYY-MM-DD, got {pairs[key]!r}", str(shown))
        elif parsed < options.first_day or parsed > options.last_day:
            shown = default.start if key == "start" else default.end
            refuse(
                key,
                f"{parsed} is outside the data ({options.first_day} to {options.last_day})",
                str(shown),
            )
        elif key == "start":
            start = parsed
        else:
            end = parsed
    if end <= start:
        refuse("end", f"{end} is not after start {start}", f"{default.start} to {default.end}")
        start, end = default.start, default.end
    view = replace(view, start=start, end=end)

    for key, choices in (("grain", GRAINS), ("comparison", COMPARISONS)):
        view = choose(key, choices, view)
    if "steps" in pairs:
        steps = tuple(step.strip() for step in pairs["steps"].split(",") if step.strip())
        unknown = [step for step in steps if step not in options.step_names]
        shown = ",".join(default.steps)
        if unknown:
            refuse("steps", f"{unknown[0]!r} is neither a mapped role nor an event name", shown)
        elif not 2 <= len(steps) <= MAX_STEPS:
            refuse("steps", f"expected 2 to {MAX_STEPS} steps, got {len(steps)}", shown)
        else:
            view = replace(view, steps=steps)
    if "window" in pairs:
        try:
            parse_window(pairs["window"])
        except ValueError as exc:
            refuse("window", str(exc), default.window)
        else:
            view = replace(view, window=pairs["window"])
    if pairs.get("breakdown"):
        if pairs["breakdown"] in options.dimensions:
            view = replace(view, breakdown=pairs["breakdown"])
        else:
            refuse("breakdown", f"no dimension {pairs['breakdown']!r}", "no breakdown")
    view = choose("retention_grain", RETENTION_GRAINS, view)
    if pairs.get("cohort"):
        if pairs["cohort"] in options.cohort_roles:
            view = replace(view, cohort=pairs["cohort"])
        else:
            refuse("cohort", f"{pairs['cohort']!r} is not a mapped role", "any event")

    for key, value in pairs.items():
        if key.startswith(DIMENSION_PREFIX):
            name = key.removeprefix(DIMENSION_PREFIX)
        elif key in QUERY_KEYS:
            continue
        else:
            name = key
        if name not in options.dimensions:
            known = ", ".join(sorted(options.dimensions)) or "none"
            messages.append(f"{key}: not a dimension of the data (dimensions: {known}); ignored")
            continue
        values = [v for v in value.split(",") if v != ""]
        held = options.dimensions[name]
        unknown = [v for v in values if v not in held]
        if unknown or not values:
            why = f"no event has {name} {unknown[0]!r}" if unknown else "no value given"
            refuse(key, why, f"every {name}")
            continue
        view = view.with_filter(name, values)
    return view, messages


def dimension_key(name: str) -> str:
    """The query key of a dimension: its name, or ``dim.<name>`` when that is a view key."""
    if name in QUERY_KEYS or name.startswith(DIMENSION_PREFIX):
        return DIMENSION_PREFIX + name
    return name


def to_query(view: View, default: View) -> str:
    """The query string of a view: only what differs from the default, in a fixed order."""
    pairs: list[tuple[str, str]] = [("start", str(view.start)), ("end", str(view.end))]
    if view.grain != default.grain:
        pairs.append(("grain", view.grain))
    if view.comparison != default.comparison:
        pairs.append(("comparison", view.comparison))
    for column, values in sorted(view.filter_map.items()):
        pairs.append((dimension_key(column), ",".join(values)))
    if view.steps != default.steps:
        pairs.append(("steps", ",".join(view.steps)))
    if view.window != default.window:
        pairs.append(("window", view.window))
    if view.breakdown:
        pairs.append(("breakdown", view.breakdown))
    if view.retention_grain != default.retention_grain:
        pairs.append(("retention_grain", view.retention_grain))
    if view.cohort:
        pairs.append(("cohort", view.cohort))
    return "?" + urlencode(pairs, quote_via=quote, safe=",")

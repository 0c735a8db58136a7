"""Plain-English sentences of the engine's findings, for the report, the alerts and the CLI.

Every sentence is built here from the numbers of one finding, so the headline, the email and
the command line say the same thing in the same words.

Examples
--------
>>> from datetime import date
>>> print(incident_sentence(
...     from_name="checkout", to_name="purchase", segment="android", start=date(2026, 8, 30),
...     end=date(2026, 9, 4), baseline_rate=0.75, rate=0.60, baseline_periods=4, grain="week",
...     users_lost=420.4,
... ))  # doctest: +NORMALIZE_WHITESPACE
From 30 Aug to 3 Sep 2026, checkout → purchase on android fell from 75% to 60% against the
four weeks before; about 420 buyers lost.
"""

from __future__ import annotations

from datetime import date, timedelta

from journeylib.kpis import kpi_label
from journeylib.periods import Grain

__all__ = [
    "date_span",
    "format_percent",
    "friction_sentence",
    "incident_sentence",
    "kpi_incident_sentence",
    "loop_sentence",
    "lost_noun",
    "period_words",
    "segment_label",
    "segment_name",
    "units_noun",
]

_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
#: What the units lost at a transition into these steps are called.
_NOUNS = {"purchase": "buyers", "signup": "sign-ups", "lead": "leads", "activation": "activations"}


def format_percent(rate: float) -> str:
    """A rate as a whole percentage, or with one decimal below 10%.

    Examples
    --------
    >>> format_percent(0.754), format_percent(0.043)
    ('75%', '4.3%')
    """
    percent = 100 * rate
    return f"{percent:.1f}%" if abs(percent) < 10 else f"{percent:.0f}%"


def _day(day: date, *, year: bool) -> str:
    text = f"{day.day} {day:%b}"
    return f"{text} {day.year}" if year else text


def date_span(start: date, end: date) -> str:
    """``From 30 Aug to 3 Sep 2026`` for ``[start, end)``; ``On 30 Aug 2026`` for one day.

    Examples
    --------
    >>> date_span(date(2026, 12, 28), date(2027, 1, 4))
    'From 28 Dec 2026 to 3 Jan 2027'
    """
    last = end - timedelta(days=1)
    if last <= start:
        return f"On {_day(start, year=True)}"
    return f"From {_day(start, year=start.year != last.year)} to {_day(last, year=True)}"


def segment_label(dimension: str, value: object) -> str:
    """``platform=android``; ``campaign=(none)`` for the units without a value.

    Examples
    --------
    >>> segment_label("campaign", None)
    'campaign=(none)'
    """
    return f"{dimension}={value if value is not None else '(none)'}"


def segment_name(dimension: str, value: object) -> str:
    """How a sentence names a segment: its value, or ``units without a campaign``.

    Examples
    --------
    >>> segment_name("platform", "android"), segment_name("campaign", None)
    ('android', 'units without a campaign')
    """
    return str(value) if value is not None else f"units without a {dimension}"


def period_words(count: int, grain: Grain) -> str:
    """``the four weeks before`` / ``the day before``."""
    unit = {"day": "day", "week": "week", "month": "month"}[grain]
    if count == 1:
        return f"the {unit} before"
    number = _NUMBERS[count] if count < len(_NUMBERS) else str(count)
    return f"the {number} {unit}s before"


def units_noun(unit: str) -> str:
    """The units counted, in words: ``users`` for ``user_id``, ``sessions`` for ``session_id``.

    Examples
    --------
    >>> units_noun("session_id")
    'sessions'
    """
    return "users" if unit == "user_id" else unit.removesuffix("_id").replace("_", " ") + "s"


def lost_noun(to_name: str, unit: str = "user_id") -> str:
    """What a lost unit is called: ``buyers`` at a purchase step, else ``users``/``sessions``."""
    if to_name in _NOUNS:
        return _NOUNS[to_name]
    return units_noun(unit)


def _about(count: float) -> str:
    rounded = round(count)
    if rounded >= 1000:
        rounded = round(count, -2)
    return f"{rounded:,.0f}"


def incident_sentence(
    *,
    from_name: str,
    to_name: str,
    segment: str | None,
    start: date,
    end: date,
    baseline_rate: float,
    rate: float,
    baseline_periods: int,
    grain: Grain,
    users_lost: float,
    unit: str = "user_id",
    concentrated: tuple[str, float, float] | None = None,
) -> str:
    """One incident in words (``end`` exclusive).

    ``segment`` names the segment the incident was found in (``None`` for all units);
    ``concentrated`` is ``(segment, baseline_rate, rate)`` of the segment holding most of an
    all-units incident's loss.
    """
    return _fell(
        f"{from_name} → {to_name}",
        segment,
        (start, end, baseline_rate, rate, baseline_periods, grain),
        concentrated,
        f"about {_about(users_lost)} {lost_noun(to_name, unit)} lost",
    )


def _fell(
    subject: str,
    segment: str | None,
    run: tuple[date, date, float, float, int, Grain],
    concentrated: tuple[str, float, float] | None,
    loss: str,
) -> str:
    """``From <start> to <end>, <subject> [on <segment>] fell from x% to y% against <the
    periods before>[, most of it on <segment> (x% to y%)]; <loss>.``"""
    start, end, baseline_rate, rate, baseline_periods, grain = run
    where = f" on {segment}" if segment else ""
    text = (
        f"{date_span(start, end)}, {subject}{where} fell from {format_percent(baseline_rate)} "
        f"to {format_percent(rate)} against {period_words(baseline_periods, grain)}"
    )
    if concentrated is not None:
        name, before, after = concentrated
        text += f", most of it on {name} ({format_percent(before)} to {format_percent(after)})"
    return f"{text}; {loss}."


def kpi_words(kpi: str) -> str:
    """A KPI's label as it reads inside a sentence.

    Examples
    --------
    >>> kpi_words("payment_success_rate"), kpi_words("nps")
    ('payment success rate', 'NPS')
    """
    label = kpi_label(kpi)
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


#: What a KPI incident's lost numerator is called (default: conversions).
_KPI_NOUNS = {"payment_success_rate": "successful payments"}


def kpi_incident_sentence(
    *,
    kpi: str,
    segment: str | None,
    start: date,
    end: date,
    baseline_rate: float,
    rate: float,
    baseline_periods: int,
    grain: Grain,
    lost: float,
    concentrated: tuple[str, float, float] | None = None,
) -> str:
    """One incident of a rate KPI in words (``end`` exclusive).

    Examples
    --------
    >>> print(kpi_incident_sentence(
    ...     kpi="payment_success_rate", segment="android", start=date(2026, 8, 30),
    ...     end=date(2026, 9, 4), baseline_rate=0.97, rate=0.62, baseline_periods=4,
    ...     grain="day", lost=45.2,
    ... ))  # doctest: +NORMALIZE_WHITESPACE
    From 30 Aug to 3 Sep 2026, payment success rate on android fell from 97% to 62% against
    the four days before; about 45 successful payments lost.
    """
    return _fell(
        kpi_words(kpi),
        segment,
        (start, end, baseline_rate, rate, baseline_periods, grain),
        concentrated,
        f"about {_about(lost)} {_KPI_NOUNS.get(kpi, 'conversions')} lost",
    )


def friction_sentence(
    *,
    from_name: str,
    to_name: str,
    users: int,
    lost: int,
    unit: str = "user_id",
    segment: str | None = None,
    segment_rate: float | None = None,
    others_rate: float | None = None,
    segment_lost: float | None = None,
) -> str:
    """The top friction point in words: the transition losing most units and, when one
    converts significantly worse there, its worst segment.

    Examples
    --------
    >>> print(friction_sentence(
    ...     from_name="product_view", to_name="add_to_cart", users=41_000, lost=26_500,
    ...     segment="social", segment_rate=0.14, others_rate=0.38, segment_lost=1_480,
    ... ))  # doctest: +NORMALIZE_WHITESPACE
    The largest loss is at product_view → add_to_cart: about 26,500 of 41,000 users (65%) did
    not go on; social converts worst there, 14% against 38% for the others (about 1,500 users
    lost).
    """
    noun = units_noun(unit)
    share = format_percent(lost / users) if users else "no"
    text = (
        f"The largest loss is at {from_name} → {to_name}: about {_about(lost)} of "
        f"{_about(users)} {noun} ({share}) did not go on"
    )
    if segment is not None and segment_rate is not None and others_rate is not None:
        text += (
            f"; {segment} converts worst there, {format_percent(segment_rate)} against "
            f"{format_percent(others_rate)} for the others"
        )
        if segment_lost is not None:
            text += f" (about {_about(segment_lost)} {noun} lost)"
    return text + "."


def loop_sentence(
    *,
    from_name: str,
    to_name: str,
    start: date,
    end: date,
    baseline_rate: float,
    rate: float,
    baseline_periods: int,
    grain: Grain,
    extra_users: float,
    unit: str = "user_id",
) -> str:
    """A loop in words: units going back from a later step to an earlier one more often.

    Examples
    --------
    >>> print(loop_sentence(
    ...     from_name="checkout", to_name="product_view", start=date(2026, 9, 7),
    ...     end=date(2026, 9, 14), baseline_rate=0.12, rate=0.2, baseline_periods=4,
    ...     grain="week", extra_users=64,
    ... ))  # doctest: +NORMALIZE_WHITESPACE
    From 7 Sep to 13 Sep 2026, 20% of users at checkout went back to product_view, against 12%
    in the four weeks before; about 64 more users looped.
    """
    period = period_words(baseline_periods, grain).replace(" before", "")
    noun = units_noun(unit)
    return (
        f"{date_span(start, end)}, {format_percent(rate)} of {noun} at {from_name} went back to "
        f"{to_name}, against {format_percent(baseline_rate)} in {period} before; about "
        f"{_about(extra_users)} more {noun} looped."
    )

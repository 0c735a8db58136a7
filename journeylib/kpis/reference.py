"""The KPI reference (``docs/kpis.md``), written from the registry and the formulas' docstrings.

``journey kpis --list --format markdown`` prints it and ``make docs`` writes it; a test fails
when the file and the registry disagree. Each KPI's section comes from its :class:`KPI` record
(stage, formula, unit, direction, inputs) and from the docstring of its formula: the first
paragraph says the definition in words, an ``Options`` section the settings that change it
and a ``Choices`` section what was decided where the definition left a choice. The parts that
hold for every KPI (inputs, periods, breakdowns, statistics) and the analyses that are not
KPIs (funnels, retention cohorts, the score, experiments, friction) are written here.

Examples
--------
>>> entry = kpi_entry(REGISTRY["conversion_rate"])
>>> entry["formula"], entry["direction"]
('users with purchase / visitors', 'higher')
>>> entry["choices"][-1]
'A buyer with no `visit` event in P is not counted.'
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Iterable, Sequence
from typing import Any

from journeylib.config.schema import ROLES, SURVEY_KINDS, TABLES
from journeylib.config.stages import DEFAULT_STAGES
from journeylib.kpis._registry import KPI, REGISTRY

__all__ = ["kpi_entries", "kpi_entry", "reference_markdown"]

#: Docstring sections of a KPI formula that the reference shows, in order.
SECTIONS = ("Options", "Choices")

_UNIT = {
    "count": "count",
    "rate": "rate (a share from 0 to 1, shown as %)",
    "currency": "currency (the config's `currency`)",
    "duration": "duration (seconds, shown in s, min, h or days)",
    "score": "score (points)",
}
_DIRECTION = {
    "higher": "higher is better",
    "lower": "lower is better",
    "config": "set by the config: `surveys.ces.higher_is_better` (default: higher is better)",
}
_STATISTICS = {
    "rate": "95% Wilson interval; a change is tested with the two-proportion z-test",
    "ratio": "none: a ratio of sums carries no interval, and a change is shown, not tested",
    "count": "none: a count or total carries no interval, and a change is shown, not tested",
    "mean": "an interval and a z-test of a change where the choices give a standard error; "
    "otherwise none",
    "score": "an interval and a z-test of a change from the standard error the choices give",
}
_EXPERIMENT = {
    "rate": "per user, as a share of users (Wilson interval, pooled two-proportion z-test)",
    "mean": "per user, as a mean value per user (Welch's t-test)",
    "ratio": "as a ratio of per-user sums (delta method)",
}
#: Width of the generated Markdown's wrapped lines (tables are not wrapped).
WIDTH = 100


def _stage_order() -> list[str]:
    stages = list(DEFAULT_STAGES)
    stages += sorted({kpi.stage for kpi in REGISTRY.values()} - set(stages))
    return stages


def _ordered(kpis: Iterable[KPI]) -> list[KPI]:
    """KPIs in the default journey's order: by stage, then as the stage lists them."""
    position = {name: i for i, name in enumerate(n for s in DEFAULT_STAGES.values() for n in s)}
    stages = {stage: i for i, stage in enumerate(_stage_order())}
    return sorted(
        kpis, key=lambda kpi: (stages[kpi.stage], position.get(kpi.name, len(position)), kpi.name)
    )


def _plain(text: str) -> str:
    """reStructuredText of a docstring as Markdown: ````x```` as ```x```, roles dropped."""
    text = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def _docstring_parts(kpi: KPI) -> tuple[str, dict[str, list[str]]]:
    """The formula's first paragraph and the items of its :data:`SECTIONS`."""
    doc = inspect.getdoc(kpi.compute) or ""
    paragraphs = doc.split("\n\n")
    words = " ".join(paragraphs[0].split()) if paragraphs and paragraphs[0] else ""
    sections: dict[str, list[str]] = {name: [] for name in SECTIONS}
    current: list[str] | None = None
    lines = doc.splitlines()
    for index, line in enumerate(lines):
        below = lines[index + 1] if index + 1 < len(lines) else ""
        if line.strip() in SECTIONS and below.strip() and set(below.strip()) == {"-"}:
            current = sections[line.strip()]
        elif current is not None and line.startswith("- "):
            current.append(line[2:].strip())
        elif current is not None and line.startswith("  ") and current:
            current[-1] += " " + line.strip()
        elif line.strip() and set(line.strip()) != {"-"}:
            current = None
    return _plain(words), {
        name: [_plain(item) for item in items] for name, items in sections.items()
    }


def kpi_entry(kpi: KPI) -> dict[str, Any]:
    """What the reference says of one KPI, as plain values (the JSON of ``--list``)."""
    words, sections = _docstring_parts(kpi)
    return {
        "kpi": kpi.name,
        "label": getattr(kpi, "label", None) or kpi.name,
        "stage": kpi.stage,
        "definition": words,
        "formula": kpi.doc,
        "unit": kpi.unit,
        "direction": kpi.direction,
        "kind": kpi.kind,
        "tables": list(kpi.tables),
        "roles": list(kpi.roles),
        "columns": list(kpi.columns),
        "experiment": kpi.experiment,
        "options": sections["Options"],
        "choices": sections["Choices"],
    }


def kpi_entries(names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """:func:`kpi_entry` of the named KPIs (default: every KPI), in the journey's order."""
    if names is None:
        kpis = REGISTRY.values()
    else:
        from journeylib.kpis._registry import get_kpi

        kpis = {get_kpi(name).name: get_kpi(name) for name in names}.values()
    return [kpi_entry(kpi) for kpi in _ordered(kpis)]


def _code(names: Iterable[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def _inputs_line(entry: dict[str, Any]) -> str:
    parts = [f"table{'s' if len(entry['tables']) > 1 else ''} {_code(entry['tables'])}"]
    if entry["roles"]:
        parts.append(f"role{'s' if len(entry['roles']) > 1 else ''} {_code(entry['roles'])}")
    if entry["columns"]:
        parts.append(f"optional column{'s' if len(entry['columns']) > 1 else ''} "
                     f"{_code(entry['columns'])}")  # fmt: skip
    return "; ".join(parts)


def _kpi_section(entry: dict[str, Any]) -> list[str]:
    lines = [f"### {entry['kpi']}", ""]
    definition = entry["definition"] or entry["formula"]
    if entry["label"] != entry["kpi"]:
        definition = f"**{entry['label']}.** {definition}"
    lines += [definition, ""]
    items = [
        f"**Formula**: {entry['formula']}",
        f"**Stage**: {entry['stage']}",
        f"**Unit**: {_UNIT[entry['unit']]}",
        f"**Direction**: {_DIRECTION[entry['direction']]}",
        f"**Inputs**: {_inputs_line(entry)}",
        f"**Statistics**: {_STATISTICS[entry['kind']]}",
    ]
    if entry["experiment"] is not None:
        items.append(f"**Experiments**: read {_EXPERIMENT[entry['experiment']]}")
    for item in items:
        lines += _wrapped(item, "- ")
    for title in ("options", "choices"):
        if entry[title]:
            lines.append(f"- **{title.capitalize()}**:")
            for item in entry[title]:
                lines += _wrapped(item, "  - ")
    return [*lines, ""]


def _wrapped(text: str, bullet: str) -> list[str]:
    """A Markdown list item wrapped at :data:`WIDTH`, its lines indented under the bullet."""
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=bullet,
        subsequent_indent=" " * len(bullet),
        break_long_words=False,
        break_on_hyphens=False,
    )


def _index(entries: Sequence[dict[str, Any]]) -> list[str]:
    lines = ["| stage | KPI | formula | unit | better |", "| --- | --- | --- | --- | --- |"]
    better = {"higher": "higher", "lower": "lower", "config": "config"}
    for entry in entries:
        name = f"[{entry['kpi']}](#{entry['kpi']})"
        if entry["label"] != entry["kpi"]:
            name = f"[{entry['label']}](#{entry['kpi']}) (`{entry['kpi']}`)"
        formula = entry["formula"].replace("|", "\\|")
        lines.append(
            f"| {entry['stage']} | {name} | {formula} | {entry['unit']} | "
            f"{better[entry['direction']]} |"
        )
    return [*lines, ""]


def _inputs_table() -> list[str]:
    lines = ["| table | required columns | optional columns |", "| --- | --- | --- |"]
    for spec in TABLES.values():
        required = _code(spec.required) + ("" if spec.mandatory else " (the table is optional)")
        lines.append(f"| {spec.name} | {required} | {_code(spec.optional) or '–'} |")
    return [*lines, ""]


def _roles() -> str:
    text = f"{_code(ROLES)} and `feature:<name>` (one per feature)."
    return "\n".join(textwrap.wrap(text, WIDTH, break_on_hyphens=False))


def _survey_scales() -> str:
    fixed = [f"`{kind}` {low:g}–{high:g}" for kind, scale in SURVEY_KINDS.items() if scale
             for low, high in [scale]]  # fmt: skip
    return ", ".join(fixed)


_INTRO = """\
# KPI reference

What every number of journeylib means: the KPIs by stage, the funnels, the retention cohorts,
the journey score, experiments and friction. The report's glossary, the dashboard and the
command line (`journey kpis`) show these same KPIs, computed by one function each.

This file is generated from the KPI registry (`journeylib/kpis/`): do not edit it by hand, run
`make docs` (or `journey kpis --list --format markdown > docs/kpis.md`). A test fails when the
file and the registry disagree.

Contents: [Inputs](#inputs) · [Periods, users and breakdowns](#periods-users-and-breakdowns) ·
[Statistics](#statistics) · [Options of every KPI](#options-of-every-kpi) ·
[KPIs by stage](#kpis-by-stage) · [Funnels](#funnels) · [Retention cohorts](#retention-cohorts) ·
[Journey score](#journey-score) · [Experiments](#experiments) ·
[Friction, incidents and loops](#friction-incidents-and-loops)
"""

_INPUTS = """\
## Inputs

The journey config (`journey.yml`) maps every source onto these canonical tables (column
names, time zone, event names). Any other column is a **dimension** (channel, platform,
campaign, country, variant, ...), usable in filters and breakdowns.

{tables}
Only `events` is mandatory. A KPI whose table, role or optional column is missing is reported
as **not available**, with the reason, never as 0. The CES scale comes from the config
(`surveys.ces`); the other survey scales are fixed:
{scales}.

**Roles.** The config maps the company's own event names onto roles, so no KPI names an event.
A role may list several event names; an unmapped role makes its KPIs not available. The roles:
{roles}
"""

_PERIODS = """\
## Periods, users and breakdowns

- **Period P**: a report covers `[start, end)` in local dates of the config's `timezone`
  (default UTC), split by a grain: `day`, `week` (ISO, starting on Monday) or `month`. "In P"
  means a timestamp whose local date is in P. A start inside a period is moved back to that
  period's start; a last period cut short by the end date is marked not complete.
- **Users** are distinct `user_id` values. **Active** users have any event in P, or an event
  of a role listed in the config's `activity_roles`.
- **Filters** (`--filter channel=email`) keep only matching rows, in every table that has the
  column. A filter on a column the events lack is an error; another table without the column
  makes its KPIs not available.
- **Breakdowns** (`--by channel`) are user-level: each user takes the value of their first
  event in P (first touch, as PostHog and Mixpanel do by default), or of their last event with
  `breakdown_touch: last`. A breakdown column must be a dimension of the events. Spend KPIs
  break down by a column the spend table has, and are not available otherwise; survey answers
  and tickets use their own column, else their user's value in that period.
- **Counts** of a period without events are 0; a **rate** whose denominator is 0 is null
  ("no data"), never 0.
- **Money** is summed in millionths of the currency unit, so every total is the same to the
  last digit from run to run.
"""

_STATISTICS_TEXT = """\
## Statistics

- Every rate carries its numerator and denominator and a 95% **Wilson interval**.
- Each period is compared with the previous one: `previous`, `change` (value − previous; for a
  rate, a difference of shares) and `relative_change` (change / |previous|, null when the
  previous value is 0).
- The **p-value** of a change is the two-proportion z-test for a rate, and a z-test on the two
  standard errors for a KPI that has one (NPS, CES); a change is **significant** at p < 0.05.
  Counts and ratios carry no p-value.
- A period whose previous period lies wholly before the data's first event has nothing to be
  compared with: its previous value, change and p-value are null, not a change from 0.
- With a **target** (`targets` in the config) a KPI's status is `met` when the value is at or
  above it (at or below it when lower is better), `missed` otherwise, and empty without a
  value.
"""

_OPTIONS = """\
## Options of every KPI

Every KPI takes the report's `start`, `end` and grain, the breakdown columns (`by`) and the
event-level filters; the config can move a KPI to another stage, set its target and its weight
in the score (`targets`, `kpi_weights`), and choose `activity_roles` and `breakdown_touch`.
The options below a KPI are the ones of that KPI alone.
"""

_FUNNELS = """\
## Funnels

Steps are an ordered list of roles or event names (a funnel of the config, or
`journey funnel --steps visit,product_view,purchase`). Defaults follow Mixpanel's "uniques" and
Amplitude's entry-based counting.

- **Unit**: a user, or any column named as the unit (`--unit session_id`); rows with a null
  unit are not units.
- **Entry**: the unit's first step-1 event in the period. Only the entry must lie in the
  period; later steps may come after its end, inside the window.
- **Window**: every later step happens at most `conversion_window` (default 7 days) after the
  entry; the end of the window is inclusive.
- **Order**: step k+1 is the earliest event of its names at or after the step-k event; equal
  timestamps count, but one event never fills two steps (a second event at the same timestamp
  can). Among events with the same timestamp, the smallest event name is taken. Events between
  steps are allowed; `strict` breaks the sequence on any other event strictly between two
  steps (events at either step's exact timestamp never break it).
- **Counting**: a unit counted at step k is counted at every step before it, so the counts
  never increase along the steps.
- **In progress**: a unit that has not reached the last step and whose window has not ended by
  the last timestamp in the data is `in_progress`, not dropped:
  drop-off at step k = units at step k−1 − units at step k − units in progress at step k−1.
- **Outputs** per step: units, conversion from the first step and from the previous step
  (each with its 95% Wilson interval; null, never 0, on a zero denominator), drop-off, and the
  median and 90th percentile time from the previous step.
- **Options**: `attempt: best` (every step-1 event in the period starts an attempt; the unit
  counts up to the furthest step any attempt reached, ties to the earliest attempt);
  exclusion events (an attempt with one between its entry and its last step, or the end of its
  window, is dropped); a breakdown (each unit takes the value on its entry event); and a
  trended funnel (units grouped by the period of their entry, every period listed, 0 when
  empty).
"""

_RETENTION = """\
## Retention cohorts

- **Cohort**: the period of the user's first-ever cohort event (default: any event;
  `--cohort-role purchase` makes it the first purchase), taken over all the data even when
  only some cohorts are shown.
- **Cell** (cohort c, offset k): cohort users with a return event (default: any event;
  `--return-role`) in period c + k, divided by the cohort size. Offset 0 is 100% when the
  cohort and return events coincide.
- A cell whose period ends after the last timestamp in the data is not fully observed: it is
  null, not 0.
- `--mode on_or_after` (unbounded retention) counts a return in period c + k or any later one.
"""

_SCORE = """\
## Journey score

- Each KPI with a value and a target scores in [0, 100]: `100 × min(1, value / target)` when
  higher is better (a negative value scores 0; the target must be above 0), and
  `100 × min(1, target / value)` when lower is better (a value of 0 or below scores 100; the
  target must be 0 or above). A KPI whose target breaks these rules is left out as an invalid
  target.
- A stage's score is the weighted mean of its KPI scores (`kpi_weights` in the config, default
  equal); the overall score is the weighted mean of the stage scores (each stage's `weight`,
  default equal).
- A KPI with no data or no target is left out and the weights are renormalised over what
  remains; the score lists what was left out and why, so it is never silently built on half
  the journey.
"""

_EXPERIMENTS = """\
## Experiments

For an experiment of the config (a variant column and its KPIs), read as the A/B readouts of
GrowthBook and Eppo do:

- Users are assigned to the variant of their first event with one in the period; users seen
  with two or more variants are excluded from everything and reported.
- A KPI is read per user as its registry says (**Experiments** under each KPI): a share of
  users gets a Wilson interval per variant, the unpooled 95% interval of the difference and
  the pooled two-proportion z-test; a mean per user gets Welch's t-test and interval; a ratio
  whose unit is not the user (revenue / orders) gets the delta method on per-user sums.
- **Sample ratio mismatch**: chi-square test of the assigned users against the expected split
  (default equal), flagged at p < 0.001, when the readout says not to trust the result.
- **Power**: the minimum detectable effect at the observed size (alpha 0.05, power 0.8), and
  the users per variant needed for a given lift.
- Holm's correction over every comparison read; optional CUPED with a pre-period covariate and
  always-valid (sequential) intervals.
- **Projection**: "optimised KPI = current value + measured lift", with its interval; no
  winner is called when the SRM check fails or the lift's interval includes zero.
"""

_FRICTION = """\
## Friction, incidents and loops

- **Friction**: funnel transitions ranked by units lost, and transitions where one segment
  converts significantly worse than the rest of the units (two-proportion z-test, Holm-adjusted
  p < 0.01).
- **Incidents**: for each transition and each period, conversion against a trailing baseline
  (the previous 4 periods); a drop with p < 0.01 and a relative fall of at least 10% is
  flagged; consecutive flagged periods merge into one incident with a start, an end, the
  segments most affected and the units lost, told in a sentence in the report.
- **Loops**: transitions from a later step back to an earlier one (A → B → A) whose rate rises
  significantly against the baseline.
"""


def reference_markdown() -> str:
    """The whole KPI reference as Markdown: what ``docs/kpis.md`` holds.

    Examples
    --------
    >>> text = reference_markdown()
    >>> text.splitlines()[0]
    '# KPI reference'
    >>> "### conversion_rate" in text and "## Funnels" in text
    True
    """
    entries = kpi_entries()
    lines = [_INTRO]
    lines.append(
        _INPUTS.format(tables="\n".join(_inputs_table()), scales=_survey_scales(), roles=_roles())
    )
    lines += [_PERIODS, _STATISTICS_TEXT, _OPTIONS]
    body = ["## KPIs by stage", "", *_index(entries)]
    for stage in _stage_order():
        of_stage = [entry for entry in entries if entry["stage"] == stage]
        if not of_stage:
            continue
        body += [f"## {stage.capitalize()}", ""]
        for entry in of_stage:
            body += _kpi_section(entry)
    lines.append("\n".join(body))
    lines += [_FUNNELS, _RETENTION, _SCORE, _EXPERIMENTS, _FRICTION]
    return "\n".join(part.rstrip("\n") + "\n" for part in lines).rstrip("\n") + "\n"

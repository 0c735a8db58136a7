"""The report's optimisation findings: incidents and the top friction point in the headline,
the friction section and the readouts of the experiments the config declares.

Every number comes from the engine's functions (:meth:`journeylib.Journey.incidents`,
``kpi_incidents``, ``friction``, ``experiment``), the ones the CLI calls; every data value
shown is escaped by the display helpers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from journeylib._format import format_count
from journeylib.kpis import kpi_title
from journeylib.optimise.sentences import format_percent
from journeylib.report import display

if TYPE_CHECKING:
    from journeylib.report.context import ReportContext

__all__ = [
    "finding_sentences",
    "report_friction",
    "report_incidents",
    "show_experiments",
    "show_friction",
]


def _funnel_name(ctx: ReportContext) -> str | None:
    funnels = ctx.journey.config.funnels
    if not funnels:
        return None
    return ctx.funnel_name or next(iter(funnels))


def report_incidents(ctx: ReportContext):
    """Incidents overlapping the report period: :meth:`journeylib.Journey.incidents_in`, as
    the dashboard lists them (the report's funnel and the watched rate KPIs)."""
    if "incidents" not in ctx._cache:
        ctx._cache["incidents"] = ctx.journey.incidents_in(
            ctx.period.start, ctx.period.end, steps=_funnel_name(ctx), filters=ctx.filters
        )
    return ctx._cache["incidents"]


def report_friction(ctx: ReportContext):
    """Friction of the report's funnel for entries in the report period (``None`` when the
    config defines no funnel)."""
    if "friction" not in ctx._cache:
        name = _funnel_name(ctx)
        ctx._cache["friction"] = (
            None
            if name is None
            else ctx.journey.friction(
                name, start=ctx.period.start, end=ctx.period.end, filters=ctx.filters
            )
        )
    return ctx._cache["friction"]


def finding_sentences(ctx: ReportContext) -> list[str]:
    """The headline's findings: every incident of the period, then the top friction point."""
    sentences: list[str] = []
    incidents = report_incidents(ctx)
    if incidents is not None:
        sentences += incidents.incidents["sentence"].to_list()
    friction = report_friction(ctx)
    if friction is not None:
        top = friction.top_sentence()
        if top:
            sentences.append(top)
    return sentences


def _percent(value: Any) -> str:
    return format_percent(value) if value is not None else ""


def show_friction(ctx: ReportContext) -> None:
    """The friction section: transitions by users lost, the segments converting worse, what
    the dropped users did next, and the incidents of the period with their charts."""
    from journeylib.charts.optimise import incident_chart

    display.show_section(
        "Friction",
        f"Where the funnel loses users, for entries in {ctx.period.description}: "
        "transitions by users lost, and the segments converting significantly worse than the "
        "other users (Holm-adjusted p < 0.01).",
    )
    friction = report_friction(ctx)
    if friction is None:
        display.show_text("The journey config defines no funnel.")
        return
    transitions = friction.transitions.select(
        (pl.col("from_name") + " → " + pl.col("to_name")).alias("transition"),
        "users",
        "converted",
        "lost",
        "rate",
    )
    display.show_table(
        transitions,
        name="friction-transitions",
        formats={
            "users": format_count,
            "converted": format_count,
            "lost": format_count,
            "rate": _percent,
        },
    )
    worse = friction.worse.head(8).select(
        (pl.col("from_name") + " → " + pl.col("to_name")).alias("transition"),
        (pl.col("dimension") + " = " + pl.col("value").fill_null("(none)")).alias("segment"),
        "users",
        "rate",
        "others_rate",
        "users_lost",
    )
    if worse.height:
        display.show_table(
            worse,
            name="friction-segments",
            formats={
                "users": format_count,
                "rate": _percent,
                "others_rate": _percent,
                "users_lost": format_count,
            },
            headers={"others_rate": "others", "users_lost": "lost beyond the others"},
        )
    else:
        display.show_text("No segment converts significantly worse than the other users.")
    if friction.next_events is not None and friction.next_events.height:
        display.show_text(
            "What users who stopped did next (their most frequent next event, or left):"
        )
        top_next = (
            friction.next_events.sort(["from_step", "users"], descending=[False, True])
            .group_by("from_step", maintain_order=True)
            .head(3)
            .select(
                (pl.col("from_name") + " → " + pl.col("to_name")).alias("stopped before"),
                pl.col("next_event").alias("next event"),
                "users",
                "share",
            )
        )
        display.show_table(
            top_next,
            name="friction-next-events",
            formats={"users": format_count, "share": _percent},
        )
    incidents = report_incidents(ctx)
    if incidents is None or incidents.incidents.is_empty():
        display.show_text(f"No incident started in {ctx.period.description}.")
        return
    for row in incidents.incidents.iter_rows(named=True):
        display.show_text(row["sentence"])
        periods = incidents.series_of(row)
        if periods is not None and periods.height:
            title = (
                kpi_title(row["kpi"]) if row["kpi"] else f"{row['from_name']} → {row['to_name']}"
            )
            if row["dimension"] is not None:
                title += f" ({row['dimension']} = {row['value']})"
            display.show_chart(
                incident_chart(periods, start=row["start"], end=row["end"], title=title),
                name=f"incident-{row['key']}",
                title=title,
            )


def show_experiments(ctx: ReportContext) -> None:
    """The readout of every experiment the config declares (``experiments:``)."""
    from journeylib.charts.optimise import experiment_chart

    experiments = ctx.journey.config.experiments
    if not experiments:
        return
    for name, experiment in experiments.items():
        result = ctx.journey.experiment(
            experiment.variant,
            experiment.kpis,
            start=experiment.start,
            end=experiment.end,
            control=experiment.control,
            expected_split=experiment.expected_split,
            filters=ctx.filters,
        )
        assigned = ", ".join(f"{v}: {format_count(n)}" for v, n in result.assigned.items())
        srm = result.srm
        display.show_section(
            f"Experiment {name}",
            f"Users by the {result.variant_column} they were first seen with, from "
            f"{result.start.isoformat()} to {result.end.isoformat()} ({assigned}; "
            f"{format_count(result.excluded_users)} seen in two variants excluded). Sample "
            f"ratio check p = {srm.p_value:.3g}"
            + (": the split is off, do not trust the result." if srm.flagged else "."),
        )
        for readout in result.readouts:
            display.show_text(readout.verdict)
            display.show_chart(
                experiment_chart(readout.variants, kpi=readout.kpi, rate=readout.unit == "rate"),
                name=f"experiment-{name}-{readout.kpi}",
                title=f"{readout.kpi} by {result.variant_column}",
            )

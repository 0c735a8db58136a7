"""``journey friction | incidents | experiment``: arguments and output formats only.

Every number comes from :mod:`journeylib.optimise` through :class:`journeylib.journey.Journey`;
this module parses flags and writes tables or JSON (shapes documented in the README). The source
flags (a config or ``--events``), the period and the filters are the other analyses' own
(:mod:`journeylib.cli._analyses`).
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from journeylib._format import format_count, format_value
from journeylib.cli._analyses import (
    _by,
    _command,
    _common,
    _journey,
    _plain,
    _print_json,
    _print_text,
    _window,
)
from journeylib.cli.parser import _bounded_int
from journeylib.errors import DataError

__all__ = ["add_optimise_commands"]

_FORMATS = ("table", "json")


def add_optimise_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``friction``, ``incidents`` and ``experiment`` on the ``journey`` parser."""
    friction = _optimise_command(
        commands, "friction", "where a funnel loses users and the segments converting worse"
    )
    _funnel_flags(friction)
    friction.add_argument(
        "--alpha", type=_share, default=0.01, help="level of the Holm-adjusted tests (0.01)"
    )
    friction.set_defaults(handler=_run_friction)

    incidents = _optimise_command(
        commands, "incidents", "drops of a funnel's conversion against the periods before"
    )
    _funnel_flags(incidents)
    incidents.add_argument(
        "--baseline",
        type=_bounded_int(1, None),
        default=4,
        metavar="N",
        help="periods of the trailing baseline (4)",
    )
    incidents.add_argument(
        "--loops", action="store_true", help="list loops (a later step back to an earlier one)"
    )
    incidents.add_argument(
        "--kpi",
        metavar="NAME[,NAME]",
        help="also watch these rate KPIs for falls (e.g. payment_success_rate)",
    )
    incidents.set_defaults(handler=_run_incidents)

    experiment = _optimise_command(
        commands, "experiment", "an A/B readout: lifts, intervals, SRM, power and a verdict"
    )
    experiment.add_argument(
        "--variant", required=True, metavar="COLUMN", help="the events column of the variant"
    )
    experiment.add_argument(
        "--kpi",
        required=True,
        metavar="NAME[,NAME]",
        help="KPIs to read (rate, mean or ratio KPIs of the registry)",
    )
    experiment.add_argument("--control", metavar="VALUE", help="the control variant")
    experiment.add_argument(
        "--expected-split",
        type=_split,
        metavar="50,50",
        help="expected shares of the variants, control first (default: equal)",
    )
    experiment.add_argument(
        "--cuped", action="store_true", help="adjust by each user's pre-period value"
    )
    experiment.add_argument(
        "--sequential", action="store_true", help="always-valid intervals (daily peeking)"
    )
    experiment.add_argument(
        "--target-lift",
        type=float,
        metavar="SHARE",
        help="relative lift for the sample size (default: the observed one)",
    )
    experiment.set_defaults(handler=_run_experiment)


def _optimise_command(
    commands: argparse._SubParsersAction, name: str, summary: str
) -> argparse.ArgumentParser:
    parser = _command(commands, name, summary)
    for action in parser._actions:
        if action.dest == "format":
            action.choices = _FORMATS
    return parser


def _funnel_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--steps",
        help="comma-separated steps (roles or event names); default: the config's first funnel",
    )
    parser.add_argument("--name", help="a funnel of the config by name")
    parser.add_argument("--window", type=_window, help="conversion window, e.g. 7d, 12h")
    parser.add_argument("--unit", help="unit column (user_id, session_id, ...)")


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text}")
    return value


def _split(text: str) -> list[float]:
    try:
        shares = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected shares such as 50,50, got {text!r}") from None
    if len(shares) < 2 or any(not math.isfinite(s) or s <= 0 for s in shares):
        raise argparse.ArgumentTypeError(
            f"expected two or more positive shares such as 50,50, got {text!r}"
        )
    return shares


def _steps(args: argparse.Namespace) -> Any:
    if args.steps:
        steps = [s.strip() for s in args.steps.split(",") if s.strip()]
        if len(steps) < 2:
            raise DataError(f"--steps needs at least 2 steps, got {args.steps!r}")
        return steps
    return args.name


def _funnel_options(args: argparse.Namespace) -> dict[str, Any]:
    by = _by(args)
    return {
        "window": args.window,
        "unit": args.unit,
        "by": by if args.by is not None else None,
        **_common(args),
    }


def _records(frame, columns) -> list[dict[str, Any]]:
    return [{c: _plain(row[c]) for c in columns} for row in frame.iter_rows(named=True)]


def _segment(dimension: str | None, value: object) -> str:
    if dimension is None:
        return "all"
    return f"{dimension}={value if value is not None else '(none)'}"


def _rate(value: float | None) -> str:
    return format_value(value, "rate") if value is not None else "–"


def _run_friction(args: argparse.Namespace) -> int:
    from journeylib.cli._table import render

    journey = _journey(args)
    result = journey.friction(_steps(args), alpha=args.alpha, **_funnel_options(args))
    transitions = result.transitions
    worse = result.worse
    if args.format == "json":
        _print_json(
            {
                "transitions": _records(
                    transitions,
                    [
                        "rank",
                        "from_name",
                        "to_name",
                        "users",
                        "converted",
                        "lost",
                        "in_progress",
                        "rate",
                        "ci_low",
                        "ci_high",
                    ],
                ),
                "segments": _records(
                    worse,
                    [
                        "from_name",
                        "to_name",
                        "dimension",
                        "value",
                        "users",
                        "rate",
                        "others_rate",
                        "difference",
                        "ci_low",
                        "ci_high",
                        "p_value",
                        "p_value_adjusted",
                        "users_lost",
                    ],
                ),
                "next_events": _records(
                    result.next_events,
                    ["from_name", "to_name", "next_event", "users", "share"],
                ),
                "correlation": _records(
                    result.correlation,
                    [
                        "kind",
                        "dimension",
                        "value",
                        "users",
                        "odds_ratio",
                        "ci_low",
                        "ci_high",
                        "p_value",
                        "p_value_adjusted",
                        "direction",
                    ],
                ),
            }
        )
        return 0
    lines = ["Transitions, most users lost first", ""]
    lines.append(
        render(
            ["rank", "transition", "users", "converted", "lost", "in progress", "rate"],
            [
                [
                    str(r["rank"]),
                    f"{r['from_name']} → {r['to_name']}",
                    format_count(r["users"]),
                    format_count(r["converted"]),
                    format_count(r["lost"]),
                    format_count(r["in_progress"]),
                    _rate(r["rate"]),
                ]
                for r in transitions.iter_rows(named=True)
            ],
            numeric=[True, False, True, True, True, True, True],
        )
    )
    lines += ["", f"Segments converting significantly worse (Holm p < {result.alpha:g})", ""]
    if worse.height:
        lines.append(
            render(
                ["transition", "segment", "users", "rate", "others", "p (adj.)", "users lost"],
                [
                    [
                        f"{r['from_name']} → {r['to_name']}",
                        f"{r['dimension']}={r['value']}",
                        format_count(r["users"]),
                        _rate(r["rate"]),
                        _rate(r["others_rate"]),
                        f"{r['p_value_adjusted']:.2g}",
                        format_count(r["users_lost"]),
                    ]
                    for r in worse.head(10).iter_rows(named=True)
                ],
                numeric=[False, False, True, True, True, True, True],
            )
        )
    else:
        lines.append("none")
    lines += ["", "What dropped users did next", ""]
    lines.append(
        render(
            ["transition", "next event", "users", "share"],
            [
                [
                    f"{r['from_name']} → {r['to_name']}",
                    r["next_event"],
                    format_count(r["users"]),
                    _rate(r["share"]),
                ]
                for r in result.next_events.iter_rows(named=True)
            ],
            numeric=[False, False, True, True],
        )
    )
    strongest = result.correlation.filter(result.correlation["p_value_adjusted"] < 0.05)
    lines += ["", "Correlation with converting (Holm p < 0.05, strongest first)", ""]
    lines.append(
        render(
            ["property", "users", "odds ratio", "95% CI", "direction"],
            [
                [
                    r["value"] if r["kind"] == "event" else f"{r['dimension']}={r['value']}",
                    format_count(r["users"]),
                    f"{r['odds_ratio']:.2f}",
                    f"{r['ci_low']:.2f} to {r['ci_high']:.2f}",
                    r["direction"],
                ]
                for r in strongest.head(10).iter_rows(named=True)
            ],
            numeric=[False, True, True, True, False],
        )
        if strongest.height
        else "none"
    )
    _print_text("\n".join(lines))
    return 0


def _incident_json(incident: dict[str, Any], result) -> dict[str, Any]:
    from journeylib.optimise.incidents import incident_measures

    segment = (
        {"dimension": incident["dimension"], "value": incident["value"]}
        if incident["dimension"] is not None
        else None
    )
    return {
        "kpi": incident["kpi"],
        "from_step": incident["from_name"],
        "to_step": incident["to_name"],
        **incident_measures(incident),
        "segments": result.segments_of(incident),
        "sentence": incident["sentence"],
        "key": incident["key"],
        "segment": segment,
    }


def _run_incidents(args: argparse.Namespace) -> int:
    from journeylib.cli._table import render
    from journeylib.optimise.incidents import incident_measures

    journey = _journey(args)
    found = journey.incidents(
        _steps(args),
        grain=args.grain,
        baseline_periods=args.baseline,
        loops=args.loops,
        **_funnel_options(args),
    )
    incidents, loops = found if args.loops else (found, None)
    if args.kpi is not None:
        from journeylib.optimise import merge_incidents

        incidents = merge_incidents(incidents, _kpi_incidents(journey, args))
    if args.format == "json":
        if loops is not None:
            _print_json(
                [
                    {
                        "from_step": r["from_name"],
                        "to_step": r["to_name"],
                        **incident_measures(r, "extra_users"),
                        "sentence": r["sentence"],
                        "key": r["key"],
                    }
                    for r in loops.loops.iter_rows(named=True)
                ]
            )
            return 0
        _print_json(
            [_incident_json(r, incidents) for r in incidents.incidents.iter_rows(named=True)]
        )
        return 0
    frame = incidents.incidents
    lines = [
        f"Incidents per {args.grain} against the {args.baseline} before "
        f"(p < {incidents.alpha:g}, fall of {incidents.min_fall:.0%} or more)",
        "",
    ]
    if frame.height:
        lines.append(
            render(
                ["start", "end", "transition", "segment", "before", "during", "lost", "p"],
                [
                    [
                        r["start"].isoformat(),
                        r["end"].isoformat(),
                        r["kpi"] or f"{r['from_name']} → {r['to_name']}",
                        _segment(r["dimension"], r["value"]),
                        _rate(r["baseline_rate"]),
                        _rate(r["rate"]),
                        format_count(r["users_lost"]),
                        f"{r['p_value']:.2g}",
                    ]
                    for r in frame.iter_rows(named=True)
                ],
                numeric=[False, False, False, False, True, True, True, True],
            )
        )
        lines += ["", *frame["sentence"].to_list()]
    else:
        lines.append("No incident found.")
    if loops is not None:
        lines += ["", "Loops", ""]
        lines += loops.loops["sentence"].to_list() or ["No loop found."]
    _print_text("\n".join(lines))
    return 0


def _kpi_incidents(journey, args: argparse.Namespace):
    names = [name.strip() for name in args.kpi.split(",") if name.strip()]
    if not names:
        raise DataError(f"--kpi names no kpi: {args.kpi!r}")
    options = _common(args)
    return journey.kpi_incidents(
        names,
        grain=args.grain,
        baseline_periods=args.baseline,
        by=_by(args) if args.by is not None else None,
        **options,
    )


def _experiment_json(result, readout) -> dict[str, Any]:
    from journeylib.optimise.experiments import COMPARISON_COLUMNS, VARIANT_COLUMNS

    return {
        "kpi": readout.kpi,
        "control": readout.control,
        "variants": _records(readout.variants, list(VARIANT_COLUMNS)),
        "comparisons": _records(readout.comparisons, list(COMPARISON_COLUMNS)),
        "srm": {
            "p_value": result.srm.p_value,
            "flagged": result.srm.flagged,
            "observed": result.srm.observed,
            "expected": result.srm.expected,
        },
        "mde": readout.mde,
        "verdict": _verdict_text(result, readout),
    }


def _verdict_text(result, readout) -> str:
    if result.excluded_users:
        return (
            f"{readout.verdict} {result.excluded_users:,} users seen in two or more variants "
            "were excluded."
        )
    return readout.verdict


def _run_experiment(args: argparse.Namespace) -> int:
    from journeylib.cli._table import render

    journey = _journey(args)
    kpis = [k.strip() for k in args.kpi.split(",") if k.strip()]
    if not kpis:
        raise DataError(f"--kpi names no KPI: {args.kpi!r}")
    if args.by:
        raise DataError("experiment takes no --by: the variant column is the split")
    result = journey.experiment(
        args.variant,
        kpis,
        control=args.control,
        expected_split=args.expected_split,
        cuped=args.cuped,
        sequential=args.sequential,
        target_lift=args.target_lift,
        **_common(args),
    )
    if args.format == "json":
        objects = [_experiment_json(result, readout) for readout in result.readouts]
        _print_json(objects[0] if len(objects) == 1 else objects)
        return 0
    currency = journey.config.currency
    srm = result.srm
    lines = [
        f"Experiment on {result.variant_column} from {result.start} to {result.end} "
        f"(end excluded), control {result.control}",
        "Assigned users: "
        + ", ".join(f"{v} {format_count(n)}" for v, n in result.assigned.items())
        + f"; sample ratio p = {srm.p_value:.3g}"
        + (" (MISMATCH: do not trust the result)" if srm.flagged else ""),
    ]
    if result.excluded_users:
        lines.append(
            f"{format_count(result.excluded_users)} users seen in two or more variants excluded"
        )
    for readout in result.readouts:
        lines += ["", f"{readout.kpi} ({readout.kind})", ""]
        lines.append(
            render(
                ["variant", "users", "value", "95% CI"],
                [
                    [
                        r["variant"],
                        format_count(r["users"]),
                        format_value(r["value"], readout.unit, currency=currency),
                        f"{format_value(r['ci_low'], readout.unit, currency=currency)} to "
                        f"{format_value(r['ci_high'], readout.unit, currency=currency)}",
                    ]
                    for r in readout.variants.iter_rows(named=True)
                ],
                numeric=[False, True, True, True],
            )
        )
        if readout.cuped_variance_reduction is not None:
            lines.append(f"CUPED variance reduction: {readout.cuped_variance_reduction:.1%}")
        lines += [f"note: {note}" for note in readout.notes]
        lines += ["", readout.verdict]
    _print_text("\n".join(lines))
    return 0

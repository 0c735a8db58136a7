"""``journey kpis | funnel | retention | score``: arguments and output formats only.

Every number comes from :class:`journeylib.journey.Journey`; this module parses flags and
writes tables, JSON or CSV. The JSON shapes are documented in the README and stable.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from journeylib.cli._table import MAX_CELL
from journeylib.cli.parser import _bounded_int
from journeylib.errors import DataError
from journeylib.periods import parse_window

__all__ = ["add_analysis_commands", "write_out"]

FORMATS = ("table", "json", "csv")


def add_analysis_commands(commands: argparse._SubParsersAction) -> None:
    """Register the analysis commands on the ``journey`` parser."""
    kpis = _command(
        commands,
        "kpis",
        "the KPI table: every KPI per period and breakdown",
        listing="list the KPIs and their definitions instead (no config needed); "
        "--format markdown writes the KPI reference, docs/kpis.md",
        formats=(*FORMATS, "markdown"),
    )
    kpis.add_argument("--kpi", action="append", metavar="NAME", help="only these KPIs (repeat)")
    kpis.set_defaults(handler=_run_kpis)

    funnel = _command(commands, "funnel", "a conversion funnel with drop-off and times")
    funnel.add_argument(
        "--steps",
        help="comma-separated steps (roles or event names); default: the config's first funnel",
    )
    funnel.add_argument("--name", help="a funnel of the config by name")
    funnel.add_argument(
        "--window", type=_window, help="conversion window above 0, at most 3650d: 7d, 12h, 30m"
    )
    funnel.add_argument("--attempt", choices=("first", "best"), help="entry counting (first)")
    funnel.add_argument("--strict", action="store_true", default=None, help="strict order")
    funnel.add_argument("--exclude", action="append", metavar="EVENT", help="exclusion event")
    funnel.add_argument("--unit", help="unit column (user_id, session_id, ...)")
    funnel.add_argument("--trend", action="store_true", help="one funnel per entry period")
    funnel.set_defaults(handler=_run_funnel)

    retention = _command(commands, "retention", "the retention cohort matrix")
    retention.add_argument("--cohort-role", help="role of the cohort event (default: any)")
    retention.add_argument("--return-role", help="role of the return event (default: any)")
    retention.add_argument(
        "--mode", choices=("on", "on_or_after"), default="on", help="retention mode (on)"
    )
    retention.add_argument(
        "--max-offset", type=_bounded_int(0, None), help="largest offset shown (0 or more)"
    )
    retention.set_defaults(handler=_run_retention)

    score = _command(commands, "score", "the journey effectiveness score of the last period")
    score.set_defaults(handler=_run_score)


def _command(
    commands: argparse._SubParsersAction,
    name: str,
    summary: str,
    *,
    listing: str | None = None,
    formats: tuple[str, ...] = FORMATS,
) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name, help=summary, description=summary[0].upper() + summary[1:] + "."
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("config", nargs="?", type=Path, help="the journey config (journey.yml)")
    add_events_option(source)
    if listing is not None:
        source.add_argument("--list", action="store_true", default=False, help=listing)
    parser.add_argument(
        "--timezone", help="time zone of --events (UTC); a config sets its own 'timezone'"
    )
    parser.add_argument("--start", type=_date, help="first day, YYYY-MM-DD (default: data start)")
    parser.add_argument(
        "--end", type=_date, help="day after the last, YYYY-MM-DD (default: data end)"
    )
    parser.add_argument("--grain", choices=("day", "week", "month"), default="week", help="(week)")
    parser.add_argument("--by", help="breakdown column(s), comma-separated")
    parser.add_argument(
        "--filter", action="append", metavar="COLUMN=VALUE", help="event-level filter (repeat)"
    )
    parser.add_argument(
        "--format",
        choices=formats,
        default="table",
        help=f"output (table: for reading, cells cut at {MAX_CELL} characters with '…'; "
        "json and csv: complete"
        + ("; markdown: the KPI reference, with --list" if "markdown" in formats else "")
        + ")",
    )
    return parser


def add_events_option(source: argparse._MutuallyExclusiveGroup) -> None:
    """``--events PATH``: ad hoc events instead of a journey config (in the config's group)."""
    source.add_argument(
        "--events",
        type=Path,
        metavar="PATH",
        help="ad hoc: a CSV or Parquet file with user_id, timestamp, event (each role maps "
        "to the event of the same name)",
    )


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _window(text: str) -> timedelta:
    try:
        return parse_window(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _journey(args: argparse.Namespace):
    from journeylib.journey import load

    if args.config is not None:
        if args.timezone is not None:
            raise DataError(
                f"--timezone applies to --events only; {args.config} sets the time zone with "
                "its 'timezone' key"
            )
        journey = load(args.config)
    else:
        journey = load(_adhoc_config(args.events, args.timezone or "UTC"))
    _require_events_in_period(journey, args)
    return journey


def _require_events_in_period(journey: Any, args: argparse.Namespace) -> None:
    """A ``--start``/``--end`` wholly outside the data is a mistake, not a table of zeros.

    ``[start, end)`` are local dates of the journey's time zone; a period that overlaps the
    data's days but happens to hold no events is reported as it is (zeros).
    """
    if args.start is None and args.end is None:
        return
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(journey.config.timezone)
    first, last = (moment.astimezone(zone).date() for moment in journey.time_range)
    if args.start is not None and args.end is not None:
        if args.end <= args.start:
            return  # an inverted period has its own message from the analysis
        period = f"{args.start} to {args.end} (end excluded)"
    else:
        period = f"from {args.start}" if args.start is not None else f"before {args.end}"
    start = args.start or first
    end = args.end or last + timedelta(days=1)
    if start < end and start <= last and end > first:
        return
    source = args.config if args.config is not None else args.events
    raise DataError(
        f"empty period: {period} has no events in {source}; "
        f"its events run from {first} to {last} ({journey.config.timezone}). "
        "Choose --start/--end inside that range, or leave them out for all of it."
    )


def _adhoc_config(path: Path, timezone: str):
    from journeylib.data.adhoc import events_config

    return events_config(path, timezone)


def _common(args: argparse.Namespace) -> dict[str, Any]:
    filters: dict[str, list[str]] = {}
    for item in args.filter or []:
        column, sep, value = item.partition("=")
        if not sep or not column:
            raise DataError(f"--filter expects COLUMN=VALUE, got {item!r}")
        filters.setdefault(column, []).append(value)
    return {"start": args.start, "end": args.end, "filters": filters}


def _by(args: argparse.Namespace) -> list[str]:
    return [c.strip() for c in (args.by or "").split(",") if c.strip()]


def _run_kpis(args: argparse.Namespace) -> int:
    if args.list:
        return _list_kpis(args)
    if args.format == "markdown":
        raise DataError(
            "--format markdown writes the KPI reference and goes with --list "
            "(journey kpis --list --format markdown); the KPI table has table, json or csv"
        )
    journey = _journey(args)
    by = _by(args)
    table = journey.kpis(grain=args.grain, by=by, kpis=args.kpi, **_common(args))
    if args.format == "json":
        rows = []
        for row in table.iter_rows(named=True):
            record = {k: _plain(v) for k, v in row.items() if k not in by}
            record["breakdown"] = {c: row[c] for c in by}
            rows.append(record)
        _print_json(rows)
    elif args.format == "csv":
        _print_csv(table)
    else:
        from journeylib.cli._table import kpi_text

        _print_text(kpi_text(table, by=by, currency=journey.config.currency))
    return 0


def _list_kpis(args: argparse.Namespace) -> int:
    """``journey kpis --list``: the registry's KPIs, or the whole reference as Markdown."""
    given = [
        flag
        for flag, value in (
            ("--start", args.start),
            ("--end", args.end),
            ("--by", args.by),
            ("--filter", args.filter),
            ("--timezone", args.timezone),
        )
        if value is not None
    ]
    if given:
        raise DataError(
            f"--list describes the KPIs and reads no data: {', '.join(given)} does not apply; "
            "drop it, or give a config instead of --list for the KPI table"
        )
    from journeylib.config import config_from_dict
    from journeylib.kpis import check_kpi_names
    from journeylib.kpis.reference import kpi_entries, reference_markdown

    if args.kpi:
        # the listing has no config: a feature's bracket names the family, whatever it holds
        unconfigured = config_from_dict({"name": "kpis", "sources": {"events": {"path": "-"}}})
        check_kpi_names([name.split("[", 1)[0] for name in args.kpi], unconfigured)
    if args.format == "markdown":
        if args.kpi:
            raise DataError("--format markdown writes the whole KPI reference; drop --kpi")
        _print_text(reference_markdown().rstrip("\n"))
        return 0
    entries = kpi_entries(args.kpi)
    if args.format == "json":
        _print_json(entries)
    elif args.format == "csv":
        flat = [
            {k: "\n".join(v) if isinstance(v, list) else v for k, v in entry.items()}
            for entry in entries
        ]
        _print_csv(pl.DataFrame(flat, infer_schema_length=None))
    else:
        from journeylib.cli._table import render

        header = ["stage", "kpi", "unit", "better", "formula"]
        rows = [[e["stage"], e["kpi"], e["unit"], e["direction"], e["formula"]] for e in entries]
        _print_text(render(header, rows, numeric=[False] * len(header)))
    return 0


def _run_funnel(args: argparse.Namespace) -> int:
    journey = _journey(args)
    by = _by(args)
    if len(by) > 1:
        raise DataError("funnel --by takes one column")
    steps: Any = args.name
    if args.steps is not None:
        if args.name is not None:
            raise DataError("give --steps or --name, not both")
        steps = [s.strip() for s in args.steps.split(",")]
        if not any(steps):
            raise DataError(f"--steps {args.steps!r} names no step; e.g. --steps visit,purchase")
        empty = [str(index + 1) for index, step in enumerate(steps) if not step]
        if empty:
            raise DataError(f"--steps {args.steps!r}: step {empty[0]} is empty")
    frame = journey.funnel(
        steps,
        window=args.window,
        unit=args.unit,
        attempt=args.attempt,
        strict=args.strict,
        exclude=args.exclude,
        by=by[0] if by else None,
        trend=args.grain if args.trend else None,
        **_common(args),
    )
    if args.format == "json":
        _print_json(
            {
                "steps": [
                    {k: _plain(v) for k, v in r.items()} for r in frame.iter_rows(named=True)
                ],
                "in_progress": int(frame["in_progress"].sum()),
            }
        )
    elif args.format == "csv":
        _print_csv(frame)
    else:
        from journeylib.cli._table import funnel_text

        _print_text(funnel_text(frame, groups=[*by, *(["period"] if args.trend else [])]))
    return 0


def _no_breakdown(args: argparse.Namespace, what: str) -> None:
    if args.by:
        raise DataError(f"--by: {what} has no breakdown; use --filter to look at one segment")


def _run_retention(args: argparse.Namespace) -> int:
    _no_breakdown(args, "the retention matrix")
    journey = _journey(args)
    matrix = journey.retention(
        grain=args.grain,
        cohort_role=args.cohort_role,
        return_role=args.return_role,
        mode=args.mode,
        max_offset=args.max_offset,
        **_common(args),
    )
    if args.format == "json":
        cohorts = []
        for (cohort,), cells in matrix.sort("cohort", "offset").group_by(
            "cohort", maintain_order=True
        ):
            cohorts.append(
                {
                    "cohort": cohort.isoformat(),
                    "size": int(cells["cohort_size"][0]),
                    "retention": [_plain(v) for v in cells["retention"].to_list()],
                }
            )
        _print_json({"cohorts": cohorts})
    elif args.format == "csv":
        _print_csv(matrix)
    else:
        from journeylib.cli._table import retention_text

        _print_text(retention_text(matrix))
    return 0


def _run_score(args: argparse.Namespace) -> int:
    _no_breakdown(args, "the journey score")
    journey = _journey(args)
    common = _common(args)
    result = journey.score(grain=args.grain, **common)
    if args.format == "json":
        _print_json(
            {
                "overall": _plain(result.overall),
                "stages": [
                    {k: _plain(v) for k, v in r.items()}
                    for r in result.stages.iter_rows(named=True)
                ],
                "kpis": [
                    {k: _plain(v) for k, v in r.items()} for r in result.kpis.iter_rows(named=True)
                ],
                "left_out": list(result.left_out),
            }
        )
    elif args.format == "csv":
        _print_csv(result.kpis)
    else:
        from journeylib.cli._table import score_text

        _print_text(score_text(result.overall, result.stages, result.left_out))
    return 0


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _print_json(payload: Any) -> None:
    write_out(json.dumps(payload, indent=2, default=str) + "\n")


def _print_csv(frame: pl.DataFrame) -> None:
    write_out(frame.write_csv())


def _print_text(text: str) -> None:
    write_out(text + "\n")


def write_out(text: str) -> None:
    """Write ``text`` to stdout, all of it, or raise ``BrokenPipeError``.

    An unbuffered stdout (``PYTHONUNBUFFERED``, ``python -u``) writes straight to the file
    descriptor, and its text layer ignores a short write: into a pipe whose reader has gone,
    the first write is cut short without an error and the rest is lost silently. Writing the
    bytes until all are taken makes the next write fail as it should.
    """
    stream = sys.stdout
    binary = getattr(stream, "buffer", None)
    if binary is None:
        stream.write(text)
        stream.flush()
        return
    stream.flush()
    data = memoryview(text.encode(stream.encoding or "utf-8", errors="replace"))
    while data:
        written = binary.write(data)
        data = data[len(data) if written is None else written :]
    binary.flush()

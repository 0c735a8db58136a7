"""The ``journey`` command line: argument parsing and output formats only.

Exit codes: 0 success (and clean data), 1 rows were quarantined, 2 the input cannot be used
(bad config, unreadable source, table that does not fit the schema, events in which no
configured role occurs, bad arguments, a period with no events), 141 the reader of the output
went away (a closed pipe).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from journeylib.errors import JourneyError

__all__ = ["build_parser", "main"]

EXIT_OK = 0
EXIT_QUARANTINED = 1
EXIT_UNUSABLE = 2
#: what a shell reports for a process ended by SIGPIPE (128 + 13)
EXIT_BROKEN_PIPE = 141


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``journey`` (every command has ``--help``)."""
    parser = _Parser(
        prog="journey",
        description="Customer-journey KPI reporting: sample data, validation, KPIs, funnels, "
        "retention and the journey score.",
    )
    from journeylib import __version__

    parser.add_argument("--version", action="version", version=f"journeylib {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sample = commands.add_parser(
        "sample",
        help="write a seeded synthetic company (four tables, journey.yml, STORIES.md)",
        description=(
            "Write a realistic, seeded sample company: events (hive-partitioned Parquet), "
            "spend, surveys and tickets, a journey.yml that maps them, and STORIES.md / "
            "stories.json with the ground truth of the stories a good report must reveal."
        ),
    )
    from journeylib.sample.company import MAX_DAYS, MAX_USERS

    sample.add_argument(
        "--users",
        type=_bounded_int(1, MAX_USERS),
        default=50_000,
        help=f"users, 1 to {MAX_USERS:,} (50000)",
    )
    sample.add_argument(
        "--seed", type=_bounded_int(0, None), default=7, help="random seed, 0 or more (7)"
    )
    sample.add_argument(
        "--days", type=_bounded_int(1, MAX_DAYS), default=180, help=f"days covered, 1 to {MAX_DAYS}"
    )
    sample.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output folder: new or empty (the sample appears all at once)",
    )
    sample.add_argument(
        "--force",
        action="store_true",
        help="write into a folder that holds other files: replace only the sample's own files "
        "(journey.yml, spend.csv, surveys.parquet, tickets.csv, STORIES.md, stories.json, "
        "events/month=*/part-0.parquet) and keep every other file",
    )
    sample.set_defaults(handler=_run_sample)

    validate = commands.add_parser(
        "validate",
        help="check a journey's data against the canonical schema",
        description=(
            "Load every source of a journey config, check it against the canonical schema and "
            "print the data-quality summary. Exit code 0 when clean, 1 when rows were "
            "quarantined, 2 when the input cannot be used (also when no configured role "
            "occurs in the events)."
        ),
    )
    validate.add_argument("config", type=Path, help="the journey config (journey.yml)")
    validate.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (text)"
    )
    validate.add_argument(
        "--quarantine-out",
        type=Path,
        metavar="DIR",
        help="write the quarantined rows of each table to DIR/<table>.csv; DIR must be new, "
        "empty, or written by an earlier validate (whose files are then replaced)",
    )
    validate.set_defaults(handler=_run_validate)

    from journeylib.cli._analyses import add_analysis_commands
    from journeylib.cli._dashboard import add_dashboard_command
    from journeylib.cli._new_report import add_new_report_command
    from journeylib.cli._optimise import add_optimise_commands
    from journeylib.cli._report import add_report_commands
    from journeylib.cli._schedule import add_schedule_commands

    add_analysis_commands(commands)
    add_report_commands(commands)
    add_schedule_commands(commands)
    add_optimise_commands(commands)
    add_dashboard_command(commands)
    add_new_report_command(commands)
    return parser


class _Parser(argparse.ArgumentParser):
    """``argparse`` with one-line errors: ``journey kpis: <what is wrong> (see ... --help)``.

    Subcommand parsers inherit the class, so every command reports a bad flag the same way.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_UNUSABLE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``journey``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # "journey report run", "journey schedule tick": the command as the user typed it
    words = [
        args.command,
        getattr(args, "report_command", None),
        getattr(args, "schedule_command", None),
    ]
    command = " ".join(word for word in words if word)
    try:
        return int(args.handler(args))
    except BrokenPipeError:
        # the reader went away (``journey kpis ... | head``): stop quietly, as a Unix filter
        # does; stdout goes to devnull so that flushing it at exit raises nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except JourneyError as exc:
        print(f"journey {command}: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        print(f"journey {command}: interrupted", file=sys.stderr)
        return 130


def _bounded_int(low: int, high: int | None):
    """An argparse type: a whole number from ``low`` to ``high`` (no upper bound: None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            expected = "a number above 0" if low == 1 else f"a number of {low} or more"
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"expected at most {high:,}, got {value:,}")
        return value

    parse.__name__ = "whole number"  # argparse names the type in its messages
    return parse


def _run_sample(args: argparse.Namespace) -> int:
    from journeylib.sample import generate_sample

    if args.out.exists() and not args.out.is_dir():
        raise JourneyError(
            f"--out {args.out} is an existing file; give a folder (new or empty, or one that "
            "holds an earlier sample, with --force)"
        )
    result = generate_sample(
        args.out, users=args.users, seed=args.seed, days=args.days, force=args.force
    )
    rows = ", ".join(f"{table} {count:,}" for table, count in result.rows.items())
    print(f"Sample company written to {result.out} in {result.seconds:.1f} s ({rows} rows)")
    print(f"Journey config: {result.config_path}")
    print(f"Stories and their ground truth: {Path(result.out) / 'STORIES.md'}")
    if result.kept:
        shown = ", ".join(result.kept[:5]) + (" ..." if len(result.kept) > 5 else "")
        print(f"Kept {len(result.kept)} file(s) that are not the sample's: {shown}")
        if any(name.startswith("events/") and name.endswith(".parquet") for name in result.kept):
            print(
                "Note: the config reads every .parquet file under events/, yours included",
                file=sys.stderr,
            )
    return EXIT_OK


def _run_validate(args: argparse.Namespace) -> int:
    from journeylib.cli._analyses import write_out
    from journeylib.data import check_quarantine_folder, load_tables

    if args.quarantine_out is not None:
        check_quarantine_folder(args.quarantine_out)  # before the work, not after it
    loaded = load_tables(args.config)
    quality = loaded.quality
    if args.format == "json":
        write_out(json.dumps(quality.to_dict(), indent=2, default=str) + "\n")
    else:
        write_out(quality.summary() + "\n")
    if args.quarantine_out is not None:
        for path in loaded.write_quarantine(args.quarantine_out):
            print(f"quarantined rows written to {path}", file=sys.stderr)
    if quality.problems:
        first, *more = quality.problems
        print(f"journey validate: {first}", *(f"  - {p}" for p in more), sep="\n", file=sys.stderr)
        return EXIT_UNUSABLE
    return EXIT_OK if quality.clean else EXIT_QUARANTINED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The ``journey`` command line: argument parsing and output formats only.

Exit codes: 0 success (and clean data), 1 rows were quarantined, 2 the input cannot be used
(bad config, unreadable source, table that does not fit the schema, bad arguments, a period
with no events), 141 the reader of the output went away (a closed pipe).
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
    sample.add_argument("--users", type=_positive_int, default=50_000, help="users (50000)")
    sample.add_argument("--seed", type=int, default=7, help="random seed (7)")
    sample.add_argument("--days", type=_positive_int, default=180, help="days covered (180)")
    sample.add_argument("--out", type=Path, required=True, help="output folder")
    sample.set_defaults(handler=_run_sample)

    validate = commands.add_parser(
        "validate",
        help="check a journey's data against the canonical schema",
        description=(
            "Load every source of a journey config, check it against the canonical schema and "
            "print the data-quality summary. Exit code 0 when clean, 1 when rows were "
            "quarantined, 2 when the input cannot be used."
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
        help="write the quarantined rows of each table to DIR/<table>.csv",
    )
    validate.set_defaults(handler=_run_validate)

    from journeylib._cli_analyses import add_analysis_commands
    from journeylib._cli_optimise import add_optimise_commands
    from journeylib._cli_report import add_report_commands
    from journeylib._cli_schedule import add_schedule_commands

    add_analysis_commands(commands)
    add_report_commands(commands)
    add_schedule_commands(commands)
    add_optimise_commands(commands)
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
    try:
        return int(args.handler(args))
    except BrokenPipeError:
        # the reader went away (``journey kpis ... | head``): stop quietly, as a Unix filter
        # does; stdout goes to devnull so that flushing it at exit raises nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except JourneyError as exc:
        print(f"journey {args.command}: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        print(f"journey {args.command}: interrupted", file=sys.stderr)
        return 130


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {value}")
    return value


def _run_sample(args: argparse.Namespace) -> int:
    from journeylib.sample import generate_sample

    result = generate_sample(args.out, users=args.users, seed=args.seed, days=args.days)
    rows = ", ".join(f"{table} {count:,}" for table, count in result.rows.items())
    print(f"Sample company written to {result.out} in {result.seconds:.1f} s ({rows} rows)")
    print(f"Journey config: {result.config_path}")
    print(f"Stories and their ground truth: {Path(result.out) / 'STORIES.md'}")
    return EXIT_OK


def _run_validate(args: argparse.Namespace) -> int:
    from journeylib.loading import load_tables

    loaded = load_tables(args.config)
    quality = loaded.quality
    if args.format == "json":
        print(json.dumps(quality.to_dict(), indent=2, default=str))
    else:
        print(quality.summary())
    if args.quarantine_out is not None:
        for path in loaded.write_quarantine(args.quarantine_out):
            print(f"quarantined rows written to {path}", file=sys.stderr)
    return EXIT_OK if quality.clean else EXIT_QUARANTINED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

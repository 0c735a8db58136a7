"""The ``journey`` command line: argument parsing and output formats only."""

from __future__ import annotations

from journeylib.cli.parser import build_parser, main

__all__ = [
    "build_parser",
    "main",
]

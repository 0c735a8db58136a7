"""Benchmark: incidents of a funnel against the plain funnel, on the same data, in one process.

Run from the repository root::

    .venv/bin/python benchmarks/optimise.py               # 10M events
    .venv/bin/python benchmarks/optimise.py --sizes 1m    # a quick run

The funnel is the engine benchmark's: 5 steps (visit, product_view, add_to_cart, checkout,
purchase), a 7-day window, entries over 26 weeks (2026-05-04 to 2026-11-02), the data's last
timestamp known. "incidents" is what ``journey incidents --grain week`` computes: the per-unit
funnel (:func:`journeylib.funnel.units.funnel_units`) and the weekly detection
(:func:`journeylib.optimise.detect_incidents`), with the segments of no dimension, of one
(``platform``) and of every dimension of the sample (platform, channel, country, campaign,
checkout_variant), and the two stages of the last on their own (the per-unit funnel; the
detection on a per-unit frame computed once). The tasks run one after another in rounds
(every task once a round, a warm-up round first), so a slow spell of a shared machine hits
them alike; each task's figure is its best and its median run, and the ratio is against the
plain funnel's. Figures go to ``benchmarks/results/optimise.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("POLARS_MAX_THREADS", "2")

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE)]

from _generate import bench_data  # noqa: E402
from engine import END, FUNNEL_ROLES, FUNNEL_WINDOW, SIZES, START  # noqa: E402

from journeylib.funnel import compute_funnel  # noqa: E402
from journeylib.funnel.units import funnel_units  # noqa: E402
from journeylib.optimise import detect_incidents  # noqa: E402
from journeylib.periods import local_bound  # noqa: E402

__all__ = ["main"]

CACHE = HERE / ".cache"
RESULTS = HERE / "results"
DIMENSIONS = {
    "none": [],
    "platform": ["platform"],
    "all": ["platform", "channel", "country", "campaign", "checkout_variant"],
}


def _tasks(path: Path, config) -> dict[str, Callable[[], object]]:
    steps = [config.events_for(role) for role in FUNNEL_ROLES]
    zone = config.timezone
    start, end = local_bound(START, zone), local_bound(END, zone)
    data_end = pl.scan_parquet(path).select(pl.col("timestamp").max()).collect().item()
    common = {"steps": steps, "start": start, "end": end, "window": FUNNEL_WINDOW}

    def funnel() -> object:
        return compute_funnel(
            pl.scan_parquet(path), timezone=zone, data_end=data_end, **common
        ).steps

    def units_of(dimensions: list[str]):
        return funnel_units(
            pl.scan_parquet(path),
            step_names=list(FUNNEL_ROLES),
            dimensions=dimensions,
            unit_values=False,
            timezone=zone,
            data_end=data_end,
            **common,
        )

    def incidents(dimensions: list[str]) -> Callable[[], object]:
        def run() -> object:
            return detect_incidents(units_of(dimensions), grain="week").incidents

        return run

    # the two stages of "incidents (all)" on their own: the per-unit funnel, and the weekly
    # detection on a per-unit frame computed once (transition cube, trailing tests, sentences)
    every = DIMENSIONS["all"]
    held = units_of(every)
    tasks = {"funnel": funnel}
    tasks.update({f"incidents ({name})": incidents(dims) for name, dims in DIMENSIONS.items()})
    tasks["  units (all)"] = lambda: units_of(every).units
    tasks["  detection (all)"] = lambda: detect_incidents(held, grain="week").incidents
    return tasks


def _measure(
    tasks: dict[str, Callable[[], object]], rounds: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall-clock and CPU seconds (all threads of the process) of every task's runs."""
    for task in tasks.values():  # warm-up: compiled loops loaded, files in the page cache
        task()
    seconds: dict[str, list[float]] = {name: [] for name in tasks}
    cpu: dict[str, list[float]] = {name: [] for name in tasks}
    for _ in range(rounds):
        for name, task in tasks.items():
            began, began_cpu = time.perf_counter(), time.process_time()
            task()
            seconds[name].append(time.perf_counter() - began)
            cpu[name].append(time.process_time() - began_cpu)
    return seconds, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", choices=sorted(SIZES), default=["10m"])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (5)")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    report: dict[str, object] = {
        "machine": {
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "polars": pl.__version__,
            "date": datetime.now(UTC).isoformat(timespec="minutes"),
            "load_average_at_start": round(load, 2),
        },
        "method": "one process; a warm-up round, then every task once per round; best and "
        "median of the rounds (wall clock) and best CPU seconds of the process; ratio = task / "
        "plain funnel",
        "sizes": {},
    }
    for size in args.sizes:
        data = bench_data(CACHE, SIZES[size])
        seconds, cpu = _measure(_tasks(data.path("events"), data.config), args.rounds)
        funnel_best = min(seconds["funnel"])
        funnel_median = statistics.median(seconds["funnel"])
        funnel_cpu = min(cpu["funnel"])
        rows = {}
        print(f"\n{size} ({data.events_rows:,} events), load average {load:.2f} at start")
        print(
            f"{'task':<22} {'best s':>8} {'median s':>9} {'best/funnel':>12} "
            f"{'median/funnel':>14} {'cpu s':>7} {'cpu/funnel':>11}"
        )
        for name, runs in seconds.items():
            best, median = min(runs), statistics.median(runs)
            cpu_best = min(cpu[name])
            rows[name] = {
                "seconds": [round(s, 4) for s in runs],
                "best": round(best, 4),
                "median": round(median, 4),
                "best_ratio": round(best / funnel_best, 3),
                "median_ratio": round(median / funnel_median, 3),
                "cpu_seconds": [round(s, 4) for s in cpu[name]],
                "cpu_best": round(cpu_best, 4),
                "cpu_ratio": round(cpu_best / funnel_cpu, 3),
            }
            print(
                f"{name:<22} {best:>8.3f} {median:>9.3f} {best / funnel_best:>12.2f} "
                f"{median / funnel_median:>14.2f} {cpu_best:>7.3f} {cpu_best / funnel_cpu:>11.2f}"
            )
        report["sizes"][size] = {"events": data.events_rows, "tasks": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "optimise.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nfigures written to {RESULTS / 'optimise.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

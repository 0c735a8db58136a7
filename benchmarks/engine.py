"""Engine benchmark: the Polars KPI table, funnel and retention against DuckDB SQL references.

Run from the repository root (``make bench``)::

    .venv/bin/python benchmarks/engine.py            # 1M and 10M events
    .venv/bin/python benchmarks/engine.py --with-50m # and 50M

For each size, every measurement runs in a fresh subprocess (so peak memory does not mix):
one warm-up run, then the best of 3 timed runs. Polars and DuckDB both use 2 threads. Figures go
to ``benchmarks/results/engine.json``; the optimised plan of the KPI pass to
``benchmarks/results/kpi_plan.txt``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

os.environ.setdefault("POLARS_MAX_THREADS", "2")

import duckdb
import polars as pl

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from _generate import BenchData, bench_data  # noqa: E402
from reference.funnel_sql import funnel_sql  # noqa: E402
from reference.kpis_sql import kpi_table_sql  # noqa: E402
from reference.retention_sql import retention_sql  # noqa: E402

from journeylib.funnel import compute_funnel  # noqa: E402
from journeylib.kpis import build_inputs, compute_kpi_table, explain_inputs  # noqa: E402
from journeylib.periods import local_bound  # noqa: E402
from journeylib.retention import retention_matrix  # noqa: E402

__all__ = ["main"]

CACHE = HERE / ".cache"
RESULTS = HERE / "results"
THREADS = 2
RUNS = 3
# 26 ISO weeks covering the sample's 180 days (it starts on Monday 2026-05-04)
START, END = date(2026, 5, 4), date(2026, 11, 2)
FUNNEL_ROLES = ("visit", "product_view", "add_to_cart", "checkout", "purchase")
FUNNEL_WINDOW = timedelta(days=7)
# the KPIs both implementations compute (the DuckDB reference's list)
KPIS = (
    "unique_visitors", "new_visitors", "engagement_rate", "product_view_rate",
    "add_to_cart_rate", "lead_rate", "conversion_rate", "orders", "revenue", "aov", "arpu",
    "payment_success_rate", "impressions", "clicks", "ctr", "cac", "cost_per_lead",
    "cost_per_conversion", "cart_abandonment_rate", "activation_rate", "trial_to_paid_rate",
    "feature_adoption_rate", "dau", "mau", "stickiness", "retention_rate", "churn_rate",
    "user_growth_rate", "repeat_purchase_rate", "referral_rate", "review_rate", "nps", "csat",
    "ces", "first_contact_resolution", "avg_handling_time",
)  # fmt: skip
SIZES = {"1m": 1_000_000, "10m": 10_000_000, "50m": 50_000_000}


def _duck(data: BenchData) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET threads = {THREADS}")
    for table in ("events", "spend", "surveys", "tickets"):
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{data.path(table)}')")
    return con


def _kpi_polars(data: BenchData) -> Callable[[], object]:
    def run() -> object:
        # the reference KPIs need no sessions table
        inputs = build_inputs(
            data.scans(), data.config, start=START, end=END, grain="week", with_sessions=False
        )
        return compute_kpi_table(inputs, KPIS)

    return run


def _kpi_duckdb(data: BenchData) -> Callable[[], object]:
    con = _duck(data)
    return lambda: kpi_table_sql(
        con,
        events_table="events",
        spend_table="spend",
        surveys_table="surveys",
        tickets_table="tickets",
        roles=data.config.roles,
        timezone=data.config.timezone,
        grain="week",
        start=START,
        end=END,
    )


def _funnel_bounds(data: BenchData) -> tuple[list[list[str]], datetime, datetime]:
    steps = [data.config.events_for(role) for role in FUNNEL_ROLES]
    zone = data.config.timezone
    return steps, local_bound(START, zone), local_bound(END, zone)


def _funnel_polars(data: BenchData) -> Callable[[], object]:
    steps, start, end = _funnel_bounds(data)
    events = pl.scan_parquet(data.path("events"))
    # as journey.funnel() does: the data's last timestamp is known once per loaded journey
    # (Journey.time_range), so it is computed once here, outside the timed runs
    data_end = events.select(pl.col("timestamp").max()).collect().item()
    return lambda: (
        compute_funnel(
            pl.scan_parquet(data.path("events")),
            steps=steps,
            start=start,
            end=end,
            window=FUNNEL_WINDOW,
            timezone=data.config.timezone,
            data_end=data_end,
        ).steps
    )


def _funnel_duckdb(data: BenchData) -> Callable[[], object]:
    con = _duck(data)
    steps, start, end = _funnel_bounds(data)
    return lambda: funnel_sql(
        con, "events", steps=steps, start=start, end=end, window=FUNNEL_WINDOW
    )


def _retention_polars(data: BenchData) -> Callable[[], object]:
    return lambda: retention_matrix(
        pl.scan_parquet(data.path("events")), grain="week", timezone=data.config.timezone
    ).collect()


def _retention_duckdb(data: BenchData) -> Callable[[], object]:
    con = _duck(data)
    return lambda: retention_sql(con, "events", grain="week", timezone=data.config.timezone)


def _scan_duckdb(data: BenchData) -> Callable[[], object]:
    con = _duck(data)
    query = 'SELECT count(*), min(user_id), epoch_us(max("timestamp")), min(event) FROM events'
    return lambda: con.execute(query).fetchall()


TASKS: dict[str, Callable[[BenchData], Callable[[], object]]] = {
    "kpi_polars": _kpi_polars,
    "kpi_duckdb": _kpi_duckdb,
    "funnel_polars": _funnel_polars,
    "funnel_duckdb": _funnel_duckdb,
    "retention_polars": _retention_polars,
    "retention_duckdb": _retention_duckdb,
    "scan_duckdb": _scan_duckdb,
}


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _child(task: str, size: str) -> None:
    """Time one task in this (fresh) process and print its figures as JSON."""
    data = bench_data(CACHE, SIZES[size])
    run = TASKS[task](data)
    run()  # warm-up: page cache, imports, first-call compilation
    seconds = []
    for _ in range(RUNS):
        began = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - began)
    print(json.dumps({"seconds": seconds, "peak_rss_mb": _peak_rss_mb()}))


def _measure(task: str, size: str) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", task, "--size", size],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        return {"error": completed.stderr.strip().splitlines()[-1:]}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _measure_rounds(tasks: list[str], size: str, rounds: int) -> dict[str, dict]:
    """Every task once per round, the rounds one after another (so a slow spell of a shared
    machine hits all tasks alike); per task the best run over all rounds and the highest peak.
    """
    runs: dict[str, list[dict]] = {task: [] for task in tasks}
    for _ in range(rounds):
        for task in tasks:
            runs[task].append(_measure(task, size))
    figures = {}
    for task, measured in runs.items():
        errors = [m["error"] for m in measured if "error" in m]
        if errors:
            figures[task] = {"error": errors[0]}
            continue
        seconds = [s for m in measured for s in m["seconds"]]
        figures[task] = {
            "seconds": seconds,
            "best_seconds": min(seconds),
            "peak_rss_mb": max(m["peak_rss_mb"] for m in measured),
        }
    return figures


def _write_plan(data: BenchData) -> int:
    plan = explain_inputs(
        pl.scan_parquet(data.path("events")), data.config, start=START, end=END, grain="week"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "kpi_plan.txt").write_text(plan + "\n")
    return plan.count("Parquet SCAN")


def _row(name: str, polars: dict, duck: dict, rows: int, scan: dict) -> dict:
    best_polars = polars.get("best_seconds")
    best_duck = duck.get("best_seconds")
    return {
        "analysis": name,
        "polars_seconds": best_polars,
        "duckdb_seconds": best_duck,
        "polars_over_duckdb": best_polars / best_duck if best_polars and best_duck else None,
        "polars_over_duckdb_scan": (
            best_polars / scan["best_seconds"] if best_polars and scan.get("best_seconds") else None
        ),
        "polars_events_per_second": rows / best_polars if best_polars else None,
        "duckdb_events_per_second": rows / best_duck if best_duck else None,
        "polars_peak_rss_mb": polars.get("peak_rss_mb"),
        "duckdb_peak_rss_mb": duck.get("peak_rss_mb"),
        "errors": [x for x in (polars.get("error"), duck.get("error")) if x] or None,
    }


def _print(size: str, rows: int, table: list[dict], scan: dict) -> None:
    print(f"\n{size}: {rows:,} events (best run of all rounds, {THREADS} threads)")
    header = f"{'analysis':<10} {'polars s':>9} {'duckdb s':>9} {'pl/duck':>8} {'pl/scan':>8}"
    print(header + f" {'pl Mev/s':>9} {'pl RSS MB':>10} {'duck RSS MB':>11}")
    for row in table:
        cells = [
            row["polars_seconds"], row["duckdb_seconds"], row["polars_over_duckdb"],
            row["polars_over_duckdb_scan"],
            (row["polars_events_per_second"] or 0) / 1e6 or None,
            row["polars_peak_rss_mb"], row["duckdb_peak_rss_mb"],
        ]  # fmt: skip
        text = " ".join(
            f"{c:>{w}.2f}" if isinstance(c, float) else f"{'-':>{w}}"
            for c, w in zip(cells, (9, 9, 8, 8, 9, 10, 11), strict=True)
        )
        print(
            f"{row['analysis']:<10} {text}" + (f"  ERROR {row['errors']}" if row["errors"] else "")
        )
    print(
        f"{'scan':<10} {'-':>9} {scan.get('best_seconds', float('nan')):>9.2f}  (DuckDB decode "
        "of user_id, timestamp, event)"
    )


def _compile_funnel_loops() -> None:
    """Run a tiny funnel here, so that its compiled loops are in the on-disk cache.

    The subprocesses then load them instead of compiling (which would add the compiler's
    memory to their peak RSS and time to their warm-up).
    """
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    events = pl.LazyFrame(
        {"user_id": ["a", "a"], "timestamp": [moment, moment], "event": ["visit", "buy"]}
    )
    compute_funnel(events, steps=[["visit"], ["buy"]], start=moment, end=moment + timedelta(days=1))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--with-50m", action="store_true", help="also run 50M events")
    parser.add_argument("--sizes", nargs="*", choices=list(SIZES), help="sizes to run")
    parser.add_argument(
        "--only",
        nargs="*",
        choices=["kpi", "funnel", "retention"],
        help="analyses to run (default: all three)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="times each task's subprocess runs, interleaved with the others (default 2)",
    )
    parser.add_argument("--child", choices=list(TASKS), help=argparse.SUPPRESS)
    parser.add_argument("--size", choices=list(SIZES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.size)
        return 0
    sizes = args.sizes or ["1m", "10m", *(["50m"] if args.with_50m else [])]
    _compile_funnel_loops()
    report = {
        "machine": {
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "polars": pl.__version__,
            "duckdb": duckdb.__version__,
            "threads": THREADS,
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "load_average_at_start": os.getloadavg(),
        },
        "method": f"each task runs in a fresh subprocess, {args.rounds} rounds interleaved with "
        f"the other tasks; per subprocess 1 warm-up then {RUNS} timed runs; seconds = best of "
        "all timed runs; peak RSS = highest VmHWM of its subprocesses (warm-up included)",
        "period": {"start": START.isoformat(), "end": END.isoformat(), "grain": "week"},
        "sizes": {},
    }
    for size in sizes:
        data = bench_data(CACHE, SIZES[size])
        scans = _write_plan(data)
        print(f"KPI pass plan: {scans} Parquet scan(s) -> {RESULTS / 'kpi_plan.txt'}")
        analyses = args.only or ["kpi", "funnel", "retention"]
        tasks = [t for t in TASKS if t == "scan_duckdb" or t.rsplit("_", 1)[0] in analyses]
        figures = _measure_rounds(tasks, size, args.rounds)
        scan = figures["scan_duckdb"]
        table = [
            _row(name, figures[f"{name}_polars"], figures[f"{name}_duckdb"], data.events_rows, scan)
            for name in analyses
        ]
        _print(size, data.events_rows, table, scan)
        report["sizes"][size] = {
            "events": data.events_rows,
            "kpi_plan_parquet_scans": scans,
            "duckdb_scan_seconds": scan.get("best_seconds"),
            "analyses": table,
            "raw": figures,
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "engine.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {RESULTS / 'engine.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The dashboard in the real browser: filter-change latency, first page to first chart, memory.

For each size (1M events: ``journey sample --users 50000``; 10M: ``--users 500000``) the
benchmark writes the seeded sample, serves it with ``journey dashboard`` (preheated kernels,
a pool of 2; short culling settings) on a free port of 127.0.0.1 and drives headless chromium:

- **first page to first chart**: ``goto`` until the journey map's SVG is drawn, on a fresh
  preheated kernel, ``--visits`` times (the first visit after the cache was built);
- **filter change**: on one page, ``--changes`` changes of the platform and channel filters,
  each to a view not shown before (nothing memoised), from the change in the browser until
  the page says it redrew (its render counter moved, the loading indicator hidden) and two
  animation frames passed; then 8 changes back and forth between the last two views (both
  memoised) as the reference of what a redraw costs without the engine on this machine at
  this moment; the kernel's part of each is the redraw time the page reports;
- **memory**: on a second server (kernels idle 30 s with no page are culled), the server's
  RSS and its kernels' (summed over the process tree, from ``/proc``) after 30 visits in a row
  whose tabs are closed without their unload handler (so the kernels stay until culled), then
  after the culler has stopped them.

Figures go to ``benchmarks/results/dashboard.json`` (and are printed). Run::

    .venv/bin/python benchmarks/dashboard.py               # 1M events
    .venv/bin/python benchmarks/dashboard.py --sizes 1m 10m

``--stages`` measures instead, in this one process and without a browser, what a new view
costs in the kernel stage by stage (each ``DashboardData`` method, memo emptied before each
view): wall and CPU seconds of the KPI table from the events' cube, and of the same table from
the events (the reference, same process, same views), with their ratio. Those figures go to
``benchmarks/results/dashboard_stages.json``; they are less sensitive to the machine's load
than the browser's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

from dashboard_server import kernel_pids, running_dashboard  # noqa: E402

RESULTS = HERE / "results"
CACHE = HERE / ".cache"
USERS = {"1m": 50_000, "10m": 500_000}
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
WAIT_MS = 300_000
POOL = 2
#: idle seconds before a kernel with no page is culled, on the memory server
CULL_IDLE = 30
_RENDERED = """
n => {
  const s = document.querySelector('.jl-status [data-renders]');
  const l = document.querySelector('.jl-loading');
  return s && Number(s.dataset.renders) > n && l && getComputedStyle(l).visibility === 'hidden';
}
"""
_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def _sample(size: str) -> Path:
    from journeylib.sample import generate_sample

    folder = CACHE / f"dashboard_{size}_seed7"
    config = folder / "journey.yml"
    if not config.is_file():
        generate_sample(folder, users=USERS[size], seed=7)
    return config


def _rss_kb(pid: int) -> int:
    """RSS of ``pid`` and of its children, in kB."""
    total = 0
    pids = [pid, *_children(pid)]
    for each in pids:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                found.append(int(entry.name))
                found += _children(int(entry.name))
    return found


def _renders(page) -> int:
    return int(page.get_attribute(".jl-status [data-renders]", "data-renders") or 0)


def _open(browser, url: str):
    context = browser.new_context(viewport={"width": 1300, "height": 1200})
    page = context.new_page()
    began = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=WAIT_MS)
    page.wait_for_selector(".jl-chart-journey-map svg", timeout=WAIT_MS)
    return context, page, time.perf_counter() - began


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _wait_warm(server_pid: int, kernels: int) -> None:
    """Until ``kernels`` kernels run and none used more than 5% of a CPU for a second: the
    pool's kernels have loaded the data and computed the default view."""
    tick = os.sysconf("SC_CLK_TCK")
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        pids = kernel_pids(server_pid)
        before = {pid: _cpu_ticks(pid) for pid in pids}
        time.sleep(1.0)
        busy = [pid for pid in pids if _cpu_ticks(pid) - before[pid] > 0.05 * tick]
        if len(pids) >= kernels and not busy:
            return
    raise RuntimeError("the kernel pool did not settle in 10 minutes")


def _changes(page, count: int) -> list[tuple[str, str]]:
    """``count`` (dimension, option label) steps that each lead to a view not shown before."""
    options = {
        name: page.eval_on_selector(
            f".jl-dim-{name} select", "s => [...s.options].map(o => o.value)"
        )
        for name in ("platform", "channel")
    }
    steps: list[tuple[str, str]] = []
    for platform in options["platform"]:
        steps.append(("platform", platform))
        for channel in options["channel"]:
            steps.append(("channel", channel))
    return steps[:count]


def _timed_changes(page, steps: list[tuple[str, str]]) -> tuple[list[float], list[float]]:
    """Seconds from each change to the redrawn page, and the kernel's part of them (the
    redraw's own time, which the page reports in its status element)."""
    seconds, kernel = [], []
    for name, label in steps:
        before = _renders(page)
        began = time.perf_counter()
        page.select_option(f".jl-dim-{name} select", label=label)
        page.wait_for_function(_RENDERED, arg=before, timeout=WAIT_MS)
        page.evaluate(_FRAMES)
        seconds.append(time.perf_counter() - began)
        kernel.append(float(page.get_attribute(".jl-status [data-seconds]", "data-seconds")))
    return seconds, kernel


def _summary(values: list[float]) -> dict:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(values),
        "median_ms": round(1000 * statistics.median(values), 1),
        "p95_ms": round(1000 * p95, 1),
        "min_ms": round(1000 * ordered[0], 1),
        "max_ms": round(1000 * ordered[-1], 1),
    }


def _report(result: dict, key: str, value: object) -> None:
    result[key] = value
    print(f"{result['size']} {key}: {json.dumps(value)}", flush=True)


def _fill_cache(config: Path, work: Path) -> float:
    """Seconds to validate the data and build its cube into the server's cache, in a process
    of its own (what ``journey dashboard`` does before serving; at 10M events it takes longer
    than a server start is waited for). Nearly nothing when the entry exists."""
    import subprocess

    began = time.perf_counter()
    code = "import sys; from journeylib.dashboard.data import open_data; open_data(sys.argv[1])"
    env = {**os.environ, "JOURNEY_DASHBOARD_CACHE": str(work / "cache")}
    subprocess.run([sys.executable, "-c", code, str(config)], check=True, env=env)
    return time.perf_counter() - began


def _serve(config: Path, work: Path, name: str, cull_idle: int):
    args = [str(config), "--pool-size", str(POOL), "--cull-idle-timeout", str(cull_idle)]
    args += ["--cull-interval", "2"]
    env = {"JOURNEY_DASHBOARD_CACHE": str(work / "cache")}
    return running_dashboard(args, cwd=work, log=work / f"{name}.log", env=env)


def run_size(size: str, *, visits: int, changes: int, memory_visits: int) -> dict:
    import polars as pl
    from playwright.sync_api import sync_playwright

    config = _sample(size)
    events = pl.scan_parquet(config.parent / "events" / "**" / "*.parquet").select(pl.len())
    events = int(events.collect().item())
    work = CACHE / f"dashboard_{size}_run"
    work.mkdir(parents=True, exist_ok=True)
    result: dict = {"size": size, "events": events, "users": USERS[size]}
    load_before = os.getloadavg()[0]
    _report(result, "cache_fill_seconds", round(_fill_cache(config, work), 1))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=list(CHROMIUM_FLAGS)
        )
        with _serve(config, work, "speed", cull_idle=600) as served:
            firsts = []
            for _ in range(visits):
                _wait_warm(served.process.pid, POOL)
                context, page, seconds = _open(browser, served.url)
                firsts.append(seconds)
                page.close(run_before_unload=True)
                context.close()
            _report(result, "first_page_to_first_chart", _summary(firsts))

            _wait_warm(served.process.pid, POOL)
            context, page, _ = _open(browser, served.url)
            steps = _changes(page, changes)
            total, kernel = _timed_changes(page, steps)
            _report(result, "filter_change_new_view", _summary(total))
            _report(result, "filter_change_new_view_kernel_part", _summary(kernel))
            # back and forth between the last two views: both are memoised
            name, last = steps[-1]
            before = [label for dimension, label in steps[:-1] if dimension == name]
            other = before[-1] if before else last
            total, kernel = _timed_changes(page, [(name, other), (name, last)] * 4)
            _report(result, "filter_change_memoised_view", _summary(total))
            _report(result, "filter_change_memoised_view_kernel_part", _summary(kernel))
            rss = [_rss_kb(pid) for pid in kernel_pids(served.process.pid)]
            _report(result, "kernel_rss_mb_max_after_changes", round(max(rss) / 1024, 1))
            context.close()

        if memory_visits == 0:
            browser.close()
            return result
        with _serve(config, work, "memory", cull_idle=CULL_IDLE) as served:
            _wait_warm(served.process.pid, POOL)
            rss_start = _rss_kb(served.process.pid)
            contexts = []
            began = time.perf_counter()
            for _ in range(memory_visits):
                context = browser.new_context()
                page = context.new_page()
                page.goto(served.url, wait_until="commit", timeout=WAIT_MS)
                page.wait_for_selector(".jl-card", timeout=WAIT_MS)
                page.close(run_before_unload=False)  # as a tab killed: the kernel stays
                contexts.append(context)
            seconds = time.perf_counter() - began
            alive = len(kernel_pids(served.process.pid))
            rss_after = _rss_kb(served.process.pid)
            for context in contexts:
                context.close()
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline and len(kernel_pids(served.process.pid)) > POOL:
                time.sleep(2)
            _wait_warm(served.process.pid, POOL)
            _report(
                result,
                "memory",
                {
                    "visits": memory_visits,
                    "visits_seconds": round(seconds, 1),
                    "server_tree_rss_mb_before_visits": round(rss_start / 1024, 1),
                    "server_tree_rss_mb_after_visits": round(rss_after / 1024, 1),
                    "kernels_alive_after_visits": alive,
                    "server_tree_rss_mb_after_culling": round(
                        _rss_kb(served.process.pid) / 1024, 1
                    ),
                    "kernels_alive_after_culling": len(kernel_pids(served.process.pid)),
                    "cull_idle_timeout_s": CULL_IDLE,
                },
            )
        browser.close()
    result["load_average_before_after"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    return result


def kernel_stages(size: str, views: int) -> dict:
    """Per-stage kernel costs of ``views`` new views (platform x channel), in one process."""
    import polars as pl

    from journeylib.dashboard.data import Memo, open_data

    config = _sample(size)
    work = CACHE / f"dashboard_{size}_run"
    began = time.perf_counter()
    data, cached = open_data(config, cache_dir=work / "cache")
    opened = time.perf_counter() - began
    journey = data.journey
    default = data.default_view()
    chosen = [
        default.with_filter("platform", [platform]).with_filter("channel", [channel])
        for platform in ("android", "ios", "web")
        for channel in ("email", "social", "organic", "paid_search")
    ][:views]

    def measure(stage, before=None) -> dict:
        """Median cost of ``stage`` on each view, the memo emptied (then ``before`` run)."""
        wall, cpu = [], []
        for view in chosen:
            data.memo = Memo()
            if before is not None:
                before(view)
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            stage(view)
            wall.append(time.perf_counter() - start_wall)
            cpu.append(time.process_time() - start_cpu)
        return {
            "wall_median_ms": round(1000 * statistics.median(wall), 1),
            "cpu_median_ms": round(1000 * statistics.median(cpu), 1),
        }

    load_before = os.getloadavg()[0]
    stages = {
        name: measure(getattr(data, name))
        for name in ("event_count", "kpi_table", "funnel", "retention")
    }
    # these start from the view's KPI table: measured once it is there
    stages["channels"] = measure(data.channels, before=data.kpi_table)
    stages["cards_and_score"] = measure(data.score, before=data.kpi_table)
    cube, journey.cube = journey.cube, None
    try:
        reference = measure(data.kpi_table)
    finally:
        journey.cube = cube
    events = journey.tables["events"].select(pl.len()).collect().item()
    return {
        "size": size,
        "events": events,
        "views": len(chosen),
        "open_seconds": round(opened, 1),
        "opened_from_cache": cached,
        "cube_rows": {name: frame.height for name, frame in cube.tables.items()},
        "stages": stages,
        "kpi_table_from_events": reference,
        "kpi_table_cpu_ratio_events_to_cube": round(
            reference["cpu_median_ms"] / stages["kpi_table"]["cpu_median_ms"], 2
        ),
        "load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", choices=sorted(USERS), default=["1m"])
    parser.add_argument("--visits", type=int, default=3, help="first-page visits (3)")
    parser.add_argument("--changes", type=int, default=24, help="filter changes (24)")
    parser.add_argument(
        "--memory-visits",
        type=int,
        default=30,
        help="visits in a row (30; 0 skips the memory phase, e.g. at 10M events, where 30 "
        "kernels of about 2 GB each would not fit a small machine)",
    )
    parser.add_argument(
        "--stages",
        action="store_true",
        help="measure the kernel's stages in this process (no browser) instead",
    )
    args = parser.parse_args()
    if args.stages:
        measured = {
            "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cpus": os.cpu_count(),
            "sizes": [kernel_stages(size, views=8) for size in args.sizes],
        }
        print(json.dumps(measured, indent=2), flush=True)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "dashboard_stages.json").write_text(json.dumps(measured, indent=2) + "\n")
        return 0
    results = {
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "sizes": [],
    }
    for size in args.sizes:
        figures = run_size(
            size, visits=args.visits, changes=args.changes, memory_visits=args.memory_visits
        )
        print(json.dumps(figures, indent=2), flush=True)
        results["sizes"].append(figures)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dashboard.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {RESULTS / 'dashboard.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

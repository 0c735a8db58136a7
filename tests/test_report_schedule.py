"""The report schedule: cron slots with DST, the schedule file, and ticks that run each slot once.

Every test injects the clock (``now``) and the runner: nothing sleeps, nothing reads real time.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import multiprocessing
import os
import sys
import textwrap
import threading
import types
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from journeylib.cli._schedule import add_schedule_commands
from journeylib.errors import JourneyError
from journeylib.report.email import MailSettingsError
from journeylib.report.schedule import (
    MAX_ATTEMPTS,
    JobOutcome,
    JobState,
    ScheduleError,
    check_mail_settings,
    load_schedule,
    read_state,
    run_notebook_job,
    schedule_from_dict,
    tick,
)
from journeylib.report.schedule.cron import CronError, next_slot, parse_cron, slots_between

BERLIN = "Europe/Berlin"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --------------------------------------------------------------------------- cron fields


@pytest.mark.parametrize(
    ("expression", "field", "expected"),
    [
        ("*/15 * * * *", "minutes", (0, 15, 30, 45)),
        ("1-5/2 * * * *", "minutes", (1, 3, 5)),
        ("5/20 * * * *", "minutes", (5, 25, 45)),
        ("0,30 * * * *", "minutes", (0, 30)),
        ("0 9-17/4 * * *", "hours", (9, 13, 17)),
        ("0 0 1,15 * *", "days", frozenset({1, 15})),
        ("0 0 * JAN-MAR *", "months", frozenset({1, 2, 3})),
        ("0 0 * jun,Dec *", "months", frozenset({6, 12})),
        ("0 0 * * MON-FRI", "weekdays", frozenset({1, 2, 3, 4, 5})),
        ("0 0 * * 7", "weekdays", frozenset({0})),
        ("0 0 * * FRI-SUN", "weekdays", frozenset({5, 6, 0})),
        ("@hourly", "minutes", (0,)),
        ("@daily", "hours", (0,)),
    ],
)
def test_cron_fields_parse_to_their_values(expression, field, expected):
    assert getattr(parse_cron(expression), field) == expected


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("@hourly", utc(2026, 1, 7, 10, 20), utc(2026, 1, 7, 11)),
        ("@daily", utc(2026, 1, 7, 10), utc(2026, 1, 8)),
        ("@weekly", utc(2026, 1, 7, 10), utc(2026, 1, 11)),  # Wednesday -> Sunday
        ("@monthly", utc(2026, 1, 15), utc(2026, 2, 1)),
        ("@yearly", utc(2026, 1, 15), utc(2027, 1, 1)),
        ("0 7 * * MON", utc(2026, 1, 7), utc(2026, 1, 12, 7)),
        ("0 0 29 2 *", utc(2097, 3, 1), utc(2104, 2, 29)),  # 2100 is not a leap year
    ],
)
def test_next_slot(expression, after, expected):
    assert next_slot(expression, "UTC", after) == expected


def test_slots_exclude_after_and_include_until():
    slots = slots_between("0 * * * *", "UTC", utc(2026, 1, 1, 10), utc(2026, 1, 1, 12))
    assert slots == [utc(2026, 1, 1, 11), utc(2026, 1, 1, 12)]


@pytest.mark.parametrize(
    ("expression", "days"),
    [
        # both day fields restricted: either matches (Fridays of January 2026, and the 13th)
        ("0 0 13 * FRI", [2, 9, 13, 16, 23, 30]),
        ("0 0 13 * *", [13]),
        ("0 0 * * FRI", [2, 9, 16, 23, 30]),
        # a field starting with '*' counts as unrestricted: both must match (odd Mondays)
        ("0 0 */2 * MON", [5, 19]),
    ],
)
def test_day_of_month_and_day_of_week_or_rule(expression, days):
    slots = slots_between(expression, "UTC", utc(2025, 12, 31), utc(2026, 1, 31, 23))
    assert slots == [utc(2026, 1, day) for day in days]


@pytest.mark.parametrize(
    ("expression", "after", "until", "expected"),
    [
        # 2026-03-29: Berlin clocks jump from 02:00 CET to 03:00 CEST (01:00 UTC)
        (
            "30 2 * * *",
            utc(2026, 3, 28, 12),
            utc(2026, 3, 30, 12),
            [utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)],
        ),
        # 02:00, 02:30 and 03:00 all land on the jump: one run there, then 03:30 CEST
        (
            "0,30 2,3 29 3 *",
            utc(2026, 3, 28),
            utc(2026, 3, 30),
            [utc(2026, 3, 29, 1), utc(2026, 3, 29, 1, 30)],
        ),
        # 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 runs once, at its first occurrence
        ("30 2 * * *", utc(2026, 10, 24, 12), utc(2026, 10, 25, 12), [utc(2026, 10, 25, 0, 30)]),
        # every half hour: the repeated hour 02:00-02:59 runs once
        (
            "*/30 * * * *",
            utc(2026, 10, 25, 0),
            utc(2026, 10, 25, 2),
            [utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2)],
        ),
        # winter: 07:00 CET is 06:00 UTC; summer: 07:00 CEST is 05:00 UTC
        ("0 7 * * *", utc(2026, 1, 1), utc(2026, 1, 1, 12), [utc(2026, 1, 1, 6)]),
        ("0 7 * * *", utc(2026, 7, 1), utc(2026, 7, 1, 12), [utc(2026, 7, 1, 5)]),
    ],
)
def test_slots_in_berlin_handle_daylight_saving_time(expression, after, until, expected):
    assert slots_between(expression, BERLIN, after, until) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("61 * * * *", "cron '61 * * * *': minute field '61': 61 is out of range 0-59"),
        ("0 24 * * *", "cron '0 24 * * *': hour field '24': 24 is out of range 0-23"),
        ("0 0 0 * *", "cron '0 0 0 * *': day-of-month field '0': 0 is out of range 1-31"),
        (
            "0 0 * FOO *",
            "cron '0 0 * FOO *': month field 'FOO': unknown value 'FOO'; expected 1-12 or JAN-DEC",
        ),
        (
            "0 7 * * MUN",
            "cron '0 7 * * MUN': day-of-week field 'MUN': unknown value 'MUN'; "
            "expected 0-7 or SUN-SAT",
        ),
        (
            "*/0 * * * *",
            "cron '*/0 * * * *': minute field '*/0': step must be a whole number above 0, got '0'",
        ),
        (
            "0 5-1 * * *",
            "cron '0 5-1 * * *': hour field '5-1': range start '5' is after its end '1'",
        ),
        (
            "0 7 * *",
            "cron '0 7 * *': expected 5 fields (minute hour day-of-month month day-of-week) "
            "or a macro such as @daily, got 4",
        ),
        (
            "@often",
            "cron '@often': unknown macro '@often'; expected one of @yearly, @annually, "
            "@monthly, @weekly, @daily, @midnight, @hourly",
        ),
        (
            "0 0 30 2 *",
            "cron '0 0 30 2 *': never matches: day-of-month '30' does not occur in month '2'",
        ),
    ],
)
def test_invalid_cron_names_field_and_value(expression, message):
    with pytest.raises(CronError) as caught:
        parse_cron(expression)
    assert str(caught.value) == message


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="after must be a time-zone-aware datetime"):
        next_slot("@daily", "UTC", datetime(2026, 1, 1))


# --------------------------------------------------------------------------- schedule file


def write_schedule(folder: Path, text: str) -> Path:
    path = folder / "schedule.yml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def write_notebook(path: Path) -> Path:
    """A minimal report notebook: the schedule checks each job's notebook and its parameters
    against the notebook's ``parameters`` cell when it loads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    parameters = new_code_cell(
        'period: str = "last_full_week"  # the period\n'
        'grain: str = "week"  # the grain\n'
        'as_of: str = "data_end"  # anchor of relative periods\n',
        metadata={"tags": ["parameters"]},
    )
    nbformat.write(new_notebook(cells=[parameters, new_code_cell("1 + 1")]), path)
    return path


def test_schedule_file_loads_with_defaults_and_paths_relative_to_it(tmp_path):
    path = write_schedule(
        tmp_path,
        """\
        jobs:
          - name: weekly-kpis
            cron: "0 7 * * MON"
            notebook: ../notebooks/journey_report.ipynb
            parameters: {period: last_full_week, grain: week}
            recipients: [team@example.com]
        """,
    )
    write_notebook(tmp_path / "../notebooks/journey_report.ipynb")
    schedule = load_schedule(path)
    job = schedule.jobs[0]
    assert (schedule.timezone, schedule.catch_up) == ("UTC", "latest")
    assert job.notebook == tmp_path / "../notebooks/journey_report.ipynb"
    assert job.parameters == {"period": "last_full_week", "grain": "week"}
    assert (job.enabled, job.owner, schedule.catch_up_of(job)) == (True, None, "latest")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            "jobs:\n  - name: a\n    crn: '@daily'\n    notebook: a.ipynb\n",
            "line 3: jobs.0.crn: unknown key 'crn' (did you mean 'cron'?); allowed keys here: "
            "catch_up, cron, enabled, kind, name, notebook, owner, parameters, recipients",
        ),
        (
            "jobs:\n  - name: a\n    notebook: a.ipynb\n    cron: '0 7 * * MUN'\n",
            "line 4: jobs.0.cron: cron '0 7 * * MUN': day-of-week field 'MUN': unknown value "
            "'MUN'; expected 0-7 or SUN-SAT",
        ),
        (
            "jobs:\n  - name: a\n    cron: '@daily'\n",
            "line 2: jobs.0.notebook: required key is missing",
        ),
        (
            "catch_up: some\njobs: []\n",
            "line 1: catch_up: Input should be 'all' or 'latest'",
        ),
        (
            "jobs:\n  - {name: a, cron: '@daily', notebook: a.ipynb, owner: nobody}\n",
            "line 2: jobs.0.owner: expected an email address, got 'nobody'",
        ),
        (
            "jobs:\n  - {name: a, cron: '@daily', notebook: a.ipynb}\n"
            "  - {name: a, cron: '@hourly', notebook: b.ipynb}\n",
            "line 1: jobs: job 'a' is listed twice",
        ),
    ],
)
def test_schedule_file_errors_are_located_by_key_path(tmp_path, body, problem):
    for name in ("a.ipynb", "b.ipynb"):
        write_notebook(tmp_path / name)
    with pytest.raises(ScheduleError) as caught:
        load_schedule(write_schedule(tmp_path, body))
    assert caught.value.problems == [problem]
    assert str(caught.value).startswith(f"{tmp_path / 'schedule.yml'}: 1 problem in the schedule")


# --------------------------------------------------------------------------- tick


class Recorder:
    """A runner that records each (job, slot) and answers with a fixed outcome."""

    def __init__(self, ok: bool = True, message: str | None = None) -> None:
        self.calls: list[tuple[str, datetime]] = []
        self.ok = ok
        self.message = message

    def __call__(self, job, slot, context):
        self.calls.append((job.name, slot))
        return JobOutcome(ok=self.ok, message=self.message, report=Path(f"reports/{job.name}.html"))


def daily(schedule_catch_up: str = "latest", **job: object):
    spec = {"name": "daily", "cron": "0 7 * * *", "notebook": "report.ipynb", **job}
    return schedule_from_dict(
        {"catch_up": schedule_catch_up, "jobs": [spec]}, base_dir="/srv", check_notebooks=False
    )


@pytest.fixture
def state(tmp_path) -> Path:
    return tmp_path / "state.json"


def test_first_tick_initialises_without_running(state):
    runner = Recorder()
    report = tick(daily(), state_path=state, now=utc(2026, 1, 1, 8), run_job=runner)
    assert (runner.calls, report.initialised, report.exit_code) == ([], ("daily",), 0)
    assert read_state(state)["daily"].done_until == utc(2026, 1, 1, 8)


def test_due_slot_runs_once_and_a_second_tick_runs_nothing(state):
    runner = Recorder()
    tick(daily(), state_path=state, now=utc(2026, 1, 1), run_job=runner)
    first = tick(daily(), state_path=state, now=utc(2026, 1, 1, 7, 5), run_job=runner)
    second = tick(daily(), state_path=state, now=utc(2026, 1, 1, 7, 5), run_job=runner)
    assert runner.calls == [("daily", utc(2026, 1, 1, 7))]
    assert [(r.status, r.report) for r in first.runs] == [("ok", Path("reports/daily.html"))]
    assert second.runs == ()
    saved = read_state(state)["daily"]
    assert (saved.last_slot, saved.result, saved.report) == (
        utc(2026, 1, 1, 7),
        "ok",
        "reports/daily.html",
    )


@pytest.mark.parametrize(
    ("catch_up", "ran", "skipped"),
    [
        ("latest", [3], [1, 2]),
        ("all", [1, 2, 3], []),
    ],
)
def test_catch_up_after_three_missed_daily_slots(state, catch_up, ran, skipped):
    runner = Recorder()
    tick(daily(catch_up), state_path=state, now=utc(2026, 1, 1), run_job=runner)
    report = tick(daily(catch_up), state_path=state, now=utc(2026, 1, 3, 9), run_job=runner)
    assert runner.calls == [("daily", utc(2026, 1, day, 7)) for day in ran]
    assert [r.slot for r in report.runs if r.status == "skipped"] == [
        utc(2026, 1, day, 7) for day in skipped
    ]
    assert read_state(state)["daily"].skipped == tuple(utc(2026, 1, d, 7) for d in skipped)


def test_job_catch_up_overrides_the_schedule(state):
    runner = Recorder()
    schedule = daily("latest", catch_up="all")
    tick(schedule, state_path=state, now=utc(2026, 1, 1), run_job=runner)
    tick(schedule, state_path=state, now=utc(2026, 1, 2, 9), run_job=runner)
    assert [slot.day for _, slot in runner.calls] == [1, 2]


def test_failed_run_is_recorded_and_not_rerun(state):
    runner = Recorder(ok=False, message="KeyError: 'revenue'")
    tick(daily(), state_path=state, now=utc(2026, 1, 1), run_job=runner)
    report = tick(daily(), state_path=state, now=utc(2026, 1, 1, 7, 5), run_job=runner)
    later = tick(daily(), state_path=state, now=utc(2026, 1, 1, 9), run_job=runner)
    saved = read_state(state)["daily"]
    assert (report.exit_code, later.exit_code, len(runner.calls)) == (1, 0, 1)
    assert (saved.result, saved.message, saved.last_slot) == (
        "failed",
        "KeyError: 'revenue'",
        utc(2026, 1, 1, 7),
    )


def test_crashing_runner_leaves_the_slot_to_be_retried(state):
    calls: list[datetime] = []

    def crash_then_succeed(job, slot, context):
        calls.append(slot)
        if len(calls) == 2:  # the second slot crashes once
            raise RuntimeError("kernel died")
        return JobOutcome(ok=True)

    schedule = daily("all")
    tick(schedule, state_path=state, now=utc(2026, 1, 1), run_job=crash_then_succeed)
    crashed = tick(schedule, state_path=state, now=utc(2026, 1, 3, 9), run_job=crash_then_succeed)
    assert [(r.slot.day, r.status) for r in crashed.runs] == [(1, "ok"), (2, "crashed")]
    assert crashed.runs[1].message == "RuntimeError: kernel died"
    assert crashed.exit_code == 1
    assert read_state(state)["daily"].done_until == utc(2026, 1, 1, 7)
    retried = tick(schedule, state_path=state, now=utc(2026, 1, 3, 9), run_job=crash_then_succeed)
    assert [(r.slot.day, r.status) for r in retried.runs] == [(2, "ok"), (3, "ok")]
    assert [slot.day for slot in calls] == [1, 2, 2, 3]


def test_interrupted_state_write_leaves_the_old_state_and_the_slot_is_retried(state, monkeypatch):
    runner = Recorder()
    tick(daily(), state_path=state, now=utc(2026, 1, 1), run_job=runner)
    real_fsync = os.fsync

    def power_cut_after_the_run(descriptor):
        if runner.calls:  # the new state is half-written at this point
            raise OSError("disk gone")
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", power_cut_after_the_run)
    with pytest.raises(OSError, match="disk gone"):
        tick(daily(), state_path=state, now=utc(2026, 1, 1, 7, 5), run_job=runner)
    monkeypatch.undo()
    saved = read_state(state)["daily"]  # the state written before the run: one attempt started
    assert (saved.done_until, saved.attempt_slot, saved.attempts) == (
        utc(2026, 1, 1),
        utc(2026, 1, 1, 7),
        1,
    )
    assert sorted(p.name for p in state.parent.iterdir()) == ["state.json", "state.json.lock"]
    tick(daily(), state_path=state, now=utc(2026, 1, 1, 7, 5), run_job=runner)
    assert runner.calls == [("daily", utc(2026, 1, 1, 7))] * 2
    assert read_state(state)["daily"].result == "ok"


def _killed_runner(job, slot, context):
    os._exit(9)  # the process dies mid-run, without any clean-up


def _tick_in_child(state_path: str, now: datetime, runner, results) -> None:
    report = tick(daily(), state_path=state_path, now=now, run_job=runner)
    results.put(report.locked)


def test_process_killed_mid_run_leaves_the_slot_to_be_retried(state):
    runner = Recorder()
    tick(daily(), state_path=state, now=utc(2026, 1, 1), run_job=runner)
    context = multiprocessing.get_context("fork")
    child = context.Process(
        target=_tick_in_child, args=(str(state), utc(2026, 1, 1, 7, 5), _killed_runner, None)
    )
    child.start()
    child.join(timeout=20)
    assert child.exitcode == 9
    tick(daily(), state_path=state, now=utc(2026, 1, 1, 7, 5), run_job=runner)
    assert runner.calls == [("daily", utc(2026, 1, 1, 7))]


def test_concurrent_ticks_in_threads_never_run_a_slot_twice(state):
    runner_started, second_done = threading.Event(), threading.Event()
    calls: list[datetime] = []

    def slow_runner(job, slot, context):
        calls.append(slot)
        runner_started.set()
        assert second_done.wait(timeout=10)
        return JobOutcome(ok=True)

    tick(daily(), state_path=state, now=utc(2026, 1, 1), run_job=slow_runner)
    now = utc(2026, 1, 1, 7, 5)
    reports = {}
    first = threading.Thread(
        target=lambda: reports.update(
            first=tick(daily(), state_path=state, now=now, run_job=slow_runner)
        )
    )
    first.start()
    assert runner_started.wait(timeout=10)
    reports["second"] = tick(daily(), state_path=state, now=now, run_job=slow_runner)
    second_done.set()
    first.join(timeout=10)
    assert (reports["first"].locked, reports["second"].locked) == (False, True)
    assert reports["second"].exit_code == 0
    assert calls == [utc(2026, 1, 1, 7)]


def test_concurrent_tick_in_another_process_runs_nothing(state):
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    calls: list[datetime] = []

    def runner_that_starts_a_second_tick(job, slot, slot_context):
        calls.append(slot)
        child = context.Process(
            target=_tick_in_child, args=(str(state), utc(2026, 1, 1, 7, 5), Recorder(), results)
        )
        child.start()
        child.join(timeout=20)
        return JobOutcome(ok=True)

    tick(daily(), state_path=state, now=utc(2026, 1, 1), run_job=runner_that_starts_a_second_tick)
    tick(
        daily(),
        state_path=state,
        now=utc(2026, 1, 1, 7, 5),
        run_job=runner_that_starts_a_second_tick,
    )
    assert results.get(timeout=10) is True  # the child found the lock taken
    assert calls == [utc(2026, 1, 1, 7)]


def test_disabled_job_is_not_caught_up_when_enabled_again(state):
    runner = Recorder()
    tick(daily(), state_path=state, now=utc(2026, 1, 1), run_job=runner)
    tick(daily(enabled=False), state_path=state, now=utc(2026, 1, 5), run_job=runner)
    tick(daily("all"), state_path=state, now=utc(2026, 1, 6, 8), run_job=runner)
    assert runner.calls == [("daily", utc(2026, 1, 5, 7)), ("daily", utc(2026, 1, 6, 7))]


def test_jobs_removed_from_the_schedule_leave_the_state(state):
    tick(daily(), state_path=state, now=utc(2026, 1, 1), run_job=Recorder())
    tick(
        schedule_from_dict({"jobs": []}), state_path=state, now=utc(2026, 1, 2), run_job=Recorder()
    )
    assert read_state(state) == {}


def test_unreadable_state_file_is_a_schedule_error(state):
    state.write_text("{not json", encoding="utf-8")
    with pytest.raises(ScheduleError, match="the state file cannot be read"):
        tick(daily(), state_path=state, now=utc(2026, 1, 1), run_job=Recorder())


def test_naive_now_is_refused(state):
    with pytest.raises(ValueError, match="now must be a time-zone-aware datetime"):
        tick(daily(), state_path=state, now=datetime(2026, 1, 1), run_job=Recorder())


# --------------------------------------------------------------------------- CLI

SCHEDULE_YML = """\
timezone: Europe/Berlin
jobs:
  - name: weekly-kpis
    cron: "0 7 * * MON"
    notebook: journey_report.ipynb
    parameters: {period: last_full_week}
    recipients: [team@example.com]
    owner: analyst@example.com
  - name: paused
    cron: "@daily"
    notebook: other.ipynb
    enabled: false
"""


@pytest.fixture
def fake_run_report(monkeypatch):
    """Stand in for ``journeylib.report.run``; collects the calls, answers ``outcome``."""
    calls: list[dict] = []
    outcome = {"ok": True, "error": None, "alert_error": None}

    def run_report(notebook, **options):
        calls.append({"notebook": notebook, **options})
        html = Path("reports/weekly/2026-W01/report.html") if outcome["ok"] else None
        return types.SimpleNamespace(
            ok=outcome["ok"],
            html=html,
            notebook=Path("out.ipynb"),
            error=outcome["error"],
            alert_error=outcome["alert_error"],
            notes=(),
        )

    module = types.ModuleType("journeylib.report.run")
    module.run_report = run_report
    monkeypatch.setitem(sys.modules, "journeylib.report.run", module)
    return calls, outcome


def journey(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="journey")
    add_schedule_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except JourneyError:
        return 2


def schedule_args(tmp_path: Path, *extra: str) -> list[str]:
    for name in ("journey_report.ipynb", "other.ipynb"):
        if not (tmp_path / name).exists():
            write_notebook(tmp_path / name)
    return ["--schedule", str(write_schedule(tmp_path, SCHEDULE_YML)), *extra]


@pytest.fixture
def smtp_env(monkeypatch):
    """Mail settings that pass the check (the stand-in runner never connects)."""
    monkeypatch.setenv("JOURNEY_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("JOURNEY_SMTP_FROM", "reports@example.com")


def test_cli_tick_runs_the_due_job_with_the_default_runner(
    tmp_path, fake_run_report, smtp_env, capsys
):
    calls, _ = fake_run_report
    assert journey("schedule", "tick", *schedule_args(tmp_path, "--now", "2026-01-04T12:00")) == 0
    # naive --now is Berlin time: Monday 2026-01-05 07:00 CET is 06:00 UTC
    assert journey("schedule", "tick", *schedule_args(tmp_path, "--now", "2026-01-05T07:01")) == 0
    deliveries = [call.pop("deliveries") for call in calls]
    assert calls == [
        {
            "notebook": tmp_path / "journey_report.ipynb",
            "parameters": {"period": "last_full_week"},
            "email_to": ["team@example.com"],
            "owner": "analyst@example.com",
            "now": utc(2026, 1, 5, 6),
            "out_root": tmp_path,  # the schedule file's folder
        }
    ]
    assert [(d.job, d.slot) for d in deliveries] == [("weekly-kpis", utc(2026, 1, 5, 6))]
    assert "weekly-kpis slot 2026-01-05T06:00:00+00:00: ok" in capsys.readouterr().out


def test_cli_tick_exits_1_when_a_job_fails(tmp_path, fake_run_report, smtp_env):
    _, outcome = fake_run_report
    outcome.update(ok=False, error="notebook raised KeyError")
    assert journey("schedule", "tick", *schedule_args(tmp_path, "--now", "2026-01-04T12:00")) == 0
    assert journey("schedule", "tick", *schedule_args(tmp_path, "--now", "2026-01-05T08:00")) == 1
    assert journey("schedule", "tick", *schedule_args(tmp_path, "--now", "2026-01-05T09:00")) == 0


@pytest.mark.parametrize(
    "text", ["jobs:\n  - {name: a, cron: '0 7 * *', notebook: a.ipynb}\n", "jobs: [\n"]
)
def test_cli_exits_2_on_an_unusable_schedule_file(tmp_path, text):
    path = write_schedule(tmp_path, text)
    assert journey("schedule", "tick", "--schedule", str(path)) == 2
    assert journey("schedule", "list", "--schedule", str(path)) == 2


def test_cli_tick_exits_0_when_another_tick_holds_the_lock(tmp_path, smtp_env, capsys):
    args = schedule_args(tmp_path, "--now", "2026-01-05T08:00")
    with (tmp_path / ".schedule-state.json.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        assert journey("schedule", "tick", *args) == 0
    assert "another tick is running" in capsys.readouterr().out


def test_cli_list_shows_next_run_and_last_result(tmp_path, fake_run_report, smtp_env, capsys):
    journey("schedule", "tick", *schedule_args(tmp_path, "--now", "2026-01-04T12:00"))
    journey("schedule", "tick", *schedule_args(tmp_path, "--now", "2026-01-05T08:00+01:00"))
    capsys.readouterr()
    assert journey("schedule", "list", *schedule_args(tmp_path, "--now", "2026-01-05T08:00")) == 0
    assert capsys.readouterr().out.splitlines() == [
        "job          cron         next run (Europe/Berlin)  last slot             result     "
        "message",
        "weekly-kpis  0 7 * * MON  2026-01-12 07:00 CET      2026-01-05 07:00 CET  ok         "
        "reports/weekly/2026-W01/report.html",
        "paused       @daily       disabled                  -                     never run",
    ]


def test_schedule_help_documents_the_crontab_line(capsys):
    with pytest.raises(SystemExit) as caught:
        journey("schedule", "--help")
    help_text = capsys.readouterr().out
    assert caught.value.code == 0
    assert "*/5 * * * * cd /srv/journey && .venv/bin/journey schedule tick" in help_text
    assert "PapermillOperator" in help_text


def test_state_file_is_plain_json(state):
    tick(daily(), state_path=state, now=utc(2026, 1, 1), run_job=Recorder())
    assert json.loads(state.read_text(encoding="utf-8"))["jobs"]["daily"]["done_until"] == (
        "2026-01-01T00:00:00+00:00"
    )


# --------------------------------------------------------------------------- notebooks at load


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda path: None, "notebook {path} does not exist"),
        (lambda path: path.mkdir(), "notebook {path} is a folder, not a notebook file"),
        (lambda path: path.write_text("root:x:0:0"), "{path} is not a notebook (not JSON: "),
        (lambda path: path.write_text("[1, 2]"), "{path} is not a notebook (no 'nbformat'"),
        (
            lambda path: path.write_text('{"nbformat": 4, "nbformat_minor": 5, "cells": [7]}'),
            "notebook {path} is not a valid notebook (",
        ),
    ],
    ids=["missing", "folder", "not-json", "not-a-notebook", "invalid"],
)
def test_each_jobs_notebook_is_checked_when_the_schedule_loads(tmp_path, make, problem):
    notebook = tmp_path / "weekly.ipynb"
    make(notebook)
    path = write_schedule(
        tmp_path,
        """\
        jobs:
          - name: weekly
            cron: "@weekly"
            notebook: weekly.ipynb
        """,
    )
    with pytest.raises(ScheduleError) as caught:
        load_schedule(path)
    (found,) = caught.value.problems
    assert found.startswith(
        "line 4: jobs.0.notebook: job 'weekly': " + problem.format(path=notebook)
    )


def test_schedule_from_dict_checks_notebooks_unless_told_not_to(tmp_path):
    spec = {"jobs": [{"name": "daily", "cron": "@daily", "notebook": "gone.ipynb"}]}
    with pytest.raises(ScheduleError, match=r"job 'daily': notebook .*gone\.ipynb does not exist"):
        schedule_from_dict(spec, base_dir=tmp_path)
    assert (
        schedule_from_dict(spec, base_dir=tmp_path, check_notebooks=False).jobs[0].name == "daily"
    )


def test_state_file_from_a_newer_journeylib_is_refused(state):
    state.write_text('{"version": 3, "jobs": {}}', encoding="utf-8")
    with pytest.raises(ScheduleError, match="has version 3; this journeylib reads versions 1-2"):
        read_state(state)


def test_state_file_of_version_1_is_still_read(state):
    state.write_text(
        '{"version": 1, "jobs": {"daily": {"done_until": "2026-01-01T00:00:00+00:00"}}}',
        encoding="utf-8",
    )
    assert read_state(state)["daily"] == JobState(done_until=utc(2026, 1, 1))


# --------------------------------------------------------------------------- repeated crashes


class Alerts(list):
    """An injected alerter: records (job, slot, error) and answers ``problem``."""

    def __init__(self, problem: str | None = None) -> None:
        super().__init__()
        self.problem = problem

    def __call__(self, job, slot, error, deliveries):
        self.append((job.name, slot, error))
        return self.problem


def always_crashing(job, slot, context):
    raise FileNotFoundError(f"{job.notebook} went missing")


def test_a_job_crashing_on_every_tick_is_given_up_after_three_attempts_and_alerted_once(state):
    schedule = daily(owner="owner@example.com")
    alerts = Alerts()
    tick(schedule, state_path=state, now=utc(2026, 1, 1), run_job=always_crashing, alert=alerts)
    statuses = []
    for minute in (5, 10, 15, 20, 25):
        report = tick(
            schedule,
            state_path=state,
            now=utc(2026, 1, 1, 7, minute),
            run_job=always_crashing,
            alert=alerts,
        )
        statuses.append([(run.status, run.attempt) for run in report.runs])
    assert statuses == [[("crashed", 1)], [("crashed", 2)], [("failed", 3)], [], []]
    assert alerts == [
        (
            "daily",
            utc(2026, 1, 1, 7),
            f"given up after {MAX_ATTEMPTS} attempts that did not finish; the last: "
            "FileNotFoundError: /srv/report.ipynb went missing",
        )
    ]
    saved = read_state(state)["daily"]
    assert (saved.result, saved.done_until, saved.attempts) == ("failed", utc(2026, 1, 1, 7), 0)
    # the next day's slot gets its own three attempts
    report = tick(
        schedule, state_path=state, now=utc(2026, 1, 2, 8), run_job=always_crashing, alert=alerts
    )
    assert [(run.slot, run.status) for run in report.runs] == [(utc(2026, 1, 2, 7), "crashed")]


def _tick_killed_in_child(state_path: str, now: datetime) -> None:
    tick(daily(owner="owner@example.com"), state_path=state_path, now=now, run_job=_killed_runner)


def test_runs_killed_with_their_process_count_as_attempts(state):
    schedule = daily(owner="owner@example.com")
    alerts = Alerts()
    tick(schedule, state_path=state, now=utc(2026, 1, 1), run_job=Recorder(), alert=alerts)
    context = multiprocessing.get_context("fork")
    for _ in range(MAX_ATTEMPTS):
        child = context.Process(target=_tick_killed_in_child, args=(str(state), utc(2026, 1, 1, 8)))
        child.start()
        child.join(timeout=20)
        assert child.exitcode == 9
    assert read_state(state)["daily"].attempts == MAX_ATTEMPTS
    runner = Recorder()
    report = tick(schedule, state_path=state, now=utc(2026, 1, 1, 8), run_job=runner, alert=alerts)
    assert runner.calls == []  # a fourth run is not started
    (run,) = report.runs
    assert (run.status, run.attempt) == ("failed", MAX_ATTEMPTS)
    assert run.message == (
        "given up after 3 attempts that did not finish; the last: the run never finished "
        "(its process was killed or the machine stopped)"
    )
    assert [(job, slot) for job, slot, _ in alerts] == [("daily", utc(2026, 1, 1, 7))]


def test_an_alert_that_cannot_be_sent_is_said_and_recorded(state):
    schedule = daily(owner="owner@example.com")
    alerts = Alerts(problem="mail settings: JOURNEY_SMTP_HOST is required")
    tick(schedule, state_path=state, now=utc(2026, 1, 1), run_job=always_crashing)
    report = tick(
        schedule,
        state_path=state,
        now=utc(2026, 1, 1, 7, 5),
        run_job=always_crashing,
        alert=alerts,
        max_attempts=1,
    )
    warning = (
        "the alert to the owner owner@example.com could not be sent: "
        "mail settings: JOURNEY_SMTP_HOST is required"
    )
    assert [(run.status, run.warnings) for run in report.runs] == [("failed", (warning,))]
    assert read_state(state)["daily"].warnings == (warning,)
    assert len(alerts) == 1


def test_the_runner_gets_the_reports_folder_and_the_slots_deliveries(state, tmp_path):
    seen = []

    def runner(job, slot, context):
        seen.append((context.out_root, context.deliveries.job, context.deliveries.slot))
        return JobOutcome(ok=True)

    tick(daily(), state_path=state, now=utc(2026, 1, 1), run_job=runner, out_root=tmp_path)
    tick(daily(), state_path=state, now=utc(2026, 1, 1, 8), run_job=runner, out_root=tmp_path)
    assert seen == [(tmp_path, "daily", utc(2026, 1, 1, 7))]


# --------------------------------------------------------------------------- mail settings


def mailing_schedule(**job: object):
    spec = {"name": "weekly", "cron": "@weekly", "notebook": "r.ipynb", **job}
    return schedule_from_dict({"jobs": [spec]}, base_dir="/srv", check_notebooks=False)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "JOURNEY_SMTP_HOST is required"),
        (
            {
                "JOURNEY_SMTP_HOST": "mail",
                "JOURNEY_SMTP_FROM": "r@example.com",
                "JOURNEY_SMTP_PORT": "0",
            },
            "JOURNEY_SMTP_PORT must be within 1-65535, found 0",
        ),
    ],
)
def test_a_mailing_job_needs_usable_mail_settings(env, variable):
    with pytest.raises(MailSettingsError) as caught:
        check_mail_settings(mailing_schedule(recipients=["team@example.com"]), env)
    head, *problems = str(caught.value).splitlines()
    assert head.startswith(
        "mail settings (environment variables JOURNEY_SMTP_*) needed by job 'weekly' "
        "(recipients or owner): "
    )
    assert any(variable in line for line in problems)


@pytest.mark.parametrize(
    "job", [{}, {"recipients": ["team@example.com"], "enabled": False}], ids=["no-mail", "disabled"]
)
def test_jobs_that_send_no_mail_need_no_mail_settings(job):
    check_mail_settings(mailing_schedule(**job), {})


def test_a_job_with_recipients_is_refused_before_its_run_without_mail_settings(
    fake_run_report, monkeypatch
):
    calls, _ = fake_run_report
    for name in ("HOST", "FROM", "PORT"):
        monkeypatch.delenv(f"JOURNEY_SMTP_{name}", raising=False)
    job = mailing_schedule(recipients=["team@example.com"]).jobs[0]
    outcome = run_notebook_job(job, utc(2026, 1, 5))
    assert calls == []  # the notebook never ran
    assert outcome.ok is False
    assert outcome.message.startswith(
        "not run: the report is to be mailed but mail settings: JOURNEY_SMTP_HOST is required"
    )


# --------------------------------------------------------------------------- list, show, paths

MULTI_LINE_ERROR = "KeyError: 'revenue' (cell 9)\nTraceback line 1\nTraceback line 2"


def test_list_prints_one_line_per_job_and_show_the_whole_message(
    tmp_path, fake_run_report, smtp_env, capsys
):
    _, outcome = fake_run_report
    outcome.update(ok=False, error=MULTI_LINE_ERROR)
    journey("schedule", "tick", *schedule_args(tmp_path, "--now", "2026-01-04T12:00"))
    journey("schedule", "tick", *schedule_args(tmp_path, "--now", "2026-01-05T08:00"))
    capsys.readouterr()
    assert journey("schedule", "list", *schedule_args(tmp_path, "--now", "2026-01-05T08:00")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3  # the header and one line per job
    assert lines[1].endswith("failed     KeyError: 'revenue' (cell 9)…")
    assert journey("schedule", "show", "weekly-kpis", *schedule_args(tmp_path)) == 0
    shown = capsys.readouterr().out
    assert "message:\n  KeyError: 'revenue' (cell 9)\n  Traceback line 1\n  Traceback line 2\n" in (
        shown
    )
    assert "recipients  team@example.com" in shown
    assert "result      failed" in shown


def test_show_names_the_known_jobs_for_an_unknown_one(tmp_path):
    parser = argparse.ArgumentParser(prog="journey")
    add_schedule_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["schedule", "show", "weekly", *schedule_args(tmp_path)])
    with pytest.raises(
        JourneyError, match=r"no job named 'weekly' in .*; jobs: weekly-kpis, paused"
    ):
        args.handler(args)


def test_tick_from_another_folder_writes_under_the_schedule_folder(
    tmp_path, fake_run_report, smtp_env, monkeypatch
):
    calls, _ = fake_run_report
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    project = tmp_path / "project"
    project.mkdir()
    args = schedule_args(project)
    journey("schedule", "tick", *args, "--now", "2026-01-04T12:00")
    journey("schedule", "tick", *args, "--now", "2026-01-05T08:00")
    journey("schedule", "tick", *args, "--now", "2026-01-12T08:00", "--out", str(tmp_path / "out"))
    assert [call["out_root"] for call in calls] == [project, tmp_path / "out"]
    assert sorted(p.name for p in project.iterdir() if p.name.startswith(".")) == [
        ".schedule-state.json",
        ".schedule-state.json.lock",
    ]
    assert list(elsewhere.iterdir()) == []


def test_cli_tick_says_on_stderr_when_the_owner_alert_could_not_go(
    tmp_path, fake_run_report, smtp_env, capsys
):
    _, outcome = fake_run_report
    outcome.update(ok=False, error="RuntimeError: boom", alert_error="127.0.0.1:25: refused")
    journey("schedule", "tick", *schedule_args(tmp_path, "--now", "2026-01-04T12:00"))
    capsys.readouterr()
    assert journey("schedule", "tick", *schedule_args(tmp_path, "--now", "2026-01-05T08:00")) == 1
    err = capsys.readouterr().err
    assert err == (
        "journey schedule tick: weekly-kpis slot 2026-01-05T06:00:00+00:00: the alert to the "
        "owner analyst@example.com could not be sent: 127.0.0.1:25: refused\n"
    )
    state = read_state(tmp_path / ".schedule-state.json")["weekly-kpis"]
    assert state.warnings == (err.split("06:00:00+00:00: ", 1)[1].strip(),)

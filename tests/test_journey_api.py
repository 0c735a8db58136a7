"""The analyst API (``journeylib.load(...)``) and the ``journey`` CLI on a small sample company."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

import journeylib
from journeylib.cli import main
from journeylib.sample import generate_sample

BERLIN = ZoneInfo("Europe/Berlin")
FUNNEL_STEP_KEYS = {
    "step",
    "users",
    "conversion_from_first",
    "conversion_from_previous",
    "median_seconds_from_previous",
}
KPI_JSON_KEYS = {
    "period_start",
    "kpi",
    "value",
    "numerator",
    "denominator",
    "ci_low",
    "ci_high",
    "previous",
    "p_value",
    "breakdown",
}


@pytest.fixture(scope="module")
def sample_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_sample(tmp_path_factory.mktemp("sample"), users=2000, seed=3).config_path


@pytest.fixture(scope="module")
def journey(sample_config: Path) -> journeylib.Journey:
    return journeylib.load(sample_config)


@pytest.fixture(scope="module")
def weekly(journey: journeylib.Journey) -> pl.DataFrame:
    return journey.kpis(grain="week")


# --------------------------------------------------------------------------- Journey API


def test_kpis_default_range_covers_the_whole_data(
    journey: journeylib.Journey, weekly: pl.DataFrame
) -> None:
    first, last = journey.time_range
    first_day, last_day = first.astimezone(BERLIN).date(), last.astimezone(BERLIN).date()
    assert weekly["period_start"].min() == first_day - timedelta(days=first_day.weekday())
    assert weekly["period_end"].max() == last_day + timedelta(days=1)


def test_weekly_orders_add_up_to_the_purchase_events(
    journey: journeylib.Journey, weekly: pl.DataFrame
) -> None:
    purchase = journey.config.events_for("purchase")
    events = journey.tables["events"].filter(pl.col("event").is_in(purchase))
    expected = events.select(pl.len()).collect().item()
    orders = weekly.filter(pl.col("kpi") == "orders")["value"].sum()
    assert orders == expected


def test_kpis_table_has_every_kpi_of_the_journey(
    journey: journeylib.Journey, weekly: pl.DataFrame
) -> None:
    names = {name.split("[")[0] for name in weekly["kpi"].unique()}
    assert names == {kpi for stage in journey.config.stages for kpi in stage.kpis}
    # the sample maps every table and role: everything is available
    assert weekly.filter(~pl.col("available"))["kpi"].unique().to_list() == []


def test_kpis_by_channel_splits_visitors_into_channels(journey: journeylib.Journey) -> None:
    by_channel = journey.kpis(by="channel", kpis=["unique_visitors"])
    whole = journey.kpis(kpis=["unique_visitors"])
    assert "channel" in by_channel.columns
    assert by_channel["channel"].n_unique() > 1
    summed = by_channel.group_by("period_start").agg(pl.col("value").sum()).sort("period_start")
    assert summed["value"].to_list() == whole.sort("period_start")["value"].to_list()


def test_bad_by_column_names_the_available_dimensions(journey: journeylib.Journey) -> None:
    with pytest.raises(journeylib.DataError, match=r"'colour'.*available dimensions:.*channel"):
        journey.kpis(by="colour")


def test_default_funnel_is_the_first_of_the_config(journey: journeylib.Journey) -> None:
    funnel = journey.funnel()
    first = next(iter(journey.config.funnels.values()))
    assert funnel["step_name"].to_list() == first.steps
    users = funnel["users"].to_list()
    assert users == sorted(users, reverse=True)
    assert funnel["conversion_from_first"][0] == 1.0


def test_funnel_with_steps_and_window(journey: journeylib.Journey) -> None:
    three_days = journey.funnel(["visit", "purchase"], window="3d")
    seven_days = journey.funnel(["visit", "purchase"], window="7d")
    assert three_days["step_name"].to_list() == ["visit", "purchase"]
    assert three_days["users"][0] == seven_days["users"][0]
    assert three_days["users"][1] <= seven_days["users"][1]


def test_monthly_retention_starts_at_one(journey: journeylib.Journey) -> None:
    matrix = journey.retention(grain="month")
    assert {"cohort", "offset", "cohort_size", "retention"} <= set(matrix.columns)
    observed = matrix.filter(pl.col("offset") == 0, pl.col("retention").is_not_null())
    assert observed.height > 0
    assert observed["retention"].to_list() == [1.0] * observed.height
    assert matrix["retention"].drop_nulls().is_between(0, 1).all()
    # the last cohort's month ends after the data: not observed, null rather than 0
    assert matrix.sort("cohort")["retention"][-1] is None


#: Four users in January 2026: all visit, a buys twice and b once, so conversion_rate = 2/4,
#: orders = 3 and unique_visitors = 4.
SCORED_EVENTS = """\
user_id,timestamp,event
a,2026-01-05T09:00:00Z,visit
a,2026-01-05T09:10:00Z,purchase
a,2026-01-20T09:10:00Z,purchase
b,2026-01-06T10:00:00Z,visit
b,2026-01-06T10:30:00Z,purchase
c,2026-01-07T11:00:00Z,visit
d,2026-01-08T12:00:00Z,visit
"""
SCORED_CONFIG = """\
name: Scored
sources:
  events:
    path: events.csv
roles:
  visit: [visit]
  purchase: [purchase]
stages:
  - name: awareness
    kpis: [unique_visitors, impressions]
    weight: 1
  - name: purchase
    kpis: [conversion_rate, orders, cac]
    weight: 3
targets:
  unique_visitors: 8
  conversion_rate: 0.4
  orders: 6
kpi_weights:
  orders: 3
"""
#: By hand (docs/kpis.md#journey-score): unique_visitors 100 × 4/8 = 50, so awareness = 50
#: (impressions has no target); conversion_rate min(1, 0.5/0.4) = 100 and orders 100 × 3/6 = 50,
#: so purchase = (1 × 100 + 3 × 50) / 4 = 62.5 (cac has no target, and no spend table);
#: overall = (1 × 50 + 3 × 62.5) / 4 = 59.375.
SCORED = {"overall": 59.375, "awareness": 50.0, "purchase": 62.5}


@pytest.fixture
def scored_config(tmp_path: Path) -> Path:
    (tmp_path / "events.csv").write_text(SCORED_EVENTS, encoding="utf-8")
    path = tmp_path / "journey.yml"
    path.write_text(SCORED_CONFIG, encoding="utf-8")
    return path


def test_monthly_score(scored_config: Path) -> None:
    result = journeylib.load(scored_config).score(grain="month")
    assert result.overall == pytest.approx(SCORED["overall"])
    stages = dict(zip(result.stages["stage"], result.stages["score"], strict=True))
    assert stages == pytest.approx(
        {"awareness": SCORED["awareness"], "purchase": SCORED["purchase"]}
    )
    kpis = dict(zip(result.kpis["kpi"], result.kpis["score"], strict=True))
    assert {k: kpis[k] for k in ("unique_visitors", "conversion_rate", "orders")} == pytest.approx(
        {"unique_visitors": 50.0, "conversion_rate": 100.0, "orders": 50.0}
    )
    assert len(result.left_out) == 2
    assert all(("impressions" in item) != ("cac" in item) for item in result.left_out)


# --------------------------------------------------------------------------- CLI


def run_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> object:
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_cli_kpis_json(capsys: pytest.CaptureFixture[str], sample_config: Path) -> None:
    rows = run_json(
        capsys,
        ["kpis", str(sample_config), "--format", "json", "--grain", "month", "--by", "channel",
         "--kpi", "conversion_rate", "--kpi", "orders"],
    )  # fmt: skip
    assert isinstance(rows, list)
    assert rows
    for row in rows:
        assert set(row) >= KPI_JSON_KEYS
        assert set(row["breakdown"]) == {"channel"}
        date.fromisoformat(row["period_start"])
    assert {row["kpi"] for row in rows} == {"conversion_rate", "orders"}


def test_cli_funnel_json(capsys: pytest.CaptureFixture[str], sample_config: Path) -> None:
    payload = run_json(capsys, ["funnel", str(sample_config), "--format", "json"])
    assert set(payload) == {"steps", "in_progress"}
    assert isinstance(payload["in_progress"], int)
    steps = payload["steps"]
    assert [s["step"] for s in steps] == list(range(1, len(steps) + 1))
    for step in steps:
        assert set(step) >= FUNNEL_STEP_KEYS
    assert steps[0]["median_seconds_from_previous"] is None


def test_cli_retention_json(capsys: pytest.CaptureFixture[str], sample_config: Path) -> None:
    payload = run_json(capsys, ["retention", str(sample_config), "--grain", "month",
                                "--format", "json"])  # fmt: skip
    assert set(payload) == {"cohorts"}
    for cohort in payload["cohorts"]:
        assert set(cohort) == {"cohort", "size", "retention"}
        date.fromisoformat(cohort["cohort"])
        assert cohort["size"] > 0
        assert cohort["retention"][0] in (1.0, None)
    assert payload["cohorts"][-1]["retention"][-1] is None


def test_cli_score_json(capsys: pytest.CaptureFixture[str], scored_config: Path) -> None:
    payload = run_json(capsys, ["score", str(scored_config), "--grain", "month",
                                "--format", "json"])  # fmt: skip
    assert {"overall", "stages", "kpis", "left_out"} <= set(payload)
    assert payload["overall"] == pytest.approx(SCORED["overall"])
    assert {row["stage"]: row["score"] for row in payload["stages"]} == pytest.approx(
        {"awareness": SCORED["awareness"], "purchase": SCORED["purchase"]}
    )


@pytest.mark.parametrize("fmt", ["csv", "table"])
def test_cli_kpis_csv_and_table(
    capsys: pytest.CaptureFixture[str], sample_config: Path, fmt: str
) -> None:
    code = main(["kpis", str(sample_config), "--format", fmt, "--kpi", "orders",
                 "--start", "2026-06-01", "--end", "2026-07-01", "--grain", "month"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "orders" in out
    if fmt == "csv":
        frame = pl.read_csv(out.encode())
        assert frame.height == 1
        assert frame["period_start"].cast(pl.String).to_list() == ["2026-06-01"]
    else:
        header, rule, row = out.splitlines()
        assert header.split()[:5] == ["period", "stage", "kpi", "value", "previous"]
        assert set(rule) == {"-", " "}
        period, stage, kpi, value = row.split()[:4]
        assert (period, stage, kpi) == ("2026-06-01", "purchase", "orders")
        assert re.fullmatch(r"\d{1,3}(,\d{3})*", value)  # a count, thousands separated


def test_cli_missing_config_exits_2_with_a_clear_message(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nope.yml"
    code = main(["kpis", str(missing), "--format", "json"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert str(missing) in captured.err
    assert "does not exist" in captured.err


@pytest.mark.parametrize("command", ["kpis", "funnel", "retention", "score"])
@pytest.mark.parametrize(
    "period",
    [["--start", "2030-01-01", "--end", "2030-02-01"],
     ["--start", "1999-01-01", "--end", "1999-01-08"],
     ["--start", "2030-01-01"], ["--end", "1999-01-01"]],
    ids=["after-the-data", "before-the-data", "start-only", "end-only"],
)  # fmt: skip
def test_cli_period_without_events_exits_2_naming_period_and_data_range(
    capsys: pytest.CaptureFixture[str],
    sample_config: Path,
    journey: journeylib.Journey,
    command: str,
    period: list[str],
) -> None:
    code = main([command, str(sample_config), "--format", "json", *period])
    captured = capsys.readouterr()
    first, last = (moment.astimezone(BERLIN).date() for moment in journey.time_range)
    assert code == 2
    assert captured.out == ""
    if len(period) == 4:
        said = f"{period[1]} to {period[3]} (end excluded)"
    else:
        said = f"from {period[1]}" if period[0] == "--start" else f"before {period[1]}"
    assert f"journey {command}: empty period: {said} has no events" in captured.err
    assert f"has no events in {sample_config}" in captured.err
    assert f"its events run from {first} to {last} (Europe/Berlin)" in captured.err


def test_cli_period_overlapping_the_data_is_computed(
    capsys: pytest.CaptureFixture[str], sample_config: Path, journey: journeylib.Journey
) -> None:
    last = journey.time_range[1].astimezone(BERLIN).date()
    # from the last day of the data to a month past it: one day holds events
    period = ["--start", str(last), "--end", str(last + timedelta(days=30))]
    payload = run_json(capsys, ["funnel", str(sample_config), "--format", "json", *period])
    assert payload["steps"][0]["users"] > 0


def test_cli_stops_quietly_when_the_reader_goes_away(sample_config: Path) -> None:
    """``journey kpis ... | head -c 10``: exit 141 (as SIGPIPE would), no traceback."""
    program = "import sys; from journeylib.cli import main; sys.exit(main())"
    argv = [sys.executable, "-c", program, "kpis", str(sample_config), "--format", "json"]
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None
    assert child.stderr is not None
    assert child.stdout.read(10) == b"[\n  {\n    "
    child.stdout.close()  # far less than the JSON (over 64 KiB, more than a pipe holds)
    err = child.stderr.read().decode()
    assert child.wait(timeout=120) == 141, err
    assert "Traceback" not in err
    assert err == ""


# --------------------------------------------------------------------------- ad hoc --events


@pytest.fixture
def adhoc_events(tmp_path: Path) -> Path:
    # a: view 10:00, buy 11:00 (1 h); b: view 10:00, buy next day 09:00 (23 h); c: view only
    path = tmp_path / "events.csv"
    path.write_text(
        "user_id,timestamp,event\n"
        "a,2026-03-02T10:00:00Z,page_view\n"
        "a,2026-03-02T11:00:00Z,order_done\n"
        "b,2026-03-02T10:00:00Z,page_view\n"
        "b,2026-03-03T09:00:00Z,order_done\n"
        "c,2026-03-04T10:00:00Z,page_view\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("window", "users", "median"),
    [
        # 7 days: a (3600 s) and b (82800 s) convert -> median 43200 s
        ([], [3, 2], 43200.0),
        # 12 hours: only a
        (["--window", "12h"], [3, 1], 3600.0),
    ],
    ids=["default-7d", "12h"],
)
def test_cli_adhoc_funnel_on_raw_event_names(
    capsys: pytest.CaptureFixture[str],
    adhoc_events: Path,
    window: list[str],
    users: list[int],
    median: float,
) -> None:
    payload = run_json(
        capsys,
        ["funnel", "--events", str(adhoc_events), "--steps", "page_view,order_done",
         "--format", "json", *window],
    )  # fmt: skip
    assert [s["users"] for s in payload["steps"]] == users
    assert payload["steps"][1]["median_seconds_from_previous"] == pytest.approx(median)
    assert payload["steps"][1]["conversion_from_previous"] == pytest.approx(users[1] / 3)


def test_cli_breakdown_with_a_filter_keeps_kpis_that_are_not_available(
    capsys: pytest.CaptureFixture[str], sample_config: Path
) -> None:
    # spend has no platform: impressions are not available under the filter, and used to
    # crash the table ("schema names differ: got kpi, expected channel")
    payload = run_json(
        capsys,
        ["kpis", str(sample_config), "--by", "channel", "--filter", "platform=ios",
         "--kpi", "impressions", "--kpi", "conversion_rate", "--format", "json"],
    )  # fmt: skip
    impressions = [row for row in payload if row["kpi"] == "impressions"]
    conversions = [row for row in payload if row["kpi"] == "conversion_rate"]
    assert impressions
    assert not any(row["available"] for row in impressions)
    channels = {row["breakdown"]["channel"] for row in conversions}
    assert {row["breakdown"]["channel"] for row in impressions} == channels
    assert len(channels) > 3

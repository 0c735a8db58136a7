"""Bad inputs of journey friction | incidents | experiment: exit 2, one line, nothing written."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from bad_inputs import BadInput, check_bad_input
from story_free import journey_events

STEPS = "visit,view,cart,checkout,purchase"
EVENTS = ["--events", "events.csv"]

CASES = [
    BadInput("friction-csv", ["friction", *EVENTS, "--format", "csv"], ["--format", "csv"]),
    BadInput("friction-alpha", ["friction", *EVENTS, "--alpha", "2"], ["--alpha", "between 0"]),
    BadInput(
        "friction-one-step", ["friction", *EVENTS, "--steps", "visit"], ["--steps", "2 steps"]
    ),
    BadInput("friction-no-funnel", ["friction", *EVENTS], ["defines no funnel", "steps"]),
    BadInput(
        "friction-missing-dimension",
        ["friction", *EVENTS, "--steps", STEPS, "--by", "country"],
        ["dimension column 'country'", "columns found"],
    ),
    BadInput("friction-window", ["friction", *EVENTS, "--window", "soon"], ["--window"]),
    BadInput(
        "friction-filter",
        ["friction", *EVENTS, "--steps", STEPS, "--filter", "platform"],
        ["--filter", "column=value"],
    ),
    BadInput(
        "friction-outside-data",
        ["friction", *EVENTS, "--steps", STEPS, "--start", "2030-01-01"],
        ["empty period", "2030-01-01"],
    ),
    BadInput("incidents-grain", ["incidents", *EVENTS, "--grain", "hourly"], ["--grain"]),
    BadInput("incidents-baseline", ["incidents", *EVENTS, "--baseline", "0"], ["--baseline"]),
    BadInput(
        "incidents-kpi-not-a-rate",
        ["incidents", *EVENTS, "--steps", STEPS, "--kpi", "aov"],
        ["aov is a ratio", "rate KPIs"],
    ),
    BadInput(
        "incidents-kpi-unknown",
        ["incidents", *EVENTS, "--steps", STEPS, "--kpi", "payment_rate"],
        ["unknown KPI 'payment_rate'"],
    ),
    BadInput(
        "incidents-kpi-empty",
        ["incidents", *EVENTS, "--steps", STEPS, "--kpi", ","],
        ["--kpi names no kpi"],
    ),
    BadInput(
        "incidents-unit",
        ["incidents", *EVENTS, "--steps", STEPS, "--unit", "session_id"],
        ["unit column 'session_id'"],
    ),
    BadInput(
        "incidents-missing-file",
        ["incidents", "--events", "nosuch.csv", "--steps", STEPS],
        ["nosuch.csv"],
    ),
    BadInput(
        "incidents-inverted-period",
        ["incidents", *EVENTS, "--steps", STEPS, "--start", "2026-03-01", "--end", "2026-02-01"],
        ["empty period"],
    ),
    BadInput(
        "experiment-no-variant", ["experiment", *EVENTS, "--kpi", "conversion_rate"], ["--variant"]
    ),
    BadInput(
        "experiment-unknown-column",
        ["experiment", *EVENTS, "--variant", "colour", "--kpi", "conversion_rate"],
        ["variant column 'colour'", "platform"],
    ),
    BadInput(
        "experiment-kpi-not-per-user",
        ["experiment", *EVENTS, "--variant", "variant", "--kpi", "dau"],
        ["dau cannot be read per user", "conversion_rate"],
    ),
    BadInput(
        "experiment-unknown-kpi",
        ["experiment", *EVENTS, "--variant", "variant", "--kpi", "conversion"],
        ["unknown kpi 'conversion'"],
    ),
    BadInput(
        "experiment-no-kpi",
        ["experiment", *EVENTS, "--variant", "variant", "--kpi", ","],
        ["--kpi names no kpi"],
    ),
    BadInput(
        "experiment-control",
        [
            "experiment",
            *EVENTS,
            "--variant",
            "variant",
            "--kpi",
            "conversion_rate",
            "--control",
            "blue",
        ],
        ["control 'blue'", "control, treatment"],
    ),
    BadInput(
        "experiment-split-one-share",
        [
            "experiment",
            *EVENTS,
            "--variant",
            "variant",
            "--kpi",
            "conversion_rate",
            "--expected-split",
            "50",
        ],
        ["--expected-split", "50,50"],
    ),
    BadInput(
        "experiment-split-negative",
        [
            "experiment",
            *EVENTS,
            "--variant",
            "variant",
            "--kpi",
            "conversion_rate",
            "--expected-split",
            "50,-50",
        ],
        ["--expected-split", "positive"],
    ),
    BadInput(
        "experiment-split-count",
        [
            "experiment",
            *EVENTS,
            "--variant",
            "platform",
            "--kpi",
            "conversion_rate",
            "--expected-split",
            "50,50",
        ],
        ["2 shares", "3 variants"],
    ),
    BadInput(
        "experiment-one-variant",
        [
            "experiment",
            *EVENTS,
            "--variant",
            "channel",
            "--kpi",
            "conversion_rate",
            "--filter",
            "channel=ads",
        ],
        ["at least 2 variants", "channel"],
    ),
    BadInput(
        "experiment-by",
        [
            "experiment",
            *EVENTS,
            "--variant",
            "variant",
            "--kpi",
            "conversion_rate",
            "--by",
            "platform",
        ],
        ["takes no --by"],
    ),
    BadInput(
        "friction-unknown-step",
        ["friction", *EVENTS, "--steps", "visit,nosuch,purchase"],
        ["funnel step 'nosuch'", "neither a mapped role nor an event"],
    ),
    BadInput(
        "incidents-filter-value-no-event-holds",
        ["incidents", *EVENTS, "--steps", STEPS, "--filter", "platform=nosuch"],
        ["platform=nosuch", "no event has"],
    ),
]


@pytest.fixture(scope="module")
def events_csv(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    frame = journey_events(7, visitors_per_day=40, days=42)
    path = tmp_path_factory.mktemp("events") / "events.csv"
    frame.with_columns(pl.col("timestamp").dt.to_string("%Y-%m-%dT%H:%M:%S%.6fZ")).write_csv(path)
    return path.read_bytes()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_bad_input_exits_2_with_one_line(case: BadInput, tmp_path: Path, events_csv: bytes) -> None:
    (tmp_path / "events.csv").write_bytes(events_csv)
    check_bad_input(case, tmp_path)

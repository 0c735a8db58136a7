"""Bad inputs of journey dashboard: exit 2, one line naming the flag, nothing served or written.

Every case fails before Voilà starts (the command checks its flags and loads the data first),
so none of them leaves a server behind.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from bad_inputs import BadInput, check_bad_input
from story_free import journey_events

STEPS = "visit,view,cart,checkout,purchase"
EVENTS = ["--events", "events.csv"]

CASES = [
    BadInput(
        "host-without-token",
        ["dashboard", *EVENTS, "--host", "0.0.0.0"],
        ["--host 0.0.0.0", "--token", "--no-token"],
    ),
    BadInput(
        "token-and-no-token",
        ["dashboard", *EVENTS, "--token", "s3cret-token", "--no-token"],
        ["--token and --no-token"],
    ),
    BadInput(
        "generate-and-token",
        ["dashboard", *EVENTS, "--generate-token", "--token", "s3cret-token"],
        ["--generate-token"],
    ),
    BadInput("short-token", ["dashboard", *EVENTS, "--token", "abc"], ["--token", "8"]),
    BadInput("port-text", ["dashboard", *EVENTS, "--port", "http"], ["--port", "whole number"]),
    BadInput("port-too-high", ["dashboard", *EVENTS, "--port", "70000"], ["--port", "65,535"]),
    BadInput("port-busy", ["dashboard", *EVENTS, "--port", "{busy}"], ["--port", "cannot listen"]),
    BadInput("base-url", ["dashboard", *EVENTS, "--base-url", "journey"], ["--base-url"]),
    BadInput("pool-size", ["dashboard", *EVENTS, "--pool-size", "9"], ["--pool-size", "at most"]),
    BadInput(
        "cull-timeout",
        ["dashboard", *EVENTS, "--cull-idle-timeout", "1"],
        ["--cull-idle-timeout", "10 or more"],
    ),
    BadInput("cull-interval", ["dashboard", *EVENTS, "--cull-interval", "0"], ["--cull-interval"]),
    BadInput("window", ["dashboard", *EVENTS, "--steps", STEPS, "--window", "soon"], ["--window"]),
    BadInput("one-step", ["dashboard", *EVENTS, "--steps", "visit"], ["--steps", "2 to 8"]),
    BadInput(
        "nine-steps",
        ["dashboard", *EVENTS, "--steps", ",".join(["visit"] * 9)],
        ["--steps", "2 to 8"],
    ),
    BadInput(
        "unknown-step",
        ["dashboard", *EVENTS, "--steps", "visit,checkot"],
        ["funnel step 'checkot'", "did you mean 'checkout'"],
    ),
    BadInput("missing-events", ["dashboard", "--events", "nosuch.csv"], ["nosuch.csv"]),
    BadInput("missing-config", ["dashboard", "nosuch.yml"], ["nosuch.yml"]),
    BadInput("bad-config", ["dashboard", "bad.yml"], ["bad.yml", "problem"]),
    BadInput("timezone-with-config", ["dashboard", "bad.yml", "--timezone", "UTC"], ["--timezone"]),
    BadInput(
        "config-and-events",
        ["dashboard", "bad.yml", *EVENTS],
        ["not allowed with argument"],
    ),
    BadInput(
        "cache-dir-file", ["dashboard", *EVENTS, "--cache-dir", "events.csv"], ["--cache-dir"]
    ),
    BadInput("unknown-flag", ["dashboard", *EVENTS, "--colour"], ["unrecognized", "--colour"]),
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dashboard-bad")
    journey_events(3, days=30, visitors_per_day=20).write_csv(folder / "events.csv")
    (folder / "bad.yml").write_text("name: shop\nsources: {events: {path: e.csv}}\nroles: 3\n")
    return folder


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_dashboard_input_exits_2_with_one_line(case: BadInput, workdir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        args = [arg.replace("{busy}", port) for arg in case.args]
        env = {"JOURNEY_DASHBOARD_CACHE": str(workdir / ".." / "dashboard-bad-cache")}
        check_bad_input(
            BadInput(case.id, args, case.message, env={**case.env, **env}, watch=case.watch),
            workdir,
        )

"""Serving: the token is enforced, another host needs --no-token and says so, SIGTERM stops
the server and every kernel it started. Plain HTTP, no browser."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from dashboard_server import kernel_pids, running_dashboard
from story_free import journey_events

pytestmark = pytest.mark.slow

TOKEN = "a-long-enough-token"


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("serve")
    journey_events(7, days=30, visitors_per_day=20).write_csv(folder / "events.csv")
    return folder


def _status(url: str) -> int:
    request = urllib.request.Request(url, method="GET")
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=120) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_a_token_is_required_and_works(events: Path):
    args = ["--events", "events.csv", "--steps", "visit,view,cart", "--pool-size", "0"]
    env = {"JOURNEY_DASHBOARD_TOKEN": TOKEN, "JOURNEY_DASHBOARD_CACHE": str(events / "cache")}
    with running_dashboard(args, cwd=events, log=events / "token.log", env=env) as served:
        assert _status(served.url) in (302, 403)
        assert _status(served.url + "?token=wrong-token-value") in (302, 403)
        assert _status(served.url + f"?token={TOKEN}") == 200
        log = served.log.read_text()
        assert TOKEN not in log  # a given token is never printed
        assert "?token=<the token>" in log
    assert served.process.returncode == 0
    assert served.kernels
    assert served.leftover_kernels() == []


def test_another_host_without_a_token_warns_and_serves(events: Path):
    # 127.0.0.2 is a loopback address, but not the default: it counts as "another host"
    args = ["--events", "events.csv", "--host", "127.0.0.2", "--no-token", "--pool-size", "1"]
    env = {"JOURNEY_DASHBOARD_CACHE": str(events / "cache")}
    with running_dashboard(
        args, cwd=events, log=events / "host.log", env=env, host="127.0.0.2"
    ) as served:
        assert "warning: serving 127.0.0.2 without a token" in served.log.read_text()
        assert _status(served.url) == 200
        assert kernel_pids(served.process.pid)  # the preheated kernel
    assert served.process.returncode == 0
    assert served.kernels
    assert served.leftover_kernels() == []

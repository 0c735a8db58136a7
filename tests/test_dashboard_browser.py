"""The dashboard in a real browser: ``journey dashboard`` on 127.0.0.1, headless chromium.

The server is the command a user runs (a child process on a free port, preheated kernel),
stopped by SIGTERM at the end, which must also stop its kernels. Every number checked on the
page is compared with ``journey kpis --format json`` for the same period and filters.
Screenshots are kept in ``tests/artifacts/dashboard/`` (git-ignored).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import polars as pl
import pytest
from bad_inputs import run_journey
from dashboard_server import Served, running_dashboard
from story_free import journey_events

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).parent / "artifacts" / "dashboard"
WAIT_MS = 120_000
EVIL = "<img src=x onerror=alert(1)>"
STEPS = "visit,view,cart,checkout,purchase"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from journeylib.sample import generate_sample

    folder = tmp_path_factory.mktemp("dashboard-browser") / "sample"
    generate_sample(folder, users=3000, seed=3)
    return folder / "journey.yml"


@pytest.fixture(scope="module")
def served(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("served")
    env = {"JOURNEY_DASHBOARD_CACHE": str(folder / "cache")}
    with running_dashboard(
        [str(sample), "--pool-size", "1"], cwd=folder, log=folder / "server.log", env=env
    ) as server:
        yield server
    assert server.process.returncode == 0, server.log.read_text()
    assert server.kernels
    assert server.leftover_kernels() == []


class Page:
    """A dashboard page and everything that went wrong while it was open."""

    def __init__(self, browser: Any, url: str) -> None:
        self.context = browser.new_context(viewport={"width": 1300, "height": 2400})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.failed: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("request", self._request)
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.page.on("dialog", self._dialog)
        self.page.set_default_timeout(WAIT_MS)
        # Voilà streams the page while the notebook runs: under load "load" comes late
        self.page.goto(url, wait_until="commit", timeout=WAIT_MS)
        self.page.wait_for_selector(".jl-card", timeout=WAIT_MS)
        self.page.wait_for_selector(".jl-chart-journey-map svg", timeout=WAIT_MS)

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        details = []
        for argument in message.args[1:]:
            try:
                details.append(str(argument.evaluate("a => a && (a.stack || a.message || a)")))
            except Exception as exc:  # the page may be gone
                details.append(f"({type(exc).__name__})")
        self.errors.append(" ".join([message.text, *details]))

    def _request(self, request: Any) -> None:
        host = urlsplit(request.url).hostname
        if request.url.startswith(("data:", "blob:")):
            return
        if host != "127.0.0.1":
            self.foreign.append(request.url)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def renders(self) -> int:
        return int(self.page.get_attribute(".jl-status [data-renders]", "data-renders") or 0)

    def wait_render(self, before: int) -> None:
        self.page.wait_for_function(
            "n => { const s = document.querySelector('.jl-status [data-renders]');"
            " const l = document.querySelector('.jl-loading');"
            " return s && Number(s.dataset.renders) > n && l"
            " && getComputedStyle(l).visibility === 'hidden'; }",
            arg=before,
            timeout=WAIT_MS,
        )

    def cards(self) -> dict[str, str]:
        return self.page.eval_on_selector_all(
            ".jl-card",
            "cards => Object.fromEntries(cards.map(c => [c.dataset.kpi,"
            " c.querySelector('.jl-card-value').dataset.value]))",
        )

    def card_period(self) -> str:
        return self.page.inner_text(".jl-card-period")

    def tab(self, name: str) -> None:
        self.page.click(f".lm-TabBar-tab >> text={name}")

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()


def _cli_cards(sample: Path, query: dict[str, str], filters: dict[str, list[str]]) -> dict:
    args = ["kpis", str(sample), "--format", "json"]
    for key in ("start", "end", "grain"):
        if key in query:
            args += [f"--{key}", query[key]]
    for column, values in filters.items():
        args += [item for value in values for item in ("--filter", f"{column}={value}")]
    run = run_journey(args, cwd=sample.parent)
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    last = max(row["period_start"] for row in rows)
    return {row["kpi"]: row["value"] for row in rows if row["period_start"] == last}


def _assert_same_numbers(shown: dict[str, str], expected: dict[str, float | None]) -> None:
    assert set(shown) == set(expected)
    for kpi, value in expected.items():
        if value is None:
            assert shown[kpi] == "", kpi
        else:
            assert math.isclose(float(shown[kpi]), value, rel_tol=1e-12, abs_tol=1e-12), kpi


def _default_query(page: Page) -> dict[str, str]:
    link = page.page.input_value(".jl-link")
    return dict(pair.split("=", 1) for pair in urlsplit(link).query.split("&") if pair)


def test_the_default_view_loads_clean_and_shows_the_cli_numbers(browser, served, sample):
    page = Page(browser, served.url)
    try:
        page.shot("default")
        query = _default_query(page)
        _assert_same_numbers(page.cards(), _cli_cards(sample, {**query, "grain": "week"}, {}))
        assert page.errors == []
        assert page.foreign == []
        assert [url for url in page.failed if "127.0.0.1" not in url] == []
        # code is never shown: no input cell on the page
        assert page.page.query_selector_all(".jp-InputArea") == [] or all(
            not area.is_visible() for area in page.page.query_selector_all(".jp-InputArea")
        )
    finally:
        page.close()


@pytest.mark.parametrize(
    ("query", "filters"),
    [
        ("platform=android&start=2026-08-24&end=2026-09-07", {"platform": ["android"]}),
        (
            "grain=month&start=2026-06-01&end=2026-10-01&channel=email,social",
            {"channel": ["email", "social"]},
        ),
        ("grain=day&start=2026-09-01&end=2026-09-15&country=DE", {"country": ["DE"]}),
    ],
    ids=["android-incident", "month-email-social", "day-de"],
)
def test_a_query_string_preset_shows_the_cli_numbers(browser, served, sample, query, filters):
    page = Page(browser, served.url + "?" + query)
    try:
        if query.startswith("platform=android"):
            page.shot("filtered-android-incident")
        asked = dict(pair.split("=", 1) for pair in query.split("&"))
        asked.setdefault("grain", "week")
        _assert_same_numbers(page.cards(), _cli_cards(sample, asked, filters))
        assert page.page.inner_text(".jl-messages").strip() == ""
        assert page.errors == []
    finally:
        page.close()


def test_a_bad_preset_names_each_parameter_and_keeps_the_rest(browser, served, sample):
    page = Page(browser, served.url + "?grain=year&platform=windows&start=2026-02-30&country=DE")
    try:
        text = page.page.inner_text(".jl-messages")
        assert "grain: expected day, week or month, got 'year'" in text
        assert "platform: no event has platform 'windows'" in text
        assert "start: expected a date YYYY-MM-DD, got '2026-02-30'" in text
        query = _default_query(page)
        assert query.get("country") == "DE"
        assert "platform" not in query
        _assert_same_numbers(
            page.cards(), _cli_cards(sample, {**query, "grain": "week"}, {"country": ["DE"]})
        )
        page.shot("bad-preset")
    finally:
        page.close()


def test_filter_grain_and_steps_changes_redraw_with_the_cli_numbers(browser, served, sample):
    page = Page(browser, served.url)
    try:
        before_cards = page.cards()
        before = page.renders()
        page.page.select_option(".jl-dim-platform select", index=2)  # android, the third
        page.wait_render(before)
        query = _default_query(page)
        assert query["platform"] == "android"
        after = page.cards()
        assert after != before_cards
        _assert_same_numbers(
            after, _cli_cards(sample, {**query, "grain": "week"}, {"platform": ["android"]})
        )

        before = page.renders()
        page.page.select_option(".jl-grain select", "month")
        page.wait_render(before)
        query = _default_query(page)
        assert query["grain"] == "month"
        _assert_same_numbers(page.cards(), _cli_cards(sample, query, {"platform": ["android"]}))

        page.tab("Funnel")
        page.page.wait_for_selector(".jl-funnel-table", timeout=WAIT_MS)
        page.page.wait_for_selector(".jl-chart-funnel svg", timeout=WAIT_MS)
        rows = page.page.query_selector_all(".jl-funnel-table tbody tr")
        assert len(rows) == 5
        before = page.renders()
        page.page.click(
            ".jl-steps .jupyter-widget-tag:has-text('add_to_cart') .jupyter-widget-tag-close"
        )
        page.wait_render(before)
        page.page.wait_for_function(
            "() => document.querySelectorAll('.jl-funnel-table tbody tr').length === 4",
            timeout=WAIT_MS,
        )
        names = page.page.eval_on_selector_all(
            ".jl-funnel-table tbody tr td:nth-child(2)", "cells => cells.map(c => c.textContent)"
        )
        assert names == ["visit", "product_view", "checkout", "purchase"]
        assert "steps=visit,product_view,checkout,purchase" in page.page.input_value(".jl-link")
        assert page.errors == []
    finally:
        page.close()


def test_a_chart_click_filters_the_page_and_the_chip_clears_it(browser, served, sample):
    page = Page(browser, served.url)
    try:
        page.tab("Channels")
        marks = ".jl-chart-channels svg .mark-symbol.role-mark path"
        page.page.wait_for_selector(marks, timeout=WAIT_MS)
        before = page.renders()
        page.page.click(marks, force=True)
        page.wait_render(before)
        chip = page.page.inner_text(".jl-chip-text")
        channel = chip.split("=", 1)[1].strip()
        assert chip.startswith("Chart filter: channel =")
        query = _default_query(page)
        assert query["channel"] == channel
        page.tab("Overview")
        page.page.wait_for_function(
            "() => getComputedStyle(document.querySelector('.jl-loading')).visibility === 'hidden'"
        )
        page.page.wait_for_timeout(500)
        _assert_same_numbers(
            page.cards(), _cli_cards(sample, {**query, "grain": "week"}, {"channel": [channel]})
        )
        page.shot("chart-filter")
        before = page.renders()
        page.page.click(".jl-chip-clear")
        page.wait_render(before)
        assert not page.page.is_visible(".jl-chip")
        assert "channel" not in _default_query(page)
        assert page.errors == []
    finally:
        page.close()


@pytest.fixture(scope="module")
def evil_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("evil-served")
    events = journey_events(5, days=60, visitors_per_day=40).with_columns(
        pl.when(pl.col("channel") == "email")
        .then(pl.lit(EVIL))
        .otherwise(pl.col("channel"))
        .alias("campaign")
    )
    events.write_csv(folder / "events.csv")
    env = {"JOURNEY_DASHBOARD_CACHE": str(folder / "cache")}
    args = ["--events", "events.csv", "--steps", STEPS, "--window", "3d"]
    with running_dashboard(args, cwd=folder, log=folder / "server.log", env=env) as server:
        yield server
    assert server.kernels
    assert server.leftover_kernels() == []


def test_a_plain_csv_with_a_hostile_campaign_shows_it_as_text(browser, evil_served):
    page = Page(browser, evil_served.url + "?campaign=" + EVIL.replace(" ", "%20"))
    try:
        assert page.page.inner_text(".jl-messages").strip() == ""
        assert EVIL in page.page.inner_text(".jl-meta")
        assert page.page.query_selector_all("img[src='x']") == []
        page.tab("Funnel")
        page.page.wait_for_selector(".jl-funnel-table", timeout=WAIT_MS)
        names = page.page.eval_on_selector_all(
            ".jl-funnel-table tbody tr td:nth-child(2)", "cells => cells.map(c => c.textContent)"
        )
        assert names == STEPS.split(",")
        page.tab("Friction")
        page.page.wait_for_selector(".jl-friction", timeout=WAIT_MS)
        page.page.wait_for_timeout(1000)
        assert page.dialogs == []
        assert page.page.query_selector_all("img[src='x']") == []
        assert page.errors == []
        assert page.foreign == []
        page.shot("hostile-campaign")
    finally:
        page.close()


def test_a_funnel_breakdown_click_filters_the_page_and_copy_link_copies_that_view(
    browser, served, sample
):
    page = Page(browser, served.url + "?breakdown=platform")
    try:
        page.tab("Funnel")
        bars = ".jl-chart-funnel svg .mark-rect.role-mark path"
        page.page.wait_for_selector(bars, timeout=WAIT_MS)
        breakdown = page.page.eval_on_selector_all(
            ".jl-funnel-table tbody tr td:first-child", "cells => cells.map(c => c.textContent)"
        )
        assert set(breakdown) == {"android", "ios", "web"}
        before = page.renders()
        page.page.click(bars, force=True)  # a real click on the first bar drawn
        page.wait_render(before)
        chip = page.page.inner_text(".jl-chip-text")
        assert chip.startswith("Chart filter: platform =")
        platform = chip.split("=", 1)[1].strip()
        assert platform in breakdown
        page.page.wait_for_function(
            "() => getComputedStyle(document.querySelector('.jl-loading')).visibility === 'hidden'"
        )
        shown = set(
            page.page.eval_on_selector_all(
                ".jl-funnel-table tbody tr td:first-child",
                "cells => cells.map(c => c.textContent)",
            )
        )
        assert shown == {platform}  # the funnel itself is filtered by the click
        query = _default_query(page)
        assert query["platform"] == platform
        assert query["breakdown"] == "platform"

        # the copy-link control: a real click puts the view's link on the clipboard
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(served.url))
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
        page.page.click(".jl-copy")
        page.page.wait_for_function(
            "() => document.querySelector('.jl-copy').textContent === 'Copied'"
        )
        copied = page.page.evaluate("() => navigator.clipboard.readText()")
        assert copied == page.page.input_value(".jl-link")
        assert urlsplit(copied).query == urlsplit(page.page.url).query  # the address bar too
        assert "token=" not in copied
        page.tab("Overview")
        page.page.wait_for_function(
            "() => getComputedStyle(document.querySelector('.jl-loading')).visibility === 'hidden'"
        )
        page.page.wait_for_timeout(500)
        clicked = page.cards()
        assert page.errors == []
    finally:
        page.close()

    # the copied link opens the same view, with the click's filter as a plain filter
    again = Page(browser, copied)
    try:
        assert again.page.inner_text(".jl-messages").strip() == ""
        assert _default_query(again)["platform"] == platform
        assert again.cards() == clicked
        _assert_same_numbers(
            clicked, _cli_cards(sample, {**query, "grain": "week"}, {"platform": [platform]})
        )
        assert again.errors == []
    finally:
        again.close()

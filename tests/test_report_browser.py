"""The published report HTML in a real headless chromium with the network off.

The report is the session's single run of the report notebook (the ``published_report``
fixture of tests/conftest.py); the page must draw every chart from its inline Vega bundle
without fetching anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

#: How long the charts may take to draw (ms); a 2-core machine under load needs headroom.
DRAW_TIMEOUT_MS = 60_000

_ALL_CHARTS_DRAWN = """
() => {
  const holders = [...document.querySelectorAll('.journeylib-chart')];
  return holders.length > 0 && holders.every((holder) => {
    const drawn = holder.querySelector('svg, canvas');
    if (!drawn) { return false; }
    const box = drawn.getBoundingClientRect();
    return box.width > 0 && box.height > 0;
  });
}
"""


@dataclass(frozen=True)
class OpenedReport:
    """The report page after every chart was drawn, and what happened while it loaded."""

    page: Any
    page_errors: list[str]
    failed_requests: list[str]
    screenshot: Path


@pytest.fixture(scope="module")
def opened(
    browser: Any, tmp_path_factory: pytest.TempPathFactory, published_report: Any
) -> Iterator[OpenedReport]:
    published = published_report
    folder = tmp_path_factory.mktemp("browser")
    report = folder / "report.html"
    report.write_text(published.html, encoding="utf-8")
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page_errors: list[str] = []
    failed_requests: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.on("requestfailed", lambda request: failed_requests.append(request.url))
    try:
        page.goto(report.as_uri(), wait_until="load")
        page.wait_for_function(_ALL_CHARTS_DRAWN, timeout=DRAW_TIMEOUT_MS)
        screenshot = folder / "report.png"
        page.screenshot(path=str(screenshot), full_page=True)
        yield OpenedReport(page, page_errors, failed_requests, screenshot)
    finally:
        context.close()


def test_every_chart_holder_is_drawn_with_a_non_empty_svg(opened):
    sizes = opened.page.eval_on_selector_all(
        ".journeylib-chart",
        """holders => holders.map((holder) => {
             const drawn = holder.querySelector('svg, canvas');
             const box = drawn ? drawn.getBoundingClientRect() : {width: 0, height: 0};
             return [holder.dataset.chart, box.width, box.height];
           })""",
    )
    assert len(sizes) >= 10
    assert [name for name, width, height in sizes if width <= 0 or height <= 0] == []


def test_no_chart_holder_reports_an_embed_error(opened):
    assert opened.page.locator(".journeylib-chart[data-embed-error]").count() == 0


def test_page_raises_no_javascript_error(opened):
    assert opened.page_errors == []


def test_page_makes_no_failed_request(opened):
    assert opened.failed_requests == []


def test_headline_is_visible(opened):
    headline = opened.page.locator(".headline li").first
    assert headline.is_visible()
    assert headline.inner_text().startswith("Journey score ")


def test_full_page_screenshot_is_non_trivial(opened):
    # A blank 1280-pixel-wide page compresses to a few kilobytes; a drawn report is far larger.
    assert opened.screenshot.stat().st_size > 100_000

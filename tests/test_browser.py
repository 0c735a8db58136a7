"""The real browser the suite drives: Debian's chromium under Playwright, offline.

Later tests open reports and dashboards the same way; this one checks the set-up itself: the
browser starts, renders a chart page with no network, and reports failed requests.
"""

from __future__ import annotations

from pathlib import Path

import altair as alt
import polars as pl
import pytest
import vl_convert

pytestmark = pytest.mark.browser


def chart_page(folder: Path) -> Path:
    frame = pl.DataFrame({"step": ["visit", "cart", "purchase"], "users": [100, 40, 12]})
    chart = alt.Chart(frame).mark_bar().encode(x="step:N", y="users:Q")
    svg = vl_convert.vegalite_to_svg(chart.to_dict())
    page = folder / "chart.html"
    page.write_text(f"<html><body><h1>Funnel</h1>{svg}</body></html>", encoding="utf-8")
    return page


def test_chromium_renders_an_offline_chart_page(browser, tmp_path):
    page = browser.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    try:
        page.goto(chart_page(tmp_path).as_uri())
        assert page.locator("h1").inner_text() == "Funnel"
        marks = page.locator("svg path, svg rect")
        assert marks.count() >= 3
        box = page.locator("svg").first.bounding_box()
        assert box is not None
        assert box["width"] > 50
        assert box["height"] > 50
    finally:
        page.close()
    assert failed == []


def test_a_request_to_an_unreachable_address_is_reported_as_failed(browser, tmp_path):
    # the check above is only meaningful if failed requests are seen at all
    page = browser.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    closed_port = tmp_path / "page.html"
    closed_port.write_text('<img src="http://127.0.0.1:9/missing.png">', encoding="utf-8")
    try:
        page.goto(closed_port.as_uri())
        page.wait_for_timeout(500)
    finally:
        page.close()
    assert failed == ["http://127.0.0.1:9/missing.png"]

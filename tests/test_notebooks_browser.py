"""Every report notebook renders offline: its HTML in headless chromium with the network off.

The notebooks are the session's Papermill runs (``tests/test_notebooks.py``), rendered by
:func:`journeylib.report.render.render_html` as ``journey report run`` does; each page must
draw every chart from its inline Vega bundle, fetch nothing and show the story's headings.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_notebooks import RUN_NAMES, executed, notebook_path
from test_report_browser import _ALL_CHARTS_DRAWN, DRAW_TIMEOUT_MS

from journeylib.report.render import render_html

pytestmark = [pytest.mark.browser, pytest.mark.slow]


#: Charts a notebook draws at the least on the small sample (default 3): the experiment
#: readout draws one interval chart per KPI of the declared test, which names two.
MIN_CHARTS = {"experiment_readout": 2}


@pytest.mark.parametrize("name", RUN_NAMES)
def test_notebook_renders_offline_with_every_chart_drawn(
    name: str, browser: Any, tmp_path, tmp_path_factory, small_sample_config
):
    notebook = executed(
        notebook_path(name, tmp_path_factory), tmp_path_factory, small_sample_config
    )
    page_file = tmp_path / "report.html"
    page_file.write_text(render_html(notebook, title=name), encoding="utf-8")
    headings = [
        line.lstrip("#").strip()
        for cell in notebook.cells
        if cell.cell_type == "markdown" and "analyst-only" not in cell.metadata.get("tags", [])
        for line in cell.source.splitlines()
        if line.startswith("## ")
    ]
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    failed: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda request: failed.append(request.url))
    try:
        page.goto(page_file.as_uri(), wait_until="load")
        page.wait_for_function(_ALL_CHARTS_DRAWN, timeout=DRAW_TIMEOUT_MS)
        embed_errors = page.eval_on_selector_all(
            ".journeylib-chart[data-embed-error]", "holders => holders.map(h => h.dataset.chart)"
        )
        shown = page.eval_on_selector_all(
            "h2", "nodes => nodes.map(n => n.textContent.replace('¶', '').trim())"
        )
        charts = page.locator(".journeylib-chart").count()
    finally:
        context.close()
    assert (errors, failed, embed_errors) == ([], [], [])
    assert charts >= MIN_CHARTS.get(name, 3)
    # the story's headings are in the page (the analysts' notes are not)
    assert [heading for heading in headings if heading not in shown] == []
    assert "This cell is not part of the rendered" not in page_file.read_text(encoding="utf-8")

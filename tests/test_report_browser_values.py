"""No data value breaks the report page: random values through the rendering pipeline, in chromium.

Hypothesis draws dimension values, event names, a journey name and a quarantined timestamp
(any Unicode but surrogates and NUL, markup such as ``<!--<script>`` and ``</script>``, template
braces, quotes, ``&``, U+2028/U+2029, very long text). They go where a report puts them: the
page title and header, the headline, a section, a table, and the funnel, channel and data
quality charts, built by the report's own display helpers and chart builders and rendered by
:func:`journeylib.report.render.render_html` (the PNG rendering of charts, which the page does
not use, is left out to keep each example fast). In headless chromium, offline, every chart
holder must draw its SVG, no value may run as script (``window.__pwned`` stays unset, no dialog
opens) and each value must read back as text.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import nbformat
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_notebook, new_output

from journeylib.charts import channel_comparison, data_quality_panel, funnel_chart
from journeylib.report import ReportContext, display, resolve_period
from journeylib.report.render import render_html

pytestmark = pytest.mark.browser

DRAW_TIMEOUT_MS = 60_000
PWN = "window.__pwned = 1"
NASTY = [
    "<!--<script>",
    f"</script><script>{PWN}</script>",
    f"<img src=x onerror='{PWN}'>",
    f'"><svg onload="{PWN}">',
    "{{ 7 * 7 }} {% raw %} ${alert(1)}",
    "\"double\" 'single' `back`",
    "a & b &amp; &lt;c&gt;",
    "line\u2028separator\u2029paragraph",
    "tab\there\x0bvt\x1besc\x7fdel",
    "datum.channel + '\\\\' [0].x",
    "x" * 4000 + "<!--<script>",
]
_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=60,
)
VALUES = st.one_of(
    st.sampled_from(NASTY),
    _TEXT,
    st.builds(lambda nasty, text: nasty + text, st.sampled_from(NASTY), _TEXT),
).filter(lambda value: value.strip() != "")

_ALL_CHARTS_DRAWN = """
() => {
  const holders = [...document.querySelectorAll('.journeylib-chart')];
  return holders.length > 0 && holders.every((holder) => {
    if (holder.dataset.embedError) { return true; }
    const drawn = holder.querySelector('svg');
    return drawn && drawn.getBoundingClientRect().width > 0;
  });
}
"""
_PAGE_STATE = """
() => ({
  pwned: window.__pwned === undefined ? null : String(window.__pwned),
  holders: document.querySelectorAll('.journeylib-chart').length,
  drawn: [...document.querySelectorAll('.journeylib-chart')].filter(
    (holder) => holder.querySelector('svg') && !holder.dataset.embedError).length,
  errors: [...document.querySelectorAll('[data-embed-error]')].map((h) => h.dataset.embedError),
  scripts: document.querySelectorAll('script').length,
  title: document.querySelector('title').textContent,
  texts: [...document.querySelectorAll('td, li, h1, h2, p')].map((e) => e.textContent),
})
"""


_MARKS = """
() => [...document.querySelectorAll('.journeylib-chart')].map((holder) => {
  const mark = holder.querySelector('.role-mark path, .role-mark rect');
  if (!mark) { return null; }
  const box = mark.getBoundingClientRect();
  return {x: box.x + box.width / 2, y: box.y + box.height / 2};
}).filter((point) => point && point.x > 0)
"""
_TOOLTIP = """
() => {
  const tooltip = document.getElementById('vg-tooltip-element');
  if (!tooltip) { return {elements: [], shown: false}; }
  const allowed = new Set(['TABLE', 'TBODY', 'TR', 'TD', 'H2', 'SPAN', 'DIV', 'BR']);
  const elements = [...tooltip.querySelectorAll('*')].map((e) => e.tagName)
    .filter((tag) => !allowed.has(tag));
  return {elements, shown: tooltip.classList.contains('visible')};
}
"""


def _hover_each_chart(page: Any) -> list[dict]:
    """Hover one mark of each chart; what its tooltip holds besides text and table cells."""
    seen = []
    for point in page.evaluate(_MARKS):
        page.mouse.move(point["x"], point["y"])
        page.wait_for_timeout(150)
        seen.append(page.evaluate(_TOOLTIP))
    return seen


def _as_parsed(value: str) -> str:
    """The text a browser reads from ``value`` written in HTML (CR and CRLF become LF)."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def report_notebook(dimensions: list[str], events: list[str], journey: str, stamp: str) -> Any:
    """A notebook whose outputs are what the report's display helpers make of the values."""
    outputs: list[Any] = []

    def show(data: Any, role: str, **metadata: Any) -> None:
        outputs.append(
            new_output(
                "display_data", data=dict(data), metadata={"journeylib": {"role": role, **metadata}}
            )
        )

    period = resolve_period("2026-10-19..2026-10-26", grain="week")
    header = SimpleNamespace(
        title=journey, journey=SimpleNamespace(config=SimpleNamespace(name=journey)), period=period
    )
    steps = pl.DataFrame(
        [
            {
                "utm.source": dimension,
                "step": step,
                "step_name": event,
                "users": 100 // step,
                "conversion_from_first": 1 / step,
                "conversion_from_previous": 1.0 if step == 1 else 0.5,
                "drop_off": None if step == 1 else 50,
                "in_progress": 0,
                "median_seconds_from_previous": None if step == 1 else 600.0,
            }
            for dimension in dimensions
            for step, event in enumerate(events, start=1)
        ]
    )
    channels = pl.DataFrame(
        [
            {"period_start": date(2026, 10, 19), "channel": dimension, "kpi": kpi, "value": value}
            for index, dimension in enumerate(dimensions)
            for kpi, value in (
                ("cost_per_conversion", 10.0 + index),
                ("conversion_rate", 0.05 * (index + 1)),
                ("unique_visitors", 400.0 * (index + 1)),
            )
        ]
    )
    quality = pl.DataFrame(
        {
            "table": ["events"],
            "rows_read": [120],
            "rule": ["unparseable_timestamp"],
            "column": [events[0]],
            "count": [1],
            "examples": [stamp],
        }
    )
    with (
        mock.patch.object(display, "show", show),
        mock.patch.object(
            display, "chart_bundle", lambda chart, name, title=None: {"text/plain": title or name}
        ),
    ):
        ReportContext.show_header(header)  # type: ignore[arg-type]
        display.show_headline([f"{events[0]} rose for {dimensions[0]}."])
        display.show_section(journey, dimensions[-1])
        display.show_table(pl.DataFrame({"value": [*dimensions, *events]}), name="values")
        display.show_chart(funnel_chart(steps, title=events[-1]), name="funnel", title=journey)
        display.show_chart(channel_comparison(channels), name="channels", title=dimensions[0])
        display.show_section("Data quality")
        display.show_chart(data_quality_panel(quality), name="data-quality", title=stamp)
        display.show_table(quality, name="data-quality")
    notebook = new_notebook(cells=[new_code_cell("", outputs=outputs)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return nbformat.from_dict(notebook)


@pytest.fixture(scope="module")
def page(browser: Any) -> Any:
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
    context.add_init_script(
        "window.alert = window.confirm = window.prompt = () => { window.__pwned = 'dialog'; };"
    )
    opened = context.new_page()
    opened.dialogs = []  # type: ignore[attr-defined]
    opened.on("dialog", lambda dialog: (opened.dialogs.append(dialog.message), dialog.dismiss()))
    yield opened
    context.close()


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    dimensions=st.lists(VALUES, min_size=2, max_size=3, unique_by=_as_parsed),
    events=st.lists(VALUES, min_size=2, max_size=3, unique_by=_as_parsed),
    journey=VALUES,
    stamp=VALUES,
)
def test_random_values_never_break_the_report_page(
    page: Any, tmp_path_factory: pytest.TempPathFactory, dimensions, events, journey, stamp
):
    markup = render_html(report_notebook(dimensions, events, journey, stamp), title=journey)
    path: Path = tmp_path_factory.mktemp("values") / "report.html"
    path.write_text(markup, encoding="utf-8")
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_function(_ALL_CHARTS_DRAWN, timeout=DRAW_TIMEOUT_MS)
    tooltips = _hover_each_chart(page)
    state = page.evaluate(_PAGE_STATE)
    assert state["errors"] == []
    assert (state["holders"], state["drawn"]) == (3, 3)
    assert state["pwned"] is None
    assert page.dialogs == []
    # the bundle, the embedding code and one spec per chart: no value added a script
    assert state["scripts"] == 2 + 3
    assert state["title"] == _as_parsed(journey)
    # a tooltip (when the hovered mark has one) is HTML that vega-tooltip builds from data
    # values: text in table cells only, never an element a value brought
    assert [tooltip["elements"] for tooltip in tooltips] == [[]] * len(tooltips)
    texts = "\u0000".join(state["texts"])
    for value in [*dimensions, *events, journey, stamp]:
        assert _as_parsed(value) in texts, value

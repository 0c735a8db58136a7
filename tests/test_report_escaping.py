"""Data values are never markup: JSON embedded in HTML, Vega field names, the chart specs.

Expected strings are written by hand; ``json.loads`` is the independent reader that shows the
escaped JSON still means the same value.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date
from html.parser import HTMLParser
from unittest import mock

import nbformat
import polars as pl
import pytest
import vl_convert
from nbformat.v4 import new_code_cell, new_notebook, new_output

from journeylib._embed import attribute_json, script_json
from journeylib.charts import channel_comparison, data_quality_panel, funnel_chart
from journeylib.report import display
from journeylib.report.display import chart_markup
from journeylib.report.email import email_body_from_notebook
from journeylib.report.render import _inline_script, _vega_bundle

HOSTILE = [
    "<!--<script>",
    "</script><script>window.__pwned = 1</script>",
    "</SCRIPT >",
    "a & b &amp; c",
    "line\u2028separator\u2029paragraph",
    "\"quoted\" and 'single'",
    "{{ 7 * 7 }} ${alert(1)}",
    "<img src=x onerror=alert(1)>",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_script_json_holds_no_markup_character_and_reads_back(value):
    text = script_json({"value": value, "list": [value]})
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(text) == {"value": value, "list": [value]}


def test_script_json_escapes_each_character_as_a_unicode_escape():
    assert script_json(["<!--<script>", "&", "\u2028\u2029"]) == (
        r'["\u003c!--\u003cscript\u003e", "\u0026", "\u2028\u2029"]'
    )


def test_script_json_writes_non_finite_numbers_as_null():
    assert script_json({"a": float("nan"), "b": [float("inf"), 1.5]}) == (
        '{"a": null, "b": [null, 1.5]}'
    )


def test_attribute_json_escapes_quotes_for_an_attribute():
    assert attribute_json({"k": 'it\'s "x" <b>'}) == (
        "{&quot;k&quot;: &quot;it&#x27;s \\&quot;x\\&quot; \\u003cb\\u003e&quot;}"
    )


def _script_bodies(markup: str) -> list[str]:
    return re.findall(r"<script[^>]*>(.*?)</script>", markup, flags=re.S | re.I)


@pytest.mark.parametrize("value", HOSTILE)
def test_chart_markup_keeps_a_hostile_value_inside_its_spec(value):
    spec = {"data": {"values": [{"channel": value}]}, "mark": "bar", "title": value}
    markup = chart_markup(spec, name="channels", title=value)
    (body,) = _script_bodies(markup)
    assert "<" not in body
    assert json.loads(body) == spec
    assert markup.count("<script") == 1


def test_inline_javascript_cannot_end_or_comment_out_its_script_element():
    code = 'var a = "</script>", b = "</SCRIPT", c = /<!--/;'
    assert _inline_script(code) == 'var a = "<\\/script>", b = "<\\/SCRIPT", c = /<\\!--/;'
    assert re.search(r"</script|<!--", _vega_bundle(), flags=re.I) is None


def test_the_quality_panel_spec_carries_only_what_it_draws():
    quality = pl.DataFrame(
        {
            "table": ["events"],
            "location": ["/srv/private/events.csv"],
            "rows_read": [10],
            "rule": ["unparseable_timestamp"],
            "column": ["timestamp"],
            "count": [1],
            "examples": ["line 3 '<!--<script>'"],
        }
    )
    spec = json.dumps(data_quality_panel(quality).to_dict())
    assert "/srv/private" not in spec
    assert "<!--<script>" not in spec
    assert "unparseable_timestamp" in spec


def _funnel_steps(breakdown: str, values: list[str]) -> pl.DataFrame:
    rows = []
    for value in values:
        for step, (name, users) in enumerate([("visit", 100), ("purchase", 20)], start=1):
            rows.append(
                {
                    breakdown: value,
                    "step": step,
                    "step_name": name,
                    "users": users,
                    "conversion_from_first": users / 100,
                    "conversion_from_previous": users / 100 if step > 1 else 1.0,
                    "drop_off": None if step == 1 else 80,
                    "in_progress": 0,
                    "median_seconds_from_previous": None if step == 1 else 3600.0,
                }
            )
    return pl.DataFrame(rows)


def test_a_breakdown_column_with_dots_and_brackets_is_one_field_not_a_path():
    chart = funnel_chart(_funnel_steps("utm.source[0]", ["mail", "ads"]))
    spec = chart.to_dict()
    assert spec["facet"]["row"]["field"] == "utm\\.source\\[0\\]"
    svg = vl_convert.vegalite_to_svg(spec)
    # both facet headers carry their value: Vega read the field, not a nested path
    assert ">mail<" in svg
    assert ">ads<" in svg


def test_a_markup_value_in_a_chart_is_text_in_the_svg():
    table = pl.DataFrame(
        {
            "period_start": [date(2026, 10, 19)] * 3,
            "channel": ["<b>bold</b>"] * 3,
            "kpi": ["cost_per_conversion", "conversion_rate", "unique_visitors"],
            "value": [12.0, 0.05, 400.0],
        }
    )
    svg = vl_convert.vegalite_to_svg(channel_comparison(table).to_dict())
    assert "&lt;b&gt;bold&lt;/b&gt;" in svg
    assert "<b>" not in svg


class _Elements(HTMLParser):
    """Tags, comments and text of a document, as a browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.comments: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.parametrize("value", HOSTILE)
def test_the_email_body_shows_a_hostile_value_as_text(value):
    outputs = []

    def show(data, role, **metadata):
        outputs.append(
            new_output(
                "display_data", data=dict(data), metadata={"journeylib": {"role": role, **metadata}}
            )
        )

    with mock.patch.object(display, "show", show):
        display.show_headline([f"{value} rose."])
        display.show_section(value, value)
        display.show_table(pl.DataFrame({"channel": [value]}), name="channels")
        display.show_text(value)
    notebook = nbformat.from_dict(new_notebook(cells=[new_code_cell("", outputs=outputs)]))
    notebook.metadata["journeylib"] = {"title": value, "period": "2026-W43"}
    body = email_body_from_notebook(notebook)
    parsed = _Elements()
    parsed.feed(body.html)
    parsed.close()
    assert not {"script", "img", "svg", "style"} & set(parsed.tags)
    assert parsed.comments == []
    assert "".join(parsed.text).count(value) >= 5


@pytest.mark.parametrize("value", ["a\x01b", "tab\x0bbed", "\x1b[31mred", "\ufffe", "\uffff"])
def test_a_value_xml_cannot_hold_does_not_abort_the_chart_image(value):
    # vl-convert rasterises an SVG (XML): these characters made it abort the whole process,
    # which in a report is the kernel. A child process, so that a crash fails only this test.
    code = (
        "import altair as alt, polars as pl\n"
        "from journeylib.report.display import chart_bundle\n"
        f"frame = pl.DataFrame({{'channel': [{value!r}, 'ads'], 'users': [3, 4]}})\n"
        "chart = alt.Chart(frame).mark_bar().encode(y='channel:N', x='users:Q')\n"
        f"bundle = chart_bundle(chart.properties(title={value!r}), name='channels')\n"
        "print(bundle['image/png'][:12])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("iVBORw0KGgo")  # base64 of the PNG signature


def test_chart_markup_keeps_the_values_the_image_replaced():
    spec = {"data": {"values": [{"channel": "a\x01b"}]}}
    (body,) = _script_bodies(chart_markup(spec, name="c", title="c"))
    assert json.loads(body) == spec

"""Offline HTML of an executed report notebook: no code, no network, every chart interactive.

nbconvert's ``basic`` template gives the cells' outputs without any page shell (its ``lab``
template loads require.js, MathJax and mermaid from a CDN). This module wraps them in a
self-contained page: inline CSS, and the Vega / Vega-Lite / Vega-Embed bundle inline (from
vl-convert, about 0.9 MB, once per page) that draws each chart from its spec, with tooltips.
Nothing is fetched: the report shows every chart with the network off.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

import nbformat

__all__ = ["ANALYST_ONLY", "REPORT_CSS", "render_html"]

#: Cells with this tag explain the notebook to analysts and stay out of the rendered report.
ANALYST_ONLY = "analyst-only"

REPORT_CSS = """
body { font-family: -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif;
       color: #1f2933; margin: 0; background: #f7f8fa; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 48px; background: #ffffff; }
h1 { font-size: 26px; margin: 8px 0 4px; }
h2 { font-size: 20px; margin: 32px 0 8px; padding-top: 12px; border-top: 1px solid #e4e7eb; }
p, li { font-size: 14px; line-height: 1.5; }
.meta { color: #616e7c; font-size: 13px; }
.headline { background: #f0f4f8; border-left: 4px solid #0072b2; padding: 8px 16px; }
.headline li { font-size: 15px; margin: 4px 0; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th { text-align: left; background: #f0f4f8; border-bottom: 2px solid #cbd2d9; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e4e7eb; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.good { color: #006d43; font-weight: 600; }
td.bad { color: #b3261e; font-weight: 600; }
td.muted { color: #9aa5b1; }
.journeylib-chart { margin: 8px 0 16px; }
.jp-OutputArea-output pre { font-size: 12px; }
.jp-InputPrompt, .jp-OutputPrompt { display: none; }
.anchor-link { display: none; }
"""

_EMBED = """
document.querySelectorAll('.journeylib-chart').forEach(function (holder) {
  var spec = document.getElementById('spec-' + holder.dataset.chart);
  if (!spec || !window.vegaEmbed) { return; }
  window.vegaEmbed(holder, JSON.parse(spec.textContent), {actions: false, renderer: 'svg'})
    .catch(function (error) { holder.setAttribute('data-embed-error', String(error)); });
});
"""


_SCRIPT_BREAKERS = re.compile(r"<(/script|!--)", re.IGNORECASE)


def _inline_script(code: str) -> str:
    """JavaScript as the text of an inline ``<script>``.

    ``</script`` would end the element and ``<!--`` followed by ``<script`` would make the
    HTML parser look past its end; inside JavaScript strings and regular expressions ``<\\/``
    and ``<\\!`` mean the same characters.
    """
    return _SCRIPT_BREAKERS.sub(lambda match: "<\\" + match.group(1), code)


@lru_cache(maxsize=1)
def _vega_bundle() -> str:
    import vl_convert

    return _inline_script(vl_convert.javascript_bundle())


def _interactive_charts(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy whose chart outputs are interactive holders (their PNG stays in the notebook)."""
    from journeylib.report.display import chart_markup

    copy = nbformat.from_dict(notebook)
    for cell in copy.cells:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("journeylib", {})
            if meta.get("role") == "chart" and meta.get("spec"):
                markup = chart_markup(meta["spec"], name=meta["name"], title=meta["title"])
                output["data"] = {"text/html": markup}
                output["metadata"] = {}
    return copy


def render_html(notebook: nbformat.NotebookNode, *, title: str) -> str:
    """A self-contained HTML page of an executed notebook, code hidden.

    Parameters
    ----------
    notebook
        The executed notebook.
    title
        The page title.

    Returns
    -------
    str
        The HTML document: no external URL is loaded by it.
    """
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True)
    exporter.exclude_output_prompt = True
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags={ANALYST_ONLY}, enabled=True), enabled=True
    )
    body, _ = exporter.from_notebook_node(_interactive_charts(notebook))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{REPORT_CSS}</style></head>"
        f"<body><main>{body}</main>"
        f"<script>{_vega_bundle()}</script><script>{_EMBED}</script></body></html>\n"
    )

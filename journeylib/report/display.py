"""Display helpers for report notebooks: charts, tables and text as tagged outputs.

Each output carries ``{"journeylib": {"role": ...}}`` metadata, the contract with the email
builder (:mod:`journeylib.report.email`) and the HTML renderer:

- a chart is one output with ``image/png`` (rendered offline by vl-convert: for JupyterLab,
  email and readers without JavaScript), ``text/plain`` (its title) and its Vega-Lite spec in
  the metadata, which the HTML report draws interactively with an inline Vega bundle;
- a table is an HTML ``<table>`` with classes ``num``, ``good``, ``bad``, ``muted``;
- headline, section and text outputs are HTML fragments with a plain-text twin.

This module never computes a number: it only presents what the engine computed.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import polars as pl

from journeylib._embed import script_json

__all__ = [
    "chart_bundle",
    "chart_markup",
    "show",
    "show_chart",
    "show_headline",
    "show_section",
    "show_table",
    "show_text",
    "table_html",
]

Role = Literal["headline", "section", "text", "table", "chart", "run"]
_SLUG = re.compile(r"[^a-z0-9]+")


def _slug(name: str) -> str:
    return _SLUG.sub("-", name.lower()).strip("-") or "chart"


def show(data: Mapping[str, Any], role: Role, **metadata: Any) -> None:
    """Display a mime bundle tagged with its journeylib role (no-op outside IPython)."""
    from IPython.display import display

    display(dict(data), raw=True, metadata={"journeylib": {"role": role, **metadata}})


def chart_bundle(chart: Any, *, name: str, title: str | None = None, scale: float = 2) -> dict:
    """The mime bundle of a chart: interactive-ready HTML, a PNG rendered offline, a title.

    Parameters
    ----------
    chart
        An Altair chart (anything with ``to_dict()``).
    name
        A name unique in the report (its slug becomes the element id and the email cid).
    title
        The text shown to readers without images.
    scale
        PNG pixel density.
    """
    import vl_convert

    png = vl_convert.vegalite_to_png(_xml_safe(chart.to_dict()), scale=scale)
    return {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": title or name}


#: Characters XML (and so the SVG that vl-convert rasterises) cannot hold: vl-convert aborts
#: the whole process on them. They become U+FFFD in the PNG only; the spec keeps its values.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_safe(value: Any) -> Any:
    """A copy of a spec whose strings (keys too) hold no character XML refuses."""
    if isinstance(value, str):
        return _NOT_XML.sub("\ufffd", value)
    if isinstance(value, list):
        return [_xml_safe(item) for item in value]
    if isinstance(value, dict):
        return {_xml_safe(key): _xml_safe(item) for key, item in value.items()}
    return value


def chart_markup(spec: Mapping[str, Any], *, name: str, title: str) -> str:
    """HTML of an interactive chart: a holder and its Vega-Lite spec as JSON.

    The rendered report's inline Vega-Embed bundle draws every holder; nothing is fetched.
    The spec goes through :func:`journeylib._embed.script_json`: no data value in it can
    close the element or open an HTML comment.
    """
    slug = _slug(name)
    spec_json = script_json(spec)
    return (
        f'<div class="journeylib-chart" id="chart-{slug}" data-chart="{slug}" '
        f'role="img" aria-label="{html.escape(title)}"></div>'
        f'<script type="application/json" id="spec-{slug}">{spec_json}</script>'
    )


def show_chart(chart: Any, *, name: str, title: str | None = None, email: bool = True) -> None:
    """Display a chart for the report (see :func:`chart_bundle`).

    The output holds a PNG (for JupyterLab, email and readers without JavaScript) and, in its
    metadata, the Vega-Lite spec the HTML report draws interactively. ``email=False`` keeps a
    chart out of the email body (the attached report still has it), to keep mail small.
    """
    bundle = chart_bundle(chart, name=name, title=title)
    show(
        bundle,
        "chart",
        name=_slug(name),
        title=title or name,
        spec=chart.to_dict(),
        email=email,
    )


def show_headline(sentences: Sequence[str]) -> None:
    """Display the headline: the first thing the reader (and the email) sees."""
    items = "".join(f"<li>{html.escape(s)}</li>" for s in sentences)
    show(
        {
            "text/html": f'<div class="headline"><ul>{items}</ul></div>',
            "text/plain": "\n".join(f"- {s}" for s in sentences),
        },
        "headline",
    )


def show_section(title: str, intro: str | None = None) -> None:
    """Display a section title (and an optional one-paragraph introduction)."""
    markup = f"<h2>{html.escape(title)}</h2>"
    if intro:
        markup += f"<p>{html.escape(intro)}</p>"
    show({"text/html": markup, "text/plain": title}, "section")


def show_text(text: str) -> None:
    """Display a paragraph of plain text."""
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n") if p.strip())
    show({"text/html": paragraphs, "text/plain": text}, "text")


CellClass = Callable[[dict[str, Any], str], str | None]


def table_html(
    frame: pl.DataFrame,
    *,
    formats: Mapping[str, Callable[[Any], str]] | None = None,
    classes: CellClass | None = None,
    headers: Mapping[str, str] | None = None,
) -> str:
    """An HTML table of a small frame, cells formatted and classed for email-safe styling.

    Parameters
    ----------
    frame
        At most a few hundred rows (a report table, not data).
    formats
        Column -> formatter of a value (default: ``str``, empty for null).
    classes
        ``(row, column) -> class`` among ``num``, ``good``, ``bad``, ``muted``.
    headers
        Column -> header text.

    Columns whose name starts with ``_`` are not shown; ``classes`` can read them.
    """
    formats = formats or {}
    headers = headers or {}
    visible = [c for c in frame.columns if not c.startswith("_")]
    head = "".join(f"<th>{html.escape(headers.get(c, c))}</th>" for c in visible)
    rows = []
    for row in frame.iter_rows(named=True):
        cells = []
        for column in visible:
            value = row[column]
            text = "" if value is None else formats.get(column, str)(value)
            css = classes(row, column) if classes else None
            attribute = f' class="{css}"' if css else ""
            cells.append(f"<td{attribute}>{html.escape(text)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def show_table(
    frame: pl.DataFrame,
    *,
    name: str,
    formats: Mapping[str, Callable[[Any], str]] | None = None,
    classes: CellClass | None = None,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Display a report table (see :func:`table_html`)."""
    markup = table_html(frame, formats=formats, classes=classes, headers=headers)
    with pl.Config(tbl_rows=-1, tbl_cols=-1):
        plain = str(frame.select(c for c in frame.columns if not c.startswith("_")))
    show({"text/html": markup, "text/plain": plain}, "table", name=_slug(name))

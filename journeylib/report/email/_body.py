"""The email body from an executed report notebook: tagged outputs to email-safe HTML and text.

Each output that belongs in the email carries ``{"journeylib": {"role": ...}}`` in its
metadata (``headline``, ``section``, ``text``, ``table``, ``chart``); everything else is left
out. The headline opens the body wherever it sits in the notebook, because mail clients show
the first text as the preview line. Charts go in as PNG images referenced by ``cid:``; their
interactive HTML (which needs JavaScript) is ignored.
"""

from __future__ import annotations

import base64
import binascii
import html
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from journeylib.report.email._errors import EmailContentError
from journeylib.report.email._inline import FONT_STACK, inline_styles

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = ["EmailBody", "chart_cid", "email_body_from_notebook"]

ROLES = ("headline", "section", "text", "table", "chart")
#: Tagged outputs that are for the report page only (the run marker with the page title).
PAGE_ONLY_ROLES = ("run",)
MAX_IMAGE_WIDTH = 600
# Gmail cuts the HTML part off after about 102 KB and shows "[Message clipped]".
GMAIL_CLIP_BYTES = 102_000
log = logging.getLogger("journeylib.report.email")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHART_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
FOOTER_TEXT = (
    "The full interactive report is attached to this email as an HTML file: "
    "open it in a browser to explore the charts."
)


@dataclass(frozen=True)
class EmailBody:
    """The content of a report email, ready for :func:`build_message`.

    Attributes
    ----------
    subject_hint
        ``"<title> — <period>"`` from the notebook metadata.
    html
        A complete HTML document with inline CSS, no scripts and no remote resources.
    text
        The plain-text alternative.
    images
        Content-ID (without angle brackets) to PNG bytes, one per chart.
    """

    subject_hint: str
    html: str
    text: str
    images: Mapping[str, bytes] = field(default_factory=dict)


def chart_cid(name: str) -> str:
    """The Content-ID of a chart image, without angle brackets.

    Examples
    --------
    >>> chart_cid("weekly-score")
    'chart-weekly-score@journeylib'
    """
    return f"chart-{name}@journeylib"


def email_body_from_notebook(notebook: NotebookNode) -> EmailBody:
    """Build the email body from the tagged outputs of an executed report notebook.

    Parameters
    ----------
    notebook
        An ``nbformat.NotebookNode`` (version 4) whose metadata holds
        ``{"journeylib": {"title", "period", "generated_at"}}``.

    Returns
    -------
    EmailBody
        Headline first, then sections, text, tables and charts in notebook order, and a footer
        saying the interactive report is attached.

    Raises
    ------
    EmailContentError
        When the notebook metadata lacks a title or period, a tagged output lacks the data its
        role needs, a chart name is reused or not a slug, or there are two headlines.

    Examples
    --------
    >>> body = email_body_from_notebook(nbformat.read("out.ipynb", as_version=4))  # doctest: +SKIP
    >>> sorted(body.images)  # doctest: +SKIP
    ['chart-weekly-score@journeylib']
    """
    title, period, generated_at = _notebook_header(notebook)
    headline: tuple[str, str] | None = None
    html_blocks: list[str] = []
    text_blocks: list[str] = []
    images: dict[str, bytes] = {}
    for where, role, output, tags in _tagged_outputs(notebook):
        data = output.get("data", {})
        plain = _text(data.get("text/plain", "")).strip()
        if role == "chart":
            name = _chart_name(tags, where, images)
            png = _png_bytes(data.get("image/png"), where)
            chart_title = str(tags.get("title") or plain or name)
            images[chart_cid(name)] = png
            html_blocks.append(_image_tag(name, chart_title, png, tags.get("width")))
            text_blocks.append(f"[Chart: {chart_title}]")
            continue
        fragment = _text(_required(data, "text/html", role, where))
        if role == "headline":
            if headline is not None:
                raise EmailContentError(f"{where}: a second 'headline' output; expected one")
            headline = (inline_styles(fragment), plain)
        elif role == "section":
            html_blocks.append(inline_styles(fragment))
            text_blocks.append(f"{plain}\n{'=' * len(plain)}")
        else:
            html_blocks.append(inline_styles(fragment))
            text_blocks.append(plain)
    lead_html = [headline[0]] if headline else []
    lead_text = [headline[1]] if headline else []
    byline = f"{title} — {period}"
    footer = FOOTER_TEXT + (f" Generated {generated_at}." if generated_at else "")
    document = _document(byline, [*lead_html, _muted(byline), *html_blocks], footer)
    size = len(document.encode("utf-8"))
    if size > GMAIL_CLIP_BYTES:
        log.warning(
            "%s: the email HTML is %d bytes; Gmail clips it after about %d bytes, "
            "so shorten the tables",
            byline,
            size,
            GMAIL_CLIP_BYTES,
        )
    return EmailBody(
        subject_hint=byline,
        html=document,
        text="\n\n".join([*lead_text, byline, *text_blocks, "--", footer]) + "\n",
        images=images,
    )


def _notebook_header(notebook: Any) -> tuple[str, str, str | None]:
    meta = notebook.get("metadata", {}).get("journeylib", {})
    missing = [key for key in ("title", "period") if not meta.get(key)]
    if missing:
        raise EmailContentError(
            f"notebook metadata 'journeylib' lacks {', '.join(missing)}; expected "
            f'{{"title": ..., "period": "2026-W43", "generated_at": ...}}, found {dict(meta)}'
        )
    generated_at = meta.get("generated_at")
    return str(meta["title"]), str(meta["period"]), str(generated_at) if generated_at else None


def _tagged_outputs(notebook: Any) -> Iterator[tuple[str, str, Mapping[str, Any], Mapping]]:
    for cell_index, cell in enumerate(notebook.get("cells", [])):
        for output_index, output in enumerate(cell.get("outputs", [])):
            tags = output.get("metadata", {}).get("journeylib")
            if not isinstance(tags, Mapping):
                continue
            where = f"cell {cell_index} output {output_index}"
            role = tags.get("role")
            if role in PAGE_ONLY_ROLES or tags.get("email") is False:
                continue
            if role not in ROLES:
                raise EmailContentError(
                    f"{where}: unknown journeylib role {role!r}; expected one of {', '.join(ROLES)}"
                )
            yield where, role, output, tags


def _text(value: Any) -> str:
    """Notebook text data is a string or a list of lines."""
    return "".join(value) if isinstance(value, list) else str(value)


def _required(data: Mapping[str, Any], mimetype: str, role: str, where: str) -> Any:
    if mimetype not in data:
        raise EmailContentError(
            f"{where}: a '{role}' output needs {mimetype} data; found {', '.join(data) or 'none'}"
        )
    return data[mimetype]


def _chart_name(tags: Mapping[str, Any], where: str, images: Mapping[str, bytes]) -> str:
    name = str(tags.get("name") or "")
    if not _CHART_NAME.match(name):
        raise EmailContentError(
            f"{where}: chart name must be a slug such as 'weekly-score'; found {name!r}"
        )
    if chart_cid(name) in images:
        raise EmailContentError(f"{where}: chart name {name!r} is used twice; expected unique")
    return name


def _png_bytes(encoded: Any, where: str) -> bytes:
    if encoded is None:
        raise EmailContentError(f"{where}: a 'chart' output needs image/png data; found none")
    try:
        png = base64.b64decode(_text(encoded), validate=False)
    except (binascii.Error, ValueError):
        png = b""
    if not png.startswith(_PNG_SIGNATURE):
        raise EmailContentError(f"{where}: image/png data is not a base64-encoded PNG")
    return png


def _image_tag(name: str, title: str, png: bytes, width: Any) -> str:
    pixel_width = int.from_bytes(png[16:20], "big")  # IHDR width
    shown = int(width) if width else min(pixel_width, MAX_IMAGE_WIDTH)
    return (
        f'<p style="margin:0 0 16px 0;"><img src="cid:{chart_cid(name)}" '
        f'alt="{html.escape(title)}" width="{shown}" '
        f'style="display:block;width:{shown}px;max-width:100%;height:auto;border:0;"></p>'
    )


def _muted(text: str) -> str:
    return inline_styles(f'<p class="muted">{html.escape(text)}</p>')


def _document(title: str, blocks: list[str], footer: str) -> str:
    """A centred 640 px column in presentation tables, the layout Outlook and Gmail agree on."""
    footer_html = inline_styles(f'<p class="muted">{html.escape(footer)}</p>')
    content = "\n".join(blocks)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n</head>\n"
        f'<body style="margin:0;padding:0;background-color:#ffffff;font-family:{FONT_STACK};">'
        '<table role="presentation" width="100%" border="0" cellpadding="0" cellspacing="0">'
        '<tr><td align="center" style="padding:16px 8px;">'
        '<table role="presentation" width="640" border="0" cellpadding="0" cellspacing="0" '
        'style="width:640px;max-width:100%;"><tr><td align="left">\n'
        f"{content}\n"
        '<hr style="border:0;border-top:1px solid #d0d7de;margin:24px 0 12px 0;">\n'
        f"{footer_html}\n"
        "</td></tr></table></td></tr></table></body>\n</html>\n"
    )

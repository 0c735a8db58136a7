"""Email-safe HTML: an allow-list sanitiser and an explicit inliner for the styles we emit.

Mail clients strip ``<style>`` blocks, run no JavaScript and block remote resources, so every
fragment from the report notebook is re-serialised here: allowed tags and attributes only,
``<script>``/``<style>`` and other active content dropped with their contents, and the fixed set
of tags and classes the report emits (``h1``, ``h2``, ``p``, ``table``, ``th``, ``td``;
``good``, ``bad``, ``muted``, ``num``) given inline ``style=""`` attributes. Tables also get the
presentational attributes Outlook reads (``cellpadding``, ``cellspacing``, ``border``,
``width``).
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

__all__ = ["FONT_STACK", "inline_styles"]

FONT_STACK = "Arial,Helvetica,sans-serif"

TAG_STYLES: dict[str, str] = {
    "h1": f"margin:0 0 12px 0;font-family:{FONT_STACK};font-size:22px;line-height:28px;"
    "font-weight:bold;color:#1f2328;",
    "h2": f"margin:24px 0 8px 0;font-family:{FONT_STACK};font-size:18px;line-height:24px;"
    "font-weight:bold;color:#1f2328;",
    "p": f"margin:0 0 12px 0;font-family:{FONT_STACK};font-size:14px;line-height:20px;"
    "color:#1f2328;",
    "table": f"width:100%;max-width:640px;border-collapse:collapse;font-family:{FONT_STACK};"
    "font-size:13px;line-height:18px;color:#1f2328;margin:0 0 16px 0;",
    "th": "padding:6px 8px;border:1px solid #d0d7de;background-color:#f3f4f6;text-align:left;"
    "vertical-align:bottom;font-weight:bold;",
    "td": "padding:6px 8px;border:1px solid #d0d7de;text-align:left;vertical-align:top;",
}
CLASS_STYLES: dict[str, str] = {
    "good": "color:#1a7f37;font-weight:bold;",
    "bad": "color:#cf222e;font-weight:bold;",
    "muted": "color:#6e7781;",
    "num": "text-align:right;white-space:nowrap;",
}
# Presentational attributes for clients that ignore CSS on tables (Outlook's Word engine).
TAG_ATTRIBUTES: dict[str, dict[str, str]] = {
    "table": {"cellpadding": "6", "cellspacing": "0", "border": "0", "width": "100%"},
}

_ALLOWED_TAGS = frozenset(
    [
        "a",
        "b",
        "br",
        "caption",
        "code",
        "col",
        "colgroup",
        "div",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "hr",
        "i",
        "li",
        "ol",
        "p",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "u",
        "ul",
    ]
)
_VOID_TAGS = frozenset({"br", "col", "hr"})
# Dropped together with everything inside them.
_DROPPED_WITH_CONTENT = frozenset(
    [
        "script",
        "style",
        "head",
        "title",
        "iframe",
        "object",
        "embed",
        "noscript",
        "template",
        "svg",
        "math",
        "form",
        "link",
        "meta",
    ]
)
_ALLOWED_ATTRIBUTES = frozenset(
    {"align", "alt", "colspan", "href", "rowspan", "scope", "style", "title", "valign", "width"}
)
_SAFE_HREF = re.compile(r"^(https?:|mailto:|#)", re.IGNORECASE)
_UNSAFE_CSS = re.compile(r"url\s*\(|expression\s*\(|@import|javascript:", re.IGNORECASE)


def inline_styles(fragment: str) -> str:
    """Sanitise an HTML fragment and inline the report's styles into it.

    Parameters
    ----------
    fragment
        HTML from a notebook output (a heading, paragraphs or a table).

    Returns
    -------
    str
        The fragment with only allowed tags and attributes, no ``<script>`` or ``<style>``,
        and every styled tag or class carrying its CSS in a ``style`` attribute.

    Examples
    --------
    >>> inline_styles('<span class="muted">n/a</span><script>track()</script>')
    '<span style="color:#6e7781;">n/a</span>'
    """
    inliner = _Inliner()
    inliner.feed(fragment)
    inliner.close()
    return "".join(inliner.parts)


def _style_for(tag: str, classes: list[str], own_style: str) -> str:
    """Tag style, then class styles, then the element's own style: later declarations win."""
    declarations = [TAG_STYLES.get(tag, "")]
    declarations += [CLASS_STYLES[name] for name in classes if name in CLASS_STYLES]
    own = ";".join(
        item.strip()
        for item in own_style.split(";")
        if item.strip() and not _UNSAFE_CSS.search(item)
    )
    declarations.append(f"{own};" if own else "")
    return "".join(declarations)


class _Inliner(HTMLParser):
    """Re-serialises allowed markup; counts depth inside dropped elements to skip their text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._dropped_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED_WITH_CONTENT and tag not in ("link", "meta"):
            self._dropped_depth += 1
            return
        if self._dropped_depth or tag not in _ALLOWED_TAGS:
            return
        self.parts.append(self._open_tag(tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._dropped_depth and tag in _ALLOWED_TAGS:
            self.parts.append(self._open_tag(tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED_WITH_CONTENT and tag not in ("link", "meta"):
            self._dropped_depth = max(0, self._dropped_depth - 1)
            return
        if self._dropped_depth or tag not in _ALLOWED_TAGS or tag in _VOID_TAGS:
            return
        self.parts.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self._dropped_depth:
            self.parts.append(html.escape(data, quote=False))

    def _open_tag(self, tag: str, attrs: list[tuple[str, str | None]]) -> str:
        values = {name: value or "" for name, value in attrs}
        classes = values.get("class", "").split()
        kept = {
            name: value
            for name, value in values.items()
            if name in _ALLOWED_ATTRIBUTES and name != "style"
        }
        if "href" in kept and not _SAFE_HREF.match(kept["href"].strip()):
            del kept["href"]
        for name, value in TAG_ATTRIBUTES.get(tag, {}).items():
            kept.setdefault(name, value)
        if tag in ("td", "th") and "num" in classes:
            kept.setdefault("align", "right")
        style = _style_for(tag, classes, values.get("style", ""))
        rendered = [f'style="{html.escape(style)}"'] if style else []
        rendered += [f'{name}="{html.escape(value)}"' for name, value in kept.items()]
        return f"<{tag}{''.join(' ' + item for item in rendered)}>"

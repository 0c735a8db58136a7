"""JSON that enters HTML: a ``<script>`` element's text or a quoted attribute's value.

Every Vega-Lite spec, data set or parameter that a page (the report, the dashboard) embeds goes
through :func:`script_json` (inside ``<script type="application/json">`` or a JavaScript
literal) or :func:`attribute_json` (inside ``attr="..."``). Data values in them are any text a
source holds: ``</script>``, ``<!--<script>`` (which would make the HTML parser swallow the
closing tag of the element and hide the rest of the page), ``&``, quotes, U+2028/U+2029 (line
terminators in older JavaScript). The JSON keeps its meaning, as ``JSON.parse`` reads escaped
characters back, but holds none of ``<``, ``>``, ``&``, U+2028 or U+2029 literally.

Examples
--------
>>> script_json({"channel": "</script><!--<script>"})
'{"channel": "\\\\u003c/script\\\\u003e\\\\u003c!--\\\\u003cscript\\\\u003e"}'
>>> attribute_json(["a \\"b\\""])
'[&quot;a \\\\&quot;b\\\\&quot;&quot;]'
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

__all__ = ["attribute_json", "script_json"]

_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def _finite(value: Any) -> Any:
    """The value with NaN and infinities as ``null`` (``JSON.parse`` refuses those tokens)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def script_json(value: Any, *, sort_keys: bool = True) -> str:
    """JSON text of ``value`` safe as the text of a ``<script>`` element.

    Parameters
    ----------
    value
        Anything ``json.dumps`` takes (a Vega-Lite spec, a data set). NaN and infinities
        become ``null``.
    sort_keys
        Sort object keys (stable output for snapshots).

    Returns
    -------
    str
        JSON with ``<``, ``>``, ``&``, U+2028 and U+2029 written as ``\\uXXXX`` escapes, so no
        data value can close the element, open a comment or end a JavaScript line.
    """
    text = json.dumps(_finite(value), sort_keys=sort_keys, ensure_ascii=False, allow_nan=False)
    return text.translate(_ESCAPES)


def attribute_json(value: Any, *, sort_keys: bool = True) -> str:
    """JSON text of ``value`` safe inside a double- or single-quoted HTML attribute.

    The browser's attribute parser gives back exactly :func:`script_json`'s text.
    """
    return html.escape(script_json(value, sort_keys=sort_keys), quote=True)

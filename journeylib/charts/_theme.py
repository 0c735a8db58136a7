"""The one chart theme: colour-blind-safe palette, readable fonts, consistent sizes.

The palette is Okabe-Ito (distinguishable under the common colour-vision deficiencies). The
builders take their fixed colours (target status, good and bad moves, survey groups, "no data")
from here, so a chart reads the same with or without the theme enabled; the theme adds the
fonts, sizes and the default category palette. :func:`register_theme` is idempotent.

Examples
--------
>>> from journeylib.charts import THEME_NAME, use_theme
>>> use_theme() == THEME_NAME
True
"""

from __future__ import annotations

import altair as alt

__all__ = [
    "BAD",
    "GOOD",
    "MISSING",
    "NEUTRAL",
    "PALETTE",
    "SEQUENTIAL_SCHEME",
    "SIGNIFICANT_MARKER",
    "STATUS_COLOURS",
    "THEME_NAME",
    "UNAVAILABLE",
    "register_theme",
    "use_theme",
]

THEME_NAME = "journeylib"

#: Okabe-Ito, in the order categories take them.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow
    "#000000",  # black
)
GOOD = "#009E73"
BAD = "#D55E00"
NEUTRAL = "#6B6B6B"
#: Cells and tiles without data: never drawn as a value.
MISSING = "#D9D9D9"
#: Text of KPIs that are not available (readable, but clearly not a value).
UNAVAILABLE = "#9E9E9E"
#: A sequential scheme that stays readable in grey and for colour-blind readers.
SEQUENTIAL_SCHEME = "viridis"
#: Shown next to a change whose p-value is below 0.05.
SIGNIFICANT_MARKER = "●"

#: Target status of a KPI (the ``status`` column of the KPI table; null means no target).
STATUS_COLOURS: dict[str, str] = {"met": GOOD, "missed": BAD, "no target": NEUTRAL}

_FONT = "'Source Sans 3', 'Segoe UI', Helvetica, Arial, sans-serif"
_SIZES = {"label": 12, "title": 13, "chart_title": 16}
_registered = False


def _theme() -> alt.theme.ThemeConfig:
    label, title = _SIZES["label"], _SIZES["title"]
    return {
        "config": {
            "font": _FONT,
            "background": "#FFFFFF",
            "view": {"continuousWidth": 400, "continuousHeight": 260, "stroke": None},
            "range": {"category": list(PALETTE), "heatmap": {"scheme": SEQUENTIAL_SCHEME}},
            "title": {
                "fontSize": _SIZES["chart_title"],
                "anchor": "start",
                "subtitleFontSize": label,
            },
            "axis": {
                "labelFontSize": label,
                "titleFontSize": title,
                "gridColor": "#EBEBEB",
                "domainColor": "#9E9E9E",
                "tickColor": "#9E9E9E",
            },
            "legend": {"labelFontSize": label, "titleFontSize": title, "orient": "bottom"},
            "header": {"labelFontSize": title, "titleFontSize": title},
            "text": {"fontSize": label},
            "bar": {"color": PALETTE[0]},
            "line": {"color": PALETTE[0], "strokeWidth": 2},
            "point": {"color": PALETTE[0], "filled": True},
            "area": {"color": PALETTE[0]},
        }
    }


def register_theme() -> str:
    """Register the journeylib theme once (calling again changes nothing); return its name.

    Examples
    --------
    >>> register_theme()
    'journeylib'
    """
    global _registered
    if not _registered:
        alt.theme.register(THEME_NAME, enable=False)(_theme)
        _registered = True
    return THEME_NAME


def use_theme() -> str:
    """Register (once) and enable the journeylib theme for every chart built afterwards.

    Examples
    --------
    >>> use_theme()
    'journeylib'
    """
    alt.theme.enable(register_theme())
    return THEME_NAME

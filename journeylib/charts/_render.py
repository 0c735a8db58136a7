"""How bare Altair charts draw in JupyterLab: offline, with the Vega libraries inline."""

from __future__ import annotations

import altair as alt

__all__ = ["render_offline"]


def render_offline() -> str:
    """Make a chart at the end of a JupyterLab cell draw without any network.

    Altair's default renderer loads Vega from a CDN, so charts vanish offline or behind a proxy
    (and JupyterLab has no renderer for Altair 6's Vega-Lite mimetype). This enables Altair's
    ``html`` renderer with the ``inline`` template: each chart output carries the Vega
    libraries (about 1 MB) and draws interactively, tooltips included. It is for exploring;
    notebooks run as reports show charts with :func:`journeylib.report.display.show_chart`,
    whose rendered HTML carries the libraries once per page.

    Returns
    -------
    str
        The active renderer's name.

    Examples
    --------
    >>> render_offline()  # doctest: +SKIP
    'html'
    """
    alt.renderers.enable("html", template="inline")
    return alt.renderers.active

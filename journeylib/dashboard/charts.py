"""Charts of the dashboard as widgets: the shared builders, drawn as SVG by ``JupyterChart``.

The charts are the report's (:mod:`journeylib.charts`); this module only wraps them in
``altair.JupyterChart`` widgets (offline: the Vega libraries come from vl-convert, nothing is
fetched) and adds a point selection to the charts whose marks filter the page when clicked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import altair as alt

__all__ = ["ChartView", "clickable", "enable_offline"]

#: The selection parameter of a clickable chart.
PICK = "pick"
_EMBED = {"renderer": "svg", "actions": False}
_VIEW = "clickable_marks"


def enable_offline() -> None:
    """Load Vega from vl-convert's bundle instead of a CDN (once per kernel)."""
    alt.JupyterChart.enable_offline()


def clickable(chart: Any, column: str) -> Any:
    """A copy of ``chart`` whose first mark layer selects a ``column`` value on click.

    The selection is a top-level point selection on the field ``column`` (a name, never an
    expression) bound to the first layer, where ``JupyterChart`` finds it: no data value
    enters the spec as code.
    """
    from journeylib.charts._data import field

    spec = chart.to_dict()
    inner = spec.get("spec", spec)
    target = inner["layer"][0] if "layer" in inner else inner
    target["name"] = _VIEW
    spec["params"] = [
        *spec.get("params", []),
        {
            "name": PICK,
            "select": {"type": "point", "fields": [field(column)], "on": "click", "clear": False},
            "views": [_VIEW],
        },
    ]
    kind = alt.FacetChart if "spec" in spec else (alt.LayerChart if "layer" in spec else alt.Chart)
    return kind.from_dict(spec, validate=False)  # type: ignore[attr-defined]


def _to_dict_unvalidated(self: Any, *args: Any, **kwargs: Any) -> dict:
    known = self.__dict__.get("_known_spec")
    if known is not None and not args and not kwargs:
        return known  # the spec ``show`` has just made: not serialised a second time
    kwargs["validate"] = False
    return type(self).__mro__[1].to_dict(self, *args, **kwargs)


_UNVALIDATED: dict[type, type] = {}


def unvalidated(chart: Any, spec: dict | None = None) -> Any:
    """``chart`` whose ``to_dict`` skips the JSON-schema validation (and gives ``spec``, the
    chart's own unvalidated ``to_dict()`` already made, when called without arguments).

    ``JupyterChart`` serialises its chart on every change; validating a spec of the shared
    builders again costs about 50 ms a chart, the largest part of a redraw. The builders' specs
    are validated by their tests (``tests/test_charts.py``, and the dashboard's additions in
    ``tests/test_dashboard.py``).
    """
    base = type(chart)
    kind = _UNVALIDATED.get(base)
    if kind is None:
        kind = type(f"Unvalidated{base.__name__}", (base,), {"to_dict": _to_dict_unvalidated})
        _UNVALIDATED[base] = kind
    copy = chart.copy(deep=False)
    object.__setattr__(copy, "__class__", kind)  # not a chart property: the type itself
    if spec is not None:
        copy.__dict__["_known_spec"] = spec
    return copy


class ChartView:
    """One chart on the page; ``show`` swaps its chart.

    The ``JupyterChart`` widget is made on the first ``show``, so a page loads only the charts
    of the tab on screen: each one brings the Vega bundle (about 0.9 MB of JavaScript) to
    evaluate, which the browser must do within anywidget's 2 s initialisation limit.
    """

    def __init__(self, name: str, on_pick: Callable[[str, str], None] | None = None) -> None:
        import ipywidgets

        self.name = name
        self.widget = ipywidgets.Box()
        self.widget.add_class(f"jl-chart-{name}")
        self.chart: alt.JupyterChart | None = None
        self._on_pick = on_pick
        self._column: str | None = None
        self._spec: dict | None = None

    def show(self, chart: Any | None, *, pick_column: str | None = None) -> None:
        """Draw ``chart`` (``None``: nothing); clicks on it report ``pick_column`` values."""
        self._column = pick_column if self._on_pick is not None else None
        if chart is None:
            self._spec = None
            self.widget.layout.display = "none"
            return
        if self._column is not None:
            chart = clickable(chart, self._column)
        spec = chart.to_dict(validate=False)
        self.widget.layout.display = ""
        if spec == self._spec:
            return  # the same chart: nothing to redraw
        self._spec = spec
        if self.chart is None:
            self.chart = alt.JupyterChart(unvalidated(chart, spec), embed_options=_EMBED)
            self.widget.children = (self.chart,)
        else:
            self.chart.chart = unvalidated(chart, spec)
        if self._column is not None:
            # a new chart brings a new selections object: observe that one
            self.chart.selections.observe(self._picked, [PICK])

    def _picked(self, change: dict) -> None:
        value = change["new"]
        rows = getattr(value, "value", None) or []
        if not rows or self._column is None or self._on_pick is None:
            return
        picked = rows[0].get(self._column)
        if picked is not None:
            self._on_pick(self._column, str(picked))

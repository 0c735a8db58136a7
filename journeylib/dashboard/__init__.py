"""The Voilà dashboard: widget state, caching of what the engine computed, the Voilà launch.

The notebook ``notebooks/journey_dashboard.ipynb`` only calls :func:`open_dashboard` and
:func:`request_query`; ``journey dashboard`` serves it (:mod:`journeylib.dashboard.serve`).
Nothing here computes a KPI: every number comes from :class:`journeylib.journey.Journey`.

>>> from journeylib.dashboard import open_dashboard
>>> dashboard = open_dashboard("data/sample/journey.yml")  # doctest: +SKIP
>>> dashboard.apply_query("?platform=android&start=2026-08-24&end=2026-09-07")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from journeylib.dashboard.state import View, parse_query, to_query

if TYPE_CHECKING:
    from journeylib.dashboard.page import Dashboard

__all__ = ["SETTINGS_ENV", "View", "open_dashboard", "parse_query", "request_query", "to_query"]

#: What ``journey dashboard`` passes to the kernels (JSON): config, events, steps, window...
SETTINGS_ENV = "JOURNEY_DASHBOARD_SETTINGS"


def settings(**given: Any) -> dict[str, Any]:
    """The dashboard's settings: the notebook's parameters, else what the command passed."""
    passed: dict[str, Any] = {}
    text = os.environ.get(SETTINGS_ENV)
    if text:
        passed = json.loads(text)
    chosen = {key: value for key, value in given.items() if value not in (None, "", ())}
    return {**passed, **chosen}


def open_dashboard(
    config_path: str = "",
    *,
    events_path: str = "",
    steps: str = "",
    window: str = "",
    timezone: str = "",
) -> Dashboard:
    """Load the journey (from the on-disk cache when it has this data) and build the page.

    Empty parameters take the values ``journey dashboard`` passed
    (``$JOURNEY_DASHBOARD_SETTINGS``).
    """
    from journeylib.dashboard.data import open_data
    from journeylib.dashboard.page import Dashboard

    chosen = settings(
        config=config_path, events=events_path, steps=steps, window=window, timezone=timezone
    )
    step_list = tuple(s.strip() for s in str(chosen.get("steps") or "").split(",") if s.strip())
    data, _ = open_data(
        chosen.get("config") or None,
        events=chosen.get("events") or None,
        timezone=chosen.get("timezone") or "UTC",
        steps=step_list,
        window=chosen.get("window") or "",
        cache_dir=chosen.get("cache_dir") or None,
    )
    config = chosen.get("config")
    return Dashboard(data, config_path=os.path.abspath(config) if config else None)


def request_query() -> str:
    """The query string of the page's request.

    With preheated kernels Voilà starts the kernel before the request: this waits for it
    (call it once). Without preheating it is in the kernel's environment.
    """
    preheated = os.environ.get("VOILA_PREHEAT", "False") != "False"
    if preheated:
        from voila.utils import get_query_string

        return get_query_string() or ""
    return os.environ.get("QUERY_STRING", "")

"""What the session's published report shows, and readers of its HTML and notebook.

The report is the first run of ``notebooks/journey_report.ipynb`` on the small sample company
(the ``published_report`` fixture of ``tests/conftest.py``).
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

# The sample covers 2026-05-04 to 2026-10-30 (180 days); the day after its last event is
# Saturday 2026-10-31, so the last full week is Monday 19 to Sunday 25 October: ISO 2026-W43.
PERIOD = "2026-W43"
TITLE = "Customer journey report — week 2026-W43 (19 Oct – 25 Oct 2026)"
SECTIONS = [
    "Journey score",
    "Awareness",
    "Consideration",
    "Purchase",
    "Onboarding",
    "Usage",
    "Retention",
    "Advocacy",
    "Trends",
    "Funnel",
    "Friction",
    "Experiment checkout_test",
    "Retention",
    "Channels",
    "Voice of the customer",
    "Data quality",
    "Glossary",
    "About this report",
]


class _Page(HTMLParser):
    """Elements (tag, attributes, offset) and the text of a page; script bodies are not tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str], int]] = []
        self.texts: list[str] = []
        self._in_body = False
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}, len(self.texts)))
        self._in_body = self._in_body or tag == "body"
        self._skip += tag in ("script", "style", "title")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style", "title") and self._skip > 0

    def handle_data(self, data: str) -> None:
        if self._in_body and not self._skip and data.strip():
            self.texts.append(data.strip())


def parse_page(markup: str) -> _Page:
    page = _Page()
    page.feed(markup)
    page.close()
    return page


def loaded_urls(page: _Page) -> list[str]:
    """``src`` / ``href`` / ``data`` / ``poster`` attribute values of the page's elements."""
    names = ("src", "href", "data", "poster", "srcset", "action")
    return [attrs[name] for _, attrs, _ in page.elements for name in names if name in attrs]


def chart_outputs(notebook: Any) -> list[dict]:
    return [
        output["metadata"]["journeylib"]
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("metadata", {}).get("journeylib", {}).get("role") == "chart"
    ]


def outputs_of_role(notebook: Any, role: str) -> list[str]:
    return [
        output["data"]["text/plain"]
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("metadata", {}).get("journeylib", {}).get("role") == role
    ]

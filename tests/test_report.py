"""The scheduled-report path end to end: period, headline, Papermill run, HTML, email, schedule.

One small sample company (3,000 users) is generated per session and the report notebook is
executed as few times as possible: the first run, the emailed second run of the same period
(through the CLI, into the same folder) and the scheduled run are shared by many tests through
session-scoped fixtures. Email goes through a real SMTP server (aiosmtpd on 127.0.0.1, AUTH).

The helpers ``small_sample_config`` and ``published_report`` are imported by the browser and
notebook tests, so the whole suite executes the report once for all of them.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import html
import io
import json
import logging
import os
import re
import socket
import textwrap
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat
import polars as pl
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from nbformat.v4 import new_code_cell, new_notebook

from journeylib.cli import main
from journeylib.errors import DataError
from journeylib.report import resolve_period
from journeylib.report.email import SmtpSettings
from journeylib.report.run import ReportResult, run_report
from journeylib.report.schedule import load_schedule, tick
from journeylib.report.story import headline_sentences, kpi_label
from journeylib.sample import generate_sample

# aiosmtpd warns about AUTH without TLS, which the local test server does on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
REPORT_NOTEBOOK = NOTEBOOKS / "journey_report.ipynb"
SAMPLE_USERS = 3_000
SAMPLE_SEED = 7
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
SENDER = "reports@example.com"
TEAM = "team@example.com"
OWNER = "owner@example.com"
SMTP_USER = "reports"
SMTP_PASSWORD = "pw-Zq7!never-shown-9041"

_SHARED: dict[tuple[str, str], Any] = {}


def _shared(factory: pytest.TempPathFactory, key: str, build: Callable[[], Any]) -> Any:
    """Build a value once per test session (keyed by the session's base temporary folder)."""
    slot = (str(factory.getbasetemp()), key)
    if slot not in _SHARED:
        _SHARED[slot] = build()
    return _SHARED[slot]


def small_sample_config(factory: pytest.TempPathFactory) -> Path:
    """The absolute ``journey.yml`` of the session's small sample company."""

    def build() -> Path:
        result = generate_sample(factory.mktemp("sample"), users=SAMPLE_USERS, seed=SAMPLE_SEED)
        return Path(result.config_path).resolve()

    return _shared(factory, "sample", build)


@dataclass(frozen=True)
class PublishedReport:
    """The first run of the report notebook, and its files as they were right after it."""

    result: ReportResult
    out_root: Path
    html: str
    notebook: Any


def published_report(factory: pytest.TempPathFactory) -> PublishedReport:
    """Run the report notebook once for the session on the small sample."""

    def build() -> PublishedReport:
        out_root = factory.mktemp("reports")
        result = run_report(
            REPORT_NOTEBOOK,
            parameters={"config_path": str(small_sample_config(factory)), "as_of": "data_end"},
            out_root=out_root,
            timeout=300,
        )
        assert result.ok, result.error
        assert result.html is not None
        return PublishedReport(
            result=result,
            out_root=out_root,
            html=result.html.read_text(encoding="utf-8"),
            notebook=nbformat.read(result.notebook, as_version=4),
        )

    return _shared(factory, "published", build)


@pytest.fixture(scope="session")
def sample_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_sample_config(tmp_path_factory)


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory) -> PublishedReport:
    return published_report(tmp_path_factory)


# --------------------------------------------------------------------------- HTML helpers


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


# --------------------------------------------------------------------------- resolve_period


@pytest.mark.parametrize(
    ("period", "as_of", "start", "end", "label"),
    [
        # Sunday 1 Nov 2026: the week of Monday 26 Oct is not over, so W43 (19-25 Oct).
        ("last_full_week", date(2026, 11, 1), date(2026, 10, 19), date(2026, 10, 26), "2026-W43"),
        # Monday 2 Nov 2026: the week of 26 Oct has just ended.
        ("last_full_week", date(2026, 11, 2), date(2026, 10, 26), date(2026, 11, 2), "2026-W44"),
        # ISO weeks across a year end: 28 Dec 2020 starts 2020-W53, 30 Dec 2024 starts 2025-W01.
        ("last_full_week", date(2021, 1, 6), date(2020, 12, 28), date(2021, 1, 4), "2020-W53"),
        ("last_full_week", date(2025, 1, 1), date(2024, 12, 23), date(2024, 12, 30), "2024-W52"),
        ("last_full_week", date(2025, 1, 8), date(2024, 12, 30), date(2025, 1, 6), "2025-W01"),
        # Month boundaries: the first and the last day of March, a leap February, a year end.
        ("last_full_month", date(2026, 3, 1), date(2026, 2, 1), date(2026, 3, 1), "2026-02"),
        ("last_full_month", date(2026, 3, 31), date(2026, 2, 1), date(2026, 3, 1), "2026-02"),
        ("last_full_month", date(2024, 3, 15), date(2024, 2, 1), date(2024, 3, 1), "2024-02"),
        ("last_full_month", date(2026, 1, 10), date(2025, 12, 1), date(2026, 1, 1), "2025-12"),
        ("last_full_day", date(2026, 3, 1), date(2026, 2, 28), date(2026, 3, 1), "2026-02-28"),
        ("last_full_day", date(2027, 1, 1), date(2026, 12, 31), date(2027, 1, 1), "2026-12-31"),
        ("last_full_week", "2026-11-01", date(2026, 10, 19), date(2026, 10, 26), "2026-W43"),
    ],
)
def test_relative_period_is_the_last_full_one_before_as_of(period, as_of, start, end, label):
    resolved = resolve_period(period, as_of=as_of)
    assert (resolved.start, resolved.end, resolved.label) == (start, end, label)


@pytest.mark.parametrize(
    ("timezone", "expected_day"),
    [
        # 2026-10-25 23:30 UTC is already 00:30 on 26 Oct in Berlin (CET, after the DST end).
        ("Europe/Berlin", date(2026, 10, 26)),
        ("UTC", date(2026, 10, 25)),
    ],
)
def test_data_end_anchor_is_the_day_after_the_last_event_in_local_time(timezone, expected_day):
    resolved = resolve_period(
        "last_full_day",
        as_of="data_end",
        timezone=timezone,
        data_end=datetime(2026, 10, 25, 23, 30, tzinfo=UTC),
    )
    assert resolved.start == expected_day


@pytest.mark.parametrize(
    ("period", "grain", "start", "end", "label"),
    [
        # not one ISO week (Thursday to Thursday): labelled by its dates
        (
            "2026-10-01..2026-10-08",
            "week",
            date(2026, 10, 1),
            date(2026, 10, 8),
            "2026-10-01_2026-10-08",
        ),
        # exactly one period of the grain: labelled like the relative periods
        ("2026-10-05..2026-10-12", "week", date(2026, 10, 5), date(2026, 10, 12), "2026-W41"),
        ("2026-02-01..2026-03-01", "month", date(2026, 2, 1), date(2026, 3, 1), "2026-02"),
        ("2026-12-31..2027-01-01", "day", date(2026, 12, 31), date(2027, 1, 1), "2026-12-31"),
    ],
)
def test_explicit_range_is_taken_as_given_end_exclusive(period, grain, start, end, label):
    resolved = resolve_period(period, grain=grain)
    assert (resolved.start, resolved.end, resolved.grain) == (start, end, grain)
    assert resolved.label == label


@pytest.mark.parametrize(
    ("period", "as_of", "message"),
    [
        (
            "last_week",
            "now",
            "period: expected last_full_day, last_full_week, last_full_month or "
            "YYYY-MM-DD..YYYY-MM-DD (end exclusive), got 'last_week'",
        ),
        (
            "2026-10-01",
            "now",
            "period: expected last_full_day, last_full_week, last_full_month or "
            "YYYY-MM-DD..YYYY-MM-DD (end exclusive), got '2026-10-01'",
        ),
        (
            "2026-10-01..2026-13-01",
            "now",
            "period: expected last_full_day, last_full_week, last_full_month or "
            "YYYY-MM-DD..YYYY-MM-DD (end exclusive), got '2026-10-01..2026-13-01'",
        ),
        (
            "2026-10-08..2026-10-01",
            "now",
            "period '2026-10-08..2026-10-01' is empty: the end must be after the start",
        ),
        (
            "2026-10-08..2026-10-08",
            "now",
            "period '2026-10-08..2026-10-08' is empty: the end must be after the start",
        ),
        (
            "last_full_week",
            "yesterday",
            "as_of: expected 'now', 'data_end' or a date YYYY-MM-DD, got 'yesterday'",
        ),
        (
            "last_full_week",
            "data_end",
            "as_of 'data_end' needs data: the events table is empty",
        ),
    ],
)
def test_bad_period_inputs_raise_data_error_with_exact_message(period, as_of, message):
    with pytest.raises(DataError) as raised:
        resolve_period(period, as_of=as_of)
    assert str(raised.value) == message


# --------------------------------------------------------------------------- story


def kpi_rows(*rows: dict) -> pl.DataFrame:
    """A KPI table of the report period (19 Oct 2026) with the columns the story reads."""
    defaults = {
        "period_start": date(2026, 10, 19),
        "unit": "rate",
        "target": None,
        "status": None,
        "significant": False,
        "p_value": 0.5,
    }
    return pl.DataFrame(
        [{**defaults, **row} for row in rows],
        schema={
            "period_start": pl.Date,
            "kpi": pl.String,
            "direction": pl.String,
            "unit": pl.String,
            "value": pl.Float64,
            "previous": pl.Float64,
            "change": pl.Float64,
            "relative_change": pl.Float64,
            "p_value": pl.Float64,
            "significant": pl.Boolean,
            "target": pl.Float64,
            "status": pl.String,
        },
    )


def sentences_of(table: pl.DataFrame, **overrides: Any) -> list[str]:
    arguments = {
        "period_start": date(2026, 10, 19),
        "period_text": "week 43",
        "previous_label": "the previous week",
        "overall": 71.2,
        "previous_overall": 68.0,
        "currency": "EUR",
        **overrides,
    }
    return headline_sentences(table, **arguments)


def test_significant_fall_of_higher_is_better_kpi_is_worse():
    table = kpi_rows(
        {
            "kpi": "conversion_rate",
            "direction": "higher",
            "value": 0.15,
            "previous": 0.20,
            "change": -0.05,
            "relative_change": -0.25,
            "p_value": 0.0004,
            "significant": True,
        }
    )
    assert sentences_of(table)[1] == (
        "Conversion rate fell from 20.0% to 15.0% (-25%, p < 0.001): worse than the previous week."
    )


def test_significant_fall_of_lower_is_better_kpi_is_better():
    table = kpi_rows(
        {
            "kpi": "cart_abandonment_rate",
            "direction": "lower",
            "value": 0.60,
            "previous": 0.75,
            "change": -0.15,
            "relative_change": -0.2,
            "p_value": 0.012,
            "significant": True,
        }
    )
    assert sentences_of(table)[1] == (
        "Cart abandonment rate fell from 75.0% to 60.0% (-20%, p = 0.012): "
        "better than the previous week."
    )


def test_without_significant_mover_the_headline_says_noise():
    table = kpi_rows(
        {
            "kpi": "conversion_rate",
            "direction": "higher",
            "value": 0.15,
            "previous": 0.20,
            "change": -0.05,
            "relative_change": -0.25,
            "p_value": 0.2,
            "significant": False,
        }
    )
    assert sentences_of(table) == [
        "Journey score 71/100 for week 43 (68 in the previous week).",
        "No KPI moved by more than noise against the previous week (p < 0.05).",
    ]


def test_a_kpi_without_a_previous_value_is_never_a_mover():
    # a comparison period before the data: whatever the other columns say, nothing moved
    table = kpi_rows(
        {
            "kpi": "retention_rate",
            "direction": "higher",
            "value": 0.0,
            "previous": None,
            "change": -0.426,
            "relative_change": -1.0,
            "p_value": 0.0001,
            "significant": True,
        },
        {
            "kpi": "conversion_rate",
            "direction": "higher",
            "value": 0.15,
            "previous": 0.20,
            "change": -0.05,
            "relative_change": -0.25,
            "p_value": 0.2,
            "significant": False,
        },
    )
    assert sentences_of(table)[1:] == [
        "No KPI moved by more than noise against the previous week (p < 0.05)."
    ]


def test_a_comparison_without_any_data_is_said_instead_of_moves():
    table = kpi_rows(
        {
            "kpi": "conversion_rate",
            "direction": "higher",
            "value": 0.15,
            "previous": None,
            "change": 0.15,
            "relative_change": None,
            "p_value": 0.001,
            "significant": True,
        }
    )
    assert sentences_of(table, previous_overall=None) == [
        "Journey score 71/100 for week 43.",
        "No comparison with the previous week: it has no data.",
    ]


def test_headline_names_largest_relative_move_first_and_at_most_three():
    moves = [("nps", 0.10), ("csat", -0.40), ("activation_rate", 0.30), ("churn_rate", -0.05)]
    table = kpi_rows(
        *(
            {
                "kpi": kpi,
                "direction": "higher",
                "value": 1.0 + relative,
                "previous": 1.0,
                "change": relative,
                "relative_change": relative,
                "p_value": 0.01,
                "significant": True,
                "unit": "score",
            }
            for kpi, relative in moves
        )
    )
    named = [sentence.split(" ")[0] for sentence in sentences_of(table)[1:]]
    assert named == ["CSAT", "Activation", "NPS"]


def test_no_score_and_quarantined_rows_are_said():
    assert sentences_of(kpi_rows(), overall=None, previous_overall=None, quarantined=1234) == [
        "No journey score for week 43: no KPI with a target has data.",
        "No KPI moved by more than noise against the previous week (p < 0.05).",
        "1,234 rows failed validation and were quarantined (see Data quality).",
    ]


def test_target_summary_names_the_kpi_furthest_behind():
    table = kpi_rows(
        {"kpi": "nps", "direction": "higher", "unit": "score", "value": 10.0, "target": 30.0},
        {"kpi": "csat", "direction": "higher", "value": 0.7, "target": 0.8},
        {"kpi": "churn_rate", "direction": "lower", "value": 0.02, "target": 0.05},
    ).with_columns(
        status=pl.when(pl.col("kpi") == "churn_rate")
        .then(pl.lit("met"))
        .otherwise(pl.lit("missed"))
    )
    assert sentences_of(table)[-1] == (
        "1 of 3 KPIs with a target met it; furthest behind: nps at 10.0 against 30.0."
    )


@pytest.mark.parametrize(
    ("kpi", "label"),
    [
        ("conversion_rate", "Conversion rate"),
        ("nps", "NPS"),
        ("cost_per_conversion", "Cost per conversion"),
        ("arpu", "ARPU"),
        ("feature_adoption_rate[export]", "Feature adoption rate (export)"),
        ("avg_session_duration", "Avg session duration"),
        ("ltv_90d", "LTV 90d"),
    ],
)
def test_kpi_label(kpi, label):
    assert kpi_label(kpi) == label


# --------------------------------------------------------------------------- SMTP server


@dataclass
class Mailbox:
    """What a real SMTP server received: raw messages with their envelopes."""

    messages: list[tuple[list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.original_content)))
        return "250 Message accepted for delivery"

    def parsed(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(raw, policy=email.policy.default) for _, raw in self.messages
        ]


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode(),
        auth_data.password.decode(),
    ) == (SMTP_USER, SMTP_PASSWORD)
    return AuthResult(success=ok)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, SmtpSettings]]:
    """A real aiosmtpd server on 127.0.0.1 requiring AUTH; stopped on exit."""
    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticator,
        auth_require_tls=False,
        auth_required=True,
    )
    controller.start()
    try:
        yield (
            mailbox,
            SmtpSettings(
                host="127.0.0.1",
                port=port,
                security="none",
                sender=SENDER,
                user=SMTP_USER,
                password=SMTP_PASSWORD,
                timeout=10.0,
            ),
        )
    finally:
        controller.stop()


# --------------------------------------------------------------------------- first run


def test_report_run_is_ok_for_the_sample_period(published):
    assert (published.result.ok, published.result.period, published.result.title) == (
        True,
        PERIOD,
        TITLE,
    )


def test_report_folder_holds_notebook_and_html(published):
    folder = published.out_root / "journey_report" / PERIOD
    assert published.result.folder == folder
    assert (folder / "report.html").is_file()
    assert (folder / "report.ipynb").is_file()


def test_executed_notebook_metadata_names_title_and_period(published):
    metadata = published.notebook.metadata["journeylib"]
    assert (metadata["title"], metadata["period"]) == (TITLE, PERIOD)


@pytest.mark.parametrize(
    "code",
    ["ReportContext.create(", "show_headline(", "report.show_", "trend_periods = 8", "import "],
)
def test_html_holds_no_input_code(published, code):
    assert code not in published.html


def test_html_drops_analyst_only_cells(published):
    assert "This cell is not part of the rendered report" not in published.html


def test_html_loads_no_remote_url(published):
    page = parse_page(published.html)
    remote = [url for url in loaded_urls(page) if url.lower().startswith(("http:", "https:", "//"))]
    assert remote == []
    assert [attrs for tag, attrs, _ in page.elements if tag == "script" and "src" in attrs] == []
    assert [attrs for tag, attrs, _ in page.elements if tag == "link"] == []


def test_html_has_one_chart_holder_per_chart_output(published):
    page = parse_page(published.html)
    holders = [
        attrs["data-chart"]
        for _, attrs, _ in page.elements
        if "journeylib-chart" in attrs.get("class", "").split()
    ]
    names = [meta["name"] for meta in chart_outputs(published.notebook)]
    assert len(names) >= 10
    assert holders == names


def test_html_headline_comes_before_the_first_section(published):
    page = parse_page(published.html)
    headline = next(
        i for i, (_, attrs, _) in enumerate(page.elements) if attrs.get("class") == "headline"
    )
    first_section = next(i for i, (tag, _, _) in enumerate(page.elements) if tag == "h2")
    assert headline < first_section


def test_notebook_text_outputs_carry_every_section(published):
    assert outputs_of_role(published.notebook, "section") == SECTIONS


def test_headline_opens_with_the_journey_score(published):
    (headline,) = outputs_of_role(published.notebook, "headline")
    assert headline.startswith("- Journey score ")
    assert "for week 2026-W43 (19 Oct – 25 Oct 2026)" in headline


# --------------------------------------------------------------------------- emailed second run


@dataclass(frozen=True)
class EmailedRun:
    """The CLI run with --email into the first run's folder, and everything it left behind."""

    exit_code: int
    stdout: str
    stderr: str
    logs: str
    mailbox: Mailbox
    out_root: Path
    observed: list[str]


def _watch_folder(folder: Path, stop: threading.Event, observed: list[str]) -> None:
    """Record what a reader of ``folder`` sees while a run replaces it."""
    while not stop.is_set():
        try:
            entries = sorted(p.name for p in folder.iterdir())
            tail = (folder / "report.html").read_bytes()[-8:]
        except FileNotFoundError:
            observed.append("absent")
        else:
            complete = entries == ["report.html", "report.ipynb"] and tail == b"</html>\n"
            observed.append("complete" if complete else f"partial {entries} {tail!r}")
        stop.wait(0.005)


@pytest.fixture(scope="session")
def emailed(published: PublishedReport, sample_config: Path) -> Iterator[EmailedRun]:
    stdout, stderr, logs = io.StringIO(), io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(logs)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    observed: list[str] = []
    stop = threading.Event()
    folder = published.out_root / "journey_report" / PERIOD
    watcher = threading.Thread(target=_watch_folder, args=(folder, stop, observed))
    with smtp_server() as (mailbox, settings), pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "HOST": settings.host,
            "PORT": str(settings.port),
            "SECURITY": "none",
            "USER": SMTP_USER,
            "PASSWORD": SMTP_PASSWORD,
            "FROM": SENDER,
        }.items():
            patch.setenv(f"JOURNEY_SMTP_{name}", value)
        previous_level = root.level
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        watcher.start()
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                code = main(
                    [
                        "report",
                        "run",
                        str(REPORT_NOTEBOOK),
                        "-p",
                        "config_path",
                        str(sample_config),
                        "--email",
                        "--to",
                        TEAM,
                        "--owner",
                        OWNER,
                        "--out",
                        str(published.out_root),
                    ]
                )
        finally:
            stop.set()
            watcher.join()
            root.removeHandler(handler)
            root.setLevel(previous_level)
        yield EmailedRun(
            exit_code=code,
            stdout=stdout.getvalue(),
            stderr=stderr.getvalue(),
            logs=logs.getvalue(),
            mailbox=mailbox,
            out_root=published.out_root,
            observed=observed,
        )


@pytest.fixture(scope="session")
def report_mail(emailed: EmailedRun) -> EmailMessage:
    (message,) = emailed.mailbox.parsed()
    return message


def structure(part: EmailMessage) -> Any:
    if part.is_multipart():
        return (part.get_content_type(), [structure(child) for child in part.iter_parts()])
    return part.get_content_type()


def test_cli_run_exits_0_and_prints_the_html_path(emailed):
    html = emailed.out_root / "journey_report" / PERIOD / "report.html"
    assert emailed.exit_code == 0, emailed.stderr
    assert f"report written: {html}" in emailed.stdout.splitlines()


def test_second_run_replaces_the_report_folder(emailed, published):
    folder = emailed.out_root / "journey_report" / PERIOD
    second = nbformat.read(folder / "report.ipynb", as_version=4).metadata["journeylib"]
    first = published.notebook.metadata["journeylib"]
    assert (second["period"], second["title"]) == (first["period"], first["title"])
    assert second["generated_at"] > first["generated_at"]


def test_second_run_leaves_no_staging_or_old_folder(emailed):
    assert sorted(p.name for p in (emailed.out_root / "journey_report").iterdir()) == [PERIOD]


def test_readers_never_see_a_half_written_report_during_replacement(emailed):
    assert emailed.observed.count("complete") > 10
    assert {state for state in emailed.observed if state not in ("complete", "absent")} == set()


def test_one_report_email_goes_to_the_recipients(emailed):
    assert [recipients for recipients, _ in emailed.mailbox.messages] == [[TEAM]]


def test_cli_prints_who_was_emailed(emailed):
    assert f"emailed to: {TEAM}" in emailed.stdout.splitlines()


def test_email_subject_is_the_title_with_the_period(report_mail):
    assert report_mail["Subject"] == TITLE
    assert (report_mail["From"], report_mail["To"]) == (SENDER, TEAM)


def test_email_is_mixed_alternative_related_with_html_attachment(report_mail):
    kind, parts = structure(report_mail)
    assert kind == "multipart/mixed"
    assert len(parts) == 2
    alternative, attachment = parts
    assert attachment == "text/html"
    assert alternative[0] == "multipart/alternative"
    plain, related = alternative[1]
    assert plain == "text/plain"
    assert related[0] == "multipart/related"
    assert related[1][0] == "text/html"
    assert len(related[1]) >= 2
    assert set(related[1][1:]) == {"image/png"}


def test_email_attachment_is_the_report_html(report_mail, emailed):
    (attachment,) = report_mail.iter_attachments()
    html = emailed.out_root / "journey_report" / PERIOD / "report.html"
    assert attachment.get_filename() == f"journey_report-{PERIOD}.html"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_payload(decode=True) == html.read_bytes()


def test_email_attachment_declares_its_utf8_charset(report_mail):
    (attachment,) = report_mail.iter_attachments()
    assert attachment.get_content_charset() == "utf-8"
    assert "–" in attachment.get_content()


def email_html(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()


def test_email_body_opens_with_the_headline(report_mail):
    texts = parse_page(email_html(report_mail)).texts
    assert texts[0].startswith("Journey score ")
    assert "for week 2026-W43" in texts[0]


def test_every_cid_has_an_inline_image_part(report_mail):
    page = parse_page(email_html(report_mail))
    cids = [url.removeprefix("cid:") for url in loaded_urls(page) if url.startswith("cid:")]
    related = next(p for p in report_mail.walk() if p.get_content_type() == "multipart/related")
    images = {
        part["Content-ID"].strip("<>"): part.get_content_disposition()
        for part in related.iter_parts()
        if part.get_content_type() == "image/png"
    }
    assert len(cids) >= 1
    assert sorted(cids) == sorted(images)
    assert set(images.values()) == {"inline"}


def test_email_body_has_no_script_or_style_element(report_mail):
    tags = {tag for tag, _, _ in parse_page(email_html(report_mail)).elements}
    assert tags.isdisjoint({"script", "style"})


def test_email_body_loads_no_remote_url(report_mail):
    urls = loaded_urls(parse_page(email_html(report_mail)))
    assert [u for u in urls if not u.startswith(("cid:", "#", "mailto:"))] == []


@pytest.mark.parametrize("where", ["raw message", "stdout", "stderr", "logs", "report files"])
def test_password_appears_nowhere(emailed, where):
    secret = SMTP_PASSWORD.encode()
    if where == "raw message":
        haystacks = [raw for _, raw in emailed.mailbox.messages]
    elif where == "report files":
        haystacks = [p.read_bytes() for p in emailed.out_root.rglob("*") if p.is_file()]
    else:
        haystacks = [getattr(emailed, where).encode()]
    assert haystacks
    assert all(secret not in haystack for haystack in haystacks)


# --------------------------------------------------------------------------- failure path

ERROR_TEXT = "the orders table went missing"


def write_failing_notebook(folder: Path, name: str = "failing_report") -> Path:
    notebook = new_notebook(
        cells=[
            new_code_cell("source = 'orders'", metadata={"tags": ["parameters"]}),
            new_code_cell(f"raise RuntimeError({ERROR_TEXT!r} + ' (' + source + ')')"),
        ]
    )
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


@dataclass(frozen=True)
class FailedRun:
    result: ReportResult
    out_root: Path
    mailbox: Mailbox


@pytest.fixture(scope="module")
def failed(tmp_path_factory: pytest.TempPathFactory) -> FailedRun:
    folder = tmp_path_factory.mktemp("failing")
    notebook = write_failing_notebook(folder)
    out_root = folder / "reports"
    with smtp_server() as (mailbox, settings):
        result = run_report(
            notebook,
            parameters={"source": "orders-2026"},
            out_root=out_root,
            owner=OWNER,
            smtp=settings,
            timeout=60,
        )
    return FailedRun(result, out_root, mailbox)


def test_failing_notebook_run_is_not_ok(failed):
    assert failed.result.ok is False
    assert failed.result.html is None
    assert f"RuntimeError: {ERROR_TEXT} (orders-2026)" in failed.result.error


def test_failing_notebook_publishes_no_report_folder(failed):
    assert [p.name for p in (failed.out_root / "failing_report").iterdir()] == ["_failed"]


def test_failing_notebook_is_kept_under_failed(failed):
    (kept,) = (failed.out_root / "failing_report" / "_failed").iterdir()
    assert failed.result.notebook == kept / "report.ipynb"
    executed = nbformat.read(kept / "report.ipynb", as_version=4)
    assert executed.metadata["papermill"]["exception"] is True


def test_failure_alerts_the_owner_once(failed):
    assert failed.result.alerted == OWNER
    assert [recipients for recipients, _ in failed.mailbox.messages] == [[OWNER]]


def test_failure_alert_holds_the_error_and_the_kept_notebook(failed):
    (alert,) = failed.mailbox.parsed()
    text = alert.get_body(preferencelist=("plain",)).get_content()
    assert alert["To"] == OWNER
    assert f"{ERROR_TEXT} (orders-2026)" in text
    assert str(failed.result.notebook) in text


def test_failure_alert_carries_no_report(failed):
    (alert,) = failed.mailbox.parsed()
    assert list(alert.iter_attachments()) == []
    assert {part.get_content_type() for part in alert.walk()} <= {"text/plain", "multipart/mixed"}


# --------------------------------------------------------------------------- CLI exit codes


def test_cli_exits_1_for_a_failing_notebook(tmp_path, capsys):
    notebook = write_failing_notebook(tmp_path)
    code = main(["report", "run", str(notebook), "--out", str(tmp_path / "reports")])
    err = capsys.readouterr().err
    assert code == 1
    assert f"journey report run: failing_report failed: RuntimeError: {ERROR_TEXT}" in err
    assert "no report was published; executed notebook kept: " in err


def test_cli_says_why_the_owner_alert_could_not_be_sent(tmp_path, capsys, monkeypatch):
    for variable in ("HOST", "PORT", "SECURITY", "USER", "PASSWORD", "FROM"):
        monkeypatch.delenv(f"JOURNEY_SMTP_{variable}", raising=False)
    notebook = write_failing_notebook(tmp_path)
    code = main(
        ["report", "run", str(notebook), "--out", str(tmp_path / "reports"), "--owner", OWNER]
    )
    err = capsys.readouterr().err
    assert code == 1
    (said,) = [line for line in err.splitlines() if "alert" in line]
    assert said == (
        f"journey report run: the alert to {OWNER} could not be sent: mail settings: "
        "JOURNEY_SMTP_HOST is required (the SMTP server), found nothing; JOURNEY_SMTP_FROM is "
        "required: an address such as reports@example.com, found ''"
    )


def test_the_stored_report_shows_sources_relative_to_the_config(published, sample_config):
    folder = str(sample_config.parent)
    outputs = json.dumps([cell.get("outputs", []) for cell in published.notebook.cells])
    assert folder not in outputs
    assert folder not in published.html
    assert "<td>source of events (relative to the config)</td><td>events</td>" in published.html
    (shown,) = re.findall(r"<td>parameter config_path</td><td>(.*?)</td>", published.html)
    assert html.unescape(shown) == "'journey.yml'"


def test_cli_exits_2_for_an_unknown_report_and_lists_the_known_ones(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    code = main(["report", "run", "no_such_report", "--out", str(tmp_path / "reports")])
    err = capsys.readouterr().err
    assert code == 2
    assert "no report named 'no_such_report'" in err
    known = ", ".join(path.stem for path in sorted(NOTEBOOKS.glob("*.ipynb")))
    assert "journey_report" in known
    assert err.rstrip().endswith(f"reports: {known}")
    assert not (tmp_path / "reports").exists()


# --------------------------------------------------------------------------- schedule tick


def test_schedule_tick_runs_the_due_report_with_the_real_runner(
    tmp_path, sample_config, monkeypatch
):
    schedule_file = tmp_path / "schedule.yml"
    schedule_file.write_text(
        textwrap.dedent(
            f"""\
            timezone: UTC
            jobs:
              - name: weekly-journey
                cron: "0 7 * * MON"
                notebook: {REPORT_NOTEBOOK}
                parameters:
                  config_path: {sample_config}
                  as_of: data_end
            """
        ),
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    schedule = load_schedule(schedule_file)
    state = tmp_path / "state.json"
    first = tick(schedule, state_path=state, now=datetime(2026, 11, 2, 6, 0, tzinfo=UTC))
    assert (first.initialised, first.runs) == (("weekly-journey",), ())
    second = tick(schedule, state_path=state, now=datetime(2026, 11, 2, 7, 30, tzinfo=UTC))
    html = tmp_path / "reports" / "journey_report" / PERIOD / "report.html"
    assert [(run.slot, run.status, run.report) for run in second.runs] == [
        (
            datetime(2026, 11, 2, 7, 0, tzinfo=UTC),
            "ok",
            Path("reports/journey_report") / PERIOD / "report.html",
        )
    ]
    assert html.is_file()
    assert os.path.getsize(html) > 100_000

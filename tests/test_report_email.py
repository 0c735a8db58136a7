"""The report email: body from a tagged notebook, MIME structure, delivery through a real server.

Every delivery test talks to a real SMTP server (aiosmtpd on 127.0.0.1 and a free port) and
parses what the server received with the ``email`` package.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import logging
import socket
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import altair as alt
import nbformat
import polars as pl
import pytest
import vl_convert
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from nbformat.v4 import new_code_cell, new_notebook, new_output

from journeylib.errors import ConfigError, JourneyError
from journeylib.report.email import (
    Attachment,
    EmailBody,
    EmailContentError,
    EmailDeliveryError,
    MailSettingsError,
    SmtpSettings,
    build_failure_alert,
    build_message,
    email_body_from_notebook,
    send_message,
)
from journeylib.report.email._delivery import DeliveryJournal, DeliveryJournalError, deliver
from journeylib.report.email._inline import inline_styles

SENDER = "reports@example.com"
ALICE = "alice@example.com"
BOB = "bob@example.com"
USER = "reports"
PASSWORD = "Tr0ub4dor&3-not-for-logs"
HEADLINE_TEXT = "Journey score 72 (+3 vs last week). Activation rose 4 points."
# aiosmtpd warns about AUTH without TLS, which is what the local test server does on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
REPORT_HTML = b"<!DOCTYPE html><html><body><h1>Full report</h1></body></html>"


# --- notebook -----------------------------------------------------------------------------------


def tagged(role: str, data: dict[str, Any], **extra: Any) -> Any:
    """A display_data output carrying the journeylib role metadata."""
    return new_output("display_data", data=data, metadata={"journeylib": {"role": role, **extra}})


def notebook_of(*outputs: Any) -> Any:
    notebook = new_notebook(
        metadata={
            "journeylib": {
                "title": "Customer journey",
                "period": "2026-W43",
                "generated_at": "2026-10-26T06:00:00+00:00",
            }
        }
    )
    notebook.cells = [new_code_cell("report_cell()", outputs=[output]) for output in outputs]
    return notebook


def png_of_width(width: int, height: int = 10) -> bytes:
    """A valid grey PNG of the given size, written by hand (independent of any renderer)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\x80" * width for _ in range(height)))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def chart_output(name: str, png: bytes, title: str = "Weekly journey score", **extra: Any) -> Any:
    data = {
        "text/html": '<div id="vis"></div><script src="https://cdn.example/vega.js"></script>',
        "image/png": base64.b64encode(png).decode(),
        "text/plain": title,
    }
    return tagged("chart", data, name=name, title=title, **extra)


@pytest.fixture(scope="module")
def chart_png() -> bytes:
    chart = (
        alt.Chart(pl.DataFrame({"week": ["W42", "W43"], "score": [69.0, 72.0]}))
        .mark_bar()
        .encode(x="week:N", y="score:Q")
    )
    return vl_convert.vegalite_to_png(chart.to_dict(), scale=1)


@pytest.fixture
def report_notebook(chart_png: bytes) -> Any:
    """Section, table, chart, an untagged output, and the headline last (it must move up)."""
    table = (
        "<table><tr><th>KPI</th><th>Value</th></tr>"
        '<tr><td>Activation</td><td class="num good">+4.0</td></tr>'
        '<tr><td>Churn</td><td class="num bad">+1.2</td></tr></table>'
        "<style>td { color: red }</style>"
    )
    notebook = notebook_of(
        tagged("section", {"text/html": "<h2>Usage</h2>", "text/plain": "Usage"}),
        tagged("text", {"text/html": "<p>Usage held steady.</p>", "text/plain": "Usage held."}),
        tagged("table", {"text/html": table, "text/plain": "KPI  Value"}, name="movers"),
        chart_output("weekly-score", chart_png),
        new_output("display_data", data={"text/plain": "debug output, not for mail"}),
        tagged(
            "headline",
            {"text/html": f"<p><strong>{HEADLINE_TEXT}</strong></p>", "text/plain": HEADLINE_TEXT},
        ),
    )
    nbformat.validate(notebook)
    return notebook


class VisibleText(HTMLParser):
    """The text of the <body>, in order, without markup."""

    def __init__(self) -> None:
        super().__init__()
        self.in_body = False
        self.chunks: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.in_body = self.in_body or tag == "body"

    def handle_data(self, data: str) -> None:
        if self.in_body and data.strip():
            self.chunks.append(data.strip())


def body_texts(document: str) -> list[str]:
    parser = VisibleText()
    parser.feed(document)
    return parser.chunks


# --- body ---------------------------------------------------------------------------------------


def test_headline_opens_the_html_body_even_when_it_comes_last(report_notebook: Any) -> None:
    body = email_body_from_notebook(report_notebook)
    assert body_texts(body.html)[0] == HEADLINE_TEXT


def test_headline_opens_the_text_alternative(report_notebook: Any) -> None:
    body = email_body_from_notebook(report_notebook)
    assert body.text.startswith(HEADLINE_TEXT + "\n")


def test_content_follows_notebook_order_and_skips_untagged_outputs(report_notebook: Any) -> None:
    texts = body_texts(email_body_from_notebook(report_notebook).html)
    assert texts[2:5] == ["Usage", "Usage held steady.", "KPI"]
    assert "debug output, not for mail" not in " ".join(texts)


def test_subject_hint_is_title_and_period(report_notebook: Any) -> None:
    assert email_body_from_notebook(report_notebook).subject_hint == "Customer journey — 2026-W43"


@pytest.mark.parametrize("forbidden", ["<script", "<style", "https://", "http://", "<link"])
def test_html_has_no_scripts_styles_or_remote_resources(
    report_notebook: Any, forbidden: str
) -> None:
    assert forbidden not in email_body_from_notebook(report_notebook).html.lower()


def test_footer_says_the_interactive_report_is_attached(report_notebook: Any) -> None:
    body = email_body_from_notebook(report_notebook)
    assert "full interactive report is attached" in body_texts(body.html)[-1]
    assert "<a " not in body.html


def test_chart_becomes_a_cid_image_with_its_png(report_notebook: Any, chart_png: bytes) -> None:
    body = email_body_from_notebook(report_notebook)
    assert dict(body.images) == {"chart-weekly-score@journeylib": chart_png}
    assert 'src="cid:chart-weekly-score@journeylib" alt="Weekly journey score"' in body.html
    assert "[Chart: Weekly journey score]" in body.text


@pytest.mark.parametrize(
    ("png_width", "extra", "shown"),
    [(300, {}, 300), (1200, {}, 600), (1200, {"width": 450}, 450)],
)
def test_chart_width_is_the_png_width_capped_at_600(
    png_width: int, extra: dict[str, Any], shown: int
) -> None:
    body = email_body_from_notebook(
        notebook_of(chart_output("c", png_of_width(png_width), **extra))
    )
    assert f'width="{shown}"' in body.html


@pytest.mark.parametrize(("rows", "warned"), [(10, False), (1000, True)])
def test_html_large_enough_for_gmail_to_clip_is_logged(
    rows: int, warned: bool, caplog: pytest.LogCaptureFixture
) -> None:
    table = "<table>" + '<tr><td class="num">1</td></tr>' * rows + "</table>"
    notebook = notebook_of(tagged("table", {"text/html": table, "text/plain": "t"}, name="t"))
    with caplog.at_level(logging.WARNING, logger="journeylib.report.email"):
        email_body_from_notebook(notebook)
    assert ("Gmail clips it" in caplog.text) is warned


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        (
            '<td class="num good">+4.0</td>',
            '<td style="padding:6px 8px;border:1px solid #d0d7de;text-align:left;'
            "vertical-align:top;text-align:right;white-space:nowrap;color:#1a7f37;"
            'font-weight:bold;" align="right">+4.0</td>',
        ),
        (
            '<span class="muted">n/a</span>',
            '<span style="color:#6e7781;">n/a</span>',
        ),
        (
            "<p>Up<script>alert(1)</script></p>",
            '<p style="margin:0 0 12px 0;font-family:Arial,Helvetica,sans-serif;font-size:14px;'
            'line-height:20px;color:#1f2328;">Up</p>',
        ),
        ("<style>p { color: red }</style><b>x</b>", "<b>x</b>"),
        ('<b onclick="steal()">x</b>', "<b>x</b>"),
        ('<a href="javascript:steal()">x</a>', "<a>x</a>"),
        ('<img src="https://tracker.example/p.gif"><b>x</b>', "<b>x</b>"),
        (
            '<span style="background:url(https://x.example/a.png);color:#000">x</span>',
            '<span style="color:#000;">x</span>',
        ),
        ("<b>1 &lt; 2 &amp; 3</b>", "<b>1 &lt; 2 &amp; 3</b>"),
    ],
)
def test_inliner_styles_and_sanitises(fragment: str, expected: str) -> None:
    assert inline_styles(fragment) == expected


def test_table_gets_outlook_attributes() -> None:
    assert 'cellpadding="6" cellspacing="0" border="0" width="100%"' in inline_styles(
        "<table><tr><td>1</td></tr></table>"
    )


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        ([tagged("chart", {"text/plain": "t"}, name="c")], "needs image/png"),
        ([chart_output("c", png_of_width(10)), chart_output("c", png_of_width(10))], "used twice"),
        ([chart_output("two words", png_of_width(10))], "must be a slug"),
        ([tagged("chart", {"image/png": "bm90IGEgcG5n"}, name="c")], "not a base64-encoded PNG"),
        ([tagged("headline", {"text/html": "<p>a</p>"})] * 2, "second 'headline'"),
        ([tagged("table", {"text/plain": "x"})], "needs text/html"),
        ([tagged("kpi", {"text/html": "x"})], "unknown journeylib role 'kpi'"),
    ],
)
def test_bad_tagged_outputs_raise(outputs: list[Any], message: str) -> None:
    with pytest.raises(EmailContentError, match=message):
        email_body_from_notebook(notebook_of(*outputs))


def test_notebook_without_title_and_period_raises() -> None:
    notebook = notebook_of()
    notebook.metadata["journeylib"] = {"generated_at": "2026-10-26T06:00:00+00:00"}
    with pytest.raises(EmailContentError, match="lacks title, period"):
        email_body_from_notebook(notebook)


# --- message ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "images", "message"),
    [
        ('<img src="cid:chart-a@journeylib">', {}, "without an image: chart-a@journeylib"),
        ("<p>no chart</p>", {"chart-a@journeylib": b"png"}, "never referenced"),
    ],
)
def test_cids_and_images_must_match(html: str, images: dict[str, bytes], message: str) -> None:
    body = EmailBody(subject_hint="s", html=html, text="t", images=images)
    with pytest.raises(EmailContentError, match=message):
        build_message(body, subject="s", sender=SENDER, recipients=[ALICE])


@pytest.mark.parametrize(
    ("subject", "recipients"), [("s", []), ("s", ALICE), ("s\nBcc: x@evil.example", [ALICE])]
)
def test_bad_headers_raise(subject: str, recipients: Any) -> None:
    body = EmailBody(subject_hint="s", html="<p>x</p>", text="x")
    with pytest.raises(EmailContentError):
        build_message(body, subject=subject, sender=SENDER, recipients=recipients)


def test_failure_alert_is_plain_text_with_the_traceback_tail() -> None:
    traceback = "\n".join(f"  frame {n}" for n in range(30)) + "\nDataError: no events in 2026-W43"
    alert = build_failure_alert(
        job="weekly-journey",
        error=traceback,
        notebook_path="/srv/reports/failed/weekly-2026-W43.ipynb",
        sender=SENDER,
        owner=ALICE,
    )
    text = alert.get_content()
    assert alert["Subject"] == "[journey report failed] weekly-journey"
    assert alert.get_content_type() == "text/plain"
    assert "DataError: no events in 2026-W43" in text
    assert "frame 11" in text
    assert "frame 10\n" not in text  # only the last 20 lines of the traceback
    assert "/srv/reports/failed/weekly-2026-W43.ipynb" in text


# --- SMTP settings ------------------------------------------------------------------------------

BASE_ENV = {"JOURNEY_SMTP_HOST": "smtp.example.com", "JOURNEY_SMTP_FROM": SENDER}


@pytest.mark.parametrize(
    ("security", "port"), [(None, 587), ("starttls", 587), ("ssl", 465), ("none", 25)]
)
def test_default_port_follows_security(security: str | None, port: int) -> None:
    env = BASE_ENV | ({"JOURNEY_SMTP_SECURITY": security} if security else {})
    settings = SmtpSettings.from_env(env)
    assert (settings.port, settings.security, settings.timeout) == (
        port,
        security or "starttls",
        30.0,
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"JOURNEY_SMTP_FROM": SENDER}, "JOURNEY_SMTP_HOST"),
        ({"JOURNEY_SMTP_HOST": "smtp.example.com"}, "JOURNEY_SMTP_FROM"),
        (BASE_ENV | {"JOURNEY_SMTP_SECURITY": "tls"}, "JOURNEY_SMTP_SECURITY"),
        (BASE_ENV | {"JOURNEY_SMTP_PORT": "smtp"}, "JOURNEY_SMTP_PORT"),
        (BASE_ENV | {"JOURNEY_SMTP_PORT": "70000"}, "JOURNEY_SMTP_PORT"),
        (BASE_ENV | {"JOURNEY_SMTP_TIMEOUT": "-1"}, "JOURNEY_SMTP_TIMEOUT"),
        (BASE_ENV | {"JOURNEY_SMTP_PASSWORD": PASSWORD}, "JOURNEY_SMTP_USER"),
    ],
)
def test_missing_or_invalid_variables_raise(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable) as raised:
        SmtpSettings.from_env(env)
    assert raised.value.file == "<environment>"
    assert PASSWORD not in str(raised.value)


def test_settings_never_show_the_password() -> None:
    env = BASE_ENV | {"JOURNEY_SMTP_USER": USER, "JOURNEY_SMTP_PASSWORD": PASSWORD}
    settings = SmtpSettings.from_env(env)
    assert "password=***" in repr(settings)
    assert PASSWORD not in repr(settings) + str(settings) + f"{settings!s}"


# --- a real SMTP server ---------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class RecordingHandler:
    """Accepts everything and keeps what it received."""

    received: list[Received] = field(default_factory=list)
    data_attempts: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_attempts += 1
        reply = self.reply_to_data()
        if reply.startswith("250"):
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
            )
        return reply

    def reply_to_data(self) -> str:
        return "250 OK"


@dataclass
class FlakyHandler(RecordingHandler):
    """Answers 451 (try again later) to the first ``failures`` messages, then accepts."""

    failures: int = 0

    def reply_to_data(self) -> str:
        if self.data_attempts <= self.failures:
            return "451 4.3.0 Mail server temporarily busy"
        return "250 OK"


@dataclass
class RejectingHandler(RecordingHandler):
    """Answers 550 to every message."""

    def reply_to_data(self) -> str:
        return "550 5.7.1 Message rejected by policy"


@dataclass
class RecipientRefusingHandler(RecordingHandler):
    """Refuses the listed recipients with 550."""

    refused: tuple[str, ...] = ()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def echoing_authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    """Accepts USER/PASSWORD; a misbehaving server that echoes the password when it fails."""
    assert isinstance(auth_data, LoginPassword)
    if auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD:
        return AuthResult(success=True)
    echoed = f"535 5.7.8 Bad credentials {auth_data.password.decode()}"
    return AuthResult(success=False, handled=False, message=echoed)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


StartServer = Callable[..., SmtpSettings]


@pytest.fixture
def smtp_server() -> Iterator[StartServer]:
    """Start aiosmtpd on 127.0.0.1 with a handler; returns settings that reach it."""
    controllers: list[Controller] = []

    def start(handler: Any, *, user: str | None = None, password: str | None = None, **kw: Any):
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kw)
        controller.start()
        controllers.append(controller)
        return SmtpSettings(
            host="127.0.0.1",
            port=port,
            security="none",
            sender=SENDER,
            user=user,
            password=password,
            timeout=5.0,
        )

    yield start
    for controller in controllers:
        controller.stop()


class Delays(list[float]):
    """An injected ``sleep`` that records the delays instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def report_message(notebook: Any, recipients: list[str] = [ALICE]) -> EmailMessage:  # noqa: B006
    body = email_body_from_notebook(notebook)
    return build_message(
        body,
        subject=body.subject_hint,
        sender=SENDER,
        recipients=recipients,
        attachments=[Attachment("customer-journey-2026-W43.html", REPORT_HTML, "text/html")],
    )


def parsed(received: Received) -> EmailMessage:
    return email.message_from_bytes(received.content, policy=email.policy.default)


def structure(part: EmailMessage) -> Any:
    if part.is_multipart():
        return (part.get_content_type(), [structure(child) for child in part.iter_parts()])
    return part.get_content_type()


@pytest.fixture
def delivered(report_notebook: Any, smtp_server: StartServer) -> EmailMessage:
    """The report as the server received it, sent with AUTH."""
    handler = RecordingHandler()
    settings = smtp_server(
        handler,
        user=USER,
        password=PASSWORD,
        authenticator=echoing_authenticator,
        auth_require_tls=False,
        auth_required=True,
    )
    send_message(report_message(report_notebook), settings, sleep=Delays())
    (received,) = handler.received
    assert PASSWORD.encode() not in received.content
    return parsed(received)


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()


def test_received_message_is_mixed_alternative_related(delivered: EmailMessage) -> None:
    assert structure(delivered) == (
        "multipart/mixed",
        [
            (
                "multipart/alternative",
                ["text/plain", ("multipart/related", ["text/html", "image/png"])],
            ),
            "text/html",
        ],
    )


def test_received_headers(delivered: EmailMessage) -> None:
    assert (delivered["Subject"], delivered["From"], delivered["To"]) == (
        "Customer journey — 2026-W43",
        SENDER,
        ALICE,
    )


def test_received_html_starts_with_the_headline(delivered: EmailMessage) -> None:
    assert body_texts(html_of(delivered))[0] == HEADLINE_TEXT


def test_received_html_has_no_script_or_style(delivered: EmailMessage) -> None:
    html = html_of(delivered).lower()
    assert "<script" not in html
    assert "<style" not in html


def test_every_cid_has_an_inline_image_part(delivered: EmailMessage, chart_png: bytes) -> None:
    related = next(p for p in delivered.walk() if p.get_content_type() == "multipart/related")
    images = {
        part["Content-ID"]: (part.get_content_disposition(), part.get_content())
        for part in related.iter_parts()
        if part.get_content_type() == "image/png"
    }
    assert "cid:chart-weekly-score@journeylib" in html_of(delivered)
    assert images == {"<chart-weekly-score@journeylib>": ("inline", chart_png)}


def test_report_attachment_is_present(delivered: EmailMessage) -> None:
    (attachment,) = list(delivered.iter_attachments())
    assert attachment.get_filename() == "customer-journey-2026-W43.html"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_content().encode() == REPORT_HTML


def test_login_and_send_report_what_was_accepted(
    report_notebook: Any, smtp_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="journeylib.report.email")
    handler = RecordingHandler()
    settings = smtp_server(
        handler,
        user=USER,
        password=PASSWORD,
        authenticator=echoing_authenticator,
        auth_require_tls=False,
        auth_required=True,
    )
    report = send_message(report_message(report_notebook, [ALICE, BOB]), settings)
    assert (report.attempts, report.accepted, dict(report.refused)) == (1, (ALICE, BOB), {})
    assert handler.received[0].rcpt_tos == [ALICE, BOB]
    assert PASSWORD not in caplog.text


def test_wrong_password_is_a_clear_error_without_the_password(
    report_notebook: Any, smtp_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="journeylib.report.email")
    handler = RecordingHandler()
    wrong = "wrong-" + PASSWORD
    settings = smtp_server(
        handler,
        user=USER,
        password=wrong,
        authenticator=echoing_authenticator,
        auth_require_tls=False,
        auth_required=True,
    )
    delays = Delays()
    with pytest.raises(EmailDeliveryError) as raised:
        send_message(report_message(report_notebook), settings, sleep=delays)
    text = str(raised.value)
    assert f"127.0.0.1:{settings.port}" in text
    assert "authentication failed for user 'reports': 535" in text
    assert (raised.value.code, raised.value.attempts, delays) == (535, 1, [])
    assert wrong not in text
    assert wrong not in caplog.text
    assert handler.received == []


def test_transient_451_is_retried_with_exponential_backoff(
    report_notebook: Any, smtp_server: StartServer
) -> None:
    handler = FlakyHandler(failures=2)
    delays = Delays()
    report = send_message(report_message(report_notebook), smtp_server(handler), sleep=delays)
    assert (report.attempts, delays, len(handler.received)) == (3, [2.0, 4.0], 1)


def test_transient_failures_give_up_after_the_last_attempt(
    report_notebook: Any, smtp_server: StartServer
) -> None:
    handler = FlakyHandler(failures=10)
    delays = Delays()
    with pytest.raises(EmailDeliveryError, match=r"gave up after 3 attempts: .*451") as raised:
        send_message(
            report_message(report_notebook),
            smtp_server(handler),
            attempts=3,
            backoff=0.5,
            sleep=delays,
        )
    assert (raised.value.attempts, delays, handler.data_attempts) == (3, [0.5, 1.0], 3)


def test_permanent_550_raises_at_once(report_notebook: Any, smtp_server: StartServer) -> None:
    delays = Delays()
    settings = smtp_server(RejectingHandler())
    with pytest.raises(EmailDeliveryError) as raised:
        send_message(report_message(report_notebook), settings, sleep=delays)
    assert str(raised.value) == (
        f"127.0.0.1:{settings.port}: server replied 550 5.7.1 Message rejected by policy"
    )
    assert (raised.value.code, delays) == (550, [])


def test_partial_refusal_is_reported_not_raised(
    report_notebook: Any, smtp_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="journeylib.report.email")
    handler = RecipientRefusingHandler(refused=(BOB,))
    report = send_message(report_message(report_notebook, [ALICE, BOB]), smtp_server(handler))
    assert report.accepted == (ALICE,)
    assert dict(report.refused) == {BOB: (550, "5.1.1 No such user here")}
    assert handler.received[0].rcpt_tos == [ALICE]
    assert f"delivered anyway, but refused for: {BOB} (550 5.1.1 No such user here)" in caplog.text


def test_all_recipients_refused_raises_naming_them(
    report_notebook: Any, smtp_server: StartServer
) -> None:
    handler = RecipientRefusingHandler(refused=(ALICE, BOB))
    with pytest.raises(EmailDeliveryError, match="every recipient refused") as raised:
        send_message(report_message(report_notebook, [ALICE, BOB]), smtp_server(handler))
    assert sorted(raised.value.refused) == [ALICE, BOB]
    assert f"{ALICE} (550 5.1.1 No such user here)" in str(raised.value)


def test_connection_refused_is_retried(report_notebook: Any) -> None:
    settings = SmtpSettings(
        host="127.0.0.1", port=free_port(), security="none", sender=SENDER, timeout=2.0
    )
    delays = Delays()
    with pytest.raises(EmailDeliveryError, match=r"gave up after 3 attempts: .*ConnectionRefused"):
        send_message(report_message(report_notebook), settings, attempts=3, sleep=delays)
    assert delays == [2.0, 4.0]


def test_failure_alert_reaches_the_owner(smtp_server: StartServer) -> None:
    handler = RecordingHandler()
    alert = build_failure_alert(
        job="weekly-journey",
        error="Traceback (most recent call last):\nDataError: no events",
        notebook_path="/srv/reports/failed/weekly.ipynb",
        sender=SENDER,
        owner=ALICE,
    )
    send_message(alert, smtp_server(handler))
    (received,) = handler.received
    message = parsed(received)
    assert (received.rcpt_tos, structure(message)) == ([ALICE], "text/plain")
    assert "DataError: no events" in message.get_content()


def test_delivery_error_is_a_journey_error() -> None:
    assert issubclass(EmailDeliveryError, JourneyError)
    assert issubclass(EmailContentError, JourneyError)


@pytest.mark.parametrize(
    ("security", "reason"),
    [("starttls", "STARTTLS extension not supported"), ("ssl", "TLS failed")],
)
def test_tls_mismatch_is_permanent(
    report_notebook: Any, smtp_server: StartServer, security: str, reason: str
) -> None:
    plain = smtp_server(RecordingHandler())
    settings = SmtpSettings(
        host=plain.host, port=plain.port, security=security, sender=SENDER, timeout=5.0
    )
    delays = Delays()
    with pytest.raises(EmailDeliveryError, match=reason):
        send_message(report_message(report_notebook), settings, sleep=delays)
    assert delays == []


# --- at most once: the delivery log and a connection broken after the content ------------------


@dataclass
class RecordingLog:
    """A DeliveryLog that notes each call, and what the server had received by then."""

    handler: RecordingHandler
    calls: list[tuple[str, tuple[str, ...], int]] = field(default_factory=list)

    def sending(self, recipients: tuple[str, ...]) -> None:
        self.calls.append(("sending", recipients, len(self.handler.received)))

    def accepted(self, recipients: tuple[str, ...]) -> None:
        self.calls.append(("accepted", recipients, len(self.handler.received)))

    def not_sent(self, recipients: tuple[str, ...]) -> None:
        self.calls.append(("not_sent", recipients, len(self.handler.received)))


@dataclass
class QuitWatchingHandler(RecordingHandler):
    """Notes when QUIT arrives, to show the delivery is recorded before it."""

    quit_after: list[int] = field(default_factory=list)

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        self.quit_after.append(len(self.received))
        return "221 Bye"


def test_delivery_log_hears_sending_then_accepted_before_quit(
    report_notebook: Any, smtp_server: StartServer
) -> None:
    handler = QuitWatchingHandler()
    log = RecordingLog(handler)
    settings = smtp_server(handler)
    send_message(report_message(report_notebook, [ALICE, BOB]), settings, delivery_log=log)
    assert log.calls == [("sending", (ALICE, BOB), 0), ("accepted", (ALICE, BOB), 1)]
    assert handler.quit_after == [1]


def test_delivery_log_hears_a_refused_content_as_not_sent(
    report_notebook: Any, smtp_server: StartServer
) -> None:
    handler = FlakyHandler(failures=1)
    log = RecordingLog(handler)
    delays = Delays()
    send_message(
        report_message(report_notebook), smtp_server(handler), delivery_log=log, sleep=delays
    )
    assert [(name, who) for name, who, _ in log.calls] == [
        ("sending", (ALICE,)),
        ("not_sent", (ALICE,)),
        ("sending", (ALICE,)),
        ("accepted", (ALICE,)),
    ]
    assert delays == [2.0]


def test_envelope_recipients_can_be_a_subset_of_the_headers(
    report_notebook: Any, smtp_server: StartServer
) -> None:
    handler = RecordingHandler()
    message = report_message(report_notebook, [ALICE, BOB])
    report = send_message(message, smtp_server(handler), recipients=[BOB])
    assert report.accepted == (BOB,)
    assert [r.rcpt_tos for r in handler.received] == [[BOB]]


@dataclass
class HangUpAfterContentHandler(RecordingHandler):
    """Takes the message, then drops the line instead of answering it."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        )
        server.transport.close()
        return "250 OK"


def test_a_line_dropped_after_the_content_is_not_retried(
    report_notebook: Any, smtp_server: StartServer
) -> None:
    handler = HangUpAfterContentHandler()
    log = RecordingLog(handler)
    delays = Delays()
    with pytest.raises(EmailDeliveryError) as raised:
        send_message(
            report_message(report_notebook), smtp_server(handler), delivery_log=log, sleep=delays
        )
    assert raised.value.uncertain == (ALICE,)
    assert "may have delivered it to alice@example.com, so it is not sent again" in str(
        raised.value
    )
    assert (delays, len(handler.received)) == ([], 1)  # one message, no second attempt
    assert [name for name, _, _ in log.calls] == ["sending"]  # the intent stays: maybe delivered


def test_a_line_dropped_before_the_content_is_retried(report_notebook: Any, smtp_server) -> None:
    class HangUpAtFirstRcpt(RecordingHandler):
        hung_up = False

        async def handle_RCPT(self, server, session, envelope, address, options):
            if not self.hung_up:
                self.hung_up = True
                server.transport.close()
            envelope.rcpt_tos.append(address)
            return "250 OK"

    handler = HangUpAtFirstRcpt()
    delays = Delays()
    report = send_message(report_message(report_notebook), smtp_server(handler), sleep=delays)
    assert (report.attempts, delays, len(handler.received)) == (2, [2.0], 1)


def test_mail_settings_errors_name_environment_variables_not_a_config() -> None:
    with pytest.raises(MailSettingsError) as raised:
        SmtpSettings.from_env({"JOURNEY_SMTP_PORT": "smtp", "JOURNEY_SMTP_TIMEOUT": "nan"})
    text = str(raised.value)
    assert (
        text.splitlines()[0] == "mail settings (environment variables JOURNEY_SMTP_*): 4 problems"
    )
    assert "journey config" not in text
    for variable in (
        "JOURNEY_SMTP_HOST",
        "JOURNEY_SMTP_FROM",
        "JOURNEY_SMTP_PORT",
        "JOURNEY_SMTP_TIMEOUT",
    ):
        assert variable in text
    assert isinstance(raised.value, ConfigError)


@pytest.mark.parametrize("timeout", ["nan", "inf", "0", "-5"])
def test_timeout_must_be_a_finite_positive_number(timeout: str) -> None:
    with pytest.raises(MailSettingsError, match="JOURNEY_SMTP_TIMEOUT must be a positive number"):
        SmtpSettings.from_env(BASE_ENV | {"JOURNEY_SMTP_TIMEOUT": timeout})


def test_failure_alert_without_a_kept_notebook_says_so() -> None:
    alert = build_failure_alert(
        job="weekly", error="crashed 3 times", notebook_path=None, sender=SENDER, owner=ALICE
    )
    assert "No executed notebook was kept: the run never finished." in alert.get_content()


# --- the delivery journal: a retried slot mails nobody twice ------------------------------------

SLOT = datetime(2026, 1, 5, 7, tzinfo=UTC)


def test_journal_sends_once_per_recipient_across_attempts(
    tmp_path: Path, report_notebook: Any, smtp_server: StartServer
) -> None:
    handler = RecordingHandler()
    settings = smtp_server(handler)
    path = tmp_path / "state.deliveries.json"
    message = report_message(report_notebook, [ALICE, BOB])
    first = deliver(message, settings, DeliveryJournal(path).for_slot("weekly", SLOT).log("report"))
    # a later attempt of the slot reads the journal afresh, as a new tick process would
    again = deliver(message, settings, DeliveryJournal(path).for_slot("weekly", SLOT).log("report"))
    assert (first.sent, first.already) == ((ALICE, BOB), ())
    assert (again.sent, again.already, again.reached) == ((), (ALICE, BOB), (ALICE, BOB))
    assert [r.rcpt_tos for r in handler.received] == [[ALICE, BOB]]
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["version"] == 1
    entries = saved["slots"][f"weekly {SLOT.isoformat()}"]["report"]
    assert {who: entry["status"] for who, entry in entries.items()} == {ALICE: "sent", BOB: "sent"}


def test_journal_keeps_kinds_and_slots_apart(
    tmp_path: Path, report_notebook: Any, smtp_server: StartServer
) -> None:
    handler = RecordingHandler()
    settings = smtp_server(handler)
    journal = DeliveryJournal(tmp_path / "j.json")
    message = report_message(report_notebook, [ALICE])
    deliver(message, settings, journal.for_slot("weekly", SLOT).log("report"))
    deliver(message, settings, journal.for_slot("weekly", SLOT).log("alert"))
    deliver(message, settings, journal.for_slot("weekly", SLOT + timedelta(days=7)).log("report"))
    deliver(message, settings, journal.for_slot("daily", SLOT).log("report"))
    assert len(handler.received) == 4


def test_an_intent_without_a_result_is_uncertain_and_not_sent_again(
    tmp_path: Path, report_notebook: Any, smtp_server: StartServer
) -> None:
    handler = RecordingHandler()
    path = tmp_path / "j.json"
    DeliveryJournal(path).for_slot("weekly", SLOT).log("report").sending((ALICE,))  # then killed
    log = DeliveryJournal(path).for_slot("weekly", SLOT).log("report")
    delivered = deliver(report_message(report_notebook, [ALICE, BOB]), smtp_server(handler), log)
    assert (delivered.sent, delivered.uncertain) == ((BOB,), (ALICE,))
    assert [r.rcpt_tos for r in handler.received] == [[BOB]]
    note = delivered.uncertain_note("report")
    assert note is not None
    assert f"took the report for {ALICE}: it may have arrived, so it was not sent again" in note


def test_a_refused_content_leaves_no_record(
    tmp_path: Path, report_notebook: Any, smtp_server: StartServer
) -> None:
    path = tmp_path / "j.json"
    log = DeliveryJournal(path).for_slot("weekly", SLOT).log("report")
    with pytest.raises(EmailDeliveryError, match="550"):
        deliver(report_message(report_notebook), smtp_server(RejectingHandler()), log)
    assert log.status(ALICE) is None
    assert json.loads(path.read_text(encoding="utf-8"))["slots"] == {}


def test_prune_drops_the_slots_it_is_told_are_done(tmp_path: Path) -> None:
    journal = DeliveryJournal(tmp_path / "j.json")
    later = SLOT + timedelta(days=7)
    for slot in (SLOT, later):
        journal.for_slot("weekly", slot).log("report").accepted((ALICE,))
    journal.prune(lambda job, slot: slot > SLOT)
    reread = DeliveryJournal(tmp_path / "j.json")
    assert reread.status("weekly", SLOT, "report", ALICE) is None
    assert reread.status("weekly", later, "report", ALICE) == "sent"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "cannot be read"),
        ('{"version": 1}', "expected an object with 'slots'"),
        ('{"version": 9, "slots": {}}', "has version 9; this journeylib reads version 1"),
        ('{"version": 1, "slots": {"weekly soon": {}}}', "cannot be read"),
    ],
)
def test_unreadable_journal_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "j.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DeliveryJournalError, match=message) as raised:
        DeliveryJournal(path)
    assert str(path) in str(raised.value)

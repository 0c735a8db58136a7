"""The emailed second run: ``journey report run --email`` into the first run's folder.

The run replaces the published folder while a reader watches it, and sends one email through
a real SMTP server (aiosmtpd on 127.0.0.1, AUTH): its MIME structure, inline images, no
remote URL, and the password nowhere.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import nbformat
import pytest
from report_html import (
    PERIOD,
    TITLE,
    loaded_urls,
    parse_page,
)
from report_mail import OWNER, SENDER, SMTP_PASSWORD, SMTP_USER, TEAM, Mailbox, smtp_server

from journeylib.cli import main

# aiosmtpd warns about AUTH without TLS, which the local test server does on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
REPORT_NOTEBOOK = NOTEBOOKS / "journey_report.ipynb"


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
def emailed(published_report: Any, small_sample_config: Path) -> Iterator[EmailedRun]:
    stdout, stderr, logs = io.StringIO(), io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(logs)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    observed: list[str] = []
    stop = threading.Event()
    folder = published_report.out_root / "journey_report" / PERIOD
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
                        str(small_sample_config),
                        "--email",
                        "--to",
                        TEAM,
                        "--owner",
                        OWNER,
                        "--out",
                        str(published_report.out_root),
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
            out_root=published_report.out_root,
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


def test_second_run_replaces_the_report_folder(emailed, published_report):
    folder = emailed.out_root / "journey_report" / PERIOD
    second = nbformat.read(folder / "report.ipynb", as_version=4).metadata["journeylib"]
    first = published_report.notebook.metadata["journeylib"]
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

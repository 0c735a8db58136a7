"""The mail of an incident alert: the sentence, the numbers, a chart and where the report is.

It is built from a plain record (what the alert ledger keeps, see
:mod:`journeylib.report.schedule._alert_ledger`), so a retried delivery sends the very mail that
was planned. Every data value (step and KPI names, segment values, paths) is escaped here; the
chart is a PNG part referenced by ``cid:``, as in the report mails.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from email.message import EmailMessage
from typing import Any

from journeylib._format import format_count
from journeylib.optimise.sentences import date_span, format_percent, kpi_words
from journeylib.report.email._body import EmailBody, _document, _muted, chart_cid
from journeylib.report.email._inline import inline_styles
from journeylib.report.email._mime import build_message

__all__ = ["INCIDENT_CHART", "build_incident_alert", "incident_subject", "incident_title"]

#: The name of the chart part (its cid is ``chart-incident@journeylib``).
INCIDENT_CHART = "incident"
_SPACE = re.compile(r"\s+")
_SUBJECT_LIMIT = 160


def incident_title(mail: Mapping[str, Any]) -> str:
    """What fell and where: ``payment success rate (platform = android)`` or
    ``checkout → purchase``.

    Examples
    --------
    >>> incident_title({"kpi": None, "from_step": "checkout", "to_step": "purchase",
    ...                 "dimension": "platform", "value": "android"})
    'checkout → purchase (platform = android)'
    """
    kpi = mail.get("kpi")
    what = kpi_words(kpi) if kpi else f"{mail['from_step']} → {mail['to_step']}"
    if mail.get("dimension") is not None:
        value = mail.get("value") if mail.get("value") is not None else "(none)"
        what += f" ({mail['dimension']} = {value})"
    return what


def incident_subject(mail: Mapping[str, Any]) -> str:
    """The Subject: one line, whatever the data holds.

    Examples
    --------
    >>> incident_subject({"kind": "new", "kpi": "payment_success_rate", "dimension": None,
    ...                   "baseline_rate": 0.96, "rate": 0.62, "start": "2026-08-30",
    ...                   "end": "2026-09-03", "users_lost": 40})
    '[journey incident] payment success rate fell from 96% to 62% (From 30 Aug to 2 Sep 2026)'
    """
    span = date_span(date.fromisoformat(mail["start"]), date.fromisoformat(mail["end"]))
    if mail["kind"] == "update":
        text = (
            f"[journey incident update] {incident_title(mail)} goes on: {span}, "
            f"about {format_count(mail['users_lost'])} lost"
        )
    else:
        text = (
            f"[journey incident] {incident_title(mail)} fell from "
            f"{format_percent(mail['baseline_rate'])} to {format_percent(mail['rate'])} ({span})"
        )
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= _SUBJECT_LIMIT else text[: _SUBJECT_LIMIT - 1] + "…"


def build_incident_alert(
    mail: Mapping[str, Any],
    *,
    sender: str,
    recipients: Sequence[str],
    chart_png: bytes | None,
) -> EmailMessage:
    """The alert mail of one incident revision (``new`` or ``update``).

    Parameters
    ----------
    mail
        The revision's record: ``kind``, ``job``, ``sentence``, ``kpi``, ``from_step``,
        ``to_step``, ``dimension``, ``value``, ``start``, ``end`` (ISO, exclusive),
        ``baseline_rate``, ``rate``, ``users_lost``, ``p_value``, ``grain``, ``segments``,
        ``report`` (``{"path": ...}`` or ``{"command": ...}``) and, for an update,
        ``previous`` (``end``, ``users_lost``, ``mailed``).
    sender, recipients
        From and To.
    chart_png
        The incident's chart (None: the mail says there is none).

    Examples
    --------
    >>> message = build_incident_alert(mail, sender="alerts@example.com",
    ...                                recipients=["oncall@example.com"], chart_png=png)
    ... # doctest: +SKIP
    """
    title = incident_title(mail)
    heading = ("Incident update: " if mail["kind"] == "update" else "Incident: ") + title
    html_blocks = [inline_styles(f"<h1>{html.escape(heading)}</h1>")]
    text_blocks = [heading, "=" * len(heading)]
    update = _update_line(mail)
    if update:
        html_blocks.append(inline_styles(f"<p><b>{html.escape(update)}</b></p>"))
        text_blocks.append(update)
    html_blocks.append(inline_styles(f"<p>{html.escape(mail['sentence'])}</p>"))
    text_blocks.append(mail["sentence"])
    rows = _facts(mail)
    html_blocks.append(inline_styles(_table(["", ""], rows, header=False)))
    text_blocks.append("\n".join(f"{name}: {value}" for name, value in rows))
    segments = mail.get("segments") or []
    if segments:
        head = ["segment", "rate before", "rate", "lost"]
        cells = [
            [
                f"{s['dimension']} = {s['value'] if s['value'] is not None else '(none)'}",
                format_percent(s["baseline_rate"]),
                format_percent(s["rate"]),
                format_count(s["users_lost"]),
            ]
            for s in segments
        ]
        html_blocks.append(inline_styles("<p>Where the drop concentrates:</p>"))
        html_blocks.append(inline_styles(_table(head, cells)))
        text_blocks.append(
            "Where the drop concentrates:\n"
            + "\n".join(f"  {c[0]}: {c[1]} → {c[2]}, about {c[3]} lost" for c in cells)
        )
    images = {}
    if chart_png is not None:
        cid = chart_cid(INCIDENT_CHART)
        images[cid] = chart_png
        alt = html.escape(f"{title}: rate per {mail['grain']} against its baseline")
        html_blocks.append(
            f'<p style="margin:0 0 16px 0;"><img src="cid:{cid}" alt="{alt}" width="600" '
            'style="display:block;width:600px;max-width:100%;height:auto;border:0;"></p>'
        )
        text_blocks.append(f"[Chart: {title}, rate per {mail['grain']} against its baseline]")
    report_html, report_text = _report_lines(mail.get("report") or {})
    html_blocks.append(report_html)
    text_blocks.append(report_text)
    footer = (
        f"Sent by the alert job '{mail['job']}': each incident is mailed once, and again only "
        "when it grows (a later end or more users lost)."
    )
    byline = f"{heading} — {_span(mail)}"
    document = _document(byline, [*html_blocks[:1], _muted(byline), *html_blocks[1:]], footer)
    body = EmailBody(
        subject_hint=byline,
        html=document,
        text="\n\n".join([*text_blocks, "--", footer]) + "\n",
        images=images,
    )
    return build_message(
        body, subject=incident_subject(mail), sender=sender, recipients=list(recipients)
    )


def _span(mail: Mapping[str, Any]) -> str:
    return date_span(date.fromisoformat(mail["start"]), date.fromisoformat(mail["end"]))


def _update_line(mail: Mapping[str, Any]) -> str | None:
    previous = mail.get("previous")
    if mail["kind"] != "update" or not previous:
        return None
    last_before = date.fromisoformat(previous["end"]) - timedelta(days=1)
    last_now = date.fromisoformat(mail["end"]) - timedelta(days=1)
    more = mail["users_lost"] - previous["users_lost"]
    grew = []
    if last_now > last_before:
        grew.append(f"it now runs to {last_now:%d %b %Y} (mailed up to {last_before:%d %b %Y})")
    if more > 0:
        grew.append(
            f"about {format_count(mail['users_lost'])} lost, {format_count(more)} more than "
            f"the {format_count(previous['users_lost'])} mailed"
        )
    return f"Update of the incident first mailed on {previous['mailed']}: " + "; ".join(grew) + "."


def _facts(mail: Mapping[str, Any]) -> list[list[str]]:
    last = date.fromisoformat(mail["end"]) - timedelta(days=1)
    return [
        ["incident", mail["key"]],
        ["first period", mail["start"]],
        ["last period", f"{mail['grain']} of {last.isoformat()}"]
        if mail["grain"] != "day"
        else ["last day", last.isoformat()],
        ["rate before", format_percent(mail["baseline_rate"])],
        ["rate during", format_percent(mail["rate"])],
        ["lost", f"about {format_count(mail['users_lost'])}"],
        ["p-value", f"{mail['p_value']:.2g}"],
    ]


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], *, header: bool = True) -> str:
    cells = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    top = "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>" if header else ""
    return f"<table><thead>{top}</thead><tbody>{cells}</tbody></table>"


def _report_lines(report: Mapping[str, Any]) -> tuple[str, str]:
    if report.get("path"):
        lead = "The latest report of this journey"
        period = f" ({report['period']})" if report.get("period") else ""
        text = f"{lead}{period}: {report['path']}"
        return (
            inline_styles(
                f"<p>{html.escape(lead + period)}: <code>{html.escape(report['path'])}</code></p>"
            ),
            text,
        )
    command = report.get("command", "")
    lead = "No report of this journey is published yet; produce one covering the incident with"
    return (
        inline_styles(f"<p>{html.escape(lead)}:</p><p><code>{html.escape(command)}</code></p>"),
        f"{lead}:\n  {command}",
    )

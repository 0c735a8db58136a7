"""Alert jobs of the schedule: each incident mailed once, an update when it grows, nothing else.

The ticks run ``journey schedule tick`` in this process against a real SMTP server (aiosmtpd on
127.0.0.1), on a copy of the sample company whose events stop at a chosen day and are extended a
day at a time, as a live journey's data grows. The process-level guarantees (SIGKILL after
DATA, two ticks at once) are in ``test_report_schedule_alert_delivery.py``.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import nbformat
import polars as pl
import pytest
from aiosmtpd.controller import Controller
from alert_site import (
    INCIDENT,
    ONCALL,
    OWNER,
    PAYMENTS,
    Mailbox,
    alert_schedule,
    events_until,
    free_port,
    html_part,
    images,
    smtp_env,
    text_part,
)
from bad_inputs import BadInput, check_bad_input

import journeylib
from journeylib.cli import main
from journeylib.report.schedule import AlertJob, load_schedule
from journeylib.sample import generate_sample

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lumen-50k")
    return generate_sample(folder, users=50_000, seed=7).config_path.parent


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    for name, value in smtp_env(controller.port).items():
        monkeypatch.setenv(name, value)
    try:
        yield box
    finally:
        controller.stop()


class Site:
    """A project folder: ``journey/`` (the sample, its events up to a day) and ``reports/``."""

    def __init__(self, root: Path, sample: Path) -> None:
        self.root = root
        self.sample = sample
        self.schedule = root / "reports" / "schedule.yml"
        self.schedule.parent.mkdir(parents=True)

    def data_until(self, day: str) -> None:
        events_until(self.sample, self.root / "journey", day)

    def tick(self, now: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
        code = main(["schedule", "tick", "--schedule", str(self.schedule), "--now", now])
        said = capsys.readouterr()
        return code, said.out, said.err

    def ledger(self) -> dict:
        path = self.schedule.parent / ".schedule-state.alerts.json"
        return json.loads(path.read_text(encoding="utf-8"))["jobs"]["payments"]


@pytest.fixture
def site(tmp_path: Path, sample: Path) -> Site:
    made = Site(tmp_path, sample)
    made.schedule.write_text(alert_schedule(), encoding="utf-8")
    return made


def test_the_payment_incident_is_mailed_once_then_updated_once_as_it_grows(
    site: Site, mailbox: Mailbox, capsys
) -> None:
    site.data_until("2026-09-03")  # the morning of 3 Sep: the data holds 2 Sep
    code, out, _ = site.tick("2026-09-02T08:00", capsys)
    assert (code, "payments: first seen" in out) == (0, True)
    code, out, err = site.tick("2026-09-03T07:05", capsys)
    assert (code, err) == (0, ""), out + err
    assert "1 mail sent: 1 new, 0 grown, 0 unchanged incidents (2026-08-06..2026-09-03)" in out
    (message,) = mailbox.parsed()
    assert mailbox.messages[0][0] == [ONCALL, PAYMENTS]  # one message, both recipients
    assert message["Subject"] == (
        "[journey incident] payment success rate (platform = android) fell from 96% to 63% "
        "(From 30 Aug to 2 Sep 2026)"
    )
    journey = journeylib.load(site.root / "journey" / "journey.yml")
    expected = journey.kpi_incidents(
        "payment_success_rate",
        grain="day",
        by=["platform", "country"],
        start="2026-08-06",
        end="2026-09-03",
    ).incidents.row(0, named=True)
    assert expected["key"] == INCIDENT
    body = html_part(message)
    assert expected["sentence"] in text_part(message)
    assert expected["sentence"] in body.replace("&#x27;", "'")
    assert "<script" not in body
    (chart,) = images(message)
    assert chart.get_payload(decode=True).startswith(b"\x89PNG\r\n\x1a\n")
    assert chart["Content-Disposition"].startswith("inline")
    assert f'src="cid:{chart["Content-ID"].strip("<>")}"' in body
    command = (
        f"journey report run journey_report -p config_path {site.root / 'journey' / 'journey.yml'}"
        " -p period 2026-08-30..2026-09-03"
    )
    assert command in text_part(message)

    code, out, _ = site.tick("2026-09-03T07:35", capsys)  # a second tick: nothing is due
    assert (code, "nothing due" in out, len(mailbox.messages)) == (0, True, 1)

    site.data_until("2026-09-04")  # a day more, in which the incident goes on
    code, out, err = site.tick("2026-09-04T07:05", capsys)
    assert (code, err) == (0, ""), out + err
    assert "1 mail sent: 0 new, 1 grown, 0 unchanged incidents" in out
    assert len(mailbox.messages) == 2
    update = mailbox.parsed()[1]
    assert update["Subject"] == (
        "[journey incident update] payment success rate (platform = android) goes on: "
        "From 30 Aug to 3 Sep 2026, about 49 lost"
    )
    said = text_part(update)
    assert "Update of the incident first mailed on 2026-09-03: it now runs to 03 Sep 2026 " in said
    assert "about 49 lost, 9 more than the 40 mailed" in said

    site.data_until("2026-09-05")  # the incident ended on 3 Sep: unchanged, no mail
    code, out, err = site.tick("2026-09-05T07:05", capsys)
    assert (code, err) == (0, ""), out + err
    assert "0 mails sent: 0 new, 0 grown, 1 unchanged incidents" in out
    assert len(mailbox.messages) == 2
    revisions = site.ledger()[INCIDENT]["revisions"]
    assert [(r["kind"], r["end"], r["users_lost"]) for r in revisions] == [
        ("new", "2026-09-03", 40),
        ("update", "2026-09-04", 49),
    ]
    assert all(record["status"] == "sent" for r in revisions for record in r["recipients"].values())


def test_a_refused_mail_exits_2_in_one_line_and_the_next_tick_sends_it_once(
    site: Site, mailbox: Mailbox, capsys
) -> None:
    site.data_until("2026-09-04")
    site.tick("2026-09-03T08:00", capsys)
    mailbox.refuse = "554 5.7.1 message refused by policy"
    code, out, err = site.tick("2026-09-04T07:05", capsys)
    assert code == 2, out + err
    (line,) = err.splitlines()
    assert line.startswith("journey schedule tick: payments slot 2026-09-04T05:00:00+00:00: ")
    assert f"the new mail of incident {INCIDENT} was not delivered" in line
    assert "554" in line
    assert "the next tick sends what is left" in line
    assert "deferred" in out
    assert mailbox.messages == []
    state = json.loads((site.schedule.parent / ".schedule-state.json").read_text())
    assert state["jobs"]["payments"]["attempts"] == 0  # a deferral is not a crash

    code, out, err = site.tick("2026-09-04T07:10", capsys)  # still refused: still deferred
    assert code == 2
    assert len(err.splitlines()) == 1
    assert mailbox.messages == []

    mailbox.refuse = None
    code, out, err = site.tick("2026-09-04T07:15", capsys)
    assert (code, err) == (0, ""), out + err
    assert len(mailbox.messages) == 1
    assert mailbox.messages[0][0] == [ONCALL, PAYMENTS]
    code, out, _ = site.tick("2026-09-04T07:20", capsys)
    assert (code, "nothing due" in out, len(mailbox.messages)) == (0, True, 1)


def test_a_refused_recipient_is_retried_alone_until_taken_off_the_job(
    site: Site, mailbox: Mailbox, capsys
) -> None:
    site.data_until("2026-09-04")
    site.tick("2026-09-03T08:00", capsys)
    mailbox.unknown = (PAYMENTS,)
    code, out, err = site.tick("2026-09-04T07:05", capsys)
    assert code == 2, out + err
    (line,) = err.splitlines()
    assert f"the new mail of incident {INCIDENT} was refused for {PAYMENTS}" in line
    assert mailbox.recipients() == [[ONCALL]]
    code, out, err = site.tick("2026-09-04T07:10", capsys)  # the on-call is not mailed again
    assert code == 2
    assert mailbox.recipients() == [[ONCALL]]
    site.schedule.write_text(alert_schedule(recipients=[ONCALL]), encoding="utf-8")
    code, out, err = site.tick("2026-09-04T07:15", capsys)
    assert (code, err) == (0, ""), out + err
    assert mailbox.recipients() == [[ONCALL]]


def test_an_unreachable_server_defers_the_slot_and_nothing_is_lost(
    site: Site, mailbox: Mailbox, capsys, monkeypatch
) -> None:
    site.data_until("2026-09-04")
    site.tick("2026-09-03T08:00", capsys)
    monkeypatch.setenv("JOURNEY_SMTP_PORT", str(free_port()))  # nothing listens there
    code, out, err = site.tick("2026-09-04T07:05", capsys)  # tried 4 times over 14 s
    assert code == 2, out + err
    (line,) = err.splitlines()
    assert "was not delivered" in line
    assert "ConnectionRefusedError" in line
    monkeypatch.setenv("JOURNEY_SMTP_PORT", str(mailbox.port))
    code, out, err = site.tick("2026-09-04T07:10", capsys)
    assert (code, err, len(mailbox.messages)) == (0, "", 1), out + err


def test_an_incident_out_of_the_watch_is_not_mailed(site: Site, mailbox: Mailbox, capsys) -> None:
    site.data_until("2026-10-20")
    site.tick("2026-10-19T08:00", capsys)  # enabled long after the incident
    code, out, err = site.tick("2026-10-20T07:05", capsys)
    assert (code, err, mailbox.messages) == (0, "", []), out + err
    assert "0 mails sent: 0 new, 0 grown, 0 unchanged incidents (2026-09-22..2026-10-20)" in out


def test_the_mail_links_the_latest_published_report_of_the_config(
    site: Site, mailbox: Mailbox, capsys
) -> None:
    site.data_until("2026-09-04")
    config = site.root / "journey" / "journey.yml"
    for period, other in (("2026-W35", False), ("2026-W34", False), ("2026-W36", True)):
        folder = site.schedule.parent / "journey_report" / period
        folder.mkdir(parents=True)
        executed = nbformat.v4.new_notebook()
        path = "/elsewhere/journey.yml" if other else str(config)
        executed.metadata["papermill"] = {"parameters": {"config_path": path}}
        nbformat.write(executed, folder / "report.ipynb")
        (folder / "report.html").write_text("<html></html>", encoding="utf-8")
    # the newest report of this config is W35 (W36 is another journey's)
    latest = site.schedule.parent / "journey_report" / "2026-W35" / "report.html"
    older = site.schedule.parent / "journey_report" / "2026-W34" / "report.html"
    import os

    os.utime(older, (1_700_000_000, 1_700_000_000))
    site.tick("2026-09-03T08:00", capsys)
    code, out, err = site.tick("2026-09-04T07:05", capsys)
    assert (code, err) == (0, ""), out + err
    (message,) = mailbox.parsed()
    assert f"The latest report of this journey (2026-W35): {latest.resolve()}" in text_part(message)


HOSTILE_STEP = "buy</td><script>x()</script>"


def hostile_journey(folder: Path) -> Path:
    """Two steps whose names and segment values are markup; one segment's conversion falls."""
    import numpy as np

    rng = np.random.default_rng(3)
    rows = []
    user = 0
    for day in range(50):
        for _ in range(600):
            user += 1
            platform = "<img src=x onerror=alert(1)>" if user % 2 else 'web & "co"'
            rate = 0.2 if (platform.startswith("<img") and 35 <= day < 39) else 0.6
            at = f"2026-03-{1 + day:02d}" if day < 31 else f"2026-04-{day - 30:02d}"
            rows.append((f"u{user}", f"{at}T10:00:00", "visit", platform))
            if rng.random() < rate:
                rows.append((f"u{user}", f"{at}T10:05:00", HOSTILE_STEP, platform))
    frame = pl.DataFrame(rows, schema=["user_id", "timestamp", "event", "platform"], orient="row")
    folder.mkdir(parents=True)
    frame.write_csv(folder / "events.csv")
    (folder / "journey.yml").write_text(
        "name: Hostile <b>shop</b>\ntimezone: UTC\nsources:\n  events:\n    path: events.csv\n",
        encoding="utf-8",
    )
    return folder / "journey.yml"


def test_data_values_are_escaped_in_the_mail(tmp_path: Path, mailbox: Mailbox, capsys) -> None:
    hostile_journey(tmp_path / "journey")
    schedule = tmp_path / "reports" / "schedule.yml"
    schedule.parent.mkdir()
    schedule.write_text(
        textwrap.dedent(
            """\
            timezone: UTC
            jobs:
              - name: shop
                kind: alert
                cron: "0 6 * * *"
                config: ../journey/journey.yml
                funnel: [visit, "buy</td><script>x()</script>"]
                grain: day
                recipients: [oncall@example.com]
            """
        ),
        encoding="utf-8",
    )
    args = ["schedule", "tick", "--schedule", str(schedule), "--now"]
    assert main([*args, "2026-04-12T05:00+00:00"]) == 0
    assert main([*args, "2026-04-13T06:05+00:00"]) == 0, capsys.readouterr()
    messages = mailbox.parsed()
    assert len(messages) >= 1
    for message in messages:
        body = html_part(message)
        assert "<script" not in body
        assert "<img src=x" not in body
        assert "&lt;/td&gt;&lt;script&gt;x()&lt;/script&gt;" in body
        assert "\n" not in str(message["Subject"])
        assert "buy</td><script>x()</script>" in text_part(message)
    bodies = " ".join(html_part(m) for m in messages)
    assert "&lt;img src=x onerror=alert(1)&gt;" in bodies


def test_list_and_show_describe_the_alert_job_and_what_it_mailed(
    site: Site, mailbox: Mailbox, capsys
) -> None:
    site.data_until("2026-09-04")
    site.tick("2026-09-03T08:00", capsys)
    site.tick("2026-09-04T07:05", capsys)
    args = ["--schedule", str(site.schedule), "--now", "2026-09-04T08:00"]
    assert main(["schedule", "list", *args]) == 0
    listing = capsys.readouterr().out
    (row,) = [line for line in listing.splitlines() if line.startswith("payments")]
    assert "0 7 * * *" in row
    assert "2026-09-05 07:00 CEST" in row
    assert " ok " in row
    assert "1 mail sent: 1 new, 0 grown, 0 unchanged incidents (2026-08-07..2026-09-04)" in row
    assert main(["schedule", "show", "payments", *args]) == 0
    shown = capsys.readouterr().out
    for expected in (
        "kind        alert",
        f"config      {site.root / 'journey' / 'journey.yml'}",
        "kpi         payment_success_rate",
        "by          platform, country",
        f"recipients  {ONCALL}, {PAYMENTS}",
        f"owner       {OWNER}",
        "incidents and their mails (1):",
        f"  {INCIDENT}",
        f"    new (slot 2026-09-04T05:00:00+00:00): to 2026-09-04 (end excluded), about 49 lost; "
        f"{ONCALL} sent, {PAYMENTS} sent",
    ):
        assert expected in shown, shown


def test_the_example_alert_job_of_the_schedule_file_loads(tmp_path: Path, sample: Path) -> None:
    config = sample / "journey.yml"
    # the file as a clone has it, its paths pointing at this test's sample (data/sample is
    # written by make sample, which a fresh clone has not run)
    text = (
        (REPO / "reports" / "schedule.yml")
        .read_text(encoding="utf-8")
        .replace("../data/sample/journey.yml", str(config))
        .replace("../notebooks/", f"{REPO / 'notebooks'}/")
    )
    (tmp_path / "repo.yml").write_text(text, encoding="utf-8")
    loaded = load_schedule(tmp_path / "repo.yml")
    assert all(job.kind == "report" for job in loaded.jobs)  # the example is commented out
    start = text.index("  # - name: payment-incidents")
    block = [line for line in text[start:].splitlines() if line.startswith("  #")]
    uncommented = "\n".join(line.replace("#", " ", 1) for line in block)
    schedule = tmp_path / "schedule.yml"
    schedule.write_text("timezone: Europe/Berlin\njobs:\n" + uncommented + "\n")
    (job,) = load_schedule(schedule).jobs
    assert isinstance(job, AlertJob)
    assert (job.grain, job.kpi, job.config) == ("day", ("payment_success_rate",), config)


ALERT = {
    "name": "payments",
    "kind": "alert",
    "cron": "'0 7 * * *'",
    "config": "../journey.yml",
    "grain": "day",
    "recipients": "[oncall@example.com]",
}
MAIL_OK = smtp_env(25)


def alert_job(**fields: str | None) -> str:
    lines = {**ALERT, **fields}
    body = "".join(f"    {key}: {value}\n" for key, value in lines.items() if value is not None)
    return "timezone: UTC\njobs:\n  - " + body.lstrip()


BAD = [
    ("kind-unknown", alert_job(kind="alerts"), ("jobs.0", "kind must be 'report'", "'alert'")),
    ("grain-bad", alert_job(grain="hour"), ("line 7", "jobs.0.grain", "'day', 'week' or 'month'")),
    ("grain-missing", alert_job(grain=None), ("jobs.0.grain", "required key is missing")),
    ("config-missing", alert_job(config="../nope.yml"), ("jobs.0.config", "nope.yml", "not exist")),
    ("config-missing-key", alert_job(config=None), ("jobs.0.config", "required key is missing")),
    ("config-invalid", alert_job(config="../broken.yml"), ("broken.yml", "sourcez")),
    ("funnel-unknown", alert_job(funnel="mian"), ("jobs.0.funnel", "no funnel 'mian'", "main")),
    ("funnel-one-step", alert_job(funnel="[visit]"), ("jobs.0.funnel", "at least 2 steps")),
    ("kpi-unknown", alert_job(kpi="payment_sucess_rate"), ("jobs.0.kpi", "payment_success_rate")),
    ("kpi-not-a-rate", alert_job(kpi="aov"), ("jobs.0.kpi", "aov is a ratio")),
    ("kpi-role-unmapped", alert_job(kpi="trial_to_paid_rate"), ("jobs.0.kpi", "trial_to_paid")),
    ("no-recipients", alert_job(recipients="[]"), ("jobs.0.recipients", "at least one recipient")),
    ("bad-recipient", alert_job(recipients="[oncall]"), ("jobs.0.recipients", "'oncall'")),
    ("notebook-key", alert_job(notebook="x.ipynb"), ("unknown key 'notebook'", "config, cron")),
    ("lookback-zero", alert_job(lookback="0"), ("jobs.0.lookback", "greater than or equal to 1")),
    ("baseline-text", alert_job(baseline="four"), ("jobs.0.baseline", "valid integer")),
]


@pytest.mark.parametrize(("case", "text", "words"), BAD, ids=[case for case, _, _ in BAD])
def test_bad_alert_job_fields_exit_2_with_one_located_line(tmp_path, case, text, words) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "journey.yml").write_text(
        "name: shop\ntimezone: UTC\nsources:\n  events:\n    path: events.csv\n"
        "roles:\n  purchase: [order_completed]\n  payment_failed: [payment_failed]\n"
        "funnels:\n  main:\n    steps: [visit, purchase]\n",
        encoding="utf-8",
    )
    (tmp_path / "broken.yml").write_text("name: x\nsourcez: {}\n", encoding="utf-8")
    (tmp_path / "reports" / "schedule.yml").write_text(text, encoding="utf-8")
    args = ("schedule", "tick", "--schedule", "reports/schedule.yml", "--now", "2026-09-04T07:05")
    check_bad_input(BadInput(case, args, words, env=MAIL_OK), tmp_path)


def test_a_job_without_a_kind_is_still_a_report_job(tmp_path: Path) -> None:
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "weekly.ipynb")
    path = tmp_path / "schedule.yml"
    path.write_text("jobs:\n  - {name: w, cron: '@daily', notebook: weekly.ipynb}\n")
    (job,) = load_schedule(path).jobs
    assert (job.kind, job.notebook) == ("report", tmp_path / "weekly.ipynb")


def test_the_watch_ends_where_the_slots_period_starts(sample: Path) -> None:
    from datetime import UTC, datetime

    from journeylib.report.schedule.alerts import watch_of

    job = load_alert(sample, grain="week")
    watch = watch_of(job, datetime(2026, 9, 3, 5, tzinfo=UTC), "Europe/Berlin")
    assert (watch.start, watch.end) == (date(2026, 7, 20), date(2026, 8, 31))
    job = load_alert(sample, grain="day", lookback="3")
    watch = watch_of(job, datetime(2026, 9, 2, 23, tzinfo=UTC), "Europe/Berlin")  # 3 Sep there
    assert (watch.start, watch.end) == (date(2026, 8, 31), date(2026, 9, 3))


def load_alert(sample: Path, **fields: str) -> AlertJob:
    from journeylib.report.schedule import schedule_from_dict

    job = {
        "name": "a",
        "kind": "alert",
        "cron": "@daily",
        "config": str(sample / "journey.yml"),
        "recipients": ["a@example.com"],
        **fields,
    }
    if "lookback" in job:
        job["lookback"] = int(job["lookback"])
    (loaded,) = schedule_from_dict({"jobs": [job]}).jobs
    assert isinstance(loaded, AlertJob)
    return loaded

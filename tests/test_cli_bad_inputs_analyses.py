"""Bad inputs of ``validate``, ``kpis``, ``funnel``, ``retention`` and ``score``: configs,
sources and flags. Each exits 2 with one line naming the input, no traceback, nothing written.

Every case runs ``journey`` in a child process in its own folder holding ``s/`` (a small
seeded sample company) and the case's own files. Left out on purpose: ``validate`` on data
with quarantined rows exits 1 by design (the rows are reported, not refused), and a period
inside the data that holds no events is a table of zeros, not an error.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest
from bad_inputs import BadInput, check_bad_input

from journeylib.sample import generate_sample

#: A journey over the sample's events, mapped by hand (``{extra}`` adds top-level keys).
CONFIG = """\
name: t
sources:
  events:
    path: s/events
    columns: {{user_id: customer_id, timestamp: event_time, event: event_name}}
roles: {{visit: [page_view, landing_page_view], add_to_cart: cart_add,
        purchase: order_completed}}
{extra}"""
CSV_CONFIG = "name: t\nsources:\n  events:\n    path: {path}\n{extra}"
HEADER = "user_id,timestamp,event\n"
EVENTS_CSV = HEADER + "u1,2026-01-05T10:00:00Z,visit\nu2,2026-01-05T11:00:00Z,purchase\n"
SAMPLE = ["s/journey.yml"]


@dataclass(frozen=True)
class Case:
    """A bad input and the files it needs beside the sample (name -> text or bytes)."""

    bad: BadInput
    files: Mapping[str, str | bytes] = field(default_factory=dict)


def case(id: str, args: list[str], message: list[str], files=None, **kw) -> Case:
    return Case(BadInput(id, args, message, **kw), files or {})


def config(extra: str = "") -> str:
    return CONFIG.format(extra=extra)


def csv_config(path: str, extra: str = "") -> str:
    return CSV_CONFIG.format(path=path, extra=extra)


def _parquet(frame: pl.DataFrame) -> bytes:
    import io

    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


INTEGER_EVENTS = _parquet(
    pl.DataFrame(
        {"user_id": ["a", "b"], "timestamp": ["2026-01-05T10:00:00Z"] * 2, "event": [1, 2]}
    )
)
NUMERIC_TIMES = _parquet(pl.DataFrame({"user_id": ["a"], "timestamp": [1.5e9], "event": ["v"]}))

CASES = [
    # ----------------------------------------------------------------- configs
    case("config-missing", ["kpis", "nosuch.yml"], ["nosuch.yml", "does not exist"]),
    case("config-not-yaml", ["kpis", "j.yml"], ["j.yml", "not valid yaml"],
         {"j.yml": "name: [t\n"}),
    case("config-unknown-key", ["validate", "j.yml"], ["line 5", "colums", "'columns'"],
         {"j.yml": csv_config("e.csv", "").replace("path: e.csv", "path: e.csv\n    colums: {}")}),
    case("config-bad-type", ["kpis", "j.yml"], ["targets.conversion_rate", "'high'"],
         {"j.yml": config("targets: {conversion_rate: high}\n")}),
    case("config-bad-timezone", ["score", "j.yml"], ["europe/berln", "did you mean"],
         {"j.yml": config("timezone: Europe/Berln\n")}),
    case("config-timezone-is-a-zone-folder", ["score", "j.yml"], ["line", "'europe'"],
         {"j.yml": config("timezone: Europe\n")}),
    case("config-bad-role", ["funnel", "j.yml"], ["purchse", "did you mean 'purchase'"],
         {"j.yml": config("").replace("purchase: order", "purchse: order")}),
    case("config-window-zero", ["validate", "j.yml"], ["funnels.f.window", "above 0", "got 0"],
         {"j.yml": config("funnels: {f: {steps: [visit, purchase], window: 0}}\n")}),
    case("config-window-negative", ["funnel", "j.yml"], ["funnels.f.window", "got -1"],
         {"j.yml": config("funnels: {f: {steps: [visit, purchase], window: -1}}\n")}),
    case("config-window-overflow", ["funnel", "j.yml"], ["funnels.f.window", "99999999"],
         {"j.yml": config("funnels: {f: {steps: [visit, purchase], window: 99999999}}\n")}),
    case("config-empty-step", ["funnel", "j.yml"], ["funnels.f.steps.1"],
         {"j.yml": config("funnels: {f: {steps: [visit, '']}}\n")}),
    case("config-bad-target", ["score", "j.yml"], ["unknown kpi 'conversion'"],
         {"j.yml": config("targets: {conversion: 0.1}\n")}),
    case("config-bad-encoding", ["validate", "j.yml"], ["encoding", "'latin-9x'"],
         {"j.yml": csv_config("e.csv", "    encoding: latin-9x\n"), "e.csv": EVENTS_CSV}),
    # ----------------------------------------------------------------- sources
    case("source-missing-file", ["validate", "j.yml"], ["e.csv", "no such file"],
         {"j.yml": csv_config("e.csv")}),
    case("source-parquet-named-csv", ["kpis", "j.yml"], ["e.csv", "is a parquet file"],
         {"j.yml": csv_config("e.csv"), "e.csv": INTEGER_EVENTS}),
    case("source-empty-csv", ["validate", "j.yml"], ["e.csv", "is empty"],
         {"j.yml": csv_config("e.csv"), "e.csv": ""}),
    case("source-missing-column", ["kpis", "j.yml"], ["missing required column 'event'"],
         {"j.yml": csv_config("e.csv"), "e.csv": "user_id,timestamp\nu1,2026-01-05\n"}),
    case("source-numeric-timestamps", ["validate", "j.yml"], ["timestamp", "epoch_unit"],
         {"j.yml": csv_config("e.parquet"), "e.parquet": NUMERIC_TIMES}),
    case("source-no-valid-timestamp", ["kpis", "j.yml"],
         ["e.csv", "no valid rows", "unparseable_timestamp"],
         {"j.yml": csv_config("e.csv"), "e.csv": HEADER + "u1,yesterday,visit\n"}),
    case("source-latin1-byte", ["validate", "j.yml"], ["e.csv", "line 3", "0xe9", "encoding"],
         {"j.yml": csv_config("e.csv"),
          "e.csv": (HEADER + "u1,2026-01-05T10:00:00Z,visit\nu2,2026-01-05,café\n").encode(
              "latin-1")}),
    case("source-ragged-row", ["kpis", "j.yml"], ["e.csv", "line 3 has 4 fields"],
         {"j.yml": csv_config("e.csv"), "e.csv": HEADER + "u1,2026-01-05,visit\nu3,x,y,z\n"}),
    case("source-bad-sql-scheme", ["validate", "j.yml"], ["nosuch", "unsupported database"],
         {"j.yml": "name: t\nsources:\n  events: {uri: 'nosuch://x/y', table: events}\n"}),
    case("source-missing-sqlite", ["kpis", "j.yml"], ["nosuch.db", "does not exist"],
         {"j.yml": "name: t\nsources:\n  events: {uri: 'sqlite://nosuch.db', table: events}\n"}),
    case("source-no-role-occurs", ["kpis", "j.yml"], ["no configured role occurs", "'1', '2'"],
         {"j.yml": csv_config("e.parquet", "roles: {visit: page_view}\n"),
          "e.parquet": INTEGER_EVENTS}),
    case("validate-no-role-occurs", ["validate", "j.yml"], ["no configured role", "'page_view'"],
         {"j.yml": csv_config("e.parquet", "roles: {visit: page_view}\n"),
          "e.parquet": INTEGER_EVENTS}),
    case("events-without-event-column", ["retention", "--events", "e.csv"],
         ["--events e.csv", "no column 'event'"], {"e.csv": "user_id,timestamp\nu,2026-01-05\n"}),
    case("events-missing-file", ["funnel", "--events", "nosuch.parquet"], ["nosuch.parquet"]),
    case("events-bad-timezone", ["kpis", "--events", "e.csv", "--timezone", "Mars/Base"],
         ["mars/base"], {"e.csv": EVENTS_CSV}),
    # ----------------------------------------------------------------- flags
    case("start-after-end", ["kpis", *SAMPLE, "--start", "2026-03-10", "--end", "2026-03-01"],
         ["end 2026-03-01 is not after start 2026-03-10"]),
    case("dates-outside-the-data", ["score", *SAMPLE, "--start", "2031-01-01"],
         ["empty period", "2031-01-01"]),
    case("by-missing", ["kpis", *SAMPLE, "--by", "nosuch"], ["'nosuch'", "available dimensions"]),
    case("by-user-id", ["kpis", *SAMPLE, "--by", "user_id"], ["'user_id'", "canonical"]),
    case("by-twice", ["kpis", *SAMPLE, "--by", "channel,channel"], ["'channel'", "twice"]),
    case("by-on-score", ["score", *SAMPLE, "--by", "channel"], ["--by", "no breakdown"]),
    case("filter-without-value", ["kpis", *SAMPLE, "--filter", "platform"],
         ["--filter expects column=value", "'platform'"]),
    case("filter-missing-column", ["retention", *SAMPLE, "--filter", "nosuch=1"],
         ["filter column 'nosuch'", "available"]),
    case("filter-value-not-in-data", ["kpis", *SAMPLE, "--filter", "platform=IOS"],
         ["platform=ios", "did you mean 'ios'"]),
    case("kpi-unknown", ["kpis", *SAMPLE, "--kpi", "convertion_rate"],
         ["unknown kpi 'convertion_rate'", "did you mean 'conversion_rate'"]),
    case("kpi-unmapped-feature", ["kpis", *SAMPLE, "--kpi", "feature_adoption_rate[nosuch]"],
         ["'nosuch' is not mapped", "mapped features"]),
    case("funnel-unknown-step", ["funnel", *SAMPLE, "--steps", "visit,nonexistent_step,purchase"],
         ["'nonexistent_step'", "mapped roles: visit"]),
    case("funnel-empty-steps", ["funnel", *SAMPLE, "--steps", ""], ["--steps", "no step"]),
    case("funnel-unknown-exclusion", ["funnel", *SAMPLE, "--exclude", "nosuch"],
         ["exclusion 'nosuch'"]),
    case("funnel-unknown-name", ["funnel", *SAMPLE, "--name", "nosuch"],
         ["no funnel named 'nosuch'", "main"]),
    case("funnel-window-zero", ["funnel", *SAMPLE, "--window", "0d"], ["--window", "above 0"]),
    case("funnel-window-overflow", ["funnel", *SAMPLE, "--window=999999999d"],
         ["--window", "3650d"]),
    case("funnel-unknown-unit", ["funnel", *SAMPLE, "--unit", "nosuch"], ["unit column 'nosuch'"]),
    case("retention-negative-offset", ["retention", *SAMPLE, "--max-offset", "-1"],
         ["--max-offset", "0 or more"]),
    case("retention-unmapped-role", ["retention", *SAMPLE, "--cohort-role", "nosuch"],
         ["role 'nosuch'"]),
    case("timezone-with-config", ["kpis", *SAMPLE, "--timezone", "Asia/Tokyo"],
         ["--timezone", "s/journey.yml"]),
    case("quarantine-out-a-file", ["validate", *SAMPLE, "--quarantine-out", "notes.txt"],
         ["--quarantine-out notes.txt", "is a file"], {"notes.txt": "mine\n"}),
    case("quarantine-out-a-users-folder", ["validate", *SAMPLE, "--quarantine-out", "mine"],
         ["--quarantine-out mine", "events.csv"], {"mine/events.csv": "keep me\n"}),
]  # fmt: skip


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "s"
    generate_sample(out, users=200, seed=4, days=60)
    return out


def test_there_are_at_least_thirty_distinct_cases() -> None:
    ids = [c.bad.id for c in CASES]
    assert len(ids) == len(set(ids)) >= 30
    commands = {c.bad.args[0] for c in CASES}
    assert commands == {"validate", "kpis", "funnel", "retention", "score"}


@pytest.mark.parametrize("item", CASES, ids=lambda item: item.bad.id)
def test_bad_input_exits_2_with_one_line(item: Case, sample: Path, tmp_path: Path) -> None:
    shutil.copytree(sample, tmp_path / "s")
    for name, content in item.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    check_bad_input(item.bad, tmp_path)

"""Validation against the canonical schema: mapping, conversion, every rule, the quality report."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeylib.config import JourneyConfig, config_from_dict
from journeylib.errors import SchemaError
from journeylib.validate import (
    DataQuality,
    Example,
    RuleViolation,
    TableQuality,
    missing_tables,
    validate_table,
)


def make_config(
    table: str = "events",
    *,
    path: str = "/data/events.parquet",
    journey_timezone: str = "UTC",
    **source: Any,
) -> JourneyConfig:
    sources: dict[str, Any] = {"events": {"path": "/data/events.parquet"}}
    sources[table] = {"path": path, **source}
    return config_from_dict({"name": "shop", "timezone": journey_timezone, "sources": sources})


def run(table: str, data: dict[str, list[Any]], config: JourneyConfig | None = None, **kw: Any):
    config = config or make_config(table, **kw)
    source = getattr(config.sources, table)
    return validate_table(table, pl.LazyFrame(data, strict=False), source, config)


def lines(validated) -> list[str]:
    return [str(issue) for issue in validated.quality.issues]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


EVENT = {"user_id": ["u1"], "timestamp": ["2026-01-05T10:00:00Z"], "event": ["visit"]}


# ------------------------------------------------------------------ mapping and schema errors


def test_source_names_are_mapped_and_dimensions_kept_after_canonical_columns() -> None:
    config = make_config(columns={"user_id": "customer", "timestamp": "at", "event": "name"})
    data = {"country": ["de"], "name": ["visit"], "at": ["2026-01-05 10:00:00"], "customer": ["c7"]}
    validated = run("events", data, config)
    assert validated.data.collect().to_dicts() == [
        {"user_id": "c7", "timestamp": utc(2026, 1, 5, 10), "event": "visit", "country": "de"}
    ]


def test_canonical_dtypes() -> None:
    data = {**EVENT, "revenue": ["12.5"], "session_id": [7]}
    schema = run("events", data).data.collect_schema()
    assert dict(schema) == {
        "user_id": pl.String,
        "timestamp": pl.Datetime("us", "UTC"),
        "event": pl.String,
        "session_id": pl.String,
        "revenue": pl.Float64,
    }


def test_integer_user_ids_become_strings_without_an_issue() -> None:
    validated = run("events", {**EVENT, "user_id": [42]})
    assert validated.data.collect()["user_id"].to_list() == ["42"]
    assert validated.quality.issues == ()


def test_missing_column_names_expected_source_column_and_close_match() -> None:
    config = make_config(path="/data/events.csv", columns={"user_id": "customer_id"})
    data = {"customer": ["c1"], "timestamp": ["2026-01-05"], "event": ["visit"]}
    with pytest.raises(SchemaError) as caught:
        run("events", data, config)
    assert str(caught.value) == (
        "events source /data/events.csv: does not fit the canonical events table\n"
        "  - missing required column 'user_id' (looked for source column 'customer_id'); "
        "available: customer, timestamp, event (did you mean 'customer'?)"
    )


def test_every_missing_column_is_listed_without_hint_when_nothing_is_close() -> None:
    with pytest.raises(SchemaError) as caught:
        run("events", {"zzz": [1]})
    assert caught.value.problems == [
        f"missing required column '{name}' (looked for source column '{name}'); available: zzz"
        for name in ("user_id", "timestamp", "event")
    ]


@pytest.mark.parametrize(
    ("table", "data", "problem"),
    [
        (
            "events",
            {**EVENT, "timestamp": [1767607200]},
            "column 'timestamp' (source column 'timestamp'): expected datetimes, found numbers "
            "(Int64); if they are epoch times, set epoch_unit (s, ms, us or ns) on the "
            "timestamp source",
        ),
        (
            "spend",
            {"date": ["2026-01-05"], "channel": ["ads"], "cost": [True]},
            "column 'cost' (source column 'cost'): expected numbers, found Boolean; the column "
            "must hold numbers (or text of numbers)",
        ),
        (
            "events",
            {**EVENT, "user_id": [1.5]},
            "column 'user_id' (source column 'user_id'): expected text or whole numbers, found "
            "Float64; cast the column to text at the source",
        ),
    ],
)
def test_unusable_column_type_raises(table: str, data: dict, problem: str) -> None:
    with pytest.raises(SchemaError) as caught:
        run(table, data)
    assert caught.value.problems == [problem]


def test_unmapped_column_with_a_canonical_name_is_refused() -> None:
    config = make_config(columns={"user_id": "customer"})
    with pytest.raises(SchemaError, match="column 'user_id' has a canonical name"):
        run("events", {**EVENT, "customer": ["c1"]}, config)


# ------------------------------------------------------------------ timestamps


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-05T10:00:00Z", utc(2026, 1, 5, 10)),
        ("2026-01-05 10:00:00", utc(2026, 1, 5, 10)),
        ("2026-01-05T10:00", utc(2026, 1, 5, 10)),
        ("2026-01-05", utc(2026, 1, 5)),
        ("2026-01-05T10:00:00.250Z", datetime(2026, 1, 5, 10, 0, 0, 250000, tzinfo=UTC)),
        ("2026-01-05T12:00:00+02:00", utc(2026, 1, 5, 10)),
        ("2026-01-05T04:30:00-0530", utc(2026, 1, 5, 10)),
        ("2026-01-05 11:00:00.5+01", datetime(2026, 1, 5, 10, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_iso_timestamps(text: str, expected: datetime) -> None:
    validated = run("events", {**EVENT, "timestamp": [text]})
    assert validated.data.collect()["timestamp"].to_list() == [expected]


def test_configured_timestamp_format() -> None:
    validated = run("events", {**EVENT, "timestamp": ["05/01/2026 10:00"]},
                    timestamp_format="%d/%m/%Y %H:%M")  # fmt: skip
    assert validated.data.collect()["timestamp"].to_list() == [utc(2026, 1, 5, 10)]


@pytest.mark.parametrize(
    ("unit", "value"),
    [("s", 1767607200), ("ms", 1767607200000), ("us", 1767607200000000),
     ("ns", 1767607200000000000), ("s", "1767607200"), ("s", 1767607200.0)],
)  # fmt: skip
def test_epoch_timestamps(unit: str, value: Any) -> None:
    validated = run("events", {**EVENT, "timestamp": [value]}, epoch_unit=unit)
    assert validated.data.collect()["timestamp"].to_list() == [utc(2026, 1, 5, 10)]
    assert validated.quality.notes == ()


def test_native_aware_datetimes_convert_to_utc() -> None:
    berlin = pl.Series([datetime(2026, 1, 5, 11)]).dt.replace_time_zone("Europe/Berlin")
    validated = run("events", {**EVENT, "timestamp": berlin})
    assert validated.data.collect()["timestamp"].to_list() == [utc(2026, 1, 5, 10)]
    assert validated.quality.notes == ()


def test_naive_berlin_times_with_dst_gap_and_overlap() -> None:
    data = {
        "user_id": ["a", "b", "c"],
        "timestamp": [datetime(2026, 1, 5, 11), datetime(2026, 3, 29, 2, 30),
                      datetime(2026, 10, 25, 2, 30)],
        "event": ["visit"] * 3,
    }  # fmt: skip
    validated = run("events", data, journey_timezone="Europe/Berlin")
    assert validated.data.collect()["timestamp"].to_list() == [
        utc(2026, 1, 5, 10),
        utc(2026, 10, 25, 0, 30),  # the earlier of 02:30 CEST and 02:30 CET
    ]
    assert lines(validated) == [
        "nonexistent_local_time: timestamp, 1 row: row 2 '2026-03-29 02:30:00.000000'"
    ]
    assert validated.quality.notes == (
        "timestamp: 3 values without a time zone were read as Europe/Berlin time "
        "(the journey's timezone)",
        "timestamp: 1 local time fell in the daylight-saving overlap of Europe/Berlin and took "
        "the earlier instant (e.g. row 3 '2026-10-25 02:30:00.000000')",
    )


def test_source_timezone_wins_over_journey_timezone() -> None:
    config = make_config(journey_timezone="Asia/Tokyo", timezone="Europe/Berlin")
    validated = run("events", {**EVENT, "timestamp": ["2026-01-05 10:00:00"]}, config)
    assert validated.data.collect()["timestamp"].to_list() == [utc(2026, 1, 5, 9)]
    assert validated.quality.notes == (
        "timestamp: 1 value without a time zone was read as Europe/Berlin time "
        "(the source's timezone)",
    )


# ------------------------------------------------------------------ rules, one per case


@pytest.mark.parametrize(
    ("table", "data", "expected"),
    [
        (
            "events",
            {"user_id": ["u1", " "], "timestamp": ["2026-01-05"] * 2, "event": ["visit"] * 2},
            "null_value: user_id, 1 row: row 2 ' '",
        ),
        (
            "events",
            {"user_id": ["u1", "u2"], "timestamp": ["2026-01-05", "soon"], "event": ["v"] * 2},
            "unparseable_timestamp: timestamp, 1 row: row 2 'soon'",
        ),
        (
            "events",
            {**EVENT, "timestamp": ["2026-02-30 10:00:00"]},
            "unparseable_timestamp: timestamp, 1 row: row 1 '2026-02-30 10:00:00'",
        ),
        (
            "events",
            {**EVENT, "revenue": ["12,50"]},
            "not_a_number: revenue, 1 row: row 1 '12,50'",
        ),
        (
            "events",
            {**EVENT, "revenue": [float("nan")]},
            "not_a_number: revenue, 1 row: row 1 'NaN'",
        ),
        (
            "events",
            {**EVENT, "revenue": ["-3"]},
            "negative_value: revenue, 1 row: row 1 '-3'",
        ),
        (
            "spend",
            {"date": ["2026-01-05"], "channel": ["ads"], "cost": ["-1.5"]},
            "negative_value: cost, 1 row: row 1 '-1.5'",
        ),
        (
            "spend",
            {"date": ["2026-01-05"], "channel": ["ads"], "cost": ["1"], "clicks": ["2.5"]},
            "not_a_whole_number: clicks, 1 row: row 1 '2.5'",
        ),
        (
            "spend",
            {"date": ["2026-01-05"], "channel": ["ads"], "cost": ["1"], "impressions": [-4]},
            "negative_value: impressions, 1 row: row 1 '-4'",
        ),
        (
            "spend",
            {"date": ["Jan 5"], "channel": ["ads"], "cost": ["1"]},
            "unparseable_date: date, 1 row: row 1 'Jan 5'",
        ),
        (
            "tickets",
            {"ticket_id": ["t1"], "opened_at": ["2026-01-05"], "contacts": ["0"]},
            "contacts_below_one: contacts, 1 row: row 1 '0'",
        ),
        (
            "tickets",
            {"ticket_id": ["t1"], "opened_at": ["2026-01-05"], "handle_minutes": [-2.0]},
            "negative_value: handle_minutes, 1 row: row 1 '-2.0'",
        ),
        (
            "tickets",
            {"ticket_id": ["t1"], "opened_at": ["2026-01-05 10:00:00"],
             "resolved_at": ["2026-01-05 09:00:00"]},
            "resolved_before_opened: resolved_at, 1 row: row 1 "
            "'opened 2026-01-05 10:00:00, resolved 2026-01-05 09:00:00'",
        ),
        (
            "surveys",
            {"user_id": ["u1"], "timestamp": ["2026-01-05"], "survey": ["sus"], "score": ["3"]},
            "unknown_survey: survey, 1 row: row 1 'sus'",
        ),
        (
            "surveys",
            {"user_id": ["u1"], "timestamp": ["2026-01-05"], "survey": ["NPS"], "score": ["11"]},
            "score_off_scale: score, 1 row: row 1 'nps 11'",
        ),
        (
            "surveys",
            {"user_id": ["u1"], "timestamp": ["2026-01-05"], "survey": ["csat"], "score": [0]},
            "score_off_scale: score, 1 row: row 1 'csat 0'",
        ),
        (
            "surveys",
            {"user_id": ["u1"], "timestamp": ["2026-01-05"], "survey": ["ces"], "score": [8]},
            "score_off_scale: score, 1 row: row 1 'ces 8'",
        ),
    ],
)  # fmt: skip
def test_each_rule_reports_its_line(table: str, data: dict, expected: str) -> None:
    validated = run(table, data)
    assert lines(validated) == [expected]
    assert validated.quality.rows_quarantined == 1


def test_ces_scale_comes_from_the_config() -> None:
    config = config_from_dict({
        "name": "s", "surveys": {"ces": {"min": 1, "max": 10}},
        "sources": {"events": {"path": "/e.parquet"}, "surveys": {"path": "/s.parquet"}},
    })  # fmt: skip
    data = {"user_id": ["u1", "u2"], "timestamp": ["2026-01-05"] * 2, "survey": ["ces", "ces"],
            "score": [8, 11]}  # fmt: skip
    assert lines(run("surveys", data, config)) == ["score_off_scale: score, 1 row: row 2 'ces 11'"]


def test_survey_kinds_are_normalised_to_lower_case() -> None:
    data = {"user_id": ["u1", "u2"], "timestamp": ["2026-01-05"] * 2,
            "survey": [" NPS", "Csat"], "score": ["9", "4"]}  # fmt: skip
    validated = run("surveys", data)
    assert validated.data.collect()["survey"].to_list() == ["nps", "csat"]
    assert validated.quality.clean


def test_optional_columns_may_be_null() -> None:
    validated = run("events", {**EVENT, "revenue": [None], "session_id": [None]})
    assert validated.quality.clean
    assert validated.data.collect()["revenue"].to_list() == [None]


def test_spend_types() -> None:
    data = {"date": ["2026-01-05"], "channel": ["ads"], "cost": ["10.5"], "clicks": ["7"]}
    row = run("spend", data).data.collect().row(0, named=True)
    assert row == {"date": date(2026, 1, 5), "channel": "ads", "cost": 10.5, "clicks": 7}


# ------------------------------------------------------------------ quarantine and counting


def test_row_breaking_two_rules_is_quarantined_once_and_counted_by_each_rule() -> None:
    data = {"user_id": [None, "u2"], "timestamp": ["soon", "2026-01-05"], "event": ["v", "v"],
            "revenue": ["-1", "-2"]}  # fmt: skip
    validated = run("events", data)
    assert [(i.rule, i.count) for i in validated.quality.issues] == [
        ("null_value", 1), ("unparseable_timestamp", 1), ("negative_value", 2)
    ]  # fmt: skip
    assert validated.quality.rows_quarantined == 2
    assert validated.quarantine.collect().to_dicts() == [
        {"user_id": None, "timestamp": "soon", "event": "v", "revenue": "-1", "_row": 1,
         "_rule": "null_value(user_id), unparseable_timestamp(timestamp), negative_value(revenue)"},
        {"user_id": "u2", "timestamp": "2026-01-05", "event": "v", "revenue": "-2", "_row": 2,
         "_rule": "negative_value(revenue)"},
    ]  # fmt: skip


def test_examples_stop_at_five_and_the_count_goes_on() -> None:
    data = {"user_id": ["u"] * 7, "timestamp": [f"bad{i}" for i in range(7)], "event": ["v"] * 7}
    (issue,) = run("events", data).quality.issues
    assert str(issue) == (
        "unparseable_timestamp: timestamp, 7 rows: row 1 'bad0', row 2 'bad1', row 3 'bad2', "
        "row 4 'bad3', row 5 'bad4', ..."
    )


def test_exact_duplicate_events_are_removed_and_counted() -> None:
    data = {"user_id": ["u1", "u1", "u1", "u2"], "timestamp": ["2026-01-05"] * 4,
            "event": ["visit", "visit", "visit", "visit"]}  # fmt: skip
    validated = run("events", data)
    assert validated.quality.duplicates_removed == 2
    assert validated.quality.rows_kept == 2
    assert validated.data.collect()["user_id"].to_list() == ["u1", "u2"]
    assert validated.quarantine.collect().height == 0


def test_duplicates_are_not_removed_from_spend() -> None:
    data = {"date": ["2026-01-05"] * 2, "channel": ["ads"] * 2, "cost": ["1"] * 2}
    validated = run("spend", data)
    assert (validated.quality.duplicates_removed, validated.data.collect().height) == (0, 2)


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/data/events.csv", "line 3 'soon'"), ("/data/events.parquet", "row 2 'soon'")],
)
def test_csv_sources_report_file_lines_others_row_numbers(path: str, expected: str) -> None:
    data = {"user_id": ["u1", "u2"], "timestamp": ["2026-01-05", "soon"], "event": ["v"] * 2}
    validated = run("events", data, path=path)
    assert lines(validated) == [f"unparseable_timestamp: timestamp, 1 row: {expected}"]
    assert validated.quarantine.collect()["_row"].to_list() == [int(expected.split()[1])]


def test_multi_file_examples_name_the_file_and_count_lines_within_it() -> None:
    config = make_config(path="/data/events-*.csv")
    frame = pl.LazyFrame({
        "user_id": ["u1", "u2", "u3"], "timestamp": ["2026-01-05", "2026-01-05", "soon"],
        "event": ["v"] * 3, "file": ["/data/events-1.csv", "/data/events-2.csv",
                                     "/data/events-2.csv"],
    })  # fmt: skip
    validated = validate_table("events", frame, config.sources.events, config, file_column="file")
    assert lines(validated) == [
        "unparseable_timestamp: timestamp, 1 row: events-2.csv line 3 'soon'"
    ]
    assert "file" not in validated.data.collect_schema()


def test_clean_table_is_clean_with_an_empty_quarantine() -> None:
    validated = run("events", EVENT)
    assert validated.quality == TableQuality("events", "/data/events.parquet", 1, 1, 0, 0)
    assert validated.quality.clean
    assert validated.quarantine.collect().height == 0
    assert DataQuality((validated.quality,)).clean


rows = st.lists(
    st.tuples(
        st.sampled_from(["u1", "u2", None, " "]),
        st.sampled_from(["2026-01-05", "2026-01-05T10:00:00+01:00", "soon", None]),
        st.sampled_from(["visit", None]),
        st.sampled_from(["1.5", "-1", "x", None]),
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(rows)
def test_every_row_is_kept_quarantined_or_a_counted_duplicate(sample: list[tuple]) -> None:
    columns = list(zip(*sample, strict=True)) if sample else [[], [], [], []]
    data = dict(zip(("user_id", "timestamp", "event", "revenue"), map(list, columns), strict=True))
    frame = pl.LazyFrame(data, schema=dict.fromkeys(data, pl.String))
    config = make_config()
    validated = validate_table("events", frame, config.sources.events, config)
    quality = validated.quality
    assert quality.rows_read == len(sample)
    assert (
        quality.rows_read
        == quality.rows_kept + quality.rows_quarantined + quality.duplicates_removed
    )
    assert validated.data.collect().height == quality.rows_kept
    assert validated.quarantine.collect().height == quality.rows_quarantined


# ------------------------------------------------------------------ the report


def test_summary_reads_as_a_plain_text_report() -> None:
    config = make_config(path="/data/events.csv", columns={"user_id": "customer"},
                         journey_timezone="Europe/Berlin")  # fmt: skip
    data = {"customer": ["c1", "c1", None], "timestamp": ["2026-01-05 10:00:00"] * 3,
            "event": ["visit"] * 3}  # fmt: skip
    quality = DataQuality((run("events", data, config).quality,), missing_tables(config))
    assert quality.summary() == (
        "Data quality: 1 table checked, 1 rows quarantined\n"
        "events (/data/events.csv)\n"
        "  rows: 3 read, 1 kept, 1 quarantined, 1 duplicate removed\n"
        "  null_value: user_id (source column 'customer'), 1 row: line 4 null\n"
        "  note: timestamp: 3 values without a time zone were read as Europe/Berlin time "
        "(the journey's timezone)\n"
        "spend: not configured (its KPIs will be reported as not available)\n"
        "surveys: not configured (its KPIs will be reported as not available)\n"
        "tickets: not configured (its KPIs will be reported as not available)"
    )
    assert quality.rows_quarantined == 1
    assert not quality.clean


def test_to_frame_has_one_row_per_table_and_rule() -> None:
    issue = RuleViolation("negative_value", "cost", "spend_eur", 2, (Example(3, "-1"),), "line")
    quality = DataQuality((
        TableQuality("events", "e.csv", 5, 5, 0, 0),
        TableQuality("spend", "s.csv", 4, 2, 2, 0, (issue,)),
    ))  # fmt: skip
    frame = quality.to_frame().select("table", "rule", "column", "source_column", "count",
                                      "examples")  # fmt: skip
    assert frame.to_dicts() == [
        {"table": "events", "rule": None, "column": None, "source_column": None, "count": 0,
         "examples": None},
        {"table": "spend", "rule": "negative_value", "column": "cost", "source_column": "spend_eur",
         "count": 2, "examples": "line 3 '-1'"},
    ]  # fmt: skip


def test_to_dict_is_plain_data() -> None:
    quality = DataQuality((TableQuality("events", "e.csv", 1, 1, 0, 0),), ("spend",))
    assert quality.to_dict() == {
        "clean": True,
        "rows_quarantined": 0,
        "problems": [],
        "tables": [{"table": "events", "location": "e.csv", "rows_read": 1, "rows_kept": 1,
                    "rows_quarantined": 0, "duplicates_removed": 0, "issues": [], "notes": [],
                    "problems": []}],
        "missing": ["spend"],
    }  # fmt: skip

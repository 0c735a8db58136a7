"""The journey config: valid files load, every mistake is located by file, line and key path."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from journeylib.config import config_from_dict, load_config
from journeylib.config.stages import DEFAULT_STAGES
from journeylib.errors import ConfigError

MINIMAL = """\
name: Acme
sources:
  events:
    path: data/events.csv
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "journey.yml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert caught.value.file.endswith("journey.yml")
    return caught.value.problems


def test_minimal_config_takes_the_documented_defaults(tmp_path):
    config = load_config(write(tmp_path, MINIMAL))
    assert config.name == "Acme"
    assert config.timezone == "UTC"
    assert config.breakdown_touch == "first"
    assert [s.name for s in config.stages] == list(DEFAULT_STAGES)
    assert config.surveys.ces.min == 1
    assert config.surveys.ces.max == 7
    assert config.surveys.ces.higher_is_better is True
    assert config.sources.spend is None


def test_paths_resolve_relative_to_the_config_file(tmp_path, monkeypatch):
    monkeypatch.chdir("/")
    config = load_config(write(tmp_path, MINIMAL))
    assert config.sources.events.path == tmp_path.resolve() / "data" / "events.csv"
    assert config.source_file == (tmp_path / "journey.yml").resolve()


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ({"path": "e.csv"}, "csv"),
        ({"path": "e.csv.gz"}, "csv"),
        ({"path": "e.parquet"}, "parquet"),
        ({"path": "events/"}, "parquet"),
        ({"path": "shop.duckdb", "table": "events"}, "duckdb"),
        ({"uri": "postgresql://u@127.0.0.1/db", "table": "events"}, "sql"),
        ({"kind": "csv", "path": "e.txt"}, "csv"),
    ],
)
def test_source_kind_is_inferred(source, kind):
    config = config_from_dict({"name": "a", "sources": {"events": source}})
    assert config.sources.events.kind == kind


def test_roles_accept_a_single_name_or_a_list():
    config = config_from_dict(
        {
            "name": "a",
            "sources": {"events": {"path": "e.csv"}},
            "roles": {
                "visit": "page_view",
                "purchase": ["order", "order_v2"],
                "feature:export": "x",
            },
        }
    )
    assert config.events_for("visit") == ["page_view"]
    assert config.events_for("purchase") == ["order", "order_v2"]
    assert config.events_for("feature:export") == ["x"]
    assert config.events_for("lead") == []


def test_funnel_window_is_a_duration():
    config = config_from_dict(
        {
            "name": "a",
            "sources": {"events": {"path": "e.csv"}},
            "funnels": {"main": {"steps": ["visit", "purchase"], "window": "36h"}},
        }
    )
    assert config.funnels["main"].window == timedelta(hours=36)
    assert config.funnels["main"].window_text == "36h"


def test_unknown_key_names_line_path_and_close_match(tmp_path):
    found = problems(
        tmp_path,
        """\
        name: Acme
        sources:
          events:
            path: e.csv
            colums: {user_id: uid}
        """,
    )
    assert found == [
        "line 5: sources.events.colums: unknown key 'colums' (did you mean 'columns'?); "
        "allowed keys here: columns, encoding, epoch_unit, kind, path, query, separator, table, "
        "timestamp_format, timezone, uri"
    ]


def test_unknown_top_level_key(tmp_path):
    found = problems(tmp_path, MINIMAL + "targtes: {ctr: 0.02}\n")
    assert found[0].startswith("line 5: targtes: unknown key 'targtes' (did you mean 'targets'?)")


def test_missing_required_keys(tmp_path):
    found = problems(tmp_path, "name: Acme\n")
    assert found == ["line 1: sources: required key is missing"]


def test_every_problem_is_listed_not_only_the_first(tmp_path):
    found = problems(
        tmp_path,
        """\
        name: Acme
        timezone: Europe/Berln
        sources:
          events:
            path: e.csv
        roles:
          purchse: order_completed
        funnels:
          main:
            steps: [visit, purchase]
            window: 7x
        """,
    )
    assert found == [
        "line 2: timezone: unknown time zone 'Europe/Berln' (did you mean 'Europe/Berlin'?); "
        "use an IANA name such as Europe/Berlin",
        "line 7: roles.purchse: unknown role 'purchse' (did you mean 'purchase'?); roles: visit, "
        "lead, signup, trial_start, activation, product_view, add_to_cart, checkout, "
        "payment_failed, purchase, referral, review, engage, or feature:<name>",
        "line 11: funnels.main.window: expected a duration such as 7d, 12h, 30m, 45s or 2w, "
        "got '7x'",
    ]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{kind: csv}", "a csv source needs 'path'"),
        ("{path: shop.duckdb}", "a duckdb source needs exactly one of 'table' or 'query'"),
        (
            "{uri: 'postgresql://u@127.0.0.1/db', table: e, query: 'select 1'}",
            "a sql source needs exactly one of 'table' or 'query'",
        ),
        ("{path: e.csv, table: events}", "a csv source takes 'path' only"),
        ("{path: e.csv, separator: ';;'}", "String should have at most 1 character"),
        ("{path: e.csv, epoch_unit: days}", "Input should be 's', 'ms', 'us' or 'ns'"),
    ],
)
def test_source_problems(tmp_path, source, message):
    found = problems(tmp_path, f"name: Acme\nsources:\n  events: {source}\n")
    assert len(found) == 1
    assert found[0].startswith("line 3: sources.events")
    assert message in found[0]


def test_column_mapping_must_name_canonical_columns(tmp_path):
    found = problems(
        tmp_path,
        "name: Acme\nsources:\n  events: {path: e.csv, columns: {userid: uid}}\n",
    )
    assert "events.columns maps 'userid', which is not a canonical events column" in found[0]
    assert "canonical columns: user_id, timestamp, event, session_id, revenue" in found[0]


def test_unknown_kpi_in_a_stage_is_located(tmp_path):
    found = problems(
        tmp_path,
        MINIMAL + "stages:\n  - name: buy\n    kpis: [conversion_rat]\n",
    )
    assert found == [
        "line 7: stages.0.kpis: unknown KPI 'conversion_rat' (did you mean "
        "'conversion_rate'?); see the glossary for the KPI names"
    ]


def test_a_kpi_cannot_sit_in_two_stages(tmp_path):
    found = problems(
        tmp_path,
        MINIMAL + "stages:\n  - {name: a, kpis: [ctr]}\n  - {name: b, kpis: [ctr]}\n",
    )
    assert "KPI 'ctr' is in both stage 'a' and stage 'b'" in found[0]


def test_target_for_unknown_kpi(tmp_path):
    found = problems(tmp_path, MINIMAL + "targets:\n  nsp: 30\n")
    assert found == ["line 6: targets.nsp: unknown KPI 'nsp' (did you mean 'nps'?)"]


def test_feature_adoption_for_one_feature_is_a_kpi():
    config = config_from_dict(
        {
            "name": "a",
            "sources": {"events": {"path": "e.csv"}},
            "targets": {"feature_adoption_rate[export]": 0.2},
        }
    )
    assert config.targets == {"feature_adoption_rate[export]": 0.2}


def test_invalid_yaml_is_located(tmp_path):
    found = problems(tmp_path, "name: Acme\nsources:\n  events: [unclosed\n")
    assert len(found) == 1
    assert found[0].startswith("line ")
    assert "not valid YAML" in found[0]


def test_missing_file():
    with pytest.raises(ConfigError, match=r"nope\.yml: 1 problem in the journey config"):
        load_config("nope.yml")


def test_ces_scale_must_be_ordered(tmp_path):
    found = problems(tmp_path, MINIMAL + "surveys:\n  ces: {min: 7, max: 1}\n")
    assert found == ["line 6: surveys.ces: ces scale needs min < max"]


def test_uri_password_comes_from_the_environment_and_is_redacted(monkeypatch):
    monkeypatch.setenv("JOURNEY_TEST_PW", "s3cret")
    config = config_from_dict(
        {
            "name": "a",
            "sources": {
                "events": {"uri": "postgresql://u:${JOURNEY_TEST_PW}@127.0.0.1/db", "table": "e"}
            },
        }
    )
    source = config.sources.events
    assert source.resolved_uri() == "postgresql://u:s3cret@127.0.0.1/db"
    assert "s3cret" not in source.location
    assert source.location == "postgresql://u:***@127.0.0.1/db (e)"


def test_unset_environment_variable_in_uri(monkeypatch):
    monkeypatch.delenv("JOURNEY_UNSET_PW", raising=False)
    config = config_from_dict(
        {
            "name": "a",
            "sources": {"events": {"uri": "postgresql://u:${JOURNEY_UNSET_PW}@h/db", "table": "e"}},
        }
    )
    with pytest.raises(ConfigError, match=r"\$\{JOURNEY_UNSET_PW\}, which is not set"):
        config.sources.events.resolved_uri()


def test_config_is_frozen():
    config = config_from_dict({"name": "a", "sources": {"events": {"path": "e.csv"}}})
    with pytest.raises(Exception, match="frozen"):
        config.name = "b"


@pytest.mark.parametrize(
    ("window", "shown"),
    [("0", "0"), ("-1", "-1"), ("0d", "'0d'"), ("99999999", "99999999"),
     ("999999999d", "'999999999d'"), ("3651d", "'3651d'")],
)  # fmt: skip
def test_a_funnel_window_must_be_above_0_and_at_most_ten_years(tmp_path, window, shown):
    text = f"{MINIMAL}funnels:\n  main: {{steps: [visit, purchase], window: {window}}}\n"
    (problem,) = problems(tmp_path, text)
    assert problem.startswith("line 6: funnels.main.window: ")
    assert "a window must be above 0 and at most 3650d (10 years)" in problem
    assert problem.endswith(f"got {shown}")


def test_an_infinite_window_is_refused(tmp_path):
    text = f"{MINIMAL}funnels:\n  main: {{steps: [visit, purchase], window: .inf}}\n"
    assert problems(tmp_path, text) == [
        "line 6: funnels.main.window: expected a finite duration, got inf"
    ]


def test_the_longest_window_is_accepted():
    config = config_from_dict(
        {"name": "a", "sources": {"events": {"path": "e.csv"}},
         "funnels": {"main": {"steps": ["visit", "purchase"], "window": "3650d"}}}
    )  # fmt: skip
    assert config.funnels["main"].window == timedelta(days=3650)


def test_funnel_steps_and_exclusions_cannot_be_empty(tmp_path):
    text = f"{MINIMAL}funnels:\n  main: {{steps: [visit, ''], exclude: ['']}}\n"
    found = problems(tmp_path, text)
    assert [p.split(":")[1].strip() for p in found] == [
        "funnels.main.steps.1",
        "funnels.main.exclude.0",
    ]


def test_encoding_is_a_known_codec_of_a_csv_source(tmp_path):
    config = config_from_dict(
        {"name": "a", "sources": {"events": {"path": "e.csv", "encoding": "Latin-1"}}}
    )
    assert config.sources.events.encoding == "iso8859-1"
    (problem,) = problems(tmp_path, MINIMAL + "    encoding: latin-9x\n")
    assert problem.startswith("line 5: sources.events.encoding: unknown text encoding 'latin-9x'")
    (problem,) = problems(tmp_path, MINIMAL.replace("events.csv", "events.parquet") + (
        "    encoding: latin-1\n"))  # fmt: skip
    assert "'encoding' applies to csv sources only, not to a parquet source" in problem


EXPERIMENT = (
    MINIMAL
    + """\
experiments:
  checkout_test:
    variant: checkout_variant
    kpis: [conversion_rate, aov]
    control: control
    expected_split: [50, 50]
    start: 2026-07-03
"""
)


def test_an_experiment_is_declared_with_its_variant_kpis_split_and_period(tmp_path):
    from datetime import date

    experiment = load_config(write(tmp_path, EXPERIMENT)).experiments["checkout_test"]
    assert experiment.variant == "checkout_variant"
    assert experiment.kpis == ["conversion_rate", "aov"]
    assert (experiment.control, experiment.expected_split) == ("control", [50.0, 50.0])
    assert (experiment.start, experiment.end) == (date(2026, 7, 3), None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("[conversion_rate, aov]", "[conversion_rat]"),
            "line 8: experiments.checkout_test.kpis: unknown KPI 'conversion_rat' (did you "
            "mean 'conversion_rate'?)",
        ),
        (
            ("[50, 50]", "[100]"),
            "line 10: experiments.checkout_test.expected_split: expected_split needs two or "
            "more positive shares (control first), got [100.0]",
        ),
        (
            ("start: 2026-07-03", "start: 2026-07-03\n    end: 2026-07-01"),
            "experiments.checkout_test: the experiment's period is empty: start "
            "2026-07-03 is not before end 2026-07-01",
        ),
        (("variant: checkout_variant", "variant: ''"), "experiments.checkout_test.variant"),
    ],
)
def test_experiment_problems_are_located(tmp_path, change, message):
    found = problems(tmp_path, EXPERIMENT.replace(*change))
    assert len(found) == 1
    assert message in found[0]

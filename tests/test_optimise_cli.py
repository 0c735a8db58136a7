"""journey friction | incidents | experiment: the JSON shapes of the README and the tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from story_free import Drop, journey_events

from journeylib.cli import main

STEPS = "visit,view,cart,checkout,purchase"
INCIDENT_KEYS = {
    "kpi",
    "from_step",
    "to_step",
    "start",
    "end",
    "baseline_rate",
    "rate",
    "users_lost",
    "p_value",
    "segments",
    "sentence",
    "key",
    "segment",
}
SEGMENT_KEYS = {"dimension", "value", "baseline_rate", "rate", "users_lost"}
EXPERIMENT_KEYS = {"kpi", "control", "variants", "comparisons", "srm", "mde", "verdict"}


@pytest.fixture(scope="module")
def events_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    drop = Drop(step=4, first=70, last=76, factor=0.5)
    frame = journey_events(11, visitors_per_day=300, days=112, drop=drop, treatment_lift=0.2)
    path = tmp_path_factory.mktemp("cli") / "events.parquet"
    frame.write_parquet(path)
    return path


def run(capsys, *args: str):
    code = main(list(args))
    out = capsys.readouterr().out
    assert code == 0
    return out


def test_incidents_json_has_the_documented_shape(capsys, events_path):
    out = run(
        capsys, "incidents", "--events", str(events_path), "--steps", STEPS, "--format", "json"
    )
    incidents = json.loads(out)
    found = [i for i in incidents if i["from_step"] == "checkout" and i["segment"] is None]
    assert len(found) == 1
    incident = found[0]
    assert set(incident) == INCIDENT_KEYS
    assert (incident["start"], incident["end"]) == ("2026-03-16", "2026-03-23")
    assert incident["to_step"] == "purchase"
    assert incident["kpi"] is None
    assert isinstance(incident["users_lost"], int)
    assert incident["key"] == "checkout→purchase|all|2026-03-16"
    assert all(set(segment) == SEGMENT_KEYS for segment in incident["segments"])
    assert incident["sentence"].startswith("From 16 Mar to 22 Mar 2026, checkout → purchase")


def test_incidents_table_lists_the_sentences(capsys, events_path):
    out = run(capsys, "incidents", "--events", str(events_path), "--steps", STEPS, "--loops")
    assert "Incidents per week against the 4 before" in out
    assert "From 16 Mar to 22 Mar 2026, checkout → purchase fell from" in out
    assert "Loops" in out


def test_experiment_json_is_one_object_per_kpi_and_a_list_for_several(capsys, events_path):
    one = json.loads(
        run(
            capsys,
            "experiment",
            "--events",
            str(events_path),
            "--variant",
            "variant",
            "--kpi",
            "conversion_rate",
            "--format",
            "json",
        )
    )
    assert set(one) == EXPERIMENT_KEYS
    assert one["control"] == "control"
    assert [set(v) for v in one["variants"]] == [
        {"variant", "users", "value", "ci_low", "ci_high"}
    ] * 2
    assert set(one["comparisons"][0]) == {
        "variant",
        "lift",
        "lift_ci_low",
        "lift_ci_high",
        "relative_lift",
        "p_value",
        "p_value_adjusted",
    }
    assert set(one["srm"]) == {"p_value", "flagged", "observed", "expected"}
    assert set(one["srm"]["observed"]) == {"control", "treatment"}
    several = json.loads(
        run(
            capsys,
            "experiment",
            "--events",
            str(events_path),
            "--variant",
            "variant",
            "--kpi",
            "conversion_rate,arpu",
            "--format",
            "json",
        )
    )
    assert [item["kpi"] for item in several] == ["conversion_rate", "arpu"]


def test_experiment_table_shows_variants_srm_and_verdict(capsys, events_path):
    out = run(
        capsys,
        "experiment",
        "--events",
        str(events_path),
        "--variant",
        "variant",
        "--kpi",
        "conversion_rate",
        "--sequential",
    )
    assert "Assigned users: control" in out
    assert "sample ratio p =" in out
    assert "treatment beats control on conversion_rate" in out or "No winner" in out


def test_friction_json_and_table(capsys, events_path):
    data = json.loads(
        run(capsys, "friction", "--events", str(events_path), "--steps", STEPS, "--format", "json")
    )
    assert set(data) == {"transitions", "segments", "next_events", "correlation"}
    assert [t["rank"] for t in data["transitions"]] == [1, 2, 3, 4]
    lost = [t["lost"] for t in data["transitions"]]
    assert lost == sorted(lost, reverse=True)
    table = run(capsys, "friction", "--events", str(events_path), "--steps", STEPS)
    assert "Transitions, most users lost first" in table
    assert "What dropped users did next" in table

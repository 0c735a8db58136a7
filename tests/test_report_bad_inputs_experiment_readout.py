"""Bad inputs of ``journey report run experiment_readout``: exit 2, one line naming the input,
nothing written (no report, no ``_failed`` entry): they are refused before the kernel starts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from bad_inputs import BadInput, check_bad_input
from story_free import journey_config, journey_events

READOUT = str(Path(__file__).resolve().parents[1] / "notebooks" / "experiment_readout.ipynb")
RUN = ["report", "run", READOUT, "--out", "{dir}/reports", "-p", "config", "{config}"]


def parameter(name: str, value: str) -> list[str]:
    return [*RUN, "-p", name, value]


CASES = [
    BadInput(
        "undeclared-experiment",
        parameter("experiment", "pricing"),
        ["experiment 'pricing' is not declared", "declared: checkout"],
    ),
    BadInput("unknown-kpi", parameter("kpis", "[conversion]"), ["unknown kpi 'conversion'"]),
    BadInput(
        "period-not-a-range",
        parameter("experiment_period", "2026-01-05"),
        ["experiment_period '2026-01-05'", "YYYY-MM-DD..YYYY-MM-DD"],
    ),
    BadInput(
        "period-inverted",
        parameter("experiment_period", "2026-02-01..2026-01-05"),
        ["experiment_period '2026-02-01..2026-01-05' is empty"],
    ),
    BadInput(
        "period-not-a-date",
        parameter("experiment_period", "2026-02-30..2026-03-05"),
        ["experiment_period '2026-02-30..2026-03-05'", "day is out of range"],
    ),
    BadInput("split-not-a-list", parameter("expected_split", "half"), ["expected_split"]),
]


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("story-free")
    journey_events(1, visitors_per_day=50, days=28).write_parquet(folder / "events.parquet")
    declared = journey_config().model_dump(mode="json", exclude_none=True)
    declared["sources"] = {"events": {"path": "events.parquet"}}
    declared["experiments"] = {
        "checkout": {"variant": "variant", "kpis": ["conversion_rate"], "control": "control"}
    }
    path = folder / "journey.yml"
    path.write_text(yaml.safe_dump(declared), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_bad_readout_input_exits_2_with_one_line(case: BadInput, config: str, tmp_path: Path):
    concrete = BadInput(
        case.id, [arg.replace("{config}", config) for arg in case.args], case.message
    )
    check_bad_input(concrete, tmp_path)
    assert not (tmp_path / "reports").exists()

"""Bad parameters of the notebook suite: exit 2, one line naming the parameter, nothing written.

``journey report run`` checks the suite's own parameters before a kernel starts, with the
report's: ``window``, ``cohort_grain``, ``cohorts``, ``value_cohorts``, ``breakdown``,
``channel_column``, ``campaign_column`` (and the report parameters they share). Each case runs
in a child process (``tests/bad_inputs.py``) on a tiny journey (``tests/gap_journey.py``, whose
events have the dimensions channel and platform), with the reports folder watched.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bad_inputs import BadInput, check_bad_input
from gap_journey import write_gap_journey

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def run(notebook: str, name: str, value: str) -> list[str]:
    path = str(NOTEBOOKS / f"{notebook}.ipynb")
    report = ["report", "run", path, "--out", "{dir}/reports", "-p", "config_path", "{config}"]
    return [*report, "-p", name, value]


CASES = [
    BadInput(
        "explore-breakdown",
        run("explore_journey", "breakdown", "colour"),
        ["breakdown: the events have no dimension 'colour'", "dimensions: channel, platform"],
    ),
    BadInput(
        "explore-breakdown-not-a-dimension",
        run("explore_journey", "breakdown", "user_id"),
        ["breakdown", "no dimension 'user_id'"],
    ),
    BadInput(
        "explore-window",
        run("explore_journey", "window", "7x"),
        ["window: expected a duration such as 7d", "'7x'"],
    ),
    BadInput(
        "explore-funnel",
        run("explore_journey", "funnel", "checkout"),
        ["funnel: the config has no funnel 'checkout'"],
    ),
    BadInput(
        "deep-dive-window-zero",
        run("funnel_deep_dive", "window", "0d"),
        ["window:", "'0d'"],
    ),
    BadInput(
        "deep-dive-trend-periods",
        run("funnel_deep_dive", "trend_periods", "0"),
        ["trend_periods: expected a whole number of at least 1, got 0"],
    ),
    BadInput(
        "deep-dive-breakdown",
        run("funnel_deep_dive", "breakdown", "device"),
        ["breakdown: the events have no dimension 'device'"],
    ),
    BadInput(
        "cohort-grain",
        run("cohort_retention", "cohort_grain", "year"),
        ["cohort_grain: expected one of day, week, month, got 'year'"],
    ),
    BadInput(
        "cohorts-zero",
        run("cohort_retention", "cohorts", "0"),
        ["cohorts: expected a whole number of at least 1, got 0"],
    ),
    BadInput(
        "cohorts-not-a-number",
        run("cohort_retention", "cohorts", "many"),
        ["parameter 'cohorts' of cohort_retention.ipynb: expected int, got 'many'"],
    ),
    BadInput(
        "value-cohorts-negative",
        run("cohort_retention", "value_cohorts", "-3"),
        ["value_cohorts: expected a whole number of at least 1, got -3"],
    ),
    BadInput(
        "cohort-breakdown",
        run("cohort_retention", "breakdown", "region"),
        ["breakdown: the events have no dimension 'region'"],
    ),
    BadInput(
        "channel-column",
        run("channel_performance", "channel_column", "source"),
        ["channel_column: the events have no dimension 'source'"],
    ),
    BadInput(
        "campaign-column",
        run("channel_performance", "campaign_column", "campaign"),
        ["campaign_column: the events have no dimension 'campaign'", "channel, platform"],
    ),
    BadInput(
        "channel-trend-kpis",
        run("channel_performance", "trend_kpis", "[ctr, roas]"),
        ["trend_kpis: unknown KPI 'roas'"],
    ),
    BadInput(
        "channel-period",
        run("channel_performance", "period", "last_quarter"),
        ["period", "last_quarter"],
    ),
]


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(write_gap_journey(tmp_path_factory.mktemp("gap-journey")))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_bad_notebook_parameter_exits_2_with_one_line(case: BadInput, config: str, tmp_path: Path):
    args = [arg.replace("{config}", config) for arg in case.args]
    check_bad_input(BadInput(case.id, args, case.message, case.env, case.watch), tmp_path)

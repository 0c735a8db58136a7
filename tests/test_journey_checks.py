"""What the analyst API refuses, and what it still runs: steps, exclusions, windows, filters,
breakdowns, and events in which no configured role occurs.

Each case is a small CSV journey built here; every refusal is a :class:`DataError` naming the
input and what is available.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import journeylib
from journeylib.config import config_from_dict
from journeylib.errors import DataError

EVENTS = """user_id,timestamp,event,platform
a,2026-01-05T10:00:00Z,page_view,ios
a,2026-01-05T11:00:00Z,add_to_basket,ios
a,2026-01-05T12:00:00Z,order_completed,ios
b,2026-01-06T10:00:00Z,page_view,web
b,2026-01-06T10:30:00Z,coupon_applied,web
c,2026-01-07T10:00:00Z,page_view,android
"""
ROLES = {"visit": "page_view", "purchase": "order_completed", "referral": "referral_sent"}


def _journey(folder: Path, text: str = EVENTS, roles: dict | None = None) -> journeylib.Journey:
    (folder / "events.csv").write_text(text)
    config = config_from_dict(
        {"name": "t", "sources": {"events": {"path": "events.csv"}},
         "roles": ROLES if roles is None else roles},
        base_dir=folder,
    )  # fmt: skip
    return journeylib.load(config)


@pytest.fixture
def journey(tmp_path: Path) -> journeylib.Journey:
    return _journey(tmp_path)


def _refused(call, *words: str) -> str:
    with pytest.raises(DataError) as raised:
        call()
    message = str(raised.value)
    for word in words:
        assert word in message, message
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------- funnel steps


def test_a_step_named_by_event_name_runs(journey: journeylib.Journey) -> None:
    steps = journey.funnel(["visit", "add_to_basket", "purchase"])
    assert steps["users"].to_list() == [3, 1, 1]


def test_a_step_that_is_neither_role_nor_event_is_refused(journey: journeylib.Journey) -> None:
    _refused(
        lambda: journey.funnel(["visit", "nonexistent_step", "purchase"]),
        "funnel step 'nonexistent_step' is neither a mapped role nor an event name",
        "mapped roles: visit, purchase, referral",
    )


def test_a_misspelt_step_gets_a_close_match(journey: journeylib.Journey) -> None:
    _refused(lambda: journey.funnel(["visit", "purchse"]), "did you mean 'purchase'?")
    _refused(lambda: journey.funnel(["visit", "add_to_baskt"]), "did you mean 'add_to_basket'?")


def test_an_unmapped_role_that_is_no_event_is_refused(journey: journeylib.Journey) -> None:
    _refused(
        lambda: journey.funnel(["visit", "checkout"]),
        "funnel step 'checkout' is a role the config does not map",
    )


def test_a_mapped_role_that_does_not_occur_is_a_step_with_no_one(
    journey: journeylib.Journey,
) -> None:
    assert journey.funnel(["visit", "referral"])["users"].to_list() == [3, 0]
    notes = journey.quality.table("events").notes
    assert any("role 'referral' (referral_sent) does not occur" in note for note in notes)
    assert journey.quality.problems == ()


def test_an_exclusion_must_exist_too(journey: journeylib.Journey) -> None:
    _refused(
        lambda: journey.funnel(["visit", "purchase"], exclude=["nosuch"]),
        "funnel exclusion 'nosuch'",
    )
    # an event name that occurs is an exclusion: a's basket removes a from every count
    excluded = journey.funnel(["visit", "purchase"], exclude=["add_to_basket"])
    assert excluded["users"].to_list() == [2, 0]


@pytest.mark.parametrize("window", ["0d", timedelta(0), "-1d", "99999999d", 1e12, "soon"])
def test_a_window_must_be_positive_and_bounded(journey: journeylib.Journey, window) -> None:
    _refused(lambda: journey.funnel(["visit", "purchase"], window=window), "window")


def test_a_breakdown_by_the_unit_is_refused(journey: journeylib.Journey) -> None:
    _refused(
        lambda: journey.funnel(["visit", "purchase"], by="user_id"), "funnel breakdown 'user_id'"
    )


# --------------------------------------------------------------------------- filters


def test_a_filter_value_no_event_holds_is_refused(journey: journeylib.Journey) -> None:
    _refused(
        lambda: journey.kpis(filters={"platform": "IOS"}, kpis=["orders"]),
        "filter platform=IOS: no event has platform 'IOS'",
        "did you mean 'ios'?",
        "'android', 'ios', 'web'",
    )
    _refused(lambda: journey.retention(filters={"platform": ["ios", "nosuch"]}), "'nosuch'")
    _refused(lambda: journey.funnel(["visit", "purchase"], filters={"country": "de"}), "country")


def test_a_filter_value_that_occurs_runs(journey: journeylib.Journey) -> None:
    table = journey.kpis(filters={"platform": ["ios", "web"]}, kpis=["unique_visitors"])
    assert table["value"].sum() == 2.0


def test_retention_refuses_a_negative_max_offset(journey: journeylib.Journey) -> None:
    _refused(lambda: journey.retention(max_offset=-1), "max_offset", "-1")


# --------------------------------------------------------------------------- no role occurs

INTEGER_EVENTS = """user_id,timestamp,event
a,2026-01-05T10:00:00Z,1
a,2026-01-05T11:00:00Z,2
b,2026-01-06T10:00:00Z,1
"""


def test_events_in_which_no_role_occurs_are_a_problem(tmp_path: Path) -> None:
    journey = _journey(tmp_path, INTEGER_EVENTS)
    (problem,) = journey.quality.problems
    assert problem.startswith("events: no configured role occurs in the events")
    assert "'page_view', 'order_completed', 'referral_sent'" in problem
    assert "holds e.g. '1', '2'" in problem
    words = ["no configured role occurs", "'1', '2'"]
    _refused(lambda: journey.kpis(), *words)
    _refused(lambda: journey.score(), *words)
    _refused(lambda: journey.funnel(["visit", "purchase"]), *words)
    _refused(lambda: journey.retention(cohort_role="purchase"), *words)


def test_event_names_still_make_a_funnel_and_any_event_a_retention(tmp_path: Path) -> None:
    journey = _journey(tmp_path, INTEGER_EVENTS)
    assert journey.funnel(["1", "2"])["users"].to_list() == [2, 1]
    assert journey.retention(grain="day")["cohort_size"].max() == 1


def test_a_config_that_maps_no_role_has_no_such_problem(tmp_path: Path) -> None:
    journey = _journey(tmp_path, INTEGER_EVENTS, roles={})
    assert journey.quality.problems == ()
    assert journey.quality.table("events").notes == ()


def test_steps_are_checked_when_there_are_too_many_names_to_keep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import journeylib.validate.table as validate

    monkeypatch.setattr(validate, "EVENT_NAMES_KEPT", 2)
    journey = _journey(tmp_path)
    assert journey._loaded.event_names is None  # 4 distinct names: not kept
    assert journey.funnel(["visit", "add_to_basket"])["users"].to_list() == [3, 1]
    _refused(lambda: journey.funnel(["visit", "nosuch"]), "funnel step 'nosuch'")


def test_no_role_occurring_is_found_when_there_are_too_many_names_to_keep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import journeylib.validate.table as validate

    monkeypatch.setattr(validate, "EVENT_NAMES_KEPT", 1)
    journey = _journey(tmp_path, INTEGER_EVENTS)
    assert journey._loaded.event_names is None
    assert journey.quality.problems[0].startswith("events: no configured role occurs")
    assert _journey(tmp_path).quality.problems == ()

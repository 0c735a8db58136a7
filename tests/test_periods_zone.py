"""Local period starts from the per-zone offset table agree with the time-zone conversion."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from journeylib.periods import period_start_expr
from journeylib.periods.zone import _transitions, local_period_start

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]
GRAINS = ["day", "week", "month"]


def _periods(moment: datetime, grain: str, zone: str) -> date:
    frame = pl.DataFrame({"ts": [moment]}, schema={"ts": pl.Datetime("us", "UTC")})
    return frame.select(local_period_start("ts", grain, zone)).item()


@pytest.mark.parametrize(
    ("moment", "grain", "zone", "expected"),
    [
        # Berlin in summer time (+2): 22:30 UTC is 00:30 on Monday 30 March
        (datetime(2026, 3, 29, 22, 30, tzinfo=UTC), "day", "Europe/Berlin", date(2026, 3, 30)),
        (datetime(2026, 3, 29, 22, 30, tzinfo=UTC), "week", "Europe/Berlin", date(2026, 3, 30)),
        (datetime(2026, 3, 29, 22, 30, tzinfo=UTC), "month", "Europe/Berlin", date(2026, 3, 1)),
        # the same instant one hour earlier is still Sunday 29 March (week of Monday 23rd)
        (datetime(2026, 3, 29, 21, 30, tzinfo=UTC), "week", "Europe/Berlin", date(2026, 3, 23)),
        # after the autumn change (+1): 22:59 UTC is 23:59 on Sunday 25 October
        (datetime(2026, 10, 25, 22, 59, tzinfo=UTC), "day", "Europe/Berlin", date(2026, 10, 25)),
        (datetime(2026, 10, 25, 23, 0, tzinfo=UTC), "week", "Europe/Berlin", date(2026, 10, 26)),
        # New York springs forward at 07:00 UTC; one microsecond before, it is 01:59:59 EST
        (
            datetime(2026, 3, 8, 6, 59, 59, 999999, tzinfo=UTC),
            "day",
            "America/New_York",
            date(2026, 3, 8),
        ),
        # Kathmandu is +5:45: 18:15 UTC on 31 December is midnight of the new year
        (datetime(2026, 12, 31, 18, 15, tzinfo=UTC), "month", "Asia/Kathmandu", date(2027, 1, 1)),
        (datetime(2026, 12, 31, 18, 14, tzinfo=UTC), "month", "Asia/Kathmandu", date(2026, 12, 1)),
        # before 1970: floor division keeps Mondays right
        (datetime(1969, 12, 31, 12, tzinfo=UTC), "week", "UTC", date(1969, 12, 29)),
    ],
)
def test_local_period_start_on_hand_computed_cases(
    moment: datetime, grain: str, zone: str, expected: date
) -> None:
    assert _periods(moment, grain, zone) == expected


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("grain", GRAINS)
def test_local_period_start_matches_conversion_around_every_transition(
    zone: str, grain: str
) -> None:
    instants, _ = _transitions(zone)
    steps = (-86_400_000_000, -3_600_000_000, -1, 0, 1, 1_800_000_000, 3_600_000_000)
    moments = [int(at) + step for at in instants.to_list() for step in steps]
    # plus a fixed grid through 2020-2030, every 7 hours 13 minutes
    grid = range(1_577_836_800_000_000, 1_893_456_000_000_000, 26_000_000_000)
    frame = pl.DataFrame({"ts": [*moments, *grid]}).with_columns(
        pl.col("ts").cast(pl.Datetime("us", "UTC"))
    )
    out = frame.select(
        expected=period_start_expr("ts", grain, zone), found=local_period_start("ts", grain, zone)
    )
    assert out.filter(pl.col("expected") != pl.col("found")).height == 0


def test_transitions_are_exact_seconds_for_berlin_2026() -> None:
    instants, offsets = _transitions("Europe/Berlin")
    table = pl.DataFrame({"instant": instants}).with_columns(
        pl.col("instant").cast(pl.Datetime("us", "UTC"))
    )
    in_2026 = table.filter(pl.col("instant").dt.year() == 2026)["instant"].to_list()
    assert in_2026 == [
        datetime(2026, 3, 29, 1, tzinfo=UTC),
        datetime(2026, 10, 25, 1, tzinfo=UTC),
    ]
    assert offsets.len() == instants.len() + 1
    assert timedelta(microseconds=offsets[-1]) == timedelta(hours=1)

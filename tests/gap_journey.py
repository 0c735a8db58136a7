"""A tiny journey whose data has a hole: events in ISO weeks 40 and 42 of 2026, none in week 41.

Used by the report tests of empty periods and bad inputs (a config written in a second, so each
test can own one). With ``invalid_week=True`` week 41 does hold events, but every one lacks its
user id: validation quarantines them all, so only the validated events show the week is empty.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

__all__ = ["DATA_END", "DATA_START", "GAP_WEEK", "write_gap_journey"]

#: The week without (valid) events, as a report period.
GAP_WEEK = "2026-10-05..2026-10-12"
DATA_START = "2026-09-28"
DATA_END = "2026-10-18"
_WEEKS = (datetime(2026, 9, 28, 9), datetime(2026, 10, 12, 9))
_CHANNELS = ("search", "social")
_PLATFORMS = ("ios", "web")

CONFIG = """\
name: Gap journey
timezone: UTC
currency: EUR
sources:
  events:
    path: events.csv
roles:
  visit: [visit]
  product_view: [product_viewed]
  purchase: [order_completed]
funnels:
  main:
    steps: [visit, product_view, purchase]
    window: 2d
"""


def write_gap_journey(folder: Path, *, invalid_week: bool = False) -> Path:
    """Write ``events.csv`` and ``journey.yml`` into ``folder``; returns the config path."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    weeks = [*_WEEKS, datetime(2026, 10, 5, 9)] if invalid_week else list(_WEEKS)
    for week_start in weeks:
        blank = week_start == datetime(2026, 10, 5, 9)
        for user in range(24):
            moment = week_start + timedelta(days=user % 7, minutes=user)
            user_id = "" if blank else f"u{user}"
            channel, platform = _CHANNELS[user % 2], _PLATFORMS[user % 2]
            events = ["visit", "product_viewed"] + (["order_completed"] if user % 3 == 0 else [])
            for step, event in enumerate(events):
                stamp = (moment + timedelta(minutes=5 * step)).strftime("%Y-%m-%d %H:%M:%S")
                rows.append([user_id, stamp, event, channel, platform])
    with (folder / "events.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "timestamp", "event", "channel", "platform"])
        writer.writerows(rows)
    config = folder / "journey.yml"
    config.write_text(CONFIG, encoding="utf-8")
    return config

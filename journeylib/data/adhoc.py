"""The journey config of an ad hoc events file (``--events PATH``)."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from journeylib.config import JourneyConfig, config_from_dict
from journeylib.config.schema import ROLES, is_known_role
from journeylib.data.sources import scan_source
from journeylib.errors import DataError

__all__ = ["events_config"]


def events_config(path: str | os.PathLike[str], timezone: str = "UTC") -> JourneyConfig:
    """The config of an ad hoc events file: each role maps to the event of the same name.

    What ``--events PATH`` means for the analyses and the dashboard: a CSV or Parquet file
    with ``user_id``, ``timestamp``, ``event`` (and optional columns); ``feature:<name>``
    events map to their feature roles.

    Raises
    ------
    DataError
        The file has no ``event`` column.
    """
    path = Path(path)
    config = config_from_dict(
        {"name": path.stem, "timezone": timezone, "sources": {"events": {"path": str(path)}}}
    )
    frame = scan_source("events", config.sources.events)
    if "event" not in frame.collect_schema():
        raise DataError(
            f"--events {path}: no column 'event'; the file needs user_id, timestamp, event"
        )
    features = (
        frame.select(pl.col("event").cast(pl.String).unique())
        .filter(pl.col("event").str.starts_with("feature:"))
        .collect()["event"]
        .to_list()
    )
    roles = {role: [role] for role in ROLES} | {
        name: [name] for name in sorted(features) if is_known_role(name)
    }
    return config_from_dict(
        {
            "name": path.stem,
            "timezone": timezone,
            "sources": {"events": {"path": str(path.resolve())}},
            "roles": roles,
        }
    )

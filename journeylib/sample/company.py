"""A seeded synthetic company to try the suite on: events, spend, surveys, tickets and a config.

The data carries six known stories (a high-CTR channel that does not convert, a payment
incident, a checkout A/B test, NPS falling among support users, weekly seasonality, a cohort that
retains worse), documented with their ground truth in ``STORIES.md`` and ``stories.json``.
The same seed and arguments always give byte-identical files.

Examples
--------
>>> from journeylib.sample import generate_sample
>>> result = generate_sample("data/sample", users=5_000)  # doctest: +SKIP
>>> result.rows["events"]  # doctest: +SKIP
98731
"""

from __future__ import annotations

import json
import operator
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from journeylib.errors import JourneyError
from journeylib.periods import local_bound
from journeylib.sample._config import journey_yaml
from journeylib.sample._design import (
    CAMPAIGNS,
    CHANNELS,
    COUNTRIES,
    DESIGN,
    EVENT_NAMES,
    PLATFORMS,
    VARIANTS,
)
from journeylib.sample._events import Events, draw_events
from journeylib.sample._sessions import Population, Sessions, draw_population, draw_sessions
from journeylib.sample._stories import Story, build_stories
from journeylib.sample._tables import (
    customer_ids,
    spend_frame,
    survey_frame,
    ticket_frame,
    utc_column,
)
from journeylib.sample._write import CONFIG_NAME, check_sample_folder, write_sample_folder

__all__ = ["SampleResult", "Story", "generate_sample"]

COMPANY = "Lumen Supply (sample company)"
TIMEZONE = "Europe/Berlin"
#: the largest sample: about 100 million events, and ten years
MAX_USERS = 5_000_000
MAX_DAYS = 3_660


@dataclass(frozen=True)
class SampleResult:
    """What :func:`generate_sample` wrote: the folder, its config, rows per table, the stories.

    ``kept`` lists the files of an occupied folder (``force=True``) that are not the sample's
    and were left untouched.
    """

    out: Path
    config_path: Path
    rows: dict[str, int]
    stories: tuple[Story, ...]
    seconds: float
    kept: tuple[str, ...] = ()


def _labels(names: tuple[str, ...], codes: np.ndarray) -> pl.Series:
    """Names for codes, null where the code is -1."""
    table = pl.Series([*names, None], dtype=pl.String)
    return table.gather(np.where(codes < 0, len(names), codes))


def _events_frame(population: Population, sessions: Sessions, events: Events) -> pl.DataFrame:
    order = np.argsort(events.time_us, kind="stable")
    user = events.user[order]
    session = events.session[order]
    session_names = "s" + pl.Series(np.arange(sessions.user.size)).cast(pl.String).str.zfill(7)
    return pl.DataFrame(
        {
            "customer_id": customer_ids("customer_id", np.arange(population.channel.size)).gather(
                user
            ),
            "event_time": utc_column("event_time", events.time_us[order]),
            "event_name": pl.Series(EVENT_NAMES).gather(events.code[order]),
            "session": session_names.gather(session),
            "amount": pl.Series(events.amount[order], nan_to_null=True),
            "channel": _labels(CHANNELS, sessions.channel[session]),
            "platform": _labels(PLATFORMS, population.platform[user]),
            "country": _labels(COUNTRIES, population.country[user]),
            "campaign": _labels(tuple(c[0] for c in CAMPAIGNS), sessions.campaign[session]),
            "checkout_variant": _labels(VARIANTS, population.variant[user]),
        }
    )


def _write_events(frame: pl.DataFrame, folder: Path) -> None:
    """Hive partitions ``month=YYYY-MM/part-0.parquet`` of a frame sorted by ``event_time``."""
    months = frame["event_time"].dt.strftime("%Y-%m").unique(maintain_order=True).to_list()
    starts = [datetime(int(m[:4]), int(m[5:]), 1, tzinfo=UTC).timestamp() for m in months]
    bounds = np.searchsorted(
        frame["event_time"].dt.epoch("us").to_numpy(), np.array(starts, dtype=np.int64) * 10**6
    )
    ends = [*bounds[1:], frame.height]
    for month, first, last in zip(months, bounds, ends, strict=True):
        partition = folder / f"month={month}"
        partition.mkdir(parents=True)
        frame.slice(int(first), int(last - first)).write_parquet(partition / "part-0.parquet")


def _nps_by_period(
    surveys: pl.DataFrame, ticket_users: pl.Series, start: date, days: int
) -> tuple[float, float]:
    """NPS of ticket users' answers in the first and the last 30 days."""
    answers = surveys.filter(
        (pl.col("survey") == "nps") & pl.col("customer_id").is_in(ticket_users.implode())
    ).with_columns(day=(pl.col("answered_at").dt.date() - start).dt.total_days())
    values = []
    for window in (pl.col("day") < 30, pl.col("day") >= days - 30):
        scores = answers.filter(window)["score"]
        nps = 100 * ((scores >= 9).mean() - (scores <= 6).mean()) if scores.len() else None
        values.append(round(float(nps), 1) if nps is not None else float("nan"))
    return values[0], values[1]


def _stories_markdown(stories: tuple[Story, ...], users: int, seed: int, days: int) -> str:
    lines = [
        f"# Stories in the sample data of {COMPANY}",
        "",
        f"Generated with users={users}, seed={seed}, days={days}. Ground truth is what the data "
        "was drawn from; realised is the same quantity measured on this draw.",
    ]
    for number, story in enumerate(stories, start=1):
        lines += ["", f"## {number}. {story.title} (`{story.id}`)", "", "Ground truth:", ""]
        lines += [f"- {key}: {value}" for key, value in story.truth.items()]
        lines += ["", "Realised in this data:", ""]
        lines += [f"- {key}: {value}" for key, value in story.realised.items()]
        lines += ["", f"How a good report reveals it: {story.reveal}"]
    return "\n".join(lines) + "\n"


def _check_size(users: object, seed: object, days: object) -> None:
    problems = []
    for name, value, low, high in (("users", users, 1, MAX_USERS), ("days", days, 1, MAX_DAYS)):
        whole = _whole(value)
        if whole is None or not low <= whole <= high:
            problems.append(f"{name} must be a whole number from {low} to {high:,}, got {value!r}")
    whole_seed = _whole(seed)
    if whole_seed is None or whole_seed < 0:
        problems.append(f"seed must be a whole number of 0 or more, got {seed!r}")
    if problems:
        raise JourneyError(f"generate_sample: {'; '.join(problems)}")


def _whole(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        return None


def generate_sample(
    out: str | Path,
    *,
    users: int = 50_000,
    seed: int = 7,
    days: int = 180,
    start: date = date(2026, 5, 4),
    force: bool = False,
) -> SampleResult:
    """Generate the sample company's data, its journey config and the documented stories.

    Writes ``events/month=YYYY-MM/part-0.parquet``, ``spend.csv``, ``surveys.parquet``,
    ``tickets.csv``, ``STORIES.md``, ``stories.json`` and, last, ``journey.yml`` into ``out``.
    ``out`` must be new or empty (the sample then appears with one rename: all of it or
    nothing); an occupied folder needs ``force=True``, which replaces only those files (and
    removes the sample's event partitions the new sample does not write), keeps every other
    file, and removes ``journey.yml`` first and writes it last: a run that fails leaves no
    ``journey.yml`` pointing at half the data.

    Parameters
    ----------
    out
        The folder to write into.
    users
        Users acquired over the period; about 20 events each (1 to ``MAX_USERS``).
    seed
        Seed of ``numpy.random.default_rng``, any whole number of 0 or more: same seed and
        arguments, same bytes.
    days
        Length of the period in days, from ``start`` (1 to ``MAX_DAYS``).
    start
        The first day of the data (local to Europe/Berlin).
    force
        Write into an occupied folder, replacing only the sample's own files.

    Returns
    -------
    SampleResult
        Paths, rows per table, the stories with their ground truth, and the seconds taken.

    Raises
    ------
    JourneyError
        For a size or seed out of range, an ``out`` that is a file, or an occupied ``out``
        without ``force``; nothing is written then.

    Examples
    --------
    >>> result = generate_sample("/tmp/lumen", users=3_000, seed=1)  # doctest: +SKIP
    >>> sorted(result.rows)  # doctest: +SKIP
    ['events', 'spend', 'surveys', 'tickets']
    """
    began = time.perf_counter()
    _check_size(users, seed, days)
    target = Path(out)
    check_sample_folder(target, force=force)  # before the minutes of drawing, not after
    rng = np.random.default_rng(seed)
    population = draw_population(rng, users, days, start, DESIGN)
    sessions = draw_sessions(rng, population, days, start, DESIGN, TIMEZONE)
    events = draw_events(rng, population, sessions, DESIGN, start)
    end_us = int(local_bound(start + timedelta(days=days), TIMEZONE).timestamp()) * 10**6
    spend = spend_frame(rng, sessions, days, start, DESIGN)
    tickets, ticket_arrays = ticket_frame(rng, sessions, events, end_us)
    surveys = survey_frame(
        rng, population, sessions, events, ticket_arrays, days=days, end_us=end_us, design=DESIGN
    )
    totals = spend.group_by("channel").agg(pl.col("clicks").sum(), pl.col("impressions").sum())
    ctr = {
        row["channel"]: row["clicks"] / row["impressions"] for row in totals.iter_rows(named=True)
    }
    nps = _nps_by_period(surveys, tickets["customer_id"].unique(), start, days)
    stories = build_stories(DESIGN, start, days, population, sessions, events, ctr, nps)
    event_frame = _events_frame(population, sessions, events)

    def write(folder: Path) -> None:
        _write_events(event_frame, folder / "events")
        spend.write_csv(folder / "spend.csv", date_format="%Y-%m-%d", float_precision=2)
        surveys.write_parquet(folder / "surveys.parquet")
        tickets.write_csv(folder / "tickets.csv")
        (folder / "STORIES.md").write_text(
            _stories_markdown(stories, users, seed, days), encoding="utf-8"
        )
        document = {"users": users, "seed": seed, "days": days, "start": start.isoformat()}
        document["stories"] = [story.as_dict() for story in stories]
        (folder / "stories.json").write_text(
            json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8"
        )
        # the checkout test is declared when the data reaches its first acquisition day
        test_start = (
            start + timedelta(days=DESIGN.test_first_day) if days > DESIGN.test_first_day else None
        )
        (folder / CONFIG_NAME).write_text(journey_yaml(COMPANY, test_start), encoding="utf-8")

    kept = write_sample_folder(target, write, force=force)
    rows = {
        "events": event_frame.height,
        "spend": spend.height,
        "surveys": surveys.height,
        "tickets": tickets.height,
    }
    return SampleResult(
        out=target,
        config_path=target / CONFIG_NAME,
        rows=rows,
        stories=stories,
        seconds=round(time.perf_counter() - began, 3),
        kept=kept,
    )

"""Incidents: a transition whose conversion falls against its trailing baseline.

docs/kpis.md#friction-incidents-and-loops: for each funnel transition and each period (day,
week or month), the conversion is compared with the previous ``baseline_periods`` periods
(default 4); a drop with p < 0.01 (pooled two-proportion z-test) and a relative fall of at
least 10% is flagged, and consecutive flagged periods merge into one incident.

How it is computed, in one pass per grain:

- the per-unit funnel frame (:func:`journeylib.funnel.units.funnel_units`) is collected once;
- each unit counts at transition k -> k+1 in the period (local to the journey's time zone) in
  which it reached step k, as converted when it reached k+1; units whose window had not
  closed by the end of the data are left out, converted or not (counting only their quick
  conversions would lift the latest periods), so a period is complete one window after it;
- one group-by gives users and conversions per transition, period and segment, and rolling
  sums over the sorted frame give every period's baseline (:mod:`._trailing`).

Every period of every series is flagged at ``alpha`` (p < alpha and a fall of ``min_fall`` or
more); the baseline of a period is made of the ``baseline_periods`` periods before it that were
not flagged, so a lasting incident is measured against the rate before it began. Consecutive
flagged periods form a run, and a run is an incident when its own p-value (its periods pooled
against its baseline) passes its series' level:

- all units: ``alpha``; every segment (a value of a dimension), tested as its own series: a
  quarter of ``alpha`` divided by the number of segments of its transition (Bonferroni), so
  that testing many segments adds at most a quarter of the all-units test's false incidents;
- at daily grain, a seventh of that level (:data:`GRAIN_SHARE`: the level holds per week of
  data), and at least two days (:data:`MIN_PERIODS`) unless the one day's p-value is a
  hundredth of the level (:data:`SHORT_SHARE`).

Periods with few expected hits or misses are tested by Fisher's exact test instead of the
z-test (:mod:`._trailing`). A segment incident that overlaps an incident of all units on the
same transition is not listed again: it shows among that incident's segments most affected.
An incident is known by its key ``(transition, segment, start)``: the same incident seen again
with more periods keeps its key (a scheduled alert sends an update, not a second alert).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from journeylib.funnel import FunnelUnits
from journeylib.optimise._trailing import (
    flag_periods,
    merge_runs,
    rate_p_value,
    rate_p_value_expr,
)
from journeylib.optimise._units import period_grid, transition_cube, value_text
from journeylib.optimise.sentences import incident_sentence, segment_label, segment_name
from journeylib.periods import Grain

__all__ = [
    "ALL",
    "DAILY_UP_TO_DAYS",
    "GRAIN_SHARE",
    "LOOK_BACK_DAYS",
    "MIN_PERIODS",
    "SEGMENT_SHARE",
    "SHORT_SHARE",
    "IncidentsResult",
    "detect_incidents",
    "find_runs",
    "incident_key",
    "incident_measures",
    "merge_incidents",
    "result_of_tested",
]

#: The longest period (days) whose incidents a reader is told about by day; longer ones by week.
DAILY_UP_TO_DAYS = 31
#: How long before a period an incident may have begun and still be named (when it goes on
#: into the period).
LOOK_BACK_DAYS = 28

#: The segment name of the series of all units.
ALL = "all"
#: The share of ``alpha`` spent on the segments of a transition, all together: each of its m
#: segments is tested at ``SEGMENT_SHARE * alpha / m``, so that the segments add at most a
#: quarter of the false alarms of the all-units test.
SEGMENT_SHARE = 0.25
#: The fewest consecutive flagged periods of an incident, per grain. One day in a month is
#: flagged by chance alone with p < 0.01 at about 30 times the rate of one week in a month,
#: so a daily incident lasts two days, unless its single day is far below its baseline (see
#: :data:`SHORT_SHARE`). Measured on 50 seeded story-free half-years (tests/story_free.py):
#: see tests/test_optimise_false_rates.py.
MIN_PERIODS: dict[Grain, int] = {"day": 2, "week": 1, "month": 1}
#: The share of a series' level an incident's own p-value must pass, per grain: the level is
#: meant per week of data, so that false incidents per month do not grow with the number of
#: periods tested in it (seven a week at daily grain).
GRAIN_SHARE: dict[Grain, float] = {"day": 1 / 7, "week": 1.0, "month": 1.0}
#: A run shorter than the grain's :data:`MIN_PERIODS` is an incident when its p-value is
#: below this share of its alpha (0.0001 for all units at the default alpha).
SHORT_SHARE = 0.01
_SERIES = ["from_step", "dimension", "value"]
_SERIES_COLUMNS = [
    "period",
    "users",
    "hits",
    "rate",
    "baseline_rate",
    "relative_change",
    "p_value",
    "flagged",
]


def incident_measures(incident: dict[str, Any], users: str = "users_lost") -> dict[str, Any]:
    """An incident's (or a loop's) period and measures as JSON values: ``start``, ``end`` (ISO
    dates), ``baseline_rate``, ``rate``, the users it cost (``users``: ``users_lost``, or a
    loop's ``extra_users``) as a whole number, and ``p_value``."""
    return {
        "start": incident["start"].isoformat(),
        "end": incident["end"].isoformat(),
        "baseline_rate": incident["baseline_rate"],
        "rate": incident["rate"],
        users: round(incident[users]),
        "p_value": incident["p_value"],
    }


def incident_key(from_name: str, to_name: str, segment: str | None, start: date) -> str:
    """The stable identity of an incident: ``checkout→purchase|platform=android|2026-08-30``.

    Examples
    --------
    >>> incident_key("checkout", "purchase", None, date(2026, 8, 30))
    'checkout→purchase|all|2026-08-30'
    """
    return f"{from_name}→{to_name}|{segment or ALL}|{start.isoformat()}"


@dataclass(frozen=True)
class IncidentsResult:
    """Incidents of one funnel at one grain.

    Attributes
    ----------
    incidents
        One row per incident, by ``start``: ``key``, ``kpi`` (null for a funnel transition;
        see :mod:`journeylib.optimise.kpi_incidents`), ``from_step``, ``from_name``, ``to_step``,
        ``to_name``, ``dimension`` and ``value`` (null for all units), ``start``, ``end``
        (exclusive), ``periods``, ``users``, ``converted``, ``baseline_users``,
        ``baseline_rate``, ``rate``, ``relative_change``, ``users_lost`` (against the
        baseline rate), ``p_value`` and ``sentence``.
    segments
        The segments most affected by each incident (``key``), where the loss concentrates
        first (the largest loss beyond an even share of the fall): ``dimension``, ``value``,
        ``users``, ``baseline_rate``, ``rate``, ``users_lost``.
    periods
        Every tested period of every transition for all units (for trend charts):
        ``from_step``, ``from_name``, ``to_name``, ``period``, ``users``, ``hits``, ``rate``,
        ``baseline_rate``, ``relative_change``, ``p_value``, ``flagged``.
    grain, baseline_periods, alpha, min_fall
        The detection's parameters.
    series
        Every tested period of every series (all units and each segment): ``kpi`` (null for
        a transition), ``from_step``, ``dimension``, ``value`` (``all`` for all units) and
        the columns of ``periods``; see :meth:`series_of`.
    """

    incidents: pl.DataFrame
    segments: pl.DataFrame
    periods: pl.DataFrame
    grain: Grain
    baseline_periods: int
    alpha: float
    min_fall: float
    series: pl.DataFrame | None = None

    def series_of(self, incident: dict) -> pl.DataFrame | None:
        """The tested periods of the series an incident was found in (``period``,
        ``users``, ``hits``, ``rate``, ``baseline_rate``, ``p_value``, ``flagged``), for
        its chart; ``None`` when the result does not hold its series.

        Examples
        --------
        >>> result.series_of(result.incidents.row(0, named=True))  # doctest: +SKIP
        """
        if self.series is None:
            return None
        which = (
            pl.col("kpi") == incident["kpi"]
            if incident.get("kpi")
            else pl.col("from_step") == incident["from_step"]
        )
        return (
            self.series.filter(
                which,
                pl.col("dimension") == (incident["dimension"] or ALL),
                pl.col("value") == (incident["value"] or ALL),
            )
            .select(_SERIES_COLUMNS)
            .sort("period")
        )

    def segments_of(self, incident: dict) -> list[dict[str, Any]]:
        """The segments listed under an incident, as JSON values (``dimension``, ``value``,
        ``baseline_rate``, ``rate``, ``users_lost`` rounded to a whole number of users)."""
        listed = self.segments.filter(self.segments["key"] == incident["key"])
        return [
            {
                "dimension": s["dimension"],
                "value": s["value"],
                "baseline_rate": s["baseline_rate"],
                "rate": s["rate"],
                "users_lost": round(s["users_lost"]),
            }
            for s in listed.iter_rows(named=True)
        ]


def _series(cube: pl.DataFrame, dimensions: Sequence[str]) -> pl.DataFrame:
    """Users and conversions per transition, period and segment (``all`` included)."""
    totals = [pl.col("users").sum(), pl.col("hits").sum()]
    parts = [
        cube.group_by("from_step", "period").agg(
            pl.lit(ALL).alias("dimension"), pl.lit(ALL).alias("value"), *totals
        )
    ]
    for dimension in dimensions:
        parts.append(
            cube.group_by("from_step", "period", value_text(dimension).alias("value")).agg(
                pl.lit(dimension).alias("dimension"), *totals
            )
        )
    columns = ["from_step", "period", "dimension", "value", "users", "hits"]
    return pl.concat([part.select(columns) for part in parts]).with_columns(
        pl.col("users", "hits").cast(pl.Int64)
    )


def _segments_of(incident: dict, tested: pl.DataFrame, top: int) -> list[dict[str, object]]:
    """The segments where the incident's loss concentrates, over its periods.

    A segment's excess loss is its loss against its own baseline beyond what the incident's
    relative fall, spread evenly, would cost it; the segments with the largest excess come
    first (a large segment falling as much as everyone is not where the drop concentrates). For
    an incident found in one segment, the segments are ranked by their loss alone.
    """
    window = tested.filter(
        pl.col("from_step") == incident["from_step"],
        pl.col("dimension") != ALL,
        pl.col("period") >= incident["start"],
        pl.col("period") < incident["end"],
    )
    first = window.filter(pl.col("period") == incident["start"]).select(
        "dimension", "value", "baseline_users", "baseline_hits"
    )
    fall = 0.0
    if incident["dimension"] == ALL:
        fall = max(0.0, 1 - incident["rate"] / incident["baseline_rate"])
    affected = (
        window.group_by("dimension", "value")
        .agg(pl.col("users").sum(), pl.col("hits").sum())
        .join(first, on=["dimension", "value"], how="left", nulls_equal=True)
        .filter(pl.col("users") > 0, pl.col("baseline_users") > 0)
        .with_columns(
            (pl.col("baseline_hits") / pl.col("baseline_users")).alias("baseline_rate"),
            (pl.col("hits") / pl.col("users")).alias("rate"),
        )
        .with_columns(
            (pl.col("users") * pl.col("baseline_rate") - pl.col("hits")).alias("users_lost")
        )
        .with_columns(
            (pl.col("users_lost") - pl.col("users") * pl.col("baseline_rate") * fall).alias(
                "_excess"
            )
        )
        .filter(pl.col("users_lost") > 0, pl.col("_excess") > 0)
        .sort(["_excess", "dimension", "value"], descending=[True, False, False])
        .head(top)
    )
    return affected.select(
        "dimension", "value", "users", "baseline_rate", "rate", "users_lost"
    ).to_dicts()


def _confirmed(
    runs: pl.DataFrame, alphas: pl.DataFrame, *, min_periods: int, short_share: float
) -> pl.DataFrame:
    """The runs that are incidents: their own p-value (the run's periods pooled against the
    baseline of its first) below their series' level (``alpha`` for all units, the
    Bonferroni share for a segment), and at least ``min_periods`` periods long unless that
    p-value is below ``short_share`` times the level."""
    p_value = rate_p_value_expr(
        pl.col("hits"), pl.col("users"), pl.col("baseline_hits"), pl.col("baseline_users")
    )
    level = pl.col("_alpha")
    lasting = pl.col("periods") >= min_periods
    return (
        runs.join(alphas, on=_SERIES, how="left", nulls_equal=True)
        .filter((p_value < level) & (lasting | (p_value < short_share * level)))
        .drop("_alpha")
    )


def find_runs(
    series: pl.DataFrame,
    grid: Sequence[date],
    *,
    grain: Grain,
    baseline_periods: int,
    alpha: float,
    min_fall: float,
    segment_share: float,
    min_periods: int | None,
    short_share: float,
    start: date | None,
    end: date | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The incidents' runs and every tested period, of series keyed by ``from_step`` (an
    integer: a transition, or a KPI's number), ``dimension`` and ``value`` (``all`` for the
    series of all units), with ``period``, ``users`` and ``hits``.

    The method of the module doc: every series against its trailing baseline, all units at
    ``alpha`` and each segment at its Bonferroni share; runs shorter than ``min_periods``
    kept only when far below their baseline; a segment run overlapping a run of all units of
    the same ``from_step`` left out (it is listed among that run's segments).
    """
    segment_count = (
        series.filter(pl.col("dimension") != ALL)
        .select("from_step", "dimension", "value")
        .unique()
        .group_by("from_step")
        .len("segments")
    )
    series_alpha = (
        pl.when(pl.col("dimension") == ALL)
        .then(pl.lit(alpha))
        .otherwise(segment_share * alpha / pl.col("segments").fill_null(1).max().over("from_step"))
    )
    series = series.join(segment_count, on="from_step", how="left").with_columns(
        series_alpha.alias("_alpha")
    )
    tested = flag_periods(
        series,
        keys=_SERIES,
        periods=grid,
        baseline_periods=baseline_periods,
        alpha=alpha,
        min_change=min_fall,
        direction="drop",
    )
    runs = _confirmed(
        merge_runs(tested, keys=_SERIES, grain=grain),
        series.group_by(_SERIES).agg(pl.col("_alpha").max() * GRAIN_SHARE[grain]),
        min_periods=MIN_PERIODS[grain] if min_periods is None else min_periods,
        short_share=short_share,
    )
    overall = runs.filter(pl.col("dimension") == ALL)
    segment_runs = runs.filter(pl.col("dimension") != ALL).join(
        overall.select("from_step", pl.col("start").alias("_s"), pl.col("end").alias("_e")),
        on="from_step",
        how="left",
    )
    covered = (pl.col("start") < pl.col("_e")) & (pl.col("_s") < pl.col("end"))
    kept_segments = (
        segment_runs.with_columns(covered.fill_null(False).alias("_covered"))
        .group_by([*_SERIES, "start"], maintain_order=True)
        .agg(pl.all().exclude("_covered", "_s", "_e").first(), pl.col("_covered").any())
        .filter(~pl.col("_covered"))
        .drop("_covered")
    )
    found = pl.concat([overall, kept_segments.select(overall.columns)])
    if start is not None:
        found = found.filter(pl.col("start") >= start)
    if end is not None:
        found = found.filter(pl.col("start") < end)
    found = found.sort(["start", "from_step", "dimension", "value"])
    return found, tested


def detect_incidents(
    units: FunnelUnits,
    *,
    grain: Grain = "week",
    baseline_periods: int = 4,
    alpha: float = 0.01,
    min_fall: float = 0.10,
    dimensions: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    top_segments: int = 3,
    segment_share: float = SEGMENT_SHARE,
    min_periods: int | None = None,
    short_share: float = SHORT_SHARE,
) -> IncidentsResult:
    """Find the incidents of a funnel (see the module doc for the method).

    Parameters
    ----------
    units
        The per-unit funnel (its ``timezone`` sets the local periods; its dimensions are the
        segments tested unless ``dimensions`` says otherwise).
    grain
        ``day``, ``week`` (ISO) or ``month``.
    baseline_periods
        How many periods before each period form its baseline.
    alpha, min_fall
        A period is flagged when p < ``alpha`` and the rate fell by ``min_fall`` or more.
    start, end
        Local dates: only incidents starting in ``[start, end)`` are returned (default: all);
        periods before ``start`` still serve as baselines.
    top_segments
        How many segments most affected to list per incident.
    segment_share
        The share of ``alpha`` that all the segments of a transition share (Bonferroni).
    min_periods
        The fewest consecutive flagged periods that make an incident (default
        :data:`MIN_PERIODS`: two days at daily grain, one week or month); a shorter run is
        an incident only when its p-value is below ``short_share`` times its alpha.

    Returns
    -------
    IncidentsResult

    Examples
    --------
    >>> result = detect_incidents(units, grain="day")  # doctest: +SKIP
    >>> result.incidents["sentence"].to_list()  # doctest: +SKIP
    """
    if baseline_periods < 1:
        raise ValueError(f"baseline_periods must be at least 1, got {baseline_periods}")
    if not 0 < alpha < 1 or not 0 <= min_fall < 1:
        raise ValueError(
            f"alpha must lie in (0, 1) and min_fall in [0, 1), got {alpha}, {min_fall}"
        )
    dimensions = list(units.dimensions if dimensions is None else dimensions)
    missing = [d for d in dimensions if d not in units.units.columns]
    if missing:
        raise ValueError(
            f"dimensions {missing} are not in the per-unit frame; it has {list(units.dimensions)}"
        )
    names = units.step_names
    grid = period_grid(units, grain, range(1, units.step_count))
    series = _series(transition_cube(units, dimensions, grid, units.timezone), dimensions)
    found, tested = find_runs(
        series,
        grid,
        grain=grain,
        baseline_periods=baseline_periods,
        alpha=alpha,
        min_fall=min_fall,
        segment_share=segment_share,
        min_periods=min_periods,
        short_share=short_share,
        start=start,
        end=end,
    )
    incidents, segments = _described(found, tested, units, grain, baseline_periods, top_segments)
    step_name = {step: name for step, name in enumerate(names, start=1)}
    return result_of_tested(
        incidents,
        segments,
        tested,
        labels=(
            pl.col("from_step"),
            pl.col("from_step")
            .replace_strict(step_name, return_dtype=pl.String)
            .alias("from_name"),
            (pl.col("from_step") + 1)
            .replace_strict(step_name, return_dtype=pl.String)
            .alias("to_name"),
        ),
        series_labels=(pl.lit(None, pl.String).alias("kpi"), pl.col("from_step")),
        grain=grain,
        baseline_periods=baseline_periods,
        alpha=alpha,
        min_fall=min_fall,
    )


def result_of_tested(
    incidents: pl.DataFrame,
    segments: pl.DataFrame,
    tested: pl.DataFrame,
    *,
    labels: Sequence[pl.Expr],
    series_labels: Sequence[pl.Expr],
    grain: Grain,
    baseline_periods: int,
    alpha: float,
    min_fall: float,
) -> IncidentsResult:
    """The result of a detection from its incident frames and every tested period
    (:func:`find_runs`): ``periods`` are the series of all units under ``labels``, ``series``
    every series under ``series_labels`` (``kpi``, ``from_step``) with its segment."""
    return IncidentsResult(
        incidents=incidents,
        segments=segments,
        periods=tested.filter(pl.col("dimension") == ALL).select(*labels, *_SERIES_COLUMNS),
        grain=grain,
        baseline_periods=baseline_periods,
        alpha=alpha,
        min_fall=min_fall,
        series=tested.select(*series_labels, "dimension", "value", *_SERIES_COLUMNS),
    )


_INCIDENT_SCHEMA = {
    "key": pl.String,
    "kpi": pl.String,
    "from_step": pl.Int32,
    "from_name": pl.String,
    "to_step": pl.Int32,
    "to_name": pl.String,
    "dimension": pl.String,
    "value": pl.String,
    "start": pl.Date,
    "end": pl.Date,
    "periods": pl.Int64,
    "users": pl.Int64,
    "converted": pl.Int64,
    "baseline_users": pl.Int64,
    "baseline_rate": pl.Float64,
    "rate": pl.Float64,
    "relative_change": pl.Float64,
    "users_lost": pl.Float64,
    "p_value": pl.Float64,
    "sentence": pl.String,
}
_SEGMENT_SCHEMA = {
    "key": pl.String,
    "dimension": pl.String,
    "value": pl.String,
    "users": pl.Int64,
    "baseline_rate": pl.Float64,
    "rate": pl.Float64,
    "users_lost": pl.Float64,
}


@dataclass(frozen=True)
class Found:
    """What names an incident found in a run: ``segment`` is the label of the series
    (``platform=android``, None for all units), ``segment_name`` its words (``android``),
    ``users_lost`` against the baseline rate, ``concentrated`` the segment most affected when
    it holds half the loss or more (its name, baseline rate and rate)."""

    run: dict
    segment: str | None
    segment_name: str | None
    users_lost: float
    concentrated: tuple[str, float, float] | None


def incident_frames(
    found: pl.DataFrame,
    tested: pl.DataFrame,
    top: int,
    name: Callable[[Found], dict[str, object]],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The incidents of :func:`find_runs`' runs, with their p-value, loss and segments most
    affected; ``name`` gives each its ``key``, ``kpi``, transition columns and ``sentence``
    (a funnel transition's or a rate KPI's)."""
    incidents, segments = [], []
    for run in found.iter_rows(named=True):
        segmented = run["dimension"] != ALL
        lost = run["users"] * run["baseline_rate"] - run["hits"]
        affected = _segments_of(run, tested, top)
        concentrated = None
        if not segmented and affected and affected[0]["users_lost"] >= 0.5 * lost:
            first = affected[0]
            concentrated = (
                segment_name(first["dimension"], first["value"]),
                first["baseline_rate"],
                first["rate"],
            )
        named = name(
            Found(
                run=run,
                segment=segment_label(run["dimension"], run["value"]) if segmented else None,
                segment_name=segment_name(run["dimension"], run["value"]) if segmented else None,
                users_lost=lost,
                concentrated=concentrated,
            )
        )
        incidents.append(
            {
                **named,
                "dimension": run["dimension"] if segmented else None,
                "value": run["value"] if segmented else None,
                "start": run["start"],
                "end": run["end"],
                "periods": run["periods"],
                "users": run["users"],
                "converted": run["hits"],
                "baseline_users": run["baseline_users"],
                "baseline_rate": run["baseline_rate"],
                "rate": run["rate"],
                "relative_change": run["rate"] / run["baseline_rate"] - 1,
                "users_lost": lost,
                "p_value": rate_p_value(
                    run["hits"], run["users"], run["baseline_hits"], run["baseline_users"]
                ),
            }
        )
        segments += [{"key": named["key"], **segment} for segment in affected]
    return (
        pl.DataFrame(incidents, schema=_INCIDENT_SCHEMA),
        pl.DataFrame(segments, schema=_SEGMENT_SCHEMA),
    )


def _described(
    found: pl.DataFrame,
    tested: pl.DataFrame,
    units: FunnelUnits,
    grain: Grain,
    baseline_periods: int,
    top: int,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The incidents of the funnel's transitions (:func:`incident_frames`)."""
    names = units.step_names

    def name(found: Found) -> dict[str, object]:
        run, step = found.run, found.run["from_step"]
        from_name, to_name = names[step - 1], names[step]
        return {
            "key": incident_key(from_name, to_name, found.segment, run["start"]),
            "kpi": None,
            "from_step": step,
            "from_name": from_name,
            "to_step": step + 1,
            "to_name": to_name,
            "sentence": incident_sentence(
                from_name=from_name,
                to_name=to_name,
                segment=found.segment_name,
                start=run["start"],
                end=run["end"],
                baseline_rate=run["baseline_rate"],
                rate=run["rate"],
                baseline_periods=baseline_periods,
                grain=grain,
                users_lost=found.users_lost,
                unit=units.unit,
                concentrated=found.concentrated,
            ),
        }

    return incident_frames(found, tested, top, name)


def merge_incidents(*results: IncidentsResult) -> IncidentsResult:
    """The incidents of several detections (funnel transitions, rate KPIs) as one result, by
    ``start``; ``periods`` and the parameters are the first result's.

    Examples
    --------
    >>> merge_incidents(journey.incidents(grain="day"), journey.kpi_incidents())  # doctest: +SKIP
    """
    first = results[0]
    return IncidentsResult(
        incidents=pl.concat([r.incidents for r in results]).sort(
            ["start", "kpi", "from_step", "dimension", "value"], nulls_last=True
        ),
        segments=pl.concat([r.segments for r in results]),
        periods=first.periods,
        grain=first.grain,
        baseline_periods=first.baseline_periods,
        alpha=first.alpha,
        min_fall=first.min_fall,
        series=pl.concat([r.series for r in results if r.series is not None])
        if any(r.series is not None for r in results)
        else None,
    )

"""Incidents of rate KPIs: a KPI whose rate falls against its trailing baseline.

Some incidents show in no funnel transition: a payment outage on one platform makes payment
attempts fail (``payment_success_rate`` = purchase events / (purchase + payment_failed
events)), and on a small day the few checkouts it costs are lost in the noise of checkout ->
purchase. The same detector as the funnel's (:func:`journeylib.optimise.incidents.find_runs`:
trailing baseline of healthy periods, p < alpha and a fall of ``min_fall`` or more, segments
at their Bonferroni share, the same minimum duration) runs on the KPI's numerator and
denominator per period, as the KPI table computes them (:func:`journeylib.kpis.compute_kpi_table`,
one function for the report, the CLI and the alerts), for all users and per value of every
dimension (the user-level breakdown of
docs/kpis.md#periods-users-and-breakdowns, first touch).

Only rate KPIs where higher is better are watched (a fall is the incident).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import polars as pl

from journeylib.config import JourneyConfig
from journeylib.errors import DataError
from journeylib.kpis import build_inputs, compute_kpi_table, get_kpi
from journeylib.optimise.incidents import (
    ALL,
    SEGMENT_SHARE,
    SHORT_SHARE,
    Found,
    IncidentsResult,
    find_runs,
    incident_frames,
    result_of_tested,
)
from journeylib.optimise.sentences import kpi_incident_sentence
from journeylib.periods.calendar import Grain, align, period_starts, periods_before

__all__ = [
    "DEFAULT_KPIS",
    "detect_kpi_incidents",
    "kpi_incident_key",
    "kpi_rate_series",
    "kpi_watch_start",
]

#: The rate KPIs watched by default: their falls are incidents no funnel transition shows
#: (payment attempts are events, not funnel steps).
DEFAULT_KPIS = ("payment_success_rate",)


def kpi_incident_key(kpi: str, segment: str | None, start: date) -> str:
    """The stable identity of a KPI incident: ``payment_success_rate|platform=android|2026-08-30``.

    Examples
    --------
    >>> kpi_incident_key("payment_success_rate", None, date(2026, 8, 30))
    'payment_success_rate|all|2026-08-30'
    """
    return f"{kpi}|{segment or ALL}|{start.isoformat()}"


def _check_kpis(kpis: Sequence[str]) -> None:
    for name in kpis:
        kpi = get_kpi(name)
        if kpi.kind != "rate" or kpi.direction != "higher":
            raise DataError(
                f"KPI incidents watch rate KPIs where higher is better; {name} is a "
                f"{kpi.kind} where {kpi.direction} is better"
            )


def kpi_rate_series(
    tables: Mapping[str, pl.LazyFrame],
    config: JourneyConfig,
    *,
    kpis: Sequence[str] = DEFAULT_KPIS,
    grain: Grain = "day",
    start: date,
    end: date,
    dimensions: Sequence[str] = (),
) -> pl.DataFrame:
    """Numerator and denominator of each KPI per complete period, for all users and per value
    of each dimension: ``kpi``, ``dimension`` (``all`` or the column), ``value``, ``period``,
    ``users`` (the denominator) and ``hits`` (the numerator).

    One KPI pass with every dimension as the breakdown; a user (or event) holds one
    combination of values per period, so the sums per dimension are exact. KPIs that the
    journey cannot compute (a role not mapped) are left out.
    """
    _check_kpis(kpis)
    dimensions = list(dimensions)
    inputs = build_inputs(
        dict(tables),
        config,
        start=start,
        end=end,
        grain=grain,
        by=tuple(dimensions),
        with_sessions=False,
    )
    table = compute_kpi_table(inputs, list(kpis)).filter(
        pl.col("available"), pl.col("complete"), pl.col("denominator").is_not_null()
    )
    totals = [
        pl.col("denominator").sum().round().cast(pl.Int64).alias("users"),
        pl.col("numerator").sum().round().cast(pl.Int64).alias("hits"),
    ]
    parts = [
        table.group_by("kpi", pl.col("period_start").alias("period")).agg(
            pl.lit(ALL).alias("dimension"), pl.lit(ALL).alias("value"), *totals
        )
    ]
    for dimension in dimensions:
        parts.append(
            table.group_by(
                "kpi", pl.col("period_start").alias("period"), pl.col(dimension).cast(pl.String)
            )
            .agg(pl.lit(dimension).alias("dimension"), *totals)
            .rename({dimension: "value"})
        )
    columns = ["kpi", "period", "dimension", "value", "users", "hits"]
    return pl.concat([part.select(columns) for part in parts]).sort(columns[:4])


def detect_kpi_incidents(
    series: pl.DataFrame,
    *,
    grain: Grain = "day",
    baseline_periods: int = 4,
    alpha: float = 0.01,
    min_fall: float = 0.10,
    start: date | None = None,
    end: date | None = None,
    top_segments: int = 3,
    segment_share: float = SEGMENT_SHARE,
    min_periods: int | None = None,
    short_share: float = SHORT_SHARE,
) -> IncidentsResult:
    """Find the incidents of rate KPIs in ``series`` (:func:`kpi_rate_series`).

    Parameters are those of :func:`journeylib.optimise.detect_incidents`. The result has its
    shape; an incident's ``kpi`` names the KPI, its ``from_step``/``to_step`` and names are
    null, and ``users``/``converted``/``users_lost`` count the KPI's denominator and
    numerator (payment attempts and successful payments for ``payment_success_rate``).

    Examples
    --------
    >>> series = kpi_rate_series(tables, config, start=date(2026, 8, 1),
    ...                          end=date(2026, 9, 10), dimensions=["platform"])  # doctest: +SKIP
    >>> detect_kpi_incidents(series).incidents["sentence"].to_list()  # doctest: +SKIP
    """
    if baseline_periods < 1:
        raise ValueError(f"baseline_periods must be at least 1, got {baseline_periods}")
    names = sorted(series["kpi"].unique().to_list())
    number = {name: index for index, name in enumerate(names, start=1)}
    keyed = series.with_columns(
        pl.col("kpi").replace_strict(number, return_dtype=pl.Int32).alias("from_step")
    ).drop("kpi")
    grid: list[date] = []
    if series.height:
        first, last = series["period"].min(), series["period"].max()
        grid = period_starts(first, last + timedelta(days=1), grain)
    found, tested = find_runs(
        keyed,
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

    def name(found: Found) -> dict[str, object]:
        run = found.run
        kpi = names[run["from_step"] - 1]
        return {
            "key": kpi_incident_key(kpi, found.segment, run["start"]),
            "kpi": kpi,
            "from_step": None,
            "from_name": None,
            "to_step": None,
            "to_name": None,
            "sentence": kpi_incident_sentence(
                kpi=kpi,
                segment=found.segment_name,
                start=run["start"],
                end=run["end"],
                baseline_rate=run["baseline_rate"],
                rate=run["rate"],
                baseline_periods=baseline_periods,
                grain=grain,
                lost=found.users_lost,
                concentrated=found.concentrated,
            ),
        }

    incidents, segments = incident_frames(found, tested, top_segments, name)
    kpi = pl.col("from_step").replace_strict(
        {i: n for n, i in number.items()}, return_dtype=pl.String
    )
    return result_of_tested(
        incidents,
        segments,
        tested,
        labels=(kpi.alias("kpi"),),
        series_labels=(kpi.alias("kpi"), pl.col("from_step").cast(pl.Int32)),
        grain=grain,
        baseline_periods=baseline_periods,
        alpha=alpha,
        min_fall=min_fall,
    )


def kpi_watch_start(start: date, grain: Grain, baseline_periods: int) -> date:
    """The first period a KPI pass reads for incidents starting from ``start``: the
    ``baseline_periods`` periods before it are its first baseline."""
    return periods_before(align(start, grain), grain, baseline_periods)

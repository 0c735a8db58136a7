"""Survey answers per score: the distribution behind NPS, CSAT and CES (docs/kpis.md#advocacy)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

__all__ = ["SURVEY_ORDER", "score_distribution"]

#: Surveys in the order reports list them.
SURVEY_ORDER: tuple[str, ...] = ("nps", "csat", "ces")


def _utc(moment: datetime) -> datetime:
    """Naive datetimes are read as UTC, the time zone of the canonical timestamps."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _scale_grid(ces_min: int, ces_max: int) -> pl.LazyFrame:
    scales = {"nps": range(0, 11), "csat": range(1, 6), "ces": range(ces_min, ces_max + 1)}
    rows = [(survey, float(score)) for survey in SURVEY_ORDER for score in scales[survey]]
    return pl.LazyFrame(rows, schema={"survey": pl.String, "score": pl.Float64}, orient="row")


def score_distribution(
    surveys: pl.LazyFrame,
    *,
    start: datetime,
    end: datetime,
    ces_min: int = 1,
    ces_max: int = 7,
) -> pl.LazyFrame:
    """Answers per survey and score in ``[start, end)``, every score of each scale present.

    Scales: NPS 0-10, CSAT 1-5, CES ``ces_min``..``ces_max``. A score with no answer has 0
    answers. A score off its scale is kept as its own row (never dropped silently). ``share`` is
    answers / answers of that survey in the period, null when the survey has no answer (no
    data, not 0).

    Parameters
    ----------
    surveys
        The canonical surveys table (``user_id``, ``timestamp`` UTC, ``survey``, ``score``).
    start, end
        The period ``[start, end)``; naive datetimes are UTC.
    ces_min, ces_max
        The configured CES scale.

    Returns
    -------
    pl.LazyFrame
        ``survey``, ``score`` (Float64), ``answers`` (Int64), ``share`` (Float64), sorted by
        survey (nps, csat, ces, then others) and score.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime, timezone
    >>> answers = pl.LazyFrame({"user_id": ["a"], "survey": ["csat"], "score": [4.0],
    ...     "timestamp": [datetime(2026, 1, 5, tzinfo=timezone.utc)]})
    >>> frame = score_distribution(answers, start=datetime(2026, 1, 1),
    ...     end=datetime(2026, 2, 1)).collect()
    >>> frame.filter(pl.col("survey") == "csat")["answers"].to_list()
    [0, 0, 0, 1, 0]
    """
    if ces_min >= ces_max:
        raise ValueError(f"ces scale needs ces_min < ces_max, got {ces_min}..{ces_max}")
    in_period = pl.col("timestamp").is_between(_utc(start), _utc(end), closed="left")
    counted = (
        surveys.filter(in_period)
        .group_by("survey", pl.col("score").cast(pl.Float64))
        .agg(pl.len().cast(pl.Int64).alias("answers"))
    )
    order = {name: index for index, name in enumerate(SURVEY_ORDER)}
    return (
        _scale_grid(ces_min, ces_max)
        .join(counted, on=["survey", "score"], how="full", coalesce=True)
        .with_columns(pl.col("answers").fill_null(0))
        .with_columns(
            (pl.col("answers") / pl.col("answers").sum().over("survey"))
            .fill_nan(None)
            .alias("share"),
            pl.col("survey")
            .replace_strict(order, default=len(order), return_dtype=pl.Int64)
            .alias("_order"),
        )
        .sort("_order", "survey", "score")
        .drop("_order")
    )

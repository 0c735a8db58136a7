"""The KPI table: every KPI per period and breakdown, with intervals, changes and targets.

All formulas run on the shared aggregates of :mod:`journeylib.kpis._inputs` and are collected
together; this module adds the statistics of docs/kpis.md#statistics: Wilson intervals for
rates, the previous period's value and the change, the two-proportion z-test p-value of that
change, whether the change went the way the KPI's direction calls good (``improved``, the one
place that decides it: every face reads this column), and the status against the target.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
from scipy import stats as distributions

from journeylib.config import JourneyConfig
from journeylib.errors import DataError, did_you_mean
from journeylib.kpis._inputs import KpiInputs
from journeylib.kpis._registry import KPI, REGISTRY, get_kpi
from journeylib.stats import two_proportion_ztest_expr, wilson_exprs

__all__ = [
    "KPI_TABLE_COLUMNS",
    "check_kpi_names",
    "compare_with",
    "compute_kpi_table",
    "kpis_of_journey",
]

#: Significance level of the "significant" flag on a change against the previous period.
ALPHA = 0.05

KPI_TABLE_COLUMNS = (
    "period_start",
    "period_end",
    "complete",
    "stage",
    "kpi",
    "unit",
    "direction",
    "value",
    "numerator",
    "denominator",
    "ci_low",
    "ci_high",
    "se",
    "previous",
    "change",
    "relative_change",
    "p_value",
    "significant",
    "improved",
    "target",
    "status",
    "available",
    "reason",
)


#: KPI plans collected together (more run in parallel; fewer bound the memory of large inputs).
COLLECT_BATCH = 6


def kpis_of_journey(inputs: KpiInputs) -> list[str]:
    """The KPI names the journey's stages hold, in stage order."""
    return [kpi for stage in inputs.config.stages for kpi in stage.kpis]


def check_kpi_names(names: Sequence[str], config: JourneyConfig) -> None:
    """Raise :class:`DataError` for a name that is no KPI, or a feature that is not mapped.

    ``feature_adoption_rate[f]`` needs the role ``feature:f`` mapped in the config.

    Examples
    --------
    >>> from journeylib.config import config_from_dict
    >>> config = config_from_dict({"name": "x", "sources": {"events": {"path": "e.csv"}}})
    >>> check_kpi_names(["convertion_rate"], config)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    journeylib.errors.DataError: unknown KPI 'convertion_rate' (did you mean 'conversion_rate'?)...
    """
    for name in names:
        base, bracket, rest = name.partition("[")
        if base not in REGISTRY:
            raise DataError(
                f"unknown KPI {name!r}{did_you_mean(base, REGISTRY)}; "
                f"known KPIs: {', '.join(sorted(REGISTRY))}"
            )
        if not bracket:
            continue
        feature = rest.removesuffix("]")
        features = [r.removeprefix("feature:") for r in config.roles if r.startswith("feature:")]
        if base != "feature_adoption_rate" or not rest.endswith("]"):
            raise DataError(
                f"KPI {name!r}: only feature_adoption_rate takes a feature in brackets, "
                "as in feature_adoption_rate[export]"
            )
        if feature not in features:
            raise DataError(
                f"KPI {name!r}: the feature {feature!r} is not mapped (no role "
                f"'feature:{feature}' in the config){did_you_mean(feature, features)}; "
                "mapped features: "
                f"{', '.join(features) or '(none)'}"
            )


def compute_kpi_table(inputs: KpiInputs, kpis: Sequence[str] | None = None) -> pl.DataFrame:
    """Compute the KPI table for the reported periods of ``inputs``.

    Parameters
    ----------
    inputs
        The shared aggregates from :func:`journeylib.kpis.build_inputs`.
    kpis
        KPI names (default: every KPI of the journey's stages). ``feature_adoption_rate``
        expands to one row per mapped feature.

    Returns
    -------
    pl.DataFrame
        One row per period x breakdown x KPI with the columns of :data:`KPI_TABLE_COLUMNS`
        (breakdown columns after ``complete``). A KPI that cannot be computed has
        ``available`` false, a null value and the ``reason``.
    """
    names = list(kpis) if kpis is not None else kpis_of_journey(inputs)
    check_kpi_names(names, inputs.config)
    wanted: dict[str, KPI] = {}
    for name in names:
        wanted.setdefault(name.split("[", 1)[0], get_kpi(name))
    plans: list[pl.LazyFrame] = []
    computed: list[KPI] = []
    unavailable: list[tuple[KPI, str]] = []
    for kpi in wanted.values():
        reason = kpi.missing_inputs(inputs)
        if reason:
            unavailable.append((kpi, reason))
            continue
        plans.append(_normalise(kpi.compute(inputs), kpi, inputs))
        computed.append(kpi)
    periods = inputs.periods.collect()
    frames = _collect_in_batches(plans)
    parts = [_complete(frames, computed, periods, inputs)] if computed else []
    parts += [_unavailable(kpi, reason, periods, inputs) for kpi, reason in unavailable]
    # by name: a computed KPI and one that is not available may order their columns apart
    table = pl.concat(parts, how="diagonal_relaxed") if parts else _empty(inputs)
    table = _add_statistics(table, inputs)
    table = _add_targets(table, inputs)
    selected = [n for n in names if "[" in n]
    if selected and "feature_adoption_rate" not in names:
        is_feature = pl.col("kpi").str.starts_with("feature_adoption_rate")
        table = table.filter(~is_feature | pl.col("kpi").is_in(selected))
    order = {name: index for index, name in enumerate(wanted)}
    columns = [*KPI_TABLE_COLUMNS[:3], *inputs.by, *KPI_TABLE_COLUMNS[3:]]
    return (
        table.filter(pl.col("reported"))
        .with_columns(
            pl.col("kpi")
            .str.split("[")
            .list.first()
            .replace_strict(order, return_dtype=pl.Int64)
            .alias("_order")
        )
        .sort("_order", "kpi", *inputs.by, "period_start", nulls_last=True)
        .select(columns)
    )


def _collect_in_batches(plans: list[pl.LazyFrame]) -> list[pl.DataFrame]:
    """Collect the KPI plans a few at a time: the joins of each batch hold memory together."""
    frames: list[pl.DataFrame] = []
    for begin in range(0, len(plans), COLLECT_BATCH):
        frames += pl.collect_all(plans[begin : begin + COLLECT_BATCH])
    return frames


def _normalise(frame: pl.LazyFrame, kpi: KPI, inputs: KpiInputs) -> pl.LazyFrame:
    schema = frame.collect_schema()
    extra = []
    if "kpi" not in schema:
        extra.append(pl.lit(kpi.name).alias("kpi"))
    if "se" not in schema:
        extra.append(pl.lit(None, pl.Float64).alias("se"))
    return frame.with_columns(extra).select(
        "period_start",
        *inputs.by,
        "kpi",
        pl.col("value").cast(pl.Float64),
        pl.col("numerator").cast(pl.Float64),
        pl.col("denominator").cast(pl.Float64),
        pl.col("se").cast(pl.Float64),
    )


def _complete(
    frames: list[pl.DataFrame], kpis: list[KPI], periods: pl.DataFrame, inputs: KpiInputs
) -> pl.DataFrame:
    """Give every period a row for every (kpi, segment) seen, filling as each KPI's kind says.

    All KPIs at once: ``_source`` numbers the KPI each row comes from, so a KPI's rows (one per
    feature for ``feature_adoption_rate``) take that KPI's kind, unit and direction.
    """
    rows = pl.concat(
        [
            frame.with_columns(pl.lit(i, pl.Int32).alias("_source"))
            for i, frame in enumerate(frames)
        ],
        how="vertical_relaxed",
    )
    keys = ["_source", "kpi", *inputs.by]
    series = rows.select(keys).unique()
    # a KPI with no rows still gets one series: its name and null segments
    empty = [i for i, frame in enumerate(frames) if frame.height == 0]
    if empty:
        series = pl.concat(
            [
                series,
                pl.DataFrame(
                    {
                        "_source": empty,
                        "kpi": [kpis[i].name for i in empty],
                        **{c: [None] * len(empty) for c in inputs.by},
                    },
                    schema=series.schema,
                ),
            ]
        )
    meta = pl.DataFrame(
        {
            "_source": range(len(kpis)),
            "_default_stage": [kpi.stage for kpi in kpis],
            "unit": [kpi.unit for kpi in kpis],
            "direction": [kpi.direction_in(inputs.config) for kpi in kpis],
            "_kind": [kpi.kind for kpi in kpis],
        },
        schema={
            "_source": pl.Int32,
            "_default_stage": pl.String,
            "unit": pl.String,
            "direction": pl.String,
            "_kind": pl.String,
        },
    )
    grid = periods.join(series, how="cross")
    full = grid.join(rows, on=["period_start", *keys], how="left", nulls_equal=True).join(
        meta, on="_source", how="left"
    )
    kind = pl.col("_kind")
    summed = kind.is_in(["rate", "ratio"])
    return full.with_columns(
        pl.when(kind == "count").then(pl.col("value").fill_null(0.0)).otherwise(pl.col("value")),
        pl.when(summed).then(pl.col("numerator").fill_null(0.0)).otherwise(pl.col("numerator")),
        pl.when(summed).then(pl.col("denominator").fill_null(0.0)).otherwise(pl.col("denominator")),
        pl.lit(True).alias("available"),
        pl.lit(None, pl.String).alias("reason"),
    ).drop("_source")


def _unavailable(kpi: KPI, reason: str, periods: pl.DataFrame, inputs: KpiInputs) -> pl.DataFrame:
    """A null value and the reason, for every period and every segment of the breakdown.

    The segments are the users' breakdown values (as the computed KPIs have them), so a table
    pivoted by segment still has a column for this KPI; no segment gives one null row.
    """
    if inputs.by:
        segments = inputs.user_period.select(*inputs.by).unique().sort(*inputs.by).collect()
        if segments.height == 0:
            segments = pl.DataFrame(
                {c: [None] for c in inputs.by}, schema={c: segments.schema[c] for c in inputs.by}
            )
        periods = periods.join(segments, how="cross")
    return periods.with_columns(
        pl.lit(kpi.name).alias("kpi"),
        *(pl.lit(None, pl.Float64).alias(c) for c in ("value", "numerator", "denominator", "se")),
        pl.lit(kpi.stage).alias("_default_stage"),
        pl.lit(kpi.unit).alias("unit"),
        pl.lit(kpi.direction_in(inputs.config)).alias("direction"),
        pl.lit(kpi.kind).alias("_kind"),
        pl.lit(False).alias("available"),
        pl.lit(reason).alias("reason"),
    )


def _empty(inputs: KpiInputs) -> pl.DataFrame:
    return inputs.periods.collect().clear()


def _add_statistics(table: pl.DataFrame, inputs: KpiInputs) -> pl.DataFrame:
    """Intervals, and the change against the previous period.

    A period whose previous period lies wholly before the data's first event has nothing to
    be compared with: its ``previous``, change and p-value are null (not a change from 0). A
    previous period inside the data that had no events keeps its value.
    """
    series = ["kpi", *inputs.by]
    table = table.sort(*series, "period_start", nulls_last=True)
    observed = (
        pl.col("start_utc") > inputs.data_start if inputs.data_start is not None else pl.lit(True)
    )
    return _statistics(
        table.with_columns(
            pl.when(observed)
            .then(pl.col(name).shift(1).over(series, order_by="period_start"))
            .alias(alias)
            for name, alias in _PREVIOUS.items()
        )
    )


#: Column of a period -> column holding the same quantity in the period it is compared with.
_PREVIOUS = {
    "value": "previous",
    "numerator": "_prev_num",
    "denominator": "_prev_den",
    "se": "_prev_se",
}


def _statistics(table: pl.DataFrame) -> pl.DataFrame:
    """Intervals, change and p-value against the comparison columns of :data:`_PREVIOUS`."""
    is_rate = pl.col("_kind") == "rate"
    low, high = wilson_exprs(pl.col("numerator"), pl.col("denominator"))
    rate_p = two_proportion_ztest_expr(
        pl.col("numerator"), pl.col("denominator"), pl.col("_prev_num"), pl.col("_prev_den")
    )
    se_diff = (pl.col("se") ** 2 + pl.col("_prev_se") ** 2).sqrt()
    z = ((pl.col("value") - pl.col("previous")) / se_diff).abs()
    se_p = z.map_batches(
        lambda values: pl.Series(2 * distributions.norm.sf(values.to_numpy()), dtype=pl.Float64),
        return_dtype=pl.Float64,
    )
    has_se = pl.col("se").is_not_null() & pl.col("_prev_se").is_not_null() & (se_diff > 0)
    return table.with_columns(
        pl.when(is_rate)
        .then(low)
        .when(pl.col("se").is_not_null())
        .then(pl.col("value") - 1.959964 * pl.col("se"))
        .alias("ci_low"),
        pl.when(is_rate)
        .then(high)
        .when(pl.col("se").is_not_null())
        .then(pl.col("value") + 1.959964 * pl.col("se"))
        .alias("ci_high"),
        (pl.col("value") - pl.col("previous")).alias("change"),
        pl.when(pl.col("previous") != 0)
        .then((pl.col("value") - pl.col("previous")) / pl.col("previous").abs())
        .alias("relative_change"),
        pl.when(is_rate & pl.col("_prev_den").is_not_null())
        .then(rate_p)
        .when(has_se)
        .then(se_p)
        .alias("p_value"),
    ).with_columns(
        (pl.col("p_value") < ALPHA).alias("significant"),
        improved_expr(pl.col("change"), pl.col("direction")).alias("improved"),
    )


def improved_expr(change: pl.Expr, direction: pl.Expr) -> pl.Expr:
    """Whether a change went the good way for its direction: null when there is no change
    (none to compare with, or exactly 0).

    Examples
    --------
    >>> frame = pl.DataFrame({"change": [0.1, -0.1, 0.0, None], "direction": ["lower"] * 4})
    >>> improved = improved_expr(pl.col("change"), pl.col("direction")).alias("improved")
    >>> frame.select(improved)["improved"].to_list()
    [False, True, None, None]
    """
    return (
        pl.when(change.is_null() | (change == 0))
        .then(None)
        .otherwise((change > 0) == (direction == "higher"))
    )


def compare_with(
    table: pl.DataFrame, comparison: pl.DataFrame, *, by: Sequence[str] = ()
) -> pl.DataFrame:
    """Re-base a KPI table's ``previous``, change and p-values on another table's values.

    Parameters
    ----------
    table
        KPI table rows (one period) as :func:`compute_kpi_table` returns them.
    comparison
        KPI table rows of the comparison period (e.g. the same week a year earlier).
    by
        The breakdown columns both tables share.

    Returns
    -------
    pl.DataFrame
        ``table`` with ``previous``, ``change``, ``relative_change``, ``p_value``,
        ``significant`` and ``improved`` computed against ``comparison`` (null where it has no
        such row).
    """
    kinds = {name: kpi.kind for name, kpi in REGISTRY.items()}
    base = pl.col("kpi").str.split("[").list.first()
    against = comparison.select(
        "kpi", *by, *(pl.col(name).alias(alias) for name, alias in _PREVIOUS.items())
    )
    joined = table.drop(*_PREVIOUS.values(), strict=False).join(
        against, on=["kpi", *by], how="left", nulls_equal=True
    )
    rebased = _statistics(
        joined.with_columns(base.replace_strict(kinds, default="count").alias("_kind"))
    )
    return rebased.select(table.columns)


def _add_targets(table: pl.DataFrame, inputs: KpiInputs) -> pl.DataFrame:
    config = inputs.config
    stage_of = {kpi: stage.name for stage in config.stages for kpi in stage.kpis}
    base = pl.col("kpi").str.split("[").list.first()
    target = pl.coalesce(
        pl.col("kpi").replace_strict(config.targets, default=None, return_dtype=pl.Float64),
        base.replace_strict(config.targets, default=None, return_dtype=pl.Float64),
    )
    met = (
        pl.when(pl.col("direction") == "lower")
        .then(pl.col("value") <= pl.col("target"))
        .otherwise(pl.col("value") >= pl.col("target"))
    )
    return table.with_columns(
        pl.coalesce(
            pl.col("kpi").replace_strict(stage_of, default=None, return_dtype=pl.String),
            base.replace_strict(stage_of, default=None, return_dtype=pl.String),
            pl.col("_default_stage"),
        ).alias("stage"),
        target.alias("target"),
    ).with_columns(
        pl.when(pl.col("target").is_null() | pl.col("value").is_null())
        .then(None)
        .when(met)
        .then(pl.lit("met"))
        .otherwise(pl.lit("missed"))
        .alias("status")
    )

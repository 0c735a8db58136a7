"""Experiment readouts against DuckDB counts and scipy / statsmodels statistics."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb
import numpy as np
import polars as pl
import pytest
from scipy import stats as scipy_stats
from statsmodels.regression.linear_model import OLS
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)
from story_free import journey_config, journey_events

from journeylib.errors import DataError
from journeylib.optimise import read_experiment
from journeylib.stats import ratio_summary

START = date(2026, 1, 5)
END = START + timedelta(days=56)


@pytest.fixture(scope="module")
def events() -> pl.DataFrame:
    return journey_events(31, visitors_per_day=600, days=56, treatment_lift=0.2)


def read(frame: pl.DataFrame, kpis, **options):
    return read_experiment(
        {"events": frame.lazy()},
        journey_config(),
        variant="variant",
        kpis=kpis,
        start=options.pop("start", START),
        end=options.pop("end", END),
        **options,
    )


def per_user_sql(frame: pl.DataFrame, start: date = START, end: date = END) -> pl.DataFrame:
    """Per user with an event in [start, end) (UTC days), in plain SQL: first variant, visited,
    purchased, orders, revenue."""
    con = duckdb.connect()
    con.register("events", frame.to_arrow())
    query = """
        SELECT user_id,
               arg_min(variant, timestamp) AS variant,
               bool_or(event = 'visit') AS visited,
               bool_or(event = 'purchase') AS purchased,
               count(*) FILTER (WHERE event = 'purchase') AS orders,
               coalesce(sum(revenue) FILTER (WHERE event = 'purchase'), 0) AS revenue
        FROM events
        WHERE timestamp >= $start AND timestamp < $end
        GROUP BY user_id
    """
    bounds = {
        "start": datetime.combine(start, datetime.min.time(), UTC),
        "end": datetime.combine(end, datetime.min.time(), UTC),
    }
    return con.sql(query, params=bounds).pl()


def test_rate_kpi_equals_duckdb_counts_and_statsmodels(events):
    result = read(events, ["conversion_rate"])
    readout = result.readouts[0]
    users = per_user_sql(events).filter("visited")
    counts = {v: (int(g["purchased"].sum()), g.height) for (v,), g in users.group_by("variant")}
    (xc, nc), (xt, nt) = counts["control"], counts["treatment"]
    variants = {r["variant"]: r for r in readout.variants.iter_rows(named=True)}
    assert (variants["control"]["users"], variants["treatment"]["users"]) == (nc, nt)
    low, high = proportion_confint(xt, nt, method="wilson")
    assert (variants["treatment"]["ci_low"], variants["treatment"]["ci_high"]) == pytest.approx(
        (low, high), rel=1e-9
    )
    row = readout.comparisons.row(0, named=True)
    assert row["lift"] == pytest.approx(xt / nt - xc / nc, rel=1e-12)
    low, high = confint_proportions_2indep(xt, nt, xc, nc, method="wald", compare="diff")
    assert (row["lift_ci_low"], row["lift_ci_high"]) == pytest.approx((low, high), rel=1e-9)
    assert row["p_value"] == pytest.approx(proportions_ztest([xt, xc], [nt, nc])[1], rel=1e-9)
    assert row["relative_lift"] == pytest.approx((xt / nt) / (xc / nc) - 1, rel=1e-12)
    assert row["projected"] == pytest.approx(xc / nc + row["lift"], rel=1e-12)
    assert (row["projected_ci_low"], row["projected_ci_high"]) == pytest.approx(
        (xc / nc + low, xc / nc + high), rel=1e-9
    )


def test_mean_kpi_is_welch_on_per_user_values(events):
    readout = read(events, ["arpu"]).readouts[0]
    users = per_user_sql(events)
    control = users.filter(pl.col("variant") == "control")["revenue"].to_numpy()
    treatment = users.filter(pl.col("variant") == "treatment")["revenue"].to_numpy()
    row = readout.comparisons.row(0, named=True)
    assert row["lift"] == pytest.approx(treatment.mean() - control.mean(), rel=1e-9)
    expected = scipy_stats.ttest_ind(treatment, control, equal_var=False)
    assert row["p_value"] == pytest.approx(expected.pvalue, rel=1e-9)
    interval = expected.confidence_interval()
    assert (row["lift_ci_low"], row["lift_ci_high"]) == pytest.approx(
        (interval.low, interval.high), rel=1e-9
    )


def test_ratio_kpi_uses_the_delta_method_on_per_user_sums(events):
    readout = read(events, ["aov"]).readouts[0]
    users = per_user_sql(events)
    summaries = {}
    for variant in ("control", "treatment"):
        group = users.filter(pl.col("variant") == variant)
        summaries[variant] = ratio_summary(group["revenue"].to_numpy(), group["orders"].to_numpy())
        # the independent check of the delta variance: gradient times moments' covariance
        num, den = group["revenue"].to_numpy(), group["orders"].to_numpy()
        gradient = np.array([1 / den.mean(), -num.mean() / den.mean() ** 2])
        covariance = np.cov(np.vstack([num, den]), ddof=1) / num.size
        assert summaries[variant].variance == pytest.approx(
            gradient @ covariance @ gradient, rel=1e-9
        )
    row = readout.comparisons.row(0, named=True)
    lift = summaries["treatment"].ratio - summaries["control"].ratio
    error = np.sqrt(summaries["treatment"].variance + summaries["control"].variance)
    assert row["lift"] == pytest.approx(lift, rel=1e-9)
    assert row["p_value"] == pytest.approx(2 * scipy_stats.norm.sf(abs(lift) / error), rel=1e-9)
    assert row["mde"] == pytest.approx(
        (scipy_stats.norm.ppf(0.975) + scipy_stats.norm.ppf(0.8)) * error, rel=1e-9
    )


def test_holm_runs_over_every_kpi_read(events):
    result = read(events, ["conversion_rate", "arpu", "aov"])
    rows = pl.concat([r.comparisons for r in result.readouts])
    _, expected, _, _ = multipletests(rows["p_value"].to_list(), method="holm")
    assert rows["p_value_adjusted"].to_list() == pytest.approx(list(expected), rel=1e-12)


def test_a_planted_lift_is_a_winner_with_a_projection(events):
    readout = read(events, ["conversion_rate"]).readouts[0]
    row = readout.comparisons.row(0, named=True)
    assert row["winner"] == "treatment"
    assert readout.verdict.startswith("treatment beats control on conversion_rate: ")
    assert "Projected conversion_rate with treatment:" in readout.verdict


def test_a_broken_split_is_flagged_and_no_winner_is_called(events):
    treated = events.filter(pl.col("variant") == "treatment")["user_id"].unique().sort()
    dropped = treated.sample(fraction=0.1, seed=1)
    broken = events.filter(~pl.col("user_id").is_in(dropped.implode()))
    result = read(broken, ["conversion_rate"])
    assert result.srm.flagged
    assert result.srm.p_value < 0.001
    assert result.srm.observed["treatment"] < result.srm.expected["treatment"]
    row = result.readouts[0].comparisons.row(0, named=True)
    assert row["winner"] is None
    assert "sample ratio mismatch" in row["verdict"]


def test_the_expected_split_is_what_srm_checks_against(events):
    users = events["user_id"].unique().sort()
    kept = users.sample(fraction=0.5, seed=2)
    treatment = events.filter(pl.col("variant") == "treatment")["user_id"].unique()
    # keep every control user and half of the treatment's: a 2:1 split by design
    uneven = events.filter(
        ~pl.col("user_id").is_in(treatment.implode()) | pl.col("user_id").is_in(kept.implode())
    )
    assert read(uneven, ["conversion_rate"]).srm.flagged
    assert not read(uneven, ["conversion_rate"], expected_split=[2, 1]).srm.flagged


def test_users_seen_in_two_variants_are_counted_excluded_and_reported(events):
    switchers = events["user_id"].unique().sort().head(40)
    extra = (
        events.filter(pl.col("user_id").is_in(switchers.implode()))
        .group_by("user_id")
        .agg(pl.all().last())
        .with_columns(
            pl.when(pl.col("variant") == "control")
            .then(pl.lit("treatment"))
            .otherwise(pl.lit("control"))
            .alias("variant"),
            pl.col("timestamp") + timedelta(minutes=1),
        )
        .select(events.columns)
    )
    result = read(pl.concat([events, extra]), ["conversion_rate"])
    clean = read(events.filter(~pl.col("user_id").is_in(switchers.implode())), ["conversion_rate"])
    assert result.excluded_users == 40
    assert result.assigned == clean.assigned
    assert result.readouts[0].variants.equals(clean.readouts[0].variants)


def test_an_interval_across_zero_is_no_winner_and_says_why():
    quiet = journey_events(32, visitors_per_day=100, days=28)
    readout = read(quiet, ["conversion_rate"], end=START + timedelta(days=28)).readouts[0]
    row = readout.comparisons.row(0, named=True)
    assert row["lift_ci_low"] <= 0 <= row["lift_ci_high"]
    assert row["winner"] is None
    assert "95% interval of the lift" in row["verdict"]
    assert "includes zero" in row["verdict"]


def test_an_observed_lift_below_the_mde_is_underpowered_even_when_significant():
    # search the seeds for a significant lift below the MDE (1.96 < z < 2.8)
    for seed in range(40, 140):
        frame = journey_events(seed, visitors_per_day=100, days=28, treatment_lift=0.15)
        row = (
            read(frame, ["conversion_rate"], end=START + timedelta(days=28))
            .readouts[0]
            .comparisons.row(0, named=True)
        )
        if row["lift_ci_low"] > 0 and row["lift"] < row["mde"]:
            break
    else:
        pytest.fail("no seed gave a significant lift below the MDE")
    assert row["winner"] is None
    assert "underpowered" in row["verdict"]
    assert "minimum detectable effect" in row["verdict"]


def cuped_events(seed: int, users: int = 6000) -> pl.DataFrame:
    """Each user visits in December and in the experiment; both purchase chances share the
    user's propensity, so December's revenue predicts the experiment's."""
    rng = np.random.default_rng(seed)
    propensity = rng.beta(0.3, 0.7, users)
    spender = rng.lognormal(0, 0.5, users)  # how much a user spends per order, every period
    variant = rng.integers(0, 2, users)
    rows = []
    periods = ((datetime(2025, 12, 8, tzinfo=UTC), 0.0), (datetime(2026, 1, 5, tzinfo=UTC), 0.1))
    for period_start, lift in periods:
        seconds = rng.integers(0, 28 * 86_400, users)
        bought = rng.random(users) < propensity * np.where(variant == 1, 1 + lift, 1)
        base = pl.DataFrame(
            {
                "user_id": [f"u{i:05d}" for i in range(users)],
                "timestamp": [period_start + timedelta(seconds=int(s)) for s in seconds],
                "variant": np.array(["control", "treatment"])[variant],
            }
        )
        rows.append(base.with_columns(event=pl.lit("visit"), revenue=pl.lit(None, pl.Float64)))
        rows.append(
            base.filter(pl.Series(bought)).with_columns(
                event=pl.lit("purchase"),
                revenue=pl.Series(
                    np.round(spender[bought] * rng.lognormal(4, 0.3, int(bought.sum())), 2)
                ),
                timestamp=pl.col("timestamp") + timedelta(minutes=5),
            )
        )
    return pl.concat(rows, how="diagonal").with_columns(
        pl.lit("web").alias("platform"), pl.lit("organic").alias("channel")
    )


def test_cuped_reduces_the_variance_with_the_pre_period_value_of_the_kpi():
    frame = cuped_events(5)
    start, end = date(2026, 1, 5), date(2026, 2, 2)
    plain = read(frame, ["arpu"], start=start, end=end).readouts[0]
    adjusted = read(frame, ["arpu"], start=start, end=end, cuped=True).readouts[0]
    assert adjusted.cuped_variance_reduction > 0.1
    # the reduction is what the least-squares fit on the pre-period value explains
    users = per_user_sql(frame, start, end)
    pre = per_user_sql(frame, start - (end - start), start)
    joined = users.join(pre.select("user_id", pl.col("revenue").alias("pre")), on="user_id")
    fit = OLS(
        joined["revenue"].to_numpy(),
        np.column_stack([np.ones(joined.height), joined["pre"].to_numpy()]),
    ).fit()
    assert adjusted.cuped_variance_reduction == pytest.approx(fit.rsquared, rel=1e-6)
    plain_row = plain.comparisons.row(0, named=True)
    cuped_row = adjusted.comparisons.row(0, named=True)
    width = plain_row["lift_ci_high"] - plain_row["lift_ci_low"]
    assert cuped_row["lift_ci_high"] - cuped_row["lift_ci_low"] < width


def test_the_sequential_interval_is_wider_and_says_so(events):
    fixed = read(events, ["conversion_rate"]).readouts[0].comparisons.row(0, named=True)
    always = read(events, ["conversion_rate"], sequential=True).readouts[0]
    row = always.comparisons.row(0, named=True)
    assert row["lift_ci_low"] < fixed["lift_ci_low"]
    assert row["lift_ci_high"] > fixed["lift_ci_high"]
    assert (row["fixed_ci_low"], row["fixed_p_value"]) == (fixed["lift_ci_low"], fixed["p_value"])
    assert "always-valid 95% interval" in row["verdict"]


@pytest.mark.parametrize(
    ("kpis", "options", "words"),
    [
        (["nps"], {}, ["nps cannot be read per user", "conversion_rate"]),
        (["nosuch"], {}, ["unknown KPI 'nosuch'"]),
        (["conversion_rate"], {"control": "blue"}, ["control 'blue'", "control, treatment"]),
        (["conversion_rate"], {"expected_split": [1, 1, 1]}, ["3 shares", "2 variants"]),
    ],
)
def test_bad_requests_name_what_is_wrong(events, kpis, options, words):
    with pytest.raises(DataError) as error:
        read(events, kpis, **options)
    for word in words:
        assert word in str(error.value)


def test_cuped_on_a_ratio_kpi_uses_the_linearised_ratio():
    frame = cuped_events(6)
    start, end = date(2026, 1, 5), date(2026, 2, 2)
    plain = read(frame, ["aov"], start=start, end=end).readouts[0]
    adjusted = read(frame, ["aov"], start=start, end=end, cuped=True).readouts[0]
    assert adjusted.cuped_variance_reduction > 0.05
    plain_row = plain.comparisons.row(0, named=True)
    cuped_row = adjusted.comparisons.row(0, named=True)
    assert cuped_row["lift_ci_high"] - cuped_row["lift_ci_low"] < (
        plain_row["lift_ci_high"] - plain_row["lift_ci_low"]
    )
    # the adjustment moves the estimate by less than the plain interval's half width
    half = (plain_row["lift_ci_high"] - plain_row["lift_ci_low"]) / 2
    assert abs(cuped_row["lift"] - plain_row["lift"]) < half

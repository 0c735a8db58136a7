"""The seeded sample company: files, config, determinism, and the six stories in the data."""

from __future__ import annotations

import json
import subprocess
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from journeylib.config import load_config
from journeylib.errors import JourneyError
from journeylib.sample import SampleResult, generate_sample

START = date(2026, 5, 4)
BERLIN = "Europe/Berlin"
COMPANY_EVENTS = {
    "visit": ["page_view", "landing_page_view"],
    "engage": ["scroll_75", "video_play"],
    "lead": ["newsletter_signup"],
    "signup": ["account_created"],
    "trial_start": ["trial_started"],
    "activation": ["first_project_created"],
    "product_view": ["product_viewed"],
    "add_to_cart": ["cart_add"],
    "checkout": ["checkout_started"],
    "payment_failed": ["payment_failed"],
    "purchase": ["order_completed"],
    "referral": ["referral_sent"],
    "review": ["review_posted"],
    "feature:export": ["export_clicked"],
    "feature:dashboards": ["dashboard_created"],
    "feature:sharing": ["share_clicked"],
}


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleResult:
    return generate_sample(tmp_path_factory.mktemp("lumen"), users=8_000, seed=7)


@pytest.fixture(scope="session")
def events(sample: SampleResult) -> pl.DataFrame:
    frame = pl.read_parquet(sample.out / "events", hive_partitioning=True)
    return frame.with_columns(local_day=pl.col("event_time").dt.convert_time_zone(BERLIN).dt.date())


@pytest.fixture(scope="session")
def large(tmp_path_factory: pytest.TempPathFactory) -> SampleResult:
    """A larger sample for stories in thin slices: 8,000 users leave only ~20 android checkouts
    in the five incident days and a few hundred NPS answers of ticket users."""
    return generate_sample(tmp_path_factory.mktemp("lumen-large"), users=40_000, seed=7)


@pytest.fixture(scope="session")
def incident_events(large: SampleResult) -> pl.DataFrame:
    return (
        pl.scan_parquet(large.out / "events", hive_partitioning=True)
        .filter(
            pl.col("event_name").is_in(["checkout_started", "payment_failed", "order_completed"])
        )
        .select("session", "event_name", "event_time", "platform", "checkout_variant")
        .with_columns(local_day=pl.col("event_time").dt.convert_time_zone(BERLIN).dt.date())
        .collect()
    )


@pytest.fixture(scope="session")
def surveys(sample: SampleResult) -> pl.DataFrame:
    return pl.read_parquet(sample.out / "surveys.parquet")


@pytest.fixture(scope="session")
def tickets(sample: SampleResult) -> pl.DataFrame:
    return pl.read_csv(sample.out / "tickets.csv", infer_schema_length=None)


@pytest.fixture(scope="session")
def spend(sample: SampleResult) -> pl.DataFrame:
    return pl.read_csv(sample.out / "spend.csv", try_parse_dates=True)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _day(number: int) -> date:
    return START + timedelta(days=number)


# --------------------------------------------------------------------------- files and config


def test_same_seed_and_arguments_give_identical_bytes(tmp_path: Path) -> None:
    first = _files(generate_sample(tmp_path / "a", users=3_000, seed=11).out)
    second = _files(generate_sample(tmp_path / "b", users=3_000, seed=11).out)
    assert len(first) >= 10
    assert first == second


def test_other_seed_gives_other_data(tmp_path: Path) -> None:
    first = _files(generate_sample(tmp_path / "a", users=3_000, seed=11).out)
    second = _files(generate_sample(tmp_path / "b", users=3_000, seed=12).out)
    for name in (
        "spend.csv",
        "surveys.parquet",
        "tickets.csv",
        "events/month=2026-07/part-0.parquet",
    ):
        assert first[name] != second[name]


def test_regenerating_with_force_replaces_files_and_leaves_no_staging(tmp_path: Path) -> None:
    generate_sample(tmp_path, users=1_000, seed=1)
    result = generate_sample(tmp_path, users=1_500, seed=2, force=True)
    assert result.kept == ()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "STORIES.md",
        "events",
        "journey.yml",
        "spend.csv",
        "stories.json",
        "surveys.parquet",
        "tickets.csv",
    ]
    written = pl.read_parquet(tmp_path / "events", hive_partitioning=True)
    assert written.height == result.rows["events"]


@pytest.mark.parametrize(
    ("users", "days", "seed", "message"),
    [
        (0, 180, 7, "users must be a whole number from 1 to 5,000,000, got 0"),
        (100, 0, 7, "days must be a whole number from 1 to 3,660, got 0"),
        (100, 3_661, 7, "days must be a whole number from 1 to 3,660, got 3661"),
        (100, 180, -1, "seed must be a whole number of 0 or more, got -1"),
        (100, 180, 1.5, "seed must be a whole number of 0 or more, got 1.5"),
        (True, 180, 7, "users must be a whole number from 1 to 5,000,000, got True"),
    ],
)
def test_bad_size_or_seed_is_refused(
    tmp_path: Path, users: object, days: object, seed: object, message: str
) -> None:
    with pytest.raises(JourneyError) as raised:
        generate_sample(tmp_path / "s", users=users, days=days, seed=seed)  # type: ignore[arg-type]
    assert message in str(raised.value)
    assert list(tmp_path.iterdir()) == []


def test_any_non_negative_seed_numpy_takes_is_accepted(tmp_path: Path) -> None:
    big = generate_sample(tmp_path / "big", users=50, days=10, seed=2**80)
    zero = generate_sample(tmp_path / "zero", users=50, days=10, seed=0)
    assert json.loads((big.out / "stories.json").read_text())["seed"] == 2**80
    assert _files(big.out)["spend.csv"] != _files(zero.out)["spend.csv"]


# --------------------------------------------------------------------------- the folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_an_occupied_folder_is_refused_without_force_and_left_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "journey.yml").write_text("name: my own journey\n")
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "orders.csv").write_text("id\n1\n")
    before = _snapshot(tmp_path)
    with pytest.raises(JourneyError) as raised:
        generate_sample(tmp_path, users=100, days=10)
    assert f"{tmp_path} is not empty (it holds events/, journey.yml)" in str(raised.value)
    assert "--force" in str(raised.value)
    assert _snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events", "journey.yml"]


def test_an_existing_file_as_out_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    with pytest.raises(JourneyError, match=f"{target} is an existing file, not a folder"):
        generate_sample(target, users=100, days=10, force=True)
    assert target.read_text() == "mine"


def test_force_replaces_only_the_samples_own_files(tmp_path: Path) -> None:
    first = generate_sample(tmp_path, users=300, days=120, seed=1)  # May to August
    (tmp_path / "notes.md").write_text("my notes")
    (tmp_path / "events" / "README.txt").write_text("my events notes")
    (tmp_path / "events" / "month=2026-06" / "extra.csv").write_text("mine too")
    assert (tmp_path / "events" / "month=2026-08" / "part-0.parquet").is_file()
    second = generate_sample(tmp_path, users=200, days=40, seed=2, force=True)  # May, June
    assert sorted(second.kept) == [
        "events/README.txt",
        "events/month=2026-06/extra.csv",
        "notes.md",
    ]
    assert (tmp_path / "notes.md").read_text() == "my notes"
    assert (tmp_path / "events" / "README.txt").read_text() == "my events notes"
    assert (tmp_path / "events" / "month=2026-06" / "extra.csv").read_text() == "mine too"
    # the partitions of the first sample that the second does not write are gone with their folder
    assert sorted(p.name for p in (tmp_path / "events").iterdir()) == [
        "README.txt",
        "month=2026-05",
        "month=2026-06",
    ]
    written = pl.read_parquet(tmp_path / "events" / "**" / "*.parquet", hive_partitioning=True)
    assert written.height == second.rows["events"] != first.rows["events"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_an_interrupted_first_write_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    import journeylib.sample.company as sample_module

    def disk_full(frame, folder):
        (folder / "month=2026-05").mkdir(parents=True)
        raise OSError("No space left on device")

    monkeypatch.setattr(sample_module, "_write_events", disk_full)
    with pytest.raises(OSError, match="No space left"):
        generate_sample(tmp_path / "s", users=100, days=10)
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_forced_write_never_leaves_a_config_over_half_the_data(
    tmp_path: Path, monkeypatch
) -> None:
    import journeylib.sample._write as writing

    generate_sample(tmp_path, users=300, days=60, seed=1)
    (tmp_path / "mine.txt").write_text("keep me")
    real_replace = writing.os.replace
    moved: list[str] = []

    def power_cut(source, destination):
        if len(moved) == 3:  # three tables are in place, the events and the config are not
            raise OSError("power cut")
        moved.append(Path(destination).name)
        real_replace(source, destination)

    monkeypatch.setattr(writing.os, "replace", power_cut)
    with pytest.raises(OSError, match="power cut"):
        generate_sample(tmp_path, users=200, days=30, seed=2, force=True)
    monkeypatch.undo()
    assert moved == ["spend.csv", "surveys.parquet", "tickets.csv"]
    assert not (tmp_path / "journey.yml").exists()
    assert (tmp_path / "mine.txt").read_text() == "keep me"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    generate_sample(tmp_path, users=200, days=30, seed=2, force=True)  # the retry completes
    assert load_config(tmp_path / "journey.yml").name


def test_staging_left_by_a_killed_run_is_removed_by_the_next(tmp_path: Path) -> None:
    pid = _ended_pid()
    leftover = tmp_path / f".s.sample-{pid}-0badf00d"
    (leftover / "events").mkdir(parents=True)
    inside = tmp_path / "s"
    inside.mkdir()
    (inside / f".sample-{pid}-0badf00d").mkdir()  # a forced run killed midway
    generate_sample(inside, users=100, days=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]
    assert not [p for p in inside.iterdir() if p.name.startswith(".")]


def _ended_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_config_loads_and_maps_every_source(sample: SampleResult) -> None:
    config = load_config(sample.config_path)
    assert config.timezone == BERLIN
    assert config.currency == "EUR"
    assert config.roles == COMPANY_EVENTS
    assert config.sources.events.path == sample.out / "events"
    assert config.sources.events.columns["user_id"] == "customer_id"
    assert config.sources.surveys.columns["timestamp"] == "answered_at"
    assert all(source.path.exists() for source in config.sources.present().values())
    assert config.funnels["main"].steps == [
        "visit",
        "product_view",
        "add_to_cart",
        "checkout",
        "purchase",
    ]
    assert config.funnels["main"].window == timedelta(days=7)
    assert config.funnels["onboarding"].steps == ["signup", "activation"]
    assert len(config.targets) >= 15
    assert config.surveys.ces.max == 7
    assert config.surveys.ces.higher_is_better


def test_rows_match_the_written_files(
    sample: SampleResult, events: pl.DataFrame, surveys: pl.DataFrame, tickets: pl.DataFrame
) -> None:
    assert sample.rows["events"] == events.height
    assert sample.rows["surveys"] == surveys.height
    assert sample.rows["tickets"] == tickets.height
    assert 17 * 8_000 < events.height < 23 * 8_000  # about 20 events per user


def test_events_are_hive_partitioned_by_month(sample: SampleResult) -> None:
    months = sorted(p.name for p in (sample.out / "events").iterdir())
    assert months == [f"month=2026-{m:02d}" for m in range(5, 11)]
    for month in months:
        assert [p.name for p in (sample.out / "events" / month).iterdir()] == ["part-0.parquet"]


def test_stories_are_documented(sample: SampleResult) -> None:
    document = json.loads((sample.out / "stories.json").read_text())
    ids = [story["id"] for story in document["stories"]]
    assert ids == [story.id for story in sample.stories]
    assert len(ids) == 6
    assert all(story["truth"] and story["reveal"] for story in document["stories"])
    markdown = (sample.out / "STORIES.md").read_text()
    assert all(f"`{story_id}`" in markdown for story_id in ids)


# --------------------------------------------------------------------------- data quality


def test_event_columns_have_the_documented_types(events: pl.DataFrame) -> None:
    assert events.schema["event_time"] == pl.Datetime("us", "UTC")
    assert events.schema["amount"] == pl.Float64
    for column in ("customer_id", "event_name", "session", "channel", "platform", "country"):
        assert events.schema[column] == pl.String


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("events", ["customer_id", "event_time", "event_name", "session", "platform"]),
        ("surveys", ["customer_id", "answered_at", "survey", "score", "platform"]),
        ("tickets", ["ticket_id", "customer_id", "opened_at", "contacts", "handle_minutes"]),
        ("spend", ["date", "channel", "campaign", "cost", "impressions", "clicks"]),
    ],
)
def test_required_columns_have_no_nulls(
    request: pytest.FixtureRequest, table: str, columns: list[str]
) -> None:
    frame = request.getfixturevalue(table)
    assert frame.height > 0
    assert frame.select(pl.col(columns).null_count()).row(0) == (0,) * len(columns)


@pytest.mark.parametrize(
    "event_name", [name for names in COMPANY_EVENTS.values() for name in names]
)
def test_every_role_has_events(events: pl.DataFrame, event_name: str) -> None:
    assert events.filter(pl.col("event_name") == event_name).height > 0


def test_revenue_only_on_purchases_and_positive(events: pl.DataFrame) -> None:
    with_amount = events.filter(pl.col("amount").is_not_null())
    assert with_amount["event_name"].unique().to_list() == ["order_completed"]
    orders = events.filter(pl.col("event_name") == "order_completed")
    assert orders["amount"].null_count() == 0
    assert orders["amount"].min() > 0


@pytest.mark.parametrize(("survey", "low", "high"), [("nps", 0, 10), ("csat", 1, 5), ("ces", 1, 7)])
def test_survey_scores_stay_on_their_scale(
    surveys: pl.DataFrame, survey: str, low: int, high: int
) -> None:
    scores = surveys.filter(pl.col("survey") == survey)["score"]
    assert scores.len() > 50
    assert (scores.min(), scores.max()) == (low, high)


def test_tickets_are_well_formed(tickets: pl.DataFrame) -> None:
    iso_utc = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"
    assert tickets["opened_at"].str.contains(iso_utc).all()
    resolved = tickets.filter(pl.col("resolved_at").is_not_null())
    assert 0 < resolved.height < tickets.height
    assert resolved["resolved_at"].str.contains(iso_utc).all()
    assert (resolved["resolved_at"] > resolved["opened_at"]).all()  # ISO text sorts as time
    assert tickets["contacts"].min() >= 1
    assert (tickets["contacts"] == 1).mean() > 0.5
    assert tickets["handle_minutes"].min() > 0


def test_paid_clicks_cover_the_visits_each_campaign_brings(
    events: pl.DataFrame, spend: pl.DataFrame
) -> None:
    visits = (
        events.filter(pl.col("campaign").is_not_null())
        .group_by(pl.col("local_day").alias("date"), "campaign")
        .agg(visits=pl.col("session").n_unique())
    )
    joined = spend.join(visits, on=["date", "campaign"], how="left").fill_null(0)
    assert (joined["clicks"] >= joined["visits"]).all()
    assert joined["clicks"].sum() <= 1.3 * joined["visits"].sum()
    assert joined["visits"].sum() > 0.2 * events["session"].n_unique()


# --------------------------------------------------------------------------- the stories


def _first_touch(events: pl.DataFrame) -> pl.DataFrame:
    return events.sort("event_time").group_by("customer_id").first()


def _buyers(events: pl.DataFrame) -> pl.Series:
    return events.filter(pl.col("event_name") == "order_completed")["customer_id"].unique()


def test_social_has_three_times_the_ctr(spend: pl.DataFrame) -> None:
    ctr = spend.group_by(social=pl.col("channel") == "social").agg(
        ctr=pl.col("clicks").sum() / pl.col("impressions").sum()
    )
    by_social = dict(ctr.iter_rows())
    assert 2.5 < by_social[True] / by_social[False] < 3.5


def test_social_converts_at_about_a_third(events: pl.DataFrame) -> None:
    users = _first_touch(events).with_columns(
        bought=pl.col("customer_id").is_in(_buyers(events).implode())
    )
    rates = dict(
        users.group_by(social=pl.col("channel") == "social")
        .agg(pl.col("bought").mean())
        .iter_rows()
    )
    assert 0.2 < rates[True] / rates[False] < 0.5


def _payment_failure_share(events: pl.DataFrame, platform: str, during: bool) -> float:
    window = pl.col("local_day").is_between(_day(118), _day(122))
    attempts = events.filter(
        pl.col("event_name").is_in(["payment_failed", "order_completed"]),
        pl.col("platform") == platform,
        window if during else ~window,
    )
    return (attempts["event_name"] == "payment_failed").mean()


@pytest.mark.parametrize(
    ("platform", "during", "low", "high"),
    [
        ("android", True, 0.30, 0.60),  # designed: 40% of attempts fail, half are retried
        ("android", False, 0.0, 0.06),
        ("web", True, 0.0, 0.08),
        ("ios", True, 0.0, 0.08),
    ],
)
def test_payment_incident_hits_android_in_its_window_only(
    incident_events: pl.DataFrame, platform: str, during: bool, low: float, high: float
) -> None:
    assert low <= _payment_failure_share(incident_events, platform, during) <= high


def _checkout_session_conversion(events: pl.DataFrame) -> pl.DataFrame:
    """Per checkout session: did it end with an order."""
    return (
        events.filter(pl.col("event_name").is_in(["checkout_started", "order_completed"]))
        .group_by("session")
        .agg(
            pl.col("platform").first(),
            pl.col("checkout_variant").first(),
            pl.col("local_day").min(),
            ordered=(pl.col("event_name") == "order_completed").any(),
            checkout=(pl.col("event_name") == "checkout_started").any(),
        )
        .filter("checkout")
    )


def test_incident_lowers_android_checkout_conversion(incident_events: pl.DataFrame) -> None:
    android = _checkout_session_conversion(incident_events).filter(pl.col("platform") == "android")
    window = pl.col("local_day").is_between(_day(118), _day(122))
    during = android.filter(window)["ordered"].mean()
    outside = android.filter(~window)["ordered"].mean()
    assert during < 0.8 * outside


def test_checkout_treatment_lifts_conversion_by_about_ten_percent(
    incident_events: pl.DataFrame,
) -> None:
    rates = dict(
        _checkout_session_conversion(incident_events)
        .filter(pl.col("checkout_variant").is_not_null())
        .group_by("checkout_variant")
        .agg(pl.col("ordered").mean())
        .iter_rows()
    )
    assert 0.02 < rates["treatment"] / rates["control"] - 1 < 0.2


def test_checkout_variant_is_a_fifty_fifty_split_of_the_test_window(
    events: pl.DataFrame,
) -> None:
    users = _first_touch(events)
    in_test = users.filter(pl.col("checkout_variant").is_not_null())
    assert in_test["local_day"].min() >= _day(60)
    assert in_test["local_day"].max() <= _day(149)
    assert 0.45 < (in_test["checkout_variant"] == "treatment").mean() < 0.55


def _nps(scores: pl.Series) -> float:
    return 100 * ((scores >= 9).mean() - (scores <= 6).mean())


@pytest.mark.parametrize(("with_ticket", "lowest_fall"), [(True, 12.0), (False, None)])
def test_nps_falls_only_for_users_who_contacted_support(
    large: SampleResult, with_ticket: bool, lowest_fall: float | None
) -> None:
    surveys = pl.read_parquet(large.out / "surveys.parquet")
    tickets = pl.read_csv(large.out / "tickets.csv", columns=["customer_id"])
    contacted = pl.col("customer_id").is_in(tickets["customer_id"].unique().implode())
    answers = surveys.filter(
        pl.col("survey") == "nps", contacted if with_ticket else ~contacted
    ).with_columns(day=pl.col("answered_at").dt.convert_time_zone(BERLIN).dt.date())
    early = _nps(answers.filter(pl.col("day") < _day(60))["score"])
    late = _nps(answers.filter(pl.col("day") >= _day(120))["score"])
    if lowest_fall is None:
        assert abs(early - late) < 10
    else:
        assert early - late > lowest_fall


def test_weekend_days_have_about_a_third_fewer_visits(events: pl.DataFrame) -> None:
    daily = (
        events.filter(pl.col("event_name").is_in(COMPANY_EVENTS["visit"]))
        .group_by("local_day")
        .len()
        .with_columns(weekend=pl.col("local_day").dt.weekday() >= 6)
    )
    means = dict(daily.group_by("weekend").agg(pl.col("len").mean()).iter_rows())
    assert 0.58 < means[True] / means[False] < 0.72


def test_summer_blast_cohort_keeps_about_half_as_many_users_in_week_4(
    events: pl.DataFrame,
) -> None:
    users = (
        _first_touch(events)
        .filter(pl.col("local_day").is_between(_day(42), _day(55)))
        .select("customer_id", "campaign", acquired="local_day")
    )
    week4 = (
        events.join(users, on="customer_id")
        .filter(((pl.col("local_day") - pl.col("acquired")).dt.total_days()).is_between(28, 34))[
            "customer_id"
        ]
        .unique()
    )
    retention = dict(
        users.with_columns(kept=pl.col("customer_id").is_in(week4.implode()))
        .group_by(blast=pl.col("campaign") == "summer_blast")
        .agg(pl.col("kept").mean())
        .iter_rows()
    )
    assert 0.25 < retention[True] / retention[False] < 0.75

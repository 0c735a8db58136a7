"""``journey sample`` and ``journey validate`` as a user runs them: exit codes and messages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from journeylib.cli import main
from journeylib.sample import generate_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    assert main(["sample", "--users", "2000", "--seed", "5", "--out", str(out)]) == 0
    return out


@pytest.fixture
def copy(sample, tmp_path) -> Path:
    target = tmp_path / "company"
    shutil.copytree(sample, target)
    return target


def test_sample_then_validate_is_clean(sample, capsys):
    capsys.readouterr()
    assert main(["validate", str(sample / "journey.yml")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Data quality: 4 tables checked, 0 rows quarantined")
    assert f"events ({sample / 'events'})" in out


def test_sample_prints_where_things_are(tmp_path, capsys):
    assert main(["sample", "--users", "300", "--out", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert f"Journey config: {tmp_path / 's' / 'journey.yml'}" in out
    assert "STORIES.md" in out


def test_sample_rejects_a_non_positive_user_count(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["sample", "--users", "0", "--out", str(tmp_path)])
    assert exited.value.code == 2
    assert "expected a number above 0, got 0" in capsys.readouterr().err


def _rewrite_part(folder: Path, change) -> Path:
    part = sorted((folder / "events").glob("month=*/part-0.parquet"))[1]
    frame = pl.read_parquet(part)
    change(frame).write_parquet(part)
    return part


def test_null_user_ids_are_named_with_file_column_and_rows(copy, capsys):
    def blank(frame: pl.DataFrame) -> pl.DataFrame:
        rows = pl.int_range(pl.len()).is_in([4, 9])
        return frame.with_columns(
            pl.when(rows).then(None).otherwise(pl.col("customer_id")).alias("customer_id")
        )

    _rewrite_part(copy, blank)
    assert main(["validate", str(copy / "journey.yml")]) == 1
    out = capsys.readouterr().out
    assert "2 rows quarantined" in out
    assert f"events ({copy / 'events'})" in out
    line = next(x for x in out.splitlines() if "null_value" in x)
    assert "user_id (source column 'customer_id'), 2 rows" in line
    assert line.count("row ") == 2


def test_corrupt_timestamps_in_a_csv_name_the_lines(copy, capsys):
    tickets = copy / "tickets.csv"
    frame = pl.read_csv(tickets, infer_schema=False)
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()).is_in([0, 6]))
        .then(pl.lit("last tuesday"))
        .otherwise(pl.col("opened_at"))
        .alias("opened_at")
    )
    frame.write_csv(tickets)
    assert main(["validate", str(copy / "journey.yml")]) == 1
    out = capsys.readouterr().out
    assert f"tickets ({tickets})" in out
    assert (
        "unparseable_timestamp: opened_at, 2 rows: line 2 'last tuesday', line 8 'last tuesday'"
        in out
    )


def test_a_deleted_required_column_makes_the_input_unusable(copy, capsys):
    spend = copy / "spend.csv"
    pl.read_csv(spend, infer_schema=False).drop("cost").write_csv(spend)
    assert main(["validate", str(copy / "journey.yml")]) == 2
    err = capsys.readouterr().err
    assert f"spend source {spend}: does not fit the canonical spend table" in err
    assert "missing required column 'cost' (looked for source column 'cost')" in err
    assert "available: date, channel, campaign, impressions, clicks" in err


def test_a_missing_file_makes_the_input_unusable(copy, capsys):
    (copy / "surveys.parquet").unlink()
    assert main(["validate", str(copy / "journey.yml")]) == 2
    err = capsys.readouterr().err
    assert "surveys source" in err
    assert str(copy / "surveys.parquet") in err


def test_quarantined_rows_can_be_written_out(copy, tmp_path, capsys):
    def negative(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            pl.when(pl.col("amount").is_not_null() & (pl.int_range(pl.len()) < 5000))
            .then(-pl.col("amount"))
            .otherwise(pl.col("amount"))
            .alias("amount")
        )

    _rewrite_part(copy, negative)
    out_dir = tmp_path / "quarantine"
    code = main(["validate", str(copy / "journey.yml"), "--quarantine-out", str(out_dir)])
    assert code == 1
    rows = pl.read_csv(out_dir / "events.csv")
    assert rows.height > 0
    assert (rows["amount"] < 0).all()
    assert rows["_rule"].str.contains("negative_value").all()
    assert "events.csv" in capsys.readouterr().err


def test_json_summary(sample, capsys):
    capsys.readouterr()
    assert main(["validate", str(sample / "journey.yml"), "--format", "json"]) == 0
    import json

    summary = json.loads(capsys.readouterr().out)
    assert {t["table"] for t in summary["tables"]} == {"events", "spend", "surveys", "tickets"}


def test_bad_config_exit_code_and_location(tmp_path, capsys):
    config = tmp_path / "journey.yml"
    config.write_text("name: x\nsources:\n  events: {path: e.csv, colums: {}}\n")
    assert main(["validate", str(config)]) == 2
    err = capsys.readouterr().err
    assert "line 3: sources.events.colums: unknown key 'colums' (did you mean 'columns'?)" in err


def test_every_command_has_help(capsys):
    commands = [
        ["sample"],
        ["validate"],
        ["kpis"],
        ["funnel"],
        ["retention"],
        ["score"],
        ["report", "run"],
        ["schedule", "tick"],
        ["schedule", "list"],
    ]
    for command in commands:
        with pytest.raises(SystemExit) as exited:
            main([*command, "--help"])
        assert exited.value.code == 0
        assert "usage: journey" in capsys.readouterr().out


def test_generator_is_deterministic_through_the_cli(tmp_path):
    first = generate_sample(tmp_path / "a", users=500, seed=11)
    second = generate_sample(tmp_path / "b", users=500, seed=11)
    assert first.rows == second.rows
    assert (tmp_path / "a" / "spend.csv").read_bytes() == (
        tmp_path / "b" / "spend.csv"
    ).read_bytes()


# --------------------------------------------------------------------------- --quarantine-out


def _negative_amounts(count: int):
    def change(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            pl.when(pl.col("amount").is_not_null() & (pl.int_range(pl.len()) < count))
            .then(-pl.col("amount"))
            .otherwise(pl.col("amount"))
            .alias("amount")
        )

    return change


def test_quarantine_folder_is_reused_and_its_stale_files_removed(copy, tmp_path, capsys):
    out_dir = tmp_path / "quarantine"
    tickets = copy / "tickets.csv"
    frame = pl.read_csv(tickets, infer_schema=False)
    tickets.write_text(frame.with_columns(pl.lit("-1").alias("contacts")).write_csv())
    part = _rewrite_part(copy, _negative_amounts(5000))
    config = str(copy / "journey.yml")
    assert main(["validate", config, "--quarantine-out", str(out_dir)]) == 1
    assert sorted(p.name for p in out_dir.iterdir()) == [
        ".journey-quarantine", "events.csv", "tickets.csv"
    ]  # fmt: skip
    # the events are repaired: a second run replaces the folder's content, events.csv goes
    frame = pl.read_parquet(part)
    frame.with_columns(pl.col("amount").abs()).write_parquet(part)
    assert main(["validate", config, "--quarantine-out", str(out_dir)]) == 1
    assert sorted(p.name for p in out_dir.iterdir()) == [".journey-quarantine", "tickets.csv"]
    capsys.readouterr()


def test_quarantine_folder_with_a_users_file_is_refused_before_any_work(copy, tmp_path, capsys):
    out_dir = tmp_path / "mine"
    out_dir.mkdir()
    (out_dir / "events.csv").write_text("my own events\n")
    _rewrite_part(copy, _negative_amounts(5000))
    assert main(["validate", str(copy / "journey.yml"), "--quarantine-out", str(out_dir)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # refused before loading, not after
    assert captured.err == (
        f"journey validate: --quarantine-out {out_dir}: the folder holds files validate did not "
        "write (events.csv); give a new or empty folder, so that no file of yours is "
        "overwritten\n"
    )
    assert (out_dir / "events.csv").read_text() == "my own events\n"


def test_quarantine_out_that_is_a_file_is_refused(copy, tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("mine\n")
    assert main(["validate", str(copy / "journey.yml"), "--quarantine-out", str(target)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert target.read_text() == "mine\n"


# --------------------------------------------------------------------------- no role occurs


def test_validate_reports_events_in_which_no_role_occurs(copy, capsys):
    config = copy / "journey.yml"
    text = config.read_text().replace("event: event_name", "event: session")
    config.write_text(text)
    assert main(["validate", str(config)]) == 2
    captured = capsys.readouterr()
    assert "1 problem" in captured.out.splitlines()[0]
    assert "  problem: no configured role occurs in the events" in captured.out
    (line,) = captured.err.splitlines()
    assert line.startswith("journey validate: events: no configured role occurs in the events")
    assert "column 'session'" in line
    assert main(["validate", str(config), "--format", "json"]) == 2
    summary = json.loads(capsys.readouterr().out)
    assert summary["problems"][0].startswith("events: no configured role occurs")


def test_sample_into_an_occupied_folder_needs_force_and_keeps_the_users_files(tmp_path, capsys):
    out = tmp_path / "company"
    assert main(["sample", "--users", "300", "--days", "60", "--out", str(out)]) == 0
    (out / "notes.md").write_text("my notes")
    (out / "events" / "README.txt").write_text("about my events")
    capsys.readouterr()
    assert main(["sample", "--users", "200", "--days", "30", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"journey sample: {out} is not empty (it holds ")
    assert "--force" in err
    assert len(err.splitlines()) == 1
    assert main(["sample", "--users", "200", "--days", "30", "--out", str(out), "--force"]) == 0
    assert "Kept 2 file(s) that are not the sample's: events/README.txt, notes.md" in (
        capsys.readouterr().out
    )
    assert (out / "notes.md").read_text() == "my notes"
    assert (out / "events" / "README.txt").read_text() == "about my events"
    assert main(["validate", str(out / "journey.yml")]) == 0

"""The project's own documentation: the KPI reference agrees with the registry, links resolve.

``docs/kpis.md`` is generated from the KPI registry (``make docs``); these tests fail when the
file is stale, when a KPI lacks a section, or when code, tests, notebooks or the README cite an
anchor of the reference that does not exist or a path outside the project.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
from pathlib import Path

import pytest

from journeylib.cli import main
from journeylib.kpis import REGISTRY
from journeylib.kpis.reference import kpi_entries, kpi_entry, reference_markdown

ROOT = Path(__file__).resolve().parents[1]
KPI_REFERENCE = ROOT / "docs" / "kpis.md"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
#: Where the project's text lives (what a reader who clones it can follow).
SOURCES = ("journeylib", "tests", "notebooks", "docs", "benchmarks", "scripts")


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens.

    >>> github_anchor("Friction, incidents and loops")
    'friction-incidents-and-loops'
    >>> github_anchor("conversion_rate")
    'conversion_rate'
    """
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    return {
        github_anchor(match.group(1))
        for match in re.finditer(r"^#{1,6} (.+)$", markdown, flags=re.MULTILINE)
    }


def project_files() -> list[Path]:
    files = [ROOT / "README.md"]
    for folder in SOURCES:
        for pattern in ("*.py", "*.md", "*.ipynb"):
            files += [
                path
                for path in (ROOT / folder).rglob(pattern)
                if ".venv" not in path.parts and ".ipynb_checkpoints" not in path.parts
            ]
    return sorted(files)


def test_the_kpi_reference_is_the_one_the_registry_writes() -> None:
    written = KPI_REFERENCE.read_text(encoding="utf-8")
    assert written == reference_markdown(), (
        "docs/kpis.md disagrees with the KPI registry; run `make docs` and commit the file"
    )


def test_journey_kpis_list_prints_the_reference(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kpis", "--list", "--format", "markdown"]) == 0
    assert capsys.readouterr().out == KPI_REFERENCE.read_text(encoding="utf-8")


def test_every_kpi_has_its_section_with_its_record() -> None:
    text = KPI_REFERENCE.read_text(encoding="utf-8")
    sections = dict(
        re.findall(r"^### (\w+)\n(.*?)(?=^#{2,3} )", text, flags=re.MULTILINE | re.DOTALL)
    )
    assert set(sections) == set(REGISTRY)
    for name, kpi in REGISTRY.items():
        body = " ".join(sections[name].split())
        assert f"**Formula**: {kpi.doc}" in body, name
        assert f"**Stage**: {kpi.stage}" in body, name
        assert f"**Unit**: {kpi.unit}" in body, name
        for role in kpi.roles:
            assert f"`{role}`" in body.split("**Inputs**")[1].split("**Statistics**")[0], name
        # the stage heading the section sits under is the KPI's stage
        before = text[: text.index(f"### {name}\n")]
        assert re.findall(r"^## (.+)$", before, flags=re.MULTILINE)[-1] == kpi.stage.capitalize()


def test_every_kpi_says_its_definition_in_words() -> None:
    for entry in kpi_entries():
        assert entry["definition"].endswith("."), entry["kpi"]
        assert entry["definition"] != entry["formula"], entry["kpi"]
        for item in entry["options"] + entry["choices"]:
            assert item[0].isupper() or item[0] in '`"', (entry["kpi"], item)
            assert item.endswith("."), (entry["kpi"], item)


def test_the_choices_of_the_timed_kpis_are_written_down() -> None:
    choices = {entry["kpi"]: " ".join(entry["choices"]) for entry in kpi_entries()}
    for name in ("cart_abandonment_rate", "activation_rate", "trial_to_paid_rate"):
        assert "equal timestamps count" in choices[name], name
        assert "inclusive" in choices[name], name
        assert "have not ended at the end of the data" in choices[name], name
    assert "30 minutes" in choices["avg_session_duration"]
    assert "breakdown value" in choices["retention_rate"]


def test_the_reference_follows_a_changed_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """The generator reads the registry: a changed record changes the file it writes."""
    record = REGISTRY["conversion_rate"]
    changed = dataclasses.replace(record, doc="buyers / visitors", label="Buyers among visitors")
    monkeypatch.setitem(REGISTRY, "conversion_rate", changed)
    text = reference_markdown()
    assert text != KPI_REFERENCE.read_text(encoding="utf-8")
    assert "- **Formula**: buyers / visitors" in text
    assert "**Buyers among visitors.** The share of the period's visitors who purchased." in text
    assert "[Buyers among visitors](#conversion_rate) (`conversion_rate`)" in text


def test_a_record_without_a_label_is_listed_by_its_name() -> None:
    record = REGISTRY["conversion_rate"]
    fields = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    fields.pop("label", None)
    unlabelled = types.SimpleNamespace(**fields)
    entry = kpi_entry(unlabelled)
    assert entry["label"] == "conversion_rate"
    assert entry["formula"] == record.doc
    assert entry["definition"] == "The share of the period's visitors who purchased."


def test_kpis_list_as_json_has_every_kpi(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kpis", "--list", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [entry["kpi"] for entry in listed] == [entry["kpi"] for entry in kpi_entries()]
    assert {entry["kpi"] for entry in listed} == set(REGISTRY)
    ces = next(entry for entry in listed if entry["kpi"] == "ces")
    assert ces["direction"] == "config"
    assert ces["tables"] == ["surveys"]


def test_kpis_list_one_kpi_as_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kpis", "--list", "--kpi", "cac"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["stage", "kpi", "unit", "better", "formula"]
    assert lines[2].split()[:4] == ["purchase", "cac", "currency", "lower"]
    assert len(lines) == 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["kpis", "--list", "--by", "channel"], "--by does not apply"),
        (["kpis", "--list", "--kpi", "convertion_rate"], "did you mean 'conversion_rate'"),
        (["kpis", "--list", "--format", "markdown", "--kpi", "cac"], "drop --kpi"),
        (["kpis", "--events", "events.csv", "--format", "markdown"], "goes with --list"),
    ],
)
def test_kpis_list_refuses_what_does_not_apply(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("journey kpis: ")
    assert message in captured.err
    assert captured.err.count("\n") == 1


def test_kpis_list_and_a_config_are_one_or_the_other(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["kpis", str(tmp_path / "journey.yml"), "--list"])
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_citations_of_the_docs_point_to_headings_that_exist() -> None:
    documents = {
        "docs/kpis.md": anchors(KPI_REFERENCE.read_text(encoding="utf-8")),
        "docs/architecture.md": anchors(ARCHITECTURE.read_text(encoding="utf-8")),
    }
    cited = 0
    broken = []
    for path in project_files():
        text = path.read_text(encoding="utf-8")
        for document, anchor in re.findall(r"(docs/(?:kpis|architecture)\.md)#([\w-]+)", text):
            cited += 1
            if anchor not in documents[document]:
                broken.append(f"{path.relative_to(ROOT)}: {document}#{anchor}")
    assert not broken, "citations of missing headings:\n" + "\n".join(broken)
    assert cited >= 30  # the package's docstrings cite the reference's sections


def test_nothing_names_a_file_outside_the_project() -> None:
    outside = ("KPI_" + "DEFINITIONS", "../" + "shared")
    found = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in project_files()
        for name in outside
        if name in path.read_text(encoding="utf-8")
    ]
    assert not found, "\n".join(found)


def test_the_readme_links_the_docs_and_only_files_of_the_project() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    local = [target for target, _ in local_links(readme)]
    assert "docs/kpis.md" in local
    assert "docs/architecture.md" in local


def local_links(markdown: str) -> list[tuple[str, str]]:
    """``(path, anchor)`` of the Markdown links that point to a file, not a URL."""
    links = re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", markdown)
    return [(target, anchor) for target, anchor in links if not re.match(r"[a-z]+:", target)]


@pytest.mark.parametrize(
    "document", ["README.md", "docs/kpis.md", "docs/architecture.md"], ids=lambda name: name
)
def test_links_of_the_readme_and_docs_resolve_inside_the_project(document: str) -> None:
    source = ROOT / document
    links = local_links(source.read_text(encoding="utf-8"))
    assert links
    for target, anchor in links:
        path = (source.parent / target).resolve() if target else source
        assert path.is_relative_to(ROOT), f"{document}: {target} is outside the project"
        assert path.exists(), f"{document}: {target} does not exist"
        if anchor and path.suffix == ".md":
            assert anchor in anchors(path.read_text(encoding="utf-8")), (
                f"{document}: {target}#{anchor} names no heading"
            )

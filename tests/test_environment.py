"""environment.yml describes the same dependencies as pyproject.toml (the source of truth)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

#: PyPI name -> conda-forge name, where they differ.
CONDA_NAMES = {"duckdb": "python-duckdb"}
#: conda entries that are not Python dependencies of the project.
CONDA_ONLY = {"python", "pip"}

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$")


def split(requirement: str) -> tuple[str, str]:
    match = _REQUIREMENT.match(requirement)
    assert match, f"cannot parse requirement {requirement!r}"
    name = match.group(1).lower().replace("_", "-")
    spec = ",".join(sorted(part.strip() for part in match.group(3).split(",") if part.strip()))
    return name, spec


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = project["dependencies"] + project["optional-dependencies"]["dev"]
    pairs = [split(r) for r in listed]
    return {CONDA_NAMES.get(name, name): spec for name, spec in pairs}


def environment_requirements() -> dict[str, str]:
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    entries = [d for d in environment["dependencies"] if isinstance(d, str)]
    pairs = [split(entry) for entry in entries]
    return {name: spec for name, spec in pairs if name not in CONDA_ONLY}


def test_environment_yml_lists_the_same_packages_and_versions_as_pyproject():
    expected = pyproject_requirements()
    found = environment_requirements()
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    differing = sorted(n for n in set(expected) & set(found) if expected[n] != found[n])
    assert not missing, f"environment.yml lacks {missing} (pyproject.toml lists them)"
    assert not extra, f"environment.yml lists {extra}, which pyproject.toml does not"
    assert not differing, "versions differ: " + "; ".join(
        f"{n}: pyproject {expected[n]!r}, environment.yml {found[n]!r}" for n in differing
    )


def test_environment_yml_python_matches_requires_python():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pythons = [
        d for d in environment["dependencies"] if isinstance(d, str) and split(d)[0] == "python"
    ]
    assert pythons == [f"python{project['requires-python']}"]


def test_environment_yml_installs_the_project_itself():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict)]
    assert pip_sections == [["--no-deps", "-e ."]]

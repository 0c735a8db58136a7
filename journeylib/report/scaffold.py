"""``journey new-report``: a new report notebook from a template, and its schedule entry.

The new notebook is a copy of a report notebook of ``notebooks/`` (default
``journey_report``) without outputs, its ``title`` default set from the name; it runs with
``journey report run NAME`` at once. ``reports/schedule.yml`` gets a commented entry for it
(uncomment it to schedule the report), so nothing runs or mails until someone decides to.

Refused, with nothing written (:class:`~journeylib.errors.JourneyError`): a name that is not a
Python identifier (it names a notebook, a report folder and a job), a name that is already a
notebook or a job (commented entries included), an unknown template or a dashboard one, a
folder without ``notebooks/``, and a schedule file that is not YAML.
"""

from __future__ import annotations

import json
import keyword
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from journeylib.errors import JourneyError
from journeylib.report.notebooks import DASHBOARD, notebook_kind, report_notebooks

__all__ = ["DEFAULT_TEMPLATE", "NewReport", "new_report", "schedule_entry"]

DEFAULT_TEMPLATE = "journey_report"
NOTEBOOKS = Path("notebooks")
SCHEDULE = Path("reports") / "schedule.yml"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: The ``title`` parameter's default: a string literal, or ``None`` (a title made by the notebook).
_TITLE = re.compile(
    r"""^(title\s*:\s*[^=]+=\s*)("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|None\b)""", re.M
)
_NEW_SCHEDULE = """\
# Report schedule: `journey schedule tick` (from cron) runs each job's due slots once.
# Notebook paths are relative to this file.
timezone: UTC
catch_up: latest
jobs: []
"""


@dataclass(frozen=True)
class NewReport:
    """What :func:`new_report` wrote."""

    name: str
    template: str
    notebook: Path
    schedule: Path


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name) or keyword.iskeyword(name):
        suggestion = re.sub(r"\W+", "_", name.strip()).strip("_").lower()
        if suggestion and suggestion[0].isdigit():
            suggestion = f"report_{suggestion}"
        hint = (
            f" (e.g. {suggestion})"
            if _NAME.fullmatch(suggestion) and not keyword.iskeyword(suggestion)
            else ""
        )
        raise JourneyError(
            f"report name {name!r} is not a valid identifier: use letters, digits and "
            f"underscores, not starting with a digit, and not a Python keyword{hint}"
        )


def _template(folder: Path, template: str) -> Path:
    path = folder / f"{template}.ipynb"
    known = [p.stem for p in report_notebooks(folder)]
    if not _NAME.fullmatch(template) or not path.is_file():
        raise JourneyError(
            f"unknown template {template!r}: no report notebook {path}; templates: "
            f"{', '.join(known) or '(none)'}"
        )
    if notebook_kind(path) == DASHBOARD:
        raise JourneyError(
            f"template {template!r} is a dashboard notebook (served by Voila), not a report; "
            f"templates: {', '.join(known) or '(none)'}"
        )
    return path


def _title(name: str) -> str:
    words = name.strip("_").replace("_", " ")
    return words[:1].upper() + words[1:] if words else name


def _notebook_text(template: Path, name: str) -> str:
    """The template as a new report: no outputs, no execution counts, its title from the name."""
    import nbformat

    from journeylib.report.parameters import PARAMETERS_TAG, read_notebook

    node = read_notebook(template)
    for cell in node.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if cell.cell_type == "code" and PARAMETERS_TAG in cell.metadata.get("tags", []):
            cell.source = _TITLE.sub(
                lambda m: m.group(1) + json.dumps(_title(name), ensure_ascii=False),
                cell.source,
                count=1,
            )
    node.metadata.pop("papermill", None)
    ours = dict(node.metadata.get("journeylib", {}))
    ours.update(kind="report", template=template.stem)
    node.metadata["journeylib"] = ours
    return nbformat.writes(node)


def schedule_entry(name: str, notebook: Path, schedule: Path, parameters: list[str]) -> list[str]:
    """The commented job lines of a new report (without indentation)."""
    relative = Path(os.path.relpath(notebook.resolve(), schedule.resolve().parent)).as_posix()
    lines = [
        f"# {name}: added by `journey new-report`; uncomment the lines below to schedule it",
        f"# - name: {name}",
        '#   cron: "0 7 * * MON"     # Mondays 07:00 in the schedule\'s time zone',
        f"#   notebook: {relative}",
    ]
    chosen = [p for p in ("config_path", "period") if p in parameters]
    if chosen:
        lines.append("#   parameters:")
        if "config_path" in chosen:
            lines.append("#     config_path: ../data/sample/journey.yml  # your journey config")
        if "period" in chosen:
            lines.append("#     period: last_full_week")
    lines += [
        "#   recipients: [team@example.com]",
        "#   owner: analyst@example.com",
        "#   enabled: false          # enable once JOURNEY_SMTP_* is set where it runs",
    ]
    return lines


def _existing_jobs(text: str, schedule: Path) -> tuple[dict[str, int], yaml.Node | None]:
    """Job names (active or commented) with their line, and the ``jobs`` node."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise JourneyError(f"{schedule}: {where}not valid YAML; fix it first") from None
    names: dict[str, int] = {}
    jobs_node = None
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "jobs":
                jobs_node = value
                items = value.value if isinstance(value, yaml.SequenceNode) else []
                for item in items:
                    for job_key, job_value in getattr(item, "value", []):
                        if job_key.value == "name" and isinstance(job_value, yaml.ScalarNode):
                            names[str(job_value.value)] = job_value.start_mark.line + 1
    for number, line in enumerate(text.splitlines(), start=1):
        commented = re.match(r"\s*#\s*-?\s*name\s*:\s*['\"]?([\w.-]+)", line)
        if commented:
            names.setdefault(commented.group(1), number)
    return names, jobs_node


def _with_entry(text: str, jobs: yaml.Node | None, entry: list[str]) -> str:
    """``text`` with the commented entry inside the ``jobs`` list (or at the end)."""
    lines = text.splitlines()
    if isinstance(jobs, yaml.SequenceNode) and not jobs.flow_style and jobs.value:
        indent = max(jobs.value[0].start_mark.column - 2, 0)
        end = jobs.end_mark.line if jobs.end_mark.column == 0 else jobs.end_mark.line + 1
        while end > 0 and not lines[end - 1].strip():
            end -= 1
        block = [" " * indent + line for line in entry]
        return "\n".join([*lines[:end], *block, *lines[end:]]) + "\n"
    note = (
        ["# (replace 'jobs: []' above by 'jobs:' when you uncomment it)"]
        if isinstance(jobs, yaml.SequenceNode) and not jobs.value
        else []
    )
    block = ["  " + line for line in entry]
    return "\n".join([*lines, *note, *block]) + "\n"


def new_report(
    name: str, *, template: str = DEFAULT_TEMPLATE, root: str | os.PathLike[str] | None = None
) -> NewReport:
    """Write ``notebooks/NAME.ipynb`` from a template and a commented entry in the schedule.

    Parameters
    ----------
    name
        The report's name: a Python identifier (``weekly_emea``).
    template
        A report notebook of ``notebooks/`` (its name without ``.ipynb``).
    root
        The project folder holding ``notebooks/`` and ``reports/`` (default: the current one).

    Raises
    ------
    JourneyError
        For the refusals of the module docstring; nothing is written then.

    Examples
    --------
    >>> new_report("weekly_emea", template="journey_report")  # doctest: +SKIP
    NewReport(name='weekly_emea', template='journey_report', ...)
    """
    from journeylib.data.atomic import atomic_write_text
    from journeylib.report.parameters import notebook_parameters

    _check_name(name)
    base = Path(root) if root is not None else Path.cwd()
    folder = base / NOTEBOOKS
    if not folder.is_dir():
        raise JourneyError(
            f"no {NOTEBOOKS}/ folder in {base}: run journey new-report in the project's folder"
        )
    source = _template(folder, template)
    target = folder / f"{name}.ipynb"
    if target.exists():
        raise JourneyError(
            f"notebook {target} already exists: choose another name (nothing was overwritten)"
        )
    schedule = base / SCHEDULE
    if schedule.is_file():
        try:
            text = schedule.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise JourneyError(f"{schedule} cannot be read: {exc}") from None
    elif schedule.exists():
        raise JourneyError(f"{schedule} is not a file")
    else:
        text = _NEW_SCHEDULE
    names, jobs = _existing_jobs(text, schedule)
    if name in names:
        raise JourneyError(
            f"{schedule} already has a job named {name!r} (line {names[name]}, maybe "
            "commented out): choose another name (nothing was written)"
        )
    notebook_text = _notebook_text(source, name)
    entry = schedule_entry(name, target, schedule, list(notebook_parameters(source)))
    new_schedule = _with_entry(text, jobs, entry)
    partial = folder / f".{name}.ipynb.partial-{os.getpid()}"
    partial.write_text(notebook_text, encoding="utf-8")
    try:
        os.link(partial, target)  # fails if the name appeared meanwhile: never overwrites
    except FileExistsError:
        raise JourneyError(
            f"notebook {target} already exists: choose another name (nothing was overwritten)"
        ) from None
    finally:
        partial.unlink(missing_ok=True)
    try:
        atomic_write_text(schedule, new_schedule)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return NewReport(name=name, template=source.stem, notebook=target, schedule=schedule)

"""The report schedule (``reports/schedule.yml``): its jobs, loading with located errors.

A schedule lists jobs, each a notebook run on a cron expression read in the schedule's time zone
(see :mod:`journeylib.report.schedule.cron`); :func:`journeylib.report.schedule.ticks.tick`
runs the slots that became due. Loading checks every job's notebook: it must exist and be a
readable notebook. Paths in the file (``notebook``) are relative to the schedule file's folder.

Examples
--------
>>> from journeylib.report.schedule import load_schedule
>>> schedule = load_schedule("reports/schedule.yml")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from journeylib.config.located import StrictModel, read_located_yaml, validate_located
from journeylib.config.model import valid_timezone
from journeylib.errors import ScheduleError
from journeylib.report.email import is_address
from journeylib.report.schedule._state import one_line
from journeylib.report.schedule.cron import CronError, parse_cron

__all__ = ["Job", "Schedule", "ScheduleError", "load_schedule", "schedule_from_dict"]

CatchUp = Literal["all", "latest"]
_JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class Job(StrictModel):
    """One scheduled report: a notebook, its parameters, when it runs and who receives it."""

    name: str
    cron: str
    notebook: Path
    parameters: dict[str, Any] = Field(default_factory=dict)
    recipients: list[str] = Field(default_factory=list)
    owner: str | None = None
    catch_up: CatchUp | None = None
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _JOB_NAME.match(value):
            raise PydanticCustomError(
                "job_name",
                "job name '{value}' must start with a letter or digit and hold only letters, "
                "digits, '.', '_' and '-'",
                {"value": value},
            )
        return value

    @field_validator("cron")
    @classmethod
    def _check_cron(cls, value: str) -> str:
        try:
            parse_cron(value)
        except CronError as exc:
            raise PydanticCustomError("cron", str(exc)) from None
        return value

    @field_validator("notebook", mode="before")
    @classmethod
    def _resolve_notebook(cls, value: Any, info: ValidationInfo) -> Any:
        base = (info.context or {}).get("base_dir")
        if isinstance(value, str | Path) and base is not None and not Path(value).is_absolute():
            return Path(base) / value
        return value

    @field_validator("parameters")
    @classmethod
    def _check_parameters(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        # parameters are code (Papermill writes ``name = value``): checked against the notebook
        # when the job is loaded; a notebook that is not there is reported by its own check
        from journeylib.errors import JourneyError
        from journeylib.report.parameters import ParameterError, check_parameters

        notebook = info.data.get("notebook")
        if not isinstance(notebook, Path) or not notebook.is_file():
            return value
        try:
            return check_parameters(notebook, value)
        except JourneyError as exc:
            where = {"key": exc.parameter} if isinstance(exc, ParameterError) else {}
            job = info.data.get("name")
            reason = (f"job '{job}': " if job else "") + " ".join(str(exc).split())
            raise PydanticCustomError(
                "parameter", "{reason}", {"reason": reason, **where}
            ) from None

    @field_validator("recipients", "owner")
    @classmethod
    def _check_addresses(cls, value: Any) -> Any:
        for address in [value] if isinstance(value, str) else value or []:
            if not is_address(address):
                raise PydanticCustomError(
                    "address", "expected an email address, got '{value}'", {"value": address}
                )
        return value


class Schedule(StrictModel):
    """A whole schedule file. Build it with :func:`load_schedule` or :func:`schedule_from_dict`."""

    timezone: str = "UTC"
    catch_up: CatchUp = "latest"
    jobs: list[Job] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            return valid_timezone(value)
        except OSError:  # a folder of the zone database ("Europe") or a name too long
            raise PydanticCustomError(
                "timezone",
                "unknown time zone '{value}'; use an IANA name such as Europe/Berlin",
                {"value": value},
            ) from None

    @field_validator("jobs")
    @classmethod
    def _check_unique_names(cls, jobs: list[Job]) -> list[Job]:
        names = [job.name for job in jobs]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise PydanticCustomError("jobs", "job '{name}' is listed twice", {"name": repeated[0]})
        return jobs

    def catch_up_of(self, job: Job) -> CatchUp:
        """The job's catch-up rule: its own, else the schedule's."""
        return job.catch_up or self.catch_up


def load_schedule(path: str | os.PathLike[str]) -> Schedule:
    """Load and validate a schedule file.

    Raises
    ------
    ScheduleError
        Listing every problem with its line and key path, e.g.
        ``schedule.yml: line 4: jobs.0.crn: unknown key 'crn' (did you mean 'cron'?)``.

    Examples
    --------
    >>> load_schedule("reports/schedule.yml").timezone  # doctest: +SKIP
    'Europe/Berlin'
    """
    file, data, lines = read_located_yaml(path, error=ScheduleError, top="with 'jobs'")
    schedule = _validate(data, file=str(file), base_dir=file.resolve().parent, lines=lines)
    _check_notebooks(schedule, file=str(file), lines=lines)
    return schedule


def schedule_from_dict(
    data: dict[str, Any],
    *,
    base_dir: str | os.PathLike[str] | None = None,
    check_notebooks: bool = True,
) -> Schedule:
    """Validate a schedule given as a dict (notebook paths resolve against ``base_dir``).

    ``check_notebooks=False`` skips the check that each notebook exists and reads (for a
    schedule built before its notebooks, as in tests with a stand-in runner).

    Examples
    --------
    >>> job = {"name": "daily", "cron": "@daily", "notebook": "report.ipynb"}
    >>> schedule = schedule_from_dict({"jobs": [job]}, base_dir="/srv", check_notebooks=False)
    >>> schedule.jobs[0].notebook
    PosixPath('/srv/report.ipynb')
    """
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    schedule = _validate(dict(data), file="<schedule>", base_dir=base.resolve(), lines={})
    if check_notebooks:
        _check_notebooks(schedule, file="<schedule>", lines={})
    return schedule


def _validate(
    data: dict[str, Any], *, file: str, base_dir: Path, lines: dict[tuple[str, ...], int]
) -> Schedule:
    return validate_located(
        Schedule, data, file=file, base_dir=base_dir, lines=lines, error=ScheduleError
    )


def _check_notebooks(schedule: Schedule, *, file: str, lines: dict[tuple[str, ...], int]) -> None:
    """Every job's notebook exists and reads as a notebook, or a located error names the job."""
    problems = []
    for index, job in enumerate(schedule.jobs):
        problem = _notebook_problem(job.notebook)
        if problem:
            line = lines.get(("jobs", str(index), "notebook"))
            where = f"line {line}: " if line else ""
            problems.append(f"{where}jobs.{index}.notebook: job '{job.name}': {problem}")
    if problems:
        raise ScheduleError(file, problems)


def _notebook_problem(path: Path) -> str | None:
    """Why ``path`` is not a readable Jupyter notebook, or None when it is one."""
    import nbformat

    if not path.exists():
        return f"notebook {path} does not exist"
    if path.is_dir():
        return f"notebook {path} is a folder, not a notebook file"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return f"notebook {path} cannot be read ({one_line(exc)})"
    except ValueError as exc:
        return f"{path} is not a notebook (not JSON: {one_line(exc)})"
    if not (
        isinstance(data, dict)
        and isinstance(data.get("nbformat"), int)
        and isinstance(data.get("cells"), list)
    ):
        return f"{path} is not a notebook (no 'nbformat' and 'cells' in its JSON)"
    try:
        with warnings.catch_warnings():  # e.g. cells without ids: not a reason to refuse
            warnings.simplefilter("ignore")
            nbformat.validate(data)
    except Exception as exc:  # ValidationError, and TypeError on cells of the wrong type
        return f"notebook {path} is not a valid notebook ({one_line(exc)})"
    return None

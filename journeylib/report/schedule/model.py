"""The report schedule (``reports/schedule.yml``): its jobs, loading with located errors.

A schedule lists jobs, each run on a cron expression read in the schedule's time zone (see
:mod:`journeylib.report.schedule.cron`): a report job runs a notebook, an alert job
(``kind: alert``, :mod:`journeylib.report.schedule.alert_job`) mails the incidents of a
journey; :func:`journeylib.report.schedule.ticks.tick` runs the slots that became due. Loading
checks every report job's notebook (it must exist and be a readable notebook) and every alert
job's journey config. Paths in the file (``notebook``, ``config``) are relative to the schedule
file's folder.

Examples
--------
>>> from journeylib.report.schedule import load_schedule
>>> schedule = load_schedule("reports/schedule.yml")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from journeylib.config.located import StrictModel, read_located_yaml, validate_located
from journeylib.config.model import valid_timezone
from journeylib.errors import ScheduleError
from journeylib.report.schedule._job_fields import CatchUp, JobFields
from journeylib.report.schedule._state import one_line
from journeylib.report.schedule.alert_job import AlertJob

__all__ = [
    "AlertJob",
    "Job",
    "Schedule",
    "ScheduleError",
    "ScheduledJob",
    "load_schedule",
    "schedule_from_dict",
]


class Job(JobFields):
    """One scheduled report: a notebook, its parameters, when it runs and who receives it.

    ``kind`` may be left out (``report``); ``kind: alert`` is an :class:`AlertJob`.
    """

    kind: Literal["report"] = "report"
    notebook: Path
    parameters: dict[str, Any] = Field(default_factory=dict)

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


def _kind_of(value: Any) -> str | None:
    """The union tag of a job: ``kind`` (default ``report``); None for an unknown kind."""
    kind = value.get("kind", "report") if isinstance(value, dict) else getattr(value, "kind", None)
    return {"report": "Job", "alert": "AlertJob"}.get(kind) if isinstance(kind, str) else None


#: A job of the schedule: a report notebook (:class:`Job`) or incident alerts (:class:`AlertJob`).
ScheduledJob = Annotated[
    Annotated[Job, Tag("Job")] | Annotated[AlertJob, Tag("AlertJob")],
    Discriminator(
        _kind_of,
        custom_error_type="job_kind",
        custom_error_message="kind must be 'report' (a notebook, the default) or 'alert' "
        "(incident alerts)",
    ),
]


class Schedule(StrictModel):
    """A whole schedule file. Build it with :func:`load_schedule` or :func:`schedule_from_dict`."""

    timezone: str = "UTC"
    catch_up: CatchUp = "latest"
    jobs: list[ScheduledJob] = Field(default_factory=list)

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
    def _check_unique_names(cls, jobs: list[ScheduledJob]) -> list[ScheduledJob]:
        names = [job.name for job in jobs]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise PydanticCustomError("jobs", "job '{name}' is listed twice", {"name": repeated[0]})
        return jobs

    def catch_up_of(self, job: JobFields) -> CatchUp:
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
        if not isinstance(job, Job):
            continue  # an alert job's config is checked when it is validated
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

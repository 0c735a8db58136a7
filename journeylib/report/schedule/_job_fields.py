"""The fields every scheduled job has, whatever it runs: name, cron, who gets mail, catch-up.

A report job (:class:`journeylib.report.schedule.model.Job`) adds its notebook and parameters;
an alert job (:class:`journeylib.report.schedule.alert_job.AlertJob`) adds the journey it
watches for incidents.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from journeylib.config.located import StrictModel
from journeylib.report.email import is_address
from journeylib.report.schedule.cron import CronError, parse_cron

__all__ = ["CatchUp", "JobFields"]

CatchUp = Literal["all", "latest"]
_JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class JobFields(StrictModel):
    """Name, cron, recipients, owner, catch-up and whether the job is enabled."""

    name: str
    cron: str
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

    @field_validator("recipients", "owner")
    @classmethod
    def _check_addresses(cls, value: Any) -> Any:
        for address in [value] if isinstance(value, str) else value or []:
            if not is_address(address):
                raise PydanticCustomError(
                    "address", "expected an email address, got '{value}'", {"value": address}
                )
        return value

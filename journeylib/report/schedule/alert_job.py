"""An alert job of the schedule (``kind: alert``): the incidents of a journey, mailed once each.

The job names the journey config it watches, the funnel (a name of the config's ``funnels`` or a
list of steps; default: the config's first funnel), the grain, the rate KPIs to watch as well
(``kpi``, as ``journey incidents --kpi``), the dimensions whose segments are tested (``by``;
default: every dimension), and the recipients. It is validated when the schedule loads, with
the config itself: a funnel or KPI the config cannot compute is a located error of the schedule,
not a failure at 7 in the morning. :mod:`journeylib.report.schedule.alerts` runs it.

Examples
--------
>>> from journeylib.report.schedule import schedule_from_dict
>>> job = {"name": "payments", "kind": "alert", "cron": "0 7 * * *",
...        "config": "data/sample/journey.yml", "grain": "day",
...        "kpi": "payment_success_rate", "recipients": ["oncall@example.com"]}
>>> schedule_from_dict({"jobs": [job]}).jobs[0].kpi  # doctest: +SKIP
('payment_success_rate',)
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from journeylib.periods import Grain
from journeylib.report.schedule._job_fields import JobFields

if TYPE_CHECKING:
    from journeylib.config import JourneyConfig

__all__ = ["DEFAULT_LOOKBACK", "AlertJob"]

#: Periods before a slot in which an incident must have started to be watched, per grain
#: (about four weeks): an incident that began earlier is no longer news, and a job first
#: enabled does not mail the whole history.
DEFAULT_LOOKBACK: dict[Grain, int] = {"day": 28, "week": 6, "month": 3}


class AlertJob(JobFields):
    """Incident alerts: a journey config's funnel (and rate KPIs) watched at a grain."""

    kind: Literal["alert"]
    config: Path
    funnel: str | list[str] | None = None
    grain: Grain
    kpi: tuple[str, ...] = ()
    by: tuple[str, ...] | None = None
    baseline: int = Field(default=4, ge=1, le=52)
    lookback: int | None = Field(default=None, ge=1, le=366)

    @property
    def watched_periods(self) -> int:
        """The lookback, or its default for the grain (:data:`DEFAULT_LOOKBACK`)."""
        return self.lookback or DEFAULT_LOOKBACK[self.grain]

    @property
    def target(self) -> str:
        """What the job watches, for ``schedule list``: ``funnel main, payment_success_rate``."""
        if isinstance(self.funnel, list):
            watched = [f"funnel {' → '.join(self.funnel)}"]
        else:
            watched = [f"funnel {self.funnel}"] if self.funnel else ["the first funnel"]
        return ", ".join([*watched, *self.kpi]) + f" per {self.grain}"

    @field_validator("recipients")
    @classmethod
    def _needs_recipients(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if not value:
            raise PydanticCustomError(
                "recipients", "an alert job mails its incidents: list at least one recipient"
            )
        return value

    @field_validator("config", mode="before")
    @classmethod
    def _resolve_config(cls, value: Any, info: ValidationInfo) -> Any:
        base = (info.context or {}).get("base_dir")
        if isinstance(value, str | Path) and base is not None and not Path(value).is_absolute():
            return Path(os.path.normpath(Path(base) / value))
        return value

    @field_validator("config")
    @classmethod
    def _check_config(cls, value: Path, info: ValidationInfo) -> Path:
        from journeylib.errors import ConfigError

        try:
            journey_config(value)
        except ConfigError as exc:
            reason = "; ".join(exc.problems)
            raise PydanticCustomError(
                "alert_config",
                "{job}journey config {path}: {reason}",
                {"job": _job(info), "path": str(value), "reason": reason},
            ) from None
        return value

    @field_validator("funnel")
    @classmethod
    def _check_funnel(cls, value: Any, info: ValidationInfo) -> Any:
        config = _config_of(info)
        if isinstance(value, list):
            steps = [step for step in value if isinstance(step, str) and step.strip()]
            if len(steps) < 2 or len(steps) != len(value):
                raise PydanticCustomError(
                    "funnel", "expected the name of a funnel or a list of at least 2 steps"
                )
            return [step.strip() for step in value]
        if value is not None and config is not None and value not in config.funnels:
            known = ", ".join(config.funnels) or "(none)"
            raise PydanticCustomError(
                "funnel",
                "{job}no funnel '{value}' in the journey config; its funnels: {known}",
                {"job": _job(info), "value": value, "known": known},
            )
        return value

    @field_validator("kpi", mode="before")
    @classmethod
    def _split_kpis(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value

    @field_validator("kpi")
    @classmethod
    def _check_kpis(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        from journeylib.errors import JourneyError
        from journeylib.kpis import check_kpi_names, get_kpi

        config = _config_of(info)
        if config is None:
            return value
        try:
            check_kpi_names(list(value), config)
        except JourneyError as exc:
            raise PydanticCustomError(
                "kpi", "{job}{reason}", {"job": _job(info), "reason": " ".join(str(exc).split())}
            ) from None
        for name in value:
            kpi = get_kpi(name)
            if kpi.kind != "rate" or kpi.direction != "higher":
                raise PydanticCustomError(
                    "kpi",
                    "{job}alerts watch rate KPIs where higher is better (a fall is the "
                    "incident); {name} is a {kind} where {direction} is better",
                    {"job": _job(info), "name": name, "kind": kpi.kind, "direction": kpi.direction},
                )
            missing = [role for role in kpi.roles if role not in config.roles]
            if missing:
                raise PydanticCustomError(
                    "kpi",
                    "{job}{name} needs the role(s) {roles}, which the journey config does not map",
                    {"job": _job(info), "name": name, "roles": ", ".join(missing)},
                )
        return value

    @field_validator("by", mode="before")
    @classmethod
    def _split_by(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value

    @field_validator("by")
    @classmethod
    def _check_by(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and any(not name.strip() for name in value):
            raise PydanticCustomError("by", "expected column names, got an empty one")
        return value

    @model_validator(mode="after")
    def _watches_something(self) -> AlertJob:
        config = journey_config(self.config)
        if self.funnel is None and not config.funnels and not self.kpi:
            raise PydanticCustomError(
                "alert_job",
                "job '{job}': the journey config {path} defines no funnel: give 'funnel' "
                "(a list of steps) or 'kpi' (rate KPIs to watch)",
                {"job": self.name, "path": str(self.config)},
            )
        return self


def journey_config(path: Path) -> JourneyConfig:
    """The journey config at ``path``, loaded once per version of the file."""
    try:
        stat = path.stat()
    except OSError:
        stat = None
    key = (str(path), stat.st_mtime_ns if stat else 0, stat.st_size if stat else 0)
    return _load_config(key)


@functools.lru_cache(maxsize=16)
def _load_config(key: tuple[str, int, int]) -> JourneyConfig:
    from journeylib.config import load_config

    return load_config(key[0])


def _config_of(info: ValidationInfo) -> JourneyConfig | None:
    """The job's journey config when it validated (None when it did not: said already)."""
    path = info.data.get("config")
    return journey_config(path) if isinstance(path, Path) else None


def _job(info: ValidationInfo) -> str:
    name = info.data.get("name")
    return f"job '{name}': " if name else ""

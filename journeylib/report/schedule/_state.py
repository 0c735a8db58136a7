"""The schedule's state file: what each job has done, written atomically, read strictly.

The state file (``.schedule-state.json`` beside the schedule) holds, per job, the cursor of
handled slots, the last slot's result and the attempts at a slot being retried. It is always
replaced whole (temporary file, fsync, ``os.replace``); ``<state>.lock`` beside it is held by
the tick that runs. Version 2 added ``attempts``, ``attempt_slot``, ``attempt_error`` and
``warnings``; version 1 files are read with their defaults.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from journeylib.data.atomic import atomic_path
from journeylib.errors import ScheduleError

__all__ = ["STATE_VERSION", "JobState", "one_line", "read_state", "tick_lock", "write_state"]

#: The version of the state file written here; this one and older are read.
STATE_VERSION = 2


@dataclass(frozen=True)
class JobState:
    """What the state file knows of one job.

    ``done_until`` is the cursor: every slot up to it is handled (run, skipped or dropped).
    ``last_slot`` and the fields after it describe the last slot that ran; ``ran_at`` is the
    clock of the tick that ran it; ``warnings`` are what that slot's tick said on stderr (an
    alert that could not be sent, a delivery cut off earlier). ``attempt_slot``, ``attempts``
    and ``attempt_error`` follow the slot being retried: attempts started (recorded before each
    run), and the error of the last one when it raised (None when it was killed).
    """

    done_until: datetime
    last_slot: datetime | None = None
    result: Literal["ok", "failed"] | None = None
    ran_at: datetime | None = None
    message: str | None = None
    report: str | None = None
    skipped: tuple[datetime, ...] = ()
    warnings: tuple[str, ...] = ()
    attempt_slot: datetime | None = None
    attempts: int = 0
    attempt_error: str | None = None


def read_state(state_path: str | os.PathLike[str]) -> dict[str, JobState]:
    """The state of every job by name (empty when the state file does not exist yet).

    Raises
    ------
    ScheduleError
        When the file is not a state file, or one written by a newer journeylib.
    """
    path = Path(state_path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        version = raw.get("version", 1)
        if not isinstance(version, int) or version > STATE_VERSION:
            raise ScheduleError(
                str(path),
                [
                    f"the state file has version {version!r}; this journeylib reads versions "
                    f"1-{STATE_VERSION} (written by a newer journeylib? upgrade it)"
                ],
            )
        states = {}
        for name, entry in raw["jobs"].items():
            try:
                states[name] = _job_state(entry)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ValueError(f"job '{name}': {one_line(exc)}") from None
        return states
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        reason = one_line(exc if not isinstance(exc, KeyError) else f"no key {exc}")
        raise ScheduleError(
            str(path),
            [f"the state file cannot be read ({reason}); fix or delete it (jobs restart from now)"],
        ) from None


def _job_state(entry: dict[str, Any]) -> JobState:
    if "done_until" not in entry:
        raise ValueError("no 'done_until'")
    state = JobState(
        done_until=_moment(entry, "done_until"),  # type: ignore[arg-type]
        last_slot=_moment(entry, "last_slot"),
        result=entry.get("result"),
        ran_at=_moment(entry, "ran_at"),
        message=entry.get("message"),
        report=entry.get("report"),
        skipped=tuple(_moment({"skipped": s}, "skipped") for s in entry.get("skipped", [])),  # type: ignore[misc]
        warnings=tuple(str(w) for w in entry.get("warnings", [])),
        attempt_slot=_moment(entry, "attempt_slot"),
        attempts=int(entry.get("attempts", 0)),
        attempt_error=entry.get("attempt_error"),
    )
    if state.result not in (None, "ok", "failed"):
        raise ValueError(f"result {state.result!r} is not ok or failed")
    return state


def _moment(entry: dict[str, Any], key: str) -> datetime | None:
    """An aware datetime from the state, or None; the error names the key and the value."""
    text = entry.get(key)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"{key} {text!r} is not an ISO date-time") from None
    if moment.utcoffset() is None:
        raise ValueError(f"{key} {text!r} has no UTC offset")
    return moment


def write_state(state_path: Path, states: dict[str, JobState]) -> None:
    def text(moment: datetime | None) -> str | None:
        return None if moment is None else moment.isoformat()

    payload = {
        "version": STATE_VERSION,
        "jobs": {
            name: {
                "done_until": text(state.done_until),
                "last_slot": text(state.last_slot),
                "result": state.result,
                "ran_at": text(state.ran_at),
                "message": state.message,
                "report": state.report,
                "skipped": [text(s) for s in state.skipped],
                "warnings": list(state.warnings),
                "attempt_slot": text(state.attempt_slot),
                "attempts": state.attempts,
                "attempt_error": state.attempt_error,
            }
            for name, state in sorted(states.items())
        },
    }
    with atomic_path(state_path) as partial, partial.open("w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())


@contextlib.contextmanager
def tick_lock(state_path: Path) -> Iterator[bool]:
    """Hold ``<state>.lock`` without waiting; yields whether this tick got it."""
    lock_path = state_path.with_name(state_path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def one_line(exc: BaseException, limit: int = 200) -> str:
    """An error's text on one line, cut to ``limit`` characters (``…`` marks a cut)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"

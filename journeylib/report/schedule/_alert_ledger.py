"""The alert ledger: which incident mails each alert job planned, and who got them, on disk.

An incident is known by its key (transition or KPI, segment, start). Each mail about it is a
*revision*: the first (``new``) and one ``update`` each time it grew (a later end or more users
lost). A revision is written to the ledger, with everything its mail is built from, before it
is sent; its recipients then go through the states of the delivery journal
(:mod:`journeylib.report.email._delivery`):

- no record: not sent yet (a retried tick sends it);
- ``sending``: written durably just before the content goes to the server;
- ``sent``: written durably as soon as the server answers 250 (before ``QUIT``);
- ``uncertain``: a ``sending`` found by a later tick, whose process was cut off between handing
  the content over and hearing the answer: it may have arrived, so it is not sent again, and
  the tick said so once.

So a revision reaches each recipient at most once, and exactly once unless a delivery is cut
off inside that window (which is reported). The file (``<state stem>.alerts.json`` beside the
schedule's state) is replaced atomically and durably on every change; only one tick runs at a
time (the schedule's lock), so one process writes it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from journeylib.report.email._delivery import JsonStore, RecordedLog

__all__ = [
    "LEDGER_VERSION",
    "AlertLedger",
    "Revision",
    "RevisionLog",
    "ledger_path",
]

LEDGER_VERSION = 1
Status = Literal["sending", "sent", "uncertain"]


def ledger_path(state_path: str | os.PathLike[str]) -> Path:
    """Where the alert ledger of a state file lives: ``<state stem>.alerts.json`` beside it."""
    state = Path(state_path)
    return state.with_name(f"{state.stem}.alerts.json")


@dataclass(frozen=True)
class Revision:
    """One planned mail about an incident: ``new`` or ``update``, the extent it announces
    (``end``, exclusive, and ``users_lost``), what the mail is built from, and its recipients'
    delivery states."""

    key: str
    index: int
    kind: Literal["new", "update"]
    end: date
    users_lost: int
    planned_at: str
    mail: dict[str, Any]
    recipients: dict[str, Status | None]

    @property
    def pending(self) -> tuple[str, ...]:
        """Recipients with no record: to be sent."""
        return tuple(r for r, status in self.recipients.items() if status is None)


class AlertLedger:
    """The ledger file, read once and rewritten atomically (and durably) on every change."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._jobs: dict[str, dict[str, dict[str, Any]]] = _LEDGER.read(self.path, _check_jobs)

    def keys(self, job: str) -> list[str]:
        """The incidents the job has planned mail for, in the order they were first seen."""
        return list(self._jobs.get(job, {}))

    def last(self, job: str, key: str) -> Revision | None:
        """The latest revision of an incident (None: never planned)."""
        revisions = self._jobs.get(job, {}).get(key, {}).get("revisions", [])
        return _revision(key, len(revisions) - 1, revisions[-1]) if revisions else None

    def revisions(self, job: str, key: str) -> list[Revision]:
        entries = self._jobs.get(job, {}).get(key, {}).get("revisions", [])
        return [_revision(key, index, entry) for index, entry in enumerate(entries)]

    def plan(
        self,
        job: str,
        key: str,
        *,
        kind: Literal["new", "update"],
        end: date,
        users_lost: int,
        start: date,
        planned_at: datetime,
        mail: dict[str, Any],
        recipients: tuple[str, ...],
    ) -> Revision:
        """Record a new revision (before anything is sent) and return it."""
        entry = self._jobs.setdefault(job, {}).setdefault(
            key, {"start": start.isoformat(), "revisions": []}
        )
        entry["revisions"].append(
            {
                "kind": kind,
                "end": end.isoformat(),
                "users_lost": users_lost,
                "planned_at": planned_at.astimezone(UTC).isoformat(),
                "mail": mail,
                "recipients": {recipient: None for recipient in recipients},
            }
        )
        self._write()
        return _revision(key, len(entry["revisions"]) - 1, entry["revisions"][-1])

    def log(self, job: str, revision: Revision) -> RevisionLog:
        """The delivery log of one revision, for the delivery of its mail."""
        return RevisionLog(self, job, revision.key, revision.index)

    def cut_off(self, job: str) -> list[tuple[Revision, tuple[str, ...]]]:
        """Mark every ``sending`` of the job ``uncertain`` (its process was cut off) and
        return them, to be said once."""
        found = []
        for key, entry in self._jobs.get(job, {}).items():
            for index, revision in enumerate(entry["revisions"]):
                records = revision["recipients"].items()
                cut = tuple(r for r, record in records if _status(record) == "sending")
                if cut:
                    for recipient in cut:
                        revision["recipients"][recipient]["status"] = "uncertain"
                    found.append((_revision(key, index, revision), cut))
        if found:
            self._write()
        return found

    def prune(self, job: str, *, started_before: date) -> None:
        """Forget the incidents that started before ``started_before`` and have nothing left
        to send: they are no longer watched, so nothing will mail about them again."""
        entries = self._jobs.get(job, {})
        stale = [
            key
            for key, entry in entries.items()
            if date.fromisoformat(entry["start"]) < started_before
            and not any(_revision(key, i, r).pending for i, r in enumerate(entry["revisions"]))
        ]
        for key in stale:
            del entries[key]
        if stale:
            self._write()

    def record(
        self, job: str, key: str, index: int, recipients: tuple[str, ...], status: Status | None
    ) -> None:
        """Set (or, with None, clear) the delivery state of recipients, and write the file."""
        revision = self._jobs[job][key]["revisions"][index]
        at = datetime.now(UTC).isoformat(timespec="seconds")
        for recipient in recipients:
            revision["recipients"][recipient] = (
                None if status is None else {"status": status, "at": at}
            )
        self._write()

    def status(self, job: str, key: str, index: int, recipient: str) -> Status | None:
        record = self._jobs[job][key]["revisions"][index]["recipients"].get(recipient)
        return _status(record)

    def _write(self) -> None:
        _LEDGER.write(self.path, self._jobs)


@dataclass(frozen=True)
class RevisionLog(RecordedLog):
    """The delivery log of one revision: what :func:`~._delivery.deliver` reads and writes."""

    ledger: AlertLedger
    job: str
    key: str
    index: int

    def status(self, recipient: str) -> Literal["sending", "sent"] | None:
        """``sent``, ``sending`` (cut off, maybe delivered: not sent again) or None."""
        status = self.ledger.status(self.job, self.key, self.index, recipient)
        return "sending" if status == "uncertain" else status

    def _record(self, recipients: tuple[str, ...], status: Status | None) -> None:
        self.ledger.record(self.job, self.key, self.index, recipients, status)


def _status(record: Any) -> Status | None:
    return None if record is None else record["status"]


def _revision(key: str, index: int, entry: dict[str, Any]) -> Revision:
    return Revision(
        key=key,
        index=index,
        kind=entry["kind"],
        end=date.fromisoformat(entry["end"]),
        users_lost=int(entry["users_lost"]),
        planned_at=entry["planned_at"],
        mail=entry["mail"],
        recipients={r: _status(record) for r, record in entry["recipients"].items()},
    )


_LEDGER = JsonStore(
    what="the alert ledger",
    field="jobs",
    version=LEDGER_VERSION,
    advice="it records which incidents were mailed to whom: restore it, or delete it to accept "
    "that current incidents are mailed again",
)


def _check_jobs(jobs: dict[str, Any]) -> None:
    where = "jobs"
    try:
        for name, entries in jobs.items():
            where = f"job {name!r}"
            for key, entry in entries.items():
                date.fromisoformat(entry["start"])
                for index, revision in enumerate(entry["revisions"]):
                    _revision(key, index, revision)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{where}: {exc!r}") from None

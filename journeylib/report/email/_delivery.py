"""The delivery journal: which scheduled slot's report and alert reached whom, kept on disk.

A slot that is retried (its tick crashed or was killed) runs its notebook again but must not
mail anyone twice. The journal, a JSON file beside the schedule's state, records per slot,
kind (``report`` or ``alert``) and recipient:

- ``sending``: written (durably) once the server took the recipient's ``RCPT`` and just before
  the message content goes out;
- ``sent``: written (durably) as soon as the server answers 250 to the content, before
  ``QUIT``; a refused content removes the ``sending`` record again.

A retried slot sends only to recipients with no record. A ``sent`` recipient is skipped. A
``sending`` recipient without ``sent`` is one whose delivery was cut off (process killed, power
lost, connection broken) between handing over the content and recording the server's answer:
the server may well have delivered it, so it is *not* sent again but reported as uncertain.
The guarantee is therefore at most once per slot, kind and recipient, always; exactly once
unless a delivery is cut off inside that window (milliseconds: the content transfer and one
reply), and then the tick says so.

Only one tick runs at a time (the schedule's lock), so one process writes the journal.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal, Protocol

from journeylib.data.atomic import atomic_write_text
from journeylib.errors import JourneyError
from journeylib.report.email._errors import MailSettingsError
from journeylib.report.email._send import DeliveryLog, message_recipients, send_message
from journeylib.report.email._smtp import SmtpSettings

__all__ = [
    "JOURNAL_VERSION",
    "Delivered",
    "DeliveryJournal",
    "DeliveryJournalError",
    "JournalLog",
    "JsonStore",
    "KindLog",
    "RecordedLog",
    "SlotDeliveries",
    "deliver",
    "journal_path",
    "mail_error_text",
]

JOURNAL_VERSION = 1
Kind = Literal["report", "alert"]
Status = Literal["sending", "sent"]


class DeliveryJournalError(JourneyError):
    """The delivery journal cannot be read or written."""


def journal_path(state_path: str | os.PathLike[str]) -> Path:
    """Where the journal of a state file lives: ``<state stem>.deliveries.json`` beside it."""
    state = Path(state_path)
    return state.with_name(f"{state.stem}.deliveries.json")


class DeliveryJournal:
    """The journal file, read once and rewritten atomically (and durably) on every change."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._slots: dict[str, dict[str, dict[str, dict[str, str]]]] = _JOURNAL.read(
            self.path, _check_slots
        )

    def for_slot(self, job: str, slot: datetime) -> SlotDeliveries:
        """The deliveries of one job's slot."""
        return SlotDeliveries(self, job, slot)

    def status(self, job: str, slot: datetime, kind: Kind, recipient: str) -> Status | None:
        """What the journal knows of one delivery (None: never tried)."""
        entry = self._slots.get(_key(job, slot), {}).get(kind, {}).get(recipient)
        return None if entry is None else entry["status"]  # type: ignore[return-value]

    def record(
        self,
        job: str,
        slot: datetime,
        kind: Kind,
        recipients: tuple[str, ...],
        status: Status | None,
    ) -> None:
        """Set (or, with None, remove) the status of recipients, and write the file."""
        if not recipients:
            return
        key = _key(job, slot)
        deliveries = self._slots.setdefault(key, {}).setdefault(kind, {})
        at = datetime.now(UTC).isoformat(timespec="seconds")
        for recipient in recipients:
            if status is None:
                deliveries.pop(recipient, None)
            else:
                deliveries[recipient] = {"status": status, "at": at}
        if not deliveries:
            del self._slots[key][kind]
        if not self._slots[key]:
            del self._slots[key]
        self._write()

    def prune(self, keep: Callable[[str, datetime], bool]) -> None:
        """Drop the entries of slots ``keep(job, slot)`` rejects (slots done for good)."""
        kept = {key: value for key, value in self._slots.items() if keep(*_parse_key(key))}
        if kept != self._slots:
            self._slots = kept
            self._write()

    def _write(self) -> None:
        _JOURNAL.write(self.path, self._slots)


@dataclass(frozen=True)
class SlotDeliveries:
    """The journal seen from one job's slot; hands out a :class:`KindLog` per kind."""

    journal: DeliveryJournal
    job: str
    slot: datetime

    def log(self, kind: Kind) -> KindLog:
        """The log of the report (``"report"``) or the owner alert (``"alert"``)."""
        return KindLog(self, kind)


class RecordedLog:
    """The three steps of a :class:`~._send.DeliveryLog`, each written through ``_record``
    (set, or with None remove, the status of recipients) of the journal that holds them."""

    def sending(self, recipients: tuple[str, ...]) -> None:
        """Record the intent, just before the content goes out."""
        self._record(recipients, "sending")

    def accepted(self, recipients: tuple[str, ...]) -> None:
        """Record the delivery, as soon as the server took the content."""
        self._record(recipients, "sent")

    def not_sent(self, recipients: tuple[str, ...]) -> None:
        """Remove the intent: the server refused the content, or it never left."""
        self._record(recipients, None)

    def _record(self, recipients: tuple[str, ...], status: Status | None) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class KindLog(RecordedLog):
    """The journal of one message of a slot; a :class:`~._mail_send.DeliveryLog`."""

    slot: SlotDeliveries
    kind: Kind

    def status(self, recipient: str) -> Status | None:
        """``sent``, ``sending`` (cut off: maybe delivered) or None (never tried)."""
        return self.slot.journal.status(self.slot.job, self.slot.slot, self.kind, recipient)

    def _record(self, recipients: tuple[str, ...], status: Status | None) -> None:
        self.slot.journal.record(self.slot.job, self.slot.slot, self.kind, recipients, status)


@dataclass(frozen=True)
class Delivered:
    """What :func:`deliver` did for each recipient of a message.

    Attributes
    ----------
    sent
        Accepted by the server now.
    already
        Recorded as sent by an earlier attempt of the slot: not sent again.
    uncertain
        An earlier attempt was cut off after handing the content over: maybe delivered, not
        sent again.
    """

    sent: tuple[str, ...] = ()
    already: tuple[str, ...] = ()
    uncertain: tuple[str, ...] = ()

    @property
    def reached(self) -> tuple[str, ...]:
        """Who has the message for sure: sent now or by an earlier attempt."""
        return self.sent + self.already

    def uncertain_note(self, what: str) -> str | None:
        """One line about the uncertain recipients, or None when there are none."""
        if not self.uncertain:
            return None
        return (
            f"an earlier attempt was cut off while the server took the {what} for "
            f"{', '.join(self.uncertain)}: it may have arrived, so it was not sent again "
            "(see the mail server's log)"
        )


class JournalLog(DeliveryLog, Protocol):
    """A delivery log that also knows what an earlier attempt did: a slot's :class:`KindLog`,
    or an incident mail's log in the alert ledger."""

    def status(self, recipient: str) -> Status | None:
        """``sent``, ``sending`` (cut off: maybe delivered) or None (never tried)."""


def deliver(message: EmailMessage, settings: SmtpSettings, log: JournalLog | None) -> Delivered:
    """Send ``message`` to those of its recipients the journal has no record of.

    Without a log (a run outside the schedule) every recipient is sent to.

    Raises
    ------
    EmailDeliveryError
        When the server does not take the message (see :func:`~._mail_send.send_message`).
    DeliveryJournalError
        When the journal cannot be written.
    """
    recipients = message_recipients(message)
    if log is None:
        report = send_message(message, settings)
        return Delivered(sent=report.accepted)
    status = {recipient: log.status(recipient) for recipient in recipients}
    pending = [r for r in recipients if status[r] is None]
    already = tuple(r for r in recipients if status[r] == "sent")
    uncertain = tuple(r for r in recipients if status[r] == "sending")
    if not pending:
        return Delivered(already=already, uncertain=uncertain)
    report = send_message(message, settings, recipients=pending, delivery_log=log)
    return Delivered(sent=report.accepted, already=already, uncertain=uncertain)


def mail_error_text(exc: JourneyError) -> str:
    """A mail error on one line (bad mail settings list their variables).

    Examples
    --------
    >>> from journeylib.report.email import MailSettingsError
    >>> mail_error_text(MailSettingsError(["JOURNEY_SMTP_HOST is required"]))
    'mail settings: JOURNEY_SMTP_HOST is required'
    """
    if isinstance(exc, MailSettingsError):
        return f"mail settings: {exc.summary}"
    return " ".join(str(exc).split())


def _key(job: str, slot: datetime) -> str:
    return f"{job} {slot.astimezone(UTC).isoformat()}"


def _parse_key(key: str) -> tuple[str, datetime]:
    job, _, moment = key.rpartition(" ")
    return job, datetime.fromisoformat(moment)


@dataclass(frozen=True)
class JsonStore:
    """A versioned JSON file of the schedule's state: ``{"version": N, <field>: {...}}``.

    The delivery journal and the alert ledger are two of them; both are read whole, checked,
    and rewritten atomically (and durably) on every change.
    """

    #: how errors name the file ("the delivery journal")
    what: str
    #: the top-level key holding the records
    field: str
    version: int
    #: what the file is for and what deleting it costs, told when it cannot be read
    advice: str

    def read(self, path: Path, check: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """The records of ``path`` ({} when there is no file); ``check`` raises ValueError on
        a record it cannot read.

        Raises
        ------
        DeliveryJournalError
            When the file cannot be read, is not such a store, or is of a newer version.
        """
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise DeliveryJournalError(self.unreadable(path, exc)) from None
        if not isinstance(raw, dict) or not isinstance(raw.get(self.field), dict):
            reason = f"expected an object with {self.field!r}"
            raise DeliveryJournalError(self.unreadable(path, reason))
        version = raw.get("version")
        if not isinstance(version, int) or version > self.version:
            raise DeliveryJournalError(
                f"{self.what} {path} has version {version!r}; this journeylib reads "
                f"version {self.version} (written by a newer journeylib? upgrade it)"
            )
        try:
            check(raw[self.field])
        except ValueError as exc:
            raise DeliveryJournalError(self.unreadable(path, exc)) from None
        return raw[self.field]

    def write(self, path: Path, records: dict[str, Any]) -> None:
        """Replace ``path`` with ``records``, atomically and durably."""
        payload = {"version": self.version, self.field: records}
        try:
            atomic_write_text(path, json.dumps(payload, indent=2) + "\n", durable=True)
        except OSError as exc:
            raise DeliveryJournalError(f"{self.what} {path} cannot be written: {exc}") from None

    def unreadable(self, path: Path, reason: object) -> str:
        return f"{self.what} {path} cannot be read ({reason}); {self.advice}"


_JOURNAL = JsonStore(
    what="the delivery journal",
    field="slots",
    version=JOURNAL_VERSION,
    advice="it records who got each scheduled email: restore it, or delete it to accept that a "
    "retried slot may mail again",
)


def _check_slots(slots: dict[str, Any]) -> None:
    for key in slots:
        _parse_key(key)

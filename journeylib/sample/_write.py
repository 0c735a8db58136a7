"""Writing the sample into its folder: all or nothing, and never a file that is not the sample's.

A sample is written into a staging folder first. Into a new or empty folder it is then moved
with one rename: the folder holds the whole sample or nothing. An occupied folder is refused
unless ``force``; then only the sample's own files are replaced (:data:`OWN_FILES` and the
partitions ``events/month=YYYY-MM/part-0.parquet``, whose emptied month folders go too), every
other file is kept, and ``journey.yml`` is removed first and written last, so that an
interrupted run never leaves a config that points at half the data. A staging folder left by a
killed run (its name holds the process id) is removed by the next run.
"""

from __future__ import annotations

import glob
import os
import re
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from journeylib.errors import JourneyError

__all__ = ["CONFIG_NAME", "OWN_FILES", "check_sample_folder", "write_sample_folder"]

CONFIG_NAME = "journey.yml"
#: the files of a sample besides its event partitions; the config is listed (and moved) last
OWN_FILES = ("spend.csv", "surveys.parquet", "tickets.csv", "STORIES.md", "stories.json")
EVENTS = "events"
_MONTH = re.compile(r"^month=\d{4}-\d{2}$")
_PART = "part-0.parquet"
_STAGING = re.compile(r"^\.(?:.+\.)?sample-(\d+)-[0-9a-f]+$")


def write_sample_folder(
    target: Path, write: Callable[[Path], None], *, force: bool
) -> tuple[str, ...]:
    """Write a sample into ``target`` through a staging folder; returns the files kept.

    Parameters
    ----------
    target
        The sample's folder: new, empty, or (with ``force``) one holding other files.
    write
        Writes every file of the sample, ``journey.yml`` included, into the folder it is given.
    force
        Replace the sample's own files in an occupied folder (other files are kept).

    Returns
    -------
    tuple of str
        The files of ``target`` that are not the sample's and were left as they were
        (relative paths; empty for a new or empty folder).

    Raises
    ------
    JourneyError
        When ``target`` is a file, or an occupied folder without ``force``.
    """
    occupied = check_sample_folder(target, force=force)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not occupied:
        staging = _staging(target.parent, f".{target.name}.")
        try:
            write(staging)
            os.replace(staging, target)  # a new name, or onto an empty folder: one rename
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return ()
    staging = _staging(target, ".")
    try:
        write(staging)
        return _replace_own_files(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def check_sample_folder(target: Path, *, force: bool) -> bool:
    """Whether ``target`` is occupied; raises when it cannot take a sample.

    Staging folders of killed runs are removed first (they do not make a folder occupied).

    Raises
    ------
    JourneyError
        When ``target`` is a file, or an occupied folder without ``force``.
    """
    if target.exists() and not target.is_dir():
        raise JourneyError(
            f"{target} is an existing file, not a folder: give a folder to write the sample into"
        )
    _remove_dead_staging(target.parent, prefix=f".{target.name}.")
    _remove_dead_staging(target, prefix=".")
    occupied = target.is_dir() and any(target.iterdir())
    if occupied and not force:
        raise JourneyError(
            f"{target} is not empty (it holds {_listing(target)}); write the sample into a new "
            "or empty folder, or add --force to replace only the sample's own files "
            f"({CONFIG_NAME}, {', '.join(OWN_FILES)}, {EVENTS}/month=*/{_PART}) and keep the rest"
        )
    return occupied


def _replace_own_files(staging: Path, target: Path) -> tuple[str, ...]:
    config = target / CONFIG_NAME
    if config.is_dir():
        raise JourneyError(f"{config} is a folder; the sample's config would replace it")
    config.unlink(missing_ok=True)  # first: no config points at data being replaced
    for name in OWN_FILES:
        destination = target / name
        if destination.is_dir():
            raise JourneyError(f"{destination} is a folder; the sample's {name} would replace it")
        os.replace(staging / name, destination)
    events = target / EVENTS
    if events.exists() and not events.is_dir():
        raise JourneyError(f"{events} is a file; the sample writes its events into that folder")
    new_parts = {p.relative_to(staging) for p in (staging / EVENTS).glob(f"month=*/{_PART}")}
    for old in _own_partitions(events):
        if old.relative_to(target) not in new_parts:
            old.unlink()
            if not any(old.parent.iterdir()):
                old.parent.rmdir()
    for part in sorted(new_parts):
        (target / part).parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / part, target / part)
    os.replace(staging / CONFIG_NAME, config)  # last: the config appears with complete data
    own = {CONFIG_NAME, *OWN_FILES, *(str(p) for p in new_parts)}
    kept = []
    for path in sorted(target.rglob("*")):
        relative = path.relative_to(target)
        if path.is_file() and str(relative) not in own and not _STAGING.match(relative.parts[0]):
            kept.append(str(relative))
    return tuple(kept)


def _own_partitions(events: Path) -> list[Path]:
    if not events.is_dir():
        return []
    return [
        folder / _PART
        for folder in sorted(events.iterdir())
        if folder.is_dir() and _MONTH.match(folder.name) and (folder / _PART).is_file()
    ]


def _staging(parent: Path, prefix: str) -> Path:
    folder = parent / f"{prefix}sample-{os.getpid()}-{secrets.token_hex(4)}"
    folder.mkdir()
    return folder


def _remove_dead_staging(parent: Path, *, prefix: str) -> None:
    """Remove staging folders named ``<prefix>sample-<pid>-<hex>`` whose process is gone."""
    if not parent.is_dir():
        return
    for folder in parent.glob(f"{glob.escape(prefix)}sample-*"):
        found = _STAGING.match(folder.name)
        if found and folder.is_dir() and not _alive(int(found.group(1))):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _listing(folder: Path, shown: int = 3) -> str:
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more

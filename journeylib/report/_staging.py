"""Staging folders of report runs: removing a run's own, and those of runs that died.

A run executes in ``reports/<name>/.run-<stamp>-<pid>/`` and publishes it with a rename; while it
publishes, the previous report is set aside as ``.old-<period>-<pid>``. A run killed outright
(SIGKILL, power loss) leaves these behind: :func:`clean_stale` removes the staging folders of
processes that are gone (never a live one's) and puts back a report a kill set aside.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

__all__ = ["clean_stale", "discard", "pid_alive"]

#: Staging folders of runs (``.run-<stamp>-<pid>``) and reports set aside while publishing.
_STAGING = re.compile(r"^\.run-\d{8}T\d{6}-(?P<pid>\d+)$")
_SET_ASIDE = re.compile(r"^\.old-(?P<period>.+)-(?P<pid>\d+)$")


def pid_alive(pid: int) -> bool:
    """True while a process of that id exists (this user's or not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def clean_stale(folder: Path) -> None:
    """Remove staging folders of runs whose process is gone; put back reports set aside."""
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        staging = _STAGING.match(entry.name)
        aside = _SET_ASIDE.match(entry.name)
        match = staging or aside
        if not entry.is_dir() or match is None or pid_alive(int(match["pid"])):
            continue
        if staging:
            shutil.rmtree(entry, ignore_errors=True)
            continue
        target = folder / aside["period"]
        if target.exists():
            shutil.rmtree(entry, ignore_errors=True)
        else:  # killed between the two renames of _publish: the previous report comes back
            os.replace(entry, target)


def discard(staging: Path, created: Sequence[Path]) -> None:
    """Remove a run's staging folder, and the folders it created when they are left empty."""
    shutil.rmtree(staging, ignore_errors=True)
    for folder in created:
        with contextlib.suppress(OSError):
            folder.rmdir()

"""The kernel of a report run: IPC transport in a private folder, a quiet shutdown, signals.

- **IPC, not TCP.** The kernel's five channels are Unix sockets in a folder only the user can
  open (``tempfile.mkdtemp``, mode 0700) with the connection file beside them, removed after the
  run; no port is opened, and ipykernel has no reason to warn that TCP carries code in plain
  text. A run killed outright leaves its folder; the next run removes those of dead processes.
- **Shutdown without SIGINT.** jupyter_client interrupts a kernel (SIGINT) before asking it to
  shut down; a kernel caught between two messages then logs ``KeyboardInterrupt caught in
  kernel``. An idle kernel at the end of a run needs no interrupt: it is asked to shut down.
- **Signals.** While a run executes, SIGINT raises ``KeyboardInterrupt`` and SIGTERM
  :class:`Terminated` in the main thread, so the run unwinds through the same ``finally``
  blocks; a kernel stopped in the middle of a cell is killed at once (asking a busy kernel to
  shut down makes it log a traceback of the reply it can no longer send).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets.config import Config

from journeylib.report._staging import pid_alive

__all__ = ["KERNEL_NAME", "ReportKernelManager", "Terminated", "report_kernel", "require_kernel"]

#: The project's Jupyter kernel: reports, the dashboard and JupyterLab all run notebooks in it.
#: ``make venv`` registers it for the project's environment.
KERNEL_NAME = "journeylib"
#: How to register it by hand (an environment built without ``make venv``).
KERNEL_INSTALL = (
    f"python -m ipykernel install --sys-prefix --name {KERNEL_NAME} "
    f'--display-name "Python (journeylib)"'
)

_PREFIX = "journey-kernel-"
_RUNTIME = re.compile(rf"^{_PREFIX}(?P<pid>\d+)-")


def require_kernel(name: str = KERNEL_NAME) -> None:
    """Raise a :class:`~journeylib.errors.JourneyError` naming the fix when ``name`` is missing.

    Examples
    --------
    >>> require_kernel("no-such-kernel")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    journeylib.errors.JourneyError: the Jupyter kernel 'no-such-kernel' is not installed ...
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    from journeylib.errors import JourneyError

    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        how = (
            KERNEL_INSTALL if name == KERNEL_NAME else f"python -m ipykernel install --name {name}"
        )
        raise JourneyError(
            f"the Jupyter kernel {name!r} is not installed for this environment; "
            f"install it with: {how} (make venv does this)"
        ) from None


class Terminated(BaseException):
    """The process received SIGTERM (a ``BaseException``: nothing catches it by accident)."""

    signal_number = signal.SIGTERM


@dataclass
class _RunState:
    """Set by the signal handlers: the run is being stopped."""

    stopping: bool = False


class ReportKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` that never interrupts a kernel it shuts down.

    ``run_state`` (set by :func:`report_kernel`) says whether the run is being stopped by a
    signal: the kernel is then killed rather than asked to shut down.
    """

    run_state: _RunState | None = None

    async def _async_interrupt_kernel(self) -> None:
        if self.shutting_down:
            return
        await super()._async_interrupt_kernel()

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:  # type: ignore[override]
        # AsyncKernelManager binds shutdown_kernel to KernelManager's coroutine function
        # itself, so this name is the one to override
        stopping = self.run_state is not None and self.run_state.stopping
        await self._async_shutdown_kernel(now=now or stopping, restart=restart)


def _remove_stale_runtimes() -> None:
    """Kernel folders of runs whose process is gone (killed before it could remove them)."""
    for entry in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*"):
        match = _RUNTIME.match(entry.name)
        if match and entry.is_dir() and not pid_alive(int(match["pid"])):
            shutil.rmtree(entry, ignore_errors=True)


@contextlib.contextmanager
def _signals_raise(state: _RunState) -> Iterator[None]:
    def stop(signum: int, frame: Any) -> None:
        state.stopping = True
        if signum == signal.SIGTERM:
            raise Terminated()
        raise KeyboardInterrupt()

    try:
        previous = {
            number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)
        }
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextlib.contextmanager
def report_kernel() -> Iterator[dict[str, Any]]:
    """Papermill engine options for one run's kernel (see the module docstring).

    Examples
    --------
    >>> with report_kernel() as options:  # doctest: +SKIP
    ...     papermill.execute_notebook("in.ipynb", "out.ipynb", **options)
    """
    _remove_stale_runtimes()
    state = _RunState()
    runtime = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-"))
    config = Config()
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = str(runtime / "kernel")
    config.KernelManager.connection_file = str(runtime / "kernel.json")
    manager = type("RunKernelManager", (ReportKernelManager,), {"run_state": state})
    try:
        with _signals_raise(state):
            yield {"kernel_manager_class": manager, "config": config}
    finally:
        shutil.rmtree(runtime, ignore_errors=True)

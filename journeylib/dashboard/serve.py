"""Serve the dashboard notebook with Voilà: safe defaults, preheated kernels, culling.

- Binds 127.0.0.1 unless told otherwise; another host needs a token (``--token``, or one is
  generated and printed) unless ``--no-token`` says explicitly to serve without one.
- Voilà's own protections stay on: the browser may only send widget messages (no code is
  executed from it), tracebacks are not shown, only the one notebook is served.
- Kernels are preheated (a pool of ``pool_size``, each having loaded the data and drawn the
  default view before a visitor arrives); kernels with no page connected (a closed tab) are
  culled after ``cull_idle_timeout`` seconds. (Voilà's page also asks for its kernel to stop
  when it closes, but this Voilà refuses that request for want of an XSRF token, so the
  culler is what frees a closed tab's kernel.)
- The page is drawn with journeylib's template, which fetches nothing from other hosts.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from journeylib.dashboard import SETTINGS_ENV
from journeylib.errors import JourneyError

__all__ = ["NOTEBOOK", "TEMPLATE", "ServeOptions", "check_port", "serve", "voila_argv"]

#: The dashboard notebook of the project.
NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "journey_dashboard.ipynb"
#: The folder holding ``voila/templates/journeylib`` (added to ``JUPYTER_PATH``).
SHARE = Path(__file__).resolve().parent / "share"
TEMPLATE = "journeylib"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: JupyterLab extensions installed for the analysts that the page must not load: nbdime's
#: needs JupyterLab's code editor, which Voilà's page does not share (a console error).
DENIED_EXTENSIONS = ("nbdime-jupyterlab",)


@dataclass(frozen=True)
class ServeOptions:
    """How to serve: address, access, kernels."""

    host: str = "127.0.0.1"
    port: int = 8866
    token: str = ""
    base_url: str = "/"
    pool_size: int = 1
    cull_idle_timeout: int = 120
    cull_interval: int = 30
    notebook: Path = NOTEBOOK
    #: print the token in the URL (a generated one); a given token is the user's to keep
    show_token: bool = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        query = f"?token={self.token}" if self.token and self.show_token else ""
        return f"http://{host}:{self.port}{self.base_url}{query}"


def check_port(host: str, port: int) -> int:
    """``port`` if it can be bound on ``host`` (0: a free port); one clear error otherwise."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise JourneyError(
                f"--host {host} --port {port}: cannot listen there ({reason}); "
                "choose another --port (0 picks a free one) or --host"
            ) from None
        return probe.getsockname()[1]


def voila_argv(options: ServeOptions) -> list[str]:
    """The Voilà command line of ``options`` (without the program name)."""
    argv = [
        str(options.notebook),
        "--no-browser",
        f"--port={options.port}",
        "--Voila.port_retries=0",
        f"--Voila.ip={options.host}",
        f"--Voila.base_url={options.base_url}",
        f"--template={TEMPLATE}",
        "--VoilaConfiguration.show_tracebacks=False",
        f"--VoilaConfiguration.preheat_kernel={options.pool_size > 0}",
        f"--MappingKernelManager.cull_idle_timeout={options.cull_idle_timeout}",
        f"--MappingKernelManager.cull_interval={options.cull_interval}",
        "--MappingKernelManager.cull_connected=False",
        "--MappingKernelManager.cull_busy=False",
        # kernels talk over Unix sockets in Voilà's private folder, not TCP
        "--KernelManager.transport=ipc",
        # JupyterLab extensions of the environment that fail in Voilà's page (console error)
        *(f"--VoilaConfiguration.extension_denylist={name}" for name in DENIED_EXTENSIONS),
    ]
    if options.pool_size > 0:
        argv += [
            f"--VoilaConfiguration.default_pool_size={options.pool_size}",
            "--VoilaKernelManager.fill_delay=0",
        ]
    argv.append(f"--Voila.token={options.token}")
    return argv


def serve(options: ServeOptions, settings: dict[str, Any]) -> int:
    """Run Voilà until interrupted; its kernels are shut down when it stops."""
    os.environ[SETTINGS_ENV] = json.dumps(settings)
    paths = [str(SHARE), *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(paths)
    print(f"Journey dashboard: {options.url}", flush=True)
    if options.token and not options.show_token:
        print("Visitors open it once with ?token=<the token> (the browser keeps a cookie).")
    print("Serving until interrupted (Ctrl-C); kernels stop with it.", flush=True)
    _app_class().launch_instance(argv=voila_argv(options))
    return 0


def _app_class() -> type:
    """Voilà whose stop also stops a kernel that was still starting when the signal came.

    Voilà refills its pool of preheated kernels after each visit; a stop during a refill
    asked the kernel manager to shut down a kernel not registered yet, and Voilà ended with a
    traceback (exit 1). Here the stop waits for such kernels and shuts them down too.
    """
    import shutil
    import time

    from jupyter_core.utils import run_sync
    from tornado.web import HTTPError
    from voila.app import Voila

    class JourneyVoila(Voila):
        def stop(self) -> None:
            shutil.rmtree(self.connection_dir, ignore_errors=True)
            for _ in range(20):
                try:
                    run_sync(self.kernel_manager.shutdown_all)()
                    return
                except HTTPError:
                    time.sleep(0.5)  # a kernel still starting: it registers in a moment
            self.log.warning("some kernels could not be stopped cleanly")

    return JourneyVoila

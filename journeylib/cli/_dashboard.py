"""``journey dashboard``: serve the Voilà dashboard of a journey (argument checks only).

Every argument is checked, and the data loaded once (which also fills the on-disk cache the
kernels read), before Voilà starts: a bad flag, config, events file or step is one line and
exit 2, with nothing served.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

from journeylib.errors import JourneyError

__all__ = ["add_dashboard_command"]

DEFAULT_CONFIG = Path("data/sample/journey.yml")
TOKEN_ENV = "JOURNEY_DASHBOARD_TOKEN"
SAMPLE_USERS, SAMPLE_SEED = 50_000, 7


def add_dashboard_command(commands: argparse._SubParsersAction) -> None:
    from journeylib.cli._analyses import add_events_option
    from journeylib.cli.parser import _bounded_int

    parser = commands.add_parser(
        "dashboard",
        help="serve the journey's Voilà dashboard in the browser",
        description=(
            "Serve the dashboard (notebooks/journey_dashboard.ipynb through Voilà) on a "
            "journey: filters, KPI cards by stage, funnel, trends, retention, channels, "
            "friction and incidents. Prints the URL and serves until interrupted (Ctrl-C or "
            "SIGTERM), then stops its kernels. Without CONFIG or --events it serves the "
            f"sample company in {DEFAULT_CONFIG.parent}/ (written first when missing)."
        ),
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "config",
        nargs="?",
        type=Path,
        help=f"the journey config (journey.yml); default {DEFAULT_CONFIG}",
    )
    add_events_option(source)
    parser.add_argument("--timezone", help="time zone of --events (UTC)")
    parser.add_argument(
        "--steps",
        metavar="A,B,C",
        help="the funnel's default steps: 2 to 8 roles or event names (default: the config's "
        "first funnel)",
    )
    parser.add_argument(
        "--window", metavar="7d", help="the funnel's default conversion window (7d)"
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (127.0.0.1: this machine only); any other address needs "
        "--token or an explicit --no-token",
    )
    parser.add_argument(
        "--port",
        type=_bounded_int(0, 65535),
        default=8866,
        help="port to listen on, 0 for a free one (8866)",
    )
    parser.add_argument(
        "--token",
        help="a secret visitors must present (?token=... once; the browser keeps a cookie); "
        "default $JOURNEY_DASHBOARD_TOKEN, which keeps it out of the process list",
    )
    parser.add_argument(
        "--no-token",
        action="store_true",
        help="serve another --host without a token (anyone who reaches the port sees the data)",
    )
    parser.add_argument(
        "--generate-token",
        action="store_true",
        help="make a random token and print it with the URL",
    )
    parser.add_argument(
        "--base-url",
        default="/",
        metavar="/PATH/",
        help="URL prefix when served behind a reverse proxy, e.g. /journey/ (/)",
    )
    parser.add_argument(
        "--pool-size",
        type=_bounded_int(0, 8),
        default=1,
        help="kernels kept preheated (data loaded, default view drawn) for the next "
        "visitors, 0 to 8 (1)",
    )
    parser.add_argument(
        "--cull-idle-timeout",
        type=_bounded_int(10, None),
        default=120,
        metavar="SECONDS",
        help="stop a kernel idle this long with no page connected (a closed tab), 10 or more "
        "(120); a page that is open is never stopped",
    )
    parser.add_argument(
        "--cull-interval",
        type=_bounded_int(1, None),
        default=30,
        metavar="SECONDS",
        help="how often idle kernels are looked for, 1 or more (30)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        metavar="DIR",
        help="where the validated tables and their cube are cached by data fingerprint, "
        "the 4 latest kept ($JOURNEY_DASHBOARD_CACHE, else ~/.cache/journeylib/dashboard)",
    )
    parser.set_defaults(handler=_run_dashboard)


def _run_dashboard(args: argparse.Namespace) -> int:
    from journeylib.dashboard.serve import NOTEBOOK, ServeOptions, check_port, serve
    from journeylib.periods import parse_window

    local = args.host in ("127.0.0.1", "localhost", "::1")
    from_env = os.environ.pop(TOKEN_ENV, None)  # kernels inherit the environment: not this
    if args.token is None and from_env and not args.no_token:
        args.token = from_env
    if args.token is not None and args.no_token:
        raise JourneyError("--token and --no-token contradict each other: give one")
    if args.generate_token and (args.token is not None or args.no_token):
        raise JourneyError("--generate-token goes without --token and --no-token")
    if args.token is not None and (len(args.token) < 8 or not args.token.isprintable()):
        raise JourneyError("--token: expected at least 8 printable characters")
    token = args.token or (secrets.token_urlsafe(24) if args.generate_token else "")
    if not local and not token and not args.no_token:
        raise JourneyError(
            f"--host {args.host} serves the dashboard beyond this machine: give --token "
            "(or --generate-token), or --no-token to serve it to anyone who reaches the port"
        )
    base_url = args.base_url.strip()
    if not base_url.startswith("/") or any(c in base_url for c in "?#\\ "):
        raise JourneyError(f"--base-url: expected a path such as /journey/, got {args.base_url!r}")
    base_url = base_url.rstrip("/") + "/"
    if args.timezone is not None and args.events is None:
        raise JourneyError("--timezone applies to --events only; a config sets its own 'timezone'")
    steps = tuple(s.strip() for s in (args.steps or "").split(",") if s.strip())
    if args.steps is not None and not 2 <= len(steps) <= 8:
        raise JourneyError(f"--steps: expected 2 to 8 steps, got {len(steps)} ({args.steps!r})")
    if args.window is not None:
        try:
            parse_window(args.window)
        except ValueError as exc:
            raise JourneyError(f"--window: {exc}") from None
    if args.cache_dir is not None and args.cache_dir.exists() and not args.cache_dir.is_dir():
        raise JourneyError(f"--cache-dir {args.cache_dir}: is a file, not a folder")
    if not NOTEBOOK.is_file():
        raise JourneyError(f"the dashboard notebook {NOTEBOOK} is missing from this install")
    port = check_port(args.host, args.port)

    config = args.config
    if config is None and args.events is None:
        config = _sample_config()
    if config is not None and not config.is_file():
        raise JourneyError(f"{config}: no such journey config")
    if args.events is not None and not args.events.is_file():
        raise JourneyError(f"--events {args.events}: no such file")
    settings = {
        "config": str(config.resolve()) if config is not None else "",
        "events": str(args.events.resolve()) if args.events is not None else "",
        "timezone": args.timezone or "",
        "steps": ",".join(steps),
        "window": args.window or "",
        "cache_dir": str(args.cache_dir.resolve()) if args.cache_dir is not None else "",
    }
    _check_data(settings)
    if not local and args.no_token:
        print(
            f"journey dashboard: warning: serving {args.host} without a token: anyone who "
            "reaches the port sees the data",
            file=sys.stderr,
        )
    options = ServeOptions(
        host=args.host,
        port=port,
        token=token,
        base_url=base_url,
        pool_size=args.pool_size,
        cull_idle_timeout=args.cull_idle_timeout,
        cull_interval=args.cull_interval,
        show_token=args.generate_token,
    )
    return serve(options, settings)


def _sample_config() -> Path:
    if DEFAULT_CONFIG.is_file():
        return DEFAULT_CONFIG
    from journeylib.sample import generate_sample

    print(
        f"No config given and no sample in {DEFAULT_CONFIG.parent}/: writing the sample company "
        f"({SAMPLE_USERS:,} users, seed {SAMPLE_SEED}) there first",
        file=sys.stderr,
    )
    generate_sample(DEFAULT_CONFIG.parent, users=SAMPLE_USERS, seed=SAMPLE_SEED)
    return DEFAULT_CONFIG


def _check_data(settings: dict[str, str]) -> None:
    """Load the data once (validated, then cached for the kernels), steps and window checked."""
    from journeylib.dashboard.data import open_data

    steps = tuple(s for s in settings["steps"].split(",") if s)
    open_data(
        settings["config"] or None,
        events=settings["events"] or None,
        timezone=settings["timezone"] or "UTC",
        steps=steps,
        window=settings["window"],
        cache_dir=settings["cache_dir"] or None,
    )

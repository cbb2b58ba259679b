"""`airpicture serve SCENARIO|DIR`: the live common operational picture in a browser.

A scenario file runs live (real time, or `--speed` times faster); a run
output folder is replayed. The page is at http://127.0.0.1:8000 unless
`--host`/`--port` say otherwise. Accounts: `--users FILE` (or the
`AIRPICTURE_USERS` environment variable), made with `airpicture users add`;
without one, the server makes one-time accounts and prints their passwords.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import socket
from pathlib import Path
from typing import Any

from rich.console import Console

from airpicture.cli.options import add_scenario_overrides, scenario_overrides
from airpicture.errors import InputError
from airpicture.scenario import load_scenario
from airpicture.web.auth import Authenticator, load_users, one_time_accounts
from airpicture.web.protocol import MAX_CLIENT_MESSAGE_BYTES, MAX_SPEED
from airpicture.web.session import PlaybackSettings
from airpicture.web.sources import PictureSource, RunFolderSource
from airpicture.web.views import view_rules

USERS_ENV = "AIRPICTURE_USERS"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve the live picture to each nation's browser (a scenario live, or a run folder)",
        description=(
            "Serve the common operational picture: a scenario file runs live, a run output "
            "folder (from `airpicture run`) is replayed. Each nation's operator signs in and "
            "sees only that nation's picture."
        ),
    )
    parser.add_argument("target", type=Path, help="scenario file (.yaml) or run output folder")
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="scenario seconds per wall-clock second (live clock; replay's initial speed)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000; 0: any)")
    parser.add_argument(
        "--users",
        type=Path,
        help=f"accounts file from `airpicture users add` (default: ${USERS_ENV}; "
        "without either, one-time accounts are printed)",
    )
    parser.add_argument(
        "--scenario",
        type=Path,
        help="for a run folder: its scenario file, for sensor sites, assets and places "
        "(default: found from run.json beside the run or in ./scenarios)",
    )
    add_scenario_overrides(parser)
    parser.set_defaults(func=run)


def make_source(args: argparse.Namespace, console: Console) -> PictureSource:
    target: Path = args.target
    if target.is_dir():
        return RunFolderSource(target, args.scenario)
    if not target.is_file():
        raise InputError(str(target), ["no such file or folder: give a scenario or a run folder"])
    from airpicture.web.live import NetworkLiveSource

    loaded = load_scenario(target, scenario_overrides(args))
    with console.status(f"simulating {loaded.scenario.name} for the live run…"):
        return NetworkLiveSource(loaded)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from airpicture.web.app import ServerSettings, create_app

    console = Console()
    if not 0.0 < args.speed <= MAX_SPEED:
        raise InputError("--speed", [f"{args.speed}: give a number in (0, {MAX_SPEED:g}]"])
    source = make_source(args, console)
    viewers = sorted(view_rules(source.info))
    users_path: Path | None = args.users or (
        Path(os.environ[USERS_ENV]) if os.environ.get(USERS_ENV) else None
    )
    if users_path is not None:
        accounts = load_users(users_path)
        passwords: dict[str, str] = {}
    else:
        accounts, passwords = one_time_accounts(viewers)
    auth = Authenticator(accounts, frozenset(viewers))
    app = create_app(source, auth, ServerSettings(playback=PlaybackSettings(speed=args.speed)))

    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        raise InputError(
            f"--host {args.host} --port {args.port}",
            [f"cannot listen there ({exc.strerror}); pick another --port"],
        ) from exc
    port = sock.getsockname()[1]
    info = source.info
    console.print(
        f"[bold]{info.scenario}[/] ({source.mode}, {info.fusion}); pictures: {', '.join(viewers)}"
    )
    if passwords:
        console.print("one-time accounts (no --users file given; valid while this server runs):")
        for name, password in passwords.items():
            console.print(f"  {name:>5}  {password}", markup=False, highlight=False)
    else:
        names = ", ".join(f"{a.name} ({a.nation})" for a in accounts.values())
        console.print(f"accounts from {users_path}: {names}")
    if not _is_loopback(args.host):
        console.print(
            f"[bold yellow]warning:[/] listening on {args.host}: reachable from other machines, "
            "over plain HTTP; put it behind TLS on anything but an isolated network"
        )
    shown = f"[{args.host}]" if ":" in args.host else args.host
    console.print(f"[bold]serving at http://{shown}:{port}[/]  (Ctrl-C stops)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = uvicorn.Config(
        app,
        log_level="warning",
        ws="websockets-sansio",
        ws_max_size=MAX_CLIENT_MESSAGE_BYTES * 4,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

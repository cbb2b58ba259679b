"""`airpicture serve SCENARIO|DIR`: the live common operational picture in a browser.

A scenario file runs live (real time, or `--speed` times faster); a run
output folder is replayed. The page is at http://127.0.0.1:8000 unless
`--host`/`--port` say otherwise. Accounts: `--users FILE` (or the
`AIRPICTURE_USERS` environment variable), made with `airpicture users add`;
without one, the server makes one-time accounts and prints their passwords.
`--tls-cert/--tls-key` serve HTTPS (the exercise's certificates from `airpicture
exercise init`); the Host header must be one of the names the server is reached
by (`--allowed-host`); sign-ins, failures and sign-outs go to a rotated audit log
(`--audit-log`). docs/web.md, "Security".
"""

from __future__ import annotations

import argparse
import atexit
import ipaddress
import logging
import os
import shutil
import socket
import ssl
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console

from airpicture.cli.options import add_scenario_overrides, scenario_overrides
from airpicture.deploy.pki import check_certificate
from airpicture.errors import InputError
from airpicture.network.recording import MANIFEST
from airpicture.scenario import load_scenario
from airpicture.web import audit
from airpicture.web.auth import Authenticator, one_time_accounts
from airpicture.web.protocol import MAX_CLIENT_MESSAGE_BYTES, MAX_SPEED
from airpicture.web.session import PlaybackSettings
from airpicture.web.sources import PictureSource, RunFolderSource
from airpicture.web.views import unserved, view_rules

USERS_ENV = "AIRPICTURE_USERS"
AUDIT_ENV = "AIRPICTURE_AUDIT_LOG"
DEFAULT_AUDIT_LOG = Path("airpicture-web-audit.jsonl")
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


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
    parser.add_argument(
        "target",
        type=Path,
        help="scenario file (.yaml), run output folder, or recording folder (with --nation)",
    )
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
        "--nation",
        help="for a recording folder (an exercise's OUT/recording): the nation whose recorded "
        "picture to replay; one nation at a time, and only its accounts may sign in",
    )
    parser.add_argument(
        "--scenario",
        type=Path,
        help="for a run folder: its scenario file, for sensor sites, assets and places "
        "(default: found from run.json beside the run or in ./scenarios)",
    )
    parser.add_argument(
        "--tls-cert",
        type=Path,
        help="serve HTTPS with this certificate (PEM; e.g. pki/servers/NAME.pem from "
        "`airpicture exercise init`); its names are accepted as Host names",
    )
    parser.add_argument("--tls-key", type=Path, help="the certificate's private key (PEM)")
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a name or address browsers reach this server by (repeatable); requests naming "
        "any other Host are refused (default: the bound address, this machine's names, "
        "the certificate's names)",
    )
    parser.add_argument(
        "--audit-log",
        type=Path,
        help=f"audit log file, rotated (default: ${AUDIT_ENV}, else ./{DEFAULT_AUDIT_LOG})",
    )
    add_scenario_overrides(parser)
    parser.set_defaults(func=run)


def make_source(args: argparse.Namespace, console: Console) -> PictureSource:
    target: Path = args.target
    if target.is_dir() and (target / MANIFEST).is_file():
        return recording_source(target, args.nation)
    if args.nation is not None:
        raise InputError(
            "--nation", [f"{target} is not a recording folder (no {MANIFEST}); --nation is for one"]
        )
    if target.is_dir():
        return RunFolderSource(target, args.scenario)
    if not target.is_file():
        raise InputError(str(target), ["no such file or folder: give a scenario or a run folder"])
    from airpicture.web.live import NetworkLiveSource

    loaded = load_scenario(target, scenario_overrides(args))
    with console.status(f"simulating {loaded.scenario.name} for the live run…"):
        return NetworkLiveSource(loaded)


def recording_source(folder: Path, nation: str | None) -> PictureSource:
    """One nation's recorded picture, replayed (`web/recording_source.py`); its tables are
    written to a temporary folder, removed when the server stops."""
    from airpicture.network.recording import read_manifest
    from airpicture.web.recording_source import RecordingSource

    nations = read_manifest(folder).nations
    if nation is None:
        raise InputError(
            str(folder),
            [f"a recording replays one nation at a time: give --nation ({', '.join(nations)})"],
        )
    work = Path(tempfile.mkdtemp(prefix="airpicture-replay-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    source = RecordingSource(folder, nation.upper(), work)
    if source.truncated:
        Console().print(
            f"[bold yellow]note:[/] the recording of {nation.upper()} is complete to "
            f"{source.complete_to_s:.0f} s only ({source.truncated})",
            highlight=False,
        )
    return source


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from airpicture.web.app import ServerSettings, create_app

    console = Console()
    if not 0.0 < args.speed <= MAX_SPEED:
        raise InputError("--speed", [f"{args.speed}: give a number in (0, {MAX_SPEED:g}]"])
    tls_names = tls_server_names(args.tls_cert, args.tls_key)
    allowed = allowed_hosts(args.host, args.allowed_host, tls_names)
    audit_path = audit.configure(
        args.audit_log or Path(os.environ.get(AUDIT_ENV) or DEFAULT_AUDIT_LOG)
    )
    source = make_source(args, console)
    viewers = sorted(view_rules(source.info))
    if missing := unserved(source.info):
        console.print(
            f"[yellow]{', '.join(missing)}: no picture was made for them, so they are served "
            "nothing (a centralized run shows a nation only its own view: run it with "
            "--national-views)[/]"
        )
    users_path: Path | None = args.users or (
        Path(os.environ[USERS_ENV]) if os.environ.get(USERS_ENV) else None
    )
    if users_path is not None:
        auth = Authenticator.from_file(users_path, frozenset(viewers))
        passwords: dict[str, str] = {}
    else:
        accounts, passwords = one_time_accounts(viewers)
        auth = Authenticator(accounts, frozenset(viewers))
    settings = ServerSettings(
        playback=PlaybackSettings(speed=args.speed),
        tls=tls_names is not None,
        allowed_hosts=allowed,
    )
    app = create_app(source, auth, settings)

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
        names = ", ".join(f"{a.name} ({a.nation})" for a in auth.accounts.values())
        console.print(f"accounts from {users_path} (re-read when it changes): {names}")
    if not _is_loopback(args.host) and tls_names is None:
        console.print(
            f"[bold yellow]warning:[/] listening on {args.host}: reachable from other machines, "
            "over plain HTTP; give --tls-cert/--tls-key on anything but an isolated network"
        )
    console.print(f"Host names accepted: {', '.join(sorted(allowed))}", highlight=False)
    console.print(f"audit log: {audit_path}", highlight=False)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    scheme = "https" if tls_names is not None else "http"
    console.print(f"[bold]serving at {scheme}://{shown}:{port}[/]  (Ctrl-C stops)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = uvicorn.Config(
        app,
        log_level="warning",
        ws="websockets-sansio",
        ws_max_size=MAX_CLIENT_MESSAGE_BYTES * 4,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        # The client's address is the socket's: an X-Forwarded-For from anyone is not
        # believed (the sign-in limits are per address).
        proxy_headers=False,
        ssl_certfile=args.tls_cert if tls_names is not None else None,
        ssl_keyfile=args.tls_key if tls_names is not None else None,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        audit.close()
    return 0


def tls_server_names(cert_file: Path | None, key_file: Path | None) -> frozenset[str] | None:
    """The names in a server certificate (checked: readable, in date, matching its key), or
    None without TLS. `InputError` names the file and the fix."""
    if cert_file is None and key_file is None:
        return None
    if cert_file is None or key_file is None:
        raise InputError(
            "--tls-cert/--tls-key", ["give both: the server certificate and its private key"]
        )
    cert = check_certificate(cert_file, "the web server's certificate")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as exc:
        raise InputError(
            str(key_file),
            [f"cannot use it with {cert_file} ({exc}); give the certificate's own private key"],
        ) from None
    from cryptography import x509

    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return frozenset()
    dns = names.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in names.get_values_for_type(x509.IPAddress)]
    return frozenset(n.lower() for n in [*dns, *ips])


def allowed_hosts(
    bind_host: str, extra: list[str], tls_names: frozenset[str] | None
) -> frozenset[str]:
    """The Host header names the server answers to: `extra`, the certificate's names, the
    bound address, and (bound to loopback or to every address) this machine's names."""
    names = {n.lower().strip("[]") for n in extra} | set(tls_names or ())
    wildcard = bind_host in ("0.0.0.0", "::", "")
    if _is_loopback(bind_host) or wildcard:
        names |= LOOPBACK_NAMES
    if wildcard:
        names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
    else:
        names.add(bind_host.lower())
    return frozenset(names)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

"""`airpicture exercise init SCENARIO --out DIR`: write a NATS deployment for an exercise.

The `exercise` command (cli/exercise.py) wires this in as its `init` form:
`add_init_arguments(parser)` then `parser.set_defaults(func=run_init)`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from airpicture.deploy import Deployment, init_exercise


def add_init_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", type=Path, help="scenario file (.yaml)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the deployment to")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address the servers listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="client port of the (first) server; default: a free port",
    )
    parser.add_argument(
        "--servers-per-nation",
        action="store_true",
        help="one nats-server per nation, joined by leaf nodes to the first nation's",
    )
    parser.add_argument(
        "--valid-days",
        type=float,
        default=30.0,
        help="how long the certificates are valid (default 30 days)",
    )
    parser.add_argument(
        "--server-name",
        action="append",
        default=[],
        metavar="NAME",
        help="another DNS name or IP the server certificate must cover (repeatable)",
    )


def init_command(
    scenario: Path,
    out: Path,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    servers_per_nation: bool = False,
    valid_days: float = 30.0,
    server_names: tuple[str, ...] = (),
    console: Console | None = None,
) -> int:
    """Write the deployment and print what was written; 0 on success."""
    deployment = init_exercise(
        scenario,
        out,
        host=host,
        client_port=port,
        servers_per_nation=servers_per_nation,
        valid_days=valid_days,
        extra_server_names=server_names,
    )
    print_deployment(deployment, console or Console())
    return 0


def print_deployment(deployment: Deployment, console: Console) -> None:
    console.print(f"[bold]deployment written[/] to {deployment.directory}")
    servers = Table("server", "clients", "config", title="NATS servers")
    for spec in deployment.server_specs:
        servers.add_row(spec.name, f"tls://{spec.host}:{spec.client_port}", spec.config)
    console.print(servers)
    nations = Table("nation", "account", "server", "node seed", "feed seed", "client cert")
    for code, access in sorted(deployment.nations.items()):
        nations.add_row(
            code,
            access.account,
            ", ".join(access.servers),
            access.node_seed,
            access.feed_seed,
            access.client_cert,
        )
    console.print(nations)
    links = Table("sender", "receiver", "kinds", title="links the release rules allow")
    pairs: dict[tuple[str, str], list[str]] = {}
    for r in deployment.routes:
        pairs.setdefault((r.sender, r.receiver), []).append(r.kind)
    for (sender, receiver), kinds in sorted(pairs.items()):
        links.add_row(sender, receiver, ", ".join(kinds))
    console.print(links)
    console.print(
        f"CA: {deployment.ca_file}; certificates expire {deployment.certificates_expire_utc}"
    )


def run_init(args: argparse.Namespace) -> int:
    return init_command(
        args.scenario,
        args.out,
        host=args.host,
        port=args.port,
        servers_per_nation=args.servers_per_nation,
        valid_days=args.valid_days,
        server_names=tuple(args.server_name),
    )

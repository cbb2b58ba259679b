"""`airpicture exercise SCENARIO --out DIR`: the allied network live on one machine.

Simulates the scenario, writes the NATS deployment (`exercise init`), starts
the server(s), one `airpicture node` process per nation (each with its own web
page), then starts every node's exercise clock at once and publishes the
simulated sensor reports to each sensor's subject at their exercise time. A
node that dies is restarted (it resumes from its durable consumers). Ctrl-C
stops everything cleanly; `--duration-s` stops by itself. DIR then holds what
`airpicture run` writes (so `airpicture evaluate DIR` works) and
`exercise.json`: NATS URLs, each nation's credentials and web address, each
process's role, nation and pid.

`airpicture exercise init SCENARIO --out DIR` writes only the deployment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import nats
import yaml
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from airpicture.cli.exercise_init import run_init
from airpicture.cli.options import add_scenario_overrides, scenario_overrides
from airpicture.cli.simulate import run_simulation
from airpicture.errors import InputError
from airpicture.network.exercise import (
    FeedCounts,
    NodeSupervisor,
    feed_reports,
    start_recording,
    write_exercise_outputs,
)
from airpicture.network.recording import recording_share
from airpicture.network.service import ExerciseClock
from airpicture.scenario import LoadedScenario, load_scenario
from airpicture.web.auth import make_account, save_users

log = logging.getLogger("airpicture.exercise")

#: Longest wait for every node to be connected and serving, s.
READY_TIMEOUT_S = 180.0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "exercise",
        help="run the allied network live on this machine: NATS, a node per nation, the feeds",
        description=(
            "airpicture exercise SCENARIO --out DIR [--speed X] [--duration-s S] [--port P]: "
            "run the network live. airpicture exercise init SCENARIO --out DIR [--host H] "
            "[--port NATS_PORT] [--servers-per-nation]: write only the deployment."
        ),
    )
    parser.add_argument("scenario", help="scenario file (.yaml), or `init` then the scenario")
    parser.add_argument("init_scenario", nargs="?", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--speed", type=float, default=1.0, help="exercise seconds per wall second (default 1)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="first nation's web port (the others follow; default: free ports); with "
        "`init`: the NATS client port",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on")
    parser.add_argument("--nats-port", type=int, default=None, help="NATS client port")
    parser.add_argument(
        "--servers-per-nation",
        action="store_true",
        help="one nats-server per nation, joined by leaf nodes",
    )
    parser.add_argument(
        "--no-spare",
        action="store_true",
        help="keep no warm spare process for restarting a dead node (saves its imports)",
    )
    parser.add_argument("--valid-days", type=float, default=30.0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--server-name", action="append", default=[], metavar="NAME", help=argparse.SUPPRESS
    )
    add_scenario_overrides(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.scenario == "init":
        if args.init_scenario is None:
            raise InputError(
                "exercise init", ["give the scenario: exercise init SCENARIO --out DIR"]
            )
        args.scenario = args.init_scenario
        return run_init(args)
    if args.init_scenario is not None:
        raise InputError(str(args.init_scenario), ["one scenario only"])
    if not 0.0 < args.speed <= 1000.0:
        raise InputError("--speed", [f"{args.speed}: give a number in (0, 1000]"])
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    # asyncio's note on closing TLS connections (nats-py returns True from eof_received).
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    return asyncio.run(run_exercise(args))


async def run_exercise(args: argparse.Namespace) -> int:
    from airpicture.deploy import init_exercise

    console = Console()
    out: Path = args.out.resolve()
    scenario_path = Path(args.scenario).resolve()
    loaded = load_scenario(scenario_path, scenario_overrides(args))
    nations = sorted(loaded.scenario.nations)
    _clear_previous(out)
    sim = run_simulation(args, console, loaded)
    sim.write(out)
    console.print(
        f"[bold]{loaded.scenario.name}[/]: {len(sim.plots['time_s'])} reports over "
        f"{loaded.scenario.duration_s:.0f} s simulated; wrote truth, plots, run.json to {out}"
    )
    deployment = init_exercise(
        scenario_path,
        out,
        host=args.host,
        client_port=args.nats_port,
        servers_per_nation=args.servers_per_nation,
    )
    passwords, users_file = _accounts(out, nations)
    ports = _web_ports(args.port, len(nations))
    overrides = {"seed": args.seed, "duration_s": args.duration_s, "count": args.count}
    recorder = start_recording(out, scenario_path, overrides, nations)
    try:
        return await _run_started(
            args, console, out, scenario_path, loaded, nations, sim, deployment, passwords,
            users_file, ports, recorder.url,
        )  # fmt: skip
    finally:
        recorder.stop()


async def _run_started(
    args: argparse.Namespace,
    console: Console,
    out: Path,
    scenario_path: Path,
    loaded: LoadedScenario,
    nations: list[str],
    sim: Any,
    deployment: Any,
    passwords: dict[str, str],
    users_file: Path,
    ports: list[int],
    recording_url: str,
) -> int:
    from airpicture.deploy import connect_options, start_servers

    configs = _node_configs(
        out, scenario_path, args, nations, ports, users_file, loaded, recording_url
    )
    epoch_file = out / "clock" / "epoch"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    supervisor = NodeSupervisor(configs, out / "logs", spare=not args.no_spare)
    feed_counts = FeedCounts()
    started = time.time()
    with start_servers(deployment) as servers:
        console.print(f"NATS: {', '.join(deployment.servers)} (TLS, an account per nation)")
        supervisor.start_all()
        try:
            await _wait_ready(out, nations, supervisor, stop, console)
            if stop.is_set():
                raise KeyboardInterrupt
            epoch = time.time() + 1.0
            epoch_file.parent.mkdir(parents=True, exist_ok=True)
            epoch_file.write_text(f"{epoch!r}\n")
            clock = ExerciseClock(epoch, args.speed)
            addresses = _addresses(out, nations)
            _print_access(console, nations, addresses, passwords, deployment)
            _write_exercise_json(
                out, deployment, nations, addresses, users_file, supervisor, clock, args
            )
            feeds = {}
            for nation in nations:
                nc = await nats.connect(**connect_options(deployment, nation, "feed"))
                feeds[nation] = nc
            js_of = {
                n: (
                    nc.jetstream(domain=deployment.nation(n).jetstream_domain)
                    if deployment.nation(n).jetstream_domain
                    else nc.jetstream()
                )
                for n, nc in feeds.items()
            }
            feed_task = asyncio.create_task(
                feed_reports(loaded, sim.plots, clock, js_of, stop, counts=feed_counts)
            )
            await _supervise(loaded, clock, supervisor, stop, console, out)
            stop.set()
            with contextlib.suppress(Exception):
                await feed_task
            for nc in feeds.values():
                with contextlib.suppress(Exception):
                    await nc.close()
            _write_exercise_json(
                out, deployment, nations, addresses, users_file, supervisor, clock, args
            )
        except KeyboardInterrupt:
            console.print("stopping")
        finally:
            supervisor.stop()
        del servers
    stats = write_exercise_outputs(
        out,
        loaded,
        {
            "exercise": {
                "speed": args.speed,
                "wall_s": time.time() - started,
                "feed": {
                    "batches": feed_counts.batches,
                    "reports": feed_counts.reports,
                    "retries": feed_counts.retries,
                    "late_s_max": feed_counts.late_s_max,
                },
                "restarts": {n: supervisor.nodes[n].restarts for n in nations},
            }
        },
    )
    _print_summary(console, out, stats)
    return 0


def _clear_previous(out: Path) -> None:
    """An earlier exercise's state in DIR (streams, node parts, clock) would be replayed:
    it goes; other files are overwritten."""
    if (out / "exercise.json").exists() or (out / "nodes").exists():
        for name in ("nodes", "nats", "clock", "logs", "recording"):
            shutil.rmtree(out / name, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)


def _accounts(out: Path, nations: list[str]) -> tuple[dict[str, str], Path]:
    """A web account per nation (its code in lower case), passwords printed and kept in
    DIR/web/passwords.txt (owner-only)."""
    web = out / "web"
    web.mkdir(parents=True, exist_ok=True)
    passwords = {n.lower(): secrets.token_urlsafe(9) for n in nations}
    accounts = {name: make_account(name, name.upper(), pw) for name, pw in passwords.items()}
    users_file = web / "users.json"
    save_users(users_file, accounts)
    secret = web / "passwords.txt"
    secret.write_text("".join(f"{n} {p}\n" for n, p in passwords.items()))
    secret.chmod(0o600)
    return passwords, users_file


def _web_ports(first: int | None, count: int) -> list[int]:
    """Each nation's web port, fixed for the exercise (a restarted node serves where it did)."""
    if first is None:
        from airpicture.deploy.server import free_port

        return [free_port() for _ in range(count)]
    if not 0 < first <= 65535 - count:
        raise InputError("--port", [f"{first}: give a port in 1..{65535 - count}"])
    return [first + i for i in range(count)]


def _node_configs(
    out: Path,
    scenario_path: Path,
    args: argparse.Namespace,
    nations: list[str],
    ports: list[int],
    users_file: Path,
    loaded: LoadedScenario,
    recording_url: str,
) -> dict[str, Path]:
    configs: dict[str, Path] = {}
    folder = out / "config"
    folder.mkdir(parents=True, exist_ok=True)
    # Every nation records on the one recording server: their streams share its store.
    max_bytes = recording_share(out / "recording", len(nations))
    for nation, port in zip(nations, ports, strict=True):
        config = {
            "scenario": str(scenario_path),
            "overrides": {
                "seed": args.seed,
                "duration_s": args.duration_s,
                "count": args.count,
            },
            "nation": nation,
            "deployment": str(out),
            "clock": {"epoch_file": str(out / "clock" / "epoch"), "speed": float(args.speed)},
            "web": {"host": args.host, "port": port, "users": str(users_file)},
            "out": str(out),
            "recording": {
                "servers": [recording_url],
                "token_file": str(out / "recording" / ".token"),
                "max_bytes": max_bytes,
            },
        }
        path = folder / f"node-{nation}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        configs[nation] = path
    del loaded
    return configs


async def _wait_ready(
    out: Path,
    nations: list[str],
    supervisor: NodeSupervisor,
    stop: asyncio.Event,
    console: Console,
) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    with console.status("starting the nodes…") as status:
        while not stop.is_set():
            ready = [n for n in nations if (out / "nodes" / n / "ready.json").exists()]
            status.update(f"starting the nodes… {len(ready)}/{len(nations)} ready")
            if len(ready) == len(nations):
                return
            for nation, node in supervisor.nodes.items():
                p = node.process
                if p is not None and p.poll() is not None:
                    tail = node.log_file.read_text(errors="replace").strip().splitlines()[-6:]
                    raise InputError(
                        f"node {nation}",
                        [
                            f"exited with status {p.returncode}; its log:\n    "
                            + "\n    ".join(tail)
                        ],
                    )
            if time.monotonic() > deadline:
                raise InputError(
                    "exercise", [f"nodes not ready within {READY_TIMEOUT_S:.0f} s; see {out}/logs"]
                )
            await asyncio.sleep(0.2)


def _addresses(out: Path, nations: list[str]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for nation in nations:
        info = json.loads((out / "nodes" / nation / "ready.json").read_text())
        found[nation] = info.get("web")
    return found


def _print_access(
    console: Console,
    nations: list[str],
    addresses: dict[str, str | None],
    passwords: dict[str, str],
    deployment: Any,
) -> None:
    console.print("[bold]each nation's picture[/] (sign in with its account):")
    for nation in nations:
        access = deployment.nation(nation)
        console.print(
            f"  [bold]{nation}[/]  {addresses[nation]}  account {nation.lower()} / "
            f"{passwords[nation.lower()]}   NATS account {access.account}",
            highlight=False,
        )


def _write_exercise_json(
    out: Path,
    deployment: Any,
    nations: list[str],
    addresses: dict[str, str | None],
    users_file: Path,
    supervisor: NodeSupervisor,
    clock: ExerciseClock,
    args: argparse.Namespace,
) -> None:
    info = {
        "scenario": str(Path(args.scenario).resolve()),
        "speed": clock.speed,
        "epoch_unix_s": clock.epoch_unix_s,
        "nats": {"servers": list(deployment.servers), "ca_file": deployment.ca_file},
        "nations": {
            n: {
                "web": addresses.get(n),
                "web_account": n.lower(),
                "web_users_file": str(users_file),
                "web_passwords_file": str(out / "web" / "passwords.txt"),
                "nats_account": deployment.nation(n).account,
                "servers": list(deployment.nation(n).servers),
                "node_seed": deployment.nation(n).node_seed,
                "feed_seed": deployment.nation(n).feed_seed,
                "client_cert": deployment.nation(n).client_cert,
                "client_key": deployment.nation(n).client_key,
                "ca_file": deployment.nation(n).ca_file,
            }
            for n in nations
        },
        "processes": [
            {"role": "supervisor", "nation": None, "pid": os.getpid()},
            *(
                {"role": "nats-server", "nation": None, "name": s.name, "config": s.config}
                for s in deployment.server_specs
            ),
            {"role": "feed", "nation": "all", "pid": os.getpid()},
            *supervisor.roles(),
        ],
    }
    (out / "exercise.json").write_text(json.dumps(info, indent=2) + "\n")


async def _supervise(
    loaded: LoadedScenario,
    clock: ExerciseClock,
    supervisor: NodeSupervisor,
    stop: asyncio.Event,
    console: Console,
    out: Path,
) -> None:
    """Until the scenario's end (every node exits by itself) or Ctrl-C: restart dead nodes."""
    end_s = loaded.scenario.duration_s
    with Progress(
        TextColumn("[bold]exercise[/]"),
        BarColumn(),
        TextColumn("{task.completed:.0f} / {task.total:.0f} s"),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("", total=end_s)
        while not stop.is_set():
            for nation in supervisor.check():
                progress.console.print(f"[yellow]node {nation} died: restarted[/]")
            restarts = sum(n.restarts for n in supervisor.nodes.values())
            progress.update(
                task,
                completed=min(max(clock.now_s(), 0.0), end_s),
                description=f"restarts {restarts}" if restarts else "",
            )
            if clock.now_s() > end_s and supervisor.all_exited():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.1)  # a dead node is noticed within 0.1 s
    del out


def _print_summary(console: Console, out: Path, stats: dict[str, Any]) -> None:
    for nation, node in stats.get("nodes", {}).items():
        bus = node.get("bus", {})
        console.print(
            f"[bold]{nation}[/]: {node.get('restarts', 0)} restart(s); messages redelivered "
            f"after restart {bus.get('redelivered_after_restart', 0)}, deduplicated "
            f"{bus.get('deduplicated_after_restart', 0)}; refused "
            f"{sum(node.get('messages', {}).get('rejected', {}).values())}",
            highlight=False,
        )
    console.print(
        f"wrote {out / 'picture.parquet'}, {out / 'warnings.jsonl'}, {out / 'network.json'}, "
        f"{out / 'exercise.json'}; score it with `airpicture evaluate {out}`"
    )

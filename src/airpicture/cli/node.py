"""`airpicture node CONFIG.yaml`: one nation's node as a long-running service.

The node takes its own sensors' reports from NATS, tracks, shares with its
partners through JetStream under the release rules, fuses, assesses, and serves
its own nation's live picture (`network/service.py`, docs/exercise.md). The
configuration (YAML, every key checked, paths relative to the file):

```yaml
scenario: pacific-shield.yaml
nation: JPN
deployment: exercise-dir        # written by `airpicture exercise init` ...
# nats: {servers: [nats://127.0.0.1:4222]}   # ... or a server of your own
clock: {epoch_utc: "2026-12-07T03:00:00Z", speed: 10}
web: {host: 127.0.0.1, port: 8101, users: users.json}   # port 0: any; web: null: none
out: exercise-dir               # the node writes its part under out/nodes/JPN/
# Optional: the own sensors' ASTERIX over UDP (unicast, or a multicast group) ...
asterix: {listen: ["udp://0.0.0.0:8600", "udp://239.10.0.1:8601"], interface: 0.0.0.0}
# ... and the own picture out each picture time: CAT062 over UDP, CoT to TAK endpoints.
outputs:
  system: {sac: 2, sic: 0}      # CAT062 I010 (default: SAC of the nation's sensors, SIC 0)
  cat062: ["udp://127.0.0.1:8700"]
  cot:
    - {url: "udp://239.2.3.1:6969", format: xml}        # TAK mesh SA
    - {url: "tcp://127.0.0.1:8087", format: proto}      # TAK protocol stream
    - {url: "tls://tak.example:8089", format: xml, ca_file: ca.pem,
       client_cert: node.pem, client_key: node.key}
# The recording (always on; network/recording.py): retention by age and size, and where.
recording:
  max_age_s: 1209600            # 14 days
  max_bytes: 17179869184        # 16 GiB; the oldest records go first
  # servers: ["nats://127.0.0.1:4300"]   # a recording server of its own (exercise: one
  # token_file: recording/.token         # under OUT/recording/); none: the node's JetStream
# Liveness (network/liveness.py): a heartbeat on a link idle this long (default: the picture
# interval); a partner silent longer than this is marked down (default: three intervals).
liveness: {heartbeat_interval_s: 5, partner_down_after_s: 15}
```

A configuration error (unknown nation or sensor, a missing or wrong credentials
file, an expired certificate, a server that stays unreachable) is one
readable error and exit status 2. SIGTERM or Ctrl-C stops the node cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import ssl
import time
from collections.abc import Callable, Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import nats
import nats.errors
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rich.console import Console

from airpicture.errors import InputError
from airpicture.network.liveness import liveness_limits
from airpicture.network.node import NodeSnapshot
from airpicture.network.recording import RecordingSettings
from airpicture.network.run import NetworkSettings
from airpicture.network.service import ExerciseClock, NodeService, ServiceSettings
from airpicture.network.signing import Keyring
from airpicture.scenario import LoadedScenario, ScenarioOverrides, load_scenario
from airpicture.threat.warning import Warning
from airpicture.web.session import DEFAULT_KEEP_S

if TYPE_CHECKING:
    from airpicture.network.asterix_io import AsterixInbox, PictureOutputs

log = logging.getLogger("airpicture.node")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class NatsConfig(_Strict):
    """A server of one's own (no deployment folder): URLs, and optional credentials."""

    servers: list[str] = Field(min_length=1)
    #: NKey seed file of the node's user.
    seed: str | None = None
    #: Every nation's node public key (`U…`, this node's included): with `seed`, every
    #: message between nodes is signed with the seed and checked with these
    #: (network/signing.py). A deployment folder gives both.
    node_public_keys: dict[str, str] | None = None
    ca_file: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    tls_hostname: str | None = None
    jetstream_domain: str | None = None


class ClockConfig(_Strict):
    """Exercise time = (wall − epoch) × speed. The epoch as UTC text, as Unix seconds, or
    in a file (Unix seconds) the node waits for once it is ready — how `airpicture
    exercise` starts every node's clock at once."""

    epoch_utc: str | None = None
    epoch_unix_s: float | None = None
    epoch_file: str | None = None
    speed: float = Field(default=1.0, gt=0.0, le=1000.0)


class OverridesConfig(_Strict):
    """The scenario overrides the exercise ran with (`--seed`, `--duration-s`, `--count`)."""

    seed: int | None = None
    duration_s: float | None = None
    count: int | None = None


class WebConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    #: Accounts file from `airpicture users add` (none: a one-time account is printed).
    users: str | None = None
    #: Exercise seconds of the picture the page can go back over (older: the recording).
    keep_s: float = Field(default=DEFAULT_KEEP_S, gt=0.0)


class AsterixConfig(_Strict):
    """The own sensors' ASTERIX (CAT048/034/021) over UDP."""

    listen: list[str] = Field(min_length=1)
    #: The interface multicast groups are joined on.
    interface: str = "0.0.0.0"
    #: Reports stamped more than this after the exercise time are refused (counted), s.
    future_s: float = Field(default=30.0, gt=0.0)
    #: Own sensors come over NATS too: wait for the NATS feed's ticks as well.
    nats_feed: bool = False


class SystemConfig(_Strict):
    sac: int = Field(ge=0, le=255)
    sic: int = Field(ge=0, le=255)


class CotOutputConfig(_Strict):
    """A TAK endpoint: udp:// (mesh SA, multicast or unicast), tcp:// or tls:// (streaming)."""

    url: str
    format: Literal["xml", "proto"] = "xml"
    ca_file: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    #: tls:// without checking the server's certificate (a lab TAK server).
    insecure: bool = False


class OutputsConfig(_Strict):
    system: SystemConfig | None = None
    cat062: list[str] = Field(default_factory=list)
    cot: list[CotOutputConfig] = Field(default_factory=list)
    #: CoT `stale`: this long after each picture, s.
    stale_s: float = Field(default=30.0, gt=0.0)
    #: Multicast time to live of the UDP outputs.
    ttl: int = Field(default=1, ge=0, le=255)


class RecordingConfig(_Strict):
    """The node's recording (`network/recording.py`): its retention, and where it goes."""

    #: Records older than this are removed, s (0: kept for ever).
    max_age_s: float = Field(default=RecordingSettings.max_age_s, ge=0.0)
    #: The recording's size limit, bytes (-1: none); the oldest records go first.
    max_bytes: int = Field(default=RecordingSettings.max_bytes, ge=-1)
    #: A recording server of its own (`airpicture exercise` starts one whose store is
    #: OUT/recording/); none: the node's own JetStream, on subjects `ap.node.NATION.rec.>`.
    servers: list[str] | None = Field(default=None, min_length=1)
    #: The recording server's token, in a file.
    token_file: str | None = None


class LivenessConfig(_Strict):
    """Heartbeats and partners marked down (`network/liveness.py`), s; none: the picture
    interval, and three of it."""

    heartbeat_interval_s: float | None = Field(default=None, gt=0.0)
    partner_down_after_s: float | None = Field(default=None, gt=0.0)


class NodeConfig(_Strict):
    scenario: str
    overrides: OverridesConfig | None = None
    nation: str
    deployment: str | None = None
    nats: NatsConfig | None = None
    clock: ClockConfig
    web: WebConfig | None = Field(default_factory=WebConfig)
    out: str
    #: The own sensors this node takes (default: every sensor of its nation).
    sensors: list[str] | None = None
    #: Stop at this exercise time (default: the scenario's end).
    end_s: float | None = None
    #: Give up reaching the server after this long, s (retrying with backoff meanwhile).
    connect_give_up_s: float = Field(default=60.0, gt=0.0)
    asterix: AsterixConfig | None = None
    outputs: OutputsConfig | None = None
    recording: RecordingConfig = Field(default_factory=RecordingConfig)
    liveness: LivenessConfig = Field(default_factory=LivenessConfig)


def load_config(path: Path) -> NodeConfig:
    """The node configuration at `path`, every key checked (an `InputError` naming it)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(str(path), ["no such node configuration file"]) from None
    except yaml.YAMLError as exc:
        raise InputError(str(path), [f"not YAML ({exc})"]) from None
    if not isinstance(raw, dict):
        raise InputError(str(path), ["a node configuration is a mapping of keys (see --help)"])
    try:
        config = NodeConfig.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()
        ]
        raise InputError(str(path), problems) from None
    if (config.deployment is None) == (config.nats is None):
        raise InputError(str(path), ["give either `deployment` (a folder) or `nats`, not both"])
    given = [config.clock.epoch_utc, config.clock.epoch_unix_s, config.clock.epoch_file]
    if sum(g is not None for g in given) != 1:
        raise InputError(
            str(path), ["clock: give one of `epoch_utc`, `epoch_unix_s` or `epoch_file`"]
        )
    problems = []
    # The ASTERIX and CoT modules load only where they are used: a node without them
    # starts (and restarts) seconds sooner.
    if config.asterix is None and config.outputs is None:
        return config
    from airpicture.network.asterix_io import COT_SCHEMES

    for i, url in enumerate(config.asterix.listen if config.asterix else []):
        problems += _url_problem(f"asterix.listen.{i}", url, ("udp",))
    for i, url in enumerate(config.outputs.cat062 if config.outputs else []):
        problems += _url_problem(f"outputs.cat062.{i}", url, ("udp",))
    for i, cot in enumerate(config.outputs.cot if config.outputs else []):
        problems += _url_problem(f"outputs.cot.{i}.url", cot.url, COT_SCHEMES)
    if problems:
        raise InputError(str(path), problems)
    return config


def _url_problem(where: str, url: str, schemes: tuple[str, ...]) -> list[str]:
    from airpicture.network.asterix_io import parse_url

    try:
        parse_url(url, schemes)
    except ValueError as exc:
        return [f"{where}: {exc}"]
    return []


def resolve(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def clock_of(config: NodeConfig, where: str) -> ExerciseClock:
    """The exercise clock; with `epoch_file`, one that has not started (see `wait_for_epoch`)."""
    c = config.clock
    if c.epoch_unix_s is not None:
        return ExerciseClock(c.epoch_unix_s, c.speed)
    if c.epoch_file is not None:
        return ExerciseClock(NOT_STARTED_EPOCH_S, c.speed)
    assert c.epoch_utc is not None
    try:
        epoch = datetime.fromisoformat(c.epoch_utc.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(where, [f"clock.epoch_utc: {c.epoch_utc!r} is not an ISO time"]) from None
    if epoch.tzinfo is None:
        raise InputError(where, ["clock.epoch_utc: give a time zone (e.g. a trailing Z)"])
    return ExerciseClock(epoch.astimezone(UTC).timestamp(), c.speed)


#: The epoch of a clock waiting for its epoch file: far in the future.
NOT_STARTED_EPOCH_S = 1e12


async def wait_for_epoch(path: Path, speed: float) -> ExerciseClock:
    """The clock whose epoch (Unix seconds) `path` holds, once it exists."""
    while True:
        try:
            text = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            await asyncio.sleep(0.05)
            continue
        try:
            return ExerciseClock(float(text), speed)
        except ValueError:
            raise InputError(str(path), [f"not an epoch in Unix seconds: {text!r}"]) from None


def check_sensors(config: NodeConfig, loaded: LoadedScenario, where: str) -> None:
    scenario = loaded.scenario
    if config.nation not in scenario.nations:
        raise InputError(
            where,
            [
                f"nation: {config.nation!r} is not a nation of {scenario.name} "
                f"({', '.join(scenario.nations)})"
            ],
        )
    try:
        liveness_limits(
            config.liveness.heartbeat_interval_s,
            config.liveness.partner_down_after_s,
            scenario.picture_interval_s,
        )
    except ValueError as exc:
        raise InputError(where, [f"liveness: {exc}"]) from None
    own = {s.id for s in scenario.sensors if s.nation == config.nation}
    for sid in config.sensors or []:
        if sid not in own:
            raise InputError(
                where,
                [f"sensors: {sid!r} is not a sensor of {config.nation} ({', '.join(sorted(own))})"],
            )


def connect_options(
    config: NodeConfig, base: Path, where: str
) -> tuple[dict[str, Any], str | None]:
    """`nats.connect` keyword arguments — the deployment's (`airpicture.deploy`), or `nats:`'s —
    and the JetStream domain, if any. Every credentials file is checked here, first."""
    if config.deployment is not None:
        from airpicture.deploy import Deployment
        from airpicture.deploy import connect_options as deployment_options

        deployment = Deployment.load(resolve(base, config.deployment))
        options = deployment_options(deployment, config.nation, "node")
        return options, deployment.nation(config.nation).jetstream_domain
    n = config.nats
    assert n is not None
    options = {
        "servers": list(n.servers),
        "name": f"airpicture-{config.nation}-node",
        "connect_timeout": 5,
        "allow_reconnect": True,
        "reconnect_time_wait": 1,
        "max_reconnect_attempts": -1,
    }
    if n.seed is not None:
        seed = resolve(base, n.seed)
        text = seed.read_text(encoding="ascii").strip() if seed.is_file() else ""
        if not seed.is_file():
            raise InputError(str(seed), ["nats.seed: no such NKey seed file"])
        if not text.startswith("SU"):
            raise InputError(str(seed), ["nats.seed: not an NKey user seed (it starts with SU)"])
        options["nkeys_seed"] = str(seed)
    if n.ca_file is not None:
        context = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH, cafile=str(resolve(base, n.ca_file))
        )
        if n.client_cert is not None and n.client_key is not None:
            context.load_cert_chain(resolve(base, n.client_cert), resolve(base, n.client_key))
        options["tls"] = context
        if n.tls_hostname:
            options["tls_hostname"] = n.tls_hostname
    del where
    return options, n.jetstream_domain


async def connect_with_retry(
    options: dict[str, Any], give_up_s: float, console: Console, where: str
) -> Any:
    """`nats.connect`, retried with backoff while no server can be reached (a TCP probe:
    nats-py retries an unreachable server for ever when reconnecting is allowed);
    credentials or TLS the server refuses end it at once. Raises `InputError`."""
    deadline = time.monotonic() + give_up_s
    delay = 0.5
    urls = list(options.get("servers", []))
    servers = ", ".join(urls)
    while True:
        why = await _reachable(urls)
        if why is None:
            break
        if time.monotonic() + delay > deadline:
            raise InputError(
                where,
                [
                    f"cannot reach the NATS server at {servers} ({why}); gave up after "
                    f"{give_up_s:.0f} s: is it running (`airpicture exercise`)?"
                ],
            )
        console.print(
            f"[yellow]cannot reach {servers} ({why}); trying again in {delay:.1f} s[/]",
            highlight=False,
        )
        await asyncio.sleep(delay)
        delay = min(delay * 2, 10.0)
    errors: list[str] = []

    async def error_cb(exc: Exception) -> None:
        errors.append(str(exc) or type(exc).__name__)

    try:
        return await asyncio.wait_for(
            nats.connect(**options, error_cb=error_cb), timeout=max(10.0, give_up_s / 2)
        )
    except (TimeoutError, Exception) as exc:
        text = errors[-1] if errors else (str(exc) or type(exc).__name__)
        raise InputError(
            where,
            [
                f"the server at {servers} refused the node's connection ({text}): check its "
                "NKey seed, certificate and CA (`airpicture exercise init` writes them)"
            ],
        ) from None


async def _reachable(urls: list[str]) -> str | None:
    """None when one of the servers accepts a TCP connection, else why not."""
    why = "no server given"
    for url in urls:
        parsed = urlsplit(url)
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(parsed.hostname, parsed.port or 4222), timeout=3.0
            )
        except (OSError, TimeoutError) as exc:
            why = str(exc) or type(exc).__name__
            continue
        writer.close()
        return None
    return why


class _EmbeddedServer:
    """uvicorn inside the node's event loop; the node, not uvicorn, handles signals."""

    def __init__(self, app: Any, sock: socket.socket) -> None:
        import uvicorn

        from airpicture.web.protocol import MAX_CLIENT_MESSAGE_BYTES

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Generator[None, None, None]:
                yield

        config = uvicorn.Config(
            app,
            log_level="warning",
            ws="websockets-sansio",
            ws_max_size=MAX_CLIENT_MESSAGE_BYTES * 4,
            ws_ping_interval=20.0,
            ws_ping_timeout=20.0,
        )
        self.server = Server(config)
        self.sock = sock

    async def serve(self) -> None:
        await self.server.serve(sockets=[self.sock])

    def stop(self) -> None:
        self.server.should_exit = True


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "node",
        help="run one nation's node as a service on NATS JetStream, with its own web page",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    parser.add_argument("config", type=Path, help="node configuration (.yaml)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("nats").setLevel(logging.WARNING)
    logging.getLogger("asyncio").setLevel(logging.ERROR)  # TLS close notes from nats-py
    return asyncio.run(run_node(args.config))


async def run_node(config_path: Path) -> int:
    console = Console()
    where = str(config_path)
    config = load_config(config_path)
    base = config_path.resolve().parent
    o = config.overrides or OverridesConfig()
    loaded = load_scenario(
        resolve(base, config.scenario), ScenarioOverrides(o.seed, o.duration_s, o.count)
    )
    check_sensors(config, loaded, where)
    clock = clock_of(config, where)
    options, domain = connect_options(config, base, where)
    out = resolve(base, config.out)
    nation = config.nation

    web = None
    source = None
    address = None
    service: NodeService | None = None

    def clock_s() -> float:
        return service.clock.now_s() if service is not None else clock.now_s()

    if config.web is not None:
        web, source, address = _web(config, loaded, clock_s, where, console)
        console.print(f"[bold]{nation}[/] picture at [bold]{address}[/]")

    def on_snapshot(snapshot: NodeSnapshot, received: list[Warning]) -> None:
        if source is not None:
            links = service.node.links if service is not None else None
            source.push(snapshot.time_s, snapshot.picture, [*snapshot.warnings, *received], links)

    async def connect() -> Any:
        return await connect_with_retry(options, config.connect_give_up_s, console, where)

    recording, record_connect = recording_of(config, base, where)
    asterix = config.asterix
    service = NodeService(
        loaded,
        nation,
        clock,
        connect,
        out,
        ServiceSettings(
            network=NetworkSettings(
                heartbeat_interval_s=config.liveness.heartbeat_interval_s,
                partner_down_after_s=config.liveness.partner_down_after_s,
            ),
            end_s=config.end_s,
            wait_nats_feed=asterix is None or asterix.nats_feed,
        ),
        on_snapshot=on_snapshot,
        jetstream_domain=domain,
        recording=recording,
        record_connect=record_connect,
        keys=signing_keys(config, base),
    )
    if config.sensors is not None:
        service.sensors.sensor_ids = frozenset(config.sensors)
    if asterix is not None or config.outputs is not None:
        inbox, outputs = asterix_io(config, loaded, base, where)
        service.attach_asterix(
            inbox, asterix.listen if asterix else [], asterix.interface if asterix else "", outputs
        )
        for url in asterix.listen if asterix else []:
            console.print(f"[bold]{nation}[/] ASTERIX in on {url}", highlight=False)
    node_dir = out / "nodes" / nation

    async def ready() -> None:
        assert service is not None
        (node_dir / "ready.json").write_text(
            json.dumps({"pid": os.getpid(), "web": address, "unix_s": time.time()}) + "\n"
        )
        if config.clock.epoch_file is not None:
            epoch_file = resolve(base, config.clock.epoch_file)
            service.set_clock(await wait_for_epoch(epoch_file, config.clock.speed))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    web_task = asyncio.create_task(web.serve()) if web is not None else None
    console.print(
        f"[bold]{nation}[/] node of {loaded.scenario.name} at speed {clock.speed:g}; "
        f"writing {node_dir}"
    )
    try:
        await service.run(stop, ready)
    finally:
        if source is not None:
            source.finish()
        if web is not None and web_task is not None:
            web.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(web_task, 5.0)
    console.print(f"[bold]{nation}[/] node stopped at exercise time {clock_s():.1f} s")
    return 0


def signing_keys(config: NodeConfig, base: Path) -> Keyring | None:
    """The node's keyring: the deployment's, or `nats:`'s seed and public keys; None (bare
    messages, logged) when neither gives them."""
    if config.deployment is not None:
        from airpicture.deploy import Deployment

        deployment = Deployment.load(resolve(base, config.deployment))
        return Keyring.from_deployment(deployment, config.nation)
    n = config.nats
    if n is None or n.seed is None or n.node_public_keys is None:
        return None
    seed = resolve(base, n.seed)
    return Keyring.from_nkeys(config.nation, seed.read_bytes(), n.node_public_keys)


def recording_of(
    config: NodeConfig, base: Path, where: str
) -> tuple[RecordingSettings, Callable[[], Any] | None]:
    """The recording's settings, and a connection to its own server if it has one."""
    r = config.recording
    settings = RecordingSettings(max_age_s=r.max_age_s, max_bytes=r.max_bytes)
    if r.servers is None:
        return settings, None
    token = None
    if r.token_file is not None:
        path = resolve(base, r.token_file)
        if not path.is_file():
            raise InputError(str(path), ["recording.token_file: no such file"])
        token = path.read_text(encoding="ascii").strip()
    options: dict[str, Any] = {
        "servers": list(r.servers),
        "name": f"airpicture-{config.nation}-recorder",
        "connect_timeout": 5,
        "allow_reconnect": True,
        "reconnect_time_wait": 0.5,
        "max_reconnect_attempts": -1,
        **({"token": token} if token else {}),
    }
    console = Console()

    async def connect() -> Any:
        return await connect_with_retry(options, config.connect_give_up_s, console, where)

    return settings, connect


def asterix_io(
    config: NodeConfig, loaded: LoadedScenario, base: Path, where: str
) -> tuple[AsterixInbox | None, PictureOutputs | None]:
    """The ASTERIX inbox and the picture outputs the configuration asks for. Each listen
    address is tried first, so that a port in use is a readable error."""
    from airpicture.cli.ingest import asterix_sensors
    from airpicture.interop.asterix import SystemCode
    from airpicture.network.asterix_io import (
        AsterixInbox,
        CotDestination,
        PictureOutputs,
        UdpAddress,
        listen_socket,
        parse_url,
    )

    scenario = loaded.scenario
    inbox = None
    if config.asterix is not None:
        a = config.asterix
        for i, url in enumerate(a.listen):
            _, host, port = parse_url(url)
            try:
                listen_socket(UdpAddress(host, port), a.interface).close()
            except OSError as exc:
                raise InputError(
                    where, [f"asterix.listen.{i}: cannot listen on {url} ({exc.strerror or exc})"]
                ) from None
        own = config.sensors or [s.id for s in scenario.sensors if s.nation == config.nation]
        inbox = AsterixInbox(asterix_sensors(scenario), own, scenario.epoch, a.future_s)
    outputs = None
    if config.outputs is not None:
        o = config.outputs
        if o.system is not None:
            system = SystemCode(o.system.sac, o.system.sic)
        else:
            system = SystemCode(1 + list(scenario.nations).index(config.nation), 0)
        cot = [
            CotDestination(c.url, c.format, _tls(c, base) if c.url.startswith("tls:") else None)
            for c in o.cot
        ]
        outputs = PictureOutputs(scenario.epoch, system, o.cat062, cot, o.stale_s, o.ttl)
    return inbox, outputs


def _tls(c: CotOutputConfig, base: Path) -> ssl.SSLContext:
    for name in ("ca_file", "client_cert", "client_key"):
        value = getattr(c, name)
        if value is not None and not resolve(base, value).is_file():
            raise InputError(str(resolve(base, value)), [f"outputs.cot: {name}: no such file"])
    cafile = str(resolve(base, c.ca_file)) if c.ca_file else None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    if c.client_cert is not None:
        key = resolve(base, c.client_key) if c.client_key else None
        context.load_cert_chain(resolve(base, c.client_cert), key)
    if c.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _web(
    config: NodeConfig,
    loaded: LoadedScenario,
    clock_s: Callable[[], float],
    where: str,
    console: Console,
) -> tuple[_EmbeddedServer, Any, str]:
    from airpicture.web.app import ServerSettings, create_app
    from airpicture.web.auth import Authenticator, load_users, one_time_accounts
    from airpicture.web.node_source import NodeLiveSource
    from airpicture.web.session import PlaybackSettings

    assert config.web is not None
    base = Path(where).resolve().parent
    source = NodeLiveSource(loaded, config.nation)
    if config.web.users is not None:
        accounts = load_users(resolve(base, config.web.users))
        accounts = {n: a for n, a in accounts.items() if a.nation == config.nation}
        if not accounts:
            raise InputError(
                str(resolve(base, config.web.users)),
                [f"web.users: no account of {config.nation} (`airpicture users add`)"],
            )
    else:
        accounts, passwords = one_time_accounts([config.nation])
        for name, password in passwords.items():
            console.print(f"one-time account: {name}  {password}", markup=False, highlight=False)
    auth = Authenticator(accounts, frozenset([config.nation]))
    speed = config.clock.speed
    settings = ServerSettings(playback=PlaybackSettings(speed=speed), keep_s=config.web.keep_s)
    app = create_app(source, auth, settings, clock_s=clock_s)
    host, port = config.web.host, config.web.port
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise InputError(
            where, [f"web: cannot listen on {host}:{port} ({exc.strerror}); pick another port"]
        ) from exc
    sock.listen(128)
    shown = f"[{host}]" if ":" in host else host
    return _EmbeddedServer(app, sock), source, f"http://{shown}:{sock.getsockname()[1]}"

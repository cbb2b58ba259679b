"""A deployment on disk: `init_exercise` writes it, `Deployment.load` reads it back.

DIR/
  deployment.json            what every client and the supervisor read (this module)
  nats/SERVER.conf           each server's configuration (0600: a leaf's holds its seed)
  nats/jetstream/SERVER/     each server's JetStream store
  nats/logs/SERVER.log       each server's log
  pki/ca.pem                 the exercise CA's certificate (its key, ca-key.pem, only if asked)
  pki/servers/SERVER.pem, SERVER-key.pem   each server's own certificate and key
  pki/NATION/client.pem, client-key.pem
  credentials/NATION/node.nk, feed.nk    NKey seeds (0600)
  credentials/NATION/leaf.nk             multi-server: the nation server's seed at the hub

Paths in deployment.json are relative to DIR, so the folder can be moved or a
nation's part copied to its own machine; `Deployment.load` makes them absolute.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import msgspec

from airpicture.deploy.accounts import (
    ROLES,
    Role,
    Route,
    account_block,
    feed_inbox_prefix,
    routes,
)
from airpicture.deploy.credentials import read_user, write_user
from airpicture.deploy.pki import Authority, check_certificate, validity, write_secret
from airpicture.deploy.server import (
    ServerGroup,
    ServerProcess,
    config_text,
    free_port,
    tls_block,
)
from airpicture.errors import InputError
from airpicture.scenario.load import load_scenario

DEPLOYMENT_FILE = "deployment.json"
FORMAT_VERSION = 1


#: The largest message a server takes (NATS's default is 1 MiB): a track batch at region
#: scale (thousands of tracks, about 450 bytes each, in a signed frame) passes; 8 MiB is
#: the most NATS advises, and what the recording server takes (network/recording.py).
MAX_PAYLOAD_BYTES: Final = 8 * 2**20


class NationAccess(msgspec.Struct, frozen=True, kw_only=True):
    """What a nation's processes need to connect: its account, servers and credentials."""

    account: str
    #: The nation's server(s): the shared one, or its own in the multi-server form.
    servers: list[str]
    node_seed: str
    feed_seed: str
    node_public_key: str
    feed_public_key: str
    client_cert: str
    client_key: str
    ca_file: str
    #: The JetStream domain of the nation's server (multi-server form), else None.
    jetstream_domain: str | None = None


class ServerSpec(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    config: str
    host: str
    client_port: int
    #: The port a hub accepts leaf-node connections on (multi-server form).
    leafnode_port: int | None = None
    jetstream_dir: str
    log_file: str
    #: Nations whose JetStream (streams, consumers) this server holds.
    jetstream_accounts: list[str]
    #: Nations whose leaf connections must be up before this server counts as ready.
    leaf_of: list[str] = []
    #: The hub this server dials as a leaf node (multi-server form), else None.
    hub: str | None = None


class RouteSpec(msgspec.Struct, frozen=True, kw_only=True):
    sender: str
    receiver: str
    kind: str
    subject: str


class Deployment(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a deployment's clients and supervisor need, as written by `init_exercise`."""

    version: int = FORMAT_VERSION
    directory: str
    scenario: str
    created_utc: str
    certificates_expire_utc: str
    host: str
    tls_hostname: str
    #: Client URLs of every server (tls://host:port), hub first.
    servers: list[str]
    #: Configuration file of every server, hub first.
    server_config: list[str]
    jetstream_dir: str
    ca_file: str
    nations: dict[str, NationAccess]
    server_specs: list[ServerSpec]
    routes: list[RouteSpec]
    multi_server: bool = False

    @property
    def file(self) -> Path:
        return Path(self.directory) / DEPLOYMENT_FILE

    def nation(self, code: str) -> NationAccess:
        try:
            return self.nations[code]
        except KeyError:
            raise InputError(
                str(self.file),
                [f"unknown nation {code!r}: this deployment has {', '.join(sorted(self.nations))}"],
            ) from None

    def allows(self, sender: str, receiver: str, kind: str) -> bool:
        """Whether the server routes `kind` messages from `sender` to `receiver`."""
        return any(
            r.sender == sender and r.receiver == receiver and r.kind == kind for r in self.routes
        )

    @classmethod
    def load(cls, out_dir: str | Path) -> Deployment:
        root = Path(out_dir).resolve()
        path = root / DEPLOYMENT_FILE
        try:
            raw = msgspec.json.decode(path.read_bytes())
        except FileNotFoundError:
            raise InputError(
                str(path), ["no deployment here: run `airpicture exercise init SCENARIO --out DIR`"]
            ) from None
        except msgspec.DecodeError as exc:
            raise InputError(str(path), [f"not a deployment file ({exc})"]) from None
        raw["directory"] = str(root)
        try:
            return msgspec.convert(_paths(raw, lambda p: str(root / p)), cls)
        except msgspec.ValidationError as exc:
            raise InputError(str(path), [f"not a deployment file ({exc})"]) from None

    def save(self) -> Path:
        root = Path(self.directory)
        raw = msgspec.to_builtins(self)
        raw = _paths(raw, lambda p: _relative(p, root))
        raw.pop("directory")
        self.file.write_bytes(msgspec.json.format(msgspec.json.encode(raw), indent=2) + b"\n")
        return self.file


#: Keys whose string values are paths (relative to DIR on disk).
_PATH_KEYS = frozenset(
    {
        "scenario",
        "node_seed",
        "feed_seed",
        "client_cert",
        "client_key",
        "ca_file",
        "config",
        "jetstream_dir",
        "log_file",
        "server_config",
    }
)


def _paths(value: Any, convert: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: _paths(v, convert, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_paths(v, convert, key) for v in value]
    if key in _PATH_KEYS and isinstance(value, str):
        return convert(value)
    return value


def _relative(path: str, root: Path) -> str:
    p = Path(path)
    try:
        return str(p.relative_to(root))
    except ValueError:
        return str(p)


# ---------------------------------------------------------------------------- init


def init_exercise(
    scenario_path: str | Path,
    out_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    client_port: int | None = None,
    servers_per_nation: bool = False,
    valid_days: float = 30.0,
    extra_server_names: tuple[str, ...] = (),
    keep_ca_key: bool = False,
    now: datetime | None = None,
) -> Deployment:
    """Write a deployment for the scenario's nations into `out_dir` and return it.

    One server for every nation, or with `servers_per_nation` one per nation
    joined by leaf nodes to the first nation's (the hub). `client_port` is the
    (first) server's client port; free ports are picked for anything not given.
    The CA's key is kept (pki/ca-key.pem, 0600) only if asked, to issue more
    certificates later; otherwise a new certificate means a new deployment.
    """
    loaded = load_scenario(scenario_path)
    root = Path(out_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    moment = now or datetime.now(UTC)
    not_before, not_after = validity(valid_days, moment)
    ca = Authority(f"airpicture exercise CA {moment:%Y-%m-%dT%H:%MZ}", not_before, not_after)
    ca_file = ca.write(
        root / "pki" / "ca.pem", root / "pki" / "ca-key.pem" if keep_ca_key else None
    ).cert_file
    server_names = (host, "localhost", "127.0.0.1", socket.gethostname(), *extra_server_names)
    writer = _Writer(
        root, host, ca, ca_file, tuple(dict.fromkeys(server_names)), routes(loaded.scenario)
    )
    nations = sorted(loaded.scenario.nations)
    access_files = {n: writer.nation_credentials(n) for n in nations}
    if servers_per_nation:
        server_of = writer.servers_per_nation(nations, client_port)
    else:
        server_of = writer.one_server(nations, client_port)
    specs = list({s.name: s for s in server_of.values()}.values())
    specs.sort(key=lambda s: s.hub is not None)  # the hub (or the one server) first
    deployment = Deployment(
        directory=str(root),
        scenario=str(loaded.path.resolve()),
        created_utc=moment.isoformat(timespec="seconds"),
        certificates_expire_utc=not_after.isoformat(timespec="seconds"),
        host=host,
        tls_hostname=reachable(host),
        servers=[_url(s) for s in specs],
        server_config=[s.config for s in specs],
        jetstream_dir=str(writer.js_root),
        ca_file=str(ca_file),
        nations={
            n: NationAccess(
                account=n,
                servers=[_url(server_of[n])],
                node_public_key=writer.users[n]["node"],
                feed_public_key=writer.users[n]["feed"],
                ca_file=str(ca_file),
                jetstream_domain=n if servers_per_nation else None,
                **access_files[n],
            )
            for n in nations
        },
        server_specs=specs,
        routes=[
            RouteSpec(sender=r.sender, receiver=r.receiver, kind=r.kind, subject=r.subject)
            for r in writer.routes
        ],
        multi_server=servers_per_nation,
    )
    deployment.save()
    return deployment


class _Writer:
    """Writes a deployment's credentials, certificates and server configurations."""

    def __init__(
        self,
        root: Path,
        host: str,
        ca: Authority,
        ca_file: Path,
        server_names: tuple[str, ...],
        all_routes: list[Route],
    ) -> None:
        self.root = root
        self.host = host
        self.ca = ca
        self.ca_file = ca_file
        self.server_names = server_names
        self.routes = all_routes
        self.pki = root / "pki"
        self.creds = root / "credentials"
        self.nats_dir = root / "nats"
        self.js_root = self.nats_dir / "jetstream"
        self.users: dict[str, dict[Role, str]] = {}

    def nation_credentials(self, nation: str) -> dict[str, str]:
        """The nation's NKey users and client certificate: {field of NationAccess: path}."""
        made = {role: write_user(self.creds / nation / f"{role}.nk") for role in ROLES}
        self.users[nation] = {role: made[role].public_key for role in ROLES}
        client = self.ca.issue(
            f"airpicture {nation}",
            self.pki / nation / "client.pem",
            self.pki / nation / "client-key.pem",
        )
        return {
            "node_seed": str(made["node"].seed_file),
            "feed_seed": str(made["feed"].seed_file),
            "client_cert": str(client.cert_file),
            "client_key": str(client.key_file),
        }

    def here(self, path: str | Path) -> str:
        """A path as the configurations name it: relative to nats/, where the servers start,
        so the folder (or a nation's part of it) can move to another place or machine."""
        return os.path.relpath(path, self.nats_dir)

    def server_tls(self, name: str) -> dict[str, Any]:
        """A server's own certificate (no nation holds another's server key)."""
        cert = self.ca.issue(
            f"airpicture {name}",
            self.pki / "servers" / f"{name}.pem",
            self.pki / "servers" / f"{name}-key.pem",
            server_names=self.server_names,
        )
        return tls_block(
            Path(self.here(cert.cert_file)),
            Path(self.here(cert.key_file)),
            Path(self.here(self.ca_file)),
            verify=True,
        )

    def spec(
        self,
        name: str,
        port: int,
        js: list[str],
        *,
        leafnode_port: int | None = None,
        leaf_of: list[str] | None = None,
        hub: str | None = None,
    ) -> ServerSpec:
        spec = ServerSpec(
            name=name,
            config=str(self.nats_dir / f"{name}.conf"),
            host=self.host,
            client_port=port,
            leafnode_port=leafnode_port,
            jetstream_dir=str(self.js_root / name),
            log_file=str(self.nats_dir / "logs" / f"{name}.log"),
            jetstream_accounts=js,
            leaf_of=leaf_of or [],
            hub=hub,
        )
        Path(spec.jetstream_dir).mkdir(parents=True, exist_ok=True)
        return spec

    def server_config(self, spec: ServerSpec, domain: str | None) -> dict[str, Any]:
        """What every server's configuration holds: name, listener, TLS, JetStream."""
        jetstream: dict[str, Any] = {"store_dir": self.here(spec.jetstream_dir)}
        if domain is not None:
            jetstream["domain"] = domain
        return {
            "server_name": spec.name,
            "host": self.host,
            "port": spec.client_port,
            "tls": self.server_tls(spec.name),
            "jetstream": jetstream,
            "max_payload": MAX_PAYLOAD_BYTES,
        }

    @staticmethod
    def write(spec: ServerSpec, config: dict[str, Any], title: str) -> None:
        write_secret(Path(spec.config), config_text(config, title).encode())

    def one_server(self, nations: list[str], client_port: int | None) -> dict[str, ServerSpec]:
        """One server holding every nation's account and the links between them."""
        single = self.spec("airpicture", client_port or free_port(self.host), nations)
        config = self.server_config(single, None) | {
            "accounts": {n: account_block(n, self.users[n], self.routes) for n in nations}
        }
        self.write(single, config, "airpicture: one server, every nation's account")
        return {n: single for n in nations}

    def servers_per_nation(
        self, nations: list[str], client_port: int | None
    ) -> dict[str, ServerSpec]:
        """A server per nation; the first nation's is the hub holding every account's links."""
        hub_nation, others = nations[0], nations[1:]
        ports = [
            client_port + i if client_port else free_port(self.host) for i in range(len(nations))
        ]
        hub = self.spec(
            f"ap-{hub_nation}",
            ports[0],
            [hub_nation],
            leafnode_port=free_port(self.host),
            leaf_of=others,
        )
        leaf_seeds = {n: write_user(self.creds / n / "leaf.nk") for n in others}
        accounts = {hub_nation: account_block(hub_nation, self.users[hub_nation], self.routes)}
        for n in others:
            # At the hub, a partner's account has no users but its server's leaf connection
            # (which may log in as a leaf only), and no JetStream: its streams are on its server.
            block = account_block(n, self.users[n], self.routes, jetstream=False)
            block["users"] = [
                {"nkey": leaf_seeds[n].public_key, "allowed_connection_types": ["LEAFNODE"]}
            ]
            accounts[n] = block
        config = self.server_config(hub, hub_nation)
        config |= {
            "accounts": accounts,
            "leafnodes": {"host": self.host, "port": hub.leafnode_port, "tls": config["tls"]},
        }
        self.write(hub, config, f"airpicture: {hub_nation}'s server, the leaf-node hub")
        server_of = {hub_nation: hub}
        for n, port in zip(others, ports[1:], strict=True):
            leaf = self.spec(f"ap-{n}", port, [n], hub=hub.name)
            config = self.server_config(leaf, n)
            remote = {
                "url": f"nats-leaf://{reachable(self.host)}:{hub.leafnode_port}",
                "account": n,
                "nkey": leaf_seeds[n].seed_file.read_text().strip(),
                # Its own certificate, presented to the hub as a client's.
                "tls": {k: v for k, v in config["tls"].items() if k != "verify"},
            }
            config |= {
                # Only its own account: the exports/imports between accounts live at the hub.
                "accounts": {n: account_block(n, self.users[n], self.routes, links=False)},
                "leafnodes": {"remotes": [remote]},
            }
            self.write(leaf, config, f"airpicture: {n}'s server, a leaf node of {hub.name}")
            server_of[n] = leaf
        return server_of


def _url(spec: ServerSpec) -> str:
    return f"tls://{reachable(spec.host)}:{spec.client_port}"


def _tls_of(spec: ServerSpec) -> dict[str, Any]:
    """The `tls` block of a server's configuration."""
    text = Path(spec.config).read_text()
    config: dict[str, Any] = json.loads(text[text.index("{") :])
    tls: dict[str, Any] = config["tls"]
    return tls


def reachable(host: str) -> str:
    """The address local clients dial for a server listening on `host` (a wildcard: loopback)."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def route_list(deployment: Deployment) -> list[Route]:
    return [Route(r.sender, r.receiver, r.kind) for r in deployment.routes]


# ---------------------------------------------------------------------------- clients


def tls_context(deployment: Deployment, nation: str) -> ssl.SSLContext:
    """A client TLS context: trusts only the exercise CA, presents the nation's certificate."""
    access = deployment.nation(nation)
    check_certificate(Path(access.ca_file), "the exercise CA certificate")
    check_certificate(Path(access.client_cert), f"{nation}'s client certificate")
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=access.ca_file)
    try:
        context.load_cert_chain(access.client_cert, access.client_key)
    except FileNotFoundError:
        raise InputError(
            access.client_key,
            [f"{nation}'s client key is missing: run `airpicture exercise init` again"],
        ) from None
    except ssl.SSLError as exc:
        raise InputError(
            access.client_key,
            [
                f"{nation}'s client key does not match its certificate or cannot be read ({exc}):"
                " run `airpicture exercise init` again"
            ],
        ) from None
    return context


def connect_options(deployment: Deployment, nation: str, role: Role) -> dict[str, Any]:
    """Keyword arguments for `nats.connect(**options)` as `nation`'s `role` user.

    Checks the seed and the certificates first, so a wrong or missing file or
    an expired certificate is one readable `InputError`, not a failed handshake.
    The options reconnect forever once connected (a node outlives a server
    restart); nats-py then also retries the *first* connection forever, so a
    caller that must give up bounds it (e.g. probe first with
    `allow_reconnect=False`, as `airpicture node` does).
    """
    access = deployment.nation(nation)
    if role not in ROLES:
        raise InputError("role", [f"unknown role {role!r}: one of {', '.join(ROLES)}"])
    seed_file = access.node_seed if role == "node" else access.feed_seed
    expected = access.node_public_key if role == "node" else access.feed_public_key
    read_user(Path(seed_file), expected)
    options: dict[str, Any] = {
        "servers": list(access.servers),
        "nkeys_seed": seed_file,
        "tls": tls_context(deployment, nation),
        "tls_hostname": deployment.tls_hostname,
        "name": f"airpicture-{nation}-{role}",
        "connect_timeout": 5,
        "allow_reconnect": True,
        "reconnect_time_wait": 1,
        "max_reconnect_attempts": -1,
    }
    if role == "feed":
        options["inbox_prefix"] = feed_inbox_prefix(nation)
    return options


# ---------------------------------------------------------------------------- servers


def start_servers(deployment: Deployment, timeout_s: float = 30.0) -> ServerGroup:
    """Start every server of the deployment (hub first) and wait until all are ready.

    Use as a context manager: `with start_servers(d) as servers: ...` stops them on exit.
    """
    check_certificate(Path(deployment.ca_file), "the exercise CA certificate")
    for spec in deployment.server_specs:
        cert = Path(spec.config).parent / _tls_of(spec)["cert_file"]
        check_certificate(cert, f"server {spec.name}'s certificate")
    processes = [
        ServerProcess(
            name=s.name,
            config_file=Path(s.config),
            client_port=s.client_port,
            host=s.host,
            log_file=Path(s.log_file),
            # A hub is ready once every nation server's leaf connection is up, a nation's
            # server once its own is.
            ready_lines={
                "Server is ready": 1,
                "Leafnode connection created": len(s.leaf_of) + (s.hub is not None),
            },
        )
        for s in deployment.server_specs
    ]
    return ServerGroup(processes, timeout_s).start()

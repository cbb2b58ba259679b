"""Shared pieces of the web tests: accounts, an app over a source, a real server on port 0."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from airpicture.web.app import ServerSettings, create_app
from airpicture.web.auth import Account, Authenticator, make_account
from airpicture.web.sources import PictureSource
from airpicture.web.views import view_rules

PASSWORDS = {"usa": "usa-password-1", "jpn": "jpn-password-1", "aus": "aus-password-1"}
NATION_OF = {"usa": "USA", "jpn": "JPN", "aus": "AUS", "control": "ALL", "fra": "FRA"}
PASSWORDS |= {"control": "control-password-1", "fra": "fra-password-1"}

_ACCOUNTS: dict[str, Account] = {}


def accounts() -> dict[str, Account]:
    """One account per nation (hashing is slow: made once per test session)."""
    if not _ACCOUNTS:
        for name, password in PASSWORDS.items():
            _ACCOUNTS[name] = make_account(name, NATION_OF[name], password)
    return _ACCOUNTS


def make_app(
    source: PictureSource,
    settings: ServerSettings | None = None,
    clock_s: Callable[[], float] | None = None,
) -> FastAPI:
    auth = Authenticator(accounts(), frozenset(view_rules(source.info)))
    return create_app(source, auth, settings, clock_s)


def sign_in(client: TestClient, user: str) -> None:
    r = client.post("/api/login", json={"user": user, "password": PASSWORDS[user]})
    assert r.status_code == 200, r.text


def receive(ws: Any) -> dict[str, Any]:
    message: dict[str, Any] = msgspec.json.decode(ws.receive_bytes())
    return message


def receive_until(ws: Any, kind: str, limit: int = 200) -> dict[str, Any]:
    for _ in range(limit):
        message = receive(ws)
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind!r} message in {limit}")


class ServerThread:
    """A real uvicorn server for `app`, on 127.0.0.1 and a free port, in a thread."""

    def __init__(self, app: FastAPI) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_level="warning", ws="websockets-sansio", ws_max_size=4096, lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextmanager
def running(app: FastAPI) -> Iterator[ServerThread]:
    server = ServerThread(app).start()
    try:
        yield server
    finally:
        server.stop()

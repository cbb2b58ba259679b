"""A browser that reads too slowly is dropped; the others keep being served (real uvicorn)."""

from __future__ import annotations

import base64
import os
import socket
import time

import httpx
from websockets.sync.client import connect

from airpicture.web.app import COOKIE, ServerSettings
from airpicture.web.session import PlaybackSettings
from airpicture.web.synthetic import SyntheticSource
from tests.web.helpers import PASSWORDS, make_app, running


def _login(base: str, user: str) -> str:
    r = httpx.post(f"{base}/api/login", json={"user": user, "password": PASSWORDS[user]})
    r.raise_for_status()
    return r.cookies[COOKIE]


def _stalled_client(port: int, token: str) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads again."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nCookie: {COOKIE}={token}\r\n\r\n"
        ).encode()
    )
    assert sock.recv(12).startswith(b"HTTP/1.1 101")
    return sock


def test_a_client_that_stops_reading_is_dropped_while_others_are_served() -> None:
    # ~100 kB frames twenty times a second: a socket nobody reads fills up within seconds.
    source = SyntheticSource(
        2000, interval_s=0.5, duration_s=60.0, nations=("USA", "JPN"), mode="replay"
    )
    settings = ServerSettings(
        playback=PlaybackSettings(speed=10.0, trail_frames=0), send_timeout_s=1.0, tick_s=0.05
    )
    app = make_app(source, settings)
    with running(app) as server:
        stalled = _stalled_client(server.port, _login(server.url, "jpn"))
        with connect(
            f"ws://127.0.0.1:{server.port}/ws",
            additional_headers={"cookie": f"{COOKIE}={_login(server.url, 'usa')}"},
            max_size=None,
        ) as good:
            hub = app.state.hub
            started = time.monotonic()
            messages = 0
            # Read only the good socket until the server gives up on the stalled one.
            while len(hub.sockets) > 1 and time.monotonic() < started + 30:
                good.recv(timeout=5)
                messages += 1
            dropped_after_s = time.monotonic() - started
            assert len(hub.sockets) == 1, "the stalled reader was never dropped"
            for _ in range(20):
                good.recv(timeout=5)
        stalled.close()
    assert messages > 10
    assert dropped_after_s < 20

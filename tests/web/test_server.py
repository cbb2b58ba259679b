"""The COP server: sign-in, per-nation isolation on every endpoint, and bad input."""

from __future__ import annotations

import time
from collections.abc import Iterator

import msgspec
import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from airpicture.threat.warning import Warning
from airpicture.web.app import COOKIE, ServerSettings
from airpicture.web.session import PlaybackSettings
from airpicture.web.synthetic import SyntheticSource, visible_to
from tests.web.helpers import PASSWORDS, make_app, receive, receive_until

N_TRACKS = 30
WARNINGS = msgspec.convert([
    {"time_s": 2.0, "warning_id": "W1", "kind": "launch", "track_id": "TN00003",
     "recipients": ["USA", "JPN", "AUS"], "text": "launch for all"},
    {"time_s": 3.0, "warning_id": "W2", "kind": "passed_over", "track_id": "TN00003",
     "recipients": ["JPN"], "text": "for Japan only"},
], list[Warning])  # fmt: skip


def _allowed(nation: str) -> set[str]:
    index = np.arange(N_TRACKS)
    return {f"TN{i:05d}" for i in index[visible_to(nation, index)]}


@pytest.fixture
def client() -> Iterator[TestClient]:
    source = SyntheticSource(
        N_TRACKS, interval_s=1.0, duration_s=60.0, mode="replay", warnings=WARNINGS
    )
    app = make_app(source, ServerSettings(playback=PlaybackSettings(speed=20.0), tick_s=0.02))
    with TestClient(app) as c:
        yield c


def _token(client: TestClient, user: str) -> str:
    r = client.post("/api/login", json={"user": user, "password": PASSWORDS[user]})
    assert r.status_code == 200, r.text
    token = r.cookies[COOKIE]
    client.cookies.clear()
    return token


def _ws(client: TestClient, token: str | None, path: str = "/ws", **headers: str):  # type: ignore[no-untyped-def]
    cookie = {"cookie": f"{COOKIE}={token}"} if token else {}
    return client.websocket_connect(path, headers={**cookie, **headers})


def _ids_seen(ws, frames: int) -> tuple[set[str], list[dict]]:  # type: ignore[no-untyped-def, type-arg]
    seen: set[str] = set()
    warnings: list[dict] = []  # type: ignore[type-arg]
    got = 0
    while got < frames:
        m = receive(ws)
        if m["type"] == "frame":
            got += 1
            seen |= set(m["ids"]) | {meta[0] for meta in m["meta"]} | set(m["removed"])
        elif m["type"] == "warnings":
            warnings += m["items"]
    return seen, warnings


def test_a_session_gets_hello_then_its_nations_picture(client: TestClient) -> None:
    token = _token(client, "jpn")
    with _ws(client, token) as ws:
        hello = receive(ws)
        assert hello["type"] == "hello" and hello["viewer"] == "JPN" and hello["user"] == "jpn"
        seen, warnings = _ids_seen(ws, 6)
    assert seen and seen <= _allowed("JPN")
    assert [w["warning_id"] for w in warnings] == ["W1", "W2"]


@pytest.mark.parametrize("user", ["usa", "aus"])
def test_a_nation_never_receives_another_nations_tracks_or_warnings(
    client: TestClient, user: str
) -> None:
    nation = user.upper()
    token = _token(client, user)
    with _ws(client, token) as ws:
        assert receive(ws)["viewer"] == nation
        seen, warnings = _ids_seen(ws, 8)
    assert seen <= _allowed(nation)
    assert all(nation in w["recipients"] for w in warnings)
    assert "W2" not in {w["warning_id"] for w in warnings}


def test_every_way_of_asking_for_another_nations_picture_is_refused(client: TestClient) -> None:
    token = _token(client, "aus")
    cookie = {"cookie": f"{COOKIE}={token}"}
    # HTTP: no endpoint takes a viewer; parameters are ignored, guesses are 404.
    r = client.get("/api/session?viewer=JPN", headers=cookie)
    assert r.json()["viewer"] == "AUS"
    for path in [
        "/api/picture", "/api/picture?viewer=JPN", "/api/tracks", "/api/viewers/JPN",
        "/api/session/JPN", "/openapi.json", "/docs", "/redoc", "/ws/JPN",
        "/static/../app.py", "/vendor/cesium/../../package.json", "/vendor/../pyproject.toml",
    ]:  # fmt: skip
        r = client.get(path, headers=cookie)
        assert r.status_code == 404, path
    # Sign-in cannot choose a nation, nor use another account's password.
    r = client.post(
        "/api/login", json={"user": "aus", "password": PASSWORDS["aus"], "nation": "JPN"}
    )
    assert r.status_code == 422
    r = client.post("/api/login", json={"user": "jpn", "password": PASSWORDS["aus"]})
    assert r.status_code == 401
    client.cookies.clear()
    # WebSocket: a viewer in the URL is ignored; the session's nation is served.
    with _ws(client, token, "/ws?viewer=JPN&nation=JPN") as ws:
        assert receive(ws)["viewer"] == "AUS"
        seen, _ = _ids_seen(ws, 3)
        assert seen <= _allowed("AUS")
    # Asking over the socket is a malformed message: refused, and the socket closed.
    with _ws(client, token) as ws:
        receive(ws)
        ws.send_text('{"type": "control", "op": "play", "viewer": "JPN"}')
        error = receive_until(ws, "error")
        assert error["code"] == "bad_message"
        with pytest.raises(WebSocketDisconnect) as closed:
            for _ in range(100):
                m = receive(ws)
                assert m["type"] != "frame" or set(m["ids"]) <= _allowed("AUS")
        assert closed.value.code == 1008
    # No cookie, a forged cookie, or another site's page: no socket at all.
    for bad_token, headers in [
        (None, {}),
        ("forged-token", {}),
        (token + "x", {}),
        (token, {"origin": "http://evil.example"}),
    ]:
        with pytest.raises(WebSocketDisconnect), _ws(client, bad_token, **headers) as ws:
            receive(ws)
    # Signed out: the cookie is dead everywhere.
    client.post("/api/logout", headers=cookie)
    assert client.get("/api/session", headers=cookie).status_code == 401
    with pytest.raises(WebSocketDisconnect), _ws(client, token) as ws:
        receive(ws)


def test_wrong_credentials_and_unknown_nations_are_refused(client: TestClient) -> None:
    assert client.post("/api/login", json={"user": "usa", "password": "nope"}).status_code == 401
    assert client.post("/api/login", json={"user": "ghost", "password": "x" * 9}).status_code == 401
    r = client.post("/api/login", json={"user": "fra", "password": PASSWORDS["fra"]})
    assert r.status_code == 403 and "FRA" in r.json()["error"]
    for body in [b"", b"{", b'{"user": 1, "password": 2}', b"x" * 10_000]:
        assert client.post("/api/login", content=body).status_code in (413, 422)
    r = client.post(
        "/api/login",
        json={"user": "usa", "password": PASSWORDS["usa"]},
        headers={"origin": "http://evil.example"},
    )
    assert r.status_code == 403
    for _ in range(5):
        client.post("/api/login", json={"user": "jpn", "password": "wrong-one"})
    r = client.post("/api/login", json={"user": "jpn", "password": PASSWORDS["jpn"]})
    assert r.status_code == 429


def test_a_misbehaving_or_vanishing_session_leaves_the_others_served(client: TestClient) -> None:
    usa, jpn, aus = (_token(client, u) for u in ("usa", "jpn", "aus"))
    with _ws(client, usa) as good:
        receive(good)
        _ids_seen(good, 2)
        with _ws(client, jpn) as bad:
            receive(bad)
            bad.send_bytes(b"\x00\xffgarbage")
            assert receive_until(bad, "error")["code"] == "bad_message"
        with _ws(client, aus) as leaver:
            receive(leaver)
            receive(leaver)
            # leaves mid-stream without a close handshake
        seen, _ = _ids_seen(good, 3)
        assert seen <= _allowed("USA")
        hub = client.app.state.hub  # type: ignore[attr-defined]
        deadline = time.monotonic() + 5
        while set(hub.sockets) != {usa} and time.monotonic() < deadline:
            _ids_seen(good, 1)
        assert set(hub.sockets) == {usa}


def test_time_controls_pause_seek_and_speed(client: TestClient) -> None:
    token = _token(client, "usa")
    with _ws(client, token) as ws:
        receive(ws)
        _ids_seen(ws, 3)
        ws.send_text('{"type": "control", "op": "pause"}')
        clock = receive_until(ws, "clock")
        while not clock["paused"]:
            clock = receive_until(ws, "clock")
        ws.send_text('{"type": "control", "op": "seek", "value": 40}')
        frame = receive_until(ws, "frame")
        while not frame["reset"]:
            frame = receive_until(ws, "frame")
        assert frame["catchup"] and frame["time_s"] < 40
        while frame["catchup"]:
            frame = receive_until(ws, "frame")
        assert frame["time_s"] == 40.0
        ws.send_text('{"type": "control", "op": "speed", "value": 5}')
        clock = receive_until(ws, "clock")
        while clock["speed"] != 5:
            clock = receive_until(ws, "clock")
        assert clock["paused"] and clock["time_s"] == 40.0

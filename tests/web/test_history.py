"""A track's whole history on demand (the detail panel's "Show history"): from the server's
log of the viewer's pictures, since the track started there — whenever the page joined —
bounded per track, never past the session's time, and only from the session's own picture."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest
from fastapi.testclient import TestClient

from airpicture.web.app import ServerSettings
from airpicture.web.protocol import (
    MAX_TRACK_ID_CHARS,
    Control,
    HistoryRequest,
    ProtocolError,
    TrackHistory,
    decode_client,
)
from airpicture.web.session import FrameLog, PlaybackSettings, Player
from airpicture.web.synthetic import SyntheticSource, visible_to
from tests.web.helpers import make_app, receive_until, sign_in


def _picture(ids: list[str], time_s: float) -> dict[str, np.ndarray]:
    """Tracks moving north at 100 m/s from 30°N, each climbing 1 m/s from 1,000 m."""
    n = len(ids)
    return {
        "time_s": np.full(n, time_s),
        "viewer": np.full(n, "JPN", dtype=object),
        "track_id": np.array(ids, dtype=object),
        "lat_deg": np.full(n, 30.0 + time_s * 100.0 / 111_000.0),
        "lon_deg": np.full(n, 130.0),
        "alt_m": np.full(n, 1000.0 + time_s),
        "vel_e_mps": np.zeros(n),
        "vel_n_mps": np.full(n, 100.0),
        "vel_u_mps": np.ones(n),
        "cls": np.full(n, "aircraft", dtype=object),
        "identity": np.full(n, "hostile", dtype=object),
        "sources": _sources(n),
    }


def _sources(n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[:] = [["S1"] for _ in range(n)]
    return out


def _log(times: range, history_points: int = 512) -> FrameLog:
    """Track A from the first picture, B from t = 100 s, C gone after t = 50 s."""
    log = FrameLog("JPN", history_points)
    for t in times:
        ids = ["A"] + (["B"] if t >= 100 else []) + (["C"] if t <= 50 else [])
        log.add(float(t), _picture(ids, float(t)), [])
    return log


def _ask(player: Player, track_id: str) -> TrackHistory:
    player.receive(decode_client(encode_request(track_id)), "jpn")
    (answer,) = [m for m in player.step() if isinstance(m, TrackHistory)]
    return answer


def encode_request(track_id: str) -> bytes:
    return msgspec.json.encode({"type": "history", "track_id": track_id})


@pytest.mark.parametrize(
    "raw",
    [
        b'{"type": "history"}',
        b'{"type": "history", "track_id": ""}',
        b'{"type": "history", "track_id": 12}',
        b'{"type": "history", "track_id": "A", "viewer": "USA"}',
        b'{"type": "history", "track_id": "' + b"9" * (MAX_TRACK_ID_CHARS + 1) + b'"}',
    ],
)
def test_a_bad_history_request_is_refused(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_client(raw)


def test_a_history_request_decodes() -> None:
    assert decode_client(encode_request("TN00012")) == HistoryRequest("history", "TN00012")


def test_a_late_live_session_gets_the_whole_life_of_a_track() -> None:
    log = _log(range(0, 301, 5))
    # Joins at 300 s, following the head: its frames hold only the last few pictures.
    late = Player(log, live=True, start_s=0.0, end_s=600.0, head_s=lambda: 300.0)
    late.step()
    a, b = _ask(late, "A"), _ask(late, "B")
    assert a.time_s == [float(t) for t in range(0, 301, 5)]
    assert b.time_s[0] == 100.0 and b.time_s[-1] == 300.0
    assert b.alt_m == [1000.0 + t for t in b.time_s]
    assert b.speed_mps == [round(math.hypot(100.0, 1.0), 1)] * len(b.time_s)
    assert b.lat_deg[-1] == pytest.approx(30.0 + 300 * 100.0 / 111_000.0, abs=1e-6)
    # A track gone from the picture still has its history; one never held has none.
    assert _ask(late, "C").time_s[-1] == 50.0
    nobody = _ask(late, "NOPE")
    assert nobody.track_id == "NOPE" and nobody.time_s == [] and nobody.lat_deg == []


def test_a_replay_session_is_told_no_more_than_its_own_time() -> None:
    log = _log(range(0, 301, 5))
    player = Player(log, live=False, start_s=0.0, end_s=300.0, head_s=lambda: 300.0)
    player.control(Control("control", "seek", 152.0))
    player.step()
    history = _ask(player, "B")
    assert history.time_s == [float(t) for t in range(100, 151, 5)]


def test_a_long_life_is_thinned_to_the_bound_and_still_spans_it() -> None:
    log = _log(range(0, 3601, 5), history_points=16)
    player = Player(log, live=True, start_s=0.0, end_s=3600.0, head_s=lambda: 3600.0)
    player.step()
    history = _ask(player, "A")
    assert len(history.time_s) <= 16 + 1
    assert history.time_s[0] == 0.0 and history.time_s[-1] == 3600.0
    gaps = np.diff(history.time_s)
    assert (gaps > 0).all() and gaps.max() <= 2 * history.spacing_s
    assert history.spacing_s >= 3600.0 / 16


def test_only_the_sessions_own_picture_answers() -> None:
    source = SyntheticSource(30, interval_s=1.0, duration_s=60.0, nations=("USA", "JPN"))
    settings = ServerSettings(playback=PlaybackSettings(speed=50.0))
    ids = np.array([f"TN{i:05d}" for i in range(30)])
    usa_only = str(ids[~visible_to("JPN", np.arange(30))][0])
    shared = str(ids[visible_to("JPN", np.arange(30))][0])
    with TestClient(make_app(source, settings)) as client:
        sign_in(client, "jpn")
        with client.websocket_connect("/ws") as ws:
            receive_until(ws, "frame")
            for track_id, held in ((usa_only, False), (shared, True)):
                ws.send_bytes(encode_request(track_id))
                answer = receive_until(ws, "history")
                assert answer["track_id"] == track_id
                assert bool(answer["time_s"]) is held
            # A malformed request is refused like any bad message, and the socket closed.
            ws.send_bytes(b'{"type": "history", "track_id": ""}')
            assert receive_until(ws, "error")["code"] == "bad_message"

"""The wire protocol (sans-I/O) and the picture deltas: round trips and refusals."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.web.deltas import apply_delta, picture_delta
from airpicture.web.protocol import (
    MAX_CLIENT_MESSAGE_BYTES,
    Control,
    EncodedFrame,
    Frame,
    ProtocolError,
    TrackMeta,
    decode_client,
    encode,
)
from airpicture.web.session import FrameLog, Player
from airpicture.web.synthetic import SyntheticSource


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"type": "control", "op": "pause"}', Control("control", "pause")),
        (b'{"type": "control", "op": "play"}', Control("control", "play")),
        (b'{"type": "control", "op": "speed", "value": 10}', Control("control", "speed", 10.0)),
        ('{"type": "control", "op": "seek", "value": 120.5}', Control("control", "seek", 120.5)),
        (b'{"type": "control", "op": "live"}', Control("control", "live")),
    ],
)
def test_control_messages_decode(raw: bytes | str, expected: Control) -> None:
    assert decode_client(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[1, 2, 3]",
        b'{"op": "pause"}',  # no type
        b'{"type": "subscribe", "viewer": "JPN"}',  # no such message
        b'{"type": "control", "op": "pause", "viewer": "JPN"}',  # no such field
        b'{"type": "control", "op": "rewind"}',
        b'{"type": "control", "op": "seek"}',  # needs a value
        b'{"type": "control", "op": "seek", "value": "120"}',
        b'{"type": "control", "op": "speed", "value": 0}',
        b'{"type": "control", "op": "speed", "value": -2}',
        b'{"type": "control", "op": "speed", "value": 1e9}',
        b'{"type": "control", "op": "seek", "value": NaN}',
        b"\xff\xfe\x00",
        b'{"type": "control", "op": "pause", "value": ' + b"1" * MAX_CLIENT_MESSAGE_BYTES + b"}",
    ],
)
def test_bad_messages_are_refused_with_a_reason(raw: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_client(raw)
    assert info.value.problem


def _picture(ids: list[str], rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = len(ids)
    sources = np.empty(n, dtype=object)
    sources[:] = [[f"S{int(rng.integers(0, 3))}"] for _ in range(n)]
    return {
        "track_id": np.array(ids, dtype=object),
        "lat_deg": rng.uniform(-80, 80, n),
        "lon_deg": rng.uniform(-180, 180, n),
        "alt_m": rng.uniform(0, 500_000, n),
        "vel_e_mps": rng.normal(0, 300, n),
        "vel_n_mps": rng.normal(0, 300, n),
        "vel_u_mps": rng.normal(0, 100, n),
        "cls": rng.choice(["aircraft", "ballistic_missile", "unknown"], n).astype(object),
        "identity": rng.choice(["friend", "hostile"], n).astype(object),
        "sources": sources,
    }


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sets(st.integers(0, 40), max_size=25), min_size=1, max_size=8),
    st.integers(0, 2**32 - 1),
)
def test_applying_every_delta_rebuilds_the_latest_picture(
    snapshots: list[set[int]], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    known: dict[str, TrackMeta] = {}
    held: dict[str, dict[str, object]] = {}
    for k, members in enumerate(snapshots):
        rows = _picture([f"T{i:03d}" for i in sorted(members)], rng)
        delta = picture_delta(known, rows)
        frame = delta.frame(seq=k, time_s=float(k), reset=k == 0, produced_ms=0.0)
        # Through the wire and back, as the browser gets it.
        frame = msgspec.json.decode(encode(frame), type=Frame)
        held = apply_delta(held, frame)
        known = delta.known
    assert set(held) == {str(t) for t in rows["track_id"]}
    for i, tid in enumerate(rows["track_id"]):
        got = held[tid]
        assert got["cls"] == rows["cls"][i] and got["identity"] == rows["identity"][i]
        assert list(got["sources"]) == list(rows["sources"][i])  # type: ignore[call-overload]
        assert math.isclose(got["lat_deg"], rows["lat_deg"][i], abs_tol=1e-6)  # type: ignore[arg-type]
        assert math.isclose(got["alt_m"], rows["alt_m"][i], abs_tol=0.5)  # type: ignore[arg-type]


def test_a_delta_carries_meta_only_for_new_or_changed_tracks() -> None:
    rng = np.random.default_rng(3)
    first = _picture(["A", "B", "C"], rng)
    d1 = picture_delta({}, first)
    assert {m.track_id for m in d1.meta} == {"A", "B", "C"}
    second = {k: v[[0, 1]].copy() for k, v in first.items()}
    second["identity"][1] = "friend" if second["identity"][1] == "hostile" else "hostile"
    d2 = picture_delta(d1.known, second)
    assert [m.track_id for m in d2.meta] == ["B"]
    assert d2.removed == ["C"]
    assert d2.ids == ["A", "B"]


def test_sessions_of_one_viewer_share_each_delta_and_each_lagging_one_still_rebuilds() -> None:
    # Live: two sessions follow the head; a third falls behind and gets a delta over a gap.
    source = SyntheticSource(50, nations=("USA",))
    log = FrameLog("USA")
    head = [0.0]
    players = [
        Player(log, live=True, start_s=0.0, end_s=60.0, head_s=lambda: head[0]) for _ in range(3)
    ]
    held: list[dict[str, dict[str, object]]] = [{}, {}, {}]
    for t in range(6):
        rows = source.picture(float(t), "USA")
        if t == 2:  # one track gone, as a delta must say
            rows = {k: v[1:] for k, v in rows.items()}
        log.add(float(t), rows, [])
        head[0] = float(t)
        sent = [p.step() if i < 2 or t % 3 == 2 else [] for i, p in enumerate(players)]
        frames = [[m for m in msgs if isinstance(m, Frame | EncodedFrame)] for msgs in sent]
        assert frames[0][0] is frames[1][0], "one encoding for both sessions"
        for i, msgs in enumerate(frames):
            for m in msgs:
                held[i] = apply_delta(held[i], msgspec.json.decode(encode(m), type=Frame))
    latest = set(source.picture(5.0, "USA")["track_id"])
    assert set(held[0]) == set(held[1]) == set(held[2]) == latest

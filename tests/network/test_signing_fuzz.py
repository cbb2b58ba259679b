"""Short fuzzing (the long run is bench/fuzz.py): frames, signed hostile bodies, a real node.

Nothing a partner sends — however it is mangled, and even when its own key signs
it — may raise out of the decoders except their own errors, or out of a node at all.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airpicture.network import Envelope, InProcessBus, KeepingBus, NetworkRun
from airpicture.network.bus import scenario_links
from airpicture.network.messages import (
    MessageError,
    PlotBatch,
    TrackBatch,
    decode,
    plot_problems,
    track_problems,
)
from airpicture.network.signing import FrameError, Keyring, read_frame
from airpicture.sim.simulate import simulate
from tests.network.netscen import network_scenario

ABSURD: list[Any] = [
    None, True, -1, 2**63, 2**64 - 1, 1e308, math.nan, math.inf, -math.inf, 1e18, "",
    "x" * 5000, [], [[[[]]]], [0] * 5000, [math.nan] * 21, {}, {"a": [1]}, b"\x00",
]  # fmt: skip


@pytest.fixture(scope="module")
def network() -> tuple[NetworkRun, KeepingBus]:
    release = {n: {"tracks": ["AUS", "JPN", "USA"], "plots": ["AUS", "JPN", "USA"]}
               for n in ("AUS", "JPN", "USA")}  # fmt: skip
    loaded = network_scenario(release, duration_s=20.0)
    bus = KeepingBus(scenario_links(loaded.scenario), loaded.scenario.seed)
    run = NetworkRun(loaded, simulate(loaded).plots, bus=bus)
    run.advance(20.0)
    return run, bus


def _open_and_check(keys: Keyring, sender: str, payload: bytes) -> None:
    try:
        message = decode(keys.open(payload, sender).body)
    except (FrameError, MessageError):
        return
    if isinstance(message, TrackBatch):
        track_problems(message)
    elif isinstance(message, PlotBatch):
        plot_problems(message)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_any_bytes_raise_only_frame_error(payload: bytes) -> None:
    keys = _KEYS["JPN"]
    with pytest.raises(FrameError):
        keys.open(payload, "USA")


_KEYS = Keyring.generate(["AUS", "JPN", "USA"])


def _mutate_bytes(data: bytes, rng: np.random.Generator) -> bytes:
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 4))):
        n = len(out)
        kind = int(rng.integers(0, 4))
        if kind == 0 and n:
            out[int(rng.integers(0, n))] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1 and n:
            del out[int(rng.integers(0, n)) :]
        elif kind == 2:
            i = int(rng.integers(0, n + 1))
            out[i:i] = rng.integers(0, 256, int(rng.integers(1, 9)), dtype=np.uint8).tobytes()
        elif n:
            out[int(rng.integers(0, n))] = int(rng.integers(0, 256))
    return bytes(out)


def _mutate_value(value: Any, rng: np.random.Generator) -> Any:
    if isinstance(value, dict) and value and rng.random() < 0.85:
        key = list(value)[int(rng.integers(0, len(value)))]
        out = dict(value)
        if rng.random() < 0.1:
            del out[key]
        else:
            out[key] = _mutate_value(value[key], rng)
        return out
    if isinstance(value, list) and value and rng.random() < 0.8:
        out_list = list(value)
        i = int(rng.integers(0, len(value)))
        out_list[i] = _mutate_value(value[i], rng)
        return out_list
    return ABSURD[int(rng.integers(0, len(ABSURD)))]


def test_mangled_real_frames_raise_only_their_errors(network) -> None:
    run, bus = network
    rng = np.random.default_rng(19)
    frames = [(s, p) for s, r, p in bus.published if r == "JPN"]
    for _ in range(3000):
        sender, payload = frames[int(rng.integers(0, len(frames)))]
        _open_and_check(run.keys["JPN"], sender, _mutate_bytes(payload, rng))


def _hostile(run: NetworkRun, bus: KeepingBus, rng: np.random.Generator, seq: int) -> tuple:
    frames = [(s, p) for s, r, p in bus.published if r == "JPN"]
    sender, payload = frames[int(rng.integers(0, len(frames)))]
    body = dict(msgspec.msgpack.decode(read_frame(payload).body), seq=seq)
    stamp = "time_s" if body["type"] == "tracks" else "sent_s"
    body[stamp] = 20.0
    data = msgspec.msgpack.encode(_mutate_value(body, rng))
    return sender, run.keys[sender].seal_body("JPN", body["type"], seq, 20.0, data)


def test_hostile_messages_signed_by_a_partner_never_raise_out_of_a_node(network) -> None:
    run, bus = network
    node = run.nodes["JPN"]
    rng = np.random.default_rng(20)
    assert isinstance(run.bus, InProcessBus)
    taken = 0
    for i in range(300):
        sender, frame = _hostile(run, bus, rng, 10**9 + i)
        before = sum(node.counts.received.values())
        run.bus.inject(Envelope(sender, "JPN", 20.0, 20.0, frame))
        node.receive(20.0)
        if sum(node.counts.received.values()) > before:
            taken += 1
            node.publish_tracks(20.0)
            node.fuse(20.0)
    assert sum(node.counts.rejected.values()) > 0
    assert taken > 0  # some were plausible enough to be taken, and the node fused them

"""Signed frames: what a relay, a server or one partner cannot make a node believe."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from airpicture.deploy.credentials import write_user
from airpicture.errors import InputError
from airpicture.network import Envelope, InProcessBus, NetworkRun, WarningBatch
from airpicture.network.messages import decode
from airpicture.network.signing import (
    FrameError,
    Keyring,
    SignedFrame,
    frame_without_signature,
    read_frame,
)
from airpicture.sim.simulate import simulate
from tests.network.netscen import network_scenario

NATIONS = ["AUS", "JPN", "USA"]


def _warnings(seq: int = 1, sent_s: float = 10.0, sender: str = "USA") -> WarningBatch:
    return WarningBatch(
        sender=sender, seq=seq, sent_s=sent_s, warnings=[], sources=[], releasable_to=[]
    )


@pytest.fixture(scope="module")
def keys() -> dict[str, Keyring]:
    return Keyring.generate(NATIONS)


def test_a_sealed_message_opens_to_its_own_bytes(keys: dict[str, Keyring]) -> None:
    frame = keys["JPN"].open(keys["USA"].seal("JPN", _warnings()), "USA")
    assert (frame.sender, frame.receiver, frame.kind, frame.seq, frame.sent_s) == (
        "USA", "JPN", "warnings", 1, 10.0,
    )  # fmt: skip
    assert decode(frame.body) == _warnings()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"seq": 2}, "bad_signature"),
        ({"sent_s": 11.0}, "bad_signature"),
        ({"kind": "tracks"}, "bad_signature"),
        ({"body": b"\x80"}, "bad_signature"),
        ({"receiver": "AUS"}, "wrong_receiver"),  # JPN's message replayed to AUS, as is
        ({"sender": "AUS"}, "sender_mismatch"),  # the transport still says USA
        ({"frame": 2}, "unknown_frame_version"),
    ],
)
def test_any_change_to_a_frame_is_refused(
    keys: dict[str, Keyring], change: dict[str, object], reason: str
) -> None:
    frame = read_frame(keys["USA"].seal("JPN", _warnings()))
    forged = msgspec.msgpack.encode(msgspec.structs.replace(frame, **change))
    with pytest.raises(FrameError) as err:
        keys["JPN"].open(forged, "USA")
    assert err.value.reason == reason


def test_a_frame_signed_with_another_key_is_refused(keys: dict[str, Keyring]) -> None:
    impostor = Keyring.generate(["USA"])["USA"]  # not the key JPN holds for USA
    with pytest.raises(FrameError) as err:
        keys["JPN"].open(impostor.seal("JPN", _warnings()), "USA")
    assert err.value.reason == "bad_signature"


@pytest.mark.parametrize(
    "payload",
    [b"", b"\x00", b"\x91" * 10_000, msgspec.msgpack.encode({"frame": 1}), b"\xc1"],
)
def test_bytes_that_are_no_frame_raise_only_frame_error(
    keys: dict[str, Keyring], payload: bytes
) -> None:
    with pytest.raises(FrameError):
        keys["JPN"].open(payload, "USA")


def test_keys_from_the_deployments_nkeys(tmp_path: Path) -> None:
    users = {n: write_user(tmp_path / f"{n}.nk") for n in NATIONS}
    public = {n: u.public_key for n, u in users.items()}
    usa = Keyring.from_nkeys("USA", users["USA"].seed_file.read_bytes(), public)
    jpn = Keyring.from_nkeys("JPN", users["JPN"].seed_file.read_bytes(), public)
    assert jpn.open(usa.seal("JPN", _warnings()), "USA").seq == 1
    with pytest.raises(InputError, match="does not sign as USA"):
        Keyring.from_nkeys("USA", users["JPN"].seed_file.read_bytes(), public)
    jpn_key = public["JPN"]
    typo = jpn_key[:-2] + ("A" if jpn_key[-2] != "A" else "B") + jpn_key[-1]
    with pytest.raises(InputError, match="checksum"):
        Keyring.from_nkeys("USA", users["USA"].seed_file.read_bytes(), {**public, "JPN": typo})
    with pytest.raises(InputError, match="not an NKey seed"):
        Keyring.from_nkeys("USA", b"SUxyz", public)


@pytest.fixture()
def run() -> NetworkRun:
    loaded = network_scenario(duration_s=30.0)
    network = NetworkRun(loaded, simulate(loaded).plots)
    network.advance(20.0)
    return network


def _deliver(run: NetworkRun, sender: str, receiver: str, payload: bytes) -> None:
    assert isinstance(run.bus, InProcessBus)
    run.bus.inject(Envelope(sender, receiver, 20.0, 20.0, payload))


def test_the_deterministic_run_signs_every_message_and_refuses_none(run: NetworkRun) -> None:
    run.advance(30.0)
    for node in run.nodes.values():
        assert node.counts.rejected == {}
        assert node.counts.received["track_batches"] > 0
        assert node.seconds["signing"] > 0.0


def test_a_node_refuses_replays_and_stale_frames(run: NetworkRun) -> None:
    jpn = run.nodes["JPN"]
    usa = run.keys["USA"]
    frame = usa.seal("JPN", _warnings(seq=90_000, sent_s=20.0))
    _deliver(run, "USA", "JPN", frame)
    _deliver(run, "USA", "JPN", frame)  # replayed as it was
    # Signed long ago (a recorded frame replayed after the node forgot its numbers).
    old_s = 20.0 - jpn.settings.replay_window_s - 1.0
    _deliver(run, "USA", "JPN", usa.seal("JPN", _warnings(seq=90_001, sent_s=old_s)))
    _deliver(run, "USA", "JPN", usa.seal("JPN", _warnings(seq=90_002, sent_s=1e18)))
    jpn.receive(20.0)
    assert jpn.counts.rejected["duplicate"] == 1
    assert jpn.counts.rejected["too_old"] == 1
    assert jpn.counts.rejected["from_the_future"] == 1
    assert jpn.counts.received["warning_batches"] == 1


def test_a_node_never_decodes_an_unsigned_message(run: NetworkRun) -> None:
    from airpicture.network.messages import encode

    jpn = run.nodes["JPN"]
    _deliver(run, "USA", "JPN", encode(_warnings(seq=91_000, sent_s=20.0)))
    tampered = read_frame(run.keys["USA"].seal("JPN", _warnings(seq=91_001, sent_s=20.0)))
    body = encode(_warnings(seq=91_001, sent_s=20.0, sender="USA")) + b""
    _deliver(
        run, "USA", "JPN",
        msgspec.msgpack.encode(msgspec.structs.replace(tampered, body=body[:-1] + b"\x01")),
    )  # fmt: skip
    jpn.receive(20.0)
    assert jpn.counts.rejected["not_a_frame"] == 1
    assert jpn.counts.rejected["bad_signature"] == 1
    assert "warning_batches" not in jpn.counts.received or (
        jpn.counts.received["warning_batches"] == 0
    )


def test_frame_fields_are_the_messages(keys: dict[str, Keyring]) -> None:
    frame = read_frame(keys["USA"].seal("AUS", _warnings(seq=7, sent_s=3.5)))
    assert isinstance(frame, SignedFrame)
    assert (frame.seq, frame.sent_s) == (7, 3.5)
    # jetstream reads a payload's `seq` for its message id: a frame has one at the top.
    assert msgspec.msgpack.decode(keys["USA"].seal("AUS", _warnings(seq=7)))["seq"] == 7


def test_a_replay_opens_what_the_node_opened_and_matches_its_frames_but_the_signature(
    keys: dict[str, Keyring],
) -> None:
    # What a recording keeps (partners' public keys) is enough to open the partners'
    # frames; the replay's own frames differ from the node's in the signature only.
    replay = Keyring.for_replay("JPN", keys["JPN"].partner_keys_raw())
    assert set(keys["JPN"].partner_keys_raw()) == {"AUS", "USA"}
    frame = replay.open(keys["USA"].seal("JPN", _warnings()), "USA")
    assert decode(frame.body) == _warnings()
    with pytest.raises(FrameError) as err:  # signed with a key it was not given
        replay.open(Keyring.generate(["USA"])["USA"].seal("JPN", _warnings()), "USA")
    assert err.value.reason == "bad_signature"
    ours, theirs = (
        replay.seal("AUS", _warnings(sender="JPN")),
        keys["JPN"].seal("AUS", _warnings(sender="JPN")),
    )
    assert ours != theirs
    assert frame_without_signature(ours) == frame_without_signature(theirs)
    assert frame_without_signature(b"not a frame") == b"not a frame"
    with pytest.raises(InputError, match="JPN recording"):
        Keyring.for_replay("JPN", {"USA": b"short"})

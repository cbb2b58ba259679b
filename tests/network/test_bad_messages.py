"""Bad input on the bus: refused, counted, logged — never a crash, never a leak."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from airpicture.network import Envelope, InProcessBus, NetworkRun, PlotBatch, TrackBatch
from airpicture.network.messages import Message
from airpicture.network.node import NationalNode
from airpicture.network.signing import Keyring
from airpicture.sim.simulate import simulate
from tests.network.netscen import network_scenario


@pytest.fixture()
def run() -> NetworkRun:
    release = {
        "USA": {"tracks": ["JPN"], "plots": ["JPN"]},
        "JPN": {"tracks": ["USA", "AUS"]},
        "AUS": {"tracks": ["USA", "JPN"]},
    }
    loaded = network_scenario(duration_s=30.0, release=release)
    network = NetworkRun(loaded, simulate(loaded).plots)
    network.advance(20.0)
    return network


def _inject(
    run: NetworkRun, sender: str, receiver: str, payload: bytes | Message, t: float = 20.0
) -> None:
    """Deliver `payload` as from `sender`: raw bytes as they are, a message signed with
    `sender`'s key (a partner node gone hostile, signing what it likes)."""
    assert isinstance(run.bus, InProcessBus)
    if not isinstance(payload, bytes):
        payload = run.keys[sender].seal(receiver, payload)
    run.bus.inject(Envelope(sender, receiver, t, t, payload))


def _tracks(sender: str = "USA", **changes: object) -> TrackBatch:
    fields = {
        "sender": sender, "origin": f"{sender}.0", "seq": 10_000, "time_s": 20.0,
        "mode_names": ["cv", "manoeuvre", "ballistic"], "track_id": ["X1"], "number": [0],
        "number_created_s": [0.0], "x_ecef": [-3.7e6, 3.7e6, 3.6e6, 100.0, 0.0, 0.0],
        "P_upper": (np.eye(6)[np.triu_indices(6)] * 1e4).tolist(),
        "mode_probabilities": [1.0, 0, 0],
        "cls": ["aircraft"], "identity": ["unknown"], "ident": [""], "quality": [10],
        "sources": [["USA-R1"]], "releasable_to": [["USA", "JPN"]],
    }  # fmt: skip
    fields.update(changes)
    return TrackBatch(**fields)  # type: ignore[arg-type]


def _node(run: NetworkRun, nation: str) -> NationalNode:
    return run.nodes[nation]


def test_garbage_is_counted_not_raised(run: NetworkRun, caplog: pytest.LogCaptureFixture) -> None:
    _inject(run, "USA", "JPN", b"\x00\x01 not msgpack")
    _inject(run, "USA", "JPN", msgspec.msgpack.encode({"type": "tracks"}))
    _node(run, "JPN").receive(20.0)
    assert _node(run, "JPN").counts.rejected["not_a_frame"] == 2
    assert "not_a_frame" in caplog.text
    run.advance(30.0)  # the network carries on


def test_a_signed_body_that_is_not_a_message_is_counted_not_raised(run: NetworkRun) -> None:
    keys = run.keys["USA"]
    for seq, body in enumerate([b"\x00\x01 not msgpack", msgspec.msgpack.encode({"type": "x"})]):
        frame = _frame(keys, "JPN", seq=70_000 + seq, sent_s=20.0, body=body)
        _inject(run, "USA", "JPN", frame)
    _node(run, "JPN").receive(20.0)
    assert _node(run, "JPN").counts.rejected["decode_failure"] == 2


def _frame(keys: Keyring, receiver: str, *, seq: int, sent_s: float, body: bytes) -> bytes:
    from airpicture.network.signing import FRAME_VERSION, SignedFrame, signed_bytes

    sig = keys.private_key.sign(signed_bytes(keys.nation, receiver, "tracks", seq, sent_s, body))
    return msgspec.msgpack.encode(
        SignedFrame(frame=FRAME_VERSION, sender=keys.nation, receiver=receiver, kind="tracks",
                    seq=seq, sent_s=sent_s, signature=sig, body=body)
    )  # fmt: skip


def test_unknown_and_spoofed_senders(run: NetworkRun) -> None:
    node = _node(run, "JPN")
    rus = Keyring.generate(["RUS"])["RUS"]
    _inject(run, "RUS", "JPN", rus.seal("JPN", _tracks(sender="RUS")))
    usa_signed = run.keys["USA"].seal("JPN", _tracks(sender="USA"))
    _inject(run, "AUS", "JPN", usa_signed)  # the transport says AUS
    # AUS signs a message that says it is USA's: the frame and the message disagree.
    _inject(run, "AUS", "JPN", run.keys["AUS"].seal("JPN", _tracks(sender="USA", seq=11)))
    node.receive(20.0)
    assert node.counts.rejected["unknown_sender"] == 1
    assert node.counts.rejected["sender_mismatch"] == 1
    assert node.counts.rejected["frame_mismatch"] == 1


def test_duplicates_and_late_batches(run: NetworkRun) -> None:
    node = _node(run, "JPN")
    _inject(run, "USA", "JPN", _tracks(seq=20_000, time_s=20.0))
    _inject(run, "USA", "JPN", _tracks(seq=20_000, time_s=20.0))
    _inject(run, "USA", "JPN", _tracks(seq=20_001, time_s=5.0))
    node.receive(20.0)
    assert node.counts.rejected["duplicate"] == 1
    assert node.counts.rejected["late"] == 1


def test_releasability_claims_the_sender_may_not_grant(run: NetworkRun) -> None:
    # USA releases tracks to JPN only: a USA track claiming AUS, or sent to AUS, is refused.
    aus = _node(run, "AUS")
    before = aus.counts.received["tracks"]
    _inject(run, "USA", "AUS", _tracks(releasable_to=[["USA", "JPN", "AUS"]]))
    aus.receive(20.0)
    assert aus.counts.rejected["tracks_releasability_claim_exceeds_sources"] == 1
    assert aus.counts.received["tracks"] == before
    jpn = _node(run, "JPN")
    # A source the sender cannot hold (AUS does not release plots to USA), an unknown source.
    _inject(run, "USA", "JPN", _tracks(seq=30_000, sources=[["AUS-R1"]]))
    _inject(run, "USA", "JPN", _tracks(seq=30_001, sources=[["NOPE"]]))
    jpn.receive(20.0)
    assert jpn.counts.rejected["tracks_source_not_held_by_sender"] == 1
    assert jpn.counts.rejected["tracks_unknown_source"] == 1


def test_bad_numbers_in_a_batch(run: NetworkRun) -> None:
    node = _node(run, "JPN")
    _inject(run, "USA", "JPN", _tracks(seq=40_000, x_ecef=[float("nan")] * 6))
    _inject(run, "USA", "JPN", _tracks(seq=40_001, P_upper=[0.0] * 21))
    _inject(run, "USA", "JPN", _tracks(seq=40_002, number=[1, 2]))
    node.receive(20.0)
    assert node.counts.rejected["malformed"] == 2
    assert node.counts.rejected["tracks_covariance_not_positive"] == 1


def test_fields_past_what_the_node_holds_are_refused_at_decoding(run: NetworkRun) -> None:
    # A track number past int64, a track id or identity longer than the node's arrays
    # hold: refused and counted, never overflowed or truncated inside the node.
    node = _node(run, "JPN")
    _inject(run, "USA", "JPN", _tracks(seq=45_000, number=[2**63]))
    _inject(run, "USA", "JPN", _tracks(seq=45_001, track_id=["X" * 49]))
    _inject(run, "USA", "JPN", _tracks(seq=45_002, ident=["I" * 17]))
    _inject(run, "USA", "JPN", _tracks(seq=45_003, origin="U" * 16))
    # An integer past int64 anywhere (bench/fuzz.py found a quality of 2⁶⁴ − 1 raising
    # OverflowError in the node).
    _inject(run, "USA", "JPN", _tracks(seq=45_004, quality=[2**64 - 1]))
    _inject(run, "USA", "JPN", _tracks(seq=45_005, version=2**63))
    node.receive(20.0)
    assert node.counts.rejected["decode_failure"] == 6
    run.advance(30.0)  # the network carries on


def test_only_the_senders_own_trackers_are_taken_and_old_batches_go(run: NetworkRun) -> None:
    # A hostile partner naming a new tracker in each batch ("USA.1", "USA.x", …) would have
    # the receiver keep a batch per name, for ever (bench/fuzz.py's node part: RSS +1 GiB).
    node = _node(run, "JPN")
    held = set(node._received)
    for k, origin in enumerate(["USA.1", "USA.x", "USA.0.0", "USA."]):
        _inject(run, "USA", "JPN", _tracks(seq=47_000 + k, origin=origin))
    node.receive(20.0)
    assert node.counts.rejected["origin_unknown"] == 4
    assert set(node._received) == held
    run.advance(30.0)
    assert all(30.0 - r.time_s <= 20.0 for r in node._received.values())


def test_plots_from_a_non_owner_are_refused(run: NetworkRun) -> None:
    node = _node(run, "JPN")
    plots = PlotBatch(
        sender="AUS", seq=50_000, sent_s=20.0, time_s=[19.0], sensor_id=["USA-R1"],
        range_m=[1e5], az_deg=[10.0], el_deg=[1.0], range_rate_mps=[float("nan")],
        lat_deg=[float("nan")], lon_deg=[float("nan")], alt_m=[float("nan")], ident=[""],
        releasable_to={"USA-R1": ["JPN"]},
    )  # fmt: skip
    _inject(run, "AUS", "JPN", plots)
    node.receive(20.0)
    assert node.counts.rejected["plots_plot_not_owned_by_sender"] == 1


def test_plots_stamped_after_their_batch_was_sent_are_refused(run: NetworkRun) -> None:
    # An honest `sent_s` with reports stamped 10¹⁸ s would move the trackers' clock there.
    node = _node(run, "JPN")
    before = node.counts.received["plots"]
    nan = float("nan")
    plots = PlotBatch(
        sender="USA", seq=60_000, sent_s=20.0, time_s=[19.5, 1e18, nan], sensor_id=["USA-R1"] * 3,
        range_m=[1e5] * 3, az_deg=[10.0] * 3, el_deg=[1.0] * 3, range_rate_mps=[nan] * 3,
        lat_deg=[nan] * 3, lon_deg=[nan] * 3, alt_m=[nan] * 3, ident=[""] * 3,
        releasable_to={"USA-R1": ["USA", "JPN"]},
    )  # fmt: skip
    _inject(run, "USA", "JPN", plots)
    node.receive(20.0)
    assert node.counts.rejected["plots_from_the_future"] == 2
    assert node.counts.received["plots"] == before + 1
    run.advance(30.0)  # the network carries on, its clock where it was
    assert run.time_s == 30.0

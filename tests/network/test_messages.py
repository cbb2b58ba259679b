"""Wire messages: round trips (hypothesis), versions, malformed bytes."""

from __future__ import annotations

import math

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.network.messages import (
    MessageError,
    PlotBatch,
    TrackBatch,
    WarningBatch,
    decode,
    encode,
)
from airpicture.threat.warning import Warning

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
names = st.text(min_size=1, max_size=8)


@st.composite
def track_batches(draw: st.DrawFn) -> TrackBatch:
    n = draw(st.integers(0, 4))
    modes = ["cv", "manoeuvre", "ballistic"]
    return TrackBatch(
        sender=draw(names),
        origin=draw(names),
        seq=draw(st.integers(0, 2**40)),
        time_s=draw(finite),
        mode_names=modes,
        track_id=draw(st.lists(names, min_size=n, max_size=n)),
        number=draw(st.lists(st.integers(0, 99_999), min_size=n, max_size=n)),
        number_created_s=draw(st.lists(finite, min_size=n, max_size=n)),
        x_ecef=draw(st.lists(finite, min_size=6 * n, max_size=6 * n)),
        P_upper=draw(st.lists(finite, min_size=21 * n, max_size=21 * n)),
        mode_probabilities=draw(st.lists(finite, min_size=3 * n, max_size=3 * n)),
        cls=["aircraft"] * n,
        identity=["unknown"] * n,
        ident=draw(st.lists(st.text(max_size=8), min_size=n, max_size=n)),
        quality=draw(st.lists(st.integers(0, 15), min_size=n, max_size=n)),
        sources=draw(st.lists(st.lists(names, max_size=3), min_size=n, max_size=n)),
        releasable_to=draw(st.lists(st.lists(names, max_size=3), min_size=n, max_size=n)),
    )


@settings(max_examples=60, deadline=None)
@given(track_batches())
def test_track_batch_round_trip(batch: TrackBatch) -> None:
    assert decode(encode(batch)) == batch


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 5), st.floats(allow_nan=True), names)
def test_plot_batch_round_trip_keeps_nan(n: int, value: float, sid: str) -> None:
    batch = PlotBatch(
        sender="USA", seq=1, sent_s=3.0, time_s=[1.0] * n, sensor_id=[sid] * n,
        range_m=[value] * n, az_deg=[value] * n, el_deg=[math.nan] * n,
        range_rate_mps=[math.nan] * n, lat_deg=[value] * n, lon_deg=[value] * n,
        alt_m=[value] * n, ident=[""] * n, releasable_to={sid: ["JPN"]},
    )  # fmt: skip
    back = decode(encode(batch))
    assert isinstance(back, PlotBatch)
    assert len(back.range_m) == n
    assert all(
        (math.isnan(a) and math.isnan(b)) or a == b
        for a, b in zip(back.range_m, batch.range_m, strict=True)
    )


def test_warning_batch_round_trip() -> None:
    batch = WarningBatch(
        sender="USA", seq=2, sent_s=10.0,
        warnings=[Warning(warning_id="W1", kind="launch", track_id="20001",
                          recipients=("JPN",), text="launch", time_s=10.0, expires_s=1030.0)],
        sources=[["USA-R1"]], releasable_to=[["JPN", "USA"]],
    )  # fmt: skip
    assert decode(encode(batch)) == batch


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "decode_failure"),
        (b"\xff\x00garbage", "decode_failure"),
        (msgspec.msgpack.encode({"type": "tracks", "sender": "USA"}), "decode_failure"),
        (msgspec.msgpack.encode({"type": "nonsense"}), "decode_failure"),
        (msgspec.msgpack.encode([1, 2, 3]), "decode_failure"),
    ],
)
def test_malformed_bytes_raise_message_error_only(payload: bytes, reason: str) -> None:
    with pytest.raises(MessageError) as info:
        decode(payload)
    assert info.value.reason == reason


def test_unknown_version_and_mismatched_columns_are_refused() -> None:
    good = WarningBatch(sender="USA", seq=1, sent_s=0.0, warnings=[], sources=[], releasable_to=[])
    raw = msgspec.msgpack.decode(encode(good))
    raw["version"] = 99
    with pytest.raises(MessageError, match="unknown_version"):
        decode(msgspec.msgpack.encode(raw))
    one = Warning(warning_id="W1", kind="launch", recipients=("JPN",), text="t", time_s=1.0)
    bad = WarningBatch(
        sender="USA", seq=1, sent_s=0.0, warnings=[one], sources=[], releasable_to=[]
    )
    with pytest.raises(MessageError, match="malformed"):
        decode(encode(bad))


def test_newer_fields_are_ignored() -> None:
    good = WarningBatch(sender="USA", seq=1, sent_s=0.0, warnings=[], sources=[], releasable_to=[])
    raw = msgspec.msgpack.decode(encode(good))
    raw["priority"] = "flash"  # a field a later version might add
    assert decode(msgspec.msgpack.encode(raw)) == good

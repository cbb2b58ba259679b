"""Wire messages: round trips (hypothesis), versions, malformed bytes."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from airpicture.fusion import SourceTracks
from airpicture.network.messages import (
    MAX_MESSAGE_BYTES,
    PLOT_COLUMNS,
    MessageError,
    PlotBatch,
    TrackBatch,
    WarningBatch,
    decode,
    encode,
    plot_batch_from_table,
    plots_table,
    track_batch_from_tracks,
    tracks_of,
)
from airpicture.tables import PLOTS_SCHEMA, Table
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


@settings(max_examples=60, deadline=None, derandomize=True)
@given(track_batches())
def test_track_batch_round_trip(batch: TrackBatch) -> None:
    assert decode(encode(batch)) == batch


@settings(max_examples=40, deadline=None, derandomize=True)
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


def test_deep_nesting_and_oversize_raise_message_error_only() -> None:
    # {"type": "tracks", "version": 1, "newer": [[[...]]]}, 5000 lists deep (0x91: a list of one)
    head = msgspec.msgpack.encode({"type": "tracks", "version": 1, "newer": None})[:-1]
    deep = head + b"\x91" * 5000 + b"\x90"
    with pytest.raises(MessageError) as info:
        decode(deep)
    assert info.value.reason == "too_deep"
    with pytest.raises(MessageError) as info:
        decode(b"\x00" * (MAX_MESSAGE_BYTES + 1))
    assert info.value.reason == "too_large"


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


# ------------------------------------------------ table → message → bytes → message → table

MODES = ("cv", "manoeuvre", "ballistic")
#: Printable ids without NUL (NumPy's fixed-width strings drop trailing NULs).
ids = st.text(st.characters(codec="ascii", categories=["L", "N", "P"]), min_size=1, max_size=12)


@st.composite
def source_tracks(draw: st.DrawFn, origin: str, time_s: float) -> SourceTracks:
    """Received-side tracks of one origin at one time, with symmetric covariances."""
    n = draw(st.integers(0, 5))
    floats = st.floats(-1e12, 1e12)  # finite, and (A + Aᵀ) / 2 stays finite
    A = draw(hnp.arrays(np.float64, (n, 6, 6), elements=floats))
    track_ids = draw(st.lists(ids, min_size=n, max_size=n, unique=True))
    return SourceTracks(
        key=np.asarray([f"{origin}/{t}" for t in track_ids], dtype="U64").reshape(n),
        origin=np.full(n, origin, dtype="U32"),
        local=np.zeros(n, dtype=bool),
        time_s=np.full(n, time_s),
        x=draw(hnp.arrays(np.float64, (n, 6), elements=floats)),
        # symmetric in: P = (A + Aᵀ) / 2
        P=(A + A.transpose(0, 2, 1)) / 2.0,
        mode_probabilities=draw(
            hnp.arrays(np.float64, (n, len(MODES)), elements=st.floats(0.0, 1.0))
        ),
        claim_number=draw(hnp.arrays(np.int64, n, elements=st.integers(0, 99_999))),
        claim_created_s=draw(hnp.arrays(np.float64, n, elements=floats)),
        ident=np.asarray(draw(st.lists(ids, min_size=n, max_size=n)), dtype="U16").reshape(n),
        # the last update by each kind: at or before the batch's time, or never
        updated_s=draw(
            hnp.arrays(
                np.float64,
                (n, 4),
                elements=st.one_of(st.just(-np.inf), st.floats(time_s - 1e6, time_s)),
            )
        ),
        pressure_alt_m=draw(hnp.arrays(np.float64, n, elements=st.floats(-2e3, 3e4))),
        mode3a=np.asarray(
            draw(st.lists(st.from_regex(r"([0-7]{4})?", fullmatch=True), min_size=n, max_size=n)),
            dtype="U4",
        ).reshape(n),
    )


@settings(max_examples=80, deadline=None, derandomize=True)
@given(st.data(), st.floats(-1e6, 1e6))
def test_tracks_survive_message_and_bytes(data: st.DataObject, time_s: float) -> None:
    tracks = data.draw(source_tracks("USA.0", time_s))
    n = len(tracks)
    batch = track_batch_from_tracks(
        tracks, sender="USA", origin="USA.0", seq=7, time_s=time_s, mode_names=MODES,
        cls=["aircraft"] * n, identity=["friend"] * n, sources=[["USA-R1"]] * n,
        releasable_to=[["JPN", "USA"]] * n,
    )  # fmt: skip
    back = decode(encode(batch))
    assert isinstance(back, TrackBatch)
    assert back == batch
    again = tracks_of(back)
    for name in ("key", "origin", "local", "time_s", "x", "P", "mode_probabilities",
                 "claim_number", "claim_created_s", "ident", "updated_s", "pressure_alt_m",
                 "mode3a"):  # fmt: skip
        np.testing.assert_array_equal(getattr(again, name), getattr(tracks, name), err_msg=name)
        assert getattr(again, name).dtype == getattr(tracks, name).dtype, name


def _one_track(key: str, **changes: object) -> SourceTracks:
    """One received track of origin JPN.1 (key "JPN.1/…"), at rest, with `changes`."""
    fields = {
        **SourceTracks.empty(len(MODES)).__dict__, "key": np.array([key], dtype="U64"),
        "origin": np.array(["JPN.1"], dtype="U32"), "local": np.zeros(1, bool),
        "time_s": np.zeros(1), "x": np.zeros((1, 6)), "P": np.eye(6)[None],
        "mode_probabilities": np.full((1, 3), 1 / 3), "claim_number": np.zeros(1, np.int64),
        "claim_created_s": np.zeros(1), "ident": np.array([""], dtype="U16"),
        "updated_s": np.full((1, 4), -np.inf), "pressure_alt_m": np.full(1, np.nan),
        "mode3a": np.array([""], dtype="U4"),
    }  # fmt: skip
    return SourceTracks(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_track_id_may_hold_the_key_separator() -> None:
    one = _one_track("JPN.1/T/7")
    batch = track_batch_from_tracks(
        one, sender="JPN", origin="JPN.1", seq=1, time_s=0.0, mode_names=MODES, cls=["unknown"],
        identity=["unknown"], sources=[["JPN-R"]], releasable_to=[["JPN"]],
    )  # fmt: skip
    assert batch.track_id == ["T/7"]
    assert tracks_of(batch).key.tolist() == ["JPN.1/T/7"]


@st.composite
def plot_tables(draw: st.DrawFn) -> Table:
    """Rows of the plots table (every column of PLOTS_SCHEMA, NaN where not measured)."""
    n = draw(st.integers(0, 6))
    table: Table = {}
    for field in PLOTS_SCHEMA:
        if field.name in ("sensor_id", "nation", "ident", "target_id"):
            table[field.name] = np.asarray(
                draw(st.lists(st.text(max_size=8), min_size=n, max_size=n)), dtype=object
            ).reshape(n)
        elif field.name == "mode3a":
            codes = st.one_of(st.just(""), st.from_regex(r"[0-7]{4}", fullmatch=True))
            table[field.name] = np.asarray(
                draw(st.lists(codes, min_size=n, max_size=n)), dtype=object
            ).reshape(n)
        else:
            table[field.name] = draw(
                hnp.arrays(np.float64, n, elements=st.floats(allow_infinity=False, width=64))
            )
    return table


@settings(max_examples=80, deadline=None, derandomize=True)
@given(plot_tables())
def test_plots_survive_message_and_bytes(table: Table) -> None:
    batch = plot_batch_from_table(table, sender="USA", seq=3, sent_s=2.0, releasable_to={})
    back = decode(encode(batch))
    assert isinstance(back, PlotBatch)
    again = plots_table(back)
    assert list(again) == list(PLOT_COLUMNS)
    for name in PLOT_COLUMNS:
        assert again[name].dtype == table[name].dtype, name
        np.testing.assert_array_equal(again[name], table[name], err_msg=name)


def test_plot_batch_carries_the_plots_table_columns_but_truth_and_nation() -> None:
    header = {"type", "version", "sender", "seq", "sent_s", "releasable_to"}
    assert set(PlotBatch.__struct_fields__) - header == set(PLOT_COLUMNS)
    assert set(PLOT_COLUMNS) == {f.name for f in PLOTS_SCHEMA} - {"nation", "target_id"}


def test_update_times_from_an_older_sender_or_a_fast_clock_are_never_or_the_batch_time() -> None:
    one = _one_track(
        "JPN.1/T1",
        updated_s=np.array([[12.0, 99.0, -np.inf, 3.0]]),
        pressure_alt_m=np.array([9144.0]),
        mode3a=np.array(["7500"], dtype="U4"),
    )
    batch = track_batch_from_tracks(
        one, sender="JPN", origin="JPN.1", seq=1, time_s=10.0, mode_names=MODES, cls=["unknown"],
        identity=["unknown"], sources=[["JPN-R"]], releasable_to=[["JPN"]],
    )  # fmt: skip
    assert batch.updated_s[2] == -math.inf  # never
    np.testing.assert_array_equal(tracks_of(batch).updated_s, [[10.0, 10.0, -np.inf, 3.0]])
    back = tracks_of(decode(encode(batch)))
    assert back.pressure_alt_m.tolist() == [9144.0] and back.mode3a.tolist() == ["7500"]
    older = msgspec.structs.replace(batch, updated_s=[], pressure_alt_m=[], mode3a=[])
    back = tracks_of(decode(encode(older)))
    np.testing.assert_array_equal(back.updated_s, [[-np.inf] * 4])
    assert np.isnan(back.pressure_alt_m).all() and back.mode3a.tolist() == [""]
    # A Mode C no aircraft could report (a hostile partner's 10³⁰⁰, ∞) reads as none.
    for wild in (1e300, math.inf, -5e4):
        absurd = msgspec.structs.replace(batch, pressure_alt_m=[wild])
        assert np.isnan(tracks_of(decode(encode(absurd))).pressure_alt_m).all()
    with pytest.raises(MessageError, match="updated_s has 3 values for 1 tracks"):
        decode(encode(msgspec.structs.replace(batch, updated_s=[1.0, 2.0, 3.0])))


def test_a_mode_3a_code_is_four_octal_digits_or_nothing() -> None:
    rows = {c: np.zeros(1) for c in PLOT_COLUMNS}
    rows.update(sensor_id=np.array(["S"], object), ident=np.array([""], object))
    rows["mode3a"] = np.array(["7700"], object)
    batch = plot_batch_from_table(rows, sender="USA", seq=1, sent_s=0.0, releasable_to={})
    assert plots_table(decode(encode(batch)))["mode3a"].tolist() == ["7700"]
    bad = msgspec.structs.replace(batch, mode3a=["7800"])  # 8 is not an octal digit
    with pytest.raises(MessageError) as err:
        decode(encode(bad))
    assert err.value.reason == "decode_failure"
    older = msgspec.structs.replace(batch, mode3a=[])
    assert plots_table(decode(encode(older)))["mode3a"].tolist() == [""]


def test_a_plots_mode_3a_column_keeps_codes_only() -> None:
    from airpicture.tables import mode3a_column

    raw = np.array(["7700", "7800", np.nan, "", "12", "0123", "x" * 100_000, None], object)
    assert mode3a_column(raw, 8).tolist() == ["7700", "", "", "", "", "0123", "", ""]
    assert mode3a_column(None, 2).tolist() == ["", ""]

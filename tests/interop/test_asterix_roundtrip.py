"""ASTERIX encode → decode gives back every value within its item's resolution; time of day
crosses midnight; unknown SAC/SIC and bad bytes are counted or refused, never fatal."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from airpicture.interop.asterix import (
    GEO_HEIGHT_LSB_M,
    HEIGHT_3D_LSB_M,
    LATLON_021_131_LSB_DEG,
    LATLON_062_LSB_DEG,
    MAX_HEIGHT_3D_M,
    MAX_RHO_M,
    QUARTER_FL_M,
    RHO_LSB_M,
    THETA_LSB_DEG,
    AsterixDecoder,
    AsterixError,
    SystemCode,
    elevation_to_height_m,
    encode_cat021,
    encode_cat034,
    encode_cat048,
    encode_cat062,
    height_to_elevation_deg,
)
from tests.interop.asterix_tables import (
    ADSB,
    EPOCH,
    RADAR,
    RADAR2D,
    SENSORS,
    objects,
    picture,
)

TIME_TOLERANCE_S = 1 / 256 + 1e-9
callsigns = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=8)
addresses = st.integers(0, 2**24 - 1).map(lambda a: f"{a:06x}")
mode3a_codes = st.integers(0, 0o7777).map(lambda c: f"{c:04o}")


def decoder() -> AsterixDecoder:
    return AsterixDecoder(list(SENSORS.values()), EPOCH)


def decode_all(datagrams: list[Any]) -> dict[str, Any]:
    dec = decoder()
    parts = [dec.decode(d.data).reports for d in datagrams]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def angle_difference(a: Any, b: Any) -> Any:
    return np.abs((np.asarray(a) - np.asarray(b) + 180.0) % 360.0 - 180.0)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    time_s=st.floats(0.0, 40_000.0),
    range_m=st.floats(0.0, MAX_RHO_M),
    az_deg=st.floats(0.0, 360.0, exclude_max=True),
    pressure_alt_m=st.floats(-300.0, 20_000.0),
    mode3a=mode3a_codes,
    ident=st.one_of(callsigns, addresses, st.just("")),
)
def test_a_2d_radar_report_survives_cat048(
    time_s: float, range_m: float, az_deg: float, pressure_alt_m: float, mode3a: str, ident: str
) -> None:
    row = {
        "time_s": np.array([time_s]),
        "sensor_id": objects([RADAR2D.sensor_id]),
        "range_m": np.array([range_m]),
        "az_deg": np.array([az_deg]),
        "pressure_alt_m": np.array([pressure_alt_m]),
        "mode3a": objects([mode3a]),
        "ident": objects([ident]),
    }
    back = decode_all(encode_cat048(row, SENSORS, EPOCH).datagrams)
    assert back["sensor_id"][0] == RADAR2D.sensor_id and back["nation"][0] == "JPN"
    assert back["time_s"][0] == pytest.approx(time_s, abs=TIME_TOLERANCE_S)
    assert back["range_m"][0] == pytest.approx(range_m, abs=RHO_LSB_M / 2 + 1e-6)
    assert angle_difference(back["az_deg"][0], az_deg) <= THETA_LSB_DEG / 2 + 1e-9
    assert back["pressure_alt_m"][0] == pytest.approx(pressure_alt_m, abs=QUARTER_FL_M / 2 + 1e-9)
    assert back["mode3a"][0] == mode3a
    assert back["ident"][0] == ident
    assert np.isnan(back["el_deg"][0]) and back["target_id"][0] == ""


@settings(max_examples=100, deadline=None)
@given(
    range_m=st.floats(2_000.0, 400_000.0),
    az_deg=st.floats(0.0, 360.0, exclude_max=True),
    el_deg=st.floats(-0.5, 10.0),
    range_rate_mps=st.floats(-500.0, 500.0),
)
def test_a_3d_radar_height_survives_cat048_as_elevation(
    range_m: float, az_deg: float, el_deg: float, range_rate_mps: float
) -> None:
    height = elevation_to_height_m(
        RADAR, np.array([range_m]), np.array([az_deg]), np.array([el_deg])
    )
    assume(abs(height[0]) < MAX_HEIGHT_3D_M)  # beyond, the report is left out (tested below)
    row = {
        "time_s": np.array([12.0]),
        "sensor_id": objects([RADAR.sensor_id]),
        "range_m": np.array([range_m]),
        "az_deg": np.array([az_deg]),
        "el_deg": np.array([el_deg]),
        "range_rate_mps": np.array([range_rate_mps]),
    }
    back = decode_all(encode_cat048(row, SENSORS, EPOCH).datagrams)
    args = (RADAR, back["range_m"][:1], back["az_deg"][:1])
    height_sent = elevation_to_height_m(
        RADAR, np.array([range_m]), np.array([az_deg]), np.array([el_deg])
    )
    # the height is what I048/110 carries: compare heights, at the decoded range
    assert elevation_to_height_m(*args, back["el_deg"][:1])[0] == pytest.approx(
        height_sent[0], abs=HEIGHT_3D_LSB_M / 2 + RHO_LSB_M + 0.5
    )
    assert back["range_rate_mps"][0] == pytest.approx(range_rate_mps, abs=0.5 + 1e-9)


@settings(max_examples=150, deadline=None)
@given(
    time_s=st.floats(0.0, 40_000.0),
    lat_deg=st.floats(-90.0, 90.0),
    lon_deg=st.floats(-180.0, 180.0, exclude_max=True),
    alt_m=st.floats(-300.0, 60_000.0),
    pressure_alt_m=st.floats(-300.0, 20_000.0),
    ident=st.one_of(callsigns, addresses),
)
def test_an_adsb_report_survives_cat021(
    time_s: float, lat_deg: float, lon_deg: float, alt_m: float, pressure_alt_m: float, ident: str
) -> None:
    row = {
        "time_s": np.array([time_s]),
        "sensor_id": objects([ADSB.sensor_id]),
        "lat_deg": np.array([lat_deg]),
        "lon_deg": np.array([lon_deg]),
        "alt_m": np.array([alt_m]),
        "pressure_alt_m": np.array([pressure_alt_m]),
        "ident": objects([ident]),
    }
    back = decode_all(encode_cat021(row, SENSORS, EPOCH).datagrams)
    assert back["sensor_id"][0] == ADSB.sensor_id
    assert back["time_s"][0] == pytest.approx(time_s, abs=TIME_TOLERANCE_S)
    assert back["lat_deg"][0] == pytest.approx(lat_deg, abs=LATLON_021_131_LSB_DEG)
    assert angle_difference(back["lon_deg"][0], lon_deg) <= LATLON_021_131_LSB_DEG
    assert back["alt_m"][0] == pytest.approx(alt_m, abs=GEO_HEIGHT_LSB_M / 2 + 1e-9)
    assert back["pressure_alt_m"][0] == pytest.approx(pressure_alt_m, abs=QUARTER_FL_M / 2 + 1e-9)
    assert back["ident"][0] == ident
    assert np.isnan(back["range_m"][0])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_picture_survives_cat062(seed: int) -> None:
    rows = picture(n_tracks=5, n_snapshots=3, seed=seed)
    dec = decoder()
    parts = [
        dec.decode(d.data).tracks for d in encode_cat062(rows, SystemCode(9, 9), EPOCH).datagrams
    ]
    back = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.lexsort((rows["track_id"].astype(str), rows["time_s"]))
    assert back["track_number"].tolist() == [int(rows["track_id"][i]) for i in order]
    assert np.allclose(back["time_s"], rows["time_s"][order], atol=TIME_TOLERANCE_S)
    assert np.all(np.abs(back["lat_deg"] - rows["lat_deg"][order]) <= LATLON_062_LSB_DEG)
    assert np.all(angle_difference(back["lon_deg"], rows["lon_deg"][order]) <= LATLON_062_LSB_DEG)
    assert np.allclose(back["vel_e_mps"], rows["vel_e_mps"][order], atol=0.125 + 1e-9)
    assert np.allclose(back["vel_n_mps"], rows["vel_n_mps"][order], atol=0.125 + 1e-9)
    assert np.allclose(back["alt_m"], rows["alt_m"][order], atol=GEO_HEIGHT_LSB_M / 2 + 1e-9)
    assert np.allclose(back["age_s"], rows["time_s"][order])


def test_time_of_day_crosses_midnight_forward() -> None:
    """The epoch is 23:00 UTC; reports from 0 to 3 h after it are 23:00 … 02:00 of the next day."""
    times = np.arange(0.0, 3 * 3600.0, 600.0)
    rows = {
        "time_s": times,
        "sensor_id": objects([RADAR2D.sensor_id] * len(times)),
        "range_m": np.full(len(times), 10_000.0),
        "az_deg": np.zeros(len(times)),
    }
    encoded = encode_cat048(rows, SENSORS, EPOCH, max_bytes=20)  # one record per datagram
    assert len(encoded.datagrams) == len(times)
    assert np.allclose(decode_all(encoded.datagrams)["time_s"], times)


def test_a_datagram_before_the_epoch_is_placed_on_the_epochs_day() -> None:
    rows = {
        "time_s": np.array([-30.0]),
        "sensor_id": objects([RADAR2D.sensor_id]),
        "range_m": np.array([10_000.0]),
        "az_deg": np.array([0.0]),
    }
    assert decode_all(encode_cat048(rows, SENSORS, EPOCH).datagrams)["time_s"][0] == -30.0


def test_unknown_sac_sic_is_counted_and_no_row_is_made() -> None:
    known_only = AsterixDecoder([RADAR], EPOCH)
    rows = {
        "time_s": np.array([1.0, 2.0]),
        "sensor_id": objects([RADAR.sensor_id, RADAR2D.sensor_id]),
        "range_m": np.array([10_000.0, 20_000.0]),
        "az_deg": np.array([10.0, 20.0]),
    }
    decoded = [known_only.decode(d.data) for d in encode_cat048(rows, SENSORS, EPOCH).datagrams]
    assert sum(len(d.reports["time_s"]) for d in decoded) == 1
    assert sum((d.unknown for d in decoded), start=type(decoded[0].unknown)()) == {(48, 2, 8): 1}


def test_reports_the_encoder_cannot_write_are_counted() -> None:
    rows = {
        "time_s": np.array([1.0, 2.0, 3.0, 4.0]),
        "sensor_id": objects([RADAR.sensor_id, RADAR.sensor_id, "NOT-A-SENSOR", RADAR.sensor_id]),
        "range_m": np.array([MAX_RHO_M + 100.0, np.nan, 5_000.0, 400_000.0]),
        "az_deg": np.array([10.0, 20.0, 30.0, 40.0]),
        "el_deg": np.array([np.nan, np.nan, np.nan, 30.0]),  # the last is 200 km up
    }
    encoded = encode_cat048(rows, SENSORS, EPOCH)
    assert not encoded.datagrams
    assert encoded.skipped == {
        "slant range beyond 256 NM": 1,
        "no range and azimuth": 1,
        "no SAC/SIC for the sensor": 1,
        "3D height beyond ±62 km (I048/110)": 1,
    }


def test_service_messages_decode_to_north_markers_and_sector_crossings() -> None:
    data = encode_cat034(RADAR, EPOCH, 100.0, 1, period_s=10.0) + encode_cat034(
        RADAR, EPOCH, 102.5, 2, sector_az_deg=90.0
    )
    service = decoder().decode(data).service
    assert service["message_type"].tolist() == [1.0, 2.0]
    assert service["time_s"].tolist() == [100.0, 102.5]
    assert service["period_s"][0] == 10.0 and service["sector_az_deg"][1] == 90.0


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\x30\x00", "stray octets"),
        (b"\x30\x00\x02", "below 3"),
        (b"\x30\x00\x10\x00", "runs past the end"),
        (b"\x30\x00\x05\xff\xff", "CAT048 records unreadable"),
        (b"\x15\x00\x04\x80", "CAT021 records unreadable"),
    ],
)
def test_bad_bytes_raise_the_codecs_error(data: bytes, problem: str) -> None:
    with pytest.raises(AsterixError, match=problem):
        decoder().decode(data)


def test_elevation_and_height_are_inverse() -> None:
    rng = np.random.default_rng(7)
    range_m = rng.uniform(1_000.0, 450_000.0, 200)
    az = rng.uniform(0.0, 360.0, 200)
    el = rng.uniform(-1.0, 20.0, 200)
    height = elevation_to_height_m(RADAR, range_m, az, el)
    assert np.allclose(height_to_elevation_deg(RADAR, range_m, az, height), el, atol=1e-7)


def test_an_altitude_cat062_cannot_carry_is_left_out_not_clipped() -> None:
    rows = picture(n_tracks=2, n_snapshots=1, seed=3)
    rows["alt_m"] = np.array([300_000.0, 10_000.0])  # a ballistic missile near apogee
    (datagram,) = encode_cat062(rows, SystemCode(9, 9), EPOCH).datagrams
    tracks = decoder().decode(datagram.data).tracks
    order = np.argsort(rows["track_id"].astype(str))
    assert np.isnan(tracks["alt_m"][order == 0][0])
    assert tracks["alt_m"][order == 1][0] == pytest.approx(10_000.0, abs=GEO_HEIGHT_LSB_M)

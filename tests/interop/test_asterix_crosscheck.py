"""What airpicture encodes (CAT048, CAT021, CAT062, CAT034) decodes in asterix_decoder to the
values it was made from, within each item's resolution."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from airpicture.interop.asterix import (
    FL_M,
    FT_M,
    GEO_HEIGHT_LSB_M,
    HEIGHT_3D_LSB_M,
    LATLON_021_131_LSB_DEG,
    LATLON_062_LSB_DEG,
    NM_M,
    QUARTER_FL_M,
    RHO_LSB_M,
    THETA_LSB_DEG,
    SystemCode,
    elevation_to_height_m,
    encode_cat021,
    encode_cat034,
    encode_cat048,
    encode_cat062,
    seconds_of_day,
)
from tests.interop.asterix_tables import (
    ADSB,
    EPOCH,
    RADAR,
    SENSORS,
    adsb_reports,
    picture,
    radar_reports,
)
from tests.interop.independent import asterix_decoder_parse, value

TOD_HALF_LSB = 1 / 256


def tod_of(time_s: float) -> float:
    return (seconds_of_day(EPOCH) + time_s) % 86400.0


def angle_difference(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def decoded(datagrams: list[Any]) -> list[dict[str, Any]]:
    return asterix_decoder_parse(b"".join(d.data for d in datagrams))


def test_cat048_reports_decode_in_asterix_decoder_to_what_they_were_made_from() -> None:
    reports = radar_reports(300, seed=48)
    encoded = encode_cat048(reports, SENSORS, EPOCH)
    theirs = decoded(encoded.datagrams)
    assert not encoded.skipped and len(theirs) == 300
    # one datagram per sensor at a time, each record in time order within its sensor
    by_sensor = {sid: np.flatnonzero(reports["sensor_id"] == sid) for sid in SENSORS}
    seen = {sid: 0 for sid in SENSORS}
    for record in theirs:
        sensor = next(
            s
            for s in SENSORS.values()
            if (s.sac, s.sic) == (value(record, "I010", "SAC"), value(record, "I010", "SIC"))
        )
        i = by_sensor[sensor.sensor_id][seen[sensor.sensor_id]]
        seen[sensor.sensor_id] += 1
        tod = value(record, "I140", "ToD")
        assert abs((tod - tod_of(reports["time_s"][i]) + 43200) % 86400 - 43200) <= TOD_HALF_LSB
        assert value(record, "I040", "RHO") * NM_M == pytest.approx(
            reports["range_m"][i], abs=RHO_LSB_M / 2 + 1e-6
        )
        assert (
            angle_difference(value(record, "I040", "THETA"), reports["az_deg"][i])
            <= THETA_LSB_DEG / 2 + 1e-9
        )
        if sensor is RADAR:
            if np.isfinite(reports["el_deg"][i]):
                height = elevation_to_height_m(
                    sensor,
                    reports["range_m"][i : i + 1],
                    reports["az_deg"][i : i + 1],
                    reports["el_deg"][i : i + 1],
                )[0]
                assert value(record, "I110", "3D_Height") * FT_M == pytest.approx(
                    height, abs=HEIGHT_3D_LSB_M / 2 + 1e-6
                )
            assert value(record, "I120", "CAL", "CAL") == pytest.approx(
                reports["range_rate_mps"][i], abs=0.5 + 1e-9
            )
        else:
            assert value(record, "I090", "FL") * FL_M == pytest.approx(
                reports["pressure_alt_m"][i], abs=QUARTER_FL_M / 2 + 1e-6
            )
            assert value(record, "I070", "Mode3A") == reports["mode3a"][i]
        ident = reports["ident"][i]
        if len(ident) == 6 and all(c in "0123456789abcdef" for c in ident):
            assert value(record, "I220", "ACAddr").lower() == ident
        elif ident:
            assert value(record, "I240", "TId").rstrip() == ident


def test_cat021_reports_decode_in_asterix_decoder_to_what_they_were_made_from() -> None:
    reports = adsb_reports(300, seed=21)
    encoded = encode_cat021(reports, SENSORS, EPOCH)
    theirs = decoded(encoded.datagrams)
    assert not encoded.skipped and len(theirs) == 300
    for i, record in enumerate(theirs):
        assert (value(record, "I010", "SAC"), value(record, "I010", "SIC")) == (ADSB.sac, ADSB.sic)
        tod = value(record, "I071", "time_applicability_position")
        assert abs((tod - tod_of(reports["time_s"][i]) + 43200) % 86400 - 43200) <= TOD_HALF_LSB
        lat = value(record, "I131", "Lat")
        lon = value(record, "I131", "Lon")
        assert lat == pytest.approx(reports["lat_deg"][i], abs=LATLON_021_131_LSB_DEG)
        assert angle_difference(lon, reports["lon_deg"][i]) <= LATLON_021_131_LSB_DEG
        assert value(record, "I140", "geometric_height") * FT_M == pytest.approx(
            reports["alt_m"][i], abs=GEO_HEIGHT_LSB_M / 2 + 1e-6
        )
        assert value(record, "I145", "FL") * FL_M == pytest.approx(
            reports["pressure_alt_m"][i], abs=QUARTER_FL_M / 2 + 1e-6
        )
        assert value(record, "I070", "Mode3A") == reports["mode3a"][i]


def test_cat062_picture_decodes_in_asterix_decoder_to_the_rows_it_was_made_from() -> None:
    rows = picture(n_tracks=40, n_snapshots=3, seed=62)
    encoded = encode_cat062(rows, SystemCode(sac=2, sic=100), EPOCH)
    theirs = decoded(encoded.datagrams)
    assert not encoded.skipped and len(theirs) == 120
    order = np.lexsort((rows["track_id"].astype(str), rows["time_s"]))
    for record, i in zip(theirs, order, strict=True):
        assert (value(record, "I010", "SAC"), value(record, "I010", "SIC")) == (2, 100)
        assert value(record, "I040", "TrkN") == int(rows["track_id"][i])
        assert (
            abs((value(record, "I070", "ToT") - tod_of(rows["time_s"][i]) + 43200) % 86400 - 43200)
            <= TOD_HALF_LSB
        )
        assert value(record, "I105", "Lat") == pytest.approx(
            rows["lat_deg"][i], abs=LATLON_062_LSB_DEG
        )
        assert (
            angle_difference(value(record, "I105", "Lon"), rows["lon_deg"][i]) <= LATLON_062_LSB_DEG
        )
        assert value(record, "I185", "Vx") == pytest.approx(rows["vel_e_mps"][i], abs=0.125 + 1e-9)
        assert value(record, "I185", "Vy") == pytest.approx(rows["vel_n_mps"][i], abs=0.125 + 1e-9)
        assert value(record, "I130", "Alt") * FT_M == pytest.approx(
            rows["alt_m"][i], abs=GEO_HEIGHT_LSB_M / 2 + 1e-6
        )
        assert value(record, "I220", "RoC") * FT_M / 60 == pytest.approx(
            rows["vel_u_mps"][i], abs=6.25 * FT_M / 120 + 1e-6
        )
        assert value(record, "I080", "MON") == int(len(rows["sources"][i]) == 1)
        assert value(record, "I080", "TSB") == int(rows["time_s"][i] == 0.0)
        assert value(record, "I080", "TSE") == int(rows["time_s"][i] == 10.0)
        assert value(record, "I290", "TRK", "TRK") == rows["time_s"][i]


def test_cat034_north_marker_and_sector_crossing_decode_in_asterix_decoder() -> None:
    data = encode_cat034(RADAR, EPOCH, 3605.5, 1, period_s=10.0) + encode_cat034(
        RADAR, EPOCH, 3606.25, 2, sector_az_deg=22.5
    )
    north, sector = asterix_decoder_parse(data)
    assert value(north, "I000", "MsgTyp") == 1 and value(sector, "I000", "MsgTyp") == 2
    assert value(north, "I030", "ToD") == pytest.approx(tod_of(3605.5))
    assert value(north, "I041", "RotS") == pytest.approx(10.0)
    assert value(sector, "I020", "Azi") == pytest.approx(22.5)

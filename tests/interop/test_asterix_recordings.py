"""Real recordings (shipped with asterix_decoder) decode to the same values in both decoders."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from airpicture.interop.asterix import FL_M, FT_M, NM_M, AsterixDecoder, AsterixSensor, Decoded
from airpicture.interop.pcap import read_pcap
from tests.interop.independent import asterix_decoder_parse, sample_file, value

#: Midnight: seconds since the epoch are the time of day (the samples are before noon).
EPOCH = datetime(2016, 5, 5, tzinfo=UTC)


def sensors_of(records: list[dict[str, Any]]) -> list[AsterixSensor]:
    """One sensor per SAC/SIC the recording holds, radar or ADS-B by category."""
    pairs = {
        (r["category"], value(r, "I010", "SAC"), value(r, "I010", "SIC"))
        for r in records
        if "I010" in r
    }
    return [
        AsterixSensor(
            f"{cat}-{sac}-{sic}", "SVN", sac, sic, 45.5, 14.5, 0.0, "adsb" if cat == 21 else "radar"
        )
        for cat, sac, sic in sorted(pairs)
    ]


def decode_all(datagrams: list[bytes], records: list[dict[str, Any]]) -> list[Decoded]:
    decoder = AsterixDecoder(sensors_of(records), EPOCH)
    return [decoder.decode(d) for d in datagrams]


def rows(parts: list[Decoded], table: str) -> dict[str, np.ndarray[Any, Any]]:
    tables = [getattr(p, table) for p in parts]
    return {k: np.concatenate([t[k] for t in tables]) for k in tables[0]}


def check_cat048(mine: dict[str, Any], i: int, theirs: dict[str, Any]) -> None:
    assert mine["time_s"][i] == pytest.approx(value(theirs, "I140", "ToD"), abs=1e-9)
    if "I040" in theirs:
        assert mine["range_m"][i] / NM_M == pytest.approx(value(theirs, "I040", "RHO"), abs=1e-9)
        assert mine["az_deg"][i] == pytest.approx(value(theirs, "I040", "THETA"), abs=1e-9)
    else:  # a track-only record (I042 Cartesian): no plot position
        assert math.isnan(mine["range_m"][i]) and math.isnan(mine["az_deg"][i])
    if value(theirs, "I090", "V") == 0:
        assert mine["pressure_alt_m"][i] / FL_M == pytest.approx(value(theirs, "I090", "FL"))
    elif "I090" not in theirs:
        assert math.isnan(mine["pressure_alt_m"][i])
    if value(theirs, "I070", "V") == 0:
        assert mine["mode3a"][i] == value(theirs, "I070", "Mode3A")
    address = value(theirs, "I220", "ACAddr")
    assert mine["mode_s_address"][i] == (address.lower() if address else "")
    callsign = (value(theirs, "I240", "TId") or "").rstrip()
    assert mine["ident"][i] == (callsign or (address or "").lower())


def test_cat048_raw_decodes_as_asterix_decoder_does() -> None:
    data = sample_file("cat048.raw")
    theirs = asterix_decoder_parse(data)
    mine = rows(decode_all([data], theirs), "reports")
    assert len(theirs) == len(mine["time_s"]) == 1
    check_cat048(mine, 0, theirs[0])
    assert mine["ident"][0] == "DLH65A"
    assert mine["pressure_alt_m"][0] == pytest.approx(330 * FL_M)


def test_cat034_raw_decodes_as_asterix_decoder_does() -> None:
    data = sample_file("cat034.raw")
    theirs = asterix_decoder_parse(data)
    mine = rows(decode_all([data], theirs), "service")
    assert len(theirs) == len(mine["time_s"]) == 1
    assert mine["message_type"][0] == value(theirs[0], "I000", "MsgTyp") == 2
    assert mine["sector_az_deg"][0] == pytest.approx(value(theirs[0], "I020", "Azi"))
    assert mine["time_s"][0] == pytest.approx(value(theirs[0], "I030", "ToD"), abs=1e-9)


def test_the_cat034_cat048_capture_decodes_record_by_record_as_asterix_decoder_does() -> None:
    capture = read_pcap(sample_file("cat_034_048.pcap"))
    payloads = [d.payload for d in capture.datagrams]
    theirs = asterix_decoder_parse(b"".join(payloads))
    parts = decode_all(payloads, theirs)
    reports, service = rows(parts, "reports"), rows(parts, "service")
    theirs_048 = [r for r in theirs if r["category"] == 48]
    theirs_034 = [r for r in theirs if r["category"] == 34]
    assert len(capture.datagrams) == 100 and not capture.skipped
    assert len(reports["time_s"]) == len(theirs_048) > 0
    assert len(service["time_s"]) == len(theirs_034) > 0
    for i, record in enumerate(theirs_048):
        check_cat048(reports, i, record)
    for i, record in enumerate(theirs_034):
        assert service["message_type"][i] == value(record, "I000", "MsgTyp")
        assert service["time_s"][i] == pytest.approx(value(record, "I030", "ToD"), abs=1e-9)
        azimuth = value(record, "I020", "Azi")
        if azimuth is None:
            assert math.isnan(service["sector_az_deg"][i])
        else:
            assert service["sector_az_deg"][i] == pytest.approx(azimuth)


def test_cat062_raw_decodes_as_asterix_decoder_does() -> None:
    data = sample_file("cat062cat065.raw")
    theirs = [r for r in asterix_decoder_parse(data) if r["category"] == 62]
    parts = decode_all([data], [])
    tracks = rows(parts, "tracks")
    assert parts[0].other_categories == {65: 1}
    assert len(tracks["time_s"]) == len(theirs) == 2
    for i, record in enumerate(theirs):
        assert tracks["time_s"][i] == pytest.approx(value(record, "I070", "ToT"), abs=1e-9)
        assert tracks["sac"][i] == value(record, "I010", "SAC")
        assert tracks["track_number"][i] == value(record, "I040", "TrkN")
        assert tracks["lat_deg"][i] == pytest.approx(value(record, "I105", "Lat"), abs=1e-12)
        assert tracks["lon_deg"][i] == pytest.approx(value(record, "I105", "Lon"), abs=1e-12)
        assert tracks["vel_e_mps"][i] == value(record, "I185", "Vx")
        assert tracks["vel_n_mps"][i] == value(record, "I185", "Vy")
        assert tracks["alt_m"][i] / FT_M == pytest.approx(value(record, "I130", "Alt"))
        assert tracks["pressure_alt_m"][i] / FT_M == pytest.approx(value(record, "I136", "MFL"))
        assert tracks["vel_u_mps"][i] * 60 / FT_M == pytest.approx(value(record, "I220", "RoC"))
        assert tracks["mode3a"][i] == value(record, "I060", "Mode3A")

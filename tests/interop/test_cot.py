"""Cursor-on-Target events read back with takproto's and pytak's own parsers."""

from __future__ import annotations

import asyncio
import math
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytak
import pytest
import takproto
from hypothesis import given, settings
from hypothesis import strategies as st
from pytak.classes import _takmsg2xml

from airpicture.interop.cot import (
    UNKNOWN_ERROR_M,
    ce_le_m,
    cot_events,
    cot_type,
    event_proto_mesh,
    event_proto_stream,
    event_xml,
)
from tests.interop.asterix_tables import objects

EPOCH = datetime(2026, 3, 1, 23, 59, 58, tzinfo=UTC)


def one_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "time_s": 4.25,
        "track_id": "00042",
        "lat_deg": 35.123456789,
        "lon_deg": 139.987654321,
        "alt_m": 10_500.0,
        "vel_e_mps": 200.0,
        "vel_n_mps": -200.0,
        "vel_u_mps": 0.0,
        "cls": "aircraft",
        "identity": "neutral",
        "sources": ["JPN-R1", "USA-ADSB"],
    }
    row.update(overrides)
    table = {
        k: np.array([v])
        for k, v in row.items()
        if k not in ("sources", "track_id", "cls", "identity")
    }
    for k in ("track_id", "cls", "identity"):
        table[k] = objects([row[k]])
    table["sources"] = objects([row["sources"]])
    return table


class Collect(pytak.RXWorker):  # type: ignore[misc]
    async def handle_data(self, data: bytes) -> None:  # pragma: no cover - not called
        pass


def pytak_read(data: bytes, protocol: int) -> Any:
    """What pytak's receiving worker takes off the wire: XML up to </event>, or a TAK v1 message."""

    async def read() -> Any:
        if protocol == 0:
            reader: Any = asyncio.StreamReader()
            reader.feed_data(data)
            reader.feed_eof()
        else:

            class Datagrams:
                async def recv(self) -> tuple[bytes, tuple[str, int]]:
                    return data, ("127.0.0.1", 6969)

            reader = Datagrams()
        worker = Collect(asyncio.Queue(), {"TAK_PROTO": str(protocol)}, reader)
        return await worker.readcot()

    return asyncio.run(read())


def test_cot_types_follow_2525_from_class_and_identity() -> None:
    assert cot_type("aircraft", "friend") == "a-f-A-M-F"
    assert cot_type("aircraft", "neutral") == "a-n-A-C"
    assert cot_type("aircraft", "unknown") == "a-u-A"
    assert cot_type("cruise_missile", "hostile") == "a-h-A-W-M"
    assert cot_type("ballistic_missile", "hostile") == "a-h-A-W-M-S-S"
    assert cot_type("unknown", "unknown") == "a-u-A"


def test_ce_and_le_are_90_percent_errors_of_the_covariance() -> None:
    ce, le = ce_le_m(np.diag([100.0**2, 100.0**2, 50.0**2])[None])
    # a circular normal of σ = 100 m holds 90 % within 214.6 m; a normal within 1.645 σ
    assert ce[0] == pytest.approx(214.597, abs=1e-3)
    assert le[0] == pytest.approx(82.243, abs=1e-3)


def test_an_event_reads_back_in_takproto_from_xml_and_both_protobuf_forms() -> None:
    cov = np.diag([30.0**2, 40.0**2, 20.0**2])[None]
    (event,) = cot_events(one_row(), EPOCH, stale_s=15.0, cov_enu_m2=cov)
    from_xml = takproto.parse_proto(bytearray(event_xml(event))).cotEvent
    from_mesh = takproto.parse_proto(bytearray(event_proto_mesh(event))).cotEvent
    from_stream = takproto.parse_proto(bytearray(event_proto_stream(event))).cotEvent
    for cot in (from_xml, from_mesh, from_stream):
        assert cot.uid == "airpicture.track.00042"
        assert cot.type == "a-n-A-C" and cot.how == "m-f"
        # 23:59:58 + 4.25 s: the next day, in UTC milliseconds
        assert (
            cot.sendTime
            == cot.startTime
            == round(datetime(2026, 3, 2, 0, 0, 2, 250000, tzinfo=UTC).timestamp() * 1000)
        )
        assert cot.staleTime - cot.sendTime == 15_000
        assert cot.lat == pytest.approx(35.123456789, abs=5e-8)
        assert cot.lon == pytest.approx(139.987654321, abs=5e-8)
        assert cot.hae == pytest.approx(10_500.0)
        assert cot.ce == pytest.approx(2.146 * math.sqrt((30.0**2 + 40.0**2) / 2), abs=0.1)
        assert cot.le == pytest.approx(1.645 * 20.0, abs=0.1)
        assert cot.detail.track.course == pytest.approx(135.0)
        assert cot.detail.track.speed == pytest.approx(math.hypot(200.0, 200.0), abs=0.005)
        assert cot.detail.contact.callsign == "00042"
        assert "sources: JPN-R1, USA-ADSB" in cot.detail.xmlDetail


def test_an_event_reads_back_in_pytaks_receiver_and_converter() -> None:
    (event,) = cot_events(one_row(cls="ballistic_missile", identity="hostile"), EPOCH, 30.0)
    xml_bytes = pytak_read(event_xml(event) + event_xml(event), protocol=0)
    root = ET.fromstring(xml_bytes.split(b"?>", 1)[1])
    assert root.get("type") == "a-h-A-W-M-S-S"
    assert root.find("point").get("ce") == f"{UNKNOWN_ERROR_M:.1f}"  # no covariance: unknown
    assert root.find("detail/remarks").text.endswith("sources: JPN-R1, USA-ADSB")
    message = pytak_read(event_proto_mesh(event), protocol=1)
    back = ET.fromstring(_takmsg2xml(message))
    assert back.get("uid") == "airpicture.track.00042"
    assert back.get("stale") == "2026-03-02T00:00:32.250Z"
    assert back.find("detail/remarks").text.startswith("airpicture track 00042: ballistic_missile")


def test_rows_without_a_position_make_no_event() -> None:
    assert cot_events(one_row(lat_deg=float("nan")), EPOCH, 15.0) == []


@settings(max_examples=100, deadline=None)
@given(
    lat=st.floats(-90.0, 90.0),
    lon=st.floats(-180.0, 180.0),
    alt=st.floats(-500.0, 1_000_000.0),
    ve=st.floats(-8000.0, 8000.0),
    vn=st.floats(-8000.0, 8000.0),
    time_s=st.floats(0.0, 864_000.0),
)
def test_events_round_trip_within_each_forms_resolution(
    lat: float, lon: float, alt: float, ve: float, vn: float, time_s: float
) -> None:
    (event,) = cot_events(
        one_row(lat_deg=lat, lon_deg=lon, alt_m=alt, vel_e_mps=ve, vel_n_mps=vn, time_s=time_s),
        EPOCH,
        10.0,
    )
    sent_ms = (EPOCH.timestamp() + time_s) * 1000
    xml_cot = takproto.parse_proto(bytearray(event_xml(event))).cotEvent
    mesh_cot = takproto.parse_proto(bytearray(event_proto_mesh(event))).cotEvent
    assert abs(xml_cot.lat - lat) <= 5e-8 and abs(xml_cot.lon - lon) <= 5e-8
    assert abs(xml_cot.hae - alt) <= 0.05 + 1e-9
    assert mesh_cot.lat == lat and mesh_cot.lon == lon and mesh_cot.hae == alt
    for cot in (xml_cot, mesh_cot):
        assert abs(cot.sendTime - sent_ms) <= 0.5 + 1e-3
        assert cot.detail.track.speed == pytest.approx(math.hypot(ve, vn), abs=0.005 + 1e-9)
        if math.hypot(ve, vn) > 1.0:
            expected = math.degrees(math.atan2(ve, vn)) % 360.0
            assert abs((cot.detail.track.course - expected + 180.0) % 360.0 - 180.0) <= 0.005 + 1e-9

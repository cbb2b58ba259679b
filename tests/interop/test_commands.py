"""`airpicture feed`, `ingest`, `export` and `track` on recorded data, end to end on a small
scenario: what is fed comes back from ingest; exports decode in independent decoders."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import takproto
from takproto.functions import parse_stream

from airpicture.cli import main
from airpicture.interop.asterix import (
    FL_M,
    FT_M,
    GEO_HEIGHT_LSB_M,
    LATLON_021_131_LSB_DEG,
    LATLON_062_LSB_DEG,
    RHO_LSB_M,
    THETA_LSB_DEG,
)
from airpicture.interop.pcap import UdpDatagram, read_pcap, write_pcap
from airpicture.tables import PICTURE_SCHEMA, PLOTS_SCHEMA, read_table, write_table
from tests.interop.asterix_tables import objects, picture
from tests.interop.independent import asterix_decoder_parse, value

SCENARIO = """
name: asterix-feed
epoch: "2026-05-01T23:59:00Z"
duration_s: 120
seed: 3
picture_interval_s: 10
nations: {JPN: {}, USA: {}}
sensors:
  - {id: J-3D, nation: JPN, type: radar, lat_deg: 35.0, lon_deg: 139.0, alt_m: 100,
     scan_period_s: 5, max_range_m: 400000, sigma_range_m: 50, sigma_az_deg: 0.1,
     sigma_el_deg: 0.1, pd: 0.9, sac: 50, sic: 1}
  - {id: J-ATC, nation: JPN, type: radar2d, lat_deg: 35.5, lon_deg: 139.5, alt_m: 50,
     scan_period_s: 10, max_range_m: 300000, sigma_range_m: 60, sigma_az_deg: 0.08, pd: 0.9}
  - {id: U-ADSB, nation: USA, type: adsb, lat_deg: 35.2, lon_deg: 139.2,
     max_range_m: 500000, report_period_s: 2, sigma_pos_m: 30, pd: 0.98}
targets:
  - {id: AC1, kind: aircraft, identity: neutral, speed_mps: 230, alt_m: 10000, transponder: true,
     ident: ANA123, route: [{lat_deg: 35.0, lon_deg: 138.0}, {lat_deg: 36.0, lon_deg: 140.5}]}
  - {id: AC2, kind: aircraft, identity: friend, speed_mps: 250, alt_m: 8000,
     route: [{lat_deg: 34.5, lon_deg: 139.0}, {lat_deg: 35.8, lon_deg: 139.4}]}
"""


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scenario simulated, fed to a pcap at full speed, and ingested back."""
    root = tmp_path_factory.mktemp("feed")
    (root / "scenario.yaml").write_text(SCENARIO)
    assert main(["simulate", str(root / "scenario.yaml"), "--out", str(root / "sim")]) == 0
    assert (
        main(
            [
                "feed",
                str(root / "scenario.yaml"),
                "--plots",
                str(root / "sim/plots.parquet"),
                "--speed",
                "0",
                "--record",
                str(root / "feed.pcap"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "ingest",
                str(root / "feed.pcap"),
                "--scenario",
                str(root / "scenario.yaml"),
                "--out",
                str(root / "in"),
            ]
        )
        == 0
    )
    return root


def test_every_fed_report_comes_back_from_ingest_within_the_formats_resolution(fed: Path) -> None:
    sent = read_table(fed / "sim/plots.parquet", PLOTS_SCHEMA)
    back = read_table(fed / "in/plots.parquet", PLOTS_SCHEMA)
    assert len(back["time_s"]) == len(sent["time_s"]) > 100
    assert set(back["target_id"].tolist()) == {""}  # recorded data: no truth
    for sensor_id in ("J-3D", "J-ATC", "U-ADSB"):
        s = np.flatnonzero(sent["sensor_id"] == sensor_id)
        b = np.flatnonzero(back["sensor_id"] == sensor_id)
        s = s[np.argsort(sent["time_s"][s], kind="stable")]
        assert len(s) == len(b) > 0
        assert np.all(np.abs(back["time_s"][b] - sent["time_s"][s]) <= 1 / 256 + 1e-9)
        if sensor_id == "U-ADSB":
            assert np.all(np.abs(back["lat_deg"][b] - sent["lat_deg"][s]) <= LATLON_021_131_LSB_DEG)
            assert np.all(
                np.abs(back["alt_m"][b] - sent["alt_m"][s]) <= GEO_HEIGHT_LSB_M / 2 + 1e-9
            )
            assert back["ident"][b].tolist() == sent["ident"][s].tolist()
        else:
            assert np.all(np.abs(back["range_m"][b] - sent["range_m"][s]) <= RHO_LSB_M / 2 + 1e-6)
            d_az = (back["az_deg"][b] - sent["az_deg"][s] + 180.0) % 360.0 - 180.0
            assert np.all(np.abs(d_az) <= THETA_LSB_DEG / 2 + 1e-9)
        if sensor_id == "J-3D":  # targets at 10 km and below, 30 km and more away
            assert np.all(np.abs(back["el_deg"][b] - sent["el_deg"][s]) < 0.01)
        if sensor_id == "J-ATC":
            assert np.all(np.isnan(back["el_deg"][b]))


def test_the_feed_sends_north_markers_and_sector_crossings_per_scan(fed: Path) -> None:
    capture = read_pcap((fed / "feed.pcap").read_bytes())
    records = asterix_decoder_parse(b"".join(d.payload for d in capture.datagrams))
    service = [r for r in records if r["category"] == 34]
    north = [
        r for r in service if value(r, "I000", "MsgTyp") == 1 and value(r, "I010", "SAC") == 50
    ]
    # J-3D (declared SAC/SIC 50/1): a 5 s scan over 120 s, from time 0 to 120 inclusive
    assert len(north) == 25
    assert all(value(r, "I041", "RotS") == 5.0 for r in north)
    sectors = [
        r for r in service if value(r, "I000", "MsgTyp") == 2 and value(r, "I010", "SAC") == 50
    ]
    assert len(sectors) == 16 * 24 + 1
    # J-ATC and U-ADSB get derived codes: JPN is the first nation (SAC 1), USA the second
    assert {
        (value(r, "I010", "SAC"), value(r, "I010", "SIC")) for r in records if r["category"] == 48
    } == {(50, 1), (1, 1)}
    assert {
        (value(r, "I010", "SAC"), value(r, "I010", "SIC")) for r in records if r["category"] == 21
    } == {(2, 1)}
    # datagrams go out in time order, each CAT048 after the sector crossing that closes it
    times = [d.time_unix_s for d in capture.datagrams]
    assert times == sorted(times)


def test_ingest_counts_unknown_codes_and_bad_datagrams_and_goes_on(
    fed: Path, tmp_path: Path
) -> None:
    capture = read_pcap((fed / "feed.pcap").read_bytes())
    bad = UdpDatagram(
        capture.datagrams[0].time_unix_s,
        "10.9.9.9:4000",
        "127.0.0.1:8600",
        b"\x30\x00\x09\xff\xff\xff",
    )
    (tmp_path / "bad.pcap").write_bytes(write_pcap([bad, *capture.datagrams]))
    scenario = (fed / "scenario.yaml").read_text().replace("sac: 50, sic: 1", "sac: 50, sic: 2")
    (tmp_path / "scenario.yaml").write_text(scenario)
    code = main(
        [
            "ingest",
            str(tmp_path / "bad.pcap"),
            "--scenario",
            str(tmp_path / "scenario.yaml"),
            "--out",
            str(tmp_path / "in"),
        ]
    )
    assert code == 0
    back = read_table(tmp_path / "in/plots.parquet", PLOTS_SCHEMA)
    sent = read_table(fed / "sim/plots.parquet", PLOTS_SCHEMA)
    # J-3D's reports now carry a SAC/SIC no sensor has: left out; everything else is there
    assert len(back["time_s"]) == int((sent["sensor_id"] != "J-3D").sum())


def test_track_runs_on_ingested_reports_without_target_id(fed: Path, tmp_path: Path) -> None:
    back = read_table(fed / "in/plots.parquet", PLOTS_SCHEMA)
    no_truth = {k: v for k, v in back.items() if k != "target_id"}
    import pyarrow as pa

    schema = pa.schema([f for f in PLOTS_SCHEMA if f.name != "target_id"])
    write_table(tmp_path / "plots.parquet", no_truth, schema)
    code = main(
        [
            "track",
            str(tmp_path / "plots.parquet"),
            "--scenario",
            str(fed / "scenario.yaml"),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0
    pictures = read_table(tmp_path / "out/picture.parquet", PICTURE_SCHEMA)
    assert len(set(pictures["track_id"].tolist())) >= 2


def test_feed_sends_udp_datagrams_to_a_listening_socket(fed: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 2**20)
        port = listener.getsockname()[1]
        code = main(
            [
                "feed",
                str(fed / "scenario.yaml"),
                "--plots",
                str(fed / "sim/plots.parquet"),
                "--duration-s",
                "10",
                "--speed",
                "0",
                "--asterix",
                f"udp://127.0.0.1:{port}",
            ]
        )
        assert code == 0
        listener.settimeout(5.0)
        received = []
        try:
            while True:
                received.append(listener.recv(65536))
        except TimeoutError:
            pass
    records = asterix_decoder_parse(b"".join(received))
    assert {r["category"] for r in records} == {21, 34, 48}
    assert all(value(r, "I010", "SAC") in (1, 2, 50) for r in records)


def run_dir(tmp_path: Path) -> Path:
    rows = picture(n_tracks=6, n_snapshots=4, seed=5)
    rows["viewer"] = objects(["JPN"] * len(rows["time_s"]))
    other = picture(n_tracks=2, n_snapshots=4, seed=6)
    other["viewer"] = objects(["USA"] * len(other["time_s"]))
    table = {k: np.concatenate([rows[k], other[k]]) for k in rows}
    write_table(tmp_path / "picture.parquet", table, PICTURE_SCHEMA)
    info = {"epoch": "2026-05-01T23:59:58Z", "nations": ["JPN", "USA"], "picture_interval_s": 5.0}
    (tmp_path / "run.json").write_text(json.dumps(info))
    return tmp_path


def jpn_rows(directory: Path) -> dict[str, Any]:
    table = read_table(directory / "picture.parquet", PICTURE_SCHEMA)
    keep = table["viewer"] == "JPN"
    return {k: v[keep] for k, v in table.items()}


def test_export_asterix062_decodes_in_asterix_decoder_to_the_viewers_picture(
    tmp_path: Path,
) -> None:
    directory = run_dir(tmp_path)
    assert (
        main(
            [
                "export",
                str(directory),
                "--format",
                "asterix062",
                "--viewer",
                "JPN",
                "--out",
                str(tmp_path / "jpn.ast"),
            ]
        )
        == 0
    )
    records = asterix_decoder_parse((tmp_path / "jpn.ast").read_bytes())
    rows = jpn_rows(directory)
    assert len(records) == len(rows["time_s"]) == 24
    by_key = {(round(value(r, "I070", "ToT") * 128), value(r, "I040", "TrkN")): r for r in records}
    for i in range(24):
        tod = (86398.0 + rows["time_s"][i]) % 86400.0  # the epoch is 23:59:58
        record = by_key[(round(tod * 128), int(rows["track_id"][i]))]
        assert (value(record, "I010", "SAC"), value(record, "I010", "SIC")) == (1, 0)
        assert abs(value(record, "I105", "Lat") - rows["lat_deg"][i]) <= LATLON_062_LSB_DEG
        assert abs(value(record, "I130", "Alt") * FT_M - rows["alt_m"][i]) <= 6.25 * FT_M / 2 + 1e-6


def test_export_cot_xml_and_proto_hold_one_event_per_row_of_the_viewer(tmp_path: Path) -> None:
    directory = run_dir(tmp_path)
    for fmt in ("cot-xml", "cot-proto"):
        assert (
            main(
                [
                    "export",
                    str(directory),
                    "--format",
                    fmt,
                    "--viewer",
                    "USA",
                    "--out",
                    str(tmp_path / fmt),
                ]
            )
            == 0
        )
    xml_events = (tmp_path / "cot-xml").read_bytes().split(b"\n<?xml")
    assert len(xml_events) == 8
    first = takproto.parse_proto(bytearray(xml_events[0])).cotEvent
    assert first.uid.startswith("airpicture.track.") and first.staleTime - first.sendTime == 15_000
    stream = io.BytesIO((tmp_path / "cot-proto").read_bytes())
    messages = []
    while stream.read(1) == b"\xbf":
        messages.append(parse_stream(bytearray(b"\xbf") + _one_delimited(stream)))
    assert len(messages) == 8
    assert {m.cotEvent.uid for m in messages} == {first.uid, *(m.cotEvent.uid for m in messages)}


def _one_delimited(stream: io.BytesIO) -> bytes:
    """The varint length and the message that follows, as read off a TAK stream."""
    head = b""
    while True:
        byte = stream.read(1)
        head += byte
        if not byte[0] & 0x80:
            break
    length = 0
    for shift, b in enumerate(head):
        length |= (b & 0x7F) << (7 * shift)
    return head + stream.read(length)


def test_export_names_the_viewers_a_run_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = run_dir(tmp_path)
    code = main(
        [
            "export",
            str(directory),
            "--format",
            "cot-xml",
            "--viewer",
            "AUS",
            "--out",
            str(tmp_path / "x"),
        ]
    )
    assert code == 2
    assert "no picture of viewer 'AUS'; the run has JPN, USA" in capsys.readouterr().err
    _ = FL_M

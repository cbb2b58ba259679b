"""A node fed its sensors' ASTERIX over UDP makes the deterministic run's picture from the same
reports, and puts it out as CAT062 and Cursor-on-Target that independent parsers read back."""

from __future__ import annotations

import asyncio
import math
import socket
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import nats
import numpy as np
import pytest
import takproto  # type: ignore[import-untyped]

from airpicture.cli.feed import feed_schedule
from airpicture.cli.ingest import asterix_sensors
from airpicture.cli.node import asterix_io, load_config
from airpicture.errors import InputError
from airpicture.interop.asterix import (
    AsterixDecoder,
    AsterixIngest,
    SystemCode,
    track_number_of,
)
from airpicture.network.asterix_io import (
    AsterixInbox,
    CotDestination,
    PictureOutputs,
    open_listeners,
)
from airpicture.network.recording import RecordingSettings, recording_share
from airpicture.network.run import run_network
from airpicture.network.service import (
    ExerciseClock,
    NodeService,
    ServiceSettings,
    read_node_outputs,
)
from airpicture.scenario import LoadedScenario
from airpicture.sim.simulate import simulate
from airpicture.tables import Table
from tests.interop.independent import DECODER_PYTHON, asterix_decoder_parse, value

from .jetstream_server import jetstream_server, until_ready
from .netscen import NATIONS, network_scenario

#: No nation gives anything to another: each picture is its own sensors'.
ISOLATED: dict[str, dict[str, list[str]]] = {n: {"tracks": [], "plots": []} for n in NATIONS}
DURATION_S = 30.0
#: JPN has a radar (CAT048/034) and an ADS-B station (CAT021).
NATION = "JPN"
CORRUPT = b"\x30\x00\x09\xff\xff\xff\xff\xff\xff"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with jetstream_server(tmp_path / "jetstream") as url:
        yield url


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def scenario_and_feed(
    end_extra_s: float = 5.0,
) -> tuple[LoadedScenario, list[tuple[float, bytes]], Table]:
    """The scenario, every datagram of its feed (send time, bytes), and the reports they
    decode to (what the node should take)."""
    loaded = network_scenario(ISOLATED, duration_s=DURATION_S)
    scenario = loaded.scenario
    plots = simulate(loaded).plots
    skipped: Counter[str] = Counter()
    schedule, _ = feed_schedule(
        plots, scenario, asterix_sensors(scenario), DURATION_S + end_extra_s, skipped
    )
    sends = [(s.time_s, data) for s in schedule for data in s.encode()]
    ingest = AsterixIngest(asterix_sensors(scenario), scenario.epoch)
    for _, data in sends:
        assert ingest.datagram(data) is None
    return loaded, sends, ingest.reports()


def test_the_inbox_hands_out_own_reports_once_each_radar_has_crossed_past_them() -> None:
    loaded, sends, reports = scenario_and_feed()
    scenario = loaded.scenario
    own = [s.id for s in scenario.sensors if s.nation == NATION]
    inbox = AsterixInbox(asterix_sensors(scenario), own, scenario.epoch, future_s=30.0)
    assert inbox.datagram(CORRUPT, 0.0) is not None
    taken: list[Table] = []
    for k, t_k in enumerate((5.0, 10.0, 15.0)):
        for send_s, data in sends:
            if (k == 0 or send_s > t_k - 5.0) and send_s <= t_k + 0.6:
                inbox.datagram(data, send_s)
        # JPN-R1's 5 s scan crosses a sector every 0.3125 s: complete up to its previous one
        assert t_k <= inbox.feed_time_s() < t_k + 0.6
        part = inbox.take(t_k)
        assert part is not None
        taken.append(part)
    times = np.concatenate([p["time_s"] for p in taken])
    mine = np.isin(reports["sensor_id"], own) & (reports["time_s"].astype(float) <= 15.0)
    assert sorted(times.tolist()) == sorted(reports["time_s"][mine].tolist())
    assert set(np.concatenate([p["sensor_id"] for p in taken]).tolist()) == set(own)
    assert inbox.counts["failed"] == 1
    assert inbox.counts["other_nation"] > 0
    # far ahead of the exercise clock: refused and counted
    for send_s, data in sends:
        if send_s > 20.0:
            inbox.datagram(data, -1000.0)
    assert inbox.counts["refused_future"] > 0


def test_a_silent_radar_is_not_waited_for_until_it_sends_again() -> None:
    loaded, sends, _ = scenario_and_feed()
    scenario = loaded.scenario
    inbox = AsterixInbox(asterix_sensors(scenario), ["JPN-R1"], scenario.epoch)
    assert inbox.feed_time_s() == math.inf  # nothing heard: nothing to wait for
    for send_s, data in sends:
        if send_s <= 3.0:
            inbox.datagram(data, send_s)
    assert inbox.feed_time_s() < 5.0
    assert inbox.excuse_behind(5.0) == ["JPN-R1"]
    assert inbox.feed_time_s() == math.inf
    for send_s, data in sends:
        if 3.0 < send_s <= 8.0:
            inbox.datagram(data, send_s)
    assert 7.0 < inbox.feed_time_s() <= 8.0


class Collect(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.datagrams: list[bytes] = []

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.datagrams.append(data)


def stream_messages(buffer: bytes) -> list[bytes]:
    """TAK protocol stream messages (0xbf, varint length, message) of a TCP byte stream."""
    out, i = [], 0
    while i < len(buffer):
        assert buffer[i] == 0xBF
        length, shift, i = 0, 0, i + 1
        while True:
            byte = buffer[i]
            i += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        out.append(buffer[i - 1 - (shift // 7) : i + length])
        i += length
    return out


def test_a_node_fed_asterix_over_udp_makes_the_deterministic_picture_and_puts_it_out(
    server: str, tmp_path: Path
) -> None:
    loaded, sends, reports = scenario_and_feed()
    scenario = loaded.scenario
    reference = run_network(loaded, reports).picture
    listen = free_udp_port()
    epoch: datetime = scenario.epoch

    async def main() -> tuple[NodeService, dict[str, Any]]:
        loop = asyncio.get_running_loop()
        cat062, _ = await loop.create_datagram_endpoint(Collect, local_addr=("127.0.0.1", 0))
        cot_udp, _ = await loop.create_datagram_endpoint(Collect, local_addr=("127.0.0.1", 0))
        tcp_bytes = bytearray()

        async def tak_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while data := await reader.read(65536):
                tcp_bytes.extend(data)
            writer.close()

        tak = await asyncio.start_server(tak_server, "127.0.0.1", 0)
        tcp_port = tak.sockets[0].getsockname()[1]
        outputs = PictureOutputs(
            epoch,
            SystemCode(2, 0),
            [f"udp://127.0.0.1:{cat062.get_extra_info('sockname')[1]}"],
            [
                CotDestination(f"udp://127.0.0.1:{cot_udp.get_extra_info('sockname')[1]}"),
                CotDestination(f"tcp://127.0.0.1:{tcp_port}", "proto"),
            ],
        )
        own = [s.id for s in scenario.sensors if s.nation == NATION]
        inbox = AsterixInbox(asterix_sensors(scenario), own, epoch)

        async def connect() -> Any:
            return await nats.connect(server, name="JPN-node")

        speed = 10.0
        settings = ServiceSettings(
            marker_wait_s=5.0, feed_margin_s=0.3, wait_nats_feed=False, end_s=DURATION_S
        )
        clock = ExerciseClock(time.time() + 60.0, speed)
        recording = RecordingSettings(max_bytes=recording_share(tmp_path, 1))
        service = NodeService(
            loaded, NATION, clock, connect, tmp_path / "out", settings, recording=recording
        )
        service.attach_asterix(inbox, [f"udp://127.0.0.1:{listen}"], outputs=outputs)
        ready = asyncio.Event()

        async def is_ready() -> None:
            ready.set()

        task = asyncio.create_task(service.run(None, is_ready))
        await until_ready(ready, [task])
        clock = ExerciseClock(time.time() + 0.5, speed)
        service.set_clock(clock)

        def feed() -> None:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.sendto(CORRUPT, ("127.0.0.1", listen))
                for send_s, data in sends:
                    delay = clock.wall_of(send_s) - time.time()
                    if delay > 0:
                        time.sleep(delay)
                    sock.sendto(data, ("127.0.0.1", listen))

        await asyncio.to_thread(feed)
        await task
        await asyncio.sleep(0.2)
        tak.close()
        received = {
            "cat062": list(cat062.get_protocol().datagrams),  # type: ignore[attr-defined]
            "cot_udp": list(cot_udp.get_protocol().datagrams),  # type: ignore[attr-defined]
            "tcp": bytes(tcp_bytes),
        }
        cat062.close()
        cot_udp.close()
        return service, received

    service, received = asyncio.run(main())
    stats = service.node_stats()
    assert stats["asterix"]["failed"] == 1  # the corrupt datagram: counted, nothing stopped
    assert stats["asterix"]["other_nation"] > 0
    assert stats["service"]["cycles"] == 6
    assert stats["service"]["marker_timeouts"] == {}
    live = read_node_outputs(tmp_path / "out", [NATION]).picture
    want = reference["viewer"] == NATION
    assert live["time_s"].size == int(want.sum()) > 0
    order = np.lexsort((reference["track_id"][want].astype(str), reference["time_s"][want]))
    got_order = np.lexsort((live["track_id"].astype(str), live["time_s"]))
    for column in ("time_s", "lat_deg", "lon_deg", "alt_m"):
        assert live[column][got_order] == pytest.approx(reference[column][want][order], abs=1e-6), (
            column
        )
    assert live["track_id"][got_order].tolist() == reference["track_id"][want][order].tolist()

    # CAT062 over UDP: the project's decoder reads the node's picture back
    decoder = AsterixDecoder([], epoch)
    tracks = [decoder.decode(d).tracks for d in received["cat062"]]
    decoded = {
        (round(float(t), 2), int(n)): (float(a), float(b))
        for table in tracks
        for t, n, a, b in zip(
            table["time_s"], table["track_number"], table["lat_deg"], table["lon_deg"], strict=True
        )
    }
    picture = {
        (round(float(t), 2), track_number_of(str(i))): (float(a), float(b))
        for t, i, a, b in zip(
            live["time_s"], live["track_id"], live["lat_deg"], live["lon_deg"], strict=True
        )
    }
    assert sorted(decoded) == sorted(picture)
    for key, (lat, lon) in picture.items():
        assert decoded[key] == pytest.approx((lat, lon), abs=180.0 / 2**25)

    # ... and CroatiaControl's asterix_decoder (its own environment), where it is installed
    if DECODER_PYTHON.is_file():
        theirs = asterix_decoder_parse(b"".join(received["cat062"]))
        assert len(theirs) == len(picture)
        for record in theirs:
            number = value(record, "I040", "TrkN")
            at = [k for k in picture if k[1] == number]
            lats = [picture[k][0] for k in at]
            lat = value(record, "I105", "Lat")
            assert min(abs(lat - x) for x in lats) <= 180.0 / 2**25

    # CoT: XML over UDP and TAK protocol stream over TCP, parsed by takproto
    xml_events = [takproto.parse_proto(bytearray(d)) for d in received["cot_udp"]]
    stream_events = [takproto.parse_proto(bytearray(m)) for m in stream_messages(received["tcp"])]
    assert len(xml_events) == len(stream_events) == live["time_s"].size
    uids = {f"airpicture.track.{i}" for i in live["track_id"]}
    assert {e.cotEvent.uid for e in xml_events} == {e.cotEvent.uid for e in stream_events} == uids
    last = stream_events[-1].cotEvent
    rows = np.flatnonzero(live["track_id"].astype(str) == last.uid.rsplit(".", 1)[1])
    assert last.lat == pytest.approx(float(live["lat_deg"][rows[-1]]), abs=1e-7)
    out = stats["outputs"]
    assert all(c["errors"] == 0 and c["pictures"] == 6 for c in out.values()), out


def test_the_node_configuration_builds_the_inbox_and_outputs(tmp_path: Path) -> None:
    config = tmp_path / "node.yaml"
    base = (
        "scenario: s.yaml\nnation: JPN\nnats: {servers: [nats://127.0.0.1:4222]}\n"
        "clock: {epoch_unix_s: 0}\nweb: null\nout: out\n"
    )
    config.write_text(
        base + "asterix: {listen: ['udp://127.0.0.1:0']}\n"
        "outputs: {cat062: ['udp://127.0.0.1:9'], cot: [{url: 'tcp://127.0.0.1:9', "
        "format: proto}, {url: 'udp://239.2.3.1:6969'}]}\n"
    )
    loaded = network_scenario(ISOLATED)
    inbox, outputs = asterix_io(load_config(config), loaded, tmp_path, str(config))
    assert inbox is not None and inbox.own == {"JPN-R1", "JPN-ADSB"}
    assert inbox.radars == {"JPN-R1"}
    assert outputs is not None
    assert outputs.system == SystemCode(2, 0)
    assert [k for k, _ in outputs.udp] == ["cat062", "cot-xml-udp"]
    assert [k for k, _ in outputs.tcp] == ["cot-proto-tcp"]
    config.write_text(base + "outputs: {cot: [{url: 'http://x:1'}]}\n")
    with pytest.raises(InputError, match=r"outputs\.cot\.0\.url: 'http://x:1' is not"):
        load_config(config)


def test_a_tak_endpoint_that_is_down_is_retried_and_never_blocks_the_node() -> None:
    async def main() -> dict[str, Any]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        outputs = PictureOutputs(
            network_scenario(ISOLATED).scenario.epoch,
            SystemCode(2, 0),
            cot=[CotDestination(f"tcp://127.0.0.1:{port}", "xml")],
        )
        outputs.tcp[0][1].backoff_s = (0.05, 0.1)
        outputs.start()
        picture = one_track_picture()
        for _ in range(3):
            outputs.send(picture)  # returns at once: nobody listens yet
            await asyncio.sleep(0.1)
        got = bytearray()
        done = asyncio.Event()

        async def tak(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            got.extend(await reader.readuntil(b"</event>"))
            done.set()
            writer.close()

        server = await asyncio.start_server(tak, "127.0.0.1", port)
        await asyncio.wait_for(done.wait(), 10.0)
        server.close()
        stats = outputs.stats()
        await outputs.close()
        return {"stats": stats, "got": bytes(got)}

    result = asyncio.run(main())
    counts = result["stats"][next(iter(result["stats"]))]
    assert counts["errors"] >= 2 and counts["dropped"] == 2 and counts["connects"] == 1
    event = takproto.parse_proto(bytearray(result["got"]))
    assert event.cotEvent.uid == "airpicture.track.00042"


def one_track_picture() -> Table:
    table: Table = {
        k: np.array([v])
        for k, v in {
            "time_s": 5.0,
            "lat_deg": 35.0,
            "lon_deg": 136.0,
            "alt_m": 9000.0,
            "vel_e_mps": 100.0,
            "vel_n_mps": 0.0,
            "vel_u_mps": 0.0,
        }.items()
    }
    for k, v in {"track_id": "00042", "cls": "aircraft", "identity": "neutral"}.items():
        table[k] = np.array([v], dtype=object)
    table["sources"] = np.empty(1, dtype=object)
    table["sources"][0] = ["JPN-R1"]
    return table


def test_a_listener_joins_a_multicast_group_and_counts_what_does_not_decode() -> None:
    loaded, sends, _ = scenario_and_feed()
    scenario = loaded.scenario
    inbox = AsterixInbox(asterix_sensors(scenario), ["JPN-R1", "JPN-ADSB"], scenario.epoch)
    port = free_udp_port()
    group = "239.255.42.99"

    async def main() -> None:
        transports = await open_listeners(
            [f"udp://{group}:{port}"], inbox, lambda: 1000.0, "127.0.0.1"
        )
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.setsockopt(
                    socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1")
                )
                sock.sendto(CORRUPT, (group, port))
                for _, data in sends[:200]:
                    sock.sendto(data, (group, port))
            for _ in range(200):
                if inbox.counts["datagrams"] == 201:
                    break
                await asyncio.sleep(0.01)
        finally:
            for t in transports:
                t.close()

    asyncio.run(main())
    assert inbox.counts["datagrams"] == 201
    assert inbox.counts["failed"] == 1
    assert inbox.counts["reports"] + inbox.counts["other_nation"] > 0


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM files), signed by itself."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tak-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "tak.pem", tmp_path / "tak.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_cot_goes_to_a_tls_tak_endpoint_checked_against_the_configured_ca(tmp_path: Path) -> None:
    import ssl

    cert_file, key_file = self_signed(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "node.yaml"
    config.write_text(
        "scenario: s.yaml\nnation: JPN\nnats: {servers: [nats://127.0.0.1:4222]}\n"
        "clock: {epoch_unix_s: 0}\nweb: null\nout: out\n"
        f"outputs: {{cot: [{{url: 'tls://127.0.0.1:{port}', format: xml, ca_file: tak.pem}}]}}\n"
    )
    loaded = network_scenario(ISOLATED)
    _, outputs = asterix_io(load_config(config), loaded, tmp_path, str(config))
    assert outputs is not None

    async def main() -> bytes:
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(cert_file, key_file)
        got = bytearray()
        done = asyncio.Event()

        async def tak(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            got.extend(await reader.readuntil(b"</event>"))
            done.set()
            writer.close()

        server = await asyncio.start_server(tak, "127.0.0.1", port, ssl=server_tls)
        outputs.start()
        outputs.send(one_track_picture())
        await asyncio.wait_for(done.wait(), 10.0)
        server.close()
        await outputs.close()
        return bytes(got)

    event = takproto.parse_proto(bytearray(asyncio.run(main())))
    assert event.cotEvent.uid == "airpicture.track.00042"
    assert event.cotEvent.lat == pytest.approx(35.0)

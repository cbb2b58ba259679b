"""UDP payloads out of pcap captures: link layers, and what is not a whole UDP datagram."""

from __future__ import annotations

import struct

import pytest

from airpicture.interop.pcap import PcapError, UdpDatagram, read_pcap, write_pcap


def ipv4_udp(payload: bytes, protocol: int = 17, fragment: int = 0) -> bytes:
    udp = struct.pack(">HHHH", 4000, 8600, 8 + len(payload), 0) + payload
    return (
        struct.pack(
            ">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, fragment, 64, protocol, 0,
            bytes([10, 0, 0, 1]), bytes([239, 1, 2, 3]),
        )
        + udp
    )  # fmt: skip


def capture(linktype: int, packets: list[bytes]) -> bytes:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)]
    for i, packet in enumerate(packets):
        out.append(struct.pack("<IIII", 1_700_000_000 + i, 500_000, len(packet), len(packet)))
        out.append(packet)
    return b"".join(out)


def test_ethernet_with_a_vlan_tag_and_what_is_not_udp() -> None:
    ethernet = b"\x01" * 12
    packets = [
        ethernet + b"\x08\x00" + ipv4_udp(b"\x30\x00\x03"),
        ethernet + b"\x81\x00\x00\x05\x08\x00" + ipv4_udp(b"\x22\x00\x03"),
        ethernet + b"\x86\xdd" + b"\x00" * 40,  # IPv6
        ethernet + b"\x08\x00" + ipv4_udp(b"x", protocol=6),  # TCP
        ethernet + b"\x08\x00" + ipv4_udp(b"y", fragment=0x2000),  # more fragments
    ]
    result = read_pcap(capture(1, packets))
    assert [d.payload for d in result.datagrams] == [b"\x30\x00\x03", b"\x22\x00\x03"]
    assert result.datagrams[0].source == "10.0.0.1:4000"
    assert result.datagrams[0].destination == "239.1.2.3:8600"
    assert result.datagrams[0].time_unix_s == 1_700_000_000.5
    assert result.skipped == {"not IPv4": 1, "not UDP": 1, "IP fragment": 1}


def test_a_written_capture_reads_back() -> None:
    datagrams = [UdpDatagram(1.25, "127.0.0.1:1", "127.0.0.1:2", b"\x15\x00\x03")]
    assert read_pcap(write_pcap(datagrams)).datagrams == datagrams


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"not a pcap at all, not at all", "no pcap magic"),
        (capture(1, [b"\x00" * 20])[:-5], "runs past the end"),
        (capture(1, [])[:24] + b"\x00" * 10, "truncated packet header"),
    ],
)
def test_broken_captures_raise_the_readers_error(data: bytes, problem: str) -> None:
    with pytest.raises(PcapError, match=problem):
        read_pcap(data)

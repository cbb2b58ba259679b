"""UDP payloads out of a packet capture (libpcap format), and ASTERIX recordings told apart.

Sans-I/O: the caller reads the file and passes its bytes. Classic pcap only
(both byte orders, micro- and nanosecond stamps), Ethernet (with 802.1Q tags),
Linux cooked (SLL) or raw IPv4 link layers, IPv4 UDP; anything else is counted
as skipped, not an error.
"""

from __future__ import annotations

import struct
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

PCAP_MAGICS: Final = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
LINKTYPE_ETHERNET: Final = 1
LINKTYPE_RAW: Final = 101
LINKTYPE_LINUX_SLL: Final = 113
LINKTYPE_IPV4: Final = 228


class PcapError(ValueError):
    """Bytes that are not a packet capture this reader understands."""

    def __init__(self, problem: str, offset: int) -> None:
        self.problem = problem
        self.offset = offset
        super().__init__(f"pcap at byte {offset}: {problem}")


@dataclass(frozen=True)
class UdpDatagram:
    time_unix_s: float
    source: str
    destination: str
    payload: bytes


@dataclass
class Capture:
    datagrams: list[UdpDatagram] = field(default_factory=list)
    #: Packets that carry no IPv4 UDP datagram (or a fragment of one), by why.
    skipped: Counter[str] = field(default_factory=Counter)


def is_pcap(data: bytes) -> bool:
    return data[:4] in PCAP_MAGICS


def read_pcap(data: bytes) -> Capture:
    """Every UDP datagram of a classic pcap file, in capture order."""
    if len(data) < 24 or data[:4] not in PCAP_MAGICS:
        raise PcapError("not a pcap file (no pcap magic number)", 0)
    order, tick = PCAP_MAGICS[data[:4]]
    linktype = struct.unpack_from(order + "I", data, 20)[0] & 0xFFFF
    capture = Capture()
    offset = 24
    while offset < len(data):
        if len(data) - offset < 16:
            raise PcapError("truncated packet header", offset)
        seconds, fraction, captured, _ = struct.unpack_from(order + "IIII", data, offset)
        offset += 16
        if captured > len(data) - offset:
            raise PcapError(f"packet of {captured} octets runs past the end", offset)
        packet = data[offset : offset + captured]
        offset += captured
        _packet(capture, linktype, seconds + fraction * tick, packet)
    return capture


def _packet(capture: Capture, linktype: int, time_s: float, packet: bytes) -> None:
    if linktype == LINKTYPE_ETHERNET:
        if len(packet) < 14:
            capture.skipped["short Ethernet frame"] += 1
            return
        ethertype, start = int.from_bytes(packet[12:14], "big"), 14
        while ethertype in (0x8100, 0x88A8) and len(packet) >= start + 4:
            ethertype, start = int.from_bytes(packet[start + 2 : start + 4], "big"), start + 4
        if ethertype != 0x0800:
            capture.skipped["not IPv4"] += 1
            return
        ip = packet[start:]
    elif linktype == LINKTYPE_LINUX_SLL:
        if len(packet) < 16 or int.from_bytes(packet[14:16], "big") != 0x0800:
            capture.skipped["not IPv4"] += 1
            return
        ip = packet[16:]
    elif linktype in (LINKTYPE_RAW, LINKTYPE_IPV4):
        ip = packet
    else:
        capture.skipped[f"link type {linktype}"] += 1
        return
    if len(ip) < 20 or ip[0] >> 4 != 4:
        capture.skipped["not IPv4"] += 1
        return
    header = (ip[0] & 0x0F) * 4
    if ip[9] != 17:
        capture.skipped["not UDP"] += 1
        return
    flags_fragment = int.from_bytes(ip[6:8], "big")
    if flags_fragment & 0x3FFF:  # more fragments, or a fragment offset
        capture.skipped["IP fragment"] += 1
        return
    total = int.from_bytes(ip[2:4], "big")
    ip = ip[: max(total, header)]
    udp = ip[header:]
    if len(udp) < 8:
        capture.skipped["short UDP header"] += 1
        return
    length = int.from_bytes(udp[4:6], "big")
    payload = udp[8 : max(length, 8)]
    source = f"{'.'.join(str(b) for b in ip[12:16])}:{int.from_bytes(udp[0:2], 'big')}"
    destination = f"{'.'.join(str(b) for b in ip[16:20])}:{int.from_bytes(udp[2:4], 'big')}"
    capture.datagrams.append(UdpDatagram(time_s, source, destination, bytes(payload)))


def write_pcap(datagrams: list[UdpDatagram]) -> bytes:
    """A classic little-endian pcap of raw-IPv4 UDP packets (for tests and `feed --record`)."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_RAW)]
    for d in datagrams:
        src_ip, src_port = d.source.rsplit(":", 1)
        dst_ip, dst_port = d.destination.rsplit(":", 1)
        udp = struct.pack(">HHHH", int(src_port), int(dst_port), 8 + len(d.payload), 0)
        total = 20 + len(udp) + len(d.payload)
        ip = struct.pack(
            ">BBHHHBBH4s4s",
            0x45,
            0,
            total,
            0,
            0,
            64,
            17,
            0,
            bytes(int(x) for x in src_ip.split(".")),
            bytes(int(x) for x in dst_ip.split(".")),
        )
        packet = ip + udp + d.payload
        seconds = int(d.time_unix_s)
        micros = round((d.time_unix_s - seconds) * 1e6)
        out.append(struct.pack("<IIII", seconds, micros, len(packet), len(packet)) + packet)
    return b"".join(out)

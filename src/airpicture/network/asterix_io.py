"""A node's live ASTERIX and TAK: its sensors' datagrams in over UDP, its picture out as CAT062
over UDP and as Cursor-on-Target to TAK endpoints (docs/interop.md, "live node").

In: `AsterixInbox` is the sans-I/O core (datagrams and the exercise time in, report
tables out by report time, as `jetstream.SensorInbox` hands out the NATS reports);
`AsterixListener` is the thin asyncio `DatagramProtocol` around it, one per listen
address (unicast, or a multicast group joined on an interface).

When the node may take the reports up to T: a radar tells by its CAT034 messages.
A north marker or sector crossing at t follows every plot of the sectors before
the previous crossing (a radar that sends a sector's plots before its crossing
message is covered too), so a radar's reports are complete up to its second
latest crossing time. ADS-B stations send each report at its time and are not
waited for. A radar that stays silent is not waited for until it sends again.

Out: `PictureOutputs` encodes each picture once per format (CAT062 with the track
ages and first-seen flags kept across pictures; CoT XML, TAK protocol mesh for UDP,
TAK protocol stream or XML for TCP, as pytak reads them: TCP XML events back to
back, framed by `</event>`) and hands it to every destination. A UDP destination
never blocks (a refused send is counted). A TCP or TLS destination has its own
task that connects with backoff (0.5 s doubling to 10 s); pictures made while it
is down are dropped (counted) except the latest, which goes out on reconnection.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import math
import socket
import ssl
import struct
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

import numpy as np

from airpicture.interop.asterix import (
    AsterixDecoder,
    AsterixError,
    AsterixSensor,
    SystemCode,
    encode_cat062,
)
from airpicture.interop.cot import cot_events, event_proto_mesh, event_proto_stream, event_xml
from airpicture.tables import Table

log = logging.getLogger(__name__)

#: Decoding failures logged one by one; after that, one in `LOG_EVERY`.
MAX_LOGGED_FAILURES: Final = 20
LOG_EVERY: Final = 1000
NORTH_MARKER: Final = 1
SECTOR_CROSSING: Final = 2
COT_SCHEMES: Final = ("udp", "tcp", "tls")
COT_FORMATS: Final = ("xml", "proto")


# ---------------------------------------------------------------------------- addresses


@dataclass(frozen=True)
class UdpAddress:
    host: str
    port: int

    @property
    def multicast(self) -> bool:
        try:
            return ipaddress.ip_address(self.host).is_multicast
        except ValueError:
            return False


def parse_url(url: str, schemes: Sequence[str] = ("udp",)) -> tuple[str, str, int]:
    """(scheme, host, port) of `scheme://HOST:PORT`; a `ValueError` saying what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname or parts.port is None:
        wanted = "|".join(schemes)
        raise ValueError(f"{url!r} is not {wanted}://HOST:PORT")
    return parts.scheme, parts.hostname, parts.port


# ---------------------------------------------------------------------------- in: sans-I/O


@dataclass
class _RadarProgress:
    #: The latest two distinct CAT034 times (previous, latest).
    previous_s: float = -math.inf
    latest_s: float = -math.inf
    #: Not waited for (silent when it was needed) until it sends a crossing at or after this.
    excused_until_s: float | None = None


class AsterixInbox:
    """The node's own sensors' ASTERIX: datagrams in, reports handed out by report time.

    `sensors` are every ASTERIX sensor of the scenario (so a partner's is known and
    counted as such); `own` the ids this node takes. A report stamped more than
    `future_s` after the exercise time is refused and counted."""

    def __init__(
        self,
        sensors: Sequence[AsterixSensor],
        own: Iterable[str],
        epoch: datetime,
        future_s: float = 30.0,
    ) -> None:
        self.decoder = AsterixDecoder(sensors, epoch)
        self.own = frozenset(own)
        self.radars = frozenset(s.sensor_id for s in sensors if s.family == "radar") & self.own
        self.future_s = future_s
        self.counts: Counter[str] = Counter()
        self.unknown: Counter[tuple[int, int, int]] = Counter()
        self._parts: list[Table] = []
        self._progress: dict[str, _RadarProgress] = {}
        self._taken_s = -math.inf

    def datagram(self, data: bytes, now_s: float) -> AsterixError | None:
        """Take one datagram at exercise time `now_s`; the decoding error, if it failed."""
        self.counts["datagrams"] += 1
        try:
            decoded = self.decoder.decode(data)
        except AsterixError as exc:
            self.counts["failed"] += 1
            return exc
        self.unknown.update(decoded.unknown)
        self.counts["unknown_sac_sic"] += sum(decoded.unknown.values())
        self.counts["other_categories"] += sum(decoded.other_categories.values())
        self.counts["cat062_records"] += len(decoded.tracks["time_s"])
        self._service(decoded.service)
        reports = decoded.reports
        times = np.asarray(reports["time_s"], dtype=np.float64)
        if times.size == 0:
            return None
        ids = np.asarray(reports["sensor_id"], dtype=object)
        has_position = (np.isfinite(reports["range_m"]) & np.isfinite(reports["az_deg"])) | (
            np.isfinite(reports["lat_deg"]) & np.isfinite(reports["lon_deg"])
        )
        own = np.isin(ids, list(self.own))
        future = times > now_s + self.future_s
        keep = own & has_position & np.isfinite(times) & ~future
        self.counts["other_nation"] += int((~own).sum())
        self.counts["no_position"] += int((own & ~has_position).sum())
        self.counts["refused_future"] += int((own & has_position & future).sum())
        self.counts["reports"] += int(keep.sum())
        self.counts["late"] += int((keep & (times <= self._taken_s)).sum())
        if keep.any():
            self._parts.append({c: v[keep] for c, v in reports.items()})
        return None

    def _service(self, service: Table) -> None:
        types = np.asarray(service["message_type"], dtype=np.float64)
        for sid, t, kind in zip(service["sensor_id"], service["time_s"], types, strict=True):
            if sid not in self.radars or kind not in (NORTH_MARKER, SECTOR_CROSSING):
                continue
            p = self._progress.setdefault(str(sid), _RadarProgress())
            t = float(t)
            if t > p.latest_s:
                p.previous_s, p.latest_s = p.latest_s, t
            if p.excused_until_s is not None and t >= p.excused_until_s:
                p.excused_until_s = None

    def feed_time_s(self) -> float:
        """Reports up to this time are all in: the earliest of the radars waited for."""
        waited = [p.previous_s for p in self._progress.values() if p.excused_until_s is None]
        return min(waited) if waited else math.inf

    def excuse_behind(self, until_s: float) -> list[str]:
        """The radars not complete up to `until_s`, not waited for until they send again."""
        behind = []
        for sid, p in sorted(self._progress.items()):
            if p.excused_until_s is None and p.previous_s < until_s:
                p.excused_until_s = p.latest_s + 1e-9
                behind.append(sid)
        return behind

    def take(self, until_s: float) -> Table | None:
        """Every report with a time at or before `until_s` not yet taken, in time order."""
        self._taken_s = max(self._taken_s, until_s)
        if not self._parts:
            return None
        rows = {c: np.concatenate([p[c] for p in self._parts]) for c in self._parts[0]}
        due = np.asarray(rows["time_s"], dtype=np.float64) <= until_s
        self._parts = [{c: v[~due] for c, v in rows.items()}] if (~due).any() else []
        if not due.any():
            return None
        order = np.flatnonzero(due)[np.argsort(rows["time_s"][due], kind="stable")]
        return {c: v[order] for c, v in rows.items()}

    def stats(self) -> dict[str, Any]:
        return {
            **dict(sorted(self.counts.items())),
            "unknown": {f"CAT{c:03d} {sac}/{sic}": n for (c, sac, sic), n in self.unknown.items()},
            "radars_excused": sorted(
                s for s, p in self._progress.items() if p.excused_until_s is not None
            ),
        }


# ---------------------------------------------------------------------------- in: the socket


class AsterixListener(asyncio.DatagramProtocol):
    """One listen address's datagrams into the inbox, at the exercise time of arrival."""

    def __init__(self, inbox: AsterixInbox, clock_s: Callable[[], float], where: str) -> None:
        self.inbox = inbox
        self.clock_s = clock_s
        self.where = where
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        error = self.inbox.datagram(data, self.clock_s())
        if error is not None:
            failed = self.inbox.counts["failed"]
            if failed <= MAX_LOGGED_FAILURES or failed % LOG_EVERY == 0:
                log.warning(
                    "ASTERIX datagram %d from %s:%s on %s did not decode (%d so far): %s",
                    self.inbox.counts["datagrams"],
                    addr[0],
                    addr[1],
                    self.where,
                    failed,
                    error,
                )

    def error_received(self, exc: Exception) -> None:
        self.inbox.counts["socket_errors"] += 1
        log.warning("ASTERIX listener on %s: %s", self.where, exc)


def listen_socket(address: UdpAddress, interface: str = "0.0.0.0") -> socket.socket:
    """A bound UDP socket for `address`; a multicast group is joined on `interface`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    try:
        if address.multicast:
            sock.bind(("", address.port))
            mreq = struct.pack("4s4s", socket.inet_aton(address.host), socket.inet_aton(interface))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        else:
            sock.bind((address.host, address.port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


async def open_listeners(
    urls: Sequence[str], inbox: AsterixInbox, clock_s: Callable[[], float], interface: str
) -> list[asyncio.DatagramTransport]:
    """One listener per `udp://HOST:PORT` (HOST a multicast group: joined on `interface`)."""
    loop = asyncio.get_running_loop()
    transports: list[asyncio.DatagramTransport] = []
    try:
        for url in urls:
            _, host, port = parse_url(url)
            sock = listen_socket(UdpAddress(host, port), interface)
            transport, _ = await loop.create_datagram_endpoint(
                functools.partial(AsterixListener, inbox, clock_s, url), sock=sock
            )
            transports.append(transport)
    except BaseException:
        for t in transports:
            t.close()
        raise
    return transports


# ---------------------------------------------------------------------------- out


@dataclass
class DestinationCounts:
    pictures: int = 0
    messages: int = 0
    bytes: int = 0
    errors: int = 0
    #: Pictures not sent: the destination was down (or behind) and newer ones came.
    dropped: int = 0
    connects: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class UdpDestination:
    """Datagrams to one UDP address (unicast or multicast); a send never blocks."""

    def __init__(self, url: str, kind: str, ttl: int = 1) -> None:
        _, host, port = parse_url(url)
        self.url = url
        self.kind = kind
        self.target = (host, port)
        self.counts = DestinationCounts()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, struct.pack("b", ttl))
        self.sock.setblocking(False)

    def send(self, messages: Sequence[bytes]) -> None:
        self.counts.pictures += 1
        for data in messages:
            try:
                self.sock.sendto(data, self.target)
            except OSError as exc:
                self.counts.errors += 1
                if self.counts.errors <= MAX_LOGGED_FAILURES:
                    log.warning("%s output to %s: %s", self.kind, self.url, exc)
                continue
            self.counts.messages += 1
            self.counts.bytes += len(data)

    def close(self) -> None:
        self.sock.close()


class TcpDestination:
    """A TAK endpoint over TCP or TLS: its own task connects (with backoff) and writes."""

    def __init__(
        self,
        url: str,
        kind: str,
        tls: ssl.SSLContext | None = None,
        backoff_s: tuple[float, float] = (0.5, 10.0),
    ) -> None:
        _, self.host, self.port = parse_url(url, ("tcp", "tls"))
        self.url = url
        self.kind = kind
        self.tls = tls
        self.backoff_s = backoff_s
        self.counts = DestinationCounts()
        self._queue: deque[list[bytes]] = deque()
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def send(self, messages: Sequence[bytes]) -> None:
        # Only the latest picture waits while the endpoint is down or slow.
        while self._queue:
            self._queue.popleft()
            self.counts.dropped += 1
        self._queue.append(list(messages))
        self._ready.set()

    async def _run(self) -> None:
        delay = self.backoff_s[0]
        while not self._closing:
            try:
                _, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port, ssl=self.tls), timeout=10.0
                )
            except (OSError, TimeoutError, ssl.SSLError) as exc:
                self.counts.errors += 1
                if self.counts.errors <= MAX_LOGGED_FAILURES:
                    log.warning(
                        "%s output to %s: %s; again in %.1f s", self.kind, self.url, exc, delay
                    )
                await asyncio.sleep(delay)
                delay = min(delay * 2.0, self.backoff_s[1])
                continue
            self.counts.connects += 1
            delay = self.backoff_s[0]
            try:
                await self._write(writer)
            except (OSError, ConnectionError) as exc:
                self.counts.errors += 1
                log.warning("%s output to %s: %s; reconnecting", self.kind, self.url, exc)
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

    async def _write(self, writer: asyncio.StreamWriter) -> None:
        while not self._closing:
            if not self._queue:
                self._ready.clear()
                await self._ready.wait()
            messages = self._queue[0]
            for data in messages:
                writer.write(data)
            await writer.drain()
            self._queue.popleft()
            self.counts.pictures += 1
            self.counts.messages += len(messages)
            self.counts.bytes += sum(len(d) for d in messages)

    async def close(self) -> None:
        # Told as well as cancelled: Python 3.11's `wait_for` can swallow a cancellation
        # that races the connection's completion.
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


@dataclass(frozen=True)
class CotDestination:
    url: str
    format: str = "xml"
    tls: ssl.SSLContext | None = None


@dataclass
class PictureOutputs:
    """One nation's picture, each picture time, to CAT062 and CoT destinations."""

    epoch: datetime
    system: SystemCode
    cat062_urls: Sequence[str] = ()
    cot: Sequence[CotDestination] = ()
    stale_s: float = 30.0
    ttl: int = 1
    first_seen_s: dict[str, float] = field(default_factory=dict)
    udp: list[tuple[str, UdpDestination]] = field(default_factory=list)
    tcp: list[tuple[str, TcpDestination]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for url in self.cat062_urls:
            self.udp.append(("cat062", UdpDestination(url, "CAT062", self.ttl)))
        for d in self.cot:
            scheme, _, _ = parse_url(d.url, COT_SCHEMES)
            if d.format not in COT_FORMATS:
                raise ValueError(f"CoT format {d.format!r}: give xml or proto")
            if scheme == "udp":
                self.udp.append((f"cot-{d.format}-udp", UdpDestination(d.url, "CoT", self.ttl)))
            else:
                tls = d.tls if scheme == "tls" else None
                self.tcp.append((f"cot-{d.format}-tcp", TcpDestination(d.url, "CoT", tls)))

    def start(self) -> None:
        """Start the TCP destinations' tasks (in the running event loop)."""
        for _, dest in self.tcp:
            dest.start()

    def encode(self, picture: Table) -> dict[str, list[bytes]]:
        """The picture's messages in each form a destination needs."""
        wanted = {kind for kind, _ in [*self.udp, *self.tcp]}
        out: dict[str, list[bytes]] = {}
        if "cat062" in wanted:
            encoded = encode_cat062(
                picture, self.system, self.epoch, first_seen_s=self.first_seen_s
            )
            out["cat062"] = [d.data for d in encoded.datagrams]
        if wanted - {"cat062"}:
            events = cot_events(picture, self.epoch, self.stale_s)
            forms: dict[str, Callable[[Any], bytes]] = {
                "cot-xml-udp": event_xml,
                "cot-xml-tcp": event_xml,
                "cot-proto-udp": event_proto_mesh,
                "cot-proto-tcp": event_proto_stream,
            }
            for kind in wanted - {"cat062"}:
                out[kind] = [forms[kind](e) for e in events]
        return out

    def send(self, picture: Table) -> None:
        """Encode and hand out one picture (never blocks)."""
        if not (self.udp or self.tcp):
            return
        messages = self.encode(picture)
        for kind, udp in self.udp:
            udp.send(messages[kind])
        for kind, tcp in self.tcp:
            tcp.send(messages[kind])

    def stats(self) -> dict[str, Any]:
        out = {dest.url: dest.counts.as_dict() for _, dest in self.udp}
        return out | {dest.url: dest.counts.as_dict() for _, dest in self.tcp}

    async def close(self) -> None:
        for _, udp in self.udp:
            udp.close()
        for _, tcp in self.tcp:
            await tcp.close()

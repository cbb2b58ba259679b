"""`airpicture feed SCENARIO --asterix udp://HOST:PORT [--speed X]`: the simulator's sensors as
real ASTERIX streams, each datagram sent at its exercise time.

Per radar and 2D radar (its SAC/SIC from the scenario, docs/interop.md): a CAT034
north marker at the start of every scan (with I041, the rotation period), a CAT034
sector crossing every 1/16 of a scan, and after each crossing one CAT048
datagram with the sector's plots: those timed since the previous crossing. The
antenna is taken to point north at every multiple of the scan period from the
epoch. Per ADS-B station: one CAT021 datagram per report, at the report's time.
OTH and space-IR sensors send no ASTERIX: their reports are counted, not sent.
"""

from __future__ import annotations

import argparse
import heapq
import math
import socket
import struct
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import numpy as np
from rich.console import Console

from airpicture.cli.ingest import asterix_sensors
from airpicture.cli.options import add_scenario_overrides, scenario_overrides
from airpicture.errors import InputError
from airpicture.interop.asterix import (
    AsterixSensor,
    encode_cat021,
    encode_cat034,
    encode_cat048,
)
from airpicture.interop.pcap import UdpDatagram, write_pcap
from airpicture.scenario import load_scenario
from airpicture.scenario.model import Scenario
from airpicture.tables import PLOTS_SCHEMA, Table, read_table, take_rows

SECTORS_PER_SCAN: Final = 16
NORTH_MARKER: Final = 1
SECTOR_CROSSING: Final = 2


@dataclass(frozen=True)
class Send:
    """Datagrams to send at `time_s` (scenario seconds); `encode` makes them."""

    time_s: float
    sensor_id: str
    kind: str
    encode: Callable[[], list[bytes]]


def feed_schedule(
    plots: Table,
    scenario: Scenario,
    sensors: list[AsterixSensor],
    end_s: float,
    skipped: Counter[str],
) -> tuple[list[Send], dict[str, int]]:
    """Every datagram of the feed, in send order, and the reports of sensors that send no
    ASTERIX (by sensor). Reports an encoder cannot write are counted in `skipped` as the
    datagrams are made (e.g. a slant range beyond I048/040's 256 NM)."""
    epoch = scenario.epoch
    by_id = {s.sensor_id: s for s in sensors}
    lookup = {s.id: s for s in scenario.sensors}
    sensor_ids = np.asarray(plots["sensor_id"], dtype=object)
    times = np.asarray(plots["time_s"], dtype=np.float64)
    not_sent: dict[str, int] = {}
    streams: list[list[Send]] = []
    for sensor_id in sorted(set(sensor_ids.tolist()) - set(by_id)):
        not_sent[f"{sensor_id}: no ASTERIX for its kind"] = int((sensor_ids == sensor_id).sum())
    for asterix_sensor in sensors:
        rows = np.flatnonzero(sensor_ids == asterix_sensor.sensor_id)
        rows = rows[np.argsort(times[rows], kind="stable")]
        spec = lookup[asterix_sensor.sensor_id]
        if asterix_sensor.family == "adsb":
            streams.append(_adsb_stream(plots, rows, asterix_sensor, epoch, skipped))
        else:
            period = float(getattr(spec, "scan_period_s"))  # noqa: B009 - radars only
            streams.append(
                _radar_stream(plots, rows, asterix_sensor, epoch, period, end_s, skipped)
            )
    merged = list(heapq.merge(*streams, key=lambda s: s.time_s))
    return merged, not_sent


def _cat021_bytes(
    rows: Table, sensors: dict[str, AsterixSensor], epoch: datetime, skipped: Counter[str]
) -> list[bytes]:
    encoded = encode_cat021(rows, sensors, epoch)
    skipped.update(encoded.skipped)
    return [d.data for d in encoded.datagrams]


def _cat048_bytes(
    rows: Table, sensors: dict[str, AsterixSensor], epoch: datetime, skipped: Counter[str]
) -> list[bytes]:
    encoded = encode_cat048(rows, sensors, epoch)
    skipped.update(encoded.skipped)
    return [d.data for d in encoded.datagrams]


def _cat034(
    sensor: AsterixSensor,
    epoch: datetime,
    time_s: float,
    message_type: int,
    sector_az_deg: float | None = None,
    period_s: float | None = None,
) -> list[bytes]:
    return [encode_cat034(sensor, epoch, time_s, message_type, sector_az_deg, period_s)]


def _adsb_stream(
    plots: Table, rows: Any, sensor: AsterixSensor, epoch: datetime, skipped: Counter[str]
) -> list[Send]:
    sensors = {sensor.sensor_id: sensor}
    out = []
    for i in rows.tolist():
        one = take_rows(plots, np.array([i]))
        out.append(
            Send(
                float(plots["time_s"][i]),
                sensor.sensor_id,
                "CAT021",
                partial(_cat021_bytes, one, sensors, epoch, skipped),
            )
        )
    return out


def _radar_stream(
    plots: Table,
    rows: Any,
    sensor: AsterixSensor,
    epoch: datetime,
    period_s: float,
    end_s: float,
    skipped: Counter[str],
) -> list[Send]:
    sensors = {sensor.sensor_id: sensor}
    slot_s = period_s / SECTORS_PER_SCAN
    times = np.asarray(plots["time_s"], dtype=np.float64)[rows]
    # a plot goes out at the first sector crossing at or after its time
    slot_of = np.ceil(times / slot_s - 1e-9).astype(np.int64)
    last_slot = max(math.ceil(end_s / slot_s), int(slot_of.max()) if len(rows) else 0)
    starts = np.searchsorted(slot_of, np.arange(last_slot + 2), side="left")
    out: list[Send] = []
    for slot in range(last_slot + 1):
        t = slot * slot_s
        sector = slot % SECTORS_PER_SCAN
        if sector == 0:
            out.append(
                Send(
                    t,
                    sensor.sensor_id,
                    "CAT034 north marker",
                    partial(_cat034, sensor, epoch, t, NORTH_MARKER, period_s=period_s),
                )
            )
        out.append(
            Send(
                t,
                sensor.sensor_id,
                "CAT034 sector",
                partial(
                    _cat034,
                    sensor,
                    epoch,
                    t,
                    SECTOR_CROSSING,
                    sector_az_deg=sector * 360.0 / SECTORS_PER_SCAN,
                ),
            )
        )
        these = rows[starts[slot] : starts[slot + 1]]
        if len(these):
            sector_plots = take_rows(plots, these)
            out.append(
                Send(
                    t,
                    sensor.sensor_id,
                    "CAT048",
                    partial(_cat048_bytes, sector_plots, sensors, epoch, skipped),
                )
            )
    return out


def parse_udp_url(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "udp" or not parts.hostname or parts.port is None:
        raise InputError("--asterix", [f"{url!r} is not udp://HOST:PORT"])
    return parts.hostname, parts.port


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "feed",
        help="send the simulator's sensors as ASTERIX over UDP (CAT034, CAT048, CAT021)",
        description=(
            "Simulate the scenario (or read --plots) and send each radar's and ADS-B station's "
            "reports as ASTERIX datagrams at their exercise times: a stand-in for real sensors."
        ),
    )
    parser.add_argument("scenario", type=Path, help="scenario file (.yaml)")
    parser.add_argument(
        "--asterix", metavar="udp://HOST:PORT", help="where to send (unicast or multicast)"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="scenario seconds per wall-clock second (0: as fast as possible; default 1)",
    )
    parser.add_argument("--plots", type=Path, help="send these reports instead of simulating")
    parser.add_argument(
        "--record", type=Path, metavar="FILE.pcap", help="also write every datagram to a pcap"
    )
    parser.add_argument("--ttl", type=int, default=1, help="multicast time to live (default 1)")
    add_scenario_overrides(parser)
    parser.set_defaults(func=run)


def _plots(args: argparse.Namespace, console: Console) -> tuple[Table, Scenario]:
    loaded = load_scenario(args.scenario, scenario_overrides(args))
    if args.plots is not None:
        plots = read_table(args.plots, PLOTS_SCHEMA)
    else:
        from airpicture.cli.simulate import run_simulation

        plots = run_simulation(args, console, loaded).plots
    return plots, loaded.scenario


def _paced(schedule: list[Send], speed: float) -> Iterator[Send]:
    start = time.monotonic()
    for send in schedule:
        if speed > 0:
            wait = start + send.time_s / speed - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        yield send


def run(args: argparse.Namespace) -> int:
    console = Console()
    if args.asterix is None and args.record is None:
        raise InputError("feed", ["give --asterix udp://HOST:PORT, --record FILE.pcap, or both"])
    if args.speed < 0:
        raise InputError("--speed", ["give a speed ≥ 0 (0: as fast as possible)"])
    target = parse_udp_url(args.asterix) if args.asterix else None
    plots, scenario = _plots(args, console)
    sensors = asterix_sensors(scenario)
    skipped: Counter[str] = Counter()
    schedule, not_sent = feed_schedule(plots, scenario, sensors, scenario.duration_s, skipped)
    sock: socket.socket | None = None
    if target is not None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, struct.pack("b", args.ttl))
    recorded: list[UdpDatagram] = []
    destination = f"{target[0]}:{target[1]}" if target else "127.0.0.1:8600"
    epoch_unix = scenario.epoch.timestamp()
    counts: dict[str, int] = {}
    octets = 0
    console.print(
        f"feeding {len(sensors)} ASTERIX sensors, {len(schedule):,} sends"
        + (f" to {args.asterix}" if target else "")
        + (f" at {args.speed:g}× (Ctrl-C stops)" if args.speed > 0 else "")
    )
    try:
        for send in _paced(schedule, args.speed):
            for data in send.encode():
                if sock is not None and target is not None:
                    sock.sendto(data, target)
                if args.record is not None:
                    recorded.append(
                        UdpDatagram(epoch_unix + send.time_s, "127.0.0.1:8600", destination, data)
                    )
                counts[send.kind] = counts.get(send.kind, 0) + 1
                octets += len(data)
    finally:
        if sock is not None:
            sock.close()
        if args.record is not None:
            args.record.parent.mkdir(parents=True, exist_ok=True)
            args.record.write_bytes(write_pcap(recorded))
    for kind, count in sorted(counts.items()):
        console.print(f"  {kind}: {count:,} datagrams")
    for why, count in not_sent.items():
        console.print(f"  not sent: {count:,} reports ({why})")
    for why, count in sorted(skipped.items()):
        console.print(f"  not sent: {count:,} reports ({why})")
    console.print(
        f"sent {sum(counts.values()):,} datagrams, {octets:,} octets"
        + (f"; wrote {args.record}" if args.record else "")
    )
    return 0

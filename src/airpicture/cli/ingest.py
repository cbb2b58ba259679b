"""`airpicture ingest RECORDING --scenario SCENARIO --out DIR`: ASTERIX reports into plots.parquet.

The recording is raw ASTERIX (data blocks back to back, as `export --format
asterix062` and most recorders write) or a pcap of UDP datagrams; the scenario
names the sensors behind each SAC/SIC (docs/interop.md) and gives the epoch that
times of day are counted from. `airpicture track` then tracks the result.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
from rich.console import Console
from rich.table import Table as RichTable

from airpicture.errors import InputError
from airpicture.interop.asterix import AsterixIngest, AsterixSensor, raw_recording_blocks
from airpicture.interop.pcap import PcapError, is_pcap, read_pcap
from airpicture.scenario import load_scenario
from airpicture.scenario.model import Scenario
from airpicture.tables import PLOTS_SCHEMA, write_table

log = logging.getLogger("airpicture.ingest")

#: plots.parquet as ingest writes it: the run-output columns (Mode C among them), with the
#: Mode 3/A and the Mode S address of each report.
INGESTED_PLOTS_SCHEMA: Final = pa.schema(
    [
        *PLOTS_SCHEMA,
        pa.field("mode3a", pa.string()),
        pa.field("mode_s_address", pa.string()),
    ]
)
#: Failures printed one by one; the rest are counted.
MAX_LOGGED_FAILURES: Final = 20


def asterix_sensors(scenario: Scenario) -> list[AsterixSensor]:
    """The scenario's ASTERIX feeds: radars and 2D radars (CAT048/034), ADS-B (CAT021)."""
    codes = scenario.asterix_codes()
    sensors = []
    for sensor in scenario.sensors:
        if sensor.id not in codes:
            continue
        sac, sic = codes[sensor.id]
        family = "adsb" if sensor.type == "adsb" else "radar"
        sensors.append(
            AsterixSensor(
                sensor.id,
                sensor.nation,
                sac,
                sic,
                sensor.lat_deg,
                sensor.lon_deg,
                sensor.alt_m,
                family,
            )
        )
    return sensors


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ingest",
        help="decode an ASTERIX recording (CAT048/034/021) into plots.parquet",
        description=(
            "Decode a recording of ASTERIX (raw data blocks, or a pcap of UDP datagrams) into "
            "the reports table, for `airpicture track` and `evaluate`. Reports whose SAC/SIC "
            "no scenario sensor has are counted and left out; a datagram that does not "
            "decode is counted and logged, and ingest goes on."
        ),
    )
    parser.add_argument("recording", type=Path, help="ASTERIX recording: raw blocks or .pcap")
    parser.add_argument("--scenario", type=Path, required=True, help="scenario file (.yaml)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--format",
        choices=("auto", "raw", "pcap"),
        default="auto",
        help="recording format (default: pcap when the file starts with pcap's magic number)",
    )
    parser.set_defaults(func=run)


def ingest_recording(data: bytes, ingest: AsterixIngest, kind: str, console: Console) -> int:
    """Feed every datagram of the recording to `ingest`; return the failures logged."""
    logged = 0

    def failed(where: str, problem: Exception) -> None:
        nonlocal logged
        log.warning("%s: %s", where, problem)
        if logged < MAX_LOGGED_FAILURES:
            console.print(f"[yellow]skipped[/] {where}: {problem}", markup=True, highlight=False)
        logged += 1

    if kind == "pcap":
        try:
            capture = read_pcap(data)
        except PcapError as exc:
            problem = f"{exc}; give a classic pcap file or raw ASTERIX"
            raise InputError("recording", [problem]) from exc
        for i, datagram in enumerate(capture.datagrams):
            error = ingest.datagram(datagram.payload)
            if error is not None:
                failed(f"datagram {i} from {datagram.source}", error)
        for why, count in capture.skipped.items():
            console.print(f"{count:,} packets not read ({why})")
    else:
        for offset, block in raw_recording_blocks(data):
            if isinstance(block, Exception):
                ingest.counts.datagrams += 1
                ingest.counts.failed += 1
                failed(f"octet {offset}", block)
                continue
            error = ingest.datagram(block)
            if error is not None:
                failed(f"data block at octet {offset}", error)
    return logged


def run(args: argparse.Namespace) -> int:
    console = Console()
    loaded = load_scenario(args.scenario)
    if not args.recording.is_file():
        raise InputError(str(args.recording), ["no such recording file"])
    data = args.recording.read_bytes()
    kind = args.format if args.format != "auto" else ("pcap" if is_pcap(data) else "raw")
    sensors = asterix_sensors(loaded.scenario)
    ingest = AsterixIngest(sensors, loaded.scenario.epoch)
    ingest_recording(data, ingest, kind, console)
    reports = ingest.reports()
    out = args.out / "plots.parquet"
    write_table(out, reports, INGESTED_PLOTS_SCHEMA)
    print_summary(ingest, out, console)
    return 0


def print_summary(ingest: AsterixIngest, out: Path, console: Console) -> None:
    counts = ingest.counts
    table = RichTable(title="ASTERIX ingest")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("datagrams (or data blocks) read", f"{counts.datagrams:,}")
    table.add_row("failed to decode (skipped)", f"{counts.failed:,}")
    table.add_row("reports kept", f"{counts.reports:,}")
    table.add_row("reports without a position (left out)", f"{counts.no_position:,}")
    table.add_row("CAT034 service messages", f"{counts.service_messages:,}")
    table.add_row("CAT062 track records (not reports: left out)", f"{counts.tracks:,}")
    for (category, sac, sic), count in sorted(counts.unknown.items()):
        code = f"{sac}/{sic}" if sac >= 0 else "no I010"
        table.add_row(f"CAT{category:03d} records of unknown SAC/SIC {code}", f"{count:,}")
    for category, count in sorted(counts.other_categories.items()):
        table.add_row(f"CAT{category:03d} data blocks (not read)", f"{count:,}")
    console.print(table)
    console.print(f"wrote {out}")

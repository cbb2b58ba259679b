"""`airpicture export DIR --format asterix062|cot-xml|cot-proto --viewer NATION --out FILE`,
and `airpicture export RECORDING_DIR --out DIR`.

One nation's picture of a run (picture.parquet) as a recording a C2 system or a
TAK client reads: CAT062 data blocks back to back, CoT XML events one after
another, or TAK protocol v1 messages in the stream form (0xbf, varint length,
message). The run's epoch comes from its run.json.

Given an exercise's recording folder (it holds `recording.json`), it writes the
recording as a run's output tables instead (`plots.parquet`, `picture.parquet`,
`warnings.jsonl`, `threats.jsonl`, `network.json`, with the simulation's
`truth.parquet` and `run.json`), which `airpicture evaluate` scores
(network/replay.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from airpicture.errors import InputError
from airpicture.interop.asterix import SystemCode, encode_cat062
from airpicture.interop.cot import cot_events, event_proto_stream, event_xml
from airpicture.network.recording import MANIFEST, read_manifest, read_recording
from airpicture.tables import PICTURE_SCHEMA, Table, read_table, take_rows

FORMATS = ("asterix062", "cot-xml", "cot-proto")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export",
        help=(
            "a nation's picture as CAT062 or Cursor-on-Target (XML or TAK protobuf); "
            "an exercise's recording as run-output tables"
        ),
        description=(
            "Write one viewer's picture of a run (DIR/picture.parquet) as a recording: "
            "ASTERIX CAT062, CoT XML, or TAK protocol v1 (stream form). Given a recording "
            "folder (EXERCISE/recording), write it as a run's output tables in --out."
        ),
    )
    parser.add_argument(
        "run_dir", type=Path, metavar="DIR", help="a run's output folder, or a recording folder"
    )
    parser.add_argument("--format", choices=FORMATS, help="(a run) the output format")
    parser.add_argument("--viewer", help="(a run) the nation whose picture to export")
    parser.add_argument(
        "--out", type=Path, required=True, help="output file (a run); output folder (a recording)"
    )
    parser.add_argument(
        "--sac",
        type=int,
        help="CAT062 SAC (default: 1 + the viewer's index among the run's nations, sorted)",
    )
    parser.add_argument("--sic", type=int, default=0, help="CAT062 SIC (default: 0)")
    parser.add_argument(
        "--stale-s",
        type=float,
        help="CoT stale time after each event (default: 3 picture intervals)",
    )
    parser.set_defaults(func=run)


def run_info(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "run.json"
    if not path.is_file():
        raise InputError(str(path), ["no run.json: give the folder `airpicture run` wrote"])
    info: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return info


def viewer_rows(picture: Table, viewer: str, source: str) -> Table:
    viewers = sorted(set(picture["viewer"].tolist()))
    if viewer not in viewers:
        raise InputError(
            source, [f"no picture of viewer {viewer!r}; the run has {', '.join(viewers) or 'none'}"]
        )
    return take_rows(picture, picture["viewer"] == viewer)


def run(args: argparse.Namespace) -> int:
    console = Console()
    if (args.run_dir / MANIFEST).exists():
        return export_recording(args, console)
    missing = [f"--{n}" for n in ("format", "viewer") if getattr(args, n) is None]
    if missing:
        raise InputError(
            str(args.run_dir),
            [f"give {' and '.join(missing)} to export a run's picture (or a recording folder)"],
        )
    info = run_info(args.run_dir)
    epoch = datetime.fromisoformat(str(info["epoch"]).replace("Z", "+00:00"))
    picture = read_table(args.run_dir / "picture.parquet", PICTURE_SCHEMA)
    rows = viewer_rows(picture, args.viewer, str(args.run_dir / "picture.parquet"))
    if args.format == "asterix062":
        nations = sorted(str(n) for n in info.get("nations", []))
        sac = args.sac
        if sac is None:
            sac = 1 + nations.index(args.viewer) if args.viewer in nations else 0
        if not (0 <= sac <= 255 and 0 <= args.sic <= 255):
            raise InputError("--sac/--sic", ["give SAC and SIC in 0–255"])
        encoded = encode_cat062(rows, SystemCode(sac, args.sic), epoch, max_bytes=65_535)
        data = b"".join(d.data for d in encoded.datagrams)
        what = f"{len(rows['time_s']) - sum(encoded.skipped.values()):,} CAT062 records"
    else:
        stale_s = args.stale_s or 3.0 * float(info.get("picture_interval_s", 5.0))
        events = cot_events(rows, epoch, stale_s)
        encode = event_xml if args.format == "cot-xml" else event_proto_stream
        data = (
            b"\n".join(encode(e) for e in events)
            if args.format == "cot-xml"
            else b"".join(encode(e) for e in events)
        )
        what = f"{len(events):,} CoT events"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    snapshots = len(np.unique(rows["time_s"]))
    console.print(
        f"{args.viewer}: {what} over {snapshots} snapshots ({len(data):,} octets); wrote {args.out}"
    )
    return 0


def export_recording(args: argparse.Namespace, console: Console) -> int:
    """A recording folder as run-output tables (network/replay.py, `export_tables`)."""
    from airpicture.network.replay import export_tables, load_recorded_scenario

    manifest = read_manifest(args.run_dir)
    loaded = load_recorded_scenario(manifest)
    recordings = asyncio.run(read_recording(manifest))
    written = export_tables(manifest, loaded, recordings, args.out)
    for nation, rec in written["recording"].items():
        end = rec["complete_to_s"]
        where = "none" if end is None else f"{end:.1f} s"
        runs = len(rec["incarnations"])
        if rec["truncated"]:
            console.print(
                f"[yellow]{args.run_dir}: {nation}'s recording is cut short ({rec['truncated']}); "
                f"complete up to exercise time {where}[/]",
                highlight=False,
            )
        else:
            console.print(f"{nation}: {runs} run(s) of the node, recorded to {where}")
    console.print(
        f"{written['plots']:,} reports, {written['picture_rows']:,} picture rows, "
        f"{written['warnings']} warnings, {written['threats']} threat rows; wrote {args.out}"
        + ("" if written["truth"] else " (no truth.parquet in the recording: evaluate needs one)"),
        highlight=False,
    )
    return 0

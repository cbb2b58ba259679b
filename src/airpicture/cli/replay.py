"""`airpicture replay RECORDING_DIR --nation JPN --out DIR`: re-run a nation's node from its
recording and compare what it makes with what was recorded (network/replay.py).

Writes `DIR/picture.parquet` and `DIR/warnings.jsonl` (the replayed node's), and
`DIR/replay.json`: each incarnation replayed, how far the recording is complete,
and the comparison — picture rows that differ, the largest position difference
(m), warnings and publications that differ. Exit status 1 if the replay does not
reproduce the recording (positions within `--tolerance-m`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from rich.console import Console

from airpicture.errors import InputError
from airpicture.network.recording import read_manifest, read_recording
from airpicture.network.replay import load_recorded_scenario, replay_nation
from airpicture.tables import PICTURE_SCHEMA, write_table
from airpicture.threat.warning import write_warnings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="re-run a nation's node from an exercise's recording; compare with what it did",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    parser.add_argument(
        "recording", type=Path, metavar="RECORDING_DIR", help="a recording (EXERCISE/recording)"
    )
    parser.add_argument("--nation", required=True, help="the nation whose node to replay")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--tolerance-m",
        type=float,
        default=1.0,
        help="largest position difference still counted the same, m (default 1)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    console = Console()
    manifest = read_manifest(args.recording)
    if args.nation not in manifest.nations:
        raise InputError(
            "--nation",
            [
                f"{args.nation!r} is not recorded in {args.recording}; it has "
                f"{', '.join(manifest.nations) or 'none'}"
            ],
        )
    loaded = load_recorded_scenario(manifest)
    recordings = asyncio.run(read_recording(manifest, [args.nation]))
    recording = recordings[args.nation]
    if not recording.incarnations:
        raise InputError(
            str(args.recording),
            [f"no records of {args.nation} (its node never started, or they aged out)"],
        )
    result = replay_nation(loaded, recording)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_table(out / "picture.parquet", result.picture, PICTURE_SCHEMA)
    write_warnings(out / "warnings.jsonl", result.warnings)
    c = result.comparison
    exact = c.exact(args.tolerance_m)
    report = {
        "nation": args.nation,
        "recording": str(args.recording),
        "incarnations": result.incarnations,
        "complete_to_s": result.complete_to_s,
        "truncated": result.truncated,
        "aged_out": recording.aged_out,
        "comparison": c.as_dict(),
        "reproduced": exact,
        "tolerance_m": args.tolerance_m,
    }
    (out / "replay.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if result.truncated:
        console.print(
            f"[yellow]{args.recording}: {args.nation}'s recording is cut short "
            f"({result.truncated}); complete up to exercise time "
            f"{_time(result.complete_to_s)}; replayed that far[/]",
            highlight=False,
        )
    if recording.aged_out:
        console.print(
            f"[yellow]{args.nation}: the oldest records were removed by the retention; "
            "replayed from the first run of the node still recorded[/]"
        )
    verdict = "[green]reproduced[/]" if exact else "[red]NOT reproduced[/]"
    console.print(
        f"{args.nation}: {len(result.incarnations)} run(s) of the node, {c.fuses} pictures, "
        f"{c.picture_rows} tracks, {c.warnings_recorded} warnings, {c.publications} "
        f"publications replayed: {verdict} ({c.rows_differing} rows, {c.warnings_differing} "
        f"warnings, {c.publications_differing} publications differ; largest position "
        f"difference {c.max_position_error_m:.3g} m); wrote {out}",
        highlight=False,
    )
    if not exact and c.first_difference:
        console.print(f"first difference: {c.first_difference}", markup=False, highlight=False)
    return 0 if exact else 1


def _time(t: float | None) -> str:
    return "none" if t is None else f"{t:.1f} s"

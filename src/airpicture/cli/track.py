"""`airpicture track PLOTS.parquet --scenario SCENARIO --out DIR`: replay recorded reports."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from airpicture.cli.outdir import check_out_dir
from airpicture.errors import InputError
from airpicture.scenario import LoadedScenario, load_scenario
from airpicture.tables import PICTURE_SCHEMA, PLOTS_SCHEMA, Table, read_table, write_table
from airpicture.tracking.measurement import sensor_models
from airpicture.tracking.replay import ReplayResult, replay
from airpicture.tracking.settings import TrackerSettings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "track",
        help="track recorded reports (plots.parquet) into picture.parquet",
        description=(
            "Run the tracker over recorded sensor reports alone. The scenario gives the "
            "sensors (where they are, how accurate) and the picture interval."
        ),
    )
    parser.add_argument("plots", type=Path, help="reports file (plots.parquet)")
    parser.add_argument("--scenario", type=Path, required=True, help="scenario file (.yaml)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--association",
        choices=("gnn", "jpda"),
        default="gnn",
        help="report-to-track association (default: gnn)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    console = Console()
    loaded = load_scenario(args.scenario)
    plots = read_reports(args.plots)
    check_sensors_match(plots, loaded, args.plots)
    check_out_dir(args.out)
    result = track_plots(plots, loaded, TrackerSettings(association=args.association), console)
    out = args.out / "picture.parquet"
    write_table(out, result.picture, PICTURE_SCHEMA)
    print_summary(result, out, console)
    return 0


#: The reports a tracker reads: every plots column but `target_id`, which recorded data
#: (`airpicture ingest`) does not have and a tracker never reads.
REPORT_SCHEMA = pa.schema([f for f in PLOTS_SCHEMA if f.name != "target_id"])


def read_reports(path: Path) -> Table:
    """plots.parquet with or without `target_id` (empty where absent)."""
    if path.is_dir():
        raise InputError(
            str(path),
            ["is a folder; give the reports file itself, e.g. DIR/plots.parquet"],
        )
    plots = read_table(path, REPORT_SCHEMA)
    if "target_id" not in plots:
        plots["target_id"] = np.full(len(plots["time_s"]), "", dtype=object)
    return plots


def check_sensors_match(plots: Table, loaded: LoadedScenario, plots_path: Path) -> None:
    """`InputError` when reports exist but none comes from a sensor of the scenario.

    The tracker needs each sensor's site and accuracy from the scenario; reports
    of sensors it does not know are unusable, so a scenario that shares no sensor
    with the reports would silently give an empty picture.
    """
    sensor_ids = np.asarray(plots["sensor_id"], dtype=object)
    if sensor_ids.size == 0:
        return
    in_reports = {str(s) for s in np.unique(sensor_ids.astype(str))}
    in_scenario = {s.id for s in loaded.scenario.sensors}
    if in_reports & in_scenario:
        return
    shown = ", ".join(sorted(in_reports)[:8]) + (" …" if len(in_reports) > 8 else "")
    raise InputError(
        f"{plots_path} with --scenario {loaded.path}",
        [
            f"none of the {sensor_ids.size:,} reports comes from a sensor of the scenario "
            f"(reports' sensors: {shown}; the scenario's: "
            f"{', '.join(sorted(in_scenario)) or 'none'}); give the scenario the reports were "
            "made with, or add their sensors to it (docs/scenario.md)"
        ],
    )


def track_plots(
    plots: Table, loaded: LoadedScenario, settings: TrackerSettings, console: Console
) -> ReplayResult:
    """Replay `plots` through one tracker over all the scenario's sensors, with a progress bar."""
    scenario = loaded.scenario
    with Progress(
        TextColumn("[bold]track[/]"),
        BarColumn(),
        TextColumn("{task.completed:,} / {task.total:,} reports"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("", total=len(plots["time_s"]))
        result = replay(
            plots,
            sensor_models(scenario.sensors),
            scenario.picture_interval_s,
            end_s=scenario.duration_s,
            settings=settings,
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    return result


def print_summary(result: ReplayResult, out: Path, console: Console) -> None:
    counts = result.tracker.counts
    table = RichTable(title="reports")
    table.add_column("what")
    table.add_column("count", justify="right")
    labels = {
        "received": "received",
        "associated": "updated a track",
        "initiated": "started a tentative track",
        "boost_unassociated": "space-IR boost detections with no track (kept)",
        "unknown_sensor": "unusable: sensor id not in the scenario",
        "bad_time": "unusable: time missing or not finite",
        "missing_values": "unusable: a measured value missing (NaN)",
        "too_late": "unusable: older than what was already processed",
        "pending": "still buffered at the end",
    }
    values = counts.as_dict()
    for key, label in labels.items():
        table.add_row(label, f"{values[key]:,}")
    console.print(table)
    picture = result.picture
    n_tracks = len(set(picture["track_id"].tolist())) if len(picture["track_id"]) else 0
    rate = counts.received / result.tracking_s if result.tracking_s > 0 else float("nan")
    console.print(
        f"{n_tracks} confirmed tracks over {len(set(picture['time_s'].tolist()))} snapshots; "
        f"{counts.unusable:,} unusable reports; tracking {result.tracking_s:.1f} s "
        f"({rate:,.0f} reports/s); wrote {out}"
    )

"""`airpicture run SCENARIO --out DIR`: simulate, track, evaluate — the whole job in one go.

Until the allied network exists, the run tracks centrally: one tracker over
every sensor's reports, one viewer named `ALL`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from airpicture.cli.evaluate import evaluate_with_progress, print_metrics
from airpicture.cli.options import add_scenario_overrides
from airpicture.cli.simulate import print_summary as print_simulation
from airpicture.cli.simulate import run_simulation
from airpicture.cli.track import print_summary as print_tracking
from airpicture.cli.track import track_plots
from airpicture.metrics import EvaluationSettings
from airpicture.tables import PICTURE_SCHEMA, write_table
from airpicture.tracking.settings import TrackerSettings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="simulate, track and evaluate a scenario: every output in one folder",
        description=(
            "Simulate the scenario, track every report, evaluate the picture. Writes "
            "truth.parquet, plots.parquet, run.json, picture.parquet, metrics.json and "
            "report.html to --out."
        ),
    )
    parser.add_argument("scenario", type=Path, help="scenario file (.yaml)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--association",
        choices=("gnn", "jpda"),
        default="gnn",
        help="report-to-track association (default: gnn)",
    )
    parser.add_argument("--no-report", action="store_true", help="skip report.html")
    add_scenario_overrides(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    console = Console()
    out: Path = args.out
    sim = run_simulation(args, console)
    # Until the allied network exists every run tracks centrally: say so in run.json,
    # so that the evaluation judges the one picture there is (viewer ALL).
    sim.fusion_used = "centralized"
    sim.write(out)
    print_simulation(sim, out, console)
    result = track_plots(
        sim.plots, sim.loaded, TrackerSettings(association=args.association), console
    )
    write_table(out / "picture.parquet", result.picture, PICTURE_SCHEMA)
    print_tracking(result, out / "picture.parquet", console)
    metrics = evaluate_with_progress(
        out, EvaluationSettings(), Console(stderr=True), not args.no_report
    )
    print_metrics(metrics, out, not args.no_report, console)
    if not args.no_report:
        console.print(f"[bold]report:[/] {(out / 'report.html').resolve()}")
    return 0

"""`airpicture run SCENARIO --out DIR`: simulate, run the allied network, evaluate — in one go.

The network runs as the scenario says (`fusion: distributed`, one picture per
nation; `centralized`, one picture `ALL`), or as `--fusion` overrides it.
Writes truth.parquet, plots.parquet, run.json (with the fusion actually used),
picture.parquet, warnings.jsonl, threats.jsonl, network.json (message, release and timing
counts of every node and link), metrics.json and report.html.

A node that fails (raises) ends the run with exit status 1: the simulation's outputs
and every picture time finished before are written, network.json's `failure` names
the node, its stage and the time, and nothing is evaluated.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from airpicture.cli.evaluate import evaluate_with_progress, print_metrics
from airpicture.cli.options import add_scenario_overrides, scenario_overrides
from airpicture.cli.simulate import print_summary as print_simulation
from airpicture.cli.simulate import run_simulation
from airpicture.metrics import EvaluationSettings
from airpicture.metrics.registration import write_registration
from airpicture.network import NetworkResult, NetworkSettings, run_network
from airpicture.network.assessor import AssessorFactory, national_assessor
from airpicture.network.run import Fusion
from airpicture.scenario import LoadedScenario, load_scenario
from airpicture.tables import PICTURE_SCHEMA, Table, json_default, write_table
from airpicture.threat.warning import write_warnings
from airpicture.tracking.settings import TrackerSettings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="simulate, run the allied network and evaluate a scenario: every output in one folder",
        description=(
            "Simulate the scenario, run every nation's node (or one central tracker), evaluate "
            "each picture. Writes truth.parquet, plots.parquet, run.json, picture.parquet, "
            "warnings.jsonl, threats.jsonl, network.json, metrics.json and report.html to --out."
        ),
    )
    parser.add_argument("scenario", type=Path, help="scenario file (.yaml)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--fusion",
        choices=("distributed", "centralized"),
        help="override the scenario's fusion architecture",
    )
    parser.add_argument(
        "--association",
        choices=("gnn", "jpda"),
        default="gnn",
        help="report-to-track association in every tracker (default: gnn)",
    )
    parser.add_argument("--no-report", action="store_true", help="skip report.html")
    parser.add_argument(
        "--no-registration",
        action="store_true",
        help="no sensor registration nor gridlock in the nodes (to see what they buy)",
    )
    parser.add_argument(
        "--national-views",
        action="store_true",
        help="centralized: also each nation's view, a central tracker over only the pooled "
        "reports it may hold (what `airpicture serve` shows that nation)",
    )
    add_scenario_overrides(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    console = Console()
    out: Path = args.out
    loaded = load_scenario(args.scenario, scenario_overrides(args))
    settings = NetworkSettings(tracker=TrackerSettings(association=args.association))
    if args.no_registration:
        settings = settings.without_registration()
    if args.national_views:
        settings = replace(settings, national_views=True)
    sim = run_simulation(args, console, loaded)
    # The simulation's outputs are written first: a network that fails does not lose them.
    sim.fusion_used = args.fusion or sim.loaded.scenario.fusion
    sim.write(out)
    result = network_with_progress(sim.loaded, sim.plots, settings, args.fusion, console)
    print_simulation(sim, out, console)
    write_network_outputs(out, result)
    print_network(result, out, console)
    if result.failure is not None:
        failure = result.failure
        console.print(
            f"[bold red]the {failure.node} node failed[/] in its {failure.stage} stage at "
            f"{failure.time_s:g} s ({failure.cause!r}); {out} holds the simulation and the "
            f"pictures up to then (network.json: failure); not evaluated"
        )
        return 1
    metrics = evaluate_with_progress(
        out, EvaluationSettings(), Console(stderr=True), not args.no_report
    )
    print_metrics(metrics, out, not args.no_report, console)
    if not args.no_report:
        console.print(f"[bold]report:[/] {(out / 'report.html').resolve()}")
    return 0


def network_with_progress(
    loaded: LoadedScenario,
    plots: Table,
    settings: NetworkSettings,
    fusion: Fusion | None,
    console: Console,
    assessor_factory: AssessorFactory = national_assessor,
) -> NetworkResult:
    """`network.run_network` with a progress bar over scenario time."""
    with Progress(
        TextColumn(f"[bold]{fusion or loaded.scenario.fusion}[/]"),
        BarColumn(),
        TextColumn("{task.completed:.0f} / {task.total:.0f} s"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("", total=loaded.scenario.duration_s)
        return run_network(
            loaded, plots, settings, assessor_factory, fusion,
            on_progress=lambda run: progress.update(task, completed=run.time_s),
        )  # fmt: skip


def write_network_outputs(out: Path, result: NetworkResult) -> None:
    """picture.parquet, warnings.jsonl and threats.jsonl (empty when none), network.json
    (with `failure` if a node failed: the rest is then what was finished before)."""
    out.mkdir(parents=True, exist_ok=True)
    write_table(out / "picture.parquet", result.picture, PICTURE_SCHEMA)
    if result.registration:
        write_registration(out / "registration.parquet", result.registration)
    write_warnings(out / "warnings.jsonl", result.warnings)
    with (out / "threats.jsonl").open("w", encoding="utf-8") as f:
        for row in result.threats:
            f.write(json.dumps(row, default=json_default) + "\n")
    stats = dict(result.stats, seconds=result.seconds)
    (out / "network.json").write_text(json.dumps(stats, indent=2, default=json_default) + "\n")


def print_network(result: NetworkResult, out: Path, console: Console) -> None:
    picture = result.picture
    viewers = sorted(set(picture["viewer"].tolist())) if len(picture["viewer"]) else []
    parts = []
    for viewer in viewers:
        mine = picture["viewer"] == viewer
        parts.append(f"{viewer} {len(set(picture['track_id'][mine].tolist()))} tracks")
    refused = {
        nation: sum(node.get("messages", {}).get("rejected", {}).values())
        for nation, node in result.stats.get("nodes", {}).items()
    }
    console.print(
        f"[bold]{result.fusion_used}[/] network in {result.seconds:.1f} s: "
        + (", ".join(parts) or "no tracks")
        + f"; {len(result.warnings)} warnings; refused messages "
        + (", ".join(f"{n} {c}" for n, c in refused.items()) or "none")
        + f"; wrote {out / 'picture.parquet'}, {out / 'warnings.jsonl'}, {out / 'network.json'}"
    )

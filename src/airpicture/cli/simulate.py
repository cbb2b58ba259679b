"""`airpicture simulate SCENARIO --out DIR`: truth and sensor reports of a scenario."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from airpicture.cli.options import add_scenario_overrides, scenario_overrides
from airpicture.scenario import LoadedScenario, load_scenario
from airpicture.sim.simulate import Simulation, simulate


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="simulate a scenario: truth.parquet, plots.parquet, run.json",
        description="Fly the scenario's targets and run its sensors; write truth and reports.",
    )
    parser.add_argument("scenario", type=Path, help="scenario file (.yaml)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    add_scenario_overrides(parser)
    parser.set_defaults(func=run)


def run_simulation(
    args: argparse.Namespace, console: Console, loaded: LoadedScenario | None = None
) -> Simulation:
    """Simulate the scenario of `args` (or `loaded`, already read from it) with progress."""
    loaded = loaded or load_scenario(args.scenario, scenario_overrides(args))
    with Progress(
        TextColumn("[bold]simulate[/]"),
        BarColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("loading", total=1.0)
        sim = simulate(
            loaded,
            on_progress=lambda message, done: progress.update(
                task, description=message, completed=done
            ),
        )
    return sim


def print_summary(sim: Simulation, out_dir: Path, console: Console) -> None:
    s = sim.loaded.scenario
    kinds: dict[str, int] = {}
    for kind in sim.trajectories.info.kinds:
        kinds[kind] = kinds.get(kind, 0) + 1
    console.print(
        f"[bold]{s.name}[/]: {s.duration_s:.0f} s from {s.epoch.isoformat()}, seed {s.seed}; "
        f"{sim.trajectories.count} targets ("
        + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        + f"), {len(s.sensors)} sensors"
    )
    for tid, flight in sim.flights.items():
        console.print(
            f"  {tid}: flight {flight.impact_time_s / 60:.1f} min, apogee "
            f"{flight.apogee_m / 1000:.0f} km, impact {flight.impact_lat_deg:.2f}°, "
            f"{flight.impact_lon_deg:.2f}°"
        )
    table = RichTable(title="reports per sensor")
    for column in ("sensor", "nation", "type", "target reports", "false alarms"):
        table.add_column(
            column, justify="right" if "report" in column or "alarm" in column else "left"
        )
    for sensor in s.sensors:
        hits, false = sim.plots_per_sensor()[sensor.id]
        table.add_row(sensor.id, sensor.nation, sensor.type, str(hits), str(false))
    console.print(table)
    console.print(
        f"{len(sim.plots['time_s'])} reports in {sim.seconds['total']:.1f} s; wrote "
        f"{out_dir / 'truth.parquet'}, {out_dir / 'plots.parquet'}, {out_dir / 'run.json'}"
    )


def run(args: argparse.Namespace) -> int:
    console = Console()
    sim = run_simulation(args, console)
    sim.write(args.out)
    print_summary(sim, args.out, console)
    return 0

"""`airpicture evaluate DIR [--scenario SCENARIO]`: picture quality → DIR/metrics.json, report.html.

Without `--scenario`, DIR is an airpicture run folder (run.json, truth.parquet,
picture.parquet). With it, DIR may hold any tracker's output: truth.parquet and
picture.parquet (or picture.csv) with the columns of docs/architecture.md, "Run
output"; the snapshot interval, nations and which sensors feed which nation come
from the scenario. Truth rows without `detectable_by` get it from the scenario's
sensor coverage (the simulator's `coverage`): an aircraft counts as carrying a
transponder when the scenario's target of that id does (unknown ids: aircraft
do), and nothing counts as boosting, so a space-IR sensor alone never makes a
foreign truth row eligible. Truth rows without `identity` count as `unknown`.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from airpicture.cli.outdir import check_out_dir
from airpicture.errors import InputError
from airpicture.geo import geodetic_to_ecef
from airpicture.metrics import (
    AssociationSettings,
    CommonalitySettings,
    EvaluationSettings,
    GospaSettings,
    evaluate_run,
)
from airpicture.metrics.run_data import (
    ALL_VIEWER,
    RunData,
    RunInfo,
    build_run_data,
    read_picture,
)
from airpicture.policy.release import viewable_sensors
from airpicture.scenario import LoadedScenario, load_scenario
from airpicture.scenario.model import BallisticTarget, RouteTarget
from airpicture.sim.sensors import Site, coverage
from airpicture.tables import TRUTH_SCHEMA, Table, read_table


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="measure a run's picture quality (GOSPA, SIAP, commonality) and write the report",
        description=(
            "Read DIR/run.json, DIR/truth.parquet and DIR/picture.parquet (or, with --scenario, "
            "any tracker's truth.parquet and picture.parquet/picture.csv); write "
            "DIR/metrics.json and DIR/report.html. Definitions and defaults: docs/metrics.md."
        ),
    )
    parser.add_argument(
        "dir", type=Path, metavar="DIR", help="a run's output folder, or any tracker's output"
    )
    parser.add_argument(
        "--scenario",
        type=Path,
        metavar="SCENARIO",
        help="judge a folder without run.json (any tracker's truth.parquet and picture.parquet "
        "or picture.csv) against this scenario's nations, sensors and snapshot interval",
    )
    defaults = EvaluationSettings()
    parser.add_argument(
        "--gospa-c",
        type=float,
        default=defaults.gospa.c_m,
        metavar="M",
        help=f"GOSPA cut-off distance, metres (default {defaults.gospa.c_m:g})",
    )
    parser.add_argument(
        "--gospa-p",
        type=float,
        default=defaults.gospa.p,
        metavar="P",
        help=f"GOSPA order p ≥ 1 (default {defaults.gospa.p:g})",
    )
    parser.add_argument(
        "--assoc-threshold",
        type=float,
        default=defaults.association.threshold_m,
        metavar="M",
        help="track-to-truth association distance, metres "
        f"(default {defaults.association.threshold_m:g})",
    )
    parser.add_argument(
        "--assoc-confirm",
        type=int,
        default=defaults.association.consec_pairs_confirm,
        metavar="N",
        help="snapshots in a row to confirm an association "
        f"(default {defaults.association.consec_pairs_confirm})",
    )
    parser.add_argument(
        "--assoc-end",
        type=int,
        default=defaults.association.consec_misses_end,
        metavar="N",
        help=f"misses in a row to end one (default {defaults.association.consec_misses_end})",
    )
    parser.add_argument(
        "--commonality-distance",
        type=float,
        default=defaults.commonality.max_separation_m,
        metavar="M",
        help="largest distance between two nations' tracks that still agree, metres "
        f"(default {defaults.commonality.max_separation_m:g})",
    )
    parser.add_argument("--no-report", action="store_true", help="write metrics.json only")
    parser.set_defaults(func=run)


def settings_from_args(args: argparse.Namespace) -> EvaluationSettings:
    """The evaluation settings the options ask for; bad values are an `InputError`."""
    try:
        return EvaluationSettings(
            gospa=GospaSettings(c_m=args.gospa_c, p=args.gospa_p),
            association=AssociationSettings(
                threshold_m=args.assoc_threshold,
                consec_pairs_confirm=args.assoc_confirm,
                consec_misses_end=args.assoc_end,
            ),
            commonality=CommonalitySettings(max_separation_m=args.commonality_distance),
        )
    except ValueError as exc:
        raise InputError("command-line options", [str(exc)]) from exc


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    run_dir: Path = args.dir
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError(str(run_dir), ["is a file; give the folder that holds the picture"])
    if not run_dir.is_dir():
        raise InputError(str(run_dir), ["no such folder; give a run's --out folder"])
    run: RunData | None = None
    if args.scenario is not None:
        run = run_data_from_scenario(run_dir, load_scenario(args.scenario))
    elif not (run_dir / "run.json").is_file():
        raise InputError(
            str(run_dir),
            [
                "has no run.json (it is not an airpicture run folder); to judge another "
                "tracker's truth.parquet and picture.parquet (or picture.csv) give the "
                "scenario they belong to: airpicture evaluate DIR --scenario SCENARIO"
            ],
        )
    check_out_dir(run_dir, "DIR")
    metrics = evaluate_with_progress(
        run_dir, settings, Console(stderr=True), not args.no_report, run=run
    )
    print_metrics(metrics, run_dir, not args.no_report, Console())
    return 0


def run_data_from_scenario(run_dir: Path, loaded: LoadedScenario) -> RunData:
    """A folder of any tracker's truth and picture, read against `loaded` (module docstring)."""
    if not run_dir.is_dir():
        raise InputError(str(run_dir), ["no such folder; give the folder with truth and picture"])
    scenario = loaded.scenario
    truth = read_table(run_dir / "truth.parquet", TRUTH_SCHEMA)
    picture = read_picture(run_dir)
    notes: list[str] = []
    n_rows = len(truth["time_s"])
    if "identity" not in truth:
        truth["identity"] = np.full(n_rows, "unknown", dtype=object)
        notes.append("truth.parquet has no identity column: every truth counts as unknown")
    if "detectable_by" not in truth:
        truth["detectable_by"] = detectable_by(truth, loaded)
        notes.append(
            "truth.parquet has no detectable_by column: eligibility computed from the "
            f"coverage of {scenario.name}'s sensors (transponders as the scenario says, "
            "no boost phase: space-IR alone makes no row eligible)"
        )
    viewers = {v: tuple(ids) for v, ids in viewable_sensors(scenario).items()}
    picture_viewers = {str(v) for v in picture["viewer"]}
    times = np.asarray(truth["time_s"], dtype=np.float64)
    info = RunInfo(
        scenario=scenario.name,
        epoch=scenario.epoch.isoformat().replace("+00:00", "Z"),
        duration_s=float(times.max()) if times.size else float(scenario.duration_s),
        seed=scenario.seed,
        picture_interval_s=float(scenario.picture_interval_s),
        fusion="centralized" if picture_viewers == {ALL_VIEWER} else "distributed",
        nations=tuple(scenario.nations),
        sensor_nation={x.id: x.nation for x in scenario.sensors},
        sensor_type={x.id: x.type for x in scenario.sensors},
        viewers=viewers,
    )
    data = build_run_data(info, truth, picture, source=str(run_dir))
    return replace(data, notes=(*data.notes, *notes))


def detectable_by(truth: Table, loaded: LoadedScenario) -> NDArray[np.object_]:
    """Per truth row, the scenario's sensors whose coverage holds it (the simulator's rule)."""
    position = geodetic_to_ecef(
        np.asarray(truth["lat_deg"], dtype=np.float64),
        np.asarray(truth["lon_deg"], dtype=np.float64),
        np.asarray(truth["alt_m"], dtype=np.float64),
    ).reshape(-1, 3)
    declared = {
        t.id: (t.transponder if isinstance(t, RouteTarget) else False)
        for t in loaded.scenario.targets
        if isinstance(t, RouteTarget | BallisticTarget)
    }
    ids = [str(t) for t in truth["target_id"]]
    kinds = [str(k) for k in truth["kind"]]
    transponder = np.array(
        [declared.get(i, k == "aircraft") for i, k in zip(ids, kinds, strict=True)], dtype=bool
    )
    boosting = np.zeros(len(ids), dtype=bool)
    rows: list[list[str]] = [[] for _ in ids]
    for sensor in loaded.scenario.sensors:
        seen = coverage(sensor, Site.of(sensor), position, boosting, transponder)
        for r in np.flatnonzero(seen):
            rows[r].append(sensor.id)
    column = np.empty(len(ids), dtype=np.object_)
    column[:] = rows
    return column


def evaluate_with_progress(
    run_dir: Path,
    settings: EvaluationSettings,
    console: Console,
    write_report: bool,
    run: RunData | None = None,
) -> dict[str, Any]:
    """Evaluate a run folder with a progress bar; print the evaluation's notes."""
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("reading the run", total=1)

        def tell(stage: str, done: int, total: int) -> None:
            progress.update(task, description=stage, completed=done, total=total)

        metrics = evaluate_run(run_dir, settings, progress=tell, write_report=write_report, run=run)
    for note in metrics["notes"]:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    return metrics


def print_metrics(metrics: dict[str, Any], run_dir: Path, report: bool, out: Console) -> None:
    """One line per viewer, commonality, and what was written."""
    for viewer, values in metrics["viewers"].items():
        siap = values["siap"]
        gospa = values["gospa"]["mean"]["distance_m"]
        out.print(
            f"{viewer}: completeness {_pct(siap['completeness'])}, "
            f"spuriousness {_pct(siap['spuriousness'])}, mean GOSPA "
            f"{'—' if gospa is None else f'{gospa:,.0f} m'}",
            highlight=False,
        )
    common = metrics["commonality"]
    if common.get("applicable"):
        out.print(f"commonality, all nations: {_pct(common['overall']['value'])}", highlight=False)
    written = "metrics.json" + (" and report.html" if report else "")
    out.print(f"wrote {written} in {run_dir}", highlight=False)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"

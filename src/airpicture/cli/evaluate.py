"""`airpicture evaluate DIR`: picture quality of a run → DIR/metrics.json and DIR/report.html."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from airpicture.errors import InputError
from airpicture.metrics import (
    AssociationSettings,
    CommonalitySettings,
    EvaluationSettings,
    GospaSettings,
    evaluate_run,
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="measure a run's picture quality (GOSPA, SIAP, commonality) and write the report",
        description=(
            "Read DIR/run.json, DIR/truth.parquet and DIR/picture.parquet; write DIR/metrics.json "
            "and DIR/report.html. Definitions and defaults: docs/metrics.md."
        ),
    )
    parser.add_argument("dir", type=Path, metavar="DIR", help="a run's output folder")
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
    metrics = evaluate_with_progress(
        args.dir, settings_from_args(args), Console(stderr=True), not args.no_report
    )
    print_metrics(metrics, args.dir, not args.no_report, Console())
    return 0


def evaluate_with_progress(
    run_dir: Path, settings: EvaluationSettings, console: Console, write_report: bool
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

        metrics = evaluate_run(run_dir, settings, progress=tell, write_report=write_report)
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

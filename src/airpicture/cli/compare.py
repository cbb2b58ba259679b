"""`airpicture compare SCENARIO --variant NAME:CHANGES --seeds N --out DIR`: what-if for planners.

Every variant (and the baseline) runs on the same N seeds, so the runs pair up
by seed: seed s simulates the scenario once (truth and reports), and each
variant runs the deterministic network over that seed's reports, judged
against the baseline's eligible truths. The runs go to Dask distributed: a
local cluster over the machine's cores by default (`--workers N`), or a running
cluster (`--scheduler tcp://HOST:PORT`). Per nation and measure the command
gives the baseline's mean and 95 % interval and each variant's paired
difference with its interval (docs/planning.md).

Changes a variant can make: `airpicture.study.variants`.

Writes DIR/compare.json (every figure, per run too), DIR/report.html and one run
folder per variant and seed (DIR/VARIANT/seed-N/); prints the findings and a table.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from airpicture.cli.options import add_scenario_overrides, scenario_overrides
from airpicture.cli.outdir import check_out_dir
from airpicture.errors import InputError
from airpicture.scenario import load_scenario
from airpicture.study.cluster import RunFailure, dask_client, run_study
from airpicture.study.report import write_comparison_report
from airpicture.study.runs import StudySpec
from airpicture.study.summary import (
    BASELINE,
    findings,
    format_half_width,
    format_value,
    summarise,
)
from airpicture.study.variants import Variant, apply_edits, parse_variant

#: Version of the compare.json layout; bump on any incompatible change.
COMPARE_SCHEMA: Final = "airpicture.compare/2"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="variants of a scenario over many seeds on Dask; differences with 95 %% intervals",
        description=(
            "Run the baseline and each variant on the same seeds (in parallel on Dask "
            "distributed) and compare every nation's picture quality and warnings: baseline "
            "mean and 95 % interval, each variant's paired difference and whether it is "
            "significant. Variants: NAME:CHANGE[,CHANGE…] with changes fusion=centralized, "
            "without=SENSOR, outage=SENSOR@START-END, release.NATION.tracks=A+B, "
            "release.SENSOR.plots=, latency.FROM-TO=S, loss.FROM-TO=P. docs/planning.md."
        ),
    )
    parser.add_argument("scenario", type=Path, help="scenario file (.yaml)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:CHANGES",
        help="a variant to compare with the baseline (repeat for several)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        metavar="N",
        help="seeds per variant: the scenario's seed (or --seed) and the N−1 after it "
        "(default 1; use 8 or more for intervals a planner can trust)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes of the local Dask cluster (default: one per core)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="run on this Dask scheduler instead of a local cluster",
    )
    add_scenario_overrides(parser)
    parser.set_defaults(func=run)


def check_options(args: argparse.Namespace) -> None:
    if args.seeds < 1:
        raise InputError(f"--seeds {args.seeds}", ["give 1 seed or more (8+ for intervals)"])
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers {args.workers}", ["give at least 1 worker"])
    if args.workers is not None and args.scheduler is not None:
        raise InputError(
            "--workers with --scheduler",
            ["a running cluster has the workers it has; give one of the two options"],
        )
    if args.scheduler is not None and "://" not in args.scheduler:
        raise InputError(
            f"--scheduler {args.scheduler}", ["give the scheduler's address as tcp://HOST:PORT"]
        )


def run(args: argparse.Namespace) -> int:
    console = Console()
    check_options(args)
    variants = [Variant(BASELINE)] + [parse_variant(v) for v in args.variant]
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise InputError("--variant", ["two variants have the same name (or one is 'baseline')"])
    loaded = load_scenario(args.scenario, scenario_overrides(args))
    sensors = {s.id for s in loaded.scenario.sensors}
    for variant in variants:
        apply_edits(loaded, variant)  # every variant's edits are checked before any runs
        unknown = sorted(s for s in variant.outages if s not in sensors)
        if unknown:
            raise InputError(
                f"--variant {variant.name}",
                [f"no sensor {s!r} in {args.scenario}" for s in unknown],
            )
    out: Path = check_out_dir(args.out)
    first = loaded.scenario.seed
    seeds = list(range(first, first + args.seeds))
    spec = StudySpec(
        scenario_path=str(args.scenario.resolve()),
        duration_s=args.duration_s,
        count=args.count,
    )
    total = len(variants) * len(seeds)
    where = args.scheduler or f"a local Dask cluster of {args.workers or 'one worker per core'}"
    console.print(
        f"[bold]{loaded.scenario.name}[/]: {len(variants)} variants × {len(seeds)} seeds = "
        f"{total} runs on {where}",
        highlight=False,
    )
    with (
        dask_client(args.scheduler, args.workers) as client,
        Progress(
            TextColumn("[bold]runs[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]}"),
            TimeElapsedColumn(),
            console=console,
        ) as progress,
    ):
        task = progress.add_task("runs", total=total, failed="")
        failed: list[RunFailure] = []

        def on_run(done: int, total: int, failure: RunFailure | None) -> None:
            if failure is not None:
                failed.append(failure)
                progress.console.print(
                    f"[red]failed:[/] {failure.variant}, seed {failure.seed}: {failure.error}",
                    highlight=False,
                )
            progress.update(task, completed=done, failed=f"{len(failed)} failed" if failed else "")

        records, failures = run_study(client, spec, variants, seeds, out, on_run)
    document = comparison_document(loaded.scenario.name, variants, seeds, records, failures)
    (out / "compare.json").write_text(
        json.dumps(document, indent=1, allow_nan=False) + "\n", encoding="utf-8"
    )
    write_comparison_report(out / "report.html", document, variants)
    print_comparison(document, variants, console, out)
    if not records:
        raise InputError(str(args.scenario), ["every run failed; see the messages above"])
    return 0


def comparison_document(
    scenario: str,
    variants: Sequence[Variant],
    seeds: Sequence[int],
    records: list[dict[str, Any]],
    failures: list[RunFailure],
) -> dict[str, Any]:
    """compare.json: the study, its statistics, findings and every run's figures."""
    statistics = summarise(records, variants, seeds)
    document: dict[str, Any] = _json_safe(
        {
            "schema": COMPARE_SCHEMA,
            "scenario": scenario,
            "seeds": list(seeds),
            "method": (
                "paired t: per seed d = variant − baseline; mean d ± t(0.975, n−1)·s_d/√n; "
                "two-sided p; significant iff the 95 % interval excludes 0 (docs/planning.md)"
            ),
            "variants": [
                {"name": v.name, "changes": list(v.changes), "fusion": v.fusion} for v in variants
            ],
            "findings": findings(statistics, variants),
            "statistics": statistics,
            "failures": [f.to_json() for f in failures],
            "runs": records,
        }
    )
    return document


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def print_comparison(
    document: dict[str, Any], variants: Sequence[Variant], console: Console, out: Path
) -> None:
    """Findings, then per variant a table of its picture differences if it fits the terminal
    (else where the full table is)."""
    found = document["findings"]
    n_seeds = len(document["seeds"])
    if found:
        console.print(f"[bold]{len(found)} significant difference(s)[/] over {n_seeds} seeds:")
        for f in found:
            console.print(f"  • {f['text']}", highlight=False)
    else:
        console.print(
            f"[bold]No difference from the baseline is significant at 95 %[/] over {n_seeds} "
            "seed(s).",
            highlight=False,
        )
    rows = [r for r in document["statistics"] if r["group"] == "picture"]
    tables = [_variant_table(rows, v, variants[0]) for v in (variants[1:] or variants)]
    unbounded = console.options.update_width(10_000)  # a table's natural width, unwrapped
    needed = max(console.measure(t, options=unbounded).maximum for t in tables)
    if needed > console.width:
        console.print(
            f"(the table needs {needed} columns; this terminal has {console.width}: "
            f"every figure is in {out / 'report.html'} and {out / 'compare.json'})",
            highlight=False,
        )
    else:
        for table in tables:
            console.print(table)
        n_missile = sum(r["group"] == "missile" for r in document["statistics"])
        console.print(
            f"missile warning figures ({n_missile} rows) and every per-seed value: "
            f"{out / 'report.html'}, {out / 'compare.json'}",
            highlight=False,
        )
    for failure in document["failures"]:
        console.print(
            f"[red]failed:[/] {failure['variant']}, seed {failure['seed']}: {failure['error']}",
            highlight=False,
        )
    console.print(f"wrote {out / 'compare.json'} and {out / 'report.html'}", highlight=False)


def _variant_table(rows: list[dict[str, Any]], variant: Variant, baseline: Variant) -> RichTable:
    is_baseline = variant.name == baseline.name
    title = (
        f"{variant.name} − baseline ({', '.join(variant.changes)})"
        if not is_baseline
        else "baseline (no variants given)"
    )
    table = RichTable(title=title, title_justify="left")
    for column, justify in (
        ("nation", "left"),
        ("measure", "left"),
        ("baseline ± 95 %", "right"),
        ("difference ± 95 %", "right"),
        ("p", "right"),
        ("", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        unit = r["unit"]
        b = r["baseline"]
        base = f"{format_value(b['mean'], unit)} ± {format_half_width(b['half_width'], unit)}"
        if is_baseline:
            table.add_row(r["nation"], r["label"], base, "", "", "")
            continue
        d = r["variants"][variant.name]["difference"]
        diff = (
            f"{format_value(d['mean'], unit, difference=True)} ± "
            f"{format_half_width(d['half_width'], unit)}"
        )
        p = "" if d["p_value"] is None else f"{d['p_value']:.2g}"
        mark = "significant" if d["significant"] else ""
        table.add_row(r["nation"], r["label"], base, diff, p, mark)
    return table

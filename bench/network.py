"""Network benchmark: pacific-shield, distributed vs centralized, on the same reports.

    .venv/bin/python bench/network.py                  # the full 1800 s, 3 runs of each
    .venv/bin/python bench/network.py --duration-s 600 --repeat 1

Simulates once, then runs the centralized reference (one tracker over every
poolable plot) and the distributed network (one node per nation), `--repeat`
times each, alternating, timed in wall-clock and CPU seconds; evaluates both
once (the runs are deterministic). Prints and writes bench/results/network.json:

* run time of each (the median over the repeats), and the ratio distributed /
  centralized. The distributed run keeps each nation's node in a worker process
  (`network.processes`), as `airpicture run` does, so nodes compute at the same
  time as on their own machines. Like `airpicture run`, which starts the workers
  while it simulates, the benchmark starts them before the run and reports their
  start (import and build) apart; `--cold-start` counts it in the run instead.
  Four ratios: wall clock (what a user waits, on this machine, under whatever
  else runs on it); the critical path of the nodes' stages in CPU seconds (the
  run time with a core per nation and no other load: `schedule.makespan_s`); the
  same on two cores shared by the nodes; and every process's CPU added up (the
  whole network on one core);
* per-nation completeness over the truths its allowed sources can see;
* commonality between nations (overall and per pair);
* mean GOSPA per viewer, and distributed / centralized.

The issue's targets are printed beside each figure.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from airpicture.metrics import EvaluationSettings, evaluate_run
from airpicture.network import run_network
from airpicture.network.run import Fusion, start_node_processes
from airpicture.scenario import ScenarioOverrides, load_scenario
from airpicture.sim.simulate import simulate
from airpicture.tables import PICTURE_SCHEMA, write_table

ROOT = Path(__file__).resolve().parents[1]


def timed_run(
    loaded: Any, plots: Any, fusion: Fusion, out: Path, cold_start: bool
) -> dict[str, Any]:
    workers, start_s, start_cpu = None, 0.0, {}
    if fusion == "distributed" and not cold_start:
        wall0 = time.perf_counter()
        workers = start_node_processes(loaded)
        workers.ready()
        start_s, start_cpu = time.perf_counter() - wall0, dict(workers.cpu_s)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = run_network(loaded, plots, fusion=fusion, node_processes=workers)
    wall, own_cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    write_table(out / "picture.parquet", result.picture, PICTURE_SCHEMA)
    stats = result.stats
    cpu = stats.get("process_cpu_s", {})
    return {
        "wall_s": wall,
        "workers_start_wall_s": start_s,
        "coordinator_cpu_s": own_cpu,
        "worker_cpu_s": {n: t - start_cpu.get(n, 0.0) for n, t in cpu.items()},
        # The workers' CPU to build their nodes (their parent's one import is not in it).
        "workers_start_cpu_s": sum(start_cpu.values()),
        "cpu_s": own_cpu + sum(cpu.values()) - sum(start_cpu.values()),
        "critical_path_cpu_s": own_cpu + stats.get("critical_path_cpu_s", 0.0),
        "two_core_cpu_s": own_cpu + stats.get("two_core_makespan_cpu_s", 0.0),
        "node_phase_seconds": {n: node["seconds"] for n, node in stats["nodes"].items()},
        "stats": stats,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios/pacific-shield.yaml")
    parser.add_argument("--duration-s", type=float, default=None)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, alternating")
    parser.add_argument(
        "--cold-start",
        action="store_true",
        help="start the workers inside the distributed run (default: before it, as "
        "`airpicture run` starts them while it simulates)",
    )
    args = parser.parse_args()
    loaded = load_scenario(args.scenario, ScenarioOverrides(duration_s=args.duration_s))
    sim = simulate(loaded)
    figures: dict[str, Any] = {"scenario": loaded.scenario.name,
                               "duration_s": loaded.scenario.duration_s}  # fmt: skip
    metrics: dict[str, Any] = {}
    runs: dict[str, list[dict[str, Any]]] = {"centralized": [], "distributed": []}
    with tempfile.TemporaryDirectory() as tmp:
        modes: tuple[Fusion, ...] = ("centralized", "distributed")
        for repeat in range(max(args.repeat, 1)):
            for fusion in modes:
                out = Path(tmp) / fusion
                if repeat == 0:
                    sim.fusion_used = fusion
                    sim.write(out)
                runs[fusion].append(timed_run(loaded, sim.plots, fusion, out, args.cold_start))
                if repeat == 0:
                    metrics[fusion] = evaluate_run(out, EvaluationSettings(), write_report=False)
    for fusion in modes:  # the run of median wall clock
        ranked = sorted(runs[fusion], key=lambda r: r["wall_s"])
        figures[fusion] = dict(
            ranked[len(ranked) // 2], all_wall_s=[r["wall_s"] for r in runs[fusion]]
        )
    central, dist = figures["centralized"], figures["distributed"]
    gospa_central = metrics["centralized"]["viewers"]["ALL"]["gospa"]["mean"]["distance_m"]
    nations: dict[str, Any] = {}
    for nation, v in metrics["distributed"]["viewers"].items():
        g = v["gospa"]["mean"]["distance_m"]
        nations[nation] = {
            "completeness": v["siap"]["completeness"],
            "spuriousness": v["siap"]["spuriousness"],
            "position_accuracy_m": v["siap"]["position_accuracy_m"],
            "gospa_mean_m": g,
            "gospa_ratio_to_centralized": g / gospa_central if gospa_central else None,
        }
    common = metrics["distributed"]["commonality"]
    summary = {
        "completeness_centralized": metrics["centralized"]["viewers"]["ALL"]["siap"][
            "completeness"
        ],
        "gospa_centralized_mean_m": gospa_central,
        "nations": nations,
        "commonality_all_nations": common["overall"]["value"],
        "commonality_pairs": {f"{p['nation_a']}-{p['nation_b']}": p for p in common["pairs"]},
        "run_time": {
            "centralized_wall_s": central["wall_s"],
            "centralized_cpu_s": central["cpu_s"],
            "distributed_wall_s": dist["wall_s"],
            "repeats": len(runs["distributed"]),
            "centralized_all_wall_s": central["all_wall_s"],
            "distributed_all_wall_s": dist["all_wall_s"],
            "ratio_wall_each_pair": [
                d["wall_s"] / c["wall_s"]
                for c, d in zip(runs["centralized"], runs["distributed"], strict=True)
            ],
            "cold_start": args.cold_start,
            "workers_start_wall_s": dist["workers_start_wall_s"],
            "workers_start_cpu_s": dist["workers_start_cpu_s"],
            "distributed_critical_path_cpu_s": dist["critical_path_cpu_s"],
            "distributed_two_core_cpu_s": dist["two_core_cpu_s"],
            "distributed_cpu_s": dist["cpu_s"],
            "distributed_worker_cpu_s": dist["worker_cpu_s"],
            "ratio_wall": dist["wall_s"] / central["wall_s"],
            "ratio_critical_path_cpu": dist["critical_path_cpu_s"] / central["cpu_s"],
            "ratio_two_core_cpu": dist["two_core_cpu_s"] / central["cpu_s"],
            "ratio_all_cpu": dist["cpu_s"] / central["cpu_s"],
            "load_average_1min": os.getloadavg()[0],
        },
    }
    figures["summary"] = summary
    for fusion in ("centralized", "distributed"):
        figures[fusion].pop("stats")
        for run in runs[fusion]:
            run.pop("stats", None)
    out_file = ROOT / "bench/results/network.json"
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(figures, indent=2) + "\n")
    rt = summary["run_time"]
    lines = [
        f"{loaded.scenario.name}, {loaded.scenario.duration_s:.0f} s",
        f"centralized: {rt['centralized_wall_s']:.1f} s wall, {rt['centralized_cpu_s']:.1f} s CPU;"
        f" completeness {summary['completeness_centralized']:.4f},"
        f" mean GOSPA {gospa_central:,.0f} m",
        f"distributed, a process per node: {rt['distributed_wall_s']:.1f} s wall"
        + (
            " (workers' start included),"
            if args.cold_start
            else f" (+ the workers' start, {rt['workers_start_wall_s']:.1f} s, done beforehand),"
        )
        + f" {rt['distributed_critical_path_cpu_s']:.1f} s CPU on the critical path,"
        f" {rt['distributed_cpu_s']:.1f} s CPU in all; per worker "
        + ", ".join(f"{n} {t:.1f} s" for n, t in rt["distributed_worker_cpu_s"].items()),
        f"  run time ratio, wall clock (load {rt['load_average_1min']:.1f} on"
        f" {os.cpu_count()} CPUs): {rt['ratio_wall']:.2f}  (target ≤ 1.30); median of "
        f"{rt['repeats']}, each pair: " + ", ".join(f"{r:.2f}" for r in rt["ratio_wall_each_pair"]),
        f"  run time ratio, critical path (a core per nation): "
        f"{rt['ratio_critical_path_cpu']:.2f}  (target ≤ 1.30)",
        f"  run time ratio, two cores shared by the nodes (from their CPU per stage): "
        f"{rt['ratio_two_core_cpu']:.2f}  (target ≤ 1.30)",
        f"  CPU of every process added up (the network on one core): {rt['ratio_all_cpu']:.2f}",
    ]
    for nation, n in nations.items():
        lines.append(
            f"  {nation}: completeness {n['completeness']:.4f} (target ≥ 0.95), mean GOSPA"
            f" {n['gospa_mean_m']:,.0f} m = {n['gospa_ratio_to_centralized']:.3f} × centralized"
            " (target ≤ 1.5)"
        )
    lines.append(
        f"  commonality, all nations: {summary['commonality_all_nations']:.4f} (target ≥ 0.95); "
        + ", ".join(f"{k} {p['value']:.4f}" for k, p in summary["commonality_pairs"].items())
    )
    print("\n".join(lines))
    print(f"wrote {out_file.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

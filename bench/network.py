"""Network benchmark: pacific-shield, distributed vs centralized, on the same reports.

    .venv/bin/python bench/network.py                  # the full 1800 s, 3 runs of each
    .venv/bin/python bench/network.py --duration-s 600 --repeat 1

Simulates once, then runs the centralized reference (one tracker over every
poolable plot) and the distributed network (one node per nation), `--repeat`
times each, alternating, timed in wall-clock and CPU seconds; evaluates both
once (the runs are deterministic). Prints and writes bench/results/network.json:

* run time of each (the median over the repeats), and the ratios distributed /
  centralized: the whole network's CPU (every node in this one process, the
  deterministic reference run), and the busiest node's own CPU (what one nation's
  machine spends: deployed, each node runs on its own, `docs/exercise.md`);
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
from airpicture.network.run import Fusion
from airpicture.scenario import ScenarioOverrides, load_scenario
from airpicture.sim.simulate import simulate
from airpicture.tables import PICTURE_SCHEMA, write_table

ROOT = Path(__file__).resolve().parents[1]


def timed_run(loaded: Any, plots: Any, fusion: Fusion, out: Path) -> dict[str, Any]:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = run_network(loaded, plots, fusion=fusion)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    write_table(out / "picture.parquet", result.picture, PICTURE_SCHEMA)
    node_cpu = {n: sum(node["seconds"].values()) for n, node in result.stats["nodes"].items()}
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "node_cpu_s": node_cpu,
        "busiest_node_cpu_s": max(node_cpu.values(), default=0.0),
        "node_phase_seconds": {n: node["seconds"] for n, node in result.stats["nodes"].items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios/pacific-shield.yaml")
    parser.add_argument("--duration-s", type=float, default=None)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, alternating")
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
                runs[fusion].append(timed_run(loaded, sim.plots, fusion, out))
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
            "distributed_cpu_s": dist["cpu_s"],
            "distributed_node_cpu_s": dist["node_cpu_s"],
            "ratio_wall": dist["wall_s"] / central["wall_s"],
            "ratio_all_cpu": dist["cpu_s"] / central["cpu_s"],
            "ratio_busiest_node_cpu": dist["busiest_node_cpu_s"] / central["cpu_s"],
            "load_average_1min": os.getloadavg()[0],
        },
    }
    figures["summary"] = summary
    out_file = ROOT / "bench/results/network.json"
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(figures, indent=2) + "\n")
    rt = summary["run_time"]
    lines = [
        f"{loaded.scenario.name}, {loaded.scenario.duration_s:.0f} s",
        f"centralized: {rt['centralized_wall_s']:.1f} s wall, {rt['centralized_cpu_s']:.1f} s CPU;"
        f" completeness {summary['completeness_centralized']:.4f},"
        f" mean GOSPA {gospa_central:,.0f} m",
        f"distributed, every node in this process: {rt['distributed_wall_s']:.1f} s wall,"
        f" {rt['distributed_cpu_s']:.1f} s CPU; per node "
        + ", ".join(f"{n} {t:.1f} s" for n, t in rt["distributed_node_cpu_s"].items()),
        f"  run time ratio, wall clock (load {rt['load_average_1min']:.1f} on"
        f" {os.cpu_count()} CPUs): {rt['ratio_wall']:.2f}; median of "
        f"{rt['repeats']}, each pair: " + ", ".join(f"{r:.2f}" for r in rt["ratio_wall_each_pair"]),
        f"  CPU, the whole network / centralized: {rt['ratio_all_cpu']:.2f}",
        f"  CPU, the busiest node (one nation's machine) / centralized: "
        f"{rt['ratio_busiest_node_cpu']:.2f}  (target ≤ 1.30)",
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

"""Network benchmark: pacific-shield, distributed vs centralized, on the same reports.

    .venv/bin/python bench/network.py                  # the full 1800 s
    .venv/bin/python bench/network.py --duration-s 600

Simulates once, then runs the centralized reference (one tracker over every
poolable plot) and the distributed network (one node per nation, in-process
bus), each timed in wall-clock and CPU seconds, and evaluates both. Prints and
writes bench/results/network.json:

* run time of each, and the ratio distributed / centralized — for the whole
  network in one process (every node one after the other) and for the slowest
  node alone in CPU seconds (what a nation's machine spends when nodes run apart,
  as they do); wall-clock time is printed too but is unreliable on a shared machine;
* per-nation completeness over the truths its allowed sources can see;
* commonality between nations (overall and per pair);
* mean GOSPA per viewer, and distributed / centralized.

The issue's targets are printed beside each figure.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from airpicture.metrics import EvaluationSettings, evaluate_run
from airpicture.network import run_network
from airpicture.scenario import ScenarioOverrides, load_scenario
from airpicture.sim.simulate import simulate
from airpicture.tables import PICTURE_SCHEMA, TRUTH_SCHEMA, read_table, write_table

ROOT = Path(__file__).resolve().parents[1]


def timed_run(loaded: Any, plots: Any, fusion: str, out: Path) -> dict[str, Any]:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = run_network(loaded, plots, fusion=fusion)  # type: ignore[arg-type]
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    write_table(out / "picture.parquet", result.picture, PICTURE_SCHEMA)
    node_seconds = {
        nation: sum(node["seconds"].values()) for nation, node in result.stats["nodes"].items()
    }
    return {"wall_s": wall, "cpu_s": cpu, "node_seconds": node_seconds, "stats": result.stats}


def write_transponder_eligibility(sim: Any, out: Path) -> None:
    """Rewrite truth.parquet so that ADS-B "sees" only aircraft with a transponder."""
    adsb = {s.id for s in sim.loaded.scenario.sensors if s.type == "adsb"}
    silent = {
        tid
        for tid, has in zip(
            sim.trajectories.info.ids, sim.trajectories.info.transponder, strict=True
        )
        if not has
    }
    truth = read_table(out / "truth.parquet", TRUTH_SCHEMA)
    fixed = np.empty(len(truth["target_id"]), dtype=object)
    fixed[:] = [
        [x for x in sensors if x not in adsb] if tid in silent else list(sensors)
        for tid, sensors in zip(truth["target_id"], truth["detectable_by"], strict=True)
    ]
    truth["detectable_by"] = fixed
    schema = TRUTH_SCHEMA.append(pa.field("identity", pa.string())).append(
        pa.field("detectable_by", pa.list_(pa.string()))
    )
    write_table(out / "truth.parquet", truth, schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios/pacific-shield.yaml")
    parser.add_argument("--duration-s", type=float, default=None)
    args = parser.parse_args()
    loaded = load_scenario(args.scenario, ScenarioOverrides(duration_s=args.duration_s))
    sim = simulate(loaded)
    figures: dict[str, Any] = {"scenario": loaded.scenario.name,
                               "duration_s": loaded.scenario.duration_s}  # fmt: skip
    metrics: dict[str, Any] = {}
    corrected: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fusion in ("centralized", "distributed"):
            out = Path(tmp) / fusion
            sim.fusion_used = fusion
            sim.write(out)
            figures[fusion] = timed_run(loaded, sim.plots, fusion, out)
            metrics[fusion] = evaluate_run(out, EvaluationSettings(), write_report=False)
            # The simulator counts an ADS-B station as able to see every aircraft in
            # range, transponder or not; the same pictures judged without that.
            write_transponder_eligibility(sim, out)
            corrected[fusion] = evaluate_run(out, EvaluationSettings(), write_report=False)
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
    for nation, v in corrected["distributed"]["viewers"].items():
        nations[nation]["completeness_transponder_eligibility"] = v["siap"]["completeness"]
    common = metrics["distributed"]["commonality"]
    common_fixed = corrected["distributed"]["commonality"]
    summary = {
        "completeness_centralized": metrics["centralized"]["viewers"]["ALL"]["siap"][
            "completeness"
        ],
        "gospa_centralized_mean_m": gospa_central,
        "nations": nations,
        "completeness_centralized_transponder_eligibility": corrected["centralized"]["viewers"][
            "ALL"
        ]["siap"]["completeness"],
        "commonality_all_nations": common["overall"]["value"],
        "commonality_all_nations_transponder_eligibility": common_fixed["overall"]["value"],
        "commonality_pairs": {f"{p['nation_a']}-{p['nation_b']}": p for p in common["pairs"]},
        "run_time": {
            "centralized_wall_s": central["wall_s"],
            "centralized_cpu_s": central["cpu_s"],
            "distributed_wall_s": dist["wall_s"],
            "distributed_cpu_s": dist["cpu_s"],
            "distributed_node_seconds": dist["node_seconds"],
            "ratio_one_process_cpu": dist["cpu_s"] / central["cpu_s"],
            "ratio_slowest_node": max(dist["node_seconds"].values())
            / sum(central["node_seconds"].values()),
        },
    }
    figures["summary"] = summary
    for fusion in ("centralized", "distributed"):
        figures[fusion].pop("stats")
    out_file = ROOT / "bench/results/network.json"
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(figures, indent=2) + "\n")
    rt = summary["run_time"]
    lines = [
        f"{loaded.scenario.name}, {loaded.scenario.duration_s:.0f} s",
        f"centralized: {rt['centralized_wall_s']:.1f} s wall, {rt['centralized_cpu_s']:.1f} s CPU;"
        f" completeness {summary['completeness_centralized']:.4f}"
        f" ({summary['completeness_centralized_transponder_eligibility']:.4f} with ADS-B seeing"
        f" transponders only), mean GOSPA {gospa_central:,.0f} m",
        f"distributed: {rt['distributed_wall_s']:.1f} s wall, {rt['distributed_cpu_s']:.1f} s CPU;"
        " per node "
        + ", ".join(f"{n} {t:.1f} s" for n, t in rt["distributed_node_seconds"].items()),
        f"  run time ratio, one process (CPU): {rt['ratio_one_process_cpu']:.2f}  (target ≤ 1.30)",
        f"  run time ratio, slowest node:      {rt['ratio_slowest_node']:.2f}  (target ≤ 1.30)",
    ]
    for nation, n in nations.items():
        lines.append(
            f"  {nation}: completeness {n['completeness']:.4f}"
            f" ({n['completeness_transponder_eligibility']:.4f}; target ≥ 0.95), mean GOSPA"
            f" {n['gospa_mean_m']:,.0f} m = {n['gospa_ratio_to_centralized']:.3f} × centralized"
            " (target ≤ 1.5)"
        )
    lines.append(
        f"  commonality, all nations: {summary['commonality_all_nations']:.4f}"
        f" ({summary['commonality_all_nations_transponder_eligibility']:.4f}; target ≥ 0.95); "
        + ", ".join(f"{k} {p['value']:.4f}" for k, p in summary["commonality_pairs"].items())
    )
    print("\n".join(lines))
    print(f"wrote {out_file.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""Simulator speed: pacific-shield and dense-traffic, one core, each in a fresh process.

    .venv/bin/python bench/simulator.py [--counts 1000 10000]

Prints wall time, reports per second and peak memory per case and writes them to
bench/results/simulator.json. Targets (issue 2): pacific-shield ≤ 20 s,
dense-traffic with 1,000 aircraft ≤ 30 s, on one core.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "simulator.json"
LIMITS_S = {"pacific-shield": 20.0, "dense-traffic-1000": 30.0}


def one_case(scenario: str, count: int | None) -> dict[str, float | int | str]:
    """Run in the child: pinned to one core, simulate, measure."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from airpicture.scenario import ScenarioOverrides, load_scenario
    from airpicture.sim.simulate import simulate

    start = time.perf_counter()
    loaded = load_scenario(REPO / "scenarios" / f"{scenario}.yaml", ScenarioOverrides(count=count))
    sim = simulate(loaded)
    seconds = time.perf_counter() - start
    reports = len(sim.plots["time_s"])
    return {
        "scenario": scenario,
        "count": count if count is not None else sim.trajectories.count,
        "targets": sim.trajectories.count,
        "seconds": round(seconds, 3),
        "trajectory_seconds": round(sim.seconds["targets"], 3),
        "reports": reports,
        "reports_per_s": round(reports / seconds),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--counts", type=int, nargs="*", default=[1000, 10000], help="dense-traffic aircraft counts"
    )
    parser.add_argument("--child", nargs=2, metavar=("SCENARIO", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        scenario, count = args.child
        print(json.dumps(one_case(scenario, None if count == "-" else int(count))))
        return
    from rich.console import Console
    from rich.table import Table

    cases = [("pacific-shield", "-")] + [("dense-traffic", str(c)) for c in args.counts]
    results = []
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    for scenario, count in cases:
        out = subprocess.run(
            [sys.executable, __file__, "--child", scenario, count],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        key = scenario if count == "-" else f"{scenario}-{count}"
        result["limit_s"] = LIMITS_S.get(key)
        results.append(result)
    table = Table(title="simulator, one core")
    for column in ("case", "targets", "reports", "seconds", "reports/s", "peak MiB", "limit s"):
        table.add_column(column, justify="left" if column == "case" else "right")
    for r in results:
        name = (
            r["scenario"] if r["scenario"] == "pacific-shield" else f"{r['scenario']} ×{r['count']}"
        )
        table.add_row(
            name,
            str(r["targets"]),
            str(r["reports"]),
            f"{r['seconds']:.2f}",
            f"{r['reports_per_s']:,}",
            f"{r['peak_rss_mib']:.0f}",
            "" if r["limit_s"] is None else f"{r['limit_s']:.0f}",
        )
    Console().print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"cases": results, "cpu_count_used": 1}, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()

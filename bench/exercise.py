"""Exercise benchmark: pacific-shield as a live exercise (NATS, a node process per nation).

    .venv/bin/python bench/exercise.py                       # 1800 s at 10x, then a kill run
    .venv/bin/python bench/exercise.py --duration-s 600 --no-kill

1. The deterministic reference: `airpicture run SCENARIO` (same seed and duration).
2. The live exercise: `airpicture exercise SCENARIO --speed X`, then `airpicture
   evaluate` on its folder.
3. Unless --no-kill: a second, shorter exercise in which one node is killed with
   SIGKILL at --kill-at-s; the supervisor restarts it.

Prints and writes bench/results/exercise.json:

* per-nation completeness and commonality, live vs deterministic (target: within 0.02);
* fuse lag per node — wall seconds from a picture time T on the exercise clock to the
  node's picture of T fused — p50 / p99. A report published at its time t ≤ T has its
  effect in every partner's picture of T, so publication → partner picture latency is
  at most this plus the feed tick (1 exercise second);
* node CPU seconds per exercise second (each node process's own CPU, web server included);
* restart-to-picture: wall seconds from the SIGKILL to the restarted node's first
  picture, and the messages it took from its queue after the restart.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def airpicture(*args: str, log: Path | None = None) -> None:
    with open(log or os.devnull, "ab") as out:
        subprocess.run(
            [PYTHON, "-m", "airpicture", *args], check=True, stdout=out, stderr=subprocess.STDOUT
        )


def quality(metrics: dict[str, Any]) -> dict[str, Any]:
    return {
        "completeness": {n: v["siap"]["completeness"] for n, v in metrics["viewers"].items()},
        "commonality": metrics["commonality"]["overall"]["value"],
    }


def exercise(
    scenario: Path, out: Path, speed: float, duration_s: float, kill: tuple[str, float] | None
) -> dict[str, Any]:
    """Run the exercise (in a subprocess); kill `kill = (nation, at exercise s)` once."""
    log = out.with_suffix(".log")
    command = [PYTHON, "-m", "airpicture", "exercise", str(scenario), "--out", str(out)]
    command += ["--speed", str(speed), "--duration-s", str(duration_s)]
    started = time.time()
    with open(log, "wb") as f:
        process = subprocess.Popen(command, stdout=f, stderr=subprocess.STDOUT)
    killed: dict[str, Any] = {}
    try:
        while process.poll() is None:
            time.sleep(0.2)
            if kill is None or killed or not (out / "exercise.json").exists():
                continue
            info = json.loads((out / "exercise.json").read_text())
            now_s = (time.time() - info["epoch_unix_s"]) * info["speed"]
            if now_s < kill[1]:
                continue
            # A restart is measured with the supervisor's warm spare ready (on a loaded
            # machine its imports can outlast an early kill time).
            spare_log = out / "logs" / "spare.log"
            if not spare_log.exists() or "spare ready" not in spare_log.read_text():
                continue
            pid = next(p["pid"] for p in info["processes"] if p.get("nation") == kill[0])
            os.kill(pid, signal.SIGKILL)
            killed = {"nation": kill[0], "pid": pid, "at_s": now_s, "unix_s": time.time()}
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        process.wait()
    if process.returncode != 0:
        raise SystemExit(f"the exercise failed; see {log}")
    return {"wall_s": time.time() - started, "killed": killed}


def node_figures(network: dict[str, Any], speed: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for nation, node in network["nodes"].items():
        runs = node["incarnations"]
        cpu = sum(r["cpu_s"] for r in runs)
        covered = sum(r["exercise_s_covered"] for r in runs)
        out[nation] = {
            "cpu_s": cpu,
            "exercise_s": covered,
            "cpu_s_per_exercise_s": cpu / covered if covered else None,
            "fuse_lag_p50_s": runs[0]["fuse_lag_s"]["p50"],
            "fuse_lag_p99_s": runs[0]["fuse_lag_s"]["p99"],
            "cycles_behind": sum(r["cycles_behind"] for r in runs),
            "marker_timeouts": [r["marker_timeouts"] for r in runs],
            "restarts": node["restarts"],
            "bus": node["bus"],
        }
    del speed
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "pacific-shield.yaml")
    parser.add_argument("--speed", type=float, default=10.0)
    parser.add_argument("--duration-s", type=float, default=1800.0)
    parser.add_argument("--no-kill", action="store_true")
    parser.add_argument("--kill", default="JPN", help="the nation whose node is killed")
    parser.add_argument("--kill-at-s", type=float, default=120.0)
    parser.add_argument("--kill-duration-s", type=float, default=900.0)
    parser.add_argument("--work", type=Path, default=None, help="keep the runs' folders here")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the deterministic and live runs in --work"
    )
    parser.add_argument(
        "--kill-only", action="store_true", help="only the kill run (the restart figure)"
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-exercise-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "scenario": args.scenario.name,
        "speed": args.speed,
        "duration_s": args.duration_s,
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
    }

    if not args.kill_only:
        compare(args, work, results)
    if not args.no_kill:
        kill_run(args, work, results)
    results["load_average_at_end"] = os.getloadavg()
    name = "exercise-restart.json" if args.kill_only else "exercise.json"
    out = ROOT / "bench" / "results" / name
    out.write_text(json.dumps(results, indent=2, default=float) + "\n")
    print(f"wrote {out}; runs in {work}")


def compare(args: argparse.Namespace, work: Path, results: dict[str, Any]) -> None:
    """The deterministic run and the live exercise, compared."""
    reference = work / "deterministic"
    t0 = time.time()
    if not (args.reuse and (reference / "metrics.json").exists()):
        airpicture(
            "run", str(args.scenario), "--out", str(reference), "--no-report",
            "--duration-s", str(args.duration_s), log=work / "deterministic.log",
        )  # fmt: skip
        results["deterministic_wall_s"] = time.time() - t0
    want = quality(json.loads((reference / "metrics.json").read_text()))
    print(f"deterministic run: {want}", flush=True)

    live = work / "live"
    if not (args.reuse and (live / "metrics.json").exists()):
        results["live"] = exercise(args.scenario, live, args.speed, args.duration_s, None)
        airpicture("evaluate", str(live), "--no-report", log=work / "evaluate.log")
    else:
        results["live"] = {"reused": str(live)}
    got = quality(json.loads((live / "metrics.json").read_text()))
    network = json.loads((live / "network.json").read_text())
    results["quality"] = {
        "deterministic": want,
        "live": got,
        "completeness_difference": {
            n: got["completeness"][n] - want["completeness"][n] for n in want["completeness"]
        },
        "commonality_difference": got["commonality"] - want["commonality"],
    }
    results["nodes"] = node_figures(network, args.speed)
    print(f"live exercise: {got}")
    for nation, n in results["nodes"].items():
        d = results["quality"]["completeness_difference"][nation]
        print(
            f"  {nation}: completeness {got['completeness'][nation]:.4f} "
            f"(deterministic {want['completeness'][nation]:.4f}, difference {d:+.4f}; "
            f"target within 0.02); fuse lag p50 {n['fuse_lag_p50_s']:.3f} s, p99 "
            f"{n['fuse_lag_p99_s']:.3f} s wall; CPU {n['cpu_s_per_exercise_s']:.3f} s per "
            f"exercise s; cycles behind the clock {n['cycles_behind']}"
        )
    print(
        f"  commonality {got['commonality']:.4f} (deterministic {want['commonality']:.4f}, "
        f"difference {results['quality']['commonality_difference']:+.4f})",
        flush=True,
    )


def kill_run(args: argparse.Namespace, work: Path, results: dict[str, Any]) -> None:
    """An exercise in which one node is killed with SIGKILL: restart-to-picture."""
    killed_dir = work / "killed"
    run = exercise(
        args.scenario, killed_dir, args.speed, args.kill_duration_s, (args.kill, args.kill_at_s)
    )
    network = json.loads((killed_dir / "network.json").read_text())
    node = network["nodes"][args.kill]
    after = node["incarnations"][-1]
    first_picture = after.get("first_picture_unix_s")
    restart = {
        **run["killed"],
        "restart_to_picture_s": (
            first_picture - run["killed"]["unix_s"] if first_picture and run["killed"] else None
        ),
        "restarted_process_start_to_picture_s": (
            first_picture - after["started_unix_s"] if first_picture else None
        ),
        "bus_after_restart": node["bus"],
        "incarnations": node["incarnations"],
    }
    results["restart"] = restart
    back = restart["restart_to_picture_s"]
    print(
        f"killed {args.kill} at {run['killed'].get('at_s', float('nan')):.0f} s: picture "
        + (f"back {back:.1f} s (wall) after the kill" if back else "never back")
        + f" (target 10 s), {restart['restarted_process_start_to_picture_s']} s after its "
        f"process started; queued messages taken after the restart "
        f"{node['bus'].get('queued_before_start')}, redelivered "
        f"{node['bus'].get('redelivered_after_restart')}, deduplicated "
        f"{node['bus'].get('deduplicated_after_restart')}"
    )


if __name__ == "__main__":
    main()

"""What signing costs: per message, and as a share of each node's CPU, on pacific-shield.

    .venv/bin/python bench/signing.py                   # the full 1800 s
    .venv/bin/python bench/signing.py --duration-s 300

Runs the deterministic network (every message sealed by its sender and opened by
its receiver, `network/signing.py`, keys made for the run) and reads each node's
CPU seconds per phase: `signing` (sealing what it sends, opening what it gets:
frame, SHA-256, Ed25519) against the node's whole CPU (the sum of its phases).
Then times sealing and opening again on the run's own frames, per message and per
kilobyte. Target (issue 19): signing < 5 % of a node's CPU. Prints and writes
bench/results/signing.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from airpicture.network import KeepingBus, NetworkRun
from airpicture.network.bus import scenario_links
from airpicture.network.signing import read_frame
from airpicture.scenario import ScenarioOverrides, load_scenario
from airpicture.sim.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]


def per_message(run: NetworkRun, frames: list[tuple[str, str, bytes]]) -> dict[str, Any]:
    """Seal and open each frame of the run again: CPU µs per message, by size."""
    seal_us: list[float] = []
    open_us: list[float] = []
    sizes: list[int] = []
    for sender, receiver, payload in frames:
        frame = read_frame(payload)
        t0 = time.process_time()
        again = run.keys[sender].seal_body(
            receiver, frame.kind, frame.seq, frame.sent_s, frame.body
        )
        t1 = time.process_time()
        run.keys[receiver].open(again, sender)
        t2 = time.process_time()
        seal_us.append((t1 - t0) * 1e6)
        open_us.append((t2 - t1) * 1e6)
        sizes.append(len(frame.body))
    return {
        "messages": len(frames),
        "median_body_bytes": statistics.median(sizes) if sizes else 0,
        "max_body_bytes": max(sizes, default=0),
        "seal_us_mean": statistics.fmean(seal_us) if seal_us else 0.0,
        "open_us_mean": statistics.fmean(open_us) if open_us else 0.0,
        "seal_us_median": statistics.median(seal_us) if seal_us else 0.0,
        "open_us_median": statistics.median(open_us) if open_us else 0.0,
        "frame_overhead_bytes": (
            statistics.median(len(p) - len(read_frame(p).body) for _, _, p in frames)
            if frames
            else 0
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios/pacific-shield.yaml")
    parser.add_argument("--duration-s", type=float, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/signing.json")
    args = parser.parse_args()
    loaded = load_scenario(args.scenario, ScenarioOverrides(duration_s=args.duration_s))
    plots = simulate(loaded).plots
    bus = KeepingBus(scenario_links(loaded.scenario), loaded.scenario.seed)
    run = NetworkRun(loaded, plots, bus=bus)
    cpu0 = time.process_time()
    run.advance(float("inf"))
    cpu = time.process_time() - cpu0
    nodes: dict[str, Any] = {}
    for nation, node in run.nodes.items():
        total = sum(node.seconds.values())
        sent = sum(1 for s, _, _ in bus.published if s == nation)
        got = sum(
            node.counts.received[k] for k in ("track_batches", "plot_batches", "warning_batches")
        )
        nodes[nation] = {
            "node_cpu_s": total,
            "signing_cpu_s": node.seconds["signing"],
            "signing_share": node.seconds["signing"] / total if total else 0.0,
            "messages_sent": sent,
            "messages_taken": got,
            "refused": dict(node.counts.rejected),
        }
    result = {
        "scenario": loaded.scenario.name,
        "duration_s": loaded.scenario.duration_s,
        "run_cpu_s": cpu,
        "nodes": nodes,
        "per_message": per_message(run, bus.published),
        "target_share": 0.05,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{result['scenario']} {result['duration_s']:.0f} s, whole run {cpu:.1f} CPU s")
    for nation, n in nodes.items():
        print(
            f"  {nation}: signing {n['signing_cpu_s']:.2f} of {n['node_cpu_s']:.1f} CPU s "
            f"= {100 * n['signing_share']:.2f} % (target < 5 %); sent {n['messages_sent']}, "
            f"took {n['messages_taken']}, refused {sum(n['refused'].values())}"
        )
    m = result["per_message"]
    print(
        f"  per message ({m['messages']}, body median {m['median_body_bytes']:.0f} B, max "
        f"{m['max_body_bytes']} B): seal {m['seal_us_mean']:.0f} µs, "
        f"open {m['open_us_mean']:.0f} µs "
        f"(medians {m['seal_us_median']:.0f} / {m['open_us_median']:.0f}); frame adds "
        f"{m['frame_overhead_bytes']:.0f} B"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""A live node fed ASTERIX by `airpicture feed` against the same reports from Parquet.

    .venv/bin/python bench/node_asterix.py                    # uk-opensky, 1200 s at 10x
    .venv/bin/python bench/node_asterix.py --duration-s 300 --speed 20

1. Parquet: `airpicture run SCENARIO --fusion distributed` (the deterministic network
   run, one node per nation as the live node is) → plots.parquet, picture, metrics.
2. Live: a nats-server, `airpicture node CONFIG.yaml` for the scenario's one nation
   with `asterix: {listen: [udp://127.0.0.1:PORT]}` and CAT062 + CoT outputs, and
   `airpicture feed SCENARIO --plots parquet/plots.parquet --asterix udp://…`. The
   node's clock starts (its `epoch_file`) when the feed says it starts sending.
3. `airpicture evaluate` on the live picture with the Parquet run's truth.

Prints and writes bench/results/node_asterix.json: completeness and SIAP position
accuracy of both, their differences (the issue's targets: completeness within
0.01, position within 10 %), the node's ASTERIX counts, CPU seconds of the node
and of the feed, fuse lag.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def airpicture(*args: str, log: Path) -> None:
    with open(log, "ab") as out:
        subprocess.run(
            [PYTHON, "-m", "airpicture", *args], check=True, stdout=out, stderr=subprocess.STDOUT
        )


def quality(metrics: dict[str, Any]) -> dict[str, Any]:
    return {
        n: {
            "completeness": v["siap"]["completeness"],
            "position_accuracy_m": v["siap"]["position_accuracy_m"],
            "spuriousness": v["siap"]["spuriousness"],
        }
        for n, v in metrics["viewers"].items()
    }


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "uk-opensky.yaml")
    parser.add_argument("--duration-s", type=float, default=None)
    parser.add_argument("--speed", type=float, default=10.0)
    parser.add_argument("--work", type=Path, default=Path("/tmp/airpicture-node-asterix"))
    parser.add_argument("--reuse", action="store_true", help="keep the Parquet run if there")
    args = parser.parse_args()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    scenario = args.scenario.resolve()
    overrides = ["--duration-s", str(args.duration_s)] if args.duration_s else []
    parquet = work / "parquet"
    if not (args.reuse and (parquet / "metrics.json").exists()):
        shutil.rmtree(parquet, ignore_errors=True)
        airpicture(
            "run", str(scenario), "--fusion", "distributed", "--out", str(parquet),
            "--no-report", *overrides, log=work / "parquet.log",
        )  # fmt: skip
    info = json.loads((parquet / "run.json").read_text())
    from airpicture.deploy import nats_server_bin
    from airpicture.scenario import load_scenario

    loaded = load_scenario(scenario)
    nations = list(loaded.scenario.nations)
    if len(nations) != 1:
        raise SystemExit("this bench runs one node: give a one-nation scenario")
    nation = nations[0]
    duration_s = float(args.duration_s or loaded.scenario.duration_s)

    live = work / "live"
    shutil.rmtree(live, ignore_errors=True)
    live.mkdir()
    nats_port, asterix_port = free_port(), free_port(socket.SOCK_DGRAM)
    server = subprocess.Popen(
        [str(nats_server_bin()), "-js", "-a", "127.0.0.1", "-p", str(nats_port),
         "-sd", str(live / "jetstream")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    config = live / "node.yaml"
    config.write_text(
        json.dumps(
            {
                "scenario": str(scenario),
                **({"overrides": {"duration_s": args.duration_s}} if args.duration_s else {}),
                "nation": nation,
                "nats": {"servers": [f"nats://127.0.0.1:{nats_port}"]},
                "clock": {"epoch_file": "epoch", "speed": args.speed},
                "web": None,
                "out": ".",
                "asterix": {"listen": [f"udp://127.0.0.1:{asterix_port}"]},
                "outputs": {
                    "cat062": [f"udp://127.0.0.1:{free_port(socket.SOCK_DGRAM)}"],
                    "cot": [{"url": f"udp://127.0.0.1:{free_port(socket.SOCK_DGRAM)}"}],
                },
            },
            indent=2,
        )
    )
    node_dir = live / "nodes" / nation
    cpu0 = children_cpu_s()
    started = time.time()
    with open(live / "node.log", "wb") as node_log, open(live / "feed.log", "wb") as feed_log:
        node = subprocess.Popen(
            [PYTHON, "-m", "airpicture", "node", str(config)],
            stdout=node_log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            while not (node_dir / "ready.json").exists():
                if node.poll() is not None:
                    raise SystemExit(f"the node stopped; see {live / 'node.log'}")
                time.sleep(0.1)
            feed = subprocess.Popen(
                [PYTHON, "-m", "airpicture", "feed", str(scenario), "--plots",
                 str(parquet / "plots.parquet"), "--asterix", f"udp://127.0.0.1:{asterix_port}",
                 "--speed", str(args.speed), *overrides],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            )  # fmt: skip
            assert feed.stdout is not None
            for line in feed.stdout:
                feed_log.write(line)
                if line.startswith(b"feeding"):
                    (live / "epoch").write_text(f"{time.time():.6f}\n")
                    break
            for line in feed.stdout:
                feed_log.write(line)
            feed.wait()
            node.wait(timeout=max(60.0, 2 * duration_s / args.speed))
        finally:
            for p in (node, server):
                if p.poll() is None:
                    p.terminate()
                    p.wait(20)
    wall_s = time.time() - started
    cpu_s = children_cpu_s() - cpu0

    from airpicture.network.service import read_node_outputs
    from airpicture.tables import PICTURE_SCHEMA, write_table

    outputs = read_node_outputs(live, [nation])
    run_dir = work / "live-run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir()
    for name in ("run.json", "truth.parquet", "plots.parquet"):
        shutil.copy(parquet / name, run_dir / name)
    write_table(run_dir / "picture.parquet", outputs.picture, PICTURE_SCHEMA)
    airpicture("evaluate", str(run_dir), "--no-report", log=work / "evaluate.log")
    want = quality(json.loads((parquet / "metrics.json").read_text()))
    got = quality(json.loads((run_dir / "metrics.json").read_text()))
    stats = outputs.stats[nation][-1]
    results = {
        "scenario": info.get("scenario", scenario.name),
        "duration_s": duration_s,
        "speed": args.speed,
        "parquet": want,
        "asterix_live": got,
        "completeness_difference": {
            n: got[n]["completeness"] - want[n]["completeness"] for n in want
        },
        "position_accuracy_ratio": {
            n: got[n]["position_accuracy_m"] / want[n]["position_accuracy_m"] for n in want
        },
        "node_asterix": stats.get("asterix"),
        "node_outputs": stats.get("outputs"),
        "node_service": {
            k: stats["service"][k]
            for k in ("cycles", "cycles_behind", "marker_timeouts", "fuse_lag_s", "cpu_s")
        },
        "feed_node_and_server_cpu_s": cpu_s,
        "wall_s": wall_s,
    }
    print(json.dumps(results, indent=2))
    out = ROOT / "bench" / "results" / "node_asterix.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

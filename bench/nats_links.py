"""NATS link benchmark: acknowledged JetStream publishes from one nation to another.

    .venv/bin/python bench/nats_links.py                   # 2000 messages of 2 kB, both forms
    .venv/bin/python bench/nats_links.py --count 500 --size 20000

Writes a pacific-shield deployment (`airpicture.deploy`) in a temporary folder,
once on one server and once with one server per nation joined by leaf nodes,
and publishes `--count` messages USA → JPN (`ap.link.JPN.USA.tracks`), one at
a time, each waiting for its PubAck (what a node does). Prints and writes
bench/results/nats_links.json: latency of each publish to its PubAck (p50,
p99), the client's CPU seconds, and the servers' CPU seconds over their whole
life (start, the run, stop). One warm-up message is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import nats
from nats.js.api import StreamConfig

from airpicture.deploy import (
    Deployment,
    connect_options,
    init_exercise,
    link_stream,
    message_id,
    start_servers,
)

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "pacific-shield.yaml"


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def _publish(deployment: Deployment, count: int, size: int) -> dict[str, float]:
    jpn = await nats.connect(**connect_options(deployment, "JPN", "node"))
    await jpn.jetstream().add_stream(
        StreamConfig(name=link_stream("JPN"), subjects=["ap.link.JPN.>"])
    )
    await jpn.close()
    usa = await nats.connect(**connect_options(deployment, "USA", "node"))
    js = usa.jetstream()
    payload = b"x" * size
    await js.publish("ap.link.JPN.USA.tracks", payload)  # warm-up
    latencies: list[float] = []
    cpu0 = time.process_time()
    for seq in range(count):
        headers = {"Nats-Msg-Id": message_id("USA", "JPN", "tracks", seq)}
        t0 = time.perf_counter()
        await js.publish("ap.link.JPN.USA.tracks", payload, headers=headers)
        latencies.append(time.perf_counter() - t0)
    client_cpu_s = time.process_time() - cpu0
    await usa.close()
    latencies.sort()
    return {
        "p50_ms": 1e3 * latencies[len(latencies) // 2],
        "p99_ms": 1e3 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "client_cpu_s": client_cpu_s,
    }


def run(count: int, size: int) -> dict[str, Any]:
    results: dict[str, Any] = {"count": count, "size_bytes": size}
    for form, multi in (("one_server", False), ("server_per_nation", True)):
        with tempfile.TemporaryDirectory() as tmp:
            deployment = init_exercise(SCENARIO, Path(tmp) / "ex", servers_per_nation=multi)
            before = _children_cpu_s()
            with start_servers(deployment):
                figures = asyncio.run(_publish(deployment, count, size))
            figures["servers_cpu_s"] = _children_cpu_s() - before
        results[form] = figures
        print(
            f"{form}: {count} × {size} B USA→JPN, PubAck p50 {figures['p50_ms']:.2f} ms, "
            f"p99 {figures['p99_ms']:.2f} ms; client {figures['client_cpu_s']:.2f} CPU s, "
            f"servers {figures['servers_cpu_s']:.2f} CPU s"
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--size", type=int, default=2000, help="payload bytes")
    args = parser.parse_args()
    results = run(args.count, args.size)
    out = REPO / "bench" / "results" / "nats_links.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()

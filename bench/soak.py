"""Soak: one node fed continuously for a day of exercise time; is its memory and CPU flat?

    .venv/bin/python bench/soak.py                                   # 24 h, 2,000 aircraft
    .venv/bin/python bench/soak.py --hours 1 --aircraft 200 --loop-s 600   # a quick look

Issue 15, "Days, not minutes". Builds a one-nation scenario (JPN, `--sensors`
radars spread over central Japan, `--aircraft` aircraft), simulates
`--loop-s` of it once, and feeds those reports over and over (loop k shifted
by k × loop_s: every loop the aircraft start again where they started, so the
node sees tracks end and new ones start, as a real day has) to a real
`airpicture node` process (its own nats-server, recording on), for `--hours`
of exercise time, as fast as the node takes them: the node's clock runs far
ahead, so it takes its cycles back to back, and the feed stays `--lead-s`
ahead of the node's latest picture. Every `--sample-s` exercise
seconds it samples the node process's resident memory (VmRSS) and CPU seconds
(utime + stime, /proc), and at the end the node's own counts (cycles, cycles
behind the clock, fuse lag).

Prints and writes bench/results/soak.json:

* RSS at hour 2 (or at 1/12 of the run for a short one) and at the end, and the
  growth between them (the issue's target: < 5 %);
* CPU seconds per exercise second in the first and in the last tenth of the
  run after that point (flat: their ratio near 1);
* whether the node kept up (cycles behind the clock, fuse lag p50/p99).

The compression (exercise seconds per wall second) is printed: it is what the
machine allowed, not a setting.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nats
import numpy as np
import yaml

from airpicture.deploy import nats_server_bin
from airpicture.network.exercise import feed_schedule
from airpicture.network.jetstream import FEED_TICK_TOKEN, HEADER_FEED_TICK, sensor_subject
from airpicture.network.messages import encode, plot_batch_from_table
from airpicture.scenario import load_scenario
from airpicture.sim.simulate import simulate
from airpicture.web.auth import make_account, save_users

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def soak_scenario(aircraft: int, sensors: int, loop_s: float, seed: int) -> dict[str, Any]:
    """One nation, `sensors` radars on a ring over central Japan, `aircraft` aircraft."""
    rng = np.random.default_rng(seed)
    radars = []
    for i in range(sensors):
        angle = 2 * np.pi * i / max(sensors, 1)
        radars.append(
            {
                "id": f"JPN-R{i:02d}",
                "nation": "JPN",
                "type": "radar",
                "lat_deg": round(36.0 + 1.5 * float(np.sin(angle)), 3),
                "lon_deg": round(138.0 + 2.0 * float(np.cos(angle)), 3),
                "alt_m": 100,
                "scan_period_s": float(rng.choice([5.0, 10.0])),
                "max_range_m": 250_000,
                "sigma_range_m": 50,
                "sigma_az_deg": 0.1,
                "sigma_el_deg": 0.1,
                "pd": 0.9,
                "false_alarms_per_scan": 10,
            }
        )
    return {
        "name": "soak",
        "epoch": "2026-01-01T00:00:00Z",
        "duration_s": loop_s,
        "seed": seed,
        "picture_interval_s": 10,
        "fusion": "distributed",
        "nations": {"JPN": {"release": {"tracks": [], "plots": []}}},
        "sensors": radars,
        "targets": [
            {
                "generate": "aircraft",
                "count": aircraft,
                "identity": "neutral",
                "transponder_fraction": 0.0,
                "lat_deg": [34.0, 38.0],
                "lon_deg": [135.5, 140.5],
                "alt_m": [2000, 12000],
                "speed_mps": [120, 260],
            }
        ],
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def proc_sample(pid: int) -> tuple[float, float]:
    """(RSS in MiB, CPU seconds) of a process, from /proc."""
    rss_kib = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss_kib = float(line.split()[1])
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return rss_kib / 1024.0, cpu


def node_progress_s(stats_dir: Path, interval_s: float) -> float:
    """The exercise time of the node's latest picture (its stats file, rewritten each cycle)."""
    found = sorted(stats_dir.glob("stats-*.json"))
    if not found:
        return 0.0
    try:
        service = json.loads(found[-1].read_text())["service"]
    except (OSError, ValueError, KeyError):
        return -1.0  # being replaced: ask again
    if not service.get("cycles"):
        return 0.0
    return float((service["first_cycle"] + service["cycles"]) * interval_s)


async def feed_loops(
    url: str,
    schedule: list[tuple[float, list[tuple[str, str, dict[str, Any]]]]],
    loop_s: float,
    end_s: float,
    lead_s: float,
    stats_dir: Path,
    interval_s: float,
    pid: int,
    sample_s: float,
    samples: list[dict[str, float]],
) -> dict[str, int]:
    """Publish the schedule loop after loop, never more than `lead_s` of exercise time ahead
    of the node's latest picture (so the node, on a clock far ahead, takes its cycles back to
    back: time as compressed as the machine allows); sample the node as it goes."""
    nc = await nats.connect(servers=[url])
    js = nc.jetstream()
    seq = 0
    counts = {"batches": 0, "reports": 0}
    next_sample = 0.0
    node_s = 0.0

    def sample() -> None:
        nonlocal next_sample
        while node_s >= next_sample:
            with contextlib.suppress(OSError):
                rss, cpu = proc_sample(pid)
                samples.append(
                    {"exercise_s": node_s, "rss_mib": rss, "cpu_s": cpu, "wall_s": time.time()}
                )
                if len(samples) % 10 == 1:
                    print(
                        f"  {node_s / 3600:6.2f} h  RSS {rss:7.1f} MiB  CPU {cpu:8.1f} s",
                        flush=True,
                    )
            next_sample += sample_s

    loop = 0
    try:
        while loop * loop_s < end_s:
            offset = loop * loop_s
            for t, batches in schedule:
                if loop > 0 and t == 0.0:
                    continue  # the previous loop's last tick
                now_tick = offset + t
                if now_tick > end_s + 2 * interval_s:
                    break
                while True:
                    progress = node_progress_s(stats_dir, interval_s)
                    node_s = max(node_s, progress)
                    sample()
                    if now_tick <= node_s + lead_s:
                        break
                    await asyncio.sleep(0.05)
                for _, sid, rows in batches:
                    seq += 1
                    shifted = dict(rows)
                    shifted["time_s"] = np.asarray(rows["time_s"], dtype=np.float64) + offset
                    batch = plot_batch_from_table(
                        shifted, sender="JPN", seq=seq, sent_s=now_tick, releasable_to={}
                    )
                    await js.publish(
                        sensor_subject("JPN", sid),
                        encode(batch),
                        timeout=10.0,
                        headers={"Nats-Msg-Id": f"{sid}.{seq}"},
                    )
                    counts["batches"] += 1
                    counts["reports"] += len(rows["time_s"])
                await js.publish(
                    sensor_subject("JPN", FEED_TICK_TOKEN),
                    b"",
                    timeout=10.0,
                    headers={HEADER_FEED_TICK: repr(float(now_tick)), "Nats-Msg-Id": f"t{seq}"},
                )
            loop += 1
        while node_s < end_s - interval_s:
            node_s = max(node_s, node_progress_s(stats_dir, interval_s))
            sample()
            await asyncio.sleep(0.2)
    finally:
        await nc.close()
    return counts


async def web_client(
    address_file: Path, password: str, stop: asyncio.Event, counts: dict[str, int]
) -> None:
    """Sign in to the node's page and stay connected, reading every message, until `stop`
    (reconnecting if the server drops the connection)."""
    import httpx
    import websockets

    from airpicture.web.app import COOKIE

    address = json.loads(address_file.read_text())["web"]
    async with httpx.AsyncClient(base_url=address) as http:
        for attempt in range(600):  # the page may still be starting
            try:
                r = await http.post("/api/login", json={"user": "jpn", "password": password})
                break
            except httpx.ConnectError:
                if attempt == 599 or stop.is_set():
                    raise
                await asyncio.sleep(0.1)
        r.raise_for_status()
        cookie = r.cookies[COOKIE]
    url = address.replace("http://", "ws://") + "/ws"
    while not stop.is_set():
        try:
            async with websockets.connect(
                url, additional_headers={"cookie": f"{COOKIE}={cookie}"}, max_size=None
            ) as ws:
                counts["connections"] += 1
                while not stop.is_set():
                    try:
                        message = await asyncio.wait_for(ws.recv(), 0.5)
                    except TimeoutError:
                        continue
                    counts["messages"] += 1
                    counts["bytes"] += len(message)
        except (OSError, websockets.ConnectionClosed):
            await asyncio.sleep(0.5)


def figures(samples: list[dict[str, float]], end_s: float, loop_s: float) -> dict[str, Any]:
    """RSS growth from hour 2 (in a shorter run: 1/12 of it, but not before the first loop
    has ended, when the track population is steady) to the end; CPU per exercise second
    early and late."""
    t = np.array([s["exercise_s"] for s in samples])
    rss = np.array([s["rss_mib"] for s in samples])
    cpu = np.array([s["cpu_s"] for s in samples])
    ref_s = min(7200.0, max(end_s / 12.0, loop_s))
    i_ref = int(np.searchsorted(t, ref_s))
    i_ref = min(i_ref, len(t) - 1)
    tail = max(1, (len(t) - i_ref) // 10)

    def rate(a: int, b: int) -> float | None:
        if b <= a or t[b] <= t[a]:
            return None
        return float((cpu[b] - cpu[a]) / (t[b] - t[a]))

    early = rate(i_ref, min(i_ref + tail, len(t) - 1))
    late = rate(max(i_ref, len(t) - 1 - tail), len(t) - 1)
    return {
        "reference_s": float(t[i_ref]),
        "rss_at_reference_mib": float(rss[i_ref]),
        "rss_at_end_mib": float(rss[-1]),
        "rss_max_mib": float(rss.max()),
        "rss_growth_pct": float(100.0 * (rss[-1] - rss[i_ref]) / rss[i_ref]),
        "cpu_s_per_exercise_s_early": early,
        "cpu_s_per_exercise_s_late": late,
        "cpu_late_over_early": (late / early) if early and late else None,
        "cpu_s_total": float(cpu[-1]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=24.0, help="exercise hours (default 24)")
    parser.add_argument("--aircraft", type=int, default=2000)
    parser.add_argument("--sensors", type=int, default=10)
    parser.add_argument("--loop-s", type=float, default=1800.0, help="simulated, then looped")
    parser.add_argument(
        "--lead-s", type=float, default=30.0, help="the feed's lead over the node, exercise s"
    )
    parser.add_argument("--sample-s", type=float, default=60.0, help="exercise s per sample")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="keep the node's folder here")
    parser.add_argument(
        "--web-keep-s",
        type=float,
        default=None,
        help="the page's window of pictures, exercise s (default: the node's, 7,200)",
    )
    parser.add_argument(
        "--web", action="store_true", help="the node serves its page; a client stays connected"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "soak.json")
    args = parser.parse_args()
    end_s = args.hours * 3600.0
    work = args.keep or Path(tempfile.mkdtemp(prefix="airpicture-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    for stale in ("out", "nats"):  # a kept folder's earlier run
        shutil.rmtree(work / stale, ignore_errors=True)
    scenario_file = work / "soak.yaml"
    scenario_file.write_text(
        yaml.safe_dump(soak_scenario(args.aircraft, args.sensors, args.loop_s, args.seed))
    )
    t0 = time.process_time()
    loaded = load_scenario(scenario_file)
    sim = simulate(loaded)
    owner = {s.id: s.nation for s in loaded.scenario.sensors}
    schedule = feed_schedule(sim.plots, owner, 1.0, args.loop_s)
    print(
        f"soak: {args.aircraft} aircraft, {args.sensors} radars, "
        f"{len(sim.plots['time_s']):,} reports per {args.loop_s:.0f} s loop "
        f"(simulated in {time.process_time() - t0:.1f} CPU s); {args.hours:g} h",
        flush=True,
    )
    # The node's scenario runs long enough for the whole soak; its reports are the loops'.
    node_scenario = work / "soak-node.yaml"
    data = yaml.safe_load(scenario_file.read_text())
    data["duration_s"] = end_s + 60.0
    data["targets"] = []
    node_scenario.write_text(yaml.safe_dump(data))
    port = free_port()
    store = work / "nats"
    store.mkdir(exist_ok=True)
    server = subprocess.Popen(
        [str(nats_server_bin()), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store)],
        stdout=(work / "nats.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"nats://127.0.0.1:{port}"
    node: subprocess.Popen[bytes] | None = None
    samples: list[dict[str, float]] = []
    started = time.time()
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            time.sleep(0.1)
        epoch_file = work / "epoch"
        users = work / "users.json"
        password = "soak-password-1234"
        save_users(users, {"jpn": make_account("jpn", "JPN", password)})
        config = work / "node.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "scenario": str(node_scenario),
                    "nation": "JPN",
                    "nats": {"servers": [url]},
                    # A clock far ahead: the node takes its cycles back to back, paced by
                    # the feed (which leads it by --lead-s).
                    "clock": {"epoch_file": str(epoch_file), "speed": 1000.0},
                    "web": {"host": "127.0.0.1", "port": 0, "users": str(users)}
                    | ({"keep_s": args.web_keep_s} if args.web_keep_s else {})
                    if args.web
                    else None,
                    "out": str(work / "out"),
                    "end_s": end_s,
                    "recording": {"max_age_s": 3600.0, "max_bytes": 2 * 2**30},
                }
            )
        )
        node = subprocess.Popen(
            [PYTHON, "-m", "airpicture", "node", str(config)],
            stdout=(work / "node.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        ready = work / "out" / "nodes" / "JPN" / "ready.json"
        while not ready.exists():
            if node.poll() is not None:
                raise SystemExit(f"the node exited; see {work / 'node.log'}")
            time.sleep(0.1)
        epoch = time.time() + 1.0
        epoch_file.write_text(f"{epoch!r}\n")
        del epoch
        web_counts = {"connections": 0, "messages": 0, "bytes": 0}

        async def feed_and_watch() -> dict[str, int]:
            stop = asyncio.Event()
            client = (
                asyncio.create_task(web_client(ready, password, stop, web_counts))
                if args.web
                else None
            )
            try:
                return await feed_loops(
                    url, schedule, args.loop_s, end_s, args.lead_s, ready.parent,
                    float(loaded.scenario.picture_interval_s), node.pid, args.sample_s, samples,
                )  # fmt: skip
            finally:
                stop.set()
                if client is not None:
                    await client

        counts = asyncio.run(feed_and_watch())
        node.wait()
    finally:
        if node is not None and node.poll() is None:
            node.terminate()
            node.wait(30)
        server.terminate()
        server.wait(30)
    stats_files = sorted((work / "out" / "nodes" / "JPN").glob("stats-*.json"))
    stats = json.loads(stats_files[-1].read_text()) if stats_files else {}
    service = stats.get("service", {})
    result = {
        "aircraft": args.aircraft,
        "sensors": args.sensors,
        "hours": args.hours,
        "lead_s": args.lead_s,
        "loop_s": args.loop_s,
        "wall_s": time.time() - started,
        "compression": end_s / max(time.time() - started, 1e-9),
        "feed": counts,
        "web_client": web_counts if args.web else None,
        "node": {
            "cycles": service.get("cycles"),
            "cycles_behind": service.get("cycles_behind"),
            "fuse_lag_s": service.get("fuse_lag_s"),
            "recording": stats.get("recording"),
            "cpu_s": service.get("cpu_s"),
        },
        "figures": figures(samples, end_s, args.loop_s) if len(samples) > 2 else None,
        "samples": samples,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    f = result["figures"] or {}
    print(
        f"RSS {f.get('rss_at_reference_mib', 0):.1f} MiB at {f.get('reference_s', 0) / 3600:.2f} h "
        f"→ {f.get('rss_at_end_mib', 0):.1f} MiB at {args.hours:g} h: "
        f"growth {f.get('rss_growth_pct', 0):+.2f} % (target < 5 %)"
    )
    print(
        f"CPU per exercise second: {f.get('cpu_s_per_exercise_s_early')} early, "
        f"{f.get('cpu_s_per_exercise_s_late')} late (ratio {f.get('cpu_late_over_early')})"
    )
    print(
        f"node: {service.get('cycles')} cycles, {service.get('cycles_behind')} behind the clock, "
        f"fuse lag {service.get('fuse_lag_s')}; wrote {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

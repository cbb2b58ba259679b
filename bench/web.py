"""The COP page under load: 10,000 tracks updating every second, in headless Chromium.

Serves a synthetic live picture (`airpicture.web.synthetic`, one nation, 10,000
tracks, a frame per second) on a free port, signs in with Playwright in
Debian's Chromium, and measures for each of three phases (the camera still:
the page renders when an update arrives; the camera turning, updates still
arriving: every display frame is rendered, at the reduced detail of a moving
camera in software WebGL; the same with this session's playback paused, so
no update arrives):

- frame rate: frames the page rendered per second (Cesium's postRender);
- update latency: from the server producing a frame (its wall clock) to the
  first render after the page applied it (same machine, same clock).

Also times the server's share per frame (delta + JSON encoding). Prints the
figures (with the machine's load average: the page shares its cores with
whatever else runs) and writes bench/results/web.json, and screenshots of
the page at rest, bench/results/web.png and web-zoom.png. Headless Chromium here renders
WebGL on the CPU (SwiftShader): a workstation GPU renders far faster, so the
frame rates are a floor.

    .venv/bin/python bench/web.py [--tracks 10000] [--seconds 30]
    .venv/bin/python bench/web.py --run out/ps [--speed 10]   # a run folder, replayed

With `--run`, the page replays a finished run (`airpicture run SCENARIO --out
DIR`) as its first nation instead of the synthetic picture.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from airpicture.web.app import ServerSettings, create_app
from airpicture.web.auth import Authenticator, make_account
from airpicture.web.deltas import picture_delta
from airpicture.web.protocol import encode
from airpicture.web.session import PlaybackSettings
from airpicture.web.sources import PictureSource, RunFolderSource
from airpicture.web.synthetic import SyntheticSource

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
RESULTS = Path(__file__).parent / "results" / "web.json"  # web-run.json with --run
PHASES = ("camera_still", "camera_turning", "camera_turning_paused")


def server_cost(n_tracks: int, repeats: int = 10) -> dict[str, float]:
    """Milliseconds per frame for the server's delta and encoding, and the frame's size."""
    source = SyntheticSource(n_tracks, nations=("USA",))
    known: dict[str, Any] = {}
    times, sizes = [], []
    for k in range(repeats + 1):
        rows = source.picture(float(k), "USA")
        t0 = time.perf_counter()
        delta = picture_delta(known, rows)
        data = encode(delta.frame(k, float(k), k == 0, 0.0))
        if k:
            times.append((time.perf_counter() - t0) * 1000)
            sizes.append(len(data))
        known = delta.known
    return {"delta_encode_ms": statistics.median(times), "frame_bytes": statistics.median(sizes)}


def measure(page: Any, seconds: float) -> dict[str, Any]:
    page.evaluate("window.__cop.stats.latencies = []; window.__cop.stats.timings = []")
    load_before = os.getloadavg()[0]
    fps: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(1.0)
        fps.append(page.evaluate("window.__cop.stats.fps"))
    lat = [x["ms"] for x in page.evaluate("window.__cop.stats.latencies")]
    work: dict[str, list[float]] = {}
    for kind, ms in page.evaluate("window.__cop.stats.timings"):
        work.setdefault(kind, []).append(ms)
    lat.sort()
    return {
        "fps_median": statistics.median(fps[2:] or fps),
        "fps_min": min(fps[2:] or fps),
        "updates_shown": len(lat),
        "latency_ms_p50": lat[len(lat) // 2] if lat else float("nan"),
        "latency_ms_p95": lat[int(len(lat) * 0.95)] if lat else float("nan"),
        "latency_ms_max": lat[-1] if lat else float("nan"),
        "tracks_shown": page.evaluate("window.__cop.stats.trackCount"),
        "load_average_1min": [load_before, os.getloadavg()[0]],
        # The page's main thread, per kind of work: median milliseconds and how often.
        "main_thread_ms": {
            kind: {"median": statistics.median(v), "max": max(v), "count": len(v)}
            for kind, v in work.items()
        },
    }


def cpu_profile(page: Any, seconds: float, top: int = 30) -> list[dict[str, Any]]:
    """The page's main thread for `seconds` (V8 sampling profiler): self time per function."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 500})
    cdp.send("Profiler.start")
    time.sleep(seconds)
    profile = cdp.send("Profiler.stop")["profile"]
    cdp.detach()
    deltas = profile["timeDeltas"]
    span_ms = sum(deltas) / 1000.0
    self_ms: dict[str, float] = {}
    by_node = {n["id"]: n for n in profile["nodes"]}
    for node_id, dt in zip(profile["samples"], deltas, strict=True):
        frame = by_node[node_id]["callFrame"]
        where = frame["url"].rsplit("/", 1)[-1]
        name = f"{frame['functionName'] or '(anonymous)'} {where}:{frame['lineNumber'] + 1}"
        self_ms[name] = self_ms.get(name, 0.0) + dt / 1000.0
    ranked = sorted(self_ms.items(), key=lambda kv: -kv[1])[:top]
    return [{"function": k, "self_ms_per_s": v / span_ms * 1000.0} for k, v in ranked]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--profile", action="store_true", help="print where the page's main thread spends time"
    )
    parser.add_argument("--run", type=Path, help="replay this run folder instead")
    parser.add_argument("--speed", type=float, default=1.0, help="replay speed (with --run)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    results_path = RESULTS.with_stem("web-run") if args.run else RESULTS
    screenshot = results_path.with_suffix(".png")
    source: PictureSource
    if args.run:
        source = RunFolderSource(args.run)
        viewer = source.info.picture_viewers[0]
        playback = PlaybackSettings(speed=args.speed)
    else:
        source = SyntheticSource(args.tracks, interval_s=1.0, duration_s=3600.0, nations=("USA",))
        viewer = "USA"
        playback = PlaybackSettings(trail_frames=0)
    password = "bench-password"
    user = viewer.lower()
    auth = Authenticator({user: make_account(user, viewer, password)}, frozenset({viewer}))
    app = create_app(source, auth, ServerSettings(playback=playback))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="websockets-sansio"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    results: dict[str, Any] = {
        "picture": f"{args.run} as {viewer}, speed {args.speed}" if args.run else "synthetic",
        "tracks": args.tracks,
        "update_interval_s": source.info.picture_interval_s / (args.speed if args.run else 1.0),
        "seconds_per_phase": args.seconds,
        "browser": "Debian Chromium, headless, --disable-gpu (SwiftShader WebGL on the CPU)",
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}",
    }
    if not args.run:
        results["server"] = server_cost(args.tracks)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/")
            page.fill("#signin-user", user)
            page.fill("#signin-password", password)
            page.click("#signin-submit")
            enough = 1 if args.run else args.tracks
            page.wait_for_function(
                f"window.__cop.ready && window.__cop.stats.trackCount >= {enough}",
                timeout=120_000,
            )
            time.sleep(3)
            if args.profile:
                for row in cpu_profile(page, args.seconds):
                    print(f"{row['self_ms_per_s']:7.1f} ms/s  {row['function']}")
            results["camera_still"] = measure(page, args.seconds)
            page.evaluate("window.__cop.spin(true)")
            results["camera_turning"] = measure(page, args.seconds)
            page.click("#tc-play")  # pause: no more updates for this session
            page.wait_for_function("document.getElementById('tc-state').textContent === 'PAUSED'")
            results["camera_turning_paused"] = measure(page, args.seconds)
            page.evaluate("window.__cop.spin(false)")
            # At rest (full resolution, trails and fine outlines again): from the start view,
            # and from 400 km over the middle of the picture.
            results_path.parent.mkdir(parents=True, exist_ok=True)
            page.evaluate("window.__cop.globe().home()")
            time.sleep(4)
            page.screenshot(path=str(screenshot), timeout=180_000)
            page.evaluate("window.__cop.globe().flyTo(33, 135, 4e5)")
            time.sleep(4)
            page.screenshot(
                path=str(screenshot.with_stem(screenshot.stem + "-zoom")), timeout=180_000
            )
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    results_path.write_text(json.dumps(results, indent=2) + "\n")
    if args.run:
        print(f"{results['picture']}: an update every {results['update_interval_s']:g} s")
    else:
        s = results["server"]
        print(
            f"{args.tracks:,} tracks, an update a second; server: delta+encode "
            f"{s['delta_encode_ms']:.1f} ms, {s['frame_bytes'] / 1e6:.2f} MB per update"
        )
    for phase in PHASES:
        r = results[phase]
        updates = (
            f"update latency p50 {r['latency_ms_p50']:.0f} ms, p95 "
            f"{r['latency_ms_p95']:.0f} ms, max {r['latency_ms_max']:.0f} ms over "
            f"{r['updates_shown']} updates"
            if r["updates_shown"]
            else "no updates"
        )
        load = "–".join(f"{x:.1f}" for x in r["load_average_1min"])
        print(
            f"{phase.replace('_', ' '):21s} frame rate {r['fps_median']:.1f} fps (min "
            f"{r['fps_min']:.1f}); {updates}; {r['tracks_shown']:,} tracks shown; "
            f"load average {load}"
        )
        work = ", ".join(
            f"{k} {v['median']:.0f} ms (max {v['max']:.0f}) ×{v['count']}"
            for k, v in r["main_thread_ms"].items()
        )
        print(f"{'':21s} page main thread (median): {work}")
    print(f"wrote {results_path}, {screenshot}")


if __name__ == "__main__":
    main()

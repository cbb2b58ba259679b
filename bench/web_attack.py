"""The COP page under attack: a genuine operator signs in and watches while others flood it.

A real uvicorn (its own process, a free port, the server as `airpicture serve`
configures it: Host check, sign-in limits, per-nation socket shares) serves a
synthetic live picture (`--tracks`, one frame a second) to USA, JPN and AUS.
The measuring process is JPN's operator on 127.0.0.1: it signs in once a second
(`sign-in latency`, wall time of `POST /api/login` with the right password) and
keeps a socket open (`update latency`: arrival − the server's `produced_ms`, one
machine, one clock); every 2 s it also opens a fresh socket and counts any refusal.

Two phases of `--seconds` each: **idle**, then **attack**, in which a third process
runs `--flooders` clients (each from its own loopback address, 127.0.1.k: the
per-address limit's worst case) posting wrong passwords for real and made-up
names as fast as the server answers, and `--aus` AUS operators (127.0.2.k, AUS's
right password) each keeping a session's socket open, reconnecting whenever
refused or closed. The operator starts measuring once every AUS session has
tried its socket (or 120 s passed); the attackers' process runs at nice 10 (a
real attack comes from machines of its own).

Prints, per phase, the sign-in and update latency (median, p95), JPN refusals,
what the attackers got (by HTTP status), AUS sockets held, the server's CPU
seconds, the load average (two cores shared with whatever else runs), and the
server's audit log events by kind (bench/results/web_attack-audit.jsonl), and
writes bench/results/web_attack.json.

    .venv/bin/python bench/web_attack.py [--seconds 30] [--flooders 40] [--aus 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import random
import socket
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import msgspec
import websockets

RESULTS = Path(__file__).parent / "results" / "web_attack.json"  # --out another
PASSWORDS = {"usa": "usa-bench-password", "jpn": "jpn-bench-password", "aus": "aus-bench-password"}
OPERATOR = "127.0.0.1"
AUS_ADDRESS = "127.0.2.1"


# ---------------------------------------------------------------------- the server


AUDIT_LOG = RESULTS.with_name("web_attack-audit.jsonl")


def serve(port_out: Any, tracks: int) -> None:
    """The server process: what `airpicture serve` builds, over a synthetic live picture."""
    import uvicorn

    from airpicture.web import audit

    for old in AUDIT_LOG.parent.glob(AUDIT_LOG.name + "*"):
        old.unlink()
    audit.configure(AUDIT_LOG, max_bytes=2**30)

    from airpicture.web.app import ServerSettings, create_app
    from airpicture.web.auth import Authenticator, make_account
    from airpicture.web.protocol import MAX_CLIENT_MESSAGE_BYTES
    from airpicture.web.synthetic import SyntheticSource

    accounts = {name: make_account(name, name.upper(), pw) for name, pw in PASSWORDS.items()}
    source = SyntheticSource(tracks, interval_s=1.0, duration_s=3600.0, mode="live")
    auth = Authenticator(accounts, frozenset({"USA", "JPN", "AUS"}))
    settings = ServerSettings(allowed_hosts=frozenset({"127.0.0.1", "localhost"}))
    app = create_app(source, auth, settings)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port_out.put(sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        log_level="error",
        ws="websockets-sansio",
        ws_max_size=MAX_CLIENT_MESSAGE_BYTES * 4,
        proxy_headers=False,
        backlog=2048,
    )
    uvicorn.Server(config).run(sockets=[sock])


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------- the attackers


async def flood(port: int, k: int, stop: Any, statuses: Counter[int]) -> None:
    """One client from 127.0.1.k posting wrong passwords as fast as it is answered."""
    transport = httpx.AsyncHTTPTransport(local_address=f"127.0.1.{k}")
    names = [*PASSWORDS, "admin", "root", f"guess{k}"]
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", transport=transport, timeout=60.0
    ) as client:
        while not stop.is_set():
            body = {"user": random.choice(names), "password": f"wrong-{random.random()}"}
            try:
                r = await client.post("/api/login", json=body)
                statuses[r.status_code] += 1
            except httpx.HTTPError:
                statuses[0] += 1


async def aus_session(port: int, k: int, stop: Any, held: list[int], tally: Counter[str]) -> None:
    """AUS operator k (from 127.0.2.k): one session that keeps a socket open, reconnecting
    whenever refused or closed."""
    address = f"127.0.2.{k}"
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", transport=transport, timeout=60.0
    ) as client:
        while not stop.is_set():
            try:
                r = await client.post(
                    "/api/login", json={"user": "aus", "password": PASSWORDS["aus"]}
                )
            except httpx.HTTPError as exc:
                tally[f"sign_in_{type(exc).__name__}"] += 1
                await asyncio.sleep(0.5)
                continue
            tally[f"sign_in_{r.status_code}"] += 1
            if r.status_code != 200:
                await asyncio.sleep(0.5)
                continue
            cookie = f"airpicture_session={r.cookies['airpicture_session']}"
            while not stop.is_set():
                try:
                    async with websockets.connect(
                        f"ws://127.0.0.1:{port}/ws",
                        additional_headers={"cookie": cookie},
                        max_size=None,
                        local_addr=(address, 0),
                    ) as ws:
                        tally["socket_opened"] += 1
                        held[0] += 1
                        try:
                            while not stop.is_set():
                                await asyncio.wait_for(ws.recv(), timeout=5)
                        finally:
                            held[0] -= 1
                except websockets.InvalidStatus:
                    tally["socket_refused"] += 1
                    await asyncio.sleep(0.5)
                except (websockets.ConnectionClosed, TimeoutError, OSError):
                    tally["socket_closed"] += 1
                    break  # the session may have ended: sign in again


def attack(port: int, flooders: int, aus: int, ready: Any, done: Any, out: Any) -> None:
    """The attackers' process, at lower CPU priority: in a real attack they are on machines
    of their own. `ready` is set once the AUS sockets are all open (or after 120 s)."""
    os.nice(10)

    async def run() -> dict[str, Any]:
        stop = asyncio.Event()
        statuses: Counter[int] = Counter()
        tally: Counter[str] = Counter()
        held = [0]
        peak = [0]
        started = time.monotonic()
        at_ready: dict[str, Any] = {}

        async def watch() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], held[0])
                if not ready.is_set() and (held[0] >= aus or time.monotonic() - started > 120):
                    at_ready.update(
                        after_s=round(time.monotonic() - started, 1),
                        aus_sockets_held=held[0],
                        flood_requests=sum(statuses.values()),
                    )
                    ready.set()
                await asyncio.sleep(0.1)
            stop.set()

        await asyncio.gather(
            *(flood(port, k + 1, stop, statuses) for k in range(flooders)),
            *(aus_session(port, k + 1, stop, held, tally) for k in range(aus)),
            watch(),
        )
        return {
            "ready": at_ready,
            "flood_requests": sum(statuses.values()),
            "flood_statuses": {str(k): v for k, v in sorted(statuses.items())},
            "aus": dict(sorted(tally.items())),
            "aus_sockets_held_peak": peak[0],
        }

    out.put(asyncio.run(run()))


# ---------------------------------------------------------------------- the operator


async def operator(port: int, seconds: float) -> dict[str, Any]:
    """JPN's operator: sign-ins once a second, one socket's update latency, fresh sockets."""
    base = f"http://127.0.0.1:{port}"
    sign_in_ms: list[float] = []
    update_ms: list[float] = []
    refusals: Counter[str] = Counter()
    fresh_ok = 0
    stop_at = time.time() + seconds
    transport = httpx.AsyncHTTPTransport(local_address=OPERATOR)
    async with httpx.AsyncClient(base_url=base, transport=transport, timeout=60.0) as client:
        # Cookies are sent by hand: the jar keeps only the device cookie it is given.

        async def sign_in() -> str | None:
            t0 = time.perf_counter()
            r = await client.post("/api/login", json={"user": "jpn", "password": PASSWORDS["jpn"]})
            sign_in_ms.append((time.perf_counter() - t0) * 1000)
            if r.status_code != 200:
                refusals[f"sign_in_{r.status_code}"] += 1
                return None
            return str(r.cookies["airpicture_session"])

        token = await sign_in()
        assert token is not None, "the operator could not sign in"
        headers = {"cookie": f"airpicture_session={token}"}

        async def watch() -> None:
            async with websockets.connect(
                f"ws://127.0.0.1:{port}/ws", additional_headers=headers, max_size=None
            ) as ws:
                while time.time() < stop_at:
                    try:
                        data = await asyncio.wait_for(ws.recv(), timeout=2)
                    except TimeoutError:
                        continue
                    arrived_ms = time.time() * 1000
                    message = msgspec.json.decode(data)
                    if message["type"] == "frame" and not message["catchup"]:
                        update_ms.append(arrived_ms - message["produced_ms"])

        async def sign_ins() -> None:
            while time.time() < stop_at:
                measured = await sign_in()
                if measured is not None:  # one session is watched; the others end at once
                    await client.post(
                        "/api/logout", headers={"cookie": f"airpicture_session={measured}"}
                    )
                await asyncio.sleep(1.0)

        async def fresh_sockets() -> None:
            nonlocal fresh_ok
            while time.time() < stop_at:
                try:
                    async with websockets.connect(
                        f"ws://127.0.0.1:{port}/ws", additional_headers=headers, max_size=None
                    ) as ws:
                        hello = msgspec.json.decode(await asyncio.wait_for(ws.recv(), 10))
                        assert hello["type"] == "hello" and hello["viewer"] == "JPN"
                        fresh_ok += 1
                except websockets.InvalidStatus as exc:
                    refusals[f"socket_{exc.response.status_code}"] += 1
                except (OSError, TimeoutError, websockets.ConnectionClosed) as exc:
                    refusals[f"socket_{type(exc).__name__}"] += 1
                await asyncio.sleep(2.0)

        await asyncio.gather(watch(), sign_ins(), fresh_sockets())
    return {
        "sign_in_ms": _summary(sign_in_ms),
        "update_latency_ms": _summary(update_ms),
        "jpn_fresh_sockets_admitted": fresh_ok,
        "jpn_refusals": dict(refusals),
    }


def _summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {
        "n": len(values),
        "median": round(statistics.median(ordered), 1),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "max": round(ordered[-1], 1),
    }


def phase(
    name: str, port: int, server_pid: int, seconds: float, attackers: tuple[int, int] | None
) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    attacker = None
    out: Any = ctx.Queue()
    ready, done = ctx.Event(), ctx.Event()
    if attackers is not None:
        attacker = ctx.Process(target=attack, args=(port, *attackers, ready, done, out))
        attacker.start()
        # Measure once the flood is under way and the AUS sessions hold their sockets.
        ready.wait(timeout=180)
    cpu0, load0 = cpu_s(server_pid), os.getloadavg()[0]
    result = {"phase": name, **asyncio.run(operator(port, seconds))}
    if attacker is not None:
        done.set()
        result["attack"] = out.get(timeout=180)
        attacker.join(timeout=30)
    result["server_cpu_s"] = round(cpu_s(server_pid) - cpu0, 2)
    result["load_average"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each phase")
    parser.add_argument("--flooders", type=int, default=40)
    parser.add_argument("--aus", type=int, default=50, help="AUS sessions opened in the attack")
    parser.add_argument("--tracks", type=int, default=300)
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args()

    ctx = mp.get_context("spawn")
    port_out: Any = ctx.Queue()
    server = ctx.Process(target=serve, args=(port_out, args.tracks), daemon=True)
    server.start()
    try:
        port = port_out.get(timeout=120)
        assert server.pid is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/session", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        phases = [
            phase("idle", port, server.pid, args.seconds, None),
            phase("attack", port, server.pid, args.seconds, (args.flooders, args.aus)),
        ]
    finally:
        server.terminate()
        server.join(timeout=10)
    idle, attacked = phases
    events: Counter[str] = Counter()
    for line in AUDIT_LOG.read_text().splitlines():
        entry = json.loads(line)
        events[f"{entry['event']} {entry.get('reason', '')}".strip()] += 1
    ratio = {
        key: round(attacked[key]["median"] / idle[key]["median"], 2)
        for key in ("sign_in_ms", "update_latency_ms")
        if idle[key].get("median") and attacked[key].get("median")
    }
    result = {
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "args": vars(args),
        "phases": phases,
        "attack_over_idle_median": ratio,
        "server_audit_events": dict(sorted(events.items())),
    }
    for p in phases:
        print(f"--- {p['phase']} (load average {p['load_average'][0]} → {p['load_average'][1]})")
        print(f"  sign-in latency ms:  {p['sign_in_ms']}")
        print(f"  update latency ms:   {p['update_latency_ms']}")
        print(
            f"  JPN fresh sockets admitted: {p['jpn_fresh_sockets_admitted']}, "
            f"refusals: {p['jpn_refusals'] or 'none'}"
        )
        print(f"  server CPU: {p['server_cpu_s']} s")
        if "attack" in p:
            a = p["attack"]
            print(f"  flood: {a['flood_requests']} requests, statuses {a['flood_statuses']}")
            print(
                f"  AUS clients: {a['aus']}, sockets they held at peak "
                f"{a['aus_sockets_held_peak']} (their count: a socket the server dropped for "
                "reading too slowly counts until the slow client notices)"
            )
            print(f"  when measuring began: {a['ready']}")
    print(f"server's audit log, both phases: {dict(sorted(events.items()))}")
    print(f"attack / idle (medians): {ratio}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result["args"] = {k: str(v) for k, v in vars(args).items()}
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

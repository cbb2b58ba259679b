"""A plain nats-server with JetStream on a free port, and node services run in-process (tests)."""

from __future__ import annotations

import asyncio
import io
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from airpicture.deploy import nats_server_bin
from airpicture.deploy.server import free_port
from airpicture.network.exercise import feed_reports
from airpicture.network.recording import RecordingSettings, recording_share
from airpicture.network.service import ExerciseClock, NodeService, ServiceSettings
from airpicture.network.signing import Keyring
from airpicture.scenario import LoadedScenario
from airpicture.tables import Table


@contextmanager
def jetstream_server(store: Path) -> Iterator[str]:
    """nats://127.0.0.1:PORT of a running server; stopped on exit."""
    port = free_port()
    store.mkdir(parents=True, exist_ok=True)
    log = (store / "server.log").open("wb")
    process = subprocess.Popen(
        [str(nats_server_bin()), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((store / "server.log").read_text()) from None
                time.sleep(0.05)
        yield f"nats://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
        log.close()


async def within(work: Awaitable[Any], timeout_s: float) -> Any:
    """`work`'s result, or after `timeout_s` a TimeoutError that shows where every task of
    the loop was waiting (a hang is then found from the failure alone)."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if task in done:
        return task.result()
    stacks = io.StringIO()
    for other in asyncio.all_tasks():
        print(f"--- {other.get_name()}: {other.get_coro()}", file=stacks)
        other.print_stack(limit=12, file=stacks)
    task.cancel()
    raise TimeoutError(f"still running after {timeout_s} s; the tasks:\n{stacks.getvalue()}")


async def until_ready(ready: asyncio.Event, tasks: list[asyncio.Task[None]]) -> None:
    """Wait for `ready`; a service that ends before it (its stream could not be made, its
    connection refused) raises its error here instead of leaving the others waiting."""
    waiting = asyncio.ensure_future(ready.wait())
    pending: set[asyncio.Future[Any]] = {waiting, *tasks}
    while not ready.is_set():
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not waiting and not ready.is_set():
                stop_all = [t for t in tasks if not t.done()]
                for other in stop_all:
                    other.cancel()
                await asyncio.gather(*stop_all, return_exceptions=True)
                task.result()  # its error, if it failed
                raise RuntimeError("a node service ended before every node was ready")
    waiting.cancel()


async def run_in_process(
    loaded: LoadedScenario,
    plots: Table,
    out: Path,
    connect_as: Callable[[str, str], Awaitable[Any]],
    nations: list[str] | None = None,
    speed: float = 10.0,
    settings: ServiceSettings | None = None,
    during: Callable[[ExerciseClock, asyncio.Event], Coroutine[Any, Any, None]] | None = None,
    domains: dict[str, str | None] | None = None,
    keys: Mapping[str, Keyring] | None = None,
) -> list[NodeService]:
    """Every nation's node service (or those of `nations`) in this process and the feeds,
    over the scenario; `connect_as(nation, role)` connects. `during(clock, stop)` runs
    meanwhile (and may stop it all early). `domains`: each nation's JetStream domain (the
    server-per-nation deployment); `keys`: each nation's keyring (messages signed; none:
    bare messages)."""
    domains = domains or {}
    clock = ExerciseClock(time.time() + 60.0, speed)  # started once every node is up
    stop = asyncio.Event()
    names = nations or sorted(loaded.scenario.nations)
    settings = settings or ServiceSettings(marker_wait_s=10.0)

    def connector(nation: str) -> Callable[[], Awaitable[Any]]:
        async def connect() -> Any:
            return await connect_as(nation, "node")

        return connect

    # Every nation's recording stream (those of nodes run elsewhere too) shares the
    # server's store, as in an exercise.
    nations_recording = len(loaded.scenario.nations)
    recording = RecordingSettings(max_bytes=recording_share(out, nations_recording))
    services = [
        NodeService(
            loaded,
            n,
            clock,
            connector(n),
            out,
            settings,
            recording=recording,
            jetstream_domain=domains.get(n),
            keys=(keys or {}).get(n),
        )
        for n in names
    ]
    ready = asyncio.Event()
    waiting = len(services)

    async def is_ready() -> None:
        nonlocal waiting
        waiting -= 1
        if waiting == 0:
            ready.set()
        await ready.wait()

    tasks = [asyncio.create_task(s.run(stop, is_ready)) for s in services]
    feeds = {n: await connect_as(n, "feed") for n in sorted(loaded.scenario.nations)}
    await until_ready(ready, tasks)
    clock = ExerciseClock(time.time() + 0.5, speed)
    for s in services:
        s.set_clock(clock)
    extra: list[asyncio.Task[None]] = []
    if during is not None:
        extra.append(asyncio.create_task(during(clock, stop)))
    streams = {n: nc.jetstream(domain=domains.get(n)) for n, nc in feeds.items()}
    await feed_reports(loaded, plots, clock, streams, stop)
    await asyncio.gather(*tasks, *extra)
    for nc in feeds.values():
        await nc.close()
    return services

"""An exercise on one machine: the simulated sensor feeds, the node supervisor, the outputs.

`airpicture exercise SCENARIO --out DIR` (cli/exercise.py) puts these together:
the NATS deployment (`airpicture.deploy`), one `airpicture node` process per
nation (`NodeSupervisor`, which restarts a node that dies: it resumes from its
durable consumers), the simulated feeds (`feed_reports`: the simulator's
reports published to each sensor's subject at their exercise time), and at the
end the run's outputs merged from the nodes' parts (`write_exercise_outputs`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
from nats.js import JetStreamContext

from airpicture.network.jetstream import FEED_TICK_TOKEN, HEADER_FEED_TICK, sensor_subject
from airpicture.network.messages import encode, plot_batch_from_table
from airpicture.network.recording import STORE, RecordingServer, write_manifest
from airpicture.network.service import ExerciseClock, network_json, read_node_outputs
from airpicture.scenario import LAYERS_DIR, LoadedScenario
from airpicture.tables import PICTURE_SCHEMA, Table, write_table
from airpicture.threat.warning import write_warnings

log = logging.getLogger(__name__)


@dataclass
class FeedCounts:
    batches: int = 0
    reports: int = 0
    retries: int = 0
    #: Wall seconds each tick's publications ended after the tick's time: the latest hour
    #: of ticks (an exercise may run for days), and the largest of all.
    late_s: deque[float] = field(default_factory=lambda: deque(maxlen=3600))
    late_s_max: float = 0.0


def feed_schedule(
    plots: Table, sensor_nation: Mapping[str, str], tick_s: float, end_s: float
) -> list[tuple[float, list[tuple[str, str, Table]]]]:
    """Per tick t (every `tick_s` of exercise time up to `end_s`): each sensor's reports
    with a time in (t − tick_s, t], as (nation, sensor id, rows)."""
    times = np.asarray(plots["time_s"], dtype=np.float64)
    sensor = np.asarray(plots["sensor_id"]).astype(str)
    tick = np.ceil(times / tick_s - 1e-9).astype(np.int64)
    order = np.lexsort((sensor, tick))
    out: list[tuple[float, list[tuple[str, str, Table]]]] = []
    last_tick = int(np.ceil(end_s / tick_s - 1e-9))
    bounds = np.searchsorted(tick[order], np.arange(0, last_tick + 2))
    for k in range(0, last_tick + 1):
        rows = order[bounds[k] : bounds[k + 1]]
        batches: list[tuple[str, str, Table]] = []
        if rows.size:
            for sid in np.unique(sensor[rows]):
                sel = rows[sensor[rows] == sid]
                nation = sensor_nation.get(str(sid))
                if nation is None:
                    continue
                batches.append(
                    (nation, str(sid), {c: np.asarray(v)[sel] for c, v in plots.items()})
                )
        out.append((k * tick_s, batches))
    return out


async def feed_reports(
    loaded: LoadedScenario,
    plots: Table,
    clock: ExerciseClock,
    js_of: Mapping[str, JetStreamContext],
    stop: asyncio.Event,
    tick_s: float = 1.0,
    end_s: float | None = None,
    counts: FeedCounts | None = None,
) -> FeedCounts:
    """Publish every report to `ap.sensor.NATION.SENSOR` when the exercise clock reaches it.

    `js_of`: each nation's JetStream context, connected as its `feed` user. A tick
    whose time has passed (the feed started late, or was slow) is published at once.
    """
    scenario = loaded.scenario
    counts = counts or FeedCounts()
    owner = {s.id: s.nation for s in scenario.sensors if s.nation in js_of}
    end = scenario.duration_s if end_s is None else min(end_s, scenario.duration_s)
    schedule = feed_schedule(plots, owner, tick_s, end)
    seq = time.time_ns() // 1000
    for t, batches in schedule:
        if stop.is_set():
            break
        delay = clock.wall_of(t) - time.time()
        if delay > 0:
            try:
                await asyncio.wait_for(stop.wait(), delay)
                break
            except TimeoutError:
                pass
        for nation, sid, rows in batches:
            seq += 1
            batch = plot_batch_from_table(rows, sender=nation, seq=seq, sent_s=t, releasable_to={})
            subject = sensor_subject(nation, sid)
            for attempt in range(20):
                try:
                    await js_of[nation].publish(
                        subject,
                        encode(batch),
                        timeout=2.0,
                        headers={"Nats-Msg-Id": f"{sid}.{seq}"},
                    )
                    break
                except Exception as exc:
                    counts.retries += 1
                    if attempt == 19:
                        log.error("feed: %s not stored (%r); dropped", subject, exc)
                    await asyncio.sleep(min(0.05 * 2**attempt, 1.0))
            counts.batches += 1
            counts.reports += len(rows["time_s"])
        for nation, js in js_of.items():
            # Every report up to t is out: the node need not wait for more.
            with contextlib.suppress(Exception):
                await js.publish(
                    sensor_subject(nation, FEED_TICK_TOKEN),
                    b"",
                    timeout=2.0,
                    headers={HEADER_FEED_TICK: repr(float(t)), "Nats-Msg-Id": f"tick.{seq}.{t}"},
                )
        late = time.time() - clock.wall_of(t)
        counts.late_s.append(late)
        counts.late_s_max = max(counts.late_s_max, late)
    return counts


# ---------------------------------------------------------------------- the supervisor


@dataclass
class NodeProcess:
    nation: str
    config: Path
    log_file: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    pids: list[int] = field(default_factory=list)
    #: Wall time each death was noticed and the restart that followed.
    deaths_unix_s: list[float] = field(default_factory=list)


#: A warm spare's program: it imports what `airpicture node` does, then waits.
SPARE_CODE: Final = (
    "import sys; from airpicture.network.exercise import spare_main; sys.exit(spare_main())"
)


def spare_main() -> int:
    """A warm spare node: import everything `airpicture node` imports (every sub-command,
    as its parser does), then wait for one line `CONFIG<TAB>LOG` on stdin and become
    `airpicture node CONFIG`, its output to LOG. An empty stdin ends it (exit 0).

    A restarted node then skips Python's imports — 5-6 CPU s of the node's start (the
    tracker, fusion, threat and ASTERIX modules), three times that on a loaded machine."""
    from airpicture import cli

    cli.build_parser()
    print(f"spare ready: pid {os.getpid()}", flush=True)  # to logs/spare.log
    line = sys.stdin.readline().rstrip("\n")
    if not line:
        return 0
    config, log_path = line.split("\t")
    out = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    return cli.main(["node", config])


class NodeSupervisor:
    """One `airpicture node CONFIG` process per nation; a node that dies is started again.

    With `spare` (the default) the supervisor keeps one warm spare process (`spare_main`)
    that has done a node's imports: a dead node is restarted in it at once, and a new
    spare is started to wait for the next death."""

    def __init__(self, configs: Mapping[str, Path], log_dir: Path, spare: bool = True) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir = log_dir
        self.nodes = {
            nation: NodeProcess(nation, path, log_dir / f"node-{nation}.log")
            for nation, path in sorted(configs.items())
        }
        self.stopping = False
        self.use_spare = spare
        self.spare: subprocess.Popen[bytes] | None = None
        #: Restarts that found a warm spare waiting.
        self.spares_used = 0

    def start_spare(self) -> None:
        """Start the warm spare if there is none (it imports for a few seconds, then waits)."""
        if not self.use_spare or self.stopping:
            return
        if self.spare is not None and self.spare.poll() is None:
            return
        with (self.log_dir / "spare.log").open("ab") as log_file:
            self.spare = subprocess.Popen(
                [sys.executable, "-c", SPARE_CODE],
                stdin=subprocess.PIPE,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _take_spare(self, node: NodeProcess) -> bool:
        spare, self.spare = self.spare, None
        if spare is None or spare.poll() is not None or spare.stdin is None:
            return False
        try:
            spare.stdin.write(f"{node.config}\t{node.log_file}\n".encode())
            spare.stdin.close()
        except OSError:
            spare.kill()
            spare.wait()
            return False
        node.process = spare
        self.spares_used += 1
        return True

    def start(self, nation: str) -> None:
        node = self.nodes[nation]
        if node.process is not None and self._take_spare(node):
            node.pids.append(node.process.pid)
            self.start_spare()
            return
        with node.log_file.open("ab") as log_file:
            node.process = subprocess.Popen(
                [sys.executable, "-m", "airpicture", "node", str(node.config)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        node.pids.append(node.process.pid)

    def start_all(self) -> None:
        for nation in self.nodes:
            self.start(nation)

    def pid(self, nation: str) -> int | None:
        p = self.nodes[nation].process
        return None if p is None else p.pid

    def check(self, on_restart: Callable[[str, int], None] | None = None) -> list[str]:
        """Restart every node that has died (not one that exited 0); the nations restarted."""
        restarted: list[str] = []
        if self.stopping:
            return restarted
        self.start_spare()
        for nation, node in self.nodes.items():
            p = node.process
            if p is None:
                continue
            code = p.poll()
            if code is None or code == 0:
                continue
            if code == 2:
                log.error(
                    "node %s refused its configuration (exit 2); see %s", nation, node.log_file
                )
                node.process = None
                continue
            node.deaths_unix_s.append(time.time())
            node.restarts += 1
            self.start(nation)
            restarted.append(nation)
            if on_restart is not None:
                on_restart(nation, code)
        return restarted

    def all_exited(self) -> bool:
        return all(n.process is None or n.process.poll() is not None for n in self.nodes.values())

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM every node (each writes its last part and exits), then SIGKILL the slow."""
        self.stopping = True
        spare, self.spare = self.spare, None
        if spare is not None:
            spare.kill()
            spare.wait()
        for node in self.nodes.values():
            if node.process is not None and node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for node in self.nodes.values():
            if node.process is None:
                continue
            try:
                node.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait()

    def kill(self, nation: str) -> int:
        """SIGKILL a node (tests and the benchmark); the supervisor restarts it."""
        p = self.nodes[nation].process
        if p is None:
            raise RuntimeError(f"node {nation} is not running")
        os.kill(p.pid, signal.SIGKILL)
        return p.pid

    def roles(self) -> list[dict[str, Any]]:
        return [
            {"role": "node", "nation": n.nation, "pid": n.pids[-1] if n.pids else None,
             "pids": n.pids, "restarts": n.restarts, "config": str(n.config),
             "log": str(n.log_file)}
            for n in self.nodes.values()
        ]  # fmt: skip


# ---------------------------------------------------------------------- the recording


def start_recording(
    out: Path,
    scenario_path: Path,
    overrides: Mapping[str, Any],
    nations: list[str],
) -> RecordingServer:
    """The exercise's recording folder `out/recording/` (`network/recording.py`): its marker
    `recording.json`, a copy of the scenario, the simulation's `truth.parquet`, `run.json`
    and map `layers/` (written to `out` before), and a recording server on its JetStream
    store (its token in `recording/.token`, owner-only). The caller stops the server."""
    folder = out / "recording"
    folder.mkdir(parents=True, exist_ok=True)
    write_manifest(folder, scenario_path, dict(overrides), nations)
    for name in ("truth.parquet", "run.json"):
        if (out / name).is_file():
            shutil.copyfile(out / name, folder / name)
    if (out / LAYERS_DIR).is_dir():  # the scenario's map layers: a replay draws them
        shutil.copytree(out / LAYERS_DIR, folder / LAYERS_DIR, dirs_exist_ok=True)
    server = RecordingServer(folder / STORE)
    server.start()
    token = folder / ".token"
    token.write_text(server.token + "\n", encoding="ascii")
    token.chmod(0o600)
    return server


# ---------------------------------------------------------------------- outputs


def write_exercise_outputs(
    out: Path, loaded: LoadedScenario, extra_network: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """picture.parquet, warnings.jsonl and network.json merged from the nodes' parts
    (truth.parquet, plots.parquet and run.json are the simulation's, written before)."""
    nations = sorted(loaded.scenario.nations)
    outputs = read_node_outputs(out, nations)
    write_table(out / "picture.parquet", outputs.picture, PICTURE_SCHEMA)
    write_warnings(out / "warnings.jsonl", outputs.warnings)
    with (out / "threats.jsonl").open("w", encoding="utf-8") as f:
        for row in outputs.threats:
            f.write(json.dumps(row, default=str) + "\n")
    stats = network_json(outputs, extra_network)
    (out / "network.json").write_text(json.dumps(stats, indent=2, default=str) + "\n")
    return stats

"""A national node as a service: one nation's `NationalNode` driven by the exercise clock
over NATS JetStream (`airpicture node CONFIG.yaml`).

The node logic is the deterministic run's (`network/node.py`); only the driver
differs. At each picture time T_k of the scenario (`schedule.picture_times_s`),
when the exercise clock reaches it, the service takes the same stages as
`NetworkRun`:

1. **plots** — its own sensors' reports up to T_k (from `NATION_SENSORS`) into
   the node, its plots out to the partners allowed them;
2. **tracks** — once every live partner's plots of cycle k are in (their
   stage-end markers, `jetstream.py`), partners' messages received, its tracks
   out;
3. **fuse** — once every live partner's tracks of cycle k are in, received and
   fused: the nation's picture, pushed to its web page and written to its part of
   the exercise's outputs.

What a stage publishes goes out (every PubAck awaited) when it ends; what fuse
publishes (warnings) waits for the next stage, as in the deterministic run. The
messages a stage took are acknowledged once it has ended. A partner whose
markers do not come within `marker_wait_s` is not waited for until they come
again; a node that falls behind the clock takes its cycles back to back.

**Restart.** The durable consumers keep what the node has not acknowledged; the
ledgers (`jetstream.ProcessedLedger`) what it processed. A restarted node starts
at the next picture time, takes every report and partner message it has not
processed, and numbers its messages from a new base (the start time in µs) so
that neither its partners' duplicate checks nor JetStream's duplicate window
mistake them for the old incarnation's.

Outputs, under `out_dir/nodes/NATION/` (merged by `network/exercise.py`):
`picture-<incarnation>-<chunk>.parquet`, `warnings.jsonl`,
`stats-<incarnation>.json`, the two ledgers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import resource
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from airpicture.network.assessor import AssessorFactory, national_assessor
from airpicture.network.bus import scenario_links
from airpicture.network.jetstream import JetStreamBus, ProcessedLedger, SensorInbox, senders_to
from airpicture.network.messages import PLOT_COLUMNS, MessageKind
from airpicture.network.node import NationalNode, NodeSnapshot
from airpicture.network.recording import (
    RECORDING_VERSION,
    EndRecord,
    Recorder,
    RecordingSettings,
    RecordingTap,
    StartRecord,
)
from airpicture.network.run import NetworkSettings, hold_s
from airpicture.network.schedule import picture_times_s
from airpicture.network.signing import Keyring
from airpicture.policy import ReleasePolicy
from airpicture.scenario import LoadedScenario
from airpicture.tables import (
    PICTURE_SCHEMA,
    Table,
    concat_tables,
    json_default,
    read_table,
    write_table,
)
from airpicture.threat.warning import Warning, encode_line, read_warnings

if TYPE_CHECKING:
    from airpicture.network.asterix_io import AsterixInbox, PictureOutputs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExerciseClock:
    """Exercise time = (wall − epoch) × speed, in seconds since the scenario's epoch."""

    epoch_unix_s: float
    speed: float = 1.0

    def now_s(self) -> float:
        return (time.time() - self.epoch_unix_s) * self.speed

    def wall_of(self, exercise_s: float) -> float:
        return self.epoch_unix_s + exercise_s / self.speed

    async def sleep_until(self, exercise_s: float, extra_wall_s: float = 0.0) -> None:
        delay = self.wall_of(exercise_s) + extra_wall_s - time.time()
        if delay > 0:
            await asyncio.sleep(delay)


@dataclass(frozen=True)
class ServiceSettings:
    network: NetworkSettings = field(default_factory=NetworkSettings)
    #: After T_k, how long (wall) the plots stage waits for the feeds' last reports.
    feed_margin_s: float = 0.05
    #: Longest wait (wall) for a partner's stage-end marker; None: two picture
    #: intervals of wall time, at least 0.5 s.
    marker_wait_s: float | None = None
    #: Picture parts are written every this many cycles.
    chunk_cycles: int = 12
    #: Stop after this exercise time (None: the scenario's end).
    end_s: float | None = None
    #: Wait for the NATS feed's ticks (False: the own sensors come over ASTERIX alone).
    wait_nats_feed: bool = True
    #: The fuse lags kept for the stats' percentiles: the latest this many cycles (a node
    #: runs for days: nothing it keeps per cycle may grow without bound).
    lag_samples: int = 720


@dataclass
class ServiceStats:
    cycles: int = 0
    #: Wall seconds from T_k on the clock to the picture of T_k fused, the latest cycles
    #: (`ServiceSettings.lag_samples`), and the largest of all.
    fuse_lag_s: deque[float] = field(default_factory=lambda: deque(maxlen=720))
    fuse_lag_max_s: float | None = None
    #: Cycles that started after the next picture time was already due.
    cycles_behind: int = 0
    #: Per kind: marker waits that timed out, and the partners not waited for then.
    marker_timeouts: dict[str, int] = field(default_factory=dict)
    first_picture_wall_s: float | None = None
    started_wall_s: float = field(default_factory=time.time)
    first_cycle: int | None = None


Connect = Callable[[], Awaitable[Any]]
SnapshotSink = Callable[[NodeSnapshot, list[Warning]], None]


class NodeService:
    """One nation's node on JetStream (see the module doc)."""

    def __init__(
        self,
        loaded: LoadedScenario,
        nation: str,
        clock: ExerciseClock,
        connect: Connect,
        out_dir: Path,
        settings: ServiceSettings | None = None,
        on_snapshot: SnapshotSink | None = None,
        assessor_factory: AssessorFactory = national_assessor,
        jetstream_domain: str | None = None,
        recording: RecordingSettings | None = None,
        record_connect: Connect | None = None,
        keys: Keyring | None = None,
    ) -> None:
        """`recording`: the node's recording (`network/recording.py`; always on: None is the
        default settings); `record_connect`: a connection to the recording server (None:
        record over the node's own connection, in its own JetStream); `keys`: the nation's
        signing key and its partners' public keys (`Keyring.from_deployment`): every
        message between nodes is signed and checked (network/signing.py); None: bare
        messages, with a warning in the log."""
        scenario = loaded.scenario
        if nation not in scenario.nations:
            raise ValueError(f"{nation} is not a nation of {scenario.name}")
        self.loaded = loaded
        self.nation = nation
        self.clock = clock
        self.connect = connect
        self.settings = settings or ServiceSettings()
        self.on_snapshot = on_snapshot
        self.jetstream_domain = jetstream_domain
        self.dir = out_dir / "nodes" / nation
        self.dir.mkdir(parents=True, exist_ok=True)
        #: This run of the node: its start in µs; its messages' sequence numbers start there.
        self.incarnation = time.time_ns() // 1000
        self.policy = ReleasePolicy.from_scenario(scenario)
        links = scenario_links(scenario)
        self.bus = JetStreamBus(
            nation,
            self.policy,
            clock.now_s,
            links,
            scenario.seed,
            ProcessedLedger(self.dir, "processed-link", self.incarnation),
        )
        own = [s.id for s in scenario.sensors if s.nation == nation]
        self.sensors = SensorInbox(
            nation, own, ProcessedLedger(self.dir, "processed-sensor", self.incarnation)
        )
        network = self.settings.network
        self.recorder = Recorder(nation, self.incarnation, recording)
        self.record_connect = record_connect
        self.record_nc: Any = None
        self.node = NationalNode(
            nation,
            scenario,
            self.policy,
            RecordingTap(self.bus, self.recorder),
            assessor_factory(scenario, nation),
            network.node(),
            hold_s=hold_s(self.policy, links, network, nation),
            # Partners keep the sequence numbers they have seen from this node: a new base.
            first_seq=self.incarnation,
            keys=keys,
        )
        self.keys = keys
        self.times_s = picture_times_s(scenario)
        interval_wall = scenario.picture_interval_s / clock.speed
        self.marker_wait_s = (
            self.settings.marker_wait_s
            if self.settings.marker_wait_s is not None
            else max(0.5, 2.0 * interval_wall)
        )
        self.plot_senders = senders_to(self.policy, nation, MessageKind.PLOTS)
        self.track_senders = senders_to(self.policy, nation, MessageKind.TRACKS)
        self.absent: set[tuple[str, str]] = set()
        self.feed_absent = False
        self.interval_s = scenario.picture_interval_s
        self.stats = ServiceStats(fuse_lag_s=deque(maxlen=max(1, self.settings.lag_samples)))
        self._pictures: list[Table] = []
        self._chunk = 0
        self._received_warnings = 0
        #: Threat rows taken from the node and not yet in a `threats-*.jsonl` part.
        self._threats_unwritten: list[dict[str, Any]] = []
        self._last_cycle = -1
        self._warnings_file = (self.dir / "warnings.jsonl").open("ab")
        self._cpu0 = _cpu_s()
        self.nc: Any = None
        #: The own sensors' ASTERIX over UDP, and the picture's CAT062 and CoT (`attach_asterix`).
        self.asterix: AsterixInbox | None = None
        self.asterix_listen: list[str] = []
        self.asterix_interface = "0.0.0.0"
        self.outputs: PictureOutputs | None = None

    def attach_asterix(
        self,
        inbox: AsterixInbox | None,
        listen: list[str],
        interface: str = "0.0.0.0",
        outputs: PictureOutputs | None = None,
    ) -> None:
        """Take the own sensors' reports from ASTERIX datagrams on `listen` (udp://HOST:PORT,
        multicast groups joined on `interface`) too; put each picture out to `outputs`.
        The sockets open when `run` starts (a port taken is an `OSError` from `run`)."""
        self.asterix = inbox
        self.asterix_listen = list(listen)
        self.asterix_interface = interface
        self.outputs = outputs

    def set_clock(self, clock: ExerciseClock) -> None:
        """The exercise clock, once known (before `run` takes its first picture time)."""
        self.clock = clock
        self.bus.clock_s = clock.now_s

    async def run(
        self,
        stop: asyncio.Event | None = None,
        ready: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Connect, then take every picture time until the end (or `stop`).

        `ready()` is awaited once connected, streams and consumers in place, before
        the first picture time is chosen (an exercise starts its clock then)."""
        stop = stop or asyncio.Event()
        listeners: list[asyncio.DatagramTransport] = []
        if self.asterix is not None and self.asterix_listen:
            from airpicture.network.asterix_io import open_listeners

            listeners = await open_listeners(
                self.asterix_listen,
                self.asterix,
                lambda: self.clock.now_s(),
                self.asterix_interface,
            )
        if self.outputs is not None:
            self.outputs.start()
        try:
            self.nc = await self.connect()
        except BaseException:
            await self._close_io(listeners)
            raise
        pumps: list[asyncio.Task[None]] = []
        halt = asyncio.Event()
        try:
            js = (
                self.nc.jetstream(domain=self.jetstream_domain)
                if self.jetstream_domain
                else self.nc.jetstream()
            )
            await self.bus.start(js)
            await self.sensors.start(js)
            await self._start_recording(js)
            pumps = [
                asyncio.create_task(self._pump(self.bus.pump, stop, halt)),
                asyncio.create_task(self._pump(self.sensors.pump, stop, halt)),
                asyncio.create_task(self._keep_alive(stop, halt)),
            ]
            if ready is not None and not await self._wait_or_stop(ready(), stop):
                return
            end_s = self.settings.end_s if self.settings.end_s is not None else math.inf
            first = int(np.searchsorted(self.times_s, self.clock.now_s() - 1e-9, side="left"))
            self.stats.first_cycle = first
            await self.recorder.put(
                StartRecord(
                    version=RECORDING_VERSION,
                    nation=self.nation,
                    incarnation=self.incarnation,
                    first_seq=self.incarnation,
                    first_cycle=first,
                    hold_s=self.node.hold_s,
                    started_unix_s=self.stats.started_wall_s,
                    scenario=self.loaded.scenario.name,
                    pid=os.getpid(),
                    partner_keys=self.keys.partner_keys_raw() if self.keys is not None else {},
                )
            )
            for k in range(first, self.times_s.size):
                now_s = float(self.times_s[k])
                if now_s > end_s + 1e-9 or stop.is_set():
                    break
                if not await self._wait_or_stop(
                    self.clock.sleep_until(now_s, self.settings.feed_margin_s), stop
                ):
                    break
                await self._cycle(k, now_s, stop)
                self._last_cycle = k
            await self.bus.flush()
            await self.recorder.put(
                EndRecord(
                    incarnation=self.incarnation,
                    last_cycle=self._last_cycle,
                    time_s=(
                        float(self.times_s[self._last_cycle]) if self._last_cycle >= 0 else -1.0
                    ),
                    stopped_unix_s=time.time(),
                )
            )
            # What a cut link still holds goes out while it is given the time.
            await self.bus.drain(10.0)
        finally:
            # Cancelled *and* told: on Python 3.11 `asyncio.wait_for` (inside nats-py's
            # `next_msg`) can swallow a cancellation that races a message's arrival, and
            # the loop would go on forever; `halt` ends it at its next turn (≤ 0.2 s).
            halt.set()
            for task in pumps:
                task.cancel()
            for task in pumps:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self.bus.stop_resending()
            await self._close_io(listeners)
            self.close()
            for nc in (self.nc, self.record_nc):
                if nc is None:
                    continue
                try:
                    await nc.close()
                except Exception:
                    log.debug("close failed", exc_info=True)

    async def _start_recording(self, js: Any) -> None:
        """The recording's stream, on the recording server or on the node's own JetStream."""
        if self.record_connect is not None:
            self.record_nc = await self.record_connect()
            js = self.record_nc.jetstream()
        await self.recorder.start(js)

    async def _close_io(self, listeners: list[asyncio.DatagramTransport]) -> None:
        for transport in listeners:
            transport.close()
        if self.outputs is not None:
            await self.outputs.close()

    async def _pump(
        self, pump: Callable[[], Awaitable[int]], stop: asyncio.Event, halt: asyncio.Event
    ) -> None:
        while not stop.is_set() and not halt.is_set():
            try:
                await pump()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: fetching failed; trying again", self.nation)
                await asyncio.sleep(0.5)

    async def _keep_alive(self, stop: asyncio.Event, halt: asyncio.Event) -> None:
        """Every third of the ack wait: the messages held are still being worked on."""
        every_s = self.bus.ack_wait_s / 3.0
        while not stop.is_set() and not halt.is_set():
            await asyncio.sleep(every_s)
            try:
                await self.bus.keep_alive()
                await self.sensors.keep_alive()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.debug("%s: in-progress acknowledgement failed", self.nation, exc_info=True)

    async def _wait_or_stop(self, waiting: Awaitable[None], stop: asyncio.Event) -> bool:
        """Wait for `waiting` unless `stop` is set first; whether it finished."""
        wait_task = asyncio.ensure_future(waiting)
        stop_task = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({wait_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        for task in (wait_task, stop_task):
            if task not in done:
                task.cancel()
        return wait_task in done and not stop.is_set()

    async def _cycle(self, k: int, now_s: float, stop: asyncio.Event) -> None:
        if k + 1 < self.times_s.size and self.clock.now_s() > float(self.times_s[k + 1]):
            self.stats.cycles_behind += 1
        node = self.node
        # plots k, once the feeds have published every report up to T_k
        await self._wait_feed(now_s, stop)
        own = _merge_reports(
            self.sensors.take(now_s), self.asterix.take(now_s) if self.asterix else None
        )
        self.bus.begin_stage()
        await asyncio.to_thread(self._plots_stage, own, now_s)
        # Recorded (stored) before the inputs are ledgered and acknowledged.
        await self.recorder.put(self.recorder.stage(k, "plots", now_s, own=own))
        await self.sensors.settle()
        await self.bus.settle()
        self.bus.end_stage(MessageKind.PLOTS, k)
        await self.bus.flush()
        # tracks k
        await self._wait_markers(MessageKind.PLOTS, k, self.plot_senders, stop)
        self.bus.begin_stage()
        await asyncio.to_thread(self._tracks_stage, now_s)
        await self.recorder.put(self.recorder.stage(k, "tracks", now_s))
        await self.bus.settle()
        self.bus.end_stage(MessageKind.TRACKS, k)
        await self.bus.flush()
        # fuse k (its warnings go out with the next stage's publications)
        await self._wait_markers(MessageKind.TRACKS, k, self.track_senders, stop)
        self.bus.begin_stage()
        snapshot = await asyncio.to_thread(self._fuse_stage, now_s)
        received = node.received_warnings[self._received_warnings :]
        self._received_warnings = len(node.received_warnings)
        new_threats = node.take_threat_rows()
        self._threats_unwritten.extend(new_threats)
        await self.recorder.put(
            self.recorder.stage(
                k,
                "fuse",
                now_s,
                picture=snapshot.picture,
                warnings=snapshot.warnings,
                received_warnings=received,
                threats=new_threats,
            )
        )
        await self.bus.settle()
        lag = time.time() - self.clock.wall_of(now_s)
        self.stats.fuse_lag_s.append(lag)
        self.stats.fuse_lag_max_s = max(lag, self.stats.fuse_lag_max_s or lag)
        self.stats.cycles += 1
        if self.stats.first_picture_wall_s is None:
            self.stats.first_picture_wall_s = time.time()
        self._record(snapshot)
        if self.outputs is not None:
            viewer = np.asarray(snapshot.picture["viewer"], dtype=object) == self.nation
            self.outputs.send({c: v[viewer] for c, v in snapshot.picture.items()})
        if self.on_snapshot is not None:
            self.on_snapshot(snapshot, list(received))
        del stop

    def _plots_stage(self, own: Table | None, now_s: float) -> None:
        if own is not None:
            self.node.ingest_own(own)
        self.node.publish_plots(now_s)

    def _tracks_stage(self, now_s: float) -> None:
        self.node.receive(now_s)
        self.node.publish_tracks(now_s)
        self.node.publish_heartbeats(now_s)

    def _fuse_stage(self, now_s: float) -> NodeSnapshot:
        self.node.receive(now_s)
        return self.node.fuse(now_s)

    async def _wait_feed(self, now_s: float, stop: asyncio.Event) -> None:
        """Until the feeds' tick reaches `now_s` (a feed that sends no ticks — or has stopped
        sending them — is not waited for until its ticks come again); then the ASTERIX
        radars' sector crossings (`AsterixInbox.feed_time_s`)."""
        await self._wait_asterix(now_s, stop)
        if not self.settings.wait_nats_feed:
            return
        if self.feed_absent and self.sensors.feed_time_s < now_s - 2 * self.interval_s:
            return
        self.feed_absent = False
        deadline = time.monotonic() + self.marker_wait_s
        while self.sensors.feed_time_s < now_s - 1e-9 and not stop.is_set():
            if time.monotonic() >= deadline:
                self.stats.marker_timeouts["feed"] = self.stats.marker_timeouts.get("feed", 0) + 1
                self.feed_absent = True
                return
            await asyncio.sleep(0.005)

    async def _wait_asterix(self, now_s: float, stop: asyncio.Event) -> None:
        if self.asterix is None:
            return
        deadline = time.monotonic() + self.marker_wait_s
        while self.asterix.feed_time_s() < now_s - 1e-9 and not stop.is_set():
            if time.monotonic() >= deadline:
                behind = self.asterix.excuse_behind(now_s)
                self.stats.marker_timeouts["asterix"] = (
                    self.stats.marker_timeouts.get("asterix", 0) + 1
                )
                log.warning(
                    "%s: no ASTERIX sector crossing past %.1f s from %s within %.1f s; "
                    "not waiting for them until they send again",
                    self.nation,
                    now_s,
                    ", ".join(behind),
                    self.marker_wait_s,
                )
                return
            await asyncio.sleep(0.005)

    async def _wait_markers(
        self, kind: MessageKind, cycle: int, senders: list[str], stop: asyncio.Event
    ) -> None:
        """Until every partner not known absent has ended its stage `kind` of `cycle`."""
        for s in senders:
            if (s, kind) in self.absent and self.bus.marker_cycle.get((s, kind), -1) >= cycle - 1:
                self.absent.discard((s, kind))  # it is back
        expected = [s for s in senders if (s, kind) not in self.absent]
        deadline = time.monotonic() + self.marker_wait_s
        while True:
            missing = self.bus.markers_missing(kind, cycle, expected)
            if not missing or stop.is_set():
                return
            if time.monotonic() >= deadline:
                key = str(kind)
                self.stats.marker_timeouts[key] = self.stats.marker_timeouts.get(key, 0) + 1
                log.warning(
                    "%s: no end of %s stage %d from %s within %.1f s; not waiting for them",
                    self.nation,
                    kind,
                    cycle,
                    ", ".join(missing),
                    self.marker_wait_s,
                )
                self.absent.update((s, kind) for s in missing)
                return
            await asyncio.sleep(0.005)

    # ------------------------------------------------------------------ outputs

    def _record(self, snapshot: NodeSnapshot) -> None:
        self._pictures.append(snapshot.picture)
        for w in snapshot.warnings:
            self._warnings_file.write(encode_line(w))
        self._warnings_file.flush()
        if len(self._pictures) >= self.settings.chunk_cycles:
            self._write_chunk()
        else:
            self._write_stats()

    def _write_chunk(self) -> None:
        if self._pictures:
            picture = concat_tables(self._pictures, PICTURE_SCHEMA)
            name = f"picture-{self.incarnation}-{self._chunk:05d}.parquet"
            tmp = self.dir / f".{name}.tmp"
            write_table(tmp, picture, PICTURE_SCHEMA)
            os.replace(tmp, self.dir / name)
            self._pictures = []
            self._write_threats()
            self._chunk += 1
        self._write_stats()

    def _write_threats(self) -> None:
        """The threat rows of the chunk's cycles (`threats.jsonl` rows) as their own part,
        `threats-INCARNATION-CHUNK.jsonl`: each row written once, none kept after."""
        rows, self._threats_unwritten = self._threats_unwritten, []
        if not rows:
            return
        name = f"threats-{self.incarnation}-{self._chunk:05d}.jsonl"
        tmp = self.dir / f".{name}.tmp"
        with tmp.open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, default=json_default) + "\n")
        os.replace(tmp, self.dir / name)

    def _write_stats(self) -> None:
        path = self.dir / f"stats-{self.incarnation}.json"
        tmp = self.dir / f".stats-{self.incarnation}.json.tmp"
        tmp.write_text(json.dumps(self.node_stats(), indent=2, default=json_default) + "\n")
        os.replace(tmp, path)

    def node_stats(self) -> dict[str, Any]:
        """The node's counts (as the deterministic run's `network.json` has them), the
        bus's, and the service's: cycles, lag behind the clock, CPU seconds."""
        lags = np.asarray(self.stats.fuse_lag_s)
        return {
            "nation": self.nation,
            "incarnation": self.incarnation,
            "pid": os.getpid(),
            "node": self.node.stats(),
            "bus": self.bus.counts.as_dict(),
            "sensors": dict(self.sensors.counts),
            "recording": self.recorder.counts.as_dict(),
            **({"asterix": self.asterix.stats()} if self.asterix is not None else {}),
            **({"outputs": self.outputs.stats()} if self.outputs is not None else {}),
            "service": {
                "first_cycle": self.stats.first_cycle,
                "cycles": self.stats.cycles,
                "cycles_behind": self.stats.cycles_behind,
                "marker_timeouts": self.stats.marker_timeouts,
                "fuse_lag_s": {
                    "p50": float(np.percentile(lags, 50)) if lags.size else None,
                    "p99": float(np.percentile(lags, 99)) if lags.size else None,
                    "max": self.stats.fuse_lag_max_s,
                    "over_cycles": lags.size,
                },
                "fuse_lag_samples_s": [round(float(x), 4) for x in lags],
                "started_unix_s": self.stats.started_wall_s,
                "first_picture_unix_s": self.stats.first_picture_wall_s,
                "cpu_s": _cpu_s() - self._cpu0,
                "exercise_s_covered": (
                    float(self.times_s[self.stats.first_cycle + self.stats.cycles - 1])
                    - float(self.times_s[self.stats.first_cycle])
                    + self.loaded.scenario.picture_interval_s
                    if self.stats.cycles and self.stats.first_cycle is not None
                    else 0.0
                ),
            },
        }

    def close(self) -> None:
        """Write what is held (the last picture part, the counts) and close the files."""
        self._write_chunk()
        self._warnings_file.close()
        self.bus.ledger.close()
        self.sensors.ledger.close()


def _merge_reports(a: Table | None, b: Table | None) -> Table | None:
    """The plots-table columns of two report tables, in time order, and the NATS reports'
    `stream_seq` and `batch_row` (0 and -1 for reports that came otherwise)."""
    if a is None or b is None:
        return a if b is None else b
    keys = ("stream_seq", "batch_row")
    a = {**{k: np.zeros(len(a["time_s"]), np.int64) for k in keys}, **a}
    b = (
        {"stream_seq": np.zeros(len(b["time_s"]), np.int64)}
        | {"batch_row": np.full(len(b["time_s"]), -1, np.int64)}
        | {c: b[c] for c in b if c not in keys}
    )
    rows = {c: np.concatenate([a[c], b[c]]) for c in (*PLOT_COLUMNS, *keys)}
    order = np.argsort(rows["time_s"], kind="stable")
    return {c: v[order] for c, v in rows.items()}


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------------- reading the parts


@dataclass(frozen=True)
class NodeOutputs:
    """What the nodes of an exercise wrote, merged: the run's outputs."""

    picture: Table
    warnings: list[Warning]
    #: Per nation: every incarnation's stats (oldest first).
    stats: dict[str, list[dict[str, Any]]]
    #: Every node's ranked threat rows, by time then nation.
    threats: list[dict[str, Any]] = field(default_factory=list)


def read_node_outputs(out_dir: Path, nations: list[str]) -> NodeOutputs:
    """Merge every node's parts under `out_dir/nodes/`: one picture (time, viewer order),
    every issued warning (time order), each incarnation's stats."""
    pictures: list[Table] = []
    warnings: list[Warning] = []
    threats: list[dict[str, Any]] = []
    stats: dict[str, list[dict[str, Any]]] = {}
    for nation in nations:
        d = out_dir / "nodes" / nation
        for path in sorted(d.glob("picture-*.parquet")):
            pictures.append(read_table(path, PICTURE_SCHEMA))
        warnings.extend(read_warnings(d / "warnings.jsonl"))
        for path in sorted(d.glob("threats-*.jsonl")):
            threats.extend(json.loads(line) for line in path.read_text().splitlines() if line)
        runs = [json.loads(p.read_text()) for p in sorted(d.glob("stats-*.json"))]
        stats[nation] = sorted(runs, key=lambda r: int(r.get("incarnation", 0)))
    picture = concat_tables(pictures, PICTURE_SCHEMA)
    if len(picture["time_s"]):
        order = np.lexsort((picture["viewer"].astype(str), picture["time_s"]))
        picture = {c: v[order] for c, v in picture.items()}
    warnings.sort(key=lambda w: w.time_s)
    threats.sort(key=lambda r: (r.get("time_s", 0.0), r.get("nation", "")))
    return NodeOutputs(picture, warnings, stats, threats)


def network_json(outputs: NodeOutputs, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`network.json` of an exercise: the deterministic run's layout (`nodes`, `links`) from
    each node's last incarnation, with every incarnation's bus counts summed (messages
    redelivered and deduplicated after a restart, among them)."""
    nodes: dict[str, Any] = {}
    links: dict[str, dict[str, int]] = {}
    for nation, runs in outputs.stats.items():
        if not runs:
            continue
        last = dict(runs[-1]["node"])
        bus_total: dict[str, int] = {}
        for run in runs:
            for key, value in run["bus"].items():
                if isinstance(value, int):
                    bus_total[key] = bus_total.get(key, 0) + value
            for name, c in run["bus"]["links"].items():
                # Each link counted where it starts (sent, lost) and where it arrives.
                slot = links.setdefault(
                    name, {"sent": 0, "lost": 0, "delivered": 0, "bytes_sent": 0}
                )
                sender, receiver = name.split("->")
                if sender == nation:
                    slot["sent"] += c["sent"]
                    slot["lost"] += c["lost"]
                    slot["bytes_sent"] += c["bytes_sent"]
                if receiver == nation:
                    slot["delivered"] += c["delivered"]
        last["bus"] = bus_total
        last["restarts"] = len(runs) - 1
        last["incarnations"] = [
            {"incarnation": r["incarnation"], "pid": r["pid"], **r["service"]}
            | {"sensors": r["sensors"]}
            for r in runs
        ]
        for r in last["incarnations"]:
            r.pop("fuse_lag_samples_s", None)
        nodes[nation] = last
    return {"fusion": "distributed", "nodes": nodes, "links": dict(sorted(links.items()))} | dict(
        extra or {}
    )

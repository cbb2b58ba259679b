"""Running the allied network over a simulation: steppable (`NetworkRun`) or in one go.

`NetworkRun.advance(to_time_s)` takes every picture time up to `to_time_s`:
feeds each node the reports its own sensors made, runs the node stages in the
run's order (`schedule.py`), and returns one `NetworkSnapshot` per picture
time — each viewer's picture rows and the warnings issued. The live server
calls it in real time; `run_network` calls it once for the whole scenario and
gathers `picture.parquet` and the warnings.

Distributed (the scenario's default): one `NationalNode` per nation on a bus.
Centralized (`fusion: centralized`, the accuracy reference): one tracker over
every plot the policies allow to pool (`policy.poolable_sensors`), one viewer
`ALL`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import msgspec
import numpy as np
from numpy.typing import NDArray

from airpicture.fusion import FusionSettings
from airpicture.fusion.gridlock import GridlockSettings
from airpicture.network.assessor import AssessorFactory, national_assessor
from airpicture.network.bus import Bus, Envelope, InProcessBus, LinkQuality, scenario_links
from airpicture.network.messages import PLOT_COLUMNS, MessageKind
from airpicture.network.node import NationalNode, NodeSettings, NodeSnapshot
from airpicture.network.schedule import Stage, StageKind, picture_times_s, stages
from airpicture.network.signing import Keyring
from airpicture.policy import ReleasePolicy, poolable_sensors
from airpicture.scenario import LoadedScenario
from airpicture.tables import PICTURE_SCHEMA, Table, concat_tables
from airpicture.threat.assessment import Assessor, BoostReports
from airpicture.threat.warning import Warning
from airpicture.tracking import Tracker, TrackerSettings, sensor_models
from airpicture.tracking.registration import RegistrationSettings

Fusion = Literal["distributed", "centralized"]


@dataclass(frozen=True)
class NetworkSettings:
    tracker: TrackerSettings = field(default_factory=TrackerSettings)
    fusion: FusionSettings = field(default_factory=FusionSettings)
    #: Own plots are sent to partners in batches at most this long, s.
    plot_batch_s: float = 1.0
    #: Sensor registration and gridlock in every node (`enabled=False`: off, what
    #: `airpicture run --no-registration` sets).
    registration: RegistrationSettings = field(default_factory=RegistrationSettings)
    gridlock: GridlockSettings = field(default_factory=GridlockSettings)
    #: Liveness (`network/liveness.py`): a heartbeat on a link idle this long, and a partner
    #: silent longer than `partner_down_after_s` marked down; None: the node's defaults.
    heartbeat_interval_s: float | None = None
    partner_down_after_s: float | None = None
    #: A centralized run also makes each nation's view: a central tracker over only the
    #: pooled reports that nation may hold (what a nation's web session is given; the
    #: pooled `ALL` picture never is). Off by default: it tracks once more per nation.
    national_views: bool = False

    def node(self) -> NodeSettings:
        return NodeSettings(
            tracker=self.tracker,
            fusion=self.fusion,
            plot_batch_s=self.plot_batch_s,
            registration=self.registration,
            gridlock=self.gridlock,
            heartbeat_interval_s=self.heartbeat_interval_s,
            partner_down_after_s=self.partner_down_after_s,
        )

    def without_registration(self) -> NetworkSettings:
        """These settings with registration and gridlock off."""
        return replace(
            self,
            registration=replace(self.registration, enabled=False),
            gridlock=replace(self.gridlock, enabled=False),
        )


@dataclass(frozen=True)
class NetworkSnapshot:
    time_s: float
    #: Picture rows per viewer (a nation, or `ALL`).
    pictures: dict[str, Table]
    #: Warnings issued at this time, by any node.
    warnings: list[Warning]


class NodeFailedError(RuntimeError):
    """A node raised in one of its stages: which node, where, when, and what it raised."""

    def __init__(self, node: str, stage: str, time_s: float, cause: BaseException) -> None:
        self.node = node
        self.stage = stage
        self.time_s = time_s
        self.cause = cause
        super().__init__(f"the {node} node failed in its {stage} stage at {time_s:g} s: {cause!r}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "stage": self.stage,
            "time_s": self.time_s,
            "error": repr(self.cause),
        }


@dataclass(frozen=True)
class NetworkResult:
    fusion_used: Fusion
    picture: Table
    warnings: list[Warning]
    #: Per node: message counts, refusals, release counts, CPU seconds per phase.
    stats: dict[str, Any]
    #: Wall-clock seconds of the whole network run.
    seconds: float
    #: Every assessor's ranked threat-against-asset rows (threats.jsonl).
    threats: list[dict[str, Any]] = field(default_factory=list)
    #: The node that failed, if one did: the result then holds what was finished before.
    failure: NodeFailedError | None = None
    #: Every node's sensor-registration estimates (`registration.parquet`; {} when none).
    registration: Table = field(default_factory=dict)


def hold_s(
    policy: ReleasePolicy,
    links: Mapping[tuple[str, str], LinkQuality],
    settings: NetworkSettings,
    nation: str,
) -> float:
    """How far a node's trackers lag: enough for partners' plots to arrive in time.

    A plot is sent at the end of its batch (≤ plot_batch_s after it) and arrives
    one link latency later; with no latency on any link sending plots here, 0.
    """
    col = policy.nation_index(nation)
    senders = {policy.nations[int(o)] for o in policy.sensor_owner[policy.plot_marking[:, col]]} - {
        nation
    }
    latency = max(
        (links[(s, nation)].latency_s for s in senders if (s, nation) in links), default=0.0
    )
    return latency + settings.plot_batch_s if latency > 0.0 else 0.0


#: One publication a staged bus holds: `Bus.publish`'s arguments.
Publication = tuple[str, str, bytes, float, MessageKind]


class _StagedBus:
    """A node's bus: what it publishes while it fuses waits for its next stage that
    publishes (`schedule.py`)."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.holding = False
        self.held: list[Publication] = []

    def publish(
        self, sender: str, receiver: str, payload: bytes, sent_s: float, kind: MessageKind
    ) -> None:
        if self.holding:
            self.held.append((sender, receiver, payload, sent_s, kind))
        else:
            self.bus.publish(sender, receiver, payload, sent_s, kind)

    def receive(self, receiver: str, until_s: float) -> list[Envelope]:
        return self.bus.receive(receiver, until_s)

    def release(self) -> None:
        """What was held, onto the bus in the order it was published."""
        for publication in self.held:
            self.bus.publish(*publication)
        self.held = []


class _CentralNode:
    """A central tracker over pooled plots: the centralized reference (viewer `ALL`, every
    poolable plot), or a nation's view of it (only the pooled plots that nation may hold;
    its warnings go to that nation alone)."""

    def __init__(
        self,
        loaded: LoadedScenario,
        settings: NetworkSettings,
        assessor: Assessor,
        viewer: str = "ALL",
        sensor_ids: Iterable[str] | None = None,
    ) -> None:
        scenario = loaded.scenario
        pooled = set(poolable_sensors(scenario) if sensor_ids is None else sensor_ids)
        self.viewer = viewer
        self.sensor_ids = pooled
        self.tracker = Tracker(
            sensor_models([s for s in scenario.sensors if s.id in pooled]), settings.tracker
        )
        self.assessor = assessor
        self.seconds: dict[str, float] = {"tracking": 0.0, "assessment": 0.0}
        self._boost_after_s = -math.inf

    def step(self, plots: Table, now_s: float) -> NetworkSnapshot:
        t0 = time.process_time()
        keep = np.isin(plots["sensor_id"], list(self.sensor_ids)) if len(plots["time_s"]) else None
        if keep is not None and keep.any():
            self.tracker.process({c: v[keep] for c, v in plots.items()})
        self.tracker.advance_to(now_s)
        picture = self.tracker.snapshot(now_s, self.viewer)
        view = self.tracker.view(now_s)
        self.seconds["tracking"] += time.process_time() - t0
        t0 = time.process_time()
        boost = self._new_boost(now_s)
        assessment = self.assessor.assess(view, boost, now_s)
        picture["cls"] = np.asarray(assessment.cls, dtype=object)
        picture["identity"] = np.asarray(assessment.identity, dtype=object)
        # A nation's view tells no one else: its warnings derive from what it may hold.
        told = None if self.viewer == "ALL" else (self.viewer,)
        warnings = [
            msgspec.structs.replace(
                w, issued_by=self.viewer, recipients=w.recipients if told is None else told
            )
            for w in assessment.warnings
        ]
        self.seconds["assessment"] += time.process_time() - t0
        return NetworkSnapshot(now_s, {self.viewer: picture}, warnings)

    def _new_boost(self, until_s: float) -> BoostReports:
        boost = self.tracker.boost.between(self._boost_after_s, until_s)
        self._boost_after_s = until_s
        return boost


class NetworkRun:
    """The network over one scenario's reports, advanced picture time by picture time."""

    def __init__(
        self,
        loaded: LoadedScenario,
        plots: Mapping[str, NDArray[Any]],
        settings: NetworkSettings | None = None,
        assessor_factory: AssessorFactory = national_assessor,
        fusion: Fusion | None = None,
        bus: Bus | None = None,
        keys: Mapping[str, Keyring] | None = None,
    ) -> None:
        """`keys`: each nation's keyring; by default a fresh key pair per nation for this
        run (`Keyring.generate`), so every message is signed and checked as deployed."""
        self.loaded = loaded
        scenario = loaded.scenario
        self.settings = settings or NetworkSettings()
        self.fusion: Fusion = fusion or scenario.fusion
        self.interval_s = scenario.picture_interval_s
        self.end_s = scenario.duration_s
        self.times_s = picture_times_s(scenario)
        self._step = 0
        # Reports in time order; `target_id` (truth) never enters the network.
        n = len(plots["time_s"]) if "time_s" in plots else 0
        times = np.asarray(plots["time_s"], dtype=np.float64) if n else np.empty(0)
        order = np.argsort(times, kind="stable")
        self._plots: Table = {c: np.asarray(plots[c])[order] for c in PLOT_COLUMNS if c in plots}
        self._plot_times = times[order]
        self._cursor = 0
        self.policy = ReleasePolicy.from_scenario(scenario)
        owner = {s.id: s.nation for s in scenario.sensors}
        self._plot_nation = np.array(
            [owner.get(str(s), "") for s in self._plots.get("sensor_id", np.empty(0))],
            dtype=object,
        )
        self.links = scenario_links(scenario)
        self.bus: Bus = bus or InProcessBus(self.links, scenario.seed)
        self.nodes: dict[str, NationalNode] = {}
        #: The centralized run's central trackers: `ALL`, then each nation's view.
        self.centrals: dict[str, _CentralNode] = {}
        self._staged: dict[str, _StagedBus] = {}
        nations = sorted(scenario.nations)
        self.keys: Mapping[str, Keyring] = keys if keys is not None else Keyring.generate(nations)
        if self.fusion == "centralized":
            self.centrals["ALL"] = _CentralNode(
                loaded, self.settings, assessor_factory(scenario, "ALL")
            )
            if self.settings.national_views:
                pooled = poolable_sensors(scenario)
                for nation in nations:
                    holds = self.policy.holdable_sensors(nation)
                    own = [s for s in pooled if holds[self.policy.sensor_ids.index(s)]]
                    self.centrals[nation] = _CentralNode(
                        loaded, self.settings, assessor_factory(scenario, nation), nation, own
                    )
        else:
            node_settings = self.settings.node()
            for nation in nations:
                self._staged[nation] = _StagedBus(self.bus)
                self.nodes[nation] = NationalNode(
                    nation,
                    scenario,
                    self.policy,
                    self._staged[nation],
                    assessor_factory(scenario, nation),
                    node_settings,
                    hold_s=hold_s(self.policy, self.links, self.settings, nation),
                    keys=self.keys[nation],
                )

    @property
    def viewers(self) -> list[str]:
        """The pictures' viewers: every nation, or `ALL` for the centralized reference."""
        if self.centrals:
            return list(self.centrals)
        return list(self.nodes)

    @property
    def time_s(self) -> float:
        """The last picture time taken (0 before the first)."""
        return float(self.times_s[self._step - 1]) if self._step else 0.0

    @property
    def done(self) -> bool:
        return self._step >= self.times_s.size

    def advance(self, to_time_s: float) -> list[NetworkSnapshot]:
        """Take every picture time up to `to_time_s`; one snapshot per picture time."""
        return list(self.snapshots_until(to_time_s))

    def snapshots_until(self, to_time_s: float) -> Iterator[NetworkSnapshot]:
        """`advance`, yielding each picture time's snapshot as soon as it is done.
        Take it to the end before calling anything else on the run."""
        first = self._step
        end = int(np.searchsorted(self.times_s, to_time_s + 1e-9, side="right"))
        if end <= first:
            return
        if self.centrals:
            for k in range(first, end):
                now_s = float(self.times_s[k])
                rows, _ = self._new_plots(now_s)
                snapshots: dict[str, NetworkSnapshot] = {}
                for viewer, central in self.centrals.items():
                    with _blame(viewer, "central", now_s):
                        snapshots[viewer] = central.step(rows, now_s)
                self._step = k + 1
                yield NetworkSnapshot(
                    now_s,
                    {v: p for s in snapshots.values() for v, p in s.pictures.items()},
                    [w for s in snapshots.values() for w in s.warnings],
                )
        else:
            for stage in stages(first, end):
                snapshot = self._one_process_stage(stage)
                if snapshot is not None:
                    self._step = stage.cycle + 1
                    yield snapshot

    def _new_plots(self, now_s: float) -> tuple[Table, NDArray[np.object_]]:
        stop = int(np.searchsorted(self._plot_times, now_s, side="right"))
        rows = {c: v[self._cursor : stop] for c, v in self._plots.items()}
        nations = self._plot_nation[self._cursor : stop]
        self._cursor = stop
        return rows, nations

    @staticmethod
    def _rows_of(rows: Table, nations: NDArray[np.object_], nation: str) -> Table | None:
        mine = nations == nation
        return {c: v[mine] for c, v in rows.items()} if mine.any() else None

    def _one_process_stage(self, stage: Stage) -> NetworkSnapshot | None:
        """One stage of every node, in the nations' order; the snapshot at `fuse`.

        Every node receives before any publishes, so that what a stage receives is
        what the stages before it published, whatever order the nodes run in. A node
        that raises is named (`NodeFailedError`): the others are not blamed for it."""
        if stage.cycle >= self.times_s.size:
            return None  # the plots stage after the last picture time: no reports
        now_s = float(self.times_s[stage.cycle])
        nodes = list(self.nodes.values())
        if stage.kind is StageKind.PLOTS:
            rows, nations = self._new_plots(now_s)
            for node in nodes:
                self._staged[node.nation].release()
                mine = self._rows_of(rows, nations, node.nation)
                with _blame(node.nation, "plots", now_s):
                    if mine is not None:
                        node.ingest_own(mine)
                    node.publish_plots(now_s)
            return None
        for node in nodes:
            with _blame(node.nation, f"{stage.kind.value} (receive)", now_s):
                node.receive(now_s)
        if stage.kind is StageKind.TRACKS:
            for node in nodes:
                self._staged[node.nation].release()
                with _blame(node.nation, "tracks", now_s):
                    node.publish_tracks(now_s)
                    node.publish_heartbeats(now_s)
            return None
        for staged in self._staged.values():
            staged.holding = True
        fused: dict[str, NodeSnapshot] = {}
        for node in nodes:
            with _blame(node.nation, "fuse", now_s):
                fused[node.nation] = node.fuse(now_s)
        snapshot = _network_snapshot(now_s, fused)
        for staged in self._staged.values():
            staged.holding = False
        return snapshot

    def threat_log(self) -> list[dict[str, Any]]:
        """Every node's ranked threat rows so far (for assessors that keep them), by time."""
        assessors = [c.assessor for c in self.centrals.values()]
        rows = [row for a in assessors for row in getattr(a, "threat_log", [])]
        rows += [row for node in self.nodes.values() for row in node.threat_log()]
        return sorted(rows, key=lambda r: (r.get("time_s", 0.0), r.get("nation", "")))

    def registration_table(self) -> Table:
        """Every node's sensor-registration estimates so far (`registration.parquet` rows;
        none in a centralized run: its one tracker takes the reports as they come)."""
        tables = [node.registration.table() for node in self.nodes.values()]
        if not tables:
            return {}
        return {name: np.concatenate([t[name] for t in tables]) for name in tables[0]}

    def stats(self) -> dict[str, Any]:
        """Counts and timings of every node and link."""
        out: dict[str, Any] = {"fusion": self.fusion, "nodes": {}}
        for viewer, central in self.centrals.items():
            out["nodes"][viewer] = {
                "seconds": dict(central.seconds),
                "tracker_reports": central.tracker.counts.as_dict(),
            }
        for nation, node in self.nodes.items():
            out["nodes"][nation] = node.stats()
        counts = getattr(self.bus, "counts", None)
        if counts is not None and hasattr(counts, "as_dict"):
            out["links"] = counts.as_dict()
        return out


@contextmanager
def _blame(node: str, stage: str, now_s: float) -> Iterator[None]:
    """Whatever `node` raises in `stage` becomes a `NodeFailedError` naming it."""
    try:
        yield
    except NodeFailedError:
        raise
    except Exception as exc:
        raise NodeFailedError(node, stage, now_s, exc) from exc


def _network_snapshot(now_s: float, snapshots: Mapping[str, NodeSnapshot]) -> NetworkSnapshot:
    """The nodes' snapshots of one picture time as the network's (warnings in nations' order)."""
    nations = sorted(snapshots)
    return NetworkSnapshot(
        now_s,
        {n: snapshots[n].picture for n in nations},
        [w for n in nations for w in snapshots[n].warnings],
    )


def run_network(
    loaded: LoadedScenario,
    plots: Mapping[str, NDArray[Any]],
    settings: NetworkSettings | None = None,
    assessor_factory: AssessorFactory = national_assessor,
    fusion: Fusion | None = None,
    on_progress: Callable[[NetworkRun], None] | None = None,
    progress_step_s: float = 60.0,
) -> NetworkResult:
    """The whole scenario in one go: every viewer's picture and every warning issued.

    `on_progress(run)` is called every `progress_step_s` of scenario time. Extra
    picture columns every snapshot has (the trackers' mode probabilities) are kept.
    A node that fails ends the run: the result then holds every picture time finished
    before, and `failure` names the node (`NodeFailedError`).
    """
    start = time.perf_counter()
    pictures: list[Table] = []
    warnings: list[Warning] = []
    run = NetworkRun(loaded, plots, settings, assessor_factory, fusion)
    step = max(run.interval_s, progress_step_s)
    reported_s = 0.0
    failure: NodeFailedError | None = None
    try:
        for snapshot in run.snapshots_until(math.inf):
            pictures.extend(snapshot.pictures[v] for v in sorted(snapshot.pictures))
            warnings.extend(snapshot.warnings)
            if on_progress is not None and (run.done or run.time_s >= reported_s + step - 1e-9):
                on_progress(run)
                reported_s = run.time_s
    except NodeFailedError as exc:
        failure = exc
    stats, threats = run.stats(), run.threat_log()
    if failure is not None:
        stats["failure"] = failure.as_dict()
    picture = concat_tables(pictures, PICTURE_SCHEMA)
    for name in pictures[0] if pictures else ():
        if name not in picture and all(name in p for p in pictures):
            picture[name] = np.concatenate([p[name] for p in pictures])
    return NetworkResult(
        fusion_used=run.fusion,
        picture=picture,
        warnings=warnings,
        stats=stats,
        seconds=time.perf_counter() - start,
        threats=threats,
        failure=failure,
        registration=run.registration_table(),
    )

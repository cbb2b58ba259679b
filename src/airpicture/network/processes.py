"""National nodes in worker processes: each nation computes on its own CPU, as it would
on its own machine, and talks to its partners directly.

`NetworkRun(..., node_processes=True)` keeps every `NationalNode` in a worker
process of its own. The workers are connected to each other (a socket pair per
pair of nations) and to the coordinator (the caller). The coordinator only
hands each worker its own sensors' reports and collects the pictures; the
messages between nations go from worker to worker.

Each worker takes the stages of `schedule.py` in the run's order. After every
stage that publishes (plots, tracks) it sends each partner one frame: the
stage's index and what it published to that partner, often nothing (the frame
then only says the stage is done); what its node published while fusing joins
the next frame. Before a stage that receives, it reads every partner's frames
up to that stage, in stage order and the nations' sorted order, onto the links
into its node (an `InProcessBus` with the scenario's latency and loss, whose
random streams are per link). That is the order in which the one-process run
puts the same messages on its bus, so the pictures, warnings and counts are
identical to it (`tests/network/test_node_processes.py`). A node waits only
for the frames it needs — before fusing, its partners' tracks — never for a
round of all nodes, and the coordinator is not on the way.

Sends go through a thread per worker, so a worker never blocks on a partner
that is not reading; a worker can run at most about a cycle ahead of the
slowest partner, so the frames in flight stay few.

The workers come from one fresh interpreter (`python -c`, `fork_workers`): it
imports the node code once and forks a worker per nation, each running `serve`
and talking pickled frames over socket pairs. Nothing is inherited from the
caller — no threads, no locks, no re-import of the caller's main script, so any
script may call `run_network` without a `__main__` guard — and the imports are
paid once, not once per nation. A worker's failure is raised in the coordinator with
the worker's traceback (not the partners' complaints that it went away); the
workers end with `close()`, or by themselves when the coordinator's end closes.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

import numpy as np
from numpy.typing import NDArray

from airpicture.network.assessor import AssessorFactory
from airpicture.network.bus import Envelope, InProcessBus, LinkQuality
from airpicture.network.node import NationalNode, NodeSettings, NodeSnapshot
from airpicture.network.schedule import Stage, makespan_s, publishes, receives, stages
from airpicture.policy import ReleasePolicy
from airpicture.scenario import Scenario
from airpicture.tables import Table

#: One message a node published: (sender, receiver, payload, sent_s).
Publication = tuple[str, str, bytes, float]

#: What a worker interpreter runs: its socket file descriptors are its arguments.
_WORKER = (
    "import sys; from airpicture.network.processes import serve; "
    "serve([int(a) for a in sys.argv[1:]])"
)

#: What the workers' parent runs: one group of descriptors per worker ("3,4,5").
_PARENT = (
    "import sys; from airpicture.network.processes import fork_workers; "
    "fork_workers([[int(f) for f in g.split(',')] for g in sys.argv[1:]])"
)

#: The parent starts no thread while importing, so that forking it is safe: BLAS's
#: thread pool (the nodes' matrices are small) and PyArrow's allocator thread stay off.
_SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "JE_ARROW_MALLOC_CONF": "background_thread:false"}

_PICKLE = pickle.HIGHEST_PROTOCOL

#: The workers' shares of the cores are weighted by their work over this many cycles.
_BALANCE_AFTER_CYCLES = 20


class NodeProcessError(RuntimeError):
    """A node's worker process failed; carries the nation and the worker's traceback."""

    def __init__(self, nation: str, detail: str) -> None:
        super().__init__(f"the {nation} node's worker process failed:\n{detail}")
        self.nation = nation
        self.detail = detail


class _PartnerGoneError(RuntimeError):
    """A partner's worker ended while this one waited for its frames (it failed first)."""


class WorkerBus:
    """The bus as a node in a worker sees it: what it publishes waits in an outbox
    for the worker to send; what it receives comes off the links into this node."""

    def __init__(self, inbound: InProcessBus) -> None:
        self.inbound = inbound
        self.outbox: list[Publication] = []

    def publish(self, sender: str, receiver: str, payload: bytes, sent_s: float) -> None:
        self.outbox.append((sender, receiver, payload, sent_s))

    def receive(self, receiver: str, until_s: float) -> list[Envelope]:
        return self.inbound.receive(receiver, until_s)


class _Sender:
    """Threads that write frames, one per connection, so that a worker never waits for
    a reader (a partner busy computing), nor one reader for another."""

    def __init__(self) -> None:
        self._queues: dict[int, queue.SimpleQueue[bytes | None]] = {}
        self._threads: list[threading.Thread] = []

    def send(self, conn: Connection, message: Any) -> None:
        key = id(conn)
        if key not in self._queues:
            self._queues[key] = queue.SimpleQueue()
            thread = threading.Thread(target=self._run, args=(conn, self._queues[key]),
                                      name="sender", daemon=True)  # fmt: skip
            thread.start()
            self._threads.append(thread)
        self._queues[key].put(pickle.dumps(message, _PICKLE))

    @staticmethod
    def _run(conn: Connection, frames: queue.SimpleQueue[bytes | None]) -> None:
        while (frame := frames.get()) is not None:
            try:
                conn.send_bytes(frame)
            except OSError:
                return  # the reader is gone: nothing more to tell it

    def close(self) -> None:
        """Send what is queued, then stop."""
        for frames in self._queues.values():
            frames.put(None)
        for thread in self._threads:
            thread.join()


class _Worker:
    """One node and its links: takes stages, trades frames with its partners."""

    def __init__(
        self,
        node: NationalNode,
        bus: WorkerBus,
        partners: Mapping[str, Connection],
        times_s: NDArray[np.float64],
        sender: _Sender,
    ) -> None:
        self.node = node
        self.bus = bus
        self.partners = dict(sorted(partners.items()))
        self.times_s = times_s
        self.sender = sender
        self.own: Table = {}
        #: What the node published in a stage that does not publish (fuse), for the next.
        self.held: list[Publication] = []
        #: Frames not sent yet, per partner (`run`), and frames read but not fed (`feed`).
        self.unsent: dict[str, list[tuple[int, list[tuple[bytes, float]]]]] = {
            p: [] for p in self.partners
        }
        self.received: dict[str, list[tuple[int, list[tuple[bytes, float]]]]] = {
            p: [] for p in self.partners
        }
        #: Partners' frames of every stage before this one are on the links.
        self.fed = 0
        self.next_stage = 0

    def take_plots(self, plots: Table | None) -> None:
        """The own reports of the coming cycles (in time order), after those held."""
        if plots is None or not len(plots.get("time_s", ())):
            return
        if not self.own or not len(self.own["time_s"]):
            self.own = dict(plots)
        else:
            self.own = {c: np.concatenate([self.own[c], plots[c]]) for c in self.own}

    def _own_until(self, until_s: float) -> Table | None:
        times = self.own.get("time_s")
        if times is None or not len(times):
            return None
        stop = int(np.searchsorted(times, until_s, side="right"))
        if stop == 0:
            return None
        rows = {c: v[:stop] for c, v in self.own.items()}
        self.own = {c: v[stop:] for c, v in self.own.items()}
        return rows

    def run(self, stage: Stage) -> tuple[NodeSnapshot | None, float]:
        """Take one stage; its result (a picture at `fuse`) and its CPU seconds."""
        assert stage.index == self.next_stage, (stage, self.next_stage)
        t0 = time.process_time()
        node, result = self.node, None
        if stage.cycle < self.times_s.size:
            now_s = float(self.times_s[stage.cycle])
            if stage.receives:
                self.feed(stage.index)
                node.receive(now_s)
            if stage.kind == "plots":
                plots = self._own_until(now_s)
                if plots is not None:
                    node.ingest_own(plots)
                node.publish_plots(now_s)
            elif stage.kind == "tracks":
                node.publish_tracks(now_s)
            else:
                result = node.fuse(now_s)
        self.held += self.bus.outbox
        self.bus.outbox = []
        strays = {to for _, to, _, _ in self.held} - set(self.partners)
        if strays:
            raise ValueError(f"{node.nation} published to {sorted(strays)}, not partners")
        if stage.publishes:
            for partner in self.partners:
                frame = [(payload, sent_s) for _, to, payload, sent_s in self.held if to == partner]
                self.unsent[partner].append((stage.index, frame))
            self.held = []
        if receives(stage.index + 1) or stage.cycle >= self.times_s.size:
            # Frames go out when a partner may need them: before a stage that receives
            # (the tracks frame waits for the next plots frame: one wake-up, not two).
            for partner, conn in self.partners.items():
                if self.unsent[partner]:
                    self.sender.send(conn, self.unsent[partner])
                    self.unsent[partner] = []
        self.next_stage += 1
        return result, time.process_time() - t0

    def feed(self, before: int) -> None:
        """Every partner's publications of the stages before `before` onto the links,
        in stage order and the nations' order (waits for partners still working)."""
        nation = self.node.nation
        while self.fed < before:
            for partner, conn in self.partners.items() if publishes(self.fed) else ():
                if not self.received[partner]:
                    try:
                        self.received[partner] = pickle.loads(conn.recv_bytes())[::-1]
                    except (EOFError, OSError) as exc:
                        raise _PartnerGoneError(f"the {partner} node's worker ended") from exc
                index, frame = self.received[partner].pop()
                if index != self.fed:
                    raise RuntimeError(f"{partner} sent stage {index}, expected {self.fed}")
                for payload, sent_s in frame:
                    self.bus.inbound.publish(partner, nation, payload, sent_s)
            self.fed += 1


def serve(fds: Sequence[int]) -> None:
    """A worker's life: build the node, then take the coordinator's commands until closed.

    `fds`: the coordinator's socket, then one per partner (named in the build message).
    """
    control = Connection(fds[0])
    sender = _Sender()
    try:
        worker = _build(control, fds[1:], sender)
    except BaseException:  # everything goes back to the coordinator
        sender.send(control, ("error", traceback.format_exc()))
        sender.close()
        return
    sender.send(control, ("ready", time.process_time(), os.getpid()))
    try:
        while True:
            try:
                command, args = pickle.loads(control.recv_bytes())
            except (EOFError, OSError):
                return  # the coordinator is gone
            if command == "close":
                return
            if command == "advance":
                first, end, plots = args
                worker.take_plots(plots)
                spent: list[float] = []
                for stage in stages(first, end):
                    snapshot, cpu_s = worker.run(stage)
                    spent.append(cpu_s)
                    if stage.kind == "fuse":  # a cycle ends: its picture, its stages' CPU
                        sender.send(control, ("cycle", stage.cycle, snapshot, spent))
                        spent = []
            elif command == "stats":
                t0 = time.process_time()
                worker.feed(worker.next_stage)  # what partners sent is counted as sent
                stats = worker.node.stats()
                stats["links"] = worker.bus.inbound.counts.as_dict()
                sender.send(control, ("result", stats, time.process_time() - t0))
            elif command == "threat_log":
                sender.send(control, ("result", worker.node.threat_log(), 0.0))
            else:
                raise ValueError(f"unknown command {command!r}")
    except _PartnerGoneError as exc:
        sender.send(control, ("partner_gone", str(exc)))
    except BaseException:  # the coordinator raises it
        sender.send(control, ("error", traceback.format_exc()))
    finally:
        sender.close()
        for conn in worker.partners.values():
            conn.close()


def fork_workers(groups: Sequence[Sequence[int]]) -> None:
    """The workers' parent: the node code is imported once, here, then each worker is
    a fork of this interpreter (`serve` on one group of descriptors); waits for them.

    Forking is safe in this interpreter — it has imported modules and started no
    thread — unlike in the caller's process. Where it cannot be seen to be single-
    threaded (no /proc), each worker is a fresh interpreter instead.
    """
    try:
        threads = len(os.listdir("/proc/self/task"))
    except OSError:
        threads = 0
    if threads == 1:
        _load_compiled_kernels()
    children: list[int] = []
    spawned: list[subprocess.Popen[bytes]] = []
    for group in groups:
        if threads != 1:
            cmd = [sys.executable, "-c", _WORKER, *map(str, group)]
            spawned.append(subprocess.Popen(cmd, pass_fds=group))
            continue
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                for fd in (f for other in groups if other is not group for f in other):
                    os.close(fd)
                serve(group)
                code = 0
            finally:
                os._exit(code)
        children.append(pid)
    for fd in (f for group in groups for f in group):
        os.close(fd)
    for pid in children:
        os.waitpid(pid, 0)
    for proc in spawned:
        proc.wait()


def _load_compiled_kernels() -> None:
    """Load every kernel signature numba has compiled on this machine (its cache), so
    that forked workers start with the machine code instead of each loading it at its
    first call (~0.2 s of CPU per worker on pacific-shield).

    Only speed is at stake: an entry of another machine is not compiled, and if numba's
    cache layout (not a public API) changes, nothing is loaded here.
    """
    from numba.core.dispatcher import Dispatcher

    from airpicture.tracking import kernels

    for kernel in vars(kernels).values():
        if not isinstance(kernel, Dispatcher):
            continue
        dispatcher: Any = kernel  # numba's cache internals are untyped
        try:
            magic = dispatcher.targetctx.codegen().magic_tuple()
            for key in dispatcher._cache._cache_file._load_index():
                if key[1] == magic:
                    dispatcher.compile(key[0])
        except Exception:  # a cache it cannot read: the kernel loads at its first call
            continue


def _build(control: Connection, partner_fds: Sequence[int], sender: _Sender) -> _Worker:
    (nation, partner_names, scenario, policy, assessor_factory, settings, hold_s, links, seed,
     times_s) = pickle.loads(control.recv_bytes())  # fmt: skip
    partners = {name: Connection(fd) for name, fd in zip(partner_names, partner_fds, strict=True)}
    bus = WorkerBus(InProcessBus(links, seed))
    node = NationalNode(
        nation, scenario, policy, bus, assessor_factory(scenario, nation), settings, hold_s
    )
    return _Worker(node, bus, partners, times_s, sender)


class NodeProcesses:
    """Every nation's node in its own worker process, linked to the others."""

    def __init__(
        self,
        nations: Sequence[str],
        scenario: Scenario,
        policy: ReleasePolicy,
        assessor_factory: AssessorFactory,
        settings: NodeSettings,
        hold_s: Mapping[str, float],
        links: Mapping[tuple[str, str], LinkQuality],
        times_s: NDArray[np.float64],
        wait: bool = True,
    ) -> None:
        """Start the workers; `wait`: until each has built its node (else the first
        `ready()` or command waits, so that the caller can work meanwhile)."""
        self.nations = sorted(nations)
        self.times_s = times_s
        self._ready = False
        #: CPU seconds each worker spent (building its node included).
        self.cpu_s: dict[str, float] = {}
        #: Each worker's nice value (`_share_cores`).
        self.nice: dict[str, int] = {n: 0 for n in self.nations}
        #: Each worker's CPU seconds per stage, by stage index.
        self.stage_cpu_s: dict[str, list[float]] = {n: [] for n in self.nations}
        self._conns: dict[str, Connection] = {}
        #: The workers' parent (`fork_workers`), and each worker's process id.
        self._procs: list[subprocess.Popen[bytes]] = []
        self._pids: dict[str, int] = {}
        pairs = {
            (a, b): socket.socketpair()
            for i, a in enumerate(self.nations)
            for b in self.nations[i + 1 :]
        }
        theirs: list[socket.socket] = []
        try:
            groups: list[list[int]] = []
            for nation in self.nations:
                ours, worker_end = socket.socketpair()
                theirs.append(worker_end)
                self._conns[nation] = Connection(ours.detach())
                ends = [pairs[(nation, p)][0] if nation < p else pairs[(p, nation)][1]
                        for p in self.nations if p != nation]  # fmt: skip
                groups.append([worker_end.fileno(), *(end.fileno() for end in ends)])
            self._procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", _PARENT, *(",".join(map(str, g)) for g in groups)],
                    pass_fds=[fd for g in groups for fd in g],
                    env={**_SINGLE_THREADED, **os.environ},
                )
            )
            for nation in self.nations:
                partners = [p for p in self.nations if p != nation]
                build = (nation, partners, scenario, policy, assessor_factory, settings,
                         hold_s[nation], dict(links), scenario.seed, times_s)  # fmt: skip
                try:
                    data = pickle.dumps(build, _PICKLE)
                except (pickle.PicklingError, AttributeError, TypeError) as exc:
                    raise TypeError(
                        f"cannot hand the {nation} node to a worker process ({exc}): the "
                        "assessor factory must be a module-level function; or run the "
                        "nodes in one process (node_processes=False)"
                    ) from exc
                self._conns[nation].send_bytes(data)
            if wait:
                self.ready()
        except BaseException:
            self.close()
            raise
        finally:
            for end in [*theirs, *(e for pair in pairs.values() for e in pair)]:
                end.close()  # the workers hold their own copies

    def ready(self) -> None:
        """Wait until every worker has built its node; raise its failure if one could not."""
        if not self._ready:
            for nation in self.nations:
                _, cpu_s, pid = self._expect(nation, "ready")
                self.cpu_s[nation], self._pids[nation] = float(cpu_s), int(pid)
            self._ready = True

    def cycles(
        self, first: int, end: int, plots: Mapping[str, Table | None]
    ) -> Iterator[tuple[int, dict[str, NodeSnapshot]]]:
        """Take cycles first … end − 1: hand each node its own reports for them
        (those up to the last cycle's time), yield each cycle's pictures as they come."""
        self.ready()
        for nation in self.nations:
            self._send(nation, ("advance", (first, end, plots.get(nation))))
        for cycle in range(first, end):
            snapshots: dict[str, NodeSnapshot] = {}
            for nation in self.nations:
                _, done, snapshot, spent = self._expect(nation, "cycle")
                if done != cycle:
                    self._fail(nation, f"sent cycle {done}, expected {cycle}")
                self.stage_cpu_s[nation] += spent
                self.cpu_s[nation] += sum(spent)
                snapshots[nation] = snapshot
            if cycle + 1 == _BALANCE_AFTER_CYCLES:
                self._share_cores()
            yield cycle, snapshots

    def _share_cores(self) -> None:
        """When the nodes outnumber the cores, weight each worker's share of the CPU by
        its work so far, so that the nodes of a cycle finish together.

        Every cycle, a node's fusion waits for every partner's tracks: with equal
        shares a light node takes as much of a core as a heavy one, and the heavy
        one, finishing last, holds up the cycle. A nice value n weighs a process
        about 1.25⁻ⁿ, so a node with w of the heaviest node's CPU gets
        round(log(1/w) / log 1.25). Raising a nice value is one-way for an
        unprivileged process; it is set once, after the first cycles.
        """
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        if len(self.nations) <= cores:
            return
        work = np.array([sum(self.stage_cpu_s[n]) for n in self.nations])
        if not (work > 0.0).all():
            return
        nice = np.rint(np.log(work.max() / work) / np.log(1.25)).astype(int).clip(0, 19)
        for nation, n in zip(self.nations, nice.tolist(), strict=True):
            if n > 0:
                with contextlib.suppress(OSError):  # a worker that already ended
                    os.setpriority(os.PRIO_PROCESS, self._pids[nation], n)
            self.nice[nation] = n

    def call(self, command: str) -> dict[str, Any]:
        """Every node's answer to `command` ("stats", "threat_log"), by nation."""
        self.ready()
        for nation in self.nations:
            self._send(nation, (command, None))
        out = {}
        for nation in self.nations:
            _, result, cpu_s = self._expect(nation, "result")
            self.cpu_s[nation] += cpu_s
            out[nation] = result
        return out

    def makespan_cpu_s(self, cores: int | None = None) -> float:
        """The nodes' run time from their CPU per stage: on a core per node (None), or
        sharing `cores` cores (`schedule.makespan_s`)."""
        return makespan_s(self.stage_cpu_s, cores)

    def _send(self, nation: str, message: Any) -> None:
        try:
            self._conns[nation].send_bytes(pickle.dumps(message, _PICKLE))
        except OSError:
            self._fail(nation, "the worker ended unexpectedly")

    def _expect(self, nation: str, kind: str) -> tuple[Any, ...]:
        try:
            message: tuple[Any, ...] = pickle.loads(self._conns[nation].recv_bytes())
        except (EOFError, OSError):
            self._fail(nation, "the worker ended unexpectedly")
        if message[0] != kind:
            self._fail(nation, str(message[1]) if len(message) > 1 else repr(message),
                       partner_gone=message[0] == "partner_gone")  # fmt: skip
        return message

    def _fail(self, nation: str, detail: str, partner_gone: bool = False) -> Any:
        """Raise the failure that started it: a worker that complains a partner went
        away names the partner's own failure, which the others then report."""
        failures = {nation: (partner_gone, detail)}
        if partner_gone:
            waiting = {id(c): n for n, c in self._conns.items() if n != nation}
            deadline = time.monotonic() + 10.0
            while waiting and time.monotonic() < deadline:
                ready = wait([self._conns[n] for n in waiting.values()],
                             timeout=max(deadline - time.monotonic(), 0.0))  # fmt: skip
                for conn in ready:
                    name = waiting[id(conn)]
                    try:
                        message = pickle.loads(self._conns[name].recv_bytes())
                    except (EOFError, OSError):
                        del waiting[id(conn)]
                        continue
                    if message[0] in ("error", "partner_gone"):
                        failures[name] = (message[0] == "partner_gone", str(message[1]))
                        del waiting[id(conn)]
        first = next((n for n in self.nations if n in failures and not failures[n][0]), nation)
        self.close()
        raise NodeProcessError(first, failures[first][1])

    def close(self) -> None:
        """End every worker (idempotent)."""
        for conn in self._conns.values():
            with contextlib.suppress(OSError):  # a worker that already ended
                conn.send_bytes(pickle.dumps(("close", None), _PICKLE))
        for proc in self._procs:
            try:
                proc.wait(timeout=5.0)
            except subprocess.TimeoutExpired:  # a worker stuck: end it, and the parent
                for pid in self._pids.values():
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                proc.kill()
                proc.wait()
        for conn in self._conns.values():
            conn.close()
        self._conns = {}
        self._procs = []

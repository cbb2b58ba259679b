"""National nodes in worker processes: each nation computes on its own CPU, as it would
on its own machine.

`NetworkRun(..., settings=NetworkSettings(node_processes=True))` keeps every
`NationalNode` in a process of its own. A node there sees a `RelayBus`: what it
publishes goes to an outbox, what it receives is what the coordinator fetched
for it from the real bus. Each picture time is three rounds, the node phases of
`node.py`:

1. `"plots"`: the node's own new reports in, its plots published;
2. `"tracks"`: partners' plots received (and tracked), its tracks published;
3. `"fuse"`: partners' tracks received, the picture fused and assessed, warnings published.

The nodes of a round run at the same time; after each round the coordinator
publishes every node's outbox on the bus in the nations' sorted order — the
order `NetworkRun` calls the nodes in one process — and fetches every node's
inbox before the next round. The bus therefore sees the same messages in the same
order, with the same latency and loss draws, and the pictures are identical to
the one-process run (`tests/network/test_node_processes.py`).

A worker is a fresh interpreter running `serve` (`python -c ... FD`), talking
pickled frames over a socket pair: no inherited threads or locks, and no
re-import of the caller's main script, so any script may call `run_network`
without a `__main__` guard. A worker's failure
is raised in the coordinator with the worker's traceback; the workers end with
`close()`, or by themselves when the coordinator's end of the socket closes.
"""

from __future__ import annotations

import contextlib
import pickle
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from multiprocessing.connection import Connection
from typing import Any

from airpicture.network.assessor import AssessorFactory
from airpicture.network.bus import Envelope
from airpicture.network.node import NationalNode, NodeSettings
from airpicture.policy import ReleasePolicy
from airpicture.scenario import Scenario

#: One message a node published: (sender, receiver, payload, sent_s).
Publication = tuple[str, str, bytes, float]


#: What a worker interpreter runs: the socket's file descriptor is its one argument.
_WORKER = (
    "import sys; from multiprocessing.connection import Connection; "
    "from airpicture.network.processes import serve; serve(Connection(int(sys.argv[1])))"
)


class NodeProcessError(RuntimeError):
    """A node's worker process failed; carries the nation and the worker's traceback."""

    def __init__(self, nation: str, detail: str) -> None:
        super().__init__(f"the {nation} node's worker process failed:\n{detail}")
        self.nation = nation
        self.detail = detail


class RelayBus:
    """The bus as a node in a worker sees it: an outbox, and an inbox the coordinator fills."""

    def __init__(self) -> None:
        self.outbox: list[Publication] = []
        self.inbox: list[Envelope] = []

    def publish(self, sender: str, receiver: str, payload: bytes, sent_s: float) -> None:
        self.outbox.append((sender, receiver, payload, sent_s))

    def receive(self, receiver: str, until_s: float) -> list[Envelope]:
        delivered, self.inbox = self.inbox, []
        return delivered


def serve(conn: Connection) -> None:
    """A worker's life: build the node, then answer the coordinator's rounds until closed."""
    bus = RelayBus()
    try:
        nation, scenario, policy, assessor_factory, settings, hold_s = conn.recv()
        node = NationalNode(
            nation, scenario, policy, bus, assessor_factory(scenario, nation), settings, hold_s
        )
    except BaseException:  # everything goes back to the coordinator
        conn.send(("error", traceback.format_exc(), [], 0.0))
        return
    conn.send(("ok", None, [], time.process_time()))  # the interpreter's start included
    while True:
        try:
            command, args = conn.recv()
        except EOFError:
            return  # the coordinator is gone
        t0 = time.process_time()
        try:
            result: Any = None
            if command == "close":
                conn.send(("ok", None, [], 0.0))
                return
            if command == "plots":
                plots, now_s = args
                if plots is not None:
                    node.ingest_own(plots)
                node.publish_plots(now_s)
            elif command == "tracks":
                bus.inbox, now_s = args
                node.receive(now_s)
                node.publish_tracks(now_s)
            elif command == "fuse":
                bus.inbox, now_s = args
                node.receive(now_s)
                result = node.fuse(now_s)
            elif command == "stats":
                result = node.stats()
            elif command == "threat_log":
                result = node.threat_log()
            else:
                raise ValueError(f"unknown command {command!r}")
            outbox, bus.outbox = bus.outbox, []
            conn.send(("ok", result, outbox, time.process_time() - t0))
        except BaseException:  # the coordinator raises it
            conn.send(("error", traceback.format_exc(), [], 0.0))
            return


class NodeProcesses:
    """Every nation's node in its own worker process, driven round by round."""

    def __init__(
        self,
        nations: Sequence[str],
        scenario: Scenario,
        policy: ReleasePolicy,
        assessor_factory: AssessorFactory,
        settings: NodeSettings,
        hold_s: Mapping[str, float],
        wait: bool = True,
    ) -> None:
        """Start the workers; `wait`: until each has built its node (else the first
        `ready()` or round waits, so that the caller can work meanwhile)."""
        self.nations = list(nations)
        self._ready = False
        #: CPU seconds each worker spent on the rounds (building its node included).
        self.cpu_s: dict[str, float] = {}
        #: Each round's CPU seconds per worker, in the nations' order.
        self.round_cpu_s: list[tuple[float, ...]] = []
        self._conns: dict[str, Connection] = {}
        self._procs: list[subprocess.Popen[bytes]] = []
        try:
            for nation in self.nations:
                ours, theirs = socket.socketpair()
                with theirs:
                    self._procs.append(
                        subprocess.Popen(
                            [sys.executable, "-c", _WORKER, str(theirs.fileno())],
                            pass_fds=[theirs.fileno()],
                        )
                    )
                self._conns[nation] = Connection(ours.detach())
                build = (nation, scenario, policy, assessor_factory, settings, hold_s[nation])
                try:
                    self._conns[nation].send(build)
                except (pickle.PicklingError, AttributeError, TypeError) as exc:
                    raise TypeError(
                        f"cannot hand the {nation} node to a worker process ({exc}): the "
                        "assessor factory must be a module-level function; or run the "
                        "nodes in one process (node_processes=False)"
                    ) from exc
            if wait:
                self.ready()
        except BaseException:
            self.close()
            raise

    def ready(self) -> None:
        """Wait until every worker has built its node; raise its failure if one could not."""
        if not self._ready:
            self._gather()
            self._ready = True

    def round(
        self, command: str, args: Mapping[str, Any]
    ) -> dict[str, tuple[Any, list[Publication]]]:
        """Send `command` with each nation's arguments to every node at once; gather
        (result, publications) per nation."""
        self.ready()
        for nation in self.nations:
            self._conns[nation].send((command, args.get(nation)))
        return self._gather()

    def _gather(self) -> dict[str, tuple[Any, list[Publication]]]:
        out: dict[str, tuple[Any, list[Publication]]] = {}
        failure: NodeProcessError | None = None
        spent: list[float] = []
        for nation in self.nations:
            try:
                status, result, outbox, cpu_s = self._conns[nation].recv()
            except EOFError:
                status, result, outbox, cpu_s = "error", "the worker ended unexpectedly", [], 0.0
            spent.append(cpu_s)
            self.cpu_s[nation] = self.cpu_s.get(nation, 0.0) + cpu_s
            if status != "ok" and failure is None:
                failure = NodeProcessError(nation, str(result))
            out[nation] = (result, outbox)
        self.round_cpu_s.append(tuple(spent))
        if failure is not None:
            self.close()
            raise failure
        return out

    def makespan_cpu_s(self, cores: int | None = None) -> float:
        """The nodes' run time on `cores` cores with nothing else running, from their CPU.

        A round ends when its slowest node does; on c cores it lasts at least
        max(slowest, Σ nodes / c), which a preemptive scheduler reaches. Summed over
        rounds; `cores` None: a core per node (the critical path).
        """
        total = 0.0
        for spent in self.round_cpu_s:
            longest = max(spent, default=0.0)
            total += longest if cores is None else max(longest, sum(spent) / cores)
        return total

    def close(self) -> None:
        """End every worker (idempotent)."""
        for conn in self._conns.values():
            with contextlib.suppress(OSError):  # a worker that already ended
                conn.send(("close", None))
        for proc in self._procs:
            try:
                proc.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for conn in self._conns.values():
            conn.close()
        self._conns = {}
        self._procs = []

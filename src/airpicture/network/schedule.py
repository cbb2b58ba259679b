"""The order in which the network's nodes work, and what that order costs in time.

Each picture time T_k (cycle k) a node works in three stages (`node.py`):

* `plots` — its own sensors' reports of cycle k in, its plots out;
* `tracks` — partners' plots received and tracked, its tracks out;
* `fuse` — partners' tracks received, the picture fused and assessed.

The run takes the stages in one fixed order, the same in one process and in
worker processes:

    plots 0 | tracks 0, plots 1, fuse 0 | tracks 1, plots 2, fuse 1 | ...

A stage that receives (`tracks`, `fuse`) receives exactly what every node
published in the stages before it, in that order: the rule that makes a run
deterministic whatever the nodes' speeds. What a node publishes while it fuses
(its warnings) joins its next `tracks` stage's publications, stamped with the
time they were issued; `fuse` stages publish nothing. So a node waits only
before `fuse`, until every partner has tracked the cycle (and put out its next
plots, which depend on nothing); a node that has fused goes straight on to track
the next cycle, with its partners' plots already in.

`makespan_s` turns the stages' CPU seconds into the run time this order allows,
on a core per node or on fewer cores.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from airpicture.scenario import Scenario

StageKind = Literal["plots", "tracks", "fuse"]


@dataclass(frozen=True)
class Stage:
    #: Position in the run's order (0, 1, 2, ...: every node takes every stage).
    index: int
    kind: StageKind
    #: The picture time's index whose data the stage handles.
    cycle: int

    @property
    def receives(self) -> bool:
        """Whether the stage takes partners' messages (and so waits for them)."""
        return receives(self.index)

    @property
    def publishes(self) -> bool:
        """Whether the stage's publications go out when it ends (`fuse`'s wait for the next)."""
        return publishes(self.index)


def picture_times_s(scenario: Scenario) -> NDArray[np.float64]:
    """The network's picture times: every picture interval up to the scenario's end."""
    interval = scenario.picture_interval_s
    count = math.floor(scenario.duration_s / interval + 1e-9)
    return interval * np.arange(1, count + 1, dtype=np.float64)


def stages(first_cycle: int, end_cycle: int) -> Iterator[Stage]:
    """The stages that take cycles first_cycle … end_cycle − 1, in the run's order.

    A cycle's stages are tracks, the next cycle's plots, fuse; the run begins
    with cycle 0's plots. The last cycle's `plots` stage (cycle = end of run) has
    no reports; it is kept so that every node takes every stage index.
    """
    if first_cycle == 0:
        yield Stage(0, "plots", 0)
    for k in range(first_cycle, end_cycle):
        yield Stage(3 * k + 1, "tracks", k)
        yield Stage(3 * k + 2, "plots", k + 1)
        yield Stage(3 * k + 3, "fuse", k)


def receives(index: int) -> bool:
    """Whether the stage at `index` takes partners' messages (`tracks`, `fuse`)."""
    return index % 3 != 2 and index != 0


def publishes(index: int) -> bool:
    """Whether the stage at `index` sends what it publishes (`plots`, `tracks`)."""
    return index % 3 != 0 or index == 0


def awaited(index: int) -> int:
    """The stage every partner must have finished before the stage at `index` receives:
    the last one before it that publishes (−1: none)."""
    before = index - 1
    while before >= 0 and not publishes(before):
        before -= 1
    return before


def makespan_s(stage_cpu_s: Mapping[str, Sequence[float]], cores: int | None = None) -> float:
    """The run time this order allows, from each node's CPU seconds per stage index.

    A stage starts when its node finished its previous stage and, if it
    receives, when every node finished the stage before it. `cores` None: a core
    per node — the critical path. Otherwise the nodes that can run share `cores`
    cores equally (processor sharing, what a time-slicing scheduler approaches).
    """
    names = sorted(stage_cpu_s)
    if not names:
        return 0.0
    count = min(len(stage_cpu_s[n]) for n in names)
    cpu = np.array([list(stage_cpu_s[n])[:count] for n in names], dtype=np.float64)
    if cores is None:
        finish = np.zeros((len(names), count))
        for s in range(count):
            start = finish[:, s - 1] if s else np.zeros(len(names))
            if receives(s) and awaited(s) >= 0:
                start = np.maximum(start, finish[:, awaited(s)].max())
            finish[:, s] = start + cpu[:, s]
        return float(finish[:, -1].max(initial=0.0)) if count else 0.0
    return _shared_makespan_s(cpu, cores)


def _shared_makespan_s(cpu: NDArray[np.float64], cores: int) -> float:
    """`makespan_s` with the runnable nodes sharing `cores` cores equally."""
    nodes, count = cpu.shape
    stage = np.zeros(nodes, dtype=np.int64)  # each node's current stage (count: done)
    left = cpu[:, 0].copy()
    now = 0.0
    while True:
        # A stage that receives waits until every node is past the stage it awaits.
        waits = np.array([receives(int(s)) and int(stage.min()) <= awaited(int(s))
                          for s in stage])  # fmt: skip
        runnable = (stage < count) & ~waits
        finished = runnable & (left <= 0.0)
        if finished.any():  # stages that cost nothing (or are done) end now
            stage[finished] += 1
            left[finished] = [
                cpu[i, s] if s < count else 0.0
                for i, s in zip(np.flatnonzero(finished), stage[finished], strict=True)
            ]
            continue
        if not runnable.any():
            return now
        rate = min(1.0, cores / int(runnable.sum()))
        step = float(left[runnable].min()) / rate
        now += step
        left[runnable] = np.maximum(left[runnable] - step * rate, 0.0)
        left[runnable & (left <= 1e-12)] = 0.0

"""The order in which the network's nodes work.

Each picture time T_k (cycle k) a node works in three stages (`node.py`):

* `plots` — its own sensors' reports of cycle k in, its plots out;
* `tracks` — partners' plots received and tracked, its tracks out;
* `fuse` — partners' tracks received, the picture fused and assessed.

The deterministic run takes the stages in one fixed order:

    plots 0 | tracks 0, plots 1, fuse 0 | tracks 1, plots 2, fuse 1 | ...

A stage that receives (`tracks`, `fuse`) receives exactly what every node
published in the stages before it, in that order: the rule that makes a run
deterministic whatever the nodes' speeds. What a node publishes while it fuses
(its warnings) joins its next `tracks` stage's publications, stamped with the
time they were issued; `fuse` stages publish nothing.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from airpicture.scenario import Scenario


class StageKind(enum.Enum):
    PLOTS = "plots"
    TRACKS = "tracks"
    FUSE = "fuse"


@dataclass(frozen=True)
class Stage:
    #: Position in the run's order (0, 1, 2, ...: every node takes every stage).
    index: int
    kind: StageKind
    #: The picture time's index whose data the stage handles.
    cycle: int


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
        yield Stage(0, StageKind.PLOTS, 0)
    for k in range(first_cycle, end_cycle):
        yield Stage(3 * k + 1, StageKind.TRACKS, k)
        yield Stage(3 * k + 2, StageKind.PLOTS, k + 1)
        yield Stage(3 * k + 3, StageKind.FUSE, k)

"""The contract between a nation's node and its threat assessment.

A node calls its assessor at every picture snapshot with the tracks it holds
(and the space-IR boost detections no track took since the last call); the
assessor returns each track's class and identity, and the warnings to issue.
The network (`airpicture.network`) only depends on this Protocol; the threat
part (`airpicture.threat`) implements it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from airpicture.threat.warning import Warning
from airpicture.tracking.view import BoostReports as BoostReports
from airpicture.tracking.view import TrackView


@dataclass(frozen=True)
class Assessment:
    """One row per track of the view, in the view's order, plus the warnings to issue."""

    cls: NDArray[np.object_]  # aircraft | cruise_missile | ballistic_missile | unknown
    cls_confidence: NDArray[np.float64]
    identity: NDArray[np.object_]  # friend | neutral | hostile | unknown
    #: The warning rows to issue (`threat/warning.py`), in the order they were made.
    warnings: list[Warning] = field(default_factory=list)


class Assessor(Protocol):
    """Threat assessment for one nation's picture."""

    nation: str

    def assess(self, view: TrackView, boost: BoostReports, time_s: float) -> Assessment: ...

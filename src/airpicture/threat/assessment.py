"""The contract between a nation's node and its threat assessment.

A node calls its assessor at every picture snapshot with the tracks it holds
(and the space-IR boost detections no track took since the last call); the
assessor returns each track's class and identity, and the warnings to issue.
The network (`airpicture.network`) only depends on this Protocol; the threat
part (`airpicture.threat`) implements it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from airpicture.tracking.tracker import TrackView


@dataclass(frozen=True)
class BoostReports:
    """Space-IR boost detections that no track took, new since the last call."""

    time_s: NDArray[np.float64]
    sensor_id: NDArray[np.object_]
    #: Satellite position and unit line of sight, ECEF.
    origin_ecef_m: NDArray[np.float64]
    los_ecef: NDArray[np.float64]

    @classmethod
    def none(cls) -> BoostReports:
        return cls(np.zeros(0), np.zeros(0, np.object_), np.zeros((0, 3)), np.zeros((0, 3)))


@dataclass(frozen=True)
class Assessment:
    """One row per track of the view, in the view's order, plus the warnings to issue."""

    cls: NDArray[np.object_]  # aircraft | cruise_missile | ballistic_missile | unknown
    cls_confidence: NDArray[np.float64]
    identity: NDArray[np.object_]  # friend | neutral | hostile | unknown
    #: warnings.jsonl objects: time_s, warning_id, kind, track_id, recipients, text,
    #: and where they apply predicted_impact, places, assets.
    warnings: list[dict[str, Any]] = field(default_factory=list)


class Assessor(Protocol):
    """Threat assessment for one nation's picture."""

    nation: str

    def assess(self, view: TrackView, boost: BoostReports, time_s: float) -> Assessment: ...

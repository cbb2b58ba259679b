"""Multi-sensor, multi-target tracking in ECEF: IMM filters, gating, GNN/JPDA, track life cycle.

The numeric core is pure functions over batches (`motion`, `measurement`,
`linalg`, `imm`, `association`); `tracker.Tracker` is the stateful shell and
`replay.replay` runs it over a recorded table of reports. See docs/tracking.md.
"""

from airpicture.tracking.measurement import SensorModel, sensor_model_from_spec
from airpicture.tracking.replay import ReplayResult, replay, sensor_models
from airpicture.tracking.settings import TrackerSettings
from airpicture.tracking.tracker import ReportCounts, Tracker, TrackView

__all__ = [
    "ReplayResult",
    "ReportCounts",
    "SensorModel",
    "TrackView",
    "Tracker",
    "TrackerSettings",
    "replay",
    "sensor_model_from_spec",
    "sensor_models",
]

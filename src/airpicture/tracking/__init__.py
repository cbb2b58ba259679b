"""Multi-sensor, multi-target tracking in ECEF: IMM filters, gating, GNN/JPDA, track life cycle.

The numeric core is pure functions over batches (`motion`, `measurement`,
`linalg`, `imm`, `gating`, `association`, `initiation`); `tracker.Tracker` is
the stateful shell and `replay.replay` runs it over a recorded table of
reports. `view` holds what other parts read (`TrackView`, `BoostReports`,
picture rows) and loads no tracker. See docs/tracking.md.

Names are loaded on first use (module `__getattr__`), so that importing
`airpicture.tracking.view` does not import the tracker. The replay function
is `airpicture.tracking.replay.replay` (`airpicture.tracking.replay` is its module).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airpicture.tracking.measurement import MeasurementModel, measurement_model, sensor_models
    from airpicture.tracking.replay import ReplayResult
    from airpicture.tracking.reports import ReportCounts
    from airpicture.tracking.settings import TrackerSettings
    from airpicture.tracking.tracker import Tracker
    from airpicture.tracking.view import BoostReports, TrackView

_WHERE = {
    "BoostReports": "airpicture.tracking.view",
    "MeasurementModel": "airpicture.tracking.measurement",
    "ReplayResult": "airpicture.tracking.replay",
    "ReportCounts": "airpicture.tracking.reports",
    "TrackView": "airpicture.tracking.view",
    "Tracker": "airpicture.tracking.tracker",
    "TrackerSettings": "airpicture.tracking.settings",
    "measurement_model": "airpicture.tracking.measurement",
    "sensor_models": "airpicture.tracking.measurement",
}

__all__ = [
    "BoostReports",
    "MeasurementModel",
    "ReplayResult",
    "ReportCounts",
    "TrackView",
    "Tracker",
    "TrackerSettings",
    "measurement_model",
    "sensor_models",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'airpicture.tracking' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

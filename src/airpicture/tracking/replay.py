"""Run a tracker over a whole table of recorded reports, snapshotting the picture as it goes.

This is the replay path shared by `airpicture track` and `airpicture run`:
reports are fed in file order (they may be slightly out of order; the tracker
re-orders within its tolerance), and a snapshot of the confirmed tracks is
taken every `picture_interval_s` as soon as every report up to that time has
been processed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from airpicture.tables import PICTURE_SCHEMA, Table, concat_tables
from airpicture.tracking.measurement import MeasurementModel
from airpicture.tracking.settings import TrackerSettings
from airpicture.tracking.tracker import Tracker


@dataclass(frozen=True)
class ReplayResult:
    picture: Table
    tracker: Tracker
    #: Wall-clock seconds spent inside the tracker (not reading or writing files).
    tracking_s: float


def replay(
    plots: Mapping[str, NDArray[Any]],
    sensors: Sequence[MeasurementModel],
    picture_interval_s: float,
    end_s: float | None = None,
    settings: TrackerSettings | None = None,
    viewer: str = "ALL",
    chunk_rows: int = 5000,
    on_progress: Callable[[int, int], None] | None = None,
) -> ReplayResult:
    """Track every report of `plots`, snapshotting at k·interval up to `end_s` (default: last)."""
    tracker = Tracker(sensors, settings)
    n = len(plots["time_s"]) if "time_s" in plots else 0
    times = np.asarray(plots["time_s"], dtype=np.float64) if n else np.empty(0)
    finite = times[np.isfinite(times)]
    last = float(finite.max()) if finite.size else 0.0
    end = last if end_s is None else float(end_s)
    snap_times = picture_interval_s * np.arange(1, math.floor(end / picture_interval_s) + 1)
    pictures: list[Table] = []
    spent = 0.0
    # A snapshot at T must see every report up to T and none after it: feed rows
    # only until the newest report seen passes T + tolerance, then snapshot.
    tolerance = tracker.settings.order_tolerance_s
    running_max = (
        np.maximum.accumulate(np.where(np.isfinite(times), times, -np.inf)) if n else times
    )
    cuts = np.searchsorted(running_max, snap_times + tolerance, side="right")
    start = 0
    for snap_t, cut in zip(np.append(snap_times, np.inf), np.append(cuts, n), strict=True):
        while start < cut:
            stop = min(start + chunk_rows, int(cut))
            t0 = time.perf_counter()
            tracker.process({k: v[start:stop] for k, v in plots.items()})
            spent += time.perf_counter() - t0
            start = stop
            if on_progress is not None:
                on_progress(start, n)
        t0 = time.perf_counter()
        if math.isfinite(snap_t):
            tracker.advance_to(float(snap_t))
            pictures.append(tracker.snapshot(float(snap_t), viewer))
        else:
            tracker.flush()
        spent += time.perf_counter() - t0
    picture = concat_tables(pictures, PICTURE_SCHEMA)
    if pictures:
        for name in pictures[0]:
            if name not in picture:
                picture[name] = np.concatenate([p[name] for p in pictures])
    return ReplayResult(picture=picture, tracker=tracker, tracking_s=spent)

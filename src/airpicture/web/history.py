"""Each track's past positions in one served viewer's picture, for the detail panel's
"Show history" (on demand: `protocol.HistoryRequest` → `protocol.TrackHistory`).

A browser holds only what it was sent since it connected; the server has every picture
of the viewer (`session.FrameLog`), so it can answer for the track's whole life in that
viewer's picture, whenever the page joined. `TrackHistories` keeps, per track, where the
track is in those pictures — (picture index, row) pairs, 8 bytes a point — never a copy
of the values.

Bounded by `max_points` per track: when a track's history fills, every other point goes
and the spacing between points doubles, so the history always spans the track's whole
life, coarser as it grows (a track seen every 5 s for an hour, with 512 points, keeps a
point every ~10 s). What a session is answered never reaches past the picture it was
last sent, and always ends at the track's position in it.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from airpicture.tables import Table
from airpicture.web.protocol import TrackHistory

#: Points kept per track unless configured (`ServerSettings.history_points`).
DEFAULT_HISTORY_POINTS: Final = 512


@dataclass
class _Trail:
    """Where one track is in the viewer's pictures: parallel (picture index, row) arrays."""

    pictures: array[int] = field(default_factory=lambda: array("i"))
    rows: array[int] = field(default_factory=lambda: array("i"))
    #: Least time between two kept points (s); doubles each time the trail is thinned.
    spacing_s: float = 0.0
    last_s: float = -math.inf


class TrackHistories:
    """Every track's history in one viewer's pictures (see the module doc)."""

    def __init__(self, times: list[float], max_points: int = DEFAULT_HISTORY_POINTS) -> None:
        """`times`: the viewer's picture times (`FrameLog.times`, shared, growing)."""
        if max_points < 2:
            raise ValueError(f"max_points must be at least 2, not {max_points}")
        self.max_points = max_points
        self._times = times
        self._trails: dict[str, _Trail] = {}

    def add(self, index: int, time_s: float, track_ids: np.ndarray) -> None:
        """The picture at `index` (time `time_s`) holds `track_ids`, row by row."""
        trails = self._trails
        for row, track_id in enumerate(track_ids):
            trail = trails.get(track_id)
            if trail is None:
                trail = trails[track_id] = _Trail()
            elif time_s - trail.last_s < trail.spacing_s:
                continue
            trail.pictures.append(index)
            trail.rows.append(row)
            trail.last_s = time_s
            if len(trail.pictures) >= self.max_points:
                self._thin(trail)

    def _thin(self, trail: _Trail) -> None:
        del trail.pictures[1::2]
        del trail.rows[1::2]
        first, last = self._times[trail.pictures[0]], self._times[trail.pictures[-1]]
        trail.spacing_s = max(2.0 * trail.spacing_s, (last - first) / (len(trail.pictures) - 1))
        trail.last_s = last

    def of(self, track_id: str, upto: int, pictures: list[Table]) -> TrackHistory:
        """`track_id`'s history in the pictures up to index `upto` (the session's latest),
        ending at its position there if it is in it; empty for a track never held."""
        trail = self._trails.get(track_id)
        points: list[tuple[int, int]] = []
        if trail is not None and upto >= 0:
            points = [(p, r) for p, r in zip(trail.pictures, trail.rows, strict=True) if p <= upto]
            if not points or points[-1][0] != upto:
                now = np.flatnonzero(pictures[upto]["track_id"] == track_id)
                if len(now):
                    points.append((upto, int(now[0])))
        columns: dict[str, list[float]] = {
            k: [] for k in ("time_s", "lat_deg", "lon_deg", "alt_m", "speed_mps")
        }
        for p, r in points:
            picture = pictures[p]
            columns["time_s"].append(self._times[p])
            for name in ("lat_deg", "lon_deg", "alt_m"):
                columns[name].append(round(float(picture[name][r]), 6 if name != "alt_m" else 0))
            speed = math.hypot(
                float(picture["vel_e_mps"][r]),
                float(picture["vel_n_mps"][r]),
                float(picture["vel_u_mps"][r]),
            )
            columns["speed_mps"].append(round(speed, 1))
        spacing = trail.spacing_s if trail is not None else 0.0
        return TrackHistory(track_id=track_id, spacing_s=spacing, **columns)

"""Each track's past positions in one served viewer's picture, for the detail panel's
"Show history" (on demand: `protocol.HistoryRequest` → `protocol.TrackHistory`).

A browser holds only what it was sent since it connected; the server saw every picture
of the viewer (`session.FrameLog`), so it can answer for the track's whole life in that
viewer's picture, whenever the page joined. `TrackHistories` keeps, per track, the points
themselves (picture index, time, position, speed: 48 bytes a point), so that a live
server may drop its old pictures (`FrameLog.keep_s`) and still answer for a track's life.

Bounded by `max_points` per track: when a track's history fills, every other point goes
and the spacing between points doubles, so the history always spans the track's whole
life, coarser as it grows (a track seen every 5 s for an hour, with 512 points, keeps a
point every ~10 s). A track in none of the pictures kept is forgotten (`forget_before`),
so the number of trails is bounded by the tracks of the kept window. What a session is
answered never reaches past the picture it was last sent, and always ends at the track's
position in it.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import KeysView
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from airpicture.tables import Table
from airpicture.web.protocol import TrackHistory

#: Points kept per track unless configured (`ServerSettings.history_points`).
DEFAULT_HISTORY_POINTS: Final = 512


#: A point's fields, in the order a trail stores them.
POINT_FIELDS: Final = ("picture", "time_s", "lat_deg", "lon_deg", "alt_m", "speed_mps")
_WIDTH: Final = len(POINT_FIELDS)


@dataclass
class _Trail:
    """One track's kept points, oldest first: `POINT_FIELDS` after one another in one
    array of doubles (one append a point; the picture index is exact up to 2**53)."""

    points: array[float] = field(default_factory=lambda: array("d"))
    #: Least time between two kept points (s); doubles each time the trail is thinned.
    spacing_s: float = 0.0
    last_s: float = -math.inf

    def __len__(self) -> int:
        return len(self.points) // _WIDTH

    def table(self) -> np.ndarray:
        """(points, fields) view of the points."""
        return np.frombuffer(self.points, dtype=np.float64).reshape(-1, _WIDTH)


class TrackHistories:
    """Every track's history in one viewer's pictures (see the module doc)."""

    def __init__(self, max_points: int = DEFAULT_HISTORY_POINTS) -> None:
        if max_points < 2:
            raise ValueError(f"max_points must be at least 2, not {max_points}")
        self.max_points = max_points
        self._trails: dict[str, _Trail] = {}

    def __len__(self) -> int:
        return len(self._trails)

    def held(self) -> KeysView[str]:
        """The tracks with a history."""
        return self._trails.keys()

    def add(self, index: int, time_s: float, picture: Table) -> None:
        """The picture at `index` (time `time_s`), row by row."""
        ids = picture["track_id"]
        if not len(ids):
            return
        values = np.empty((len(ids), _WIDTH))
        values[:, 0] = index
        values[:, 1] = time_s
        values[:, 2] = picture["lat_deg"]
        values[:, 3] = picture["lon_deg"]
        values[:, 4] = picture["alt_m"]
        velocity = np.stack(
            [np.asarray(picture[k], dtype=float) for k in ("vel_e_mps", "vel_n_mps", "vel_u_mps")]
        )
        values[:, 5] = np.sqrt((velocity**2).sum(axis=0))
        block = values.tobytes()
        size = _WIDTH * 8
        full = self.max_points * _WIDTH
        trails = self._trails
        for row, track_id in enumerate(ids):
            trail = trails.get(track_id)
            if trail is None:
                trail = trails[track_id] = _Trail()
            elif time_s - trail.last_s < trail.spacing_s:
                continue
            points = trail.points
            points.frombytes(block[row * size : (row + 1) * size])
            trail.last_s = time_s
            if len(points) >= full:
                self._thin(trail)

    def _thin(self, trail: _Trail) -> None:
        kept = trail.table()[::2].copy()
        trail.points = array("d", kept.tobytes())
        first, last = kept[0, 1], kept[-1, 1]
        trail.spacing_s = max(2.0 * trail.spacing_s, (last - first) / (len(kept) - 1))
        trail.last_s = float(last)

    def forget_before(self, oldest_s: float) -> int:
        """Forget the tracks in no picture from time `oldest_s` on; how many were forgotten.

        A track held at a time t gets a point there unless it got one within its spacing
        before t; so a track whose last point is more than its spacing before `oldest_s`
        is in none of the pictures from `oldest_s` on. (One with a long spacing may go a
        little later than the pictures it was in: still bounded.)"""
        gone = [
            track_id
            for track_id, trail in self._trails.items()
            if trail.last_s < oldest_s and trail.last_s + trail.spacing_s <= oldest_s
        ]
        for track_id in gone:
            del self._trails[track_id]
        return len(gone)

    def of(self, track_id: str, upto: int, latest: Table | None, latest_s: float) -> TrackHistory:
        """`track_id`'s history in the pictures up to index `upto` (the session's latest:
        `latest`, at `latest_s`, if it is still kept), ending at its position there if it
        is in it; empty for a track never held."""
        trail = self._trails.get(track_id)
        columns: dict[str, list[float]] = {name: [] for name in POINT_FIELDS[1:]}
        if trail is None or upto < 0:
            return TrackHistory(track_id=track_id, spacing_s=0.0, **columns)
        table = trail.table()
        points = table[table[:, 0] <= upto].tolist()
        if latest is not None and (not points or points[-1][0] != upto):
            now = np.flatnonzero(latest["track_id"] == track_id)
            if len(now):
                r = int(now[0])
                speed = math.hypot(
                    float(latest["vel_e_mps"][r]),
                    float(latest["vel_n_mps"][r]),
                    float(latest["vel_u_mps"][r]),
                )
                points.append(
                    [
                        float(upto),
                        latest_s,
                        float(latest["lat_deg"][r]),
                        float(latest["lon_deg"][r]),
                        float(latest["alt_m"][r]),
                        speed,
                    ]
                )
        for _, t, lat, lon, alt, speed in points:
            columns["time_s"].append(t)
            columns["lat_deg"].append(round(lat, 6))
            columns["lon_deg"].append(round(lon, 6))
            columns["alt_m"].append(round(alt, 0))
            columns["speed_mps"].append(round(speed, 1))
        return TrackHistory(track_id=track_id, spacing_s=trail.spacing_s, **columns)

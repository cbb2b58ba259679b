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

import bisect
import math
from array import array
from collections.abc import KeysView
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from airpicture.tables import Table
from airpicture.web.protocol import TrackHistory

#: Points kept per track unless configured (`ServerSettings.history_points`).
DEFAULT_HISTORY_POINTS: Final = 512


@dataclass
class _Trail:
    """One track's kept points: parallel arrays, oldest first."""

    pictures: array[int] = field(default_factory=lambda: array("q"))
    times: array[float] = field(default_factory=lambda: array("d"))
    lat: array[float] = field(default_factory=lambda: array("d"))
    lon: array[float] = field(default_factory=lambda: array("d"))
    alt: array[float] = field(default_factory=lambda: array("d"))
    speed: array[float] = field(default_factory=lambda: array("d"))
    #: Least time between two kept points (s); doubles each time the trail is thinned.
    spacing_s: float = 0.0
    last_s: float = -math.inf
    #: The newest picture index the track is in.
    seen: int = -1

    def columns(self) -> tuple[array[Any], ...]:
        return (self.pictures, self.times, self.lat, self.lon, self.alt, self.speed)


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
        """The tracks with a history (those in the pictures kept)."""
        return self._trails.keys()

    def add(self, index: int, time_s: float, picture: Table) -> None:
        """The picture at `index` (time `time_s`), row by row."""
        trails = self._trails
        due: list[tuple[_Trail, int]] = []
        for row, track_id in enumerate(picture["track_id"]):
            trail = trails.get(track_id)
            if trail is None:
                trail = trails[track_id] = _Trail()
            trail.seen = index
            if time_s - trail.last_s >= trail.spacing_s:
                due.append((trail, row))
        if not due:
            return
        rows = np.fromiter((r for _, r in due), dtype=np.intp, count=len(due))
        lat = picture["lat_deg"][rows].tolist()
        lon = picture["lon_deg"][rows].tolist()
        alt = picture["alt_m"][rows].tolist()
        velocity = np.stack(
            [
                np.asarray(picture[k][rows], dtype=float)
                for k in ("vel_e_mps", "vel_n_mps", "vel_u_mps")
            ]
        )
        speed = np.sqrt((velocity**2).sum(axis=0)).tolist()
        for k, (trail, _) in enumerate(due):
            trail.pictures.append(index)
            trail.times.append(time_s)
            trail.lat.append(lat[k])
            trail.lon.append(lon[k])
            trail.alt.append(alt[k])
            trail.speed.append(speed[k])
            trail.last_s = time_s
            if len(trail.pictures) >= self.max_points:
                self._thin(trail)

    def _thin(self, trail: _Trail) -> None:
        for column in trail.columns():
            del column[1::2]
        first, last = trail.times[0], trail.times[-1]
        trail.spacing_s = max(2.0 * trail.spacing_s, (last - first) / (len(trail.times) - 1))
        trail.last_s = last

    def forget_before(self, index: int) -> int:
        """Forget the tracks in no picture from `index` on; how many were forgotten."""
        gone = [track_id for track_id, trail in self._trails.items() if trail.seen < index]
        for track_id in gone:
            del self._trails[track_id]
        return len(gone)

    def of(self, track_id: str, upto: int, latest: Table | None, latest_s: float) -> TrackHistory:
        """`track_id`'s history in the pictures up to index `upto` (the session's latest:
        `latest`, at `latest_s`, if it is still kept), ending at its position there if it
        is in it; empty for a track never held."""
        trail = self._trails.get(track_id)
        columns: dict[str, list[float]] = {
            k: [] for k in ("time_s", "lat_deg", "lon_deg", "alt_m", "speed_mps")
        }
        if trail is None or upto < 0:
            return TrackHistory(track_id=track_id, spacing_s=0.0, **columns)
        n = bisect.bisect_right(trail.pictures, upto)
        points = [
            (trail.times[i], trail.lat[i], trail.lon[i], trail.alt[i], trail.speed[i])
            for i in range(n)
        ]
        if latest is not None and (n == 0 or trail.pictures[n - 1] != upto):
            now = np.flatnonzero(latest["track_id"] == track_id)
            if len(now):
                r = int(now[0])
                speed = math.hypot(
                    float(latest["vel_e_mps"][r]),
                    float(latest["vel_n_mps"][r]),
                    float(latest["vel_u_mps"][r]),
                )
                points.append(
                    (
                        latest_s,
                        float(latest["lat_deg"][r]),
                        float(latest["lon_deg"][r]),
                        float(latest["alt_m"][r]),
                        speed,
                    )
                )
        for t, lat, lon, alt, speed in points:
            columns["time_s"].append(t)
            columns["lat_deg"].append(round(lat, 6))
            columns["lon_deg"].append(round(lon, 6))
            columns["alt_m"].append(round(alt, 0))
            columns["speed_mps"].append(round(speed, 1))
        return TrackHistory(track_id=track_id, spacing_s=trail.spacing_s, **columns)

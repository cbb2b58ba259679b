"""A made-up picture of any size, per nation: for the benchmark and the server's tests.

`SyntheticSource(n_tracks)` flies `n_tracks` tracks in straight lines over the
western Pacific and produces one frame per nation every `interval_s`. Nations
see different subsets (track i: USA always; JPN unless i % 3 == 2; AUS unless
i % 3 == 1), so that a test can tell whose picture reached a session.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

from airpicture.threat.warning import Warning
from airpicture.web.protocol import SensorSite
from airpicture.web.sources import PictureFrame, RunInfo

EARTH_RADIUS_M = 6_371_000.0
NATIONS = ("USA", "JPN", "AUS")
_CLASSES = np.array(["aircraft", "aircraft", "aircraft", "cruise_missile", "unknown"], object)
_IDENTITIES = np.array(["neutral", "neutral", "friend", "hostile", "unknown"], object)


def visible_to(nation: str, index: np.ndarray) -> np.ndarray:
    """Which of the tracks `index` the nation's picture holds."""
    if nation == "JPN":
        return np.asarray(index % 3 != 2)
    if nation == "AUS":
        return np.asarray(index % 3 != 1)
    return np.ones(index.shape, dtype=bool)


class SyntheticSource:
    def __init__(
        self,
        n_tracks: int,
        interval_s: float = 1.0,
        duration_s: float = 3600.0,
        nations: Sequence[str] = NATIONS,
        seed: int = 1,
        mode: Literal["live", "replay"] = "live",
        warnings: Sequence[Warning] = (),
    ) -> None:
        rng = np.random.default_rng(seed)
        self.n_tracks = n_tracks
        self._interval_s = interval_s
        self._mode = mode
        self._lat0 = rng.uniform(20.0, 45.0, n_tracks)
        self._lon0 = rng.uniform(120.0, 150.0, n_tracks)
        self._alt = rng.uniform(3000.0, 12000.0, n_tracks)
        speed = rng.uniform(150.0, 260.0, n_tracks)
        heading = rng.uniform(0.0, 2 * math.pi, n_tracks)
        self._ve = speed * np.sin(heading)
        self._vn = speed * np.cos(heading)
        index = np.arange(n_tracks)
        self._ids = np.array([f"TN{i:05d}" for i in index], dtype=object)
        self._cls = _CLASSES[index % len(_CLASSES)]
        self._identity = _IDENTITIES[index % len(_IDENTITIES)]
        self._nation_rows = {n: np.flatnonzero(visible_to(n, index)) for n in nations}
        sources = np.empty(n_tracks, dtype=object)
        sources[:] = [[f"SYN-{nations[i % len(nations)]}"] for i in range(n_tracks)]
        self._sources = sources
        self._warnings = sorted(warnings, key=lambda w: w.time_s)
        self._next = 0
        self._warned = 0
        self._info = RunInfo(
            scenario="synthetic",
            epoch="2026-04-10T21:00:00Z",
            duration_s=duration_s,
            picture_interval_s=interval_s,
            fusion="distributed",
            nations=tuple(nations),
            viewable_sensors={n: tuple(f"SYN-{m}" for m in nations) for n in nations},
            picture_viewers=tuple(nations),
            sensors={
                f"SYN-{n}": SensorSite(
                    id=f"SYN-{n}", nation=n, type="radar", lat_deg=35.0, lon_deg=135.0
                )
                for n in nations
            },
        )

    @property
    def mode(self) -> Literal["live", "replay"]:
        return self._mode

    @property
    def info(self) -> RunInfo:
        return self._info

    def picture(self, time_s: float, nation: str) -> dict[str, np.ndarray]:
        rows = self._nation_rows[nation]
        lat0 = np.radians(self._lat0[rows])
        lat = self._lat0[rows] + np.degrees(self._vn[rows] * time_s / EARTH_RADIUS_M)
        lon = self._lon0[rows] + np.degrees(
            self._ve[rows] * time_s / (EARTH_RADIUS_M * np.cos(lat0))
        )
        n = rows.size
        return {
            "time_s": np.full(n, time_s),
            "viewer": np.full(n, nation, dtype=object),
            "track_id": self._ids[rows],
            "lat_deg": np.clip(lat, -89.0, 89.0),
            "lon_deg": (lon + 180.0) % 360.0 - 180.0,
            "alt_m": self._alt[rows],
            "vel_e_mps": self._ve[rows],
            "vel_n_mps": self._vn[rows],
            "vel_u_mps": np.zeros(n),
            "cls": self._cls[rows],
            "identity": self._identity[rows],
            "sources": self._sources[rows],
        }

    def advance(self, to_time_s: float) -> list[PictureFrame]:
        frames: list[PictureFrame] = []
        while True:
            t = self._next * self._interval_s
            if t > self._info.duration_s + 1e-9 or t > to_time_s:
                return frames
            new = []
            while self._warned < len(self._warnings) and (self._warnings[self._warned].time_s <= t):
                new.append(self._warnings[self._warned])
                self._warned += 1
            for nation in self._nation_rows:
                frames.append(PictureFrame(t, nation, self.picture(t, nation), list(new)))
            self._next += 1

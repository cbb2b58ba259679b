"""Track storage: every live track as one row of a struct of arrays, batch axis first.

`TrackStore` keeps room for more rows than are live, so that starting and
deleting tracks does not reallocate every array; `TrackStore.tracks` is a view
of its first rows (writes go through).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from airpicture.tracking.motion import STATE_DIM

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]

TENTATIVE: Final = 0
CONFIRMED: Final = 1


@dataclass
class TrackArrays:
    """Every live track, one row each (struct of arrays)."""

    number: NDArray[np.int64]
    status: NDArray[np.int8]
    time_s: FloatArray
    xm: FloatArray  # (N, M, 6) per-mode states
    Pm: FloatArray  # (N, M, 6, 6)
    mu: FloatArray  # (N, M) mode probabilities
    x: FloatArray  # (N, 6) combined
    P: FloatArray  # (N, 6, 6)
    score: FloatArray
    hits: NDArray[np.int64]
    first_time_s: FloatArray
    last_hit_s: FloatArray
    ident: NDArray[np.str_]
    #: Time of each sensor's last report on the track, NaN if never: (N, n_sensors).
    sensor_last_hit_s: FloatArray
    #: Mode C pressure altitude (m, NaN never) and Mode 3/A code ("" never) of the last
    #: report on the track that had one.
    pressure_alt_m: FloatArray
    mode3a: NDArray[np.str_]

    @classmethod
    def empty(cls, n_modes: int, n_sensors: int) -> TrackArrays:
        return cls(
            number=np.empty(0, np.int64),
            status=np.empty(0, np.int8),
            time_s=np.empty(0),
            xm=np.empty((0, n_modes, STATE_DIM)),
            Pm=np.empty((0, n_modes, STATE_DIM, STATE_DIM)),
            mu=np.empty((0, n_modes)),
            x=np.empty((0, STATE_DIM)),
            P=np.empty((0, STATE_DIM, STATE_DIM)),
            score=np.empty(0),
            hits=np.empty(0, np.int64),
            first_time_s=np.empty(0),
            last_hit_s=np.empty(0),
            ident=np.empty(0, dtype="U16"),
            sensor_last_hit_s=np.empty((0, n_sensors)),
            pressure_alt_m=np.empty(0),
            mode3a=np.empty(0, dtype="U4"),
        )

    def __len__(self) -> int:
        return int(self.number.shape[0])

    def rows(self, n: int) -> TrackArrays:
        """Views of the first n rows (writes go through to these arrays)."""
        return TrackArrays(**{f.name: getattr(self, f.name)[:n] for f in fields(self)})

    def with_capacity(self, capacity: int) -> TrackArrays:
        """A copy with room for `capacity` rows; rows past len(self) are uninitialised."""
        grown: dict[str, Any] = {}
        for f in fields(self):
            a = getattr(self, f.name)
            grown[f.name] = np.empty((capacity, *a.shape[1:]), dtype=a.dtype)
            grown[f.name][: a.shape[0]] = a
        return TrackArrays(**grown)

    def take(self, index: IntArray | BoolArray) -> TrackArrays:
        return TrackArrays(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


class TrackStore:
    """The live tracks (`tracks`, a view) inside arrays with spare rows."""

    def __init__(self, n_modes: int, n_sensors: int, capacity: int = 256) -> None:
        self.tracks = TrackArrays.empty(n_modes, n_sensors)
        self._store = self.tracks.with_capacity(capacity)

    def append(self, new: TrackArrays) -> None:
        """Add tracks after the live ones."""
        n, m = len(self.tracks), len(new)
        if n + m > len(self._store):
            # Grow geometrically: copying costs O(1) per track over its life.
            self._store = self.tracks.with_capacity(max(2 * len(self._store), n + m))
        for f in fields(new):
            getattr(self._store, f.name)[n : n + m] = getattr(new, f.name)
        self.tracks = self._store.rows(n + m)

    def keep(self, keep: BoolArray) -> None:
        """Delete tracks in place, keeping the order of the others."""
        first = int(np.argmin(keep))
        moved = first + np.flatnonzero(keep[first:])
        for f in fields(self._store):
            a = getattr(self._store, f.name)
            a[first : first + moved.size] = a[moved]
        self.tracks = self._store.rows(first + moved.size)

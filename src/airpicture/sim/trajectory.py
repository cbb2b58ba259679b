"""Target trajectories on one common time grid, evaluated anywhere by Hermite interpolation.

Every target's ECEF position and velocity is stored at the grid nodes
t_i = i·Δ (arrays `(K, T, 3)`, target axis first). Between nodes the state is the
cubic Hermite curve through both nodes' positions *and* velocities, so a sensor
can sample any target at the exact moment its beam passes, for a whole batch of
(target, time) pairs at once, with position and velocity consistent to
centimetres for aircraft and missiles alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from airpicture.geo import ecef_to_geodetic, ecef_vector_to_enu, enu_basis
from airpicture.tables import kinematic_columns

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class TargetInfo:
    """What the truth and the sensors need to know about each target, one entry per target."""

    ids: list[str]
    kinds: list[str]
    identities: list[str]
    #: Broadcast identity for ADS-B ("" for a target without a transponder).
    idents: list[str]
    transponder: BoolArray
    #: Boost phase [start, end) in scenario seconds, NaN for targets that have none.
    boost_start_s: FloatArray
    boost_end_s: FloatArray


@dataclass
class TrajectorySet:
    """ECEF states of K targets on the grid `times_s (T,)`; `alive (K, T)` says when each exists."""

    step_s: float
    pos_m: FloatArray  # (K, T, 3)
    vel_mps: FloatArray  # (K, T, 3)
    alive: BoolArray  # (K, T)
    info: TargetInfo
    #: Until when these trajectories are known: the end of a recording; after it a
    #: recorded aircraft's absence means "unknown", not "gone".
    known_until_s: float = math.inf
    times_s: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        self.times_s = np.arange(self.pos_m.shape[1], dtype=np.float64) * self.step_s

    @property
    def count(self) -> int:
        return int(self.pos_m.shape[0])

    def select(self, keep: BoolArray) -> TrajectorySet:
        """The targets where `keep` (K,) is true."""
        pick = [bool(k) for k in keep]

        def chosen(values: list[str]) -> list[str]:
            return [v for v, k in zip(values, pick, strict=True) if k]

        info = TargetInfo(
            ids=chosen(self.info.ids),
            kinds=chosen(self.info.kinds),
            identities=chosen(self.info.identities),
            idents=chosen(self.info.idents),
            transponder=self.info.transponder[keep],
            boost_start_s=self.info.boost_start_s[keep],
            boost_end_s=self.info.boost_end_s[keep],
        )
        return TrajectorySet(
            self.step_s,
            self.pos_m[keep],
            self.vel_mps[keep],
            self.alive[keep],
            info,
            self.known_until_s,
        )

    def state_at(
        self, target: IntArray, time_s: FloatArray
    ) -> tuple[FloatArray, FloatArray, BoolArray]:
        """ECEF position, velocity and existence of `target[j]` at `time_s[j]`, broadcast.

        Cubic Hermite on the node interval [t_i, t_i+1], with s = (t − t_i)/Δ:
            p(s) = h00 p_i + h10 Δ v_i + h01 p_i+1 + h11 Δ v_i+1
            h00 = 2s³ − 3s² + 1, h10 = s³ − 2s² + s, h01 = −2s³ + 3s², h11 = s³ − s²
        and its derivative for the velocity. A target exists at t when it exists at
        both ends of the interval (or at the node itself when t falls on one).
        """
        target, time_s = np.broadcast_arrays(np.asarray(target), np.asarray(time_s, np.float64))
        last = self.pos_m.shape[1] - 1
        u = time_s / self.step_s
        inside = (u >= 0.0) & (u <= last)  # False for NaN times too
        u = np.where(inside, u, 0.0)
        i = np.clip(np.floor(u).astype(np.intp), 0, max(last - 1, 0))
        s = np.clip(u - i, 0.0, 1.0)[..., None]
        j = np.minimum(i + 1, last)
        alive_i, alive_j = self.alive[target, i], self.alive[target, j]
        p0, p1 = self.pos_m[target, i], self.pos_m[target, j]
        v0, v1 = self.vel_mps[target, i], self.vel_mps[target, j]
        # A node where the target does not exist holds NaN, and 0 · NaN is NaN: on the
        # last (first) node of a life, blend with that node itself instead.
        p1, v1 = np.where(alive_j[..., None], p1, p0), np.where(alive_j[..., None], v1, v0)
        p0, v0 = np.where(alive_i[..., None], p0, p1), np.where(alive_i[..., None], v0, v1)
        dt = self.step_s
        s2, s3 = s * s, s * s * s
        pos = (2 * s3 - 3 * s2 + 1) * p0 + (s3 - 2 * s2 + s) * dt * v0
        pos += (-2 * s3 + 3 * s2) * p1 + (s3 - s2) * dt * v1
        vel = (6 * s2 - 6 * s) / dt * p0 + (3 * s2 - 4 * s + 1) * v0
        vel += (-6 * s2 + 6 * s) / dt * p1 + (3 * s2 - 2 * s) * v1
        on_node_i = s[..., 0] == 0.0
        on_node_j = s[..., 0] == 1.0
        alive = np.where(on_node_i, alive_i, np.where(on_node_j, alive_j, alive_i & alive_j))
        return pos, vel, alive & inside

    def in_boost(self, target: IntArray, time_s: FloatArray) -> BoolArray:
        """True where `target[j]` is burning its motor at `time_s[j]` (hot plume)."""
        start = self.info.boost_start_s[target]
        end = self.info.boost_end_s[target]
        with np.errstate(invalid="ignore"):
            return (time_s >= start) & (time_s < end)

    def sample(self, times_s: FloatArray) -> dict[str, NDArray[np.generic]]:
        """Truth rows at `times_s` for every target existing then (`truth.parquet` columns)."""
        k, t = np.meshgrid(np.arange(self.count), np.asarray(times_s, np.float64), indexing="xy")
        target, time = k.ravel(), t.ravel()
        pos, vel, alive = self.state_at(target, time)
        target, time, pos, vel = target[alive], time[alive], pos[alive], vel[alive]
        lat, lon, alt = ecef_to_geodetic(pos)
        vel_enu = ecef_vector_to_enu(vel, enu_basis(lat, lon))
        ids = np.asarray(self.info.ids, dtype=np.object_)
        kinds = np.asarray(self.info.kinds, dtype=np.object_)
        identities = np.asarray(self.info.identities, dtype=np.object_)
        return {
            "time_s": time,
            "target_id": ids[target] if len(ids) else np.empty(0, np.object_),
            "kind": kinds[target] if len(kinds) else np.empty(0, np.object_),
            **kinematic_columns(lat, lon, alt, vel_enu),
            "identity": identities[target] if len(identities) else np.empty(0, np.object_),
            "target_index": target,
        }


def merge(parts: list[TrajectorySet], step_s: float, node_count: int) -> TrajectorySet:
    """Concatenate trajectory sets that share one grid into one set (target axis)."""
    parts = [p for p in parts if p.count]
    if not parts:
        empty_info = TargetInfo([], [], [], [], np.zeros(0, bool), np.zeros(0), np.zeros(0))
        return TrajectorySet(
            step_s,
            np.zeros((0, node_count, 3)),
            np.zeros((0, node_count, 3)),
            np.zeros((0, node_count), bool),
            empty_info,
        )
    info = TargetInfo(
        ids=[i for p in parts for i in p.info.ids],
        kinds=[k for p in parts for k in p.info.kinds],
        identities=[k for p in parts for k in p.info.identities],
        idents=[k for p in parts for k in p.info.idents],
        transponder=np.concatenate([p.info.transponder for p in parts]),
        boost_start_s=np.concatenate([p.info.boost_start_s for p in parts]),
        boost_end_s=np.concatenate([p.info.boost_end_s for p in parts]),
    )
    return TrajectorySet(
        step_s,
        np.concatenate([p.pos_m for p in parts]),
        np.concatenate([p.vel_mps for p in parts]),
        np.concatenate([p.alive for p in parts]),
        info,
        min(p.known_until_s for p in parts),
    )


def hermite_resample(
    node_times_s: FloatArray, pos_m: FloatArray, vel_mps: FloatArray, times_s: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Cubic Hermite through states at increasing `node_times_s` (n,), sampled at `times_s`.

    Same curve as `TrajectorySet.state_at`, for unevenly spaced nodes: used to put
    integrated missiles and recorded flights on the common grid.
    """
    i = np.clip(np.searchsorted(node_times_s, times_s, side="right") - 1, 0, len(node_times_s) - 2)
    dt = (node_times_s[i + 1] - node_times_s[i])[:, None]
    s = ((times_s - node_times_s[i])[:, None] / dt).clip(0.0, 1.0)
    p0, p1, v0, v1 = pos_m[i], pos_m[i + 1], vel_mps[i], vel_mps[i + 1]
    s2, s3 = s * s, s * s * s
    pos = (2 * s3 - 3 * s2 + 1) * p0 + (s3 - 2 * s2 + s) * dt * v0
    pos += (-2 * s3 + 3 * s2) * p1 + (s3 - s2) * dt * v1
    vel = (6 * s2 - 6 * s) / dt * p0 + (3 * s2 - 4 * s + 1) * v0
    vel += (-6 * s2 + 6 * s) / dt * p1 + (3 * s2 - 2 * s) * v1
    return pos, vel

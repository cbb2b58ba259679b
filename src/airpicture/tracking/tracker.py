"""The stateful tracker shell: report buffering, per-batch association, life cycle, snapshots.

All track data lives in one `TrackArrays` (struct of arrays, batch axis first).
A batch is one sensor's reports within one time window; for each batch:

1. pre-gate: extrapolated track positions vs reports in a kd-tree;
2. gate: each candidate pair predicted to the report's own time, Mahalanobis d²;
3. associate: ADS-B by identity first, then confirmed tracks, then tentative
   ones (GNN on independent clusters, or cheap JPDA for confirmed tracks);
4. update: one IMM cycle for every assigned pair at once;
5. initiate from the reports left over (space IR: keep as boost detections);
6. life cycle: confirm by score, delete on misses or covariance growth.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from scipy.special import chdtri

from airpicture.geo import ecef_to_geodetic, ecef_vector_to_enu, enu_basis
from airpicture.tables import kinematic_columns
from airpicture.tracking.association import pregate_pairs
from airpicture.tracking.imm import imm_predict
from airpicture.tracking.linalg import (
    mahalanobis_sq,
    packed_mahalanobis_sq,
    rows_matmul,
    spd_inverse,
    symmetrize,
)
from airpicture.tracking.measurement import (
    SensorModel,
    measure_jacobian,
    measurement_dim,
    noise,
    plots_to_z,
    pregate_points_x,
    pregate_points_z,
    pregate_sigma,
    required_columns,
    residual,
)
from airpicture.tracking.motion import (
    STATE_DIM,
    cv_covariance,
    frame_acceleration,
    white_acceleration_noise,
)
from airpicture.tracking.roles import TrackerRoles
from airpicture.tracking.settings import TrackerSettings

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

    def extend(self, other: TrackArrays) -> TrackArrays:
        merged: dict[str, Any] = {}
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name == "ident":
                width = max(a.dtype.itemsize, b.dtype.itemsize) // 4
                merged[f.name] = np.concatenate([a.astype(f"U{width}"), b.astype(f"U{width}")])
            else:
                merged[f.name] = np.concatenate([a, b])
        return TrackArrays(**merged)


@dataclass
class ReportCounts:
    """What happened to every report handed to the tracker. Nothing is dropped silently."""

    received: int = 0
    unknown_sensor: int = 0
    bad_time: int = 0
    missing_values: int = 0
    too_late: int = 0
    associated: int = 0
    initiated: int = 0
    boost_unassociated: int = 0
    #: Duplicate tracks removed (reports are not lost: the survivor has them).
    merged: int = 0
    pending: int = 0

    @property
    def unusable(self) -> int:
        return self.unknown_sensor + self.bad_time + self.missing_values + self.too_late

    def as_dict(self) -> dict[str, int]:
        out = {f.name: int(getattr(self, f.name)) for f in fields(self)}
        out["unusable"] = self.unusable
        return out


@dataclass(frozen=True)
class TrackView:
    """Tracks predicted to one time, for output and for downstream parts (threat, fusion)."""

    time_s: float
    track_id: NDArray[np.object_]
    number: NDArray[np.int64]
    confirmed: BoolArray
    x: FloatArray
    P: FloatArray
    mode_probabilities: FloatArray
    mode_names: tuple[str, ...]
    ident: NDArray[np.str_]
    sources: NDArray[np.object_]


@dataclass
class BoostDetections:
    """Space-IR detections that no track took: time, sensor, line of sight (ECEF unit vector)."""

    time_s: list[FloatArray] = field(default_factory=list)
    sensor_id: list[NDArray[np.object_]] = field(default_factory=list)
    origin_ecef_m: list[FloatArray] = field(default_factory=list)
    los_ecef: list[FloatArray] = field(default_factory=list)

    def count(self) -> int:
        return int(sum(t.size for t in self.time_s))


class Tracker:
    """A national (or central) multi-sensor tracker.

    `process(plots)` takes any batch of report rows (the `plots.parquet`
    columns; `target_id` is never read); `snapshot(time_s)` returns the
    confirmed tracks as picture rows.
    """

    def __init__(
        self,
        sensors: Sequence[SensorModel],
        settings: TrackerSettings | None = None,
        roles: TrackerRoles | None = None,
    ):
        self.settings = settings or TrackerSettings()
        self.roles = roles or TrackerRoles()
        self.sensors = list(sensors)
        self.sensor_ids = np.array([s.sensor_id for s in self.sensors], dtype=object)
        self._sensor_index = {s.sensor_id: i for i, s in enumerate(self.sensors)}
        n_modes = len(self.settings.models)
        self.tracks = TrackArrays.empty(n_modes, len(self.sensors))
        # Room for more tracks than are live: `tracks` is a view of its first rows,
        # so that starting and deleting tracks does not reallocate every array.
        self._store = self.tracks.with_capacity(256)
        self.counts = ReportCounts()
        self.boost = BoostDetections()
        self._next_number = 1
        self._processed_until_s = -math.inf
        self._newest_s = -math.inf
        self._pending: dict[str, NDArray[Any]] = {}
        self._mu0 = np.asarray(self.settings.initial_mode_probabilities, dtype=np.float64)
        self._mu0 = self._mu0 / self._mu0.sum()
        self._q = np.array([m.q_m2_s3 for m in self.settings.models])
        self._ballistic = np.array([m.kind == "ballistic" for m in self.settings.models])
        self._revisit = np.array(
            [s.revisit_s if math.isfinite(s.revisit_s) else 1.0 for s in self.sensors]
        )
        self._miss_cost = -np.log1p(-np.minimum([s.pd for s in self.sensors], 0.999))
        revisits = [s.revisit_s for s in self.sensors if math.isfinite(s.revisit_s)]
        auto = 0.8 * min(revisits, default=1.0)
        self._window_s = (
            self.settings.batch_window_s
            if self.settings.batch_window_s is not None
            else float(min(max(auto, 0.1), self.settings.max_batch_window_s))
        )

    # ------------------------------------------------------------------ input

    def process(self, plots: Mapping[str, NDArray[Any]]) -> None:
        """Accept report rows; process every one older than newest − order tolerance."""
        rows = self._validate(plots)
        if rows is not None:
            self._buffer(rows)
        self._release(self._newest_s - self.settings.order_tolerance_s)

    @property
    def processed_until_s(self) -> float:
        """Every report up to this time has been processed; an older one now is too late."""
        return self._processed_until_s

    def flush(self, until_s: float = math.inf) -> None:
        """Process every buffered report up to `until_s` (all by default)."""
        self._release(until_s)

    def _validate(self, plots: Mapping[str, NDArray[Any]]) -> dict[str, NDArray[Any]] | None:
        n = len(plots["time_s"]) if "time_s" in plots else 0
        self.counts.received += n
        if n == 0:
            return None
        sensor_ids = np.asarray(plots["sensor_id"], dtype=object)
        known_ids, inverse = np.unique(sensor_ids, return_inverse=True)
        index = np.array([self._sensor_index.get(str(s), -1) for s in known_ids])
        sensor_index = index[inverse]
        time_s = np.asarray(plots["time_s"], dtype=np.float64)
        known = sensor_index >= 0
        good_time = np.isfinite(time_s)
        usable = known & good_time
        for k, sensor in enumerate(self.sensors):
            mine = sensor_index == k
            if not mine.any():
                continue
            for col in required_columns(sensor):
                values = np.asarray(plots[col], dtype=np.float64) if col in plots else None
                ok = np.zeros(n, bool) if values is None else np.isfinite(values)
                bad = mine & usable & ~ok
                self.counts.missing_values += int(bad.sum())
                usable &= ~bad
        self.counts.unknown_sensor += int((~known).sum())
        self.counts.bad_time += int((known & ~good_time).sum())
        if not usable.any():
            return None
        rows: dict[str, NDArray[Any]] = {"sensor_index": sensor_index[usable]}
        for col in (
            "time_s", "range_m", "az_deg", "el_deg", "range_rate_mps", "lat_deg", "lon_deg", "alt_m"
        ):  # fmt: skip
            values = plots.get(col)
            rows[col] = (
                np.full(n, np.nan)[usable]
                if values is None
                else np.asarray(values, dtype=np.float64)[usable]
            )
        ident = plots.get("ident")
        rows["ident"] = (
            np.full(int(usable.sum()), "", dtype="U16")
            if ident is None
            else np.asarray(ident, dtype=object)[usable].astype("U16")
        )
        late = rows["time_s"] < self._processed_until_s
        if late.any():
            self.counts.too_late += int(late.sum())
            rows = {k: v[~late] for k, v in rows.items()}
        if rows["time_s"].size:
            self._newest_s = max(self._newest_s, float(rows["time_s"].max()))
        return rows

    def _buffer(self, rows: dict[str, NDArray[Any]]) -> None:
        if not self._pending:
            self._pending = rows
        else:
            self._pending = {k: np.concatenate([self._pending[k], rows[k]]) for k in rows}
        self.counts.pending = int(self._pending["time_s"].size)

    def _release(self, until_s: float) -> None:
        if not self._pending or self._pending["time_s"].size == 0:
            self._processed_until_s = max(self._processed_until_s, min(until_s, self._newest_s))
            return
        t = self._pending["time_s"]
        ready = t <= until_s
        if not ready.any():
            return
        order = np.flatnonzero(ready)
        order = order[np.argsort(t[order], kind="stable")]
        batch = {k: v[order] for k, v in self._pending.items()}
        self._pending = {k: v[~ready] for k, v in self._pending.items()}
        self.counts.pending = int(self._pending["time_s"].size)
        self._run(batch)
        self._processed_until_s = max(
            self._processed_until_s, min(until_s, float(batch["time_s"][-1]))
        )

    # ------------------------------------------------------------------ main loop

    def _run(self, rows: dict[str, NDArray[Any]]) -> None:
        t = rows["time_s"]
        window = self._window_s
        start = t[0]
        # Windows of fixed length from the first report; a loop per window, not per report.
        window_id = np.floor((t - start) / window).astype(np.int64)
        bounds = np.flatnonzero(np.diff(window_id)) + 1
        for chunk in np.split(np.arange(t.size), bounds):
            sensors = rows["sensor_index"][chunk]
            has_rr = np.isfinite(rows["range_rate_mps"][chunk])
            # Sensors in the order of their first report: a track is updated forward in
            # time, never back (the chunk is sorted by time).
            present, first = np.unique(sensors, return_index=True)
            for k in present[np.argsort(first, kind="stable")]:
                sensor = self.sensors[int(k)]
                mine = sensors == k
                if sensor.measures_range_rate:
                    for flag in (True, False):
                        sel = chunk[mine & (has_rr == flag)]
                        if sel.size:
                            self._process_batch(sensor, int(k), rows, sel, flag)
                else:
                    self._process_batch(sensor, int(k), rows, chunk[mine], False)
            self._life_cycle(float(t[chunk[-1]]))

    def _gating_prediction(
        self,
        free_t: IntArray,
        local: IntArray,
        dt_s: FloatArray,
        full: bool,
        state_only: bool = False,
    ) -> tuple[FloatArray, FloatArray]:
        """A cheap linear prediction of the IMM mixture for gating candidate pairs.

        Pair k is track `free_t[local[k]]` predicted by `dt_s[k]`; whatever
        depends on the track only is computed once per track, then gathered.
        x_g = F x + μ_bal [a dt²/2, a dt]   (a: gravity + rotating-frame terms)
        P_g = F P F' + Q(Σ μ_j q_j)
        Without range rate only the position block is needed:
        P_pp(dt) = Ppp + dt (Ppv + Pvp) + dt² Pvv + q |dt|³/3 I
        """
        tr = self.tracks
        x_t, mu_t = tr.x[free_t], tr.mu[free_t]
        x = x_t[local]
        x_g = x.copy()
        x_g[:, :3] += x[:, 3:] * dt_s[:, None]
        if self._ballistic.any():
            mu_bal = mu_t[:, self._ballistic].sum(axis=1)
            a = (frame_acceleration(x_t) * mu_bal[:, None])[local]
            x_g[:, :3] += 0.5 * a * dt_s[:, None] ** 2
            x_g[:, 3:] += a * dt_s[:, None]
        if state_only:
            return x_g, np.empty((0, 0, 0))
        q_mix = rows_matmul(mu_t, self._q)[local]
        if full:
            P_g = cv_covariance(tr.P[free_t[local]], dt_s) + white_acceleration_noise(dt_s, q_mix)
            return x_g, symmetrize(P_g)
        P_t = tr.P[free_t]
        Ppv = P_t[:, :3, 3:]
        cross = (Ppv + np.swapaxes(Ppv, 1, 2))[local]
        dt = dt_s[:, None, None]
        P_pos = P_t[:, :3, :3][local] + dt * cross + (dt * dt) * P_t[:, 3:, 3:][local]
        P_pos += (q_mix * np.abs(dt_s) ** 3 / 3.0)[:, None, None] * np.eye(3)
        return x_g, symmetrize(P_pos)

    def _gating_prediction_packed(
        self, free_t: IntArray, local: IntArray, dt_s: FloatArray
    ) -> tuple[FloatArray, dict[tuple[int, int], FloatArray]]:
        """`_gating_prediction` without range rate, its position covariance entry by entry.

        P_pp(dt) = Ppp + dt (Ppv + Pvp) + dt² Pvv + q |dt|³/3 I, for the six
        entries (a ≤ b) as columns over pairs: the per-track blocks are packed
        once per track and gathered once.
        """
        tr = self.tracks
        P_t = tr.P[free_t]
        upper = [(a, b) for a in range(3) for b in range(a, 3)]
        packed = np.empty((free_t.size, 19))
        for k, (a, b) in enumerate(upper):
            packed[:, k] = P_t[:, a, b]
            packed[:, 6 + k] = P_t[:, a, 3 + b] + P_t[:, b, 3 + a]
            packed[:, 12 + k] = P_t[:, 3 + a, 3 + b]
        packed[:, 18] = rows_matmul(tr.mu[free_t], self._q)
        g = packed[local]
        dt2 = dt_s * dt_s
        noise = g[:, 18] * np.abs(dt_s) ** 3 / 3.0
        P_pos: dict[tuple[int, int], FloatArray] = {}
        for k, (a, b) in enumerate(upper):
            entry = g[:, k] + dt_s * g[:, 6 + k] + dt2 * g[:, 12 + k]
            P_pos[a, b] = entry + noise if a == b else entry
        x_g, _ = self._gating_prediction(free_t, local, dt_s, full=False, state_only=True)
        return x_g, P_pos

    def _process_batch(
        self,
        sensor: SensorModel,
        sensor_k: int,
        rows: dict[str, NDArray[Any]],
        sel: IntArray,
        with_rr: bool,
    ) -> None:
        sub = {k: v[sel] for k, v in rows.items()}
        z = plots_to_z(sensor, sub, with_rr)
        t = sub["time_s"]
        m = z.shape[0]
        R = noise(sensor, z, with_rr)
        d = measurement_dim(sensor, with_rr)
        gamma = float(chdtri(d, 1.0 - self.settings.gate.probability))
        assigned_t: list[IntArray] = []
        assigned_m: list[IntArray] = []
        taken = np.zeros(m, bool)
        n_tracks = len(self.tracks)
        track_taken = np.zeros(n_tracks, bool)
        idents = sub["ident"] if sensor.kind == "adsb" else np.full(m, "", dtype="U1")

        # 1. ADS-B: identity first.
        if sensor.kind == "adsb" and n_tracks:
            ti, mj = self._match_identity(idents)
            assigned_t.append(ti)
            assigned_m.append(mj)
            taken[mj] = True
            track_taken[ti] = True

        # 2. Gated pairs for everything not yet matched.
        pairs = self._gate(sensor, z, t, R, with_rr, gamma, taken, track_taken, idents)
        ti, mj, d2, log_lik = pairs
        confirmed = self.tracks.status[ti] == CONFIRMED if ti.size else np.zeros(0, bool)
        used_in_gate = np.zeros(m, bool)
        used_in_gate[mj] = True

        jpda_tracks: IntArray = np.empty(0, np.intp)
        if self.settings.association == "jpda" and ti.size:
            jpda_tracks = self._jpda_update(
                sensor, sensor_k, z, t, R, with_rr, ti[confirmed], mj[confirmed], log_lik[confirmed]
            )  # fmt: skip
            taken[mj[confirmed]] = True
            stage2 = ~confirmed & ~np.isin(mj, mj[confirmed])
        else:
            # 3a. confirmed tracks first
            at, am = self.roles.associator(ti[confirmed], mj[confirmed], d2[confirmed], gamma)
            assigned_t.append(at)
            assigned_m.append(am)
            taken[am] = True
            stage2 = ~confirmed & ~taken[mj]
        # 3b. then tentative tracks with what is left
        at, am = self.roles.associator(ti[stage2], mj[stage2], d2[stage2], gamma)
        assigned_t.append(at)
        assigned_m.append(am)
        taken[am] = True

        all_t = np.concatenate(assigned_t) if assigned_t else np.empty(0, np.intp)
        all_m = np.concatenate(assigned_m) if assigned_m else np.empty(0, np.intp)
        if all_t.size:
            self._update(sensor, sensor_k, all_t, z[all_m], t[all_m], R[all_m], with_rr)
            if sensor.kind == "adsb":
                self.tracks.ident[all_t] = idents[all_m]
        self.counts.associated += int(all_t.size)
        if jpda_tracks.size:
            self.counts.associated += int(np.unique(mj[confirmed]).size)

        # 4. Leftovers: start tracks, or keep boost detections.
        left = ~taken & ~(used_in_gate & (self.settings.association == "jpda"))
        if sensor.can_initiate:
            new = np.flatnonzero(left)
            if new.size:
                self._initiate(sensor, sensor_k, z[new], t[new], with_rr, idents[new])
                self.counts.initiated += int(new.size)
        else:
            new = np.flatnonzero(~taken)
            self._keep_boost(sensor, z[new], t[new])
            self.counts.boost_unassociated += int(new.size)

    def _match_identity(self, idents: NDArray[np.str_]) -> tuple[IntArray, IntArray]:
        tr_ident = self.tracks.ident
        have = np.flatnonzero(tr_ident != "")
        if have.size == 0:
            return np.empty(0, np.intp), np.empty(0, np.intp)
        order = have[np.argsort(tr_ident[have], kind="stable")]
        sorted_ids = tr_ident[order]
        pos = np.searchsorted(sorted_ids, idents)
        pos_c = np.minimum(pos, sorted_ids.size - 1)
        hit = (idents != "") & (sorted_ids[pos_c] == idents)
        mj = np.flatnonzero(hit)
        ti = order[pos_c[mj]]
        # Two reports of one identity in one batch: keep the first.
        ti, first = np.unique(ti, return_index=True)
        return ti.astype(np.intp), mj[first].astype(np.intp)

    def _gate(
        self,
        sensor: SensorModel,
        z: FloatArray,
        t: FloatArray,
        R: FloatArray,
        with_rr: bool,
        gamma: float,
        taken: BoolArray,
        track_taken: BoolArray,
        idents: NDArray[np.str_],
    ) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
        """Candidate pairs that pass the Mahalanobis gate: (track, report, d², ln Λ)."""
        tr = self.tracks
        free_t = np.flatnonzero(~track_taken)
        free_m = np.flatnonzero(~taken)
        empty_i = np.empty(0, np.intp)
        if free_t.size == 0 or free_m.size == 0:
            return empty_i, empty_i, np.empty(0), np.empty(0)
        t_mid = float(0.5 * (t[free_m].min() + t[free_m].max()))
        half_span = float(0.5 * (t[free_m].max() - t[free_m].min()))
        dt_mid = t_mid - tr.time_s[free_t]
        x_ext = tr.x[free_t].copy()
        x_ext[:, :3] += x_ext[:, 3:] * dt_mid[:, None]
        if self._ballistic.any():
            # As the gate predicts: gravity weighted by the ballistic mode. Otherwise a
            # precise track of a missile falls ½ g dt² (80 m over 4 s) out of its pre-gate.
            mu_bal = tr.mu[free_t][:, self._ballistic].sum(axis=1)
            a = frame_acceleration(tr.x[free_t]) * mu_bal[:, None]
            x_ext[:, :3] += 0.5 * a * (dt_mid**2)[:, None]
        pts_x, scale = pregate_points_x(sensor, x_ext)
        P = tr.P[free_t]
        pos_var = np.trace(P[:, :3, :3], axis1=1, axis2=2)
        vel_var = np.trace(P[:, 3:, 3:], axis1=1, axis2=2)
        adt = np.abs(dt_mid) + half_span
        q_mix = rows_matmul(tr.mu[free_t], self._q)
        growth_var = pos_var + adt**2 * vel_var + q_mix * adt**3
        speed = np.linalg.norm(tr.x[free_t, 3:], axis=1)
        gate = self.settings.gate
        k = gate.pregate_sigmas
        # Statistical radius, capped by physics: nothing we track flies faster
        # than max_speed_mps, so the target is within (v_max + |v|)·|dt| of the
        # extrapolated point whatever the velocity covariance says.
        spread = np.minimum(
            k * np.sqrt(growth_var), k * np.sqrt(pos_var) + (gate.max_speed_mps + speed) * adt
        )
        radius = (spread + speed * half_span + 5.0 * adt**2) * scale + k * pregate_sigma(
            sensor, x_ext
        )
        pts_z = pregate_points_z(sensor, z[free_m])
        pt, pm = self.roles.pregater(pts_x, radius, pts_z)
        ti, mj = free_t[pt], free_m[pm]
        if sensor.kind == "adsb" and ti.size:
            # A report whose identity another track holds cannot go to it.
            ok = (tr.ident[ti] == "") | (tr.ident[ti] == idents[mj])
            ti, mj, pt = ti[ok], mj[ok], pt[ok]
        if ti.size == 0:
            return empty_i, empty_i, np.empty(0), np.empty(0)
        dt = t[mj] - tr.time_s[ti]
        if with_rr or z.shape[1] > 3:
            x_g, P_g = self._gating_prediction(free_t, pt, dt, full=with_rr)
            z_pred, H = measure_jacobian(sensor, x_g, with_rr, position_only=not with_rr)
            nu = residual(sensor, z[mj], z_pred)
            # S = H P H' + R    innovation covariance
            S = H @ P_g @ np.swapaxes(H, 1, 2) + R[mj]
            d2, log_det = mahalanobis_sq(nu, symmetrize(S))
        else:
            x_g, P_pos = self._gating_prediction_packed(free_t, pt, dt)
            z_pred, H = measure_jacobian(sensor, x_g, with_rr, position_only=True)
            nu = residual(sensor, z[mj], z_pred)
            d2, log_det = packed_mahalanobis_sq(nu, _innovation_packed(H, P_pos, R[mj]))
        inside = d2 <= gamma
        dim = z.shape[1]
        log_lik = -0.5 * (d2 + log_det + dim * math.log(2.0 * math.pi))
        return ti[inside], mj[inside], d2[inside], log_lik[inside]

    def _update(
        self,
        sensor: SensorModel,
        sensor_k: int,
        ti: IntArray,
        z: FloatArray,
        t: FloatArray,
        R: FloatArray,
        with_rr: bool,
    ) -> None:
        tr = self.tracks
        dt = t - tr.time_s[ti]

        def measure_fn(x: FloatArray) -> tuple[FloatArray, FloatArray]:
            return measure_jacobian(sensor, x, with_rr)

        def residual_fn(zz: FloatArray, zp: FloatArray) -> FloatArray:
            return residual(sensor, zz, zp)

        step = self.roles.updater(
            tr.xm[ti], tr.Pm[ti], tr.mu[ti], dt, z, R,
            self.settings.models, self.settings.switching, measure_fn, residual_fn,
        )  # fmt: skip
        tr.xm[ti], tr.Pm[ti], tr.mu[ti] = step.xm, step.Pm, step.mu
        tr.x[ti], tr.P[ti] = step.x, step.P
        # The updated estimate is at the report's time, even when the report was older
        # than the track (predicted back to it): keeping the later time would shift
        # every later prediction by speed × the difference (800 m for a missile, 0.2 s).
        tr.time_s[ti] = t
        self._score_hit(sensor, sensor_k, ti, step.log_likelihood, with_rr, t)

    def _score_hit(
        self,
        sensor: SensorModel,
        sensor_k: int,
        ti: IntArray,
        log_likelihood: FloatArray,
        with_rr: bool,
        t: FloatArray,
    ) -> None:
        tr = self.tracks
        lam = sensor.clutter_density(with_rr)
        # L ← L + ln(pd Λ / λ)
        gain = math.log(sensor.pd) + log_likelihood - math.log(lam)
        tr.score[ti] += np.minimum(gain, 50.0)
        tr.hits[ti] += 1
        tr.last_hit_s[ti] = np.maximum(tr.last_hit_s[ti], t)
        tr.sensor_last_hit_s[ti, sensor_k] = np.fmax(tr.sensor_last_hit_s[ti, sensor_k], t)
        life = self.settings.life_cycle
        promote = (
            (tr.status[ti] == TENTATIVE)
            & (tr.score[ti] >= life.confirm_score)
            & (tr.hits[ti] >= life.min_hits)
        )
        tr.status[ti[promote]] = CONFIRMED

    def _jpda_update(
        self,
        sensor: SensorModel,
        sensor_k: int,
        z: FloatArray,
        t: FloatArray,
        R: FloatArray,
        with_rr: bool,
        ti: IntArray,
        mj: IntArray,
        log_lik: FloatArray,
    ) -> IntArray:
        """PDA update of each confirmed track with all its gated reports, weighted by β.

        On the IMM's combined prediction (the modes are then re-seeded from it):
        ν = Σ β_j ν_j;  x⁺ = x + K ν;
        P⁺ = β0 P⁻ + (1 − β0)(P⁻ − K S K') + K (Σ β_j ν_j ν_j' − ν ν') K'
        """
        if ti.size == 0:
            return np.empty(0, np.intp)
        tr = self.tracks
        n = len(tr)
        lam = sensor.clutter_density(with_rr)
        beta, beta0 = self.roles.soft_associator(
            ti, mj, np.exp(log_lik), sensor.pd, lam, n, z.shape[0]
        )
        tracks, first, local = np.unique(ti, return_index=True, return_inverse=True)
        # Each track is predicted to the mean time of its gated reports.
        t_ref = np.bincount(local, weights=t[mj]) / np.bincount(local)
        x_p, P_p, mu_p = imm_predict(
            tr.xm[tracks], tr.Pm[tracks], tr.mu[tracks], t_ref - tr.time_s[tracks],
            self.settings.models, self.settings.switching,
        )  # fmt: skip
        z_pred, H = measure_jacobian(sensor, x_p, with_rr)
        R_k = R[mj[first]]
        PHt = P_p @ np.swapaxes(H, 1, 2)
        # S = H P H' + R;  K = P H' S⁻¹
        S = symmetrize(H @ PHt + R_k)
        K = PHt @ spd_inverse(S)
        nu = residual(sensor, z[mj], z_pred[local])
        dmeas = nu.shape[1]
        nu_comb = np.zeros((tracks.size, dmeas))
        np.add.at(nu_comb, local, beta[:, None] * nu)
        spread = np.zeros((tracks.size, dmeas, dmeas))
        np.add.at(spread, local, beta[:, None, None] * np.einsum("ki,kj->kij", nu, nu))
        spread -= np.einsum("ki,kj->kij", nu_comb, nu_comb)
        b0 = beta0[tracks][:, None, None]
        Kt = np.swapaxes(K, 1, 2)
        x_new = x_p + (K @ nu_comb[:, :, None])[:, :, 0]
        P_new = symmetrize(b0 * P_p + (1.0 - b0) * (P_p - K @ S @ Kt) + K @ spread @ Kt)
        M = len(self.settings.models)
        tr.x[tracks], tr.P[tracks] = x_new, P_new
        tr.xm[tracks] = np.repeat(x_new[:, None, :], M, axis=1)
        tr.Pm[tracks] = np.repeat(P_new[:, None, :, :], M, axis=1)
        tr.mu[tracks] = mu_p
        tr.time_s[tracks] = np.maximum(tr.time_s[tracks], t_ref)
        # Score with the likelihood of the β-weighted mixture of reports.
        mix_lik = np.bincount(local, weights=beta * np.exp(log_lik))
        self._score_hit(
            sensor, sensor_k, tracks, np.log(np.maximum(mix_lik, 1e-300)), with_rr, t_ref
        )
        return tracks

    def _initiate(
        self,
        sensor: SensorModel,
        sensor_k: int,
        z: FloatArray,
        t: FloatArray,
        with_rr: bool,
        idents: NDArray[np.str_],
    ) -> None:
        x0, P0 = self.roles.initiator(sensor, z, with_rr, self.settings.initiation)
        m = x0.shape[0]
        M = len(self.settings.models)
        sensor_last_hit = np.full((m, len(self.sensors)), np.nan)
        sensor_last_hit[:, sensor_k] = t
        new = TrackArrays(
            number=np.arange(self._next_number, self._next_number + m, dtype=np.int64),
            status=np.zeros(m, np.int8),
            time_s=t.copy(),
            xm=np.repeat(x0[:, None, :], M, axis=1),
            Pm=np.repeat(P0[:, None, :, :], M, axis=1),
            mu=np.tile(self._mu0, (m, 1)),
            x=x0,
            P=P0,
            score=np.zeros(m),
            hits=np.ones(m, np.int64),
            first_time_s=t.copy(),
            last_hit_s=t.copy(),
            ident=np.asarray(idents).astype("U16"),
            sensor_last_hit_s=sensor_last_hit,
        )
        self._next_number += m
        self._append_tracks(new)

    def _append_tracks(self, new: TrackArrays) -> None:
        n, m = len(self.tracks), len(new)
        if n + m > len(self._store):
            # Grow geometrically: copying costs O(1) per track over its life.
            self._store = self.tracks.with_capacity(max(2 * len(self._store), n + m))
        for f in fields(new):
            getattr(self._store, f.name)[n : n + m] = getattr(new, f.name)
        self.tracks = self._store.rows(n + m)

    def _keep_tracks(self, keep: BoolArray) -> None:
        """Delete tracks in place, keeping the order of the others."""
        first = int(np.argmin(keep))
        moved = first + np.flatnonzero(keep[first:])
        for f in fields(self._store):
            a = getattr(self._store, f.name)
            a[first : first + moved.size] = a[moved]
        self.tracks = self._store.rows(first + moved.size)

    def _keep_boost(self, sensor: SensorModel, z: FloatArray, t: FloatArray) -> None:
        if z.shape[0] == 0:
            return
        enu = np.stack(
            [np.cos(z[:, 1]) * np.sin(z[:, 0]), np.cos(z[:, 1]) * np.cos(z[:, 0]), np.sin(z[:, 1])],
            axis=-1,
        )
        self.boost.time_s.append(t.copy())
        self.boost.sensor_id.append(np.full(t.size, sensor.sensor_id, dtype=object))
        self.boost.origin_ecef_m.append(np.broadcast_to(sensor.ecef_m, (t.size, 3)).copy())
        self.boost.los_ecef.append(rows_matmul(enu, sensor.basis))
        while self.boost.count() > self.settings.max_boost_detections and self.boost.time_s:
            for part in (self.boost.time_s, self.boost.sensor_id, self.boost.origin_ecef_m,
                         self.boost.los_ecef):  # fmt: skip
                part.pop(0)

    def _miss_score(self, now_s: float) -> FloatArray:
        """−ln of the probability that each track's target, if there, gave no report since.

        Missed reports since the track's last report, from every sensor that
        had been reporting it (its last report within a few of its revisits),
        each weighted by how telling a miss of that sensor is: −ln(1 − pd).
        """
        tr = self.tracks
        life = self.settings.life_cycle
        last = tr.sensor_last_hit_s
        silent = (now_s - tr.last_hit_s)[:, None]
        recent = last >= tr.last_hit_s[:, None] - life.recent_revisits * self._revisit
        # Half a revisit of slack: a beam passes a moving target a little late.
        misses = np.maximum(np.floor(silent / self._revisit - 0.5), 0.0)
        miss_score: FloatArray = np.sum(np.where(recent, misses * self._miss_cost, 0.0), axis=1)
        return miss_score

    def _likely_ended(self, now_s: float, miss_score: FloatArray) -> BoolArray:
        """Tracks whose target has more probably ended than not (see `LifeCycleSettings`).

        Prior odds e^{−s/τ} / (1 − e^{−s/τ}) that the target has not ended during
        the silence s, times Π(1 − pd) of the misses, below one.
        """
        life = self.settings.life_cycle
        silent = np.maximum(now_s - self.tracks.last_hit_s, 0.0)
        survive = np.exp(-silent / life.target_mean_life_s)
        with np.errstate(divide="ignore"):
            prior_log_odds = np.log(survive) - np.log1p(-survive)
        ended: BoolArray = miss_score > prior_log_odds
        return ended

    def _life_cycle(self, now_s: float, check_altitude: bool = False) -> None:
        tr = self.tracks
        if len(tr) == 0:
            return
        life = self.settings.life_cycle
        miss_score = self._miss_score(now_s)
        tentative = tr.status == TENTATIVE
        dead = np.where(
            tentative,
            miss_score > life.tentative_max_miss_score,
            miss_score > life.confirmed_max_miss_score,
        )
        gap = np.maximum(now_s - tr.time_s, 0.0)
        pos_var = np.trace(tr.P[:, :3, :3], axis1=1, axis2=2) + gap**2 * np.trace(
            tr.P[:, 3:, 3:], axis1=1, axis2=2
        )
        dead |= pos_var > life.max_position_sigma_m**2
        dead |= ~np.isfinite(tr.x).all(axis=1)
        dead |= np.linalg.norm(tr.x[:, 3:], axis=1) > self.settings.gate.max_speed_mps
        if check_altitude:
            # Below the ground is no place for an air track: an estimate down
            # there has diverged (typically on a 2D radar's unobserved altitude).
            alt_m = ecef_to_geodetic(tr.x[:, :3], refine=False)[2]
            dead |= alt_m < life.min_altitude_m
        dead |= self._duplicates(now_s, dead)
        if dead.any():
            self._keep_tracks(~dead)

    def _duplicates(self, now_s: float, dead: BoolArray) -> BoolArray:
        """Tracks that duplicate an older one (two sensors, or a report that missed its gate).

        Two established tracks whose states at `now_s` are statistically the same,
        d² = Δx' (P_i + P_j)⁻¹ Δx ≤ χ²₆ gate, describe one target: the one with
        fewer reports (then the younger number) goes, and the survivor inherits
        its sources and identity. Candidates come from the pre-gate's grid within
        `merge_radius_m`, so this costs about linear time. Ignoring the
        cross-covariance of the two estimates makes the test merge more
        readily, which is the safe side for duplicates.
        """
        tr = self.tracks
        life = self.settings.life_cycle
        loser = np.zeros(len(tr), bool)
        eligible = np.flatnonzero(~dead & (tr.hits >= life.merge_min_hits))
        if eligible.size < 2:
            return loser
        gap = (now_s - tr.time_s[eligible])[:, None]
        pos = tr.x[eligible, :3] + tr.x[eligible, 3:] * gap
        a, b = pregate_pairs(pos, np.full(eligible.size, life.merge_radius_m), pos)
        if not (a < b).any():
            return loser
        i, j = eligible[a[a < b]], eligible[b[a < b]]
        dt_i, dt_j = now_s - tr.time_s[i], now_s - tr.time_s[j]
        # Both predicted to now as the gate predicts (gravity for ballistic tracks,
        # process noise): two tracks of one missile updated a second apart differ
        # by g·dt in velocity, far outside precise covariances predicted as CV.
        index = np.arange(i.size)
        x_i, P_i = self._gating_prediction(i, index, dt_i, full=True)
        x_j, P_j = self._gating_prediction(j, index, dt_j, full=True)
        S = P_i + P_j
        dx = x_i - x_j
        d2 = np.einsum("ki,kij,kj->k", dx, spd_inverse(S), dx)
        same = d2 <= life.merge_gate
        if not same.any():
            return loser
        i, j = i[same], j[same]
        # Keep the track with more reports; on a tie the older (smaller) number.
        keep_i = (tr.hits[i] > tr.hits[j]) | (
            (tr.hits[i] == tr.hits[j]) & (tr.number[i] < tr.number[j])
        )
        win = np.where(keep_i, i, j)
        lose = np.where(keep_i, j, i)
        tr.sensor_last_hit_s[win] = np.fmax(tr.sensor_last_hit_s[win], tr.sensor_last_hit_s[lose])
        take_ident = (tr.ident[win] == "") & (tr.ident[lose] != "")
        tr.ident[win[take_ident]] = tr.ident[lose[take_ident]]
        tr.status[win] = np.maximum(tr.status[win], tr.status[lose])
        loser[lose] = True
        self.counts.merged += int(np.unique(lose).size)
        return loser

    # ------------------------------------------------------------------ output

    def view(self, time_s: float, confirmed_only: bool = True) -> TrackView:
        """Tracks predicted to `time_s` (their stored estimates are not changed).

        Every buffered report up to `time_s` is processed first, and the life
        cycle is brought to `time_s` (a track silent for too long goes even when
        no report arrives to trigger it).
        """
        self.flush(time_s)
        self._life_cycle(time_s, check_altitude=True)
        tr = self.tracks
        keep = tr.status == CONFIRMED if confirmed_only else np.ones(len(tr), bool)
        # A confirmed track coasting on misses is not shown once its target has more
        # likely ended than not; it lives on (up to the deletion score) so that a
        # report of a target that was only missed takes it up again at once.
        keep &= ~((tr.status == CONFIRMED) & self._likely_ended(time_s, self._miss_score(time_s)))
        idx = np.flatnonzero(keep)
        dt = time_s - tr.time_s[idx]
        x, P, mu = imm_predict(
            tr.xm[idx], tr.Pm[idx], tr.mu[idx], dt, self.settings.models, self.settings.switching
        )
        prefix = self.settings.track_prefix
        ids = np.array([f"{prefix}{n:05d}" for n in tr.number[idx].tolist()], dtype=object)
        sources = np.empty(idx.size, dtype=object)
        seen = np.isfinite(tr.sensor_last_hit_s[idx])
        # One list per distinct set of sensors, shared by the tracks that have that set
        # (few sets, many tracks; nothing downstream changes a picture's lists).
        key = seen if seen.shape[1] > 62 else seen @ (1 << np.arange(seen.shape[1], dtype=np.int64))
        _, first, which = np.unique(key, axis=0, return_index=True, return_inverse=True)
        lists = np.empty(first.size, dtype=object)
        for k, row in enumerate(seen[first]):
            lists[k] = list(self.sensor_ids[row])
        sources[:] = lists[which.reshape(-1)]
        return TrackView(
            time_s=time_s,
            track_id=ids,
            number=tr.number[idx],
            confirmed=tr.status[idx] == CONFIRMED,
            x=x,
            P=P,
            mode_probabilities=mu,
            mode_names=tuple(m.name for m in self.settings.models),
            ident=tr.ident[idx],
            sources=sources,
        )

    def snapshot(self, time_s: float, viewer: str = "ALL") -> dict[str, NDArray[Any]]:
        """Confirmed tracks at `time_s` as `picture.parquet` rows (plus mode probabilities)."""
        view = self.view(time_s)
        unknown = np.full(view.x.shape[0], "unknown", dtype=object)
        return picture_rows(view, viewer, None, unknown)

    def with_settings(self, **changes: Any) -> TrackerSettings:
        return replace(self.settings, **changes)


def picture_rows(
    view: TrackView,
    viewer: str,
    cls: NDArray[np.object_] | None,
    identity: NDArray[np.object_],
) -> dict[str, NDArray[Any]]:
    """`picture.parquet` rows of a view (plus `mu_<mode>` columns), one per track.

    `cls` None: the kinematic first guess (`kinematic_class`).
    """
    lat, lon, alt = ecef_to_geodetic(view.x[:, :3])
    vel = ecef_vector_to_enu(view.x[:, 3:], enu_basis(lat, lon))
    if cls is None:
        cls = kinematic_class(alt, vel, view.mode_probabilities, view.mode_names)
    table: dict[str, NDArray[Any]] = {
        "time_s": np.full(view.x.shape[0], view.time_s),
        "viewer": np.full(view.x.shape[0], viewer, dtype=object),
        "track_id": view.track_id,
        **kinematic_columns(lat, lon, alt, vel),
        "cls": np.asarray(cls, dtype=object),
        "identity": np.asarray(identity, dtype=object),
        "sources": view.sources,
    }
    for j, name in enumerate(view.mode_names):
        table[f"mu_{name}"] = view.mode_probabilities[:, j]
    return table


def _innovation_packed(
    H: FloatArray, P: dict[tuple[int, int], FloatArray], R: FloatArray
) -> dict[tuple[int, int], FloatArray]:
    """S = H P H' + R entry by entry (a ≤ b), for H `(N, d, 3)`, P packed, R `(N, d, d)`."""
    d = H.shape[1]

    def p(i: int, j: int) -> FloatArray:
        return P[min(i, j), max(i, j)]

    # (P H')_ib = Σ_j P_ij H_bj
    PHt = [[p(i, 0) * H[:, b, 0] + p(i, 1) * H[:, b, 1] + p(i, 2) * H[:, b, 2] for b in range(d)]
           for i in range(3)]  # fmt: skip
    S: dict[tuple[int, int], FloatArray] = {}
    for a in range(d):
        for b in range(a, d):
            # S_ab = Σ_i H_ai (P H')_ib + R_ab
            S[a, b] = H[:, a, 0] * PHt[0][b] + H[:, a, 1] * PHt[1][b] + H[:, a, 2] * PHt[2][b]
            S[a, b] = S[a, b] + R[:, a, b]
    return S


def kinematic_class(
    alt_m: FloatArray, vel_enu_mps: FloatArray, mu: FloatArray, mode_names: Sequence[str]
) -> NDArray[np.object_]:
    """A first kinematic guess of the class (the threat part refines it).

    ballistic_missile: fast or high and the ballistic mode dominant;
    cruise_missile: low (< 300 m) and jet speed; aircraft: the usual envelope.
    """
    speed = np.linalg.norm(vel_enu_mps, axis=-1)
    mu_bal = (
        mu[:, list(mode_names).index("ballistic")]
        if "ballistic" in mode_names
        else np.zeros(len(speed))
    )
    cls = np.full(speed.shape, "unknown", dtype=object)
    cls[(alt_m > 300.0) & (alt_m < 20_000.0) & (speed > 40.0) & (speed < 400.0)] = "aircraft"
    cls[(alt_m <= 300.0) & (speed > 150.0) & (speed < 400.0)] = "cruise_missile"
    cls[((speed > 900.0) | (alt_m > 30_000.0)) & (mu_bal > 0.3)] = "ballistic_missile"
    return cls

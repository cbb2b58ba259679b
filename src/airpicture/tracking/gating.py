"""Gating: which (track, report) pairs of a batch may be associated, and how likely each is.

1. pre-gate: each track extrapolated to the middle of the batch, mapped to the
   sensor's pre-gate space with a radius (statistical, capped by physics), and
   the reports within it found on a grid (`association.pregate_pairs`);
2. Mahalanobis gate: each candidate pair predicted to the report's own time by
   a cheap linear prediction of the IMM mixture (`Gate.predict`), kept when
   d² = ν' S⁻¹ ν ≤ γ, the χ²_d quantile of the gate probability.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from scipy.special import chdtri

from airpicture.tracking.kernels import within_reach_kernel
from airpicture.tracking.linalg import (
    mahalanobis_sq,
    packed_mahalanobis_sq,
    rows_matmul,
    symmetrize,
)
from airpicture.tracking.measurement import MeasurementModel
from airpicture.tracking.motion import cv_covariance, frame_acceleration, white_acceleration_noise
from airpicture.tracking.settings import GateSettings, TrackerSettings
from airpicture.tracking.store import TrackArrays

if TYPE_CHECKING:
    from airpicture.tracking.roles import PreGater

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Batch:
    """One sensor's reports within one time window, with or without range rate."""

    model: MeasurementModel
    #: The sensor's column in `TrackArrays.sensor_last_hit_s`.
    sensor_index: int
    with_range_rate: bool
    z: FloatArray  # (m, d)
    time_s: FloatArray  # (m,)
    R: FloatArray  # (m, d, d)
    #: Identities (ADS-B), "" where a report has none.
    ident: NDArray[np.str_]
    #: The Mahalanobis gate γ: χ²_d quantile of the gate probability.
    gamma: float
    #: Mode C pressure altitude (m, NaN none) and Mode 3/A code ("" none) of each report,
    #: kept on the track that takes it (the picture's `pressure_alt_m`, `mode3a`).
    pressure_alt_m: FloatArray | None = None
    mode3a: NDArray[np.str_] | None = None

    @property
    def size(self) -> int:
        return int(self.z.shape[0])


@dataclass(frozen=True)
class GatedPairs:
    """Candidate pairs inside the gate, as parallel arrays: track row, report, d², ln Λ."""

    track: IntArray
    report: IntArray
    d2: FloatArray
    log_likelihood: FloatArray

    @classmethod
    def none(cls) -> GatedPairs:
        empty = np.empty(0, np.intp)
        return cls(empty, empty, np.empty(0), np.empty(0))


def gate_threshold(dim: int, probability: float) -> float:
    """γ with P(χ²_dim ≤ γ) = probability."""
    return float(chdtri(dim, 1.0 - probability))


@dataclass(frozen=True)
class Gate:
    """The pre-gate and the Mahalanobis gate, with what they need of the motion models."""

    settings: GateSettings
    #: q (m²/s³) and whether it is ballistic, of each IMM mode.
    q_m2_s3: FloatArray
    ballistic: BoolArray
    pregater: PreGater

    @classmethod
    def from_settings(cls, settings: TrackerSettings, pregater: PreGater) -> Gate:
        return cls(
            settings=settings.gate,
            q_m2_s3=np.array([m.q_m2_s3 for m in settings.models]),
            ballistic=np.array([m.kind == "ballistic" for m in settings.models]),
            pregater=pregater,
        )

    def predict(
        self,
        tracks: TrackArrays,
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
        x_t, mu_t = tracks.x[free_t], tracks.mu[free_t]
        x = x_t[local]
        x_g = x.copy()
        x_g[:, :3] += x[:, 3:] * dt_s[:, None]
        if self.ballistic.any():
            mu_bal = mu_t[:, self.ballistic].sum(axis=1)
            a = (frame_acceleration(x_t) * mu_bal[:, None])[local]
            x_g[:, :3] += 0.5 * a * dt_s[:, None] ** 2
            x_g[:, 3:] += a * dt_s[:, None]
        if state_only:
            return x_g, np.empty((0, 0, 0))
        q_mix = rows_matmul(mu_t, self.q_m2_s3)[local]
        if full:
            P_g = cv_covariance(tracks.P[free_t[local]], dt_s) + white_acceleration_noise(
                dt_s, q_mix
            )
            return x_g, symmetrize(P_g)
        P_t = tracks.P[free_t]
        Ppv = P_t[:, :3, 3:]
        cross = (Ppv + np.swapaxes(Ppv, 1, 2))[local]
        dt = dt_s[:, None, None]
        P_pos = P_t[:, :3, :3][local] + dt * cross + (dt * dt) * P_t[:, 3:, 3:][local]
        P_pos += (q_mix * np.abs(dt_s) ** 3 / 3.0)[:, None, None] * np.eye(3)
        return x_g, symmetrize(P_pos)

    def predict_packed(
        self, tracks: TrackArrays, free_t: IntArray, local: IntArray, dt_s: FloatArray
    ) -> tuple[FloatArray, dict[tuple[int, int], FloatArray]]:
        """`predict` without range rate, its position covariance entry by entry.

        P_pp(dt) = Ppp + dt (Ppv + Pvp) + dt² Pvv + q |dt|³/3 I, for the six
        entries (a ≤ b) as columns over pairs: the per-track blocks are packed
        once per track and gathered once.
        """
        P_t = tracks.P[free_t]
        upper = [(a, b) for a in range(3) for b in range(a, 3)]
        packed = np.empty((free_t.size, 19))
        for k, (a, b) in enumerate(upper):
            packed[:, k] = P_t[:, a, b]
            packed[:, 6 + k] = P_t[:, a, 3 + b] + P_t[:, b, 3 + a]
            packed[:, 12 + k] = P_t[:, 3 + a, 3 + b]
        packed[:, 18] = rows_matmul(tracks.mu[free_t], self.q_m2_s3)
        g = packed[local]
        dt2 = dt_s * dt_s
        noise = g[:, 18] * np.abs(dt_s) ** 3 / 3.0
        P_pos: dict[tuple[int, int], FloatArray] = {}
        for k, (a, b) in enumerate(upper):
            entry = g[:, k] + dt_s * g[:, 6 + k] + dt2 * g[:, 12 + k]
            P_pos[a, b] = entry + noise if a == b else entry
        x_g, _ = self.predict(tracks, free_t, local, dt_s, full=False, state_only=True)
        return x_g, P_pos

    def spread(
        self, P_diag: FloatArray, mu: FloatArray, speed: FloatArray, adt: FloatArray
    ) -> FloatArray:
        """The pre-gate's spread of tracks over |dt| `adt`: statistical, capped by physics.

        k √(tr Ppp + dt² tr Pvv + q dt³), but nothing we track flies faster than
        max_speed_mps, so the target is within (v_max + |v|)·|dt| of the
        extrapolated point whatever the velocity covariance says.
        """
        pos_var = P_diag[:, 0] + P_diag[:, 1] + P_diag[:, 2]
        vel_var = P_diag[:, 3] + P_diag[:, 4] + P_diag[:, 5]
        q_mix = rows_matmul(mu, self.q_m2_s3)
        growth_var = pos_var + adt**2 * vel_var + q_mix * adt**3
        k, v_max = self.settings.pregate_sigmas, self.settings.max_speed_mps
        spread: FloatArray = np.minimum(
            k * np.sqrt(growth_var), k * np.sqrt(pos_var) + (v_max + speed) * adt
        )
        return spread

    def within_reach(
        self,
        tracks: TrackArrays,
        track_taken: BoolArray,
        model: MeasurementModel,
        pts_z: FloatArray,
        t_mid: float,
        half_span: float,
    ) -> IntArray:
        """The free tracks that may pre-gate with a report of the batch (an exact cut).

        A beam pass covers a small part of a region: most tracks are far from
        every report, and this finds them before the per-track work of the
        pre-gate, in one compiled pass over the tracks. With p the track moved
        linearly to t_mid, the pre-gate's point x_ext is within
        drift = ½ A μ_bal dt² of p (A bounds the frame acceleration), its radius
        is at most
            spread + |v| half_span + 5 adt² + k σ̄(|p − site| + drift)
        (σ̄ from the kind's `PregateReach`), and the reach's box and range
        interval give 1-Lipschitz lower bounds L of its distance to every
        report. A track with L(p) > radius bound + drift cannot pair: it is
        dropped. Kinds without a reach keep every free track.
        """
        reach = model.pregate_reach(pts_z)
        if reach is None:
            return np.flatnonzero(~track_taken)
        kept: IntArray = within_reach_kernel(
            track_taken, tracks.x, tracks.P, tracks.mu, tracks.time_s,
            self.q_m2_s3, self.ballistic, t_mid, half_span,
            self.settings.pregate_sigmas, self.settings.max_speed_mps,
            reach.box_low_m, reach.box_high_m, model.ecef_m,
            reach.range_low_m, reach.range_high_m, reach.sigma0_m, reach.sigma_per_m,
        )  # fmt: skip
        return kept

    def pairs(
        self, tracks: TrackArrays, batch: Batch, taken: BoolArray, track_taken: BoolArray
    ) -> GatedPairs:
        """Candidate pairs of free tracks and free reports that pass the Mahalanobis gate."""
        model, z, t = batch.model, batch.z, batch.time_s
        free_m = np.flatnonzero(~taken)
        if free_m.size == 0 or track_taken.all():
            return GatedPairs.none()
        t_mid = float(0.5 * (t[free_m].min() + t[free_m].max()))
        half_span = float(0.5 * (t[free_m].max() - t[free_m].min()))
        pts_z = model.pregate_points_z(z[free_m])
        free_t = self.within_reach(tracks, track_taken, model, pts_z, t_mid, half_span)
        if free_t.size == 0:
            return GatedPairs.none()
        dt_mid = t_mid - tracks.time_s[free_t]
        # Every free track's rows gathered once: its state, mode probabilities and
        # the diagonal of its covariance.
        x_t, mu_t = tracks.x[free_t], tracks.mu[free_t]
        P_diag = np.diagonal(tracks.P, axis1=1, axis2=2)[free_t]
        x_ext = x_t.copy()
        x_ext[:, :3] += x_ext[:, 3:] * dt_mid[:, None]
        if self.ballistic.any():
            # As the gate predicts: gravity weighted by the ballistic mode. Otherwise a
            # precise track of a missile falls ½ g dt² (80 m over 4 s) out of its pre-gate.
            mu_bal = mu_t[:, self.ballistic].sum(axis=1)
            a = frame_acceleration(x_t) * mu_bal[:, None]
            x_ext[:, :3] += 0.5 * a * (dt_mid**2)[:, None]
        pts_x, scale = model.pregate_points_x(x_ext)
        speed = np.linalg.norm(x_t[:, 3:], axis=1)
        adt = np.abs(dt_mid) + half_span
        spread = self.spread(P_diag, mu_t, speed, adt)
        k = self.settings.pregate_sigmas
        radius = (spread + speed * half_span + 5.0 * adt**2) * scale + k * model.pregate_sigma(
            x_ext
        )
        pt, pm = self.pregater(pts_x, radius, pts_z)
        ti, mj = free_t[pt], free_m[pm]
        if model.associates_by_identity and ti.size:
            # A report whose identity another track holds cannot go to it.
            ok = (tracks.ident[ti] == "") | (tracks.ident[ti] == batch.ident[mj])
            ti, mj, pt = ti[ok], mj[ok], pt[ok]
        if ti.size == 0:
            return GatedPairs.none()
        dt = t[mj] - tracks.time_s[ti]
        # What depends on the track only is computed for the tracks in some pair,
        # not for every free track: a beam pass of a few reports meets few tracks.
        used, local = np.unique(pt, return_inverse=True)
        paired_t = free_t[used]
        if batch.with_range_rate or z.shape[1] > 3:
            x_g, P_g = self.predict(tracks, paired_t, local, dt, full=batch.with_range_rate)
            z_pred, H = model.measure_jacobian(
                x_g, batch.with_range_rate, position_only=not batch.with_range_rate
            )
            nu = model.residual(z[mj], z_pred)
            # S = H P H' + R    innovation covariance
            S = H @ P_g @ np.swapaxes(H, 1, 2) + batch.R[mj]
            d2, log_det = mahalanobis_sq(nu, symmetrize(S))
        else:
            x_g, P_pos = self.predict_packed(tracks, paired_t, local, dt)
            z_pred, H = model.measure_jacobian(x_g, batch.with_range_rate, position_only=True)
            nu = model.residual(z[mj], z_pred)
            d2, log_det = packed_mahalanobis_sq(nu, innovation_packed(H, P_pos, batch.R[mj]))
        inside = d2 <= batch.gamma
        dim = z.shape[1]
        # ln Λ = −½ (d² + ln det S + d ln 2π)
        log_lik = -0.5 * (d2 + log_det + dim * math.log(2.0 * math.pi))
        return GatedPairs(ti[inside], mj[inside], d2[inside], log_lik[inside])


def innovation_packed(
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

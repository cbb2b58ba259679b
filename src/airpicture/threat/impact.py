"""Ballistic impact prediction with its uncertainty: sigma points through the tracker's physics.

A ballistic track's state x (ECEF position and velocity) and covariance P are
turned into a predicted impact point, time and 95 % ellipse:

1. P is checked (finite, symmetric, positive semi-definite); an indefinite P is
   repaired by clipping its eigenvalues and the repair is reported.
2. Sigma points (the unscented transform, 2n + 1 = 13 points, κ = 1):
       X₀ = x,  X±ᵢ = x ± √(n + κ) Sᵢ,   S S' = P,
       W₀ = κ / (n + κ),  Wᵢ = 1 / (2 (n + κ)).
   The ballistic coefficient β is unknown to the defender: ln β is a Gaussian
   prior, integrated by 3-node Gauss–Hermite quadrature (nodes 0, ±√3 σ,
   weights 2/3, 1/6, 1/6). Every sigma point flies with every β node. When
   the state carries ln β as a 7th component (a trajectory fit estimated it
   from drag, `threat.fit`), its sigma points (2·7 + 1 = 15) carry their own β
   and no quadrature is needed.
3. Each point is flown with the tracker's own ballistic law
   (`airpicture.tracking.motion.ballistic_propagate`: the gravity field and
   rotating-frame terms of `airpicture.geo.gravity`, exponential-atmosphere
   drag) until it crosses the ellipsoid (h = 0); the step shrinks as the ground
   nears, and the crossing is interpolated linearly inside the last (≤ 0.5 s) step.
4. Impact points are expressed as east/north offsets in the tangent plane at
   the weighted mean impact; their weighted covariance (times a calibrated
   inflation factor) gives the ellipse at the stated confidence.

Nothing here raises on bad numbers: each track gets `status` ("ok" or what
went wrong) and `valid`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from airpicture.geo import (
    WGS84_FLATTENING,
    ecef_to_enu,
    ecef_to_geodetic,
    enu_basis,
    enu_to_ecef,
    geodetic_to_ecef,
)
from airpicture.geo.gravity import BALLISTIC_CONSTANTS
from airpicture.threat.ellipse import covariance_to_ellipse
from airpicture.tracking.kernels import fly_to_ground_kernel
from airpicture.tracking.motion import STATE_DIM

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: 3-node Gauss–Hermite rule for E[f(z)], z ~ N(0, 1): nodes and weights.
_GH_NODES: Final = np.array([0.0, -math.sqrt(3.0), math.sqrt(3.0)])
_GH_WEIGHTS: Final = np.array([2.0 / 3.0, 1.0 / 6.0, 1.0 / 6.0])

STATUS_OK: Final = "ok"


@dataclass(frozen=True)
class ImpactSettings:
    """How impact points are predicted. Defaults argued in docs/threat.md."""

    #: Probability that the truth lies inside the reported ellipse.
    confidence: float = 0.95
    #: Prior on the re-entry vehicle's ballistic coefficient m/(Cd A): median and
    #: log-standard deviation (σ = 0.5 spans roughly 1,500–11,000 kg/m² at 95 %).
    beta_median_kg_m2: float = 4000.0
    beta_log_sigma: float = 0.5
    #: Unscented-transform spread parameter κ.
    kappa: float = 1.0
    #: Multiplies the impact covariance; calibrated by bench/threat.py so that the
    #: 95 % ellipse holds the truth about 95 % of the time.
    covariance_inflation: float = 1.0
    #: Longest step of the integration, and the shortest near the ground.
    max_step_s: float = 2.0
    min_step_s: float = 0.5
    #: A point still flying after this long is reported as never reaching the ground.
    max_flight_s: float = 3600.0
    #: Eigenvalue floor (relative to the largest) when P is repaired.
    eigen_floor: float = 1e-12


@dataclass(frozen=True)
class ImpactPrediction:
    """Per track (batch axis first). Times are scenario seconds."""

    valid: BoolArray
    status: NDArray[np.object_]
    lat_deg: FloatArray
    lon_deg: FloatArray
    time_s: FloatArray
    time_sigma_s: FloatArray
    #: Horizontal covariance of the impact point, (east, north) metres², inflation included.
    cov_en_m2: FloatArray
    semi_major_m: FloatArray
    semi_minor_m: FloatArray
    orientation_deg: FloatArray
    confidence: float
    #: Ground track of the central sigma point (the best estimate): `(N, K)` lat/lon,
    #: NaN after the impact. Used to tell which territory the missile flies over.
    path_lat_deg: FloatArray
    path_lon_deg: FloatArray
    path_time_s: FloatArray
    #: Ellipsoidal height along that path, `(N, K)` (the globe draws the path in 3D).
    path_alt_m: FloatArray

    def __len__(self) -> int:
        return int(self.valid.shape[0])


def repair_covariance(P: FloatArray, eigen_floor: float) -> tuple[FloatArray, BoolArray]:
    """(P repaired to symmetric positive definite, which rows needed it).

    P = V diag(λ) V';  λ ← max(λ, floor · max(λ_max, 1))
    Rows with non-finite entries are returned as they are (the caller rejects them).
    """
    finite = np.asarray(np.isfinite(P).all(axis=(-1, -2)), dtype=np.bool_)
    Ps = np.where(finite[:, None, None], 0.5 * (P + np.swapaxes(P, -1, -2)), np.eye(P.shape[-1]))
    lam, V = np.linalg.eigh(Ps)
    floor = eigen_floor * np.maximum(lam[:, -1:], 1.0)
    repaired = np.asarray(finite & (lam < floor).any(axis=1), dtype=np.bool_)
    lam = np.maximum(lam, floor)
    out: FloatArray = np.einsum("nij,nj,nkj->nik", V, lam, V)
    return np.where(finite[:, None, None], out, P), repaired


def sigma_points(
    x: FloatArray, P: FloatArray, kappa: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Unscented sigma points `(N, 2n+1, n)`, their weights `(2n+1,)` and the square roots.

    X₀ = x, X±ᵢ = x ± √(n+κ) Sᵢ (Sᵢ the columns of S, S S' = P)
    W₀ = κ/(n+κ), Wᵢ = 1/(2(n+κ))
    """
    n = x.shape[-1]
    lam, V = np.linalg.eigh(P)
    S = V * np.sqrt(np.maximum(lam, 0.0))[:, None, :]  # S S' = V Λ V' = P
    spread = math.sqrt(n + kappa) * np.swapaxes(S, -1, -2)  # rows are the columns of S
    pts = np.concatenate([x[:, None, :], x[:, None, :] + spread, x[:, None, :] - spread], axis=1)
    w = np.full(2 * n + 1, 1.0 / (2.0 * (n + kappa)))
    w[0] = kappa / (n + kappa)
    return pts, w, S


def fly_to_ground(
    x: FloatArray, beta_kg_m2: FloatArray, settings: ImpactSettings, record: BoolArray | None = None
) -> tuple[FloatArray, FloatArray, BoolArray, list[FloatArray], list[FloatArray]]:
    """Fly each state `(M, 6)` with its own β `(M,)` until it reaches h = 0.

    Returns impact ECEF `(M, 3)`, flight time `(M,)` (NaN if it never lands),
    which states landed, and the recorded positions (ECEF) and times of the
    states flagged in `record`, one array per step of the longest flight
    (positions NaN from the step on which a state stops).
    Steps: Δt = clip(h / (2 · descent rate), min_step, max_step) while descending,
    the largest step while climbing, so that the crossing falls in a short step.
    A state that is not finite, or whose height is not, never lands; one at or
    under the ground lands at t = 0.
    """
    # One compiled loop per state over its ~50 steps (`fly_to_ground_kernel`): a
    # NumPy loop over the steps spent ~4 ms per prediction in per-step NumPy and
    # PROJ calls, the kernel ~0.4 ms.
    states = np.ascontiguousarray(x, dtype=np.float64).reshape(-1, STATE_DIM)
    beta = np.ascontiguousarray(np.broadcast_to(beta_kg_m2, states.shape[:1]), dtype=np.float64)
    steps_s = np.array([settings.min_step_s, settings.max_step_s, settings.max_flight_s])
    impact, t_hit, n_steps, _, _ = fly_to_ground_kernel(
        states, beta, steps_s, BALLISTIC_CONSTANTS, WGS84_FLATTENING, 0
    )
    rec_idx = np.flatnonzero(record) if record is not None else np.empty(0, np.intp)
    if rec_idx.size == 0:
        return impact, t_hit, np.isfinite(t_hit), [states[rec_idx, :3]], [np.zeros(0)]
    # The path is as long as the longest flight: fly the recorded states again, recording.
    n_path = int(n_steps.max(initial=0)) + 1
    _, _, _, path, path_t = fly_to_ground_kernel(
        states[rec_idx], beta[rec_idx], steps_s, BALLISTIC_CONSTANTS, WGS84_FLATTENING, n_path
    )
    return impact, t_hit, np.isfinite(t_hit), list(path), list(path_t)


#: The ballistic coefficients a falling body can have (kg/m²): a sheet of paper's to a
#: dense re-entry vehicle's, with a wide margin either side.
BETA_RANGE_KG_M2: Final = (1.0, 1.0e7)


def predict_impact(
    x: FloatArray, P: FloatArray, time_s: float, settings: ImpactSettings | None = None
) -> ImpactPrediction:
    """Impact point, time and ellipse for a batch of ballistic states `x (N, 6)`, `P (N, 6, 6)`.

    A state of 7 columns carries ln β as its last (a trajectory fit that estimated
    it, `BallisticFit.state_at`), with `P (N, 7, 7)`: the 15 sigma points of
    (x, ln β) each fly with their own β, instead of the prior's quadrature.
    """
    cfg = settings or ImpactSettings()
    n_state = np.shape(x)[-1]
    if n_state not in (STATE_DIM, STATE_DIM + 1):
        raise ValueError(f"a state has {STATE_DIM} or {STATE_DIM + 1} columns, got {n_state}")
    x = np.asarray(x, dtype=np.float64).reshape(-1, n_state)
    P = np.asarray(P, dtype=np.float64).reshape(-1, n_state, n_state)
    n_tracks = x.shape[0]
    status = np.full(n_tracks, STATUS_OK, dtype=object)
    bad_x = np.asarray(~np.isfinite(x).all(axis=1), dtype=np.bool_)
    bad_P = ~np.isfinite(P).all(axis=(1, 2))
    P_fixed, repaired = repair_covariance(P, cfg.eigen_floor)
    status[repaired] = "covariance not positive definite: repaired by clipping eigenvalues"
    status[bad_P] = "covariance not finite: no prediction"
    status[bad_x] = "state not finite: no prediction"
    usable = ~bad_x & ~bad_P
    x_use = np.where(usable[:, None], x, 0.0)
    P_use = np.where(usable[:, None, None], P_fixed, np.eye(n_state))
    pts, w_sigma, _ = sigma_points(x_use, P_use, cfg.kappa)
    n_sigma = pts.shape[1]
    if n_state == STATE_DIM + 1:
        # β is part of the state: every sigma point flies with its own, no quadrature.
        n_beta = 1
        states = pts[..., :STATE_DIM].reshape(-1, STATE_DIM)
        # A sigma point of a wide ln β spread can reach β = 0 or ∞ (found by hypothesis in
        # tests/policy/test_no_leak.py: the drag kick divides by β); fly it at the
        # nearest β any body has.
        beta_of = np.exp(np.clip(pts[..., STATE_DIM], *np.log(BETA_RANGE_KG_M2)).reshape(-1))
        weights = w_sigma
    else:
        betas = cfg.beta_median_kg_m2 * np.exp(cfg.beta_log_sigma * _GH_NODES)
        n_beta = betas.size
        # States (N, B, S, 6) flattened; weights W = W_β W_σ.
        states = np.broadcast_to(pts[:, None], (n_tracks, n_beta, n_sigma, STATE_DIM)).reshape(
            -1, STATE_DIM
        )
        beta_of = np.broadcast_to(betas[None, :, None], (n_tracks, n_beta, n_sigma)).reshape(-1)
        weights = (_GH_WEIGHTS[:, None] * w_sigma[None, :]).reshape(-1)
    active = np.repeat(usable, n_beta * n_sigma)
    center_grid = np.zeros((n_tracks, n_beta, n_sigma), bool)
    center_grid[:, 0, 0] = True
    center = center_grid.reshape(-1)
    states = np.where(active[:, None], states, np.nan)
    impact, t_fly, landed, path, path_t = fly_to_ground(states, beta_of, cfg, center & active)
    impact = impact.reshape(n_tracks, n_beta * n_sigma, 3)
    t_fly = t_fly.reshape(n_tracks, -1)
    landed = landed.reshape(n_tracks, -1)
    all_landed = np.asarray(landed.all(axis=1), dtype=np.bool_)
    status[usable & ~all_landed] = (
        f"does not reach the ground within {cfg.max_flight_s:.0f} s: no impact prediction"
    )
    valid = usable & all_landed
    lat = np.full(n_tracks, np.nan)
    lon = np.full(n_tracks, np.nan)
    t_mean = np.full(n_tracks, np.nan)
    t_sigma = np.full(n_tracks, np.nan)
    cov = np.full((n_tracks, 2, 2), np.nan)
    if valid.any():
        vi = np.flatnonzero(valid)
        imp = impact[vi]
        # Mean impact: weighted mean of the ECEF points, put back on the ellipsoid.
        mean_ecef = np.einsum("k,nkj->nj", weights, imp)
        mlat, mlon, _ = ecef_to_geodetic(mean_ecef)
        origin = geodetic_to_ecef(mlat, mlon, 0.0)
        basis = enu_basis(mlat, mlon)
        enu = ecef_to_enu(imp, origin[:, None, :], basis[:, None, :, :])[..., :2]
        d_mean = np.einsum("k,nkj->nj", weights, enu)
        # The tangent-plane mean (≈ 0 by construction) moves the centre back onto the ground.
        centre = enu_to_ecef(
            np.concatenate([d_mean, np.zeros((vi.size, 1))], axis=1), origin, basis
        )
        lat[vi], lon[vi], _ = ecef_to_geodetic(centre)
        d = enu - d_mean[:, None, :]
        # C = Σ W_k d_k d_k'  (weights sum to 1; W₀ ≥ 0 keeps C positive semi-definite)
        cov[vi] = cfg.covariance_inflation * np.einsum("k,nki,nkj->nij", weights, d, d)
        tf = t_fly[vi]
        t_mean[vi] = time_s + tf @ weights
        t_sigma[vi] = np.sqrt(np.maximum(((tf - (tf @ weights)[:, None]) ** 2) @ weights, 0.0))
    major, minor, orient = covariance_to_ellipse(
        np.where(np.isfinite(cov), cov, 0.0), cfg.confidence
    )
    nan_if_invalid = np.where(valid, 0.0, np.nan)
    path_arr = np.stack(path, axis=1)  # (N_active_centres, K, 3)
    path_times = np.stack(path_t, axis=1)
    plat = np.full((n_tracks, path_arr.shape[1]), np.nan)
    plon = np.full_like(plat, np.nan)
    ptime = np.full_like(plat, np.nan)
    palt = np.full_like(plat, np.nan)
    centres_of = np.flatnonzero(usable)
    if centres_of.size:
        finite = np.asarray(np.isfinite(path_arr).all(axis=-1), dtype=np.bool_)
        la, lo, al = ecef_to_geodetic(np.where(finite[..., None], path_arr, 7e6), refine=False)
        plat[centres_of] = np.where(finite, la, np.nan)
        palt[centres_of] = np.where(finite, al, np.nan)
        plon[centres_of] = np.where(finite, lo, np.nan)
        ptime[centres_of] = time_s + path_times
    return ImpactPrediction(
        valid=valid,
        status=status,
        lat_deg=lat,
        lon_deg=lon,
        time_s=t_mean,
        time_sigma_s=t_sigma,
        cov_en_m2=cov,
        semi_major_m=major + nan_if_invalid,
        semi_minor_m=minor + nan_if_invalid,
        orientation_deg=orient + nan_if_invalid,
        confidence=cfg.confidence,
        path_lat_deg=plat,
        path_lon_deg=plon,
        path_time_s=ptime,
        path_alt_m=palt,
    )

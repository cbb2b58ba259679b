"""Motion models in ECEF: state x = [x, y, z, vx, vy, vz] (metres, metres per second).

The ECEF frame rotates with the Earth, so an aircraft holding a constant ground
velocity has (almost) zero ECEF acceleration, while a ballistic body feels
gravity (with the J2 oblateness term), the Coriolis and centrifugal
accelerations of the rotating frame, and air drag.

Every function takes a batch: `x (N, 6)`, `P (N, 6, 6)`, `dt_s (N,)`. A negative
`dt_s` (a report slightly older than the track, within the ordering tolerance)
predicts backwards with the process noise of |dt|.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from airpicture.geo import EARTH_ROTATION_RAD_S, WGS84_A_M, ecef_to_geodetic
from airpicture.tracking.kernels import (
    ballistic_covariance_kernel,
    ballistic_propagate_kernel,
    cv_predict_kernel,
)

FloatArray = NDArray[np.float64]

STATE_DIM: Final = 6
#: Earth's gravitational parameter (WGS-84), m³/s².
GM_M3_S2: Final[float] = 3.986004418e14
#: Second zonal harmonic of the Earth's gravity field (EGM-96, unnormalised).
J2: Final[float] = 1.08262668e-3
#: Sea-level air density (kg/m³) and scale height (m) of an exponential atmosphere.
RHO0_KG_M3: Final[float] = 1.225
SCALE_HEIGHT_M: Final[float] = 7200.0

# [Ω×], the cross-product matrix of the Earth's rotation vector.
_OMEGA_X: Final = np.array(
    [[0.0, -EARTH_ROTATION_RAD_S, 0.0], [EARTH_ROTATION_RAD_S, 0.0, 0.0], [0.0, 0.0, 0.0]]
)

MotionKind = Literal["cv", "ballistic"]

#: (μ, J2, a, ω, ρ0, H) for the ballistic kernels in `kernels`.
BALLISTIC_CONSTANTS: Final = np.array(
    [GM_M3_S2, J2, WGS84_A_M, EARTH_ROTATION_RAD_S, RHO0_KG_M3, SCALE_HEIGHT_M]
)


@dataclass(frozen=True)
class MotionModel:
    """One IMM mode: a kinematic law and its process-noise spectral density.

    `q_m2_s3` is the power spectral density of the white acceleration noise
    (m²/s³): over dt the velocity random walk has variance q·dt.
    """

    name: str
    kind: MotionKind
    q_m2_s3: float
    #: Ballistic coefficient m / (Cd A) in kg/m², used by the ballistic law's drag.
    ballistic_coefficient_kg_m2: float = 3000.0


def cv_transition(dt_s: FloatArray) -> FloatArray:
    """F(dt) of the nearly-constant-velocity model, `(N, 6, 6)`."""
    F = np.broadcast_to(np.eye(STATE_DIM), (*dt_s.shape, STATE_DIM, STATE_DIM)).copy()
    for k in range(3):
        F[..., k, k + 3] = dt_s
    return F


def white_acceleration_noise(dt_s: FloatArray, q_m2_s3: FloatArray | float) -> FloatArray:
    """Q(dt) of continuous white acceleration noise of density q, `(N, 6, 6)`.

    Q = q [[|dt|³/3 I, dt²/2 sgn(dt) I], [dt²/2 sgn(dt) I, |dt| I]]
    """
    adt = np.abs(dt_s)
    q = np.asarray(q_m2_s3, dtype=np.float64)
    qpp = q * adt**3 / 3.0
    qpv = q * dt_s * adt / 2.0
    qvv = q * adt
    Q = np.zeros((*dt_s.shape, STATE_DIM, STATE_DIM))
    for k in range(3):
        Q[..., k, k] = qpp
        Q[..., k, k + 3] = qpv
        Q[..., k + 3, k] = qpv
        Q[..., k + 3, k + 3] = qvv
    return Q


def gravity_j2(r_m: FloatArray) -> FloatArray:
    """Gravitational acceleration with the J2 term, ECEF `(..., 3)` → m/s² `(..., 3)`.

    g = −μ r/|r|³ [1 + 3/2 J2 (a/|r|)² (1 − 5 z²/|r|²)]   (x, y)
    g_z = −μ z/|r|³ [1 + 3/2 J2 (a/|r|)² (3 − 5 z²/|r|²)]
    """
    g = np.empty_like(r_m)
    _gravity_j2_into(r_m, g)
    return g


def _norm3(v: FloatArray) -> FloatArray:
    """|v| over the last axis of length 3 (np.linalg.norm's sum, without its overhead)."""
    result: FloatArray = np.sqrt(v[..., 0] ** 2 + v[..., 1] ** 2 + v[..., 2] ** 2)
    return result


def _gravity_j2_into(r_m: FloatArray, out: FloatArray) -> None:
    """`gravity_j2(r_m)` written into `out` `(..., 3)`."""
    rn = _norm3(r_m)
    z2 = (r_m[..., 2] / rn) ** 2
    k = 1.5 * J2 * (WGS84_A_M / rn) ** 2
    base = -GM_M3_S2 / rn**3
    five_z2 = 5.0 * z2
    horizontal = 1.0 + k * (1.0 - five_z2)
    np.multiply(base * r_m[..., 0], horizontal, out=out[..., 0])
    np.multiply(base * r_m[..., 1], horizontal, out=out[..., 1])
    np.multiply(base * r_m[..., 2], 1.0 + k * (3.0 - five_z2), out=out[..., 2])


def ballistic_acceleration(
    r_m: FloatArray, v_mps: FloatArray, alt_m: FloatArray, beta_kg_m2: float
) -> FloatArray:
    """ECEF acceleration of an unpowered body: gravity, Coriolis, centrifugal, drag.

    a = g(r) − 2 Ω×v − Ω×(Ω×r) − ρ(h) |v| v / (2β),   ρ(h) = ρ0 exp(−h/H)
    The ECEF velocity is the velocity relative to the (co-rotating) air.
    """
    coriolis = _coriolis(v_mps)
    centrifugal = _centrifugal(r_m)
    rho = RHO0_KG_M3 * np.exp(-np.clip(alt_m, -1000.0, None) / SCALE_HEIGHT_M)
    speed = np.linalg.norm(v_mps, axis=-1)
    drag = -(rho * speed / (2.0 * beta_kg_m2))[..., None] * v_mps
    result: FloatArray = gravity_j2(r_m) + coriolis + centrifugal + drag
    return result


def ballistic_propagate(
    x: FloatArray,
    dt_s: FloatArray,
    beta_kg_m2: float | FloatArray,
    max_step_s: float = 5.0,
    alt_m: FloatArray | None = None,
) -> FloatArray:
    """Integrate the ballistic law over dt: Strang splitting of drag (exact) and gravity (Heun).

    Each sub-step (≤ max_step_s): half a drag kick, a second-order Runge-Kutta
    (Heun) step of gravity + Coriolis + centrifugal, half a drag kick. Over 5 s
    the Heun step's error is below a metre (the acceleration changes by ~1e-2
    m/s³ along a trajectory), far below any sensor's noise. `beta_kg_m2`: one
    ballistic coefficient, or one per state; `alt_m`: the states' ellipsoidal
    heights when the caller has them (else computed here).
    """
    shape = x.shape
    flat_x = np.ascontiguousarray(x, dtype=np.float64).reshape(-1, STATE_DIM)
    flat_dt = np.ascontiguousarray(np.broadcast_to(dt_s, shape[:-1]), dtype=np.float64).reshape(-1)
    if flat_x.shape[0] == 0:
        return flat_x.reshape(shape).copy()
    if alt_m is None:
        # PROJ's closed form without the Newton step: micrometres at aircraft
        # heights, a centimetre at 1,000 km where the air is 10⁻⁶⁰ of sea level.
        alt_m = ecef_to_geodetic(flat_x[:, :3], refine=False)[2]
    alt0 = np.ascontiguousarray(np.broadcast_to(alt_m, shape[:-1]), dtype=np.float64).reshape(-1)
    beta = np.ascontiguousarray(np.broadcast_to(beta_kg_m2, shape[:-1]), dtype=np.float64).reshape(
        -1
    )
    n_steps = max(1, int(np.ceil(np.max(np.abs(flat_dt), initial=0.0) / max_step_s)))
    y = ballistic_propagate_kernel(flat_x, flat_dt, alt0, n_steps, beta, BALLISTIC_CONSTANTS)
    result: FloatArray = y.reshape(shape)
    return result


def ballistic_transition(x: FloatArray, dt_s: FloatArray) -> FloatArray:
    """Linearised F(dt) of the ballistic law about x: F ≈ I + A dt + A² dt²/2.

    A = [[0, I], [G, −2[Ω×]]],  G = μ/|r|³ (3 r̂ r̂' − I) − [Ω×][Ω×]   (drag neglected)
    """
    r = x[..., :3]
    rn = np.linalg.norm(r, axis=-1)
    u = r / rn[..., None]
    G = (GM_M3_S2 / rn**3)[..., None, None] * (
        3.0 * np.einsum("...i,...j->...ij", u, u) - np.eye(3)
    ) - _OMEGA_X @ _OMEGA_X
    A = np.zeros((*dt_s.shape, STATE_DIM, STATE_DIM))
    A[..., :3, 3:] = np.eye(3)
    A[..., 3:, :3] = G
    A[..., 3:, 3:] = -2.0 * _OMEGA_X
    dt = dt_s[..., None, None]
    F: FloatArray = np.eye(STATE_DIM) + A * dt + (A @ A) * dt**2 / 2
    return F


def predict(
    x: FloatArray, P: FloatArray, dt_s: FloatArray, model: MotionModel
) -> tuple[FloatArray, FloatArray]:
    """Predict a batch of states with one motion model: (x, P) at t + dt.

    x⁻ = f(x, dt);  P⁻ = F P F' + Q
    """
    # One compiled loop over the tracks for each law (`kernels`): no (N, 6, 6) temporaries.
    shape = x.shape
    flat_x = np.ascontiguousarray(x, dtype=np.float64).reshape(-1, STATE_DIM)
    flat_P = np.ascontiguousarray(P, dtype=np.float64).reshape(-1, STATE_DIM, STATE_DIM)
    flat_dt = np.ascontiguousarray(np.broadcast_to(dt_s, shape[:-1]), dtype=np.float64).reshape(-1)
    if model.kind == "cv":
        # x⁻ = F x;  P⁻ = F P F' + Q
        x_pred, P_pred = cv_predict_kernel(flat_x, flat_P, flat_dt, model.q_m2_s3)
    else:
        x_pred = ballistic_propagate(flat_x, flat_dt, model.ballistic_coefficient_kg_m2)
        # P⁻ = F P F' + Q,  F = ballistic_transition(x, dt)
        P_pred = ballistic_covariance_kernel(
            flat_x, flat_P, flat_dt, model.q_m2_s3, GM_M3_S2, EARTH_ROTATION_RAD_S
        )
    return x_pred.reshape(shape), P_pred.reshape(P.shape)


def cv_covariance(P: FloatArray, dt_s: FloatArray) -> FloatArray:
    """F P F' for F = [[I, dt I], [0, I]], block by block (no 6×6 products).

    [[Ppp + dt (Ppv + Pvp) + dt² Pvv, Ppv + dt Pvv], [Pvp + dt Pvv, Pvv]]
    """
    dt = dt_s[..., None, None]
    Ppp, Ppv, Pvv = P[..., :3, :3], P[..., :3, 3:], P[..., 3:, 3:]
    out = np.empty_like(P)
    out[..., :3, :3] = Ppp + dt * (Ppv + np.swapaxes(Ppv, -1, -2)) + dt * dt * Pvv
    out[..., :3, 3:] = Ppv + dt * Pvv
    out[..., 3:, :3] = np.swapaxes(out[..., :3, 3:], -1, -2)
    out[..., 3:, 3:] = Pvv
    return out


def frame_acceleration(x: FloatArray) -> FloatArray:
    """Gravity plus the rotating-frame terms at x (no drag): what a ballistic body feels."""
    out = np.empty((*x.shape[:-1], 3))
    _frame_acceleration_into(x, out)
    return out


def _frame_acceleration_into(x: FloatArray, out: FloatArray) -> None:
    """g(r) − 2 Ω×v − Ω×(Ω×r) written into `out` `(..., 3)`; Ω = (0, 0, ω)."""
    w = EARTH_ROTATION_RAD_S
    _gravity_j2_into(x[..., :3], out)
    # −2 Ω×v = (2ω v_y, −2ω v_x, 0);  −Ω×(Ω×r) = (ω² x, ω² y, 0)
    out[..., 0] += 2.0 * w * x[..., 4]
    out[..., 0] += w**2 * x[..., 0]
    out[..., 1] += -2.0 * w * x[..., 3]
    out[..., 1] += w**2 * x[..., 1]


def _coriolis(v_mps: FloatArray) -> FloatArray:
    """−2 Ω×v for Ω = (0, 0, ω): (2ω v_y, −2ω v_x, 0)."""
    w = EARTH_ROTATION_RAD_S
    out = np.zeros_like(v_mps)
    out[..., 0] = 2.0 * w * v_mps[..., 1]
    out[..., 1] = -2.0 * w * v_mps[..., 0]
    return out


def _centrifugal(r_m: FloatArray) -> FloatArray:
    """−Ω×(Ω×r) for Ω = (0, 0, ω): (ω² x, ω² y, 0)."""
    w2 = EARTH_ROTATION_RAD_S**2
    out = np.zeros_like(r_m)
    out[..., 0] = w2 * r_m[..., 0]
    out[..., 1] = w2 * r_m[..., 1]
    return out

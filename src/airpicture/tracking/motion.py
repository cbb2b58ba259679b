"""Motion models in ECEF: state x = [x, y, z, vx, vy, vz] (metres, metres per second).

The ECEF frame rotates with the Earth, so an aircraft holding a constant ground
velocity has (almost) zero ECEF acceleration, while a ballistic body feels the
Earth's gravity field, the Coriolis and centrifugal accelerations of the
rotating frame (all three from `airpicture.geo.gravity`), and air drag.

Every function takes a batch: `x (N, 6)`, `P (N, 6, 6)`, `dt_s (N,)`. A negative
`dt_s` (a report slightly older than the track, within the ordering tolerance)
predicts backwards with the process noise of |dt|.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from airpicture.geo import ecef_to_geodetic
from airpicture.geo.gravity import (
    BALLISTIC_CONSTANTS,
    dynamics_jacobian,
    rotating_frame_acceleration_mps2,
)
from airpicture.tracking.kernels import (
    ballistic_covariance_kernel,
    ballistic_propagate_kernel,
    cv_predict_kernel,
)

FloatArray = NDArray[np.float64]

STATE_DIM: Final = 6
MotionKind = Literal["cv", "ballistic"]


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

    A = ∂ẏ/∂y = [[0, I], [G, −2[Ω×]]]   (drag neglected; `geo.gravity.dynamics_jacobian`)
    """
    A = dynamics_jacobian(x)
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
            flat_x, flat_P, flat_dt, model.q_m2_s3, BALLISTIC_CONSTANTS
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
    """Gravity plus the rotating-frame terms at states x `(..., 6)` (no drag): what a
    ballistic body feels, `(..., 3)`; `geo.gravity.rotating_frame_acceleration_mps2`."""
    return rotating_frame_acceleration_mps2(x[..., :3], x[..., 3:])

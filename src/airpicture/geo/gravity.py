"""The Earth's gravity field in the Earth-fixed (ECEF) frame, once, in two forms.

What a body moving freely in ECEF feels (no thrust, no air):

    a(r, v) = g(r) − 2 Ω × v − Ω × (Ω × r),   Ω = (0, 0, ω)

with g the gravity of the oblate Earth to second order (the J2 zonal harmonic):

    g_x,y = −μ r_x,y / |r|³ [1 + 3/2 J2 (a/|r|)² (1 − 5 z²/|r|²)]
    g_z   = −μ z     / |r|³ [1 + 3/2 J2 (a/|r|)² (3 − 5 z²/|r|²)]

(Vallado, Fundamentals of Astrodynamics and Applications, 4th ed., eq. 8-31,
with the potential U = μ/r [1 − J2 (a/r)² P2(z/r)]). Constants from
`airpicture.geo.constants`.

Two forms of the same arithmetic, tested equal to 1e-12 (tests/geo/test_gravity.py):
- NumPy, batch first: positions `(..., 3)` → accelerations `(..., 3)`; what the
  simulator, the motion model's linearisation and the assessor call;
- numba, one state at a time, for the compiled loops of `tracking.kernels`
  (ballistic propagation, its covariance, the flight to the ground):
  `frame_acceleration_into` and `dynamics_jacobian_into`. They read the field's
  constants from `BALLISTIC_CONSTANTS`, an argument rather than a compiled-in
  global, so that numba's on-disk cache of a kernel (keyed on the kernel's own
  file only) can never hold an old constant. The same cache does keep these
  functions' old code inside the kernels that call them: after editing them,
  delete `tracking/__pycache__/kernels.*.nb[ci]`.

The linearisation of ẏ = (v, a(r, v)) (a filter's transition matrix) uses the
point-mass gradient of g: the J2 part of ∂g/∂r is ~5 J2 ≈ 0.5 % of it, below what a
5 s prediction of a covariance can tell.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final, TypeVar, cast

import numba
import numpy as np
from numpy.typing import NDArray

from airpicture.geo.constants import (
    AIR_DENSITY_SCALE_HEIGHT_M,
    EARTH_ROTATION_RAD_S,
    GM_M3_S2,
    J2,
    SEA_LEVEL_AIR_DENSITY_KG_M3,
    WGS84_A_M,
)

FloatArray = NDArray[np.float64]
_F = TypeVar("_F", bound=Callable[..., Any])

#: (μ, J2, a, ω, ρ0, H): the gravity field and the exponential atmosphere as the
#: compiled loops take them (`tracking.kernels`); indices below.
BALLISTIC_CONSTANTS: Final = np.array(
    [
        GM_M3_S2,
        J2,
        WGS84_A_M,
        EARTH_ROTATION_RAD_S,
        SEA_LEVEL_AIR_DENSITY_KG_M3,
        AIR_DENSITY_SCALE_HEIGHT_M,
    ]
)
GM_INDEX: Final = 0
J2_INDEX: Final = 1
A_INDEX: Final = 2
OMEGA_INDEX: Final = 3
RHO0_INDEX: Final = 4
SCALE_HEIGHT_INDEX: Final = 5

#: [Ω×], the cross-product matrix of the Earth's rotation vector Ω = (0, 0, ω), rad/s.
EARTH_ROTATION_CROSS_RAD_S: Final = np.array(
    [[0.0, -EARTH_ROTATION_RAD_S, 0.0], [EARTH_ROTATION_RAD_S, 0.0, 0.0], [0.0, 0.0, 0.0]]
)


def _njit(function: _F) -> _F:
    """numba.njit(cache=True), typed for mypy as the function it compiles."""
    return cast(_F, numba.njit(cache=True, nogil=True)(function))


# ---------------------------------------------------------------------------- NumPy form


def gravity_j2_mps2(r_m: FloatArray) -> FloatArray:
    """J2 gravity at ECEF positions `(..., 3)` → m/s² `(..., 3)` (equations above)."""
    g = np.empty(np.shape(r_m))
    _gravity_j2_into(np.asarray(r_m, dtype=np.float64), g)
    return g


def rotating_frame_acceleration_mps2(r_m: FloatArray, v_mps: FloatArray) -> FloatArray:
    """g(r) − 2 Ω×v − Ω×(Ω×r) at ECEF positions and velocities `(..., 3)` → m/s² `(..., 3)`.

    What a ballistic body feels in the Earth-fixed frame, drag aside.
    """
    r = np.asarray(r_m, dtype=np.float64)
    v = np.asarray(v_mps, dtype=np.float64)
    out = np.empty(np.broadcast_shapes(r.shape, v.shape))
    w = EARTH_ROTATION_RAD_S
    _gravity_j2_into(r, out)
    # −2 Ω×v = (2ω v_y, −2ω v_x, 0);  −Ω×(Ω×r) = (ω² x, ω² y, 0)
    out[..., 0] += 2.0 * w * v[..., 1]
    out[..., 0] += w**2 * r[..., 0]
    out[..., 1] += -2.0 * w * v[..., 0]
    out[..., 1] += w**2 * r[..., 1]
    return out


def dynamics_jacobian(x: FloatArray) -> FloatArray:
    """A = ∂ẏ/∂y of free flight ẏ = (v, a(r, v)) at ECEF states x `(..., 6)` → `(..., 6, 6)`.

    A = [[0, I], [G, −2[Ω×]]],  G = ∂a/∂r = μ/|r|³ (3 r̂ r̂' − I) − [Ω×][Ω×]  (point-mass g)
    """
    r = np.asarray(x, dtype=np.float64)[..., :3]
    rn = np.linalg.norm(r, axis=-1)
    u = r / rn[..., None]
    A = np.zeros((*r.shape[:-1], 6, 6))
    A[..., :3, 3:] = np.eye(3)
    A[..., 3:, :3] = (GM_M3_S2 / rn**3)[..., None, None] * (
        3.0 * np.einsum("...i,...j->...ij", u, u) - np.eye(3)
    ) - EARTH_ROTATION_CROSS_RAD_S @ EARTH_ROTATION_CROSS_RAD_S
    A[..., 3:, 3:] = -2.0 * EARTH_ROTATION_CROSS_RAD_S
    return A


def _gravity_j2_into(r_m: FloatArray, out: FloatArray) -> None:
    """`gravity_j2_mps2(r_m)` written into `out` `(..., 3)`."""
    rn = np.sqrt(r_m[..., 0] ** 2 + r_m[..., 1] ** 2 + r_m[..., 2] ** 2)
    z2 = (r_m[..., 2] / rn) ** 2
    # k = 3/2 J2 (a/|r|)²
    k = 1.5 * J2 * (WGS84_A_M / rn) ** 2
    base = -GM_M3_S2 / rn**3
    five_z2 = 5.0 * z2
    # g_x,y = −μ r_x,y/|r|³ [1 + k (1 − 5 z²/|r|²)]
    horizontal = 1.0 + k * (1.0 - five_z2)
    np.multiply(base * r_m[..., 0], horizontal, out=out[..., 0])
    np.multiply(base * r_m[..., 1], horizontal, out=out[..., 1])
    # g_z = −μ z/|r|³ [1 + k (3 − 5 z²/|r|²)]
    np.multiply(base * r_m[..., 2], 1.0 + k * (3.0 - five_z2), out=out[..., 2])


# ---------------------------------------------------------------------------- numba form


@_njit
def frame_acceleration_into(state: FloatArray, constants: FloatArray, out: FloatArray) -> None:
    """g(r) − 2 Ω×v − Ω×(Ω×r) for one ECEF state `(6,)` = (r, v) into `out (3,)`.

    `constants` is `BALLISTIC_CONSTANTS`; the arithmetic is `rotating_frame_acceleration_mps2`'s.
    """
    gm = constants[GM_INDEX]
    j2 = constants[J2_INDEX]
    a_m = constants[A_INDEX]
    w = constants[OMEGA_INDEX]
    rn = math.sqrt(state[0] ** 2 + state[1] ** 2 + state[2] ** 2)
    z2 = (state[2] / rn) ** 2
    # k = 3/2 J2 (a/|r|)²
    k = 1.5 * j2 * (a_m / rn) ** 2
    base = -gm / rn**3
    five_z2 = 5.0 * z2
    # g_x,y = −μ r_x,y/|r|³ [1 + k (1 − 5 z²/|r|²)],  then + 2ω v_y + ω² x  (and −2ω v_x + ω² y)
    horizontal = 1.0 + k * (1.0 - five_z2)
    out[0] = base * state[0] * horizontal + 2.0 * w * state[4] + w**2 * state[0]
    out[1] = base * state[1] * horizontal - 2.0 * w * state[3] + w**2 * state[1]
    # g_z = −μ z/|r|³ [1 + k (3 − 5 z²/|r|²)]
    out[2] = base * state[2] * (1.0 + k * (3.0 - five_z2))


@_njit
def dynamics_jacobian_into(state: FloatArray, constants: FloatArray, out: FloatArray) -> None:
    """A = ∂ẏ/∂y at one ECEF state `(6,)` into `out (6, 6)`; see `dynamics_jacobian`.

    A = [[0, I], [G, −2[Ω×]]],  G = μ/|r|³ (3 r̂ r̂' − I) − [Ω×][Ω×]
    −[Ω×][Ω×] = diag(ω², ω², 0),  −2[Ω×] = [[0, 2ω, 0], [−2ω, 0, 0], [0, 0, 0]]
    """
    gm = constants[GM_INDEX]
    w = constants[OMEGA_INDEX]
    rn = math.sqrt(state[0] ** 2 + state[1] ** 2 + state[2] ** 2)
    g = gm / rn**3
    for a in range(6):
        for b in range(6):
            out[a, b] = 0.0
    for a in range(3):
        out[a, a + 3] = 1.0
        for b in range(3):
            G = g * (3.0 * (state[a] / rn) * (state[b] / rn) - (1.0 if a == b else 0.0))
            if a == b and a < 2:
                G += w * w
            out[a + 3, b] = G
    out[3, 4] = 2.0 * w
    out[4, 3] = -2.0 * w

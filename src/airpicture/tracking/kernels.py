"""Compiled per-track loops (numba) for the filter's small-matrix algebra.

NumPy spends most of an IMM cycle on the overhead of many small array
operations on stacks of 6 × 6 matrices (a dozen temporaries per line, each
written to memory and read back). These kernels run one loop over the tracks
and keep each track's matrices in registers and cache; the arithmetic is the
textbook equation written above each block, the same as the NumPy forms in
`linalg`, `imm` and `motion` that they replace. The threat assessor's flight
to the ground (`fly_to_ground_kernel`) is here too, since it shares the
ballistic step: its ~50 steps per trajectory cost more in per-step NumPy and
PROJ calls than in physics. Every kernel takes and returns C-contiguous
float64 arrays and is compiled once per machine (`cache=True`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
from numpy.typing import NDArray

from airpicture.geo.constants import EARTH_ROTATION_RAD_S, GM_M3_S2, J2, WGS84_A_M
from airpicture.geo.gravity import (
    A_INDEX,
    RHO0_INDEX,
    SCALE_HEIGHT_INDEX,
    dynamics_jacobian_into,
    frame_acceleration_into,
)

FloatArray = NDArray[np.float64]
_F = TypeVar("_F", bound=Callable[..., Any])
# The Earth's constants as plain floats: numba freezes module globals at compile time.
_EARTH_ROTATION_RAD_S = float(EARTH_ROTATION_RAD_S)
_GM_M3_S2 = float(GM_M3_S2)
_J2 = float(J2)
_WGS84_A_M = float(WGS84_A_M)


def _njit(function: _F) -> _F:
    """numba.njit(cache=True), typed for mypy as the function it compiles."""
    return cast(_F, numba.njit(cache=True, nogil=True)(function))


@_njit
def _add_white_acceleration_noise(P: FloatArray, q_m2_s3: float, dt: float) -> None:
    """P += Q(dt) of white acceleration noise of spectral density q, per axis:
    [[q|dt|³/3, q dt|dt|/2], [q dt|dt|/2, q|dt|]] (signed so that it also runs backwards)."""
    adt = abs(dt)
    qpp = q_m2_s3 * adt**3 / 3.0
    qpv = q_m2_s3 * dt * adt / 2.0
    qvv = q_m2_s3 * adt
    for a in range(3):
        P[a, a] += qpp
        P[a, a + 3] += qpv
        P[a + 3, a] += qpv
        P[a + 3, a + 3] += qvv


@_njit
def _mirror_upper(A: FloatArray, n: int) -> None:
    """A ← (A + A') / 2 for one square matrix, in place."""
    for i in range(n):
        for j in range(i + 1, n):
            s = 0.5 * (A[i, j] + A[j, i])
            A[i, j] = s
            A[j, i] = s


@_njit
def mix_kernel(
    xm: FloatArray, Pm: FloatArray, mu: FloatArray, Pi: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """IMM interaction for `(K, M, 6)` modes; see `imm.mix`.

    c_j = Σ_i Π_ij μ_i;  μ_i|j = Π_ij μ_i / c_j
    x0_j = Σ_i μ_i|j x_i;  P0_j = Σ_i μ_i|j (P_i + (x_i − x0_j)(x_i − x0_j)')
    """
    K, M, n = xm.shape
    x0 = np.zeros((K, M, n))
    P0 = np.zeros((K, M, n, n))
    c = np.empty((K, M))
    w = np.empty(M)
    dx = np.empty(n)
    for k in range(K):
        for j in range(M):
            cj = 0.0
            for i in range(M):
                w[i] = Pi[k, i, j] * mu[k, i]
                cj += w[i]
            cj = max(cj, 1e-300)
            c[k, j] = cj
            for i in range(M):
                w[i] /= cj
            for i in range(M):
                for a in range(n):
                    x0[k, j, a] += w[i] * xm[k, i, a]
            for i in range(M):
                wi = w[i]
                for a in range(n):
                    dx[a] = xm[k, i, a] - x0[k, j, a]
                for a in range(n):
                    for b in range(a, n):
                        P0[k, j, a, b] += wi * (Pm[k, i, a, b] + dx[a] * dx[b])
            for a in range(n):
                for b in range(a + 1, n):
                    P0[k, j, b, a] = P0[k, j, a, b]
    return x0, P0, c


@_njit
def combine_kernel(xm: FloatArray, Pm: FloatArray, mu: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Moment matching of `(K, M, 6)` modes; see `imm.combine`.

    x = Σ μ_j x_j;  P = Σ μ_j (P_j + (x_j − x)(x_j − x)')
    """
    K, M, n = xm.shape
    x = np.zeros((K, n))
    P = np.zeros((K, n, n))
    dx = np.empty(n)
    for k in range(K):
        for j in range(M):
            for a in range(n):
                x[k, a] += mu[k, j] * xm[k, j, a]
        for j in range(M):
            m = mu[k, j]
            for a in range(n):
                dx[a] = xm[k, j, a] - x[k, a]
            for a in range(n):
                for b in range(a, n):
                    P[k, a, b] += m * (0.5 * (Pm[k, j, a, b] + Pm[k, j, b, a]) + dx[a] * dx[b])
        for a in range(n):
            for b in range(a + 1, n):
                P[k, b, a] = P[k, a, b]
    return x, P


@_njit
def cv_predict_kernel(
    x: FloatArray, P: FloatArray, dt_s: FloatArray, q_m2_s3: float
) -> tuple[FloatArray, FloatArray]:
    """Nearly-constant-velocity prediction of `(N, 6)` states; see `motion.predict`.

    x⁻ = F x;  P⁻ = F P F' + Q,  F = [[I, dt I], [0, I]],
    Q = q [[|dt|³/3 I, dt|dt|/2 I], [dt|dt|/2 I, |dt| I]]
    """
    N = x.shape[0]
    x_out = np.empty((N, 6))
    P_out = np.empty((N, 6, 6))
    for k in range(N):
        dt = dt_s[k]
        for a in range(3):
            x_out[k, a] = x[k, a] + x[k, a + 3] * dt
            x_out[k, a + 3] = x[k, a + 3]
        # [[Ppp + dt (Ppv + Pvp) + dt² Pvv, Ppv + dt Pvv], [Pvp + dt Pvv, Pvv]]
        for a in range(3):
            for b in range(3):
                P_out[k, a, b] = (
                    P[k, a, b]
                    + dt * (P[k, a, b + 3] + P[k, b, a + 3])
                    + dt * dt * P[k, a + 3, b + 3]
                )
                P_out[k, a, b + 3] = P[k, a, b + 3] + dt * P[k, a + 3, b + 3]
                P_out[k, a + 3, b] = P[k, a + 3, b] + dt * P[k, a + 3, b + 3]
                P_out[k, a + 3, b + 3] = P[k, a + 3, b + 3]
        _add_white_acceleration_noise(P_out[k], q_m2_s3, dt)
        _mirror_upper(P_out[k], 6)
    return x_out, P_out


@_njit
def _drag_half_kick(
    y: FloatArray, alt0_m: float, r0_m: float, h_s: float, beta: float, rho0: float, scale_h: float
) -> None:
    """Exact quadratic drag over h: v ← v / (1 + k |v| h), k = ρ(h) / (2β).

    Backwards in time (h < 0) the first-order inverse, which cannot blow up.
    """
    # Height changes with the radius about the start point (steps are short).
    alt = alt0_m + math.sqrt(y[0] ** 2 + y[1] ** 2 + y[2] ** 2) - r0_m
    kd = rho0 * math.exp(-max(alt, -1000.0) / scale_h) / (2.0 * beta)
    speed = math.sqrt(y[3] ** 2 + y[4] ** 2 + y[5] ** 2)
    loss = kd * speed * abs(h_s)
    factor = 1.0 / (1.0 + loss) if h_s >= 0.0 else 1.0 + loss
    for a in range(3, 6):
        y[a] *= factor


@_njit
def _ballistic_step(
    y: FloatArray,
    dt_s: float,
    alt0_m: float,
    n_steps: int,
    beta_kg_m2: float,
    constants: FloatArray,
    y1: FloatArray,
    a1: FloatArray,
    a2: FloatArray,
) -> None:
    """y ← the ballistic law over dt in n_steps equal sub-steps, for one state `y (6,)`.

    Per sub-step: half an exact drag kick, a Heun step of gravity and the
    rotating-frame terms (`geo.gravity.frame_acceleration_into`), half a drag kick.
    `alt0_m` is y's ellipsoidal height; `constants` is `geo.gravity.BALLISTIC_CONSTANTS`
    (the gravity field and the atmosphere); `y1`, `a1`, `a2` are work space.
    """
    rho0, scale_h = constants[RHO0_INDEX], constants[SCALE_HEIGHT_INDEX]
    h = dt_s / n_steps
    r0 = math.sqrt(y[0] ** 2 + y[1] ** 2 + y[2] ** 2)
    for _ in range(n_steps):
        _drag_half_kick(y, alt0_m, r0, 0.5 * h, beta_kg_m2, rho0, scale_h)
        # y ← y + h/2 (k1 + k2),  k1 = ẏ(y), k2 = ẏ(y + h k1)
        frame_acceleration_into(y, constants, a1)
        for a in range(3):
            y1[a] = y[a] + h * y[a + 3]
            y1[a + 3] = y[a + 3] + h * a1[a]
        frame_acceleration_into(y1, constants, a2)
        for a in range(3):
            y[a] = y[a] + 0.5 * h * (y[a + 3] + y1[a + 3])
            y[a + 3] = y[a + 3] + 0.5 * h * (a1[a] + a2[a])
        _drag_half_kick(y, alt0_m, r0, 0.5 * h, beta_kg_m2, rho0, scale_h)


@_njit
def ballistic_propagate_kernel(
    x: FloatArray,
    dt_s: FloatArray,
    alt0_m: FloatArray,
    n_steps: int,
    beta_kg_m2: FloatArray,
    constants: FloatArray,
) -> FloatArray:
    """The ballistic law over dt for `(N, 6)` states, each with its own β `(N,)`;
    see `motion.ballistic_propagate` and `_ballistic_step`.
    """
    N = x.shape[0]
    out = np.empty((N, 6))
    y1 = np.empty(6)
    a1 = np.empty(3)
    a2 = np.empty(3)
    for k in range(N):
        out[k] = x[k]
        _ballistic_step(out[k], dt_s[k], alt0_m[k], n_steps, beta_kg_m2[k], constants, y1, a1, a2)
    return out


@_njit
def ellipsoidal_height(x_m: float, y_m: float, z_m: float, a_m: float, flattening: float) -> float:
    """Height above the ellipsoid (a, f) of one ECEF point: PROJ's `cart` inverse, line by line.

    `geo.ecef_to_geodetic(..., refine=False)` returns PROJ's closed form (Bowring's
    1976 latitude, computed without trigonometry as in PROJ 9's cart.cpp); this is
    the same sequence of operations, so that a compiled loop can use it without a
    call into PROJ per point. Against pyproj 3.7 (PROJ 9.5.1) it agrees bit for bit
    on 99.9 % of points and within a few units in the last place (< 1e-8 m) on the
    rest, tested in tests/tracking/test_kernels.py.
    """
    es = 2.0 * flattening - flattening * flattening  # e² = 2f − f²
    e2s = es / (1.0 - es)  # e'² = e² / (1 − e²)
    b_div_a = 1.0 - flattening
    inv_a = 1.0 / a_m
    xa, ya, za = x_m * inv_a, y_m * inv_a, z_m * inv_a
    p = math.sqrt(xa * xa + ya * ya)
    # Parametric latitude θ, tan θ = z a / (p b), as (cos θ, sin θ).
    pb = p * b_div_a
    norm = math.sqrt(za * za + pb * pb)
    c, s = 1.0, 0.0
    if norm != 0.0:
        inv_norm = 1.0 / norm
        c, s = pb * inv_norm, za * inv_norm
    # tan φ = (z + e'² b sin³θ) / (p − e² a cos³θ)
    y_phi = za + e2s * b_div_a * s * s * s
    x_phi = p - es * c * c * c
    norm_phi = math.sqrt(y_phi * y_phi + x_phi * x_phi)
    cos_phi, sin_phi = 1.0, 0.0
    if norm_phi != 0.0:
        inv_norm_phi = 1.0 / norm_phi
        cos_phi, sin_phi = x_phi * inv_norm_phi, y_phi * inv_norm_phi
    if x_phi <= 0.0:
        # Near the centre of the Earth there is no single answer: PROJ picks a pole.
        cos_phi, sin_phi = 0.0, (1.0 if z_m >= 0.0 else -1.0)
    if cos_phi < 1e-6:
        # Poleward of 89.99994°: |z| minus the geocentric radius at φ,
        # r = a √((cos²φ + (b/a)⁴ sin²φ) / (cos²φ + (b/a)² sin²φ)).
        cos2 = cos_phi * cos_phi
        b2 = b_div_a * b_div_a
        b2_sin2 = b2 * (sin_phi * sin_phi)
        return abs(z_m) - a_m * math.sqrt((cos2 + b2 * b2_sin2) / (cos2 + b2_sin2))
    # h = p / cos φ − N,  N = a / √(1 − e² sin²φ)
    return a_m * p / cos_phi - a_m / math.sqrt(1.0 - es * sin_phi * sin_phi)


@_njit
def fly_to_ground_kernel(
    x: FloatArray,
    beta_kg_m2: FloatArray,
    steps_s: FloatArray,
    constants: FloatArray,
    flattening: float,
    n_path: int,
) -> tuple[FloatArray, FloatArray, NDArray[np.intp], FloatArray, FloatArray]:
    """Fly each state `(M, 6)` with its own β `(M,)` until it crosses h = 0; see
    `threat.impact.fly_to_ground`.

    Per state, one step after another: Δt = clip(h / (2 · descent rate), min, max)
    while descending, the largest step while climbing; the ballistic law over Δt
    (`_ballistic_step`, sub-steps ≤ max); the crossing of h = 0 interpolated
    linearly inside the step. A state stops when it lands, when it or its height
    stops being finite, or once its flight time reaches the limit.
    `steps_s` = (min step, max step, max flight time); `constants` as for
    `ballistic_propagate_kernel`; `flattening` of the ellipsoid whose semi-major
    axis is constants[A_INDEX].

    Returns impact ECEF `(M, 3)` and time `(M,)` (NaN if it never lands), the
    steps taken `(M,)`, and the first `n_path` points of every state's path:
    positions `(n_path, M, 3)` after each step (row 0 the start, NaN from the
    step on which it stopped) and times `(n_path, M)` (the last time once stopped).
    """
    min_step_s, max_step_s, max_flight_s = steps_s[0], steps_s[1], steps_s[2]
    a_m = constants[A_INDEX]
    M = x.shape[0]
    impact = np.full((M, 3), np.nan)
    t_hit = np.full(M, np.nan)
    n_taken = np.zeros(M, np.intp)
    path = np.full((n_path, M, 3), np.nan)
    path_t = np.empty((n_path, M))
    y = np.empty(6)
    y_start = np.empty(6)
    y1 = np.empty(6)
    a1 = np.empty(3)
    a2 = np.empty(3)
    for k in range(M):
        finite = True
        for a in range(6):
            y[a] = x[k, a]
            finite = finite and math.isfinite(y[a])
        if n_path > 0:
            for a in range(3):
                path[0, k, a] = y[a]
        t = 0.0
        h = ellipsoidal_height(y[0], y[1], y[2], a_m, flattening) if finite else math.nan
        flying = finite and math.isfinite(h)
        if flying and h <= 0.0:
            # Already at or under the ground: it has landed now.
            for a in range(3):
                impact[k, a] = y[a]
            t_hit[k] = 0.0
            flying = False
        steps = 0
        while flying:
            r_m = math.sqrt(y[0] ** 2 + y[1] ** 2 + y[2] ** 2)
            up_mps = (y[0] * y[3] + y[1] * y[4] + y[2] * y[5]) / r_m
            dt = max_step_s
            if up_mps < 0.0:
                dt = min(max(h / (2.0 * max(-up_mps, 1e-3)), min_step_s), max_step_s)
            n_sub = max(1, math.ceil(abs(dt) / max_step_s))
            for a in range(6):
                y_start[a] = y[a]
            _ballistic_step(y, dt, h, n_sub, beta_kg_m2[k], constants, y1, a1, a2)
            h_new = ellipsoidal_height(y[0], y[1], y[2], a_m, flattening)
            steps += 1
            bad = not math.isfinite(h_new)
            for a in range(6):
                bad = bad or not math.isfinite(y[a])
            if bad:
                flying = False
            elif h_new <= 0.0:
                # Linear interpolation of h = 0 inside the step: f = h₀ / (h₀ − h₁).
                frac = min(max(h / max(h - h_new, 1e-9), 0.0), 1.0)
                for a in range(3):
                    impact[k, a] = y_start[a] + frac * (y[a] - y_start[a])
                t_hit[k] = t + frac * dt
                flying = False
            t += dt
            h = h_new
            flying = flying and t < max_flight_s
            if steps < n_path:
                if flying:
                    for a in range(3):
                        path[steps, k, a] = y[a]
                path_t[steps, k] = t
        n_taken[k] = steps
        if n_path > 0:
            path_t[0, k] = 0.0
        for j in range(steps + 1, n_path):
            path_t[j, k] = t
    return impact, t_hit, n_taken, path, path_t


@_njit
def ballistic_covariance_kernel(
    x: FloatArray, P: FloatArray, dt_s: FloatArray, q_m2_s3: float, constants: FloatArray
) -> FloatArray:
    """P⁻ = F P F' + Q with the linearised ballistic F ≈ I + A dt + A² dt²/2 about x.

    A = [[0, I], [G, −2[Ω×]]] (`geo.gravity.dynamics_jacobian_into`; drag neglected);
    `constants` is `geo.gravity.BALLISTIC_CONSTANTS`.
    """
    N = x.shape[0]
    P_out = np.empty((N, 6, 6))
    A = np.empty((6, 6))
    AA = np.empty((6, 6))
    F = np.empty((6, 6))
    FP = np.empty((6, 6))
    for k in range(N):
        dynamics_jacobian_into(x[k], constants, A)
        dt = dt_s[k]
        for a in range(6):
            for b in range(6):
                s = 0.0
                for m in range(6):
                    s += A[a, m] * A[m, b]
                AA[a, b] = s
        for a in range(6):
            for b in range(6):
                F[a, b] = (1.0 if a == b else 0.0) + A[a, b] * dt + AA[a, b] * dt * dt / 2.0
        for a in range(6):
            for b in range(6):
                s = 0.0
                for m in range(6):
                    s += F[a, m] * P[k, m, b]
                FP[a, b] = s
        for a in range(6):
            for b in range(a, 6):
                s = 0.0
                for m in range(6):
                    s += FP[a, m] * F[b, m]
                P_out[k, a, b] = s
                P_out[k, b, a] = s
        _add_white_acceleration_noise(P_out[k], q_m2_s3, dt)
    return P_out


@_njit
def _cholesky_inplace(S: FloatArray, L: FloatArray, d: int) -> bool:
    """L L' = S for one SPD matrix; False if a pivot is not positive."""
    for i in range(d):
        for j in range(i + 1):
            s = S[i, j]
            for m in range(j):
                s -= L[i, m] * L[j, m]
            if i == j:
                if s <= 0.0:
                    return False
                L[i, i] = math.sqrt(s)
            else:
                L[i, j] = s / L[j, j]
        for j in range(i + 1, d):
            L[i, j] = 0.0
    return True


@_njit
def _spd_inverse_one(S: FloatArray, out: FloatArray, L: FloatArray, d: int) -> float:
    """out ← S⁻¹ via Cholesky (S⁻¹ = L⁻ᵀ L⁻¹); returns ln det S.

    A matrix that rounding made slightly indefinite gets a tiny diagonal load
    (1e-9 of its trace), as `linalg.cholesky_lower` does.
    """
    if not _cholesky_inplace(S, L, d):
        load = 0.0
        for i in range(d):
            load += S[i, i]
        load = 1e-9 * load + 1e-12
        for i in range(d):
            S[i, i] += load
        _cholesky_inplace(S, L, d)
    # L⁻¹ into the lower triangle of out (forward substitution on the identity).
    for j in range(d):
        for i in range(d):
            if i < j:
                out[i, j] = 0.0
                continue
            s = 1.0 if i == j else 0.0
            for m in range(j, i):
                s -= L[i, m] * out[m, j]
            out[i, j] = s / L[i, i]
    # S⁻¹ = L⁻ᵀ L⁻¹: entry (a, b) = Σ_m Linv[m, a] Linv[m, b], m ≥ max(a, b)
    log_det = 0.0
    for i in range(d):
        log_det += 2.0 * math.log(L[i, i])
    for a in range(d):
        for b in range(a, d):
            s = 0.0
            for m in range(b, d):
                s += out[m, a] * out[m, b]
            L[a, b] = s
    for a in range(d):
        for b in range(a, d):
            out[a, b] = L[a, b]
            out[b, a] = L[a, b]
    return log_det


@_njit
def spd_inverse_kernel(S: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Inverses and ln determinants of a stack `(N, d, d)` of SPD matrices."""
    N, d, _ = S.shape
    out = np.empty((N, d, d))
    log_det = np.empty(N)
    work = np.empty((d, d))
    L = np.empty((d, d))
    for k in range(N):
        for a in range(d):
            for b in range(d):
                work[a, b] = S[k, a, b]
        log_det[k] = _spd_inverse_one(work, out[k], L, d)
    return out, log_det


@_njit
def kalman_update_kernel(
    x: FloatArray, P: FloatArray, nu: FloatArray, H: FloatArray, R: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Extended Kalman update of `(N, n)` states, Joseph form; see `linalg.kalman_update`."""
    N = x.shape[0]
    n = 6  # the state dimension, a constant so that the loops unroll
    d = nu.shape[1]
    x_out = np.empty((N, n))
    P_out = np.empty((N, n, n))
    d2 = np.empty(N)
    log_det = np.empty(N)
    PHt = np.empty((n, d))
    S = np.empty((d, d))
    S_inv = np.empty((d, d))
    L = np.empty((d, d))
    K = np.empty((n, d))
    IKH = np.empty((n, n))
    T = np.empty((n, n))
    KR = np.empty((n, d))
    for k in range(N):
        # S = H P H' + R    innovation covariance
        for a in range(n):
            for b in range(d):
                s = 0.0
                for m in range(n):
                    s += P[k, a, m] * H[k, b, m]
                PHt[a, b] = s
        for a in range(d):
            for b in range(d):
                s = 0.0
                for m in range(n):
                    s += H[k, a, m] * PHt[m, b]
                S[a, b] = s + R[k, a, b]
        _mirror_upper(S, d)
        log_det[k] = _spd_inverse_one(S, S_inv, L, d)
        # K = P H' S⁻¹      gain
        for a in range(n):
            for b in range(d):
                s = 0.0
                for m in range(d):
                    s += PHt[a, m] * S_inv[m, b]
                K[a, b] = s
        # x⁺ = x + K ν
        for a in range(n):
            s = x[k, a]
            for m in range(d):
                s += K[a, m] * nu[k, m]
            x_out[k, a] = s
        # P⁺ = (I − K H) P (I − K H)' + K R K'    Joseph form: stays SPD under rounding
        for a in range(n):
            for b in range(n):
                s = 0.0
                for m in range(d):
                    s += K[a, m] * H[k, m, b]
                IKH[a, b] = (1.0 if a == b else 0.0) - s
        for a in range(n):
            for b in range(n):
                s = 0.0
                for m in range(n):
                    s += IKH[a, m] * P[k, m, b]
                T[a, b] = s
        for a in range(n):
            for b in range(d):
                s = 0.0
                for m in range(d):
                    s += K[a, m] * R[k, m, b]
                KR[a, b] = s
        for a in range(n):
            for b in range(a, n):
                s = 0.0
                for m in range(n):
                    s += T[a, m] * IKH[b, m]
                for m in range(d):
                    s += KR[a, m] * K[b, m]
                P_out[k, a, b] = s
        for a in range(n):
            for b in range(a + 1, n):
                P_out[k, b, a] = P_out[k, a, b]
        # d² = ν' S⁻¹ ν
        s = 0.0
        for a in range(d):
            for b in range(d):
                s += nu[k, a] * S_inv[a, b] * nu[k, b]
        d2[k] = s
    return x_out, P_out, d2, log_det


@_njit
def _cell_index(cells: float) -> int:
    """floor(cells) as an int, clamped to [−1, 10⁹] first (±inf, NaN and huge values too)."""
    if not cells >= -1.0:
        return -1
    if cells > 1.0e9:
        return 1_000_000_000
    return math.floor(cells)


@_njit
def grid_pairs_kernel(
    track_points: FloatArray,
    track_radius: FloatArray,
    meas_points: FloatArray,
    axes: NDArray[np.intp],
    origin: FloatArray,
    cell_m: float,
    n_cells: NDArray[np.intp],
    order: NDArray[np.intp],
    cell_start: NDArray[np.intp],
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """(track, report) pairs with |track − report| ≤ the track's radius, from a 2-D grid.

    The reports are bucketed on a grid of square cells over two axes of the
    pre-gate space (`order` lists them cell by cell, row-major, and
    `cell_start[c]` is where cell c starts); each track visits the rows of
    cells its radius covers and tests the full distance. Two passes: count,
    then fill.
    """
    T, D = track_points.shape
    nx, ny = n_cells[0], n_cells[1]
    counts = np.zeros(T, np.intp)
    for fill in range(2):
        if fill == 1:
            total = 0
            for k in range(T):
                total += counts[k]
            out_t = np.empty(total, np.intp)
            out_m = np.empty(total, np.intp)
            at = 0
        for k in range(T):
            r = track_radius[k]
            r2 = r * r
            lo_x = _cell_index((track_points[k, axes[0]] - r - origin[0]) / cell_m)
            hi_x = _cell_index((track_points[k, axes[0]] + r - origin[0]) / cell_m)
            lo_y = _cell_index((track_points[k, axes[1]] - r - origin[1]) / cell_m)
            hi_y = _cell_index((track_points[k, axes[1]] + r - origin[1]) / cell_m)
            lo_x, hi_x = max(lo_x, 0), min(hi_x, nx - 1)
            lo_y, hi_y = max(lo_y, 0), min(hi_y, ny - 1)
            if lo_x > hi_x or lo_y > hi_y:
                continue
            n = 0
            for iy in range(lo_y, hi_y + 1):
                for s in range(cell_start[iy * nx + lo_x], cell_start[iy * nx + hi_x + 1]):
                    j = order[s]
                    d2 = 0.0
                    for a in range(D):
                        diff = track_points[k, a] - meas_points[j, a]
                        d2 += diff * diff
                    if d2 <= r2:
                        if fill == 1:
                            out_t[at] = k
                            out_m[at] = j
                            at += 1
                        n += 1
            counts[k] = n
    return out_t, out_m


@_njit
def within_reach_kernel(
    track_taken: NDArray[np.bool_],
    x: FloatArray,
    P: FloatArray,
    mu: FloatArray,
    time_s: FloatArray,
    q_m2_s3: FloatArray,
    ballistic: NDArray[np.bool_],
    t_mid: float,
    half_span: float,
    k: float,
    v_max: float,
    box_low: FloatArray,
    box_high: FloatArray,
    site: FloatArray,
    range_low: float,
    range_high: float,
    sigma0: float,
    sigma_per: float,
) -> NDArray[np.intp]:
    """The free tracks that may pre-gate with a batch's reports (`gating.Gate.within_reach`).

    One pass over the tracks; per free track, p = x + v dt (dt = t_mid − t):
    reach = spread + |v| half_span + 5 adt² + k σ̄(|p − site| + drift) + drift,
    spread = min(k √(tr Ppp + adt² tr Pvv + q adt³), k √tr Ppp + (v_max + |v|) adt),
    drift = ½ A μ_bal dt², A ≥ |g_J2| + 2ω|v| + ω²|r|,  σ̄(r) = √(σ0² + (r σ_per)²);
    kept when max(dist(p, box), dist(|p − site|, [range_low, range_high])) ≤ reach.
    """
    n_tracks, n_modes = mu.shape
    w = _EARTH_ROTATION_RAD_S
    out = np.empty(n_tracks, np.intp)
    n = 0
    for i in range(n_tracks):
        if track_taken[i]:
            continue
        dt = t_mid - time_s[i]
        adt = abs(dt) + half_span
        speed = math.sqrt(x[i, 3] ** 2 + x[i, 4] ** 2 + x[i, 5] ** 2)
        # tr Ppp, tr Pvv, the mixture's q and the ballistic weight
        pos_var = P[i, 0, 0] + P[i, 1, 1] + P[i, 2, 2]
        vel_var = P[i, 3, 3] + P[i, 4, 4] + P[i, 5, 5]
        q_mix = 0.0
        mu_bal = 0.0
        for j in range(n_modes):
            q_mix += mu[i, j] * q_m2_s3[j]
            if ballistic[j]:
                mu_bal += mu[i, j]
        growth = pos_var + adt * adt * vel_var + q_mix * adt**3
        spread = min(k * math.sqrt(growth), k * math.sqrt(pos_var) + (v_max + speed) * adt)
        drift = 0.0
        if mu_bal > 0.0:
            r2 = x[i, 0] ** 2 + x[i, 1] ** 2 + x[i, 2] ** 2
            accel = (
                _GM_M3_S2 / r2 * (1.0 + 6.0 * _J2 * _WGS84_A_M**2 / r2)
                + 2.0 * w * speed
                + w * w * math.sqrt(r2)
            )
            drift = 0.5 * accel * mu_bal * dt * dt
        box2 = 0.0
        site2 = 0.0
        for a in range(3):
            p = x[i, a] + x[i, 3 + a] * dt
            out_a = max(box_low[a] - p, p - box_high[a], 0.0)
            box2 += out_a * out_a
            site2 += (p - site[a]) ** 2
        site_range = math.sqrt(site2)
        lower = max(math.sqrt(box2), range_low - site_range, site_range - range_high)
        sigma = math.sqrt(sigma0**2 + ((site_range + drift) * sigma_per) ** 2)
        reach = spread + speed * half_span + 5.0 * adt * adt + k * sigma + drift
        # A metre and a part in 10⁹ for the rounding of the bounds themselves.
        if lower <= reach * (1.0 + 1e-9) + 1.0:
            out[n] = i
            n += 1
    return out[:n]

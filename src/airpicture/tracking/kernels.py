"""Compiled per-track loops (numba) for the filter's small-matrix algebra.

NumPy spends most of an IMM cycle on the overhead of many small array
operations on stacks of 6 × 6 matrices (a dozen temporaries per line, each
written to memory and read back). These kernels run one loop over the tracks
and keep each track's matrices in registers and cache; the arithmetic is the
textbook equation written above each block, the same as the NumPy forms in
`linalg`, `imm` and `motion` that they replace. Every kernel takes and returns
C-contiguous float64 arrays and is compiled once per machine (`cache=True`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
_F = TypeVar("_F", bound=Callable[..., Any])


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
def _frame_acceleration(
    y: FloatArray, out: FloatArray, gm: float, j2: float, a_m: float, w: float
) -> None:
    """g_J2(r) − 2 Ω×v − Ω×(Ω×r) for one state `y (6,)`; see `motion.frame_acceleration`."""
    rn = math.sqrt(y[0] ** 2 + y[1] ** 2 + y[2] ** 2)
    z2 = (y[2] / rn) ** 2
    kk = 1.5 * j2 * (a_m / rn) ** 2
    base = -gm / rn**3
    five_z2 = 5.0 * z2
    horizontal = 1.0 + kk * (1.0 - five_z2)
    out[0] = base * y[0] * horizontal + 2.0 * w * y[4] + w**2 * y[0]
    out[1] = base * y[1] * horizontal - 2.0 * w * y[3] + w**2 * y[1]
    out[2] = base * y[2] * (1.0 + kk * (3.0 - five_z2))


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
def ballistic_propagate_kernel(
    x: FloatArray,
    dt_s: FloatArray,
    alt0_m: FloatArray,
    n_steps: int,
    beta_kg_m2: FloatArray,
    constants: FloatArray,
) -> FloatArray:
    """The ballistic law over dt for `(N, 6)` states, each with its own β `(N,)`;
    see `motion.ballistic_propagate`.

    Per sub-step: half an exact drag kick, a Heun step of gravity and the
    rotating-frame terms, half a drag kick. `constants` = (μ, J2, a, ω, ρ0, H).
    """
    gm, j2, a_m, w, rho0, scale_h = (
        constants[0], constants[1], constants[2], constants[3], constants[4], constants[5],
    )  # fmt: skip
    N = x.shape[0]
    out = np.empty((N, 6))
    y = np.empty(6)
    y1 = np.empty(6)
    a1 = np.empty(3)
    a2 = np.empty(3)
    for k in range(N):
        h = dt_s[k] / n_steps
        for a in range(6):
            y[a] = x[k, a]
        r0 = math.sqrt(y[0] ** 2 + y[1] ** 2 + y[2] ** 2)
        for _ in range(n_steps):
            _drag_half_kick(y, alt0_m[k], r0, 0.5 * h, beta_kg_m2[k], rho0, scale_h)
            # y ← y + h/2 (k1 + k2),  k1 = ẏ(y), k2 = ẏ(y + h k1)
            _frame_acceleration(y, a1, gm, j2, a_m, w)
            for a in range(3):
                y1[a] = y[a] + h * y[a + 3]
                y1[a + 3] = y[a + 3] + h * a1[a]
            _frame_acceleration(y1, a2, gm, j2, a_m, w)
            for a in range(3):
                y[a] = y[a] + 0.5 * h * (y[a + 3] + y1[a + 3])
                y[a + 3] = y[a + 3] + 0.5 * h * (a1[a] + a2[a])
            _drag_half_kick(y, alt0_m[k], r0, 0.5 * h, beta_kg_m2[k], rho0, scale_h)
        for a in range(6):
            out[k, a] = y[a]
    return out


@_njit
def ballistic_covariance_kernel(
    x: FloatArray, P: FloatArray, dt_s: FloatArray, q_m2_s3: float, gm: float, w: float
) -> FloatArray:
    """P⁻ = F P F' + Q with the linearised ballistic F ≈ I + A dt + A² dt²/2 about x.

    A = [[0, I], [G, −2[Ω×]]],  G = μ/|r|³ (3 r̂ r̂' − I) − [Ω×][Ω×]   (drag neglected)
    """
    N = x.shape[0]
    P_out = np.empty((N, 6, 6))
    A = np.zeros((6, 6))
    AA = np.empty((6, 6))
    F = np.empty((6, 6))
    FP = np.empty((6, 6))
    for a in range(3):
        A[a, a + 3] = 1.0
    # −2[Ω×] for Ω = (0, 0, ω)
    A[3, 4] = 2.0 * w
    A[4, 3] = -2.0 * w
    for k in range(N):
        rn = math.sqrt(x[k, 0] ** 2 + x[k, 1] ** 2 + x[k, 2] ** 2)
        g = gm / rn**3
        for a in range(3):
            for b in range(3):
                G = g * (3.0 * (x[k, a] / rn) * (x[k, b] / rn) - (1.0 if a == b else 0.0))
                # −[Ω×][Ω×] = diag(ω², ω², 0)
                if a == b and a < 2:
                    G += w * w
                A[a + 3, b] = G
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

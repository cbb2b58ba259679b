"""Batched small-matrix algebra for the filters: every function works on stacks `(..., n, n)`.

Closed forms for the 1–4-dimensional innovation covariances of the gate (entry
by entry over whole columns); the per-track Kalman update and SPD inverses are
compiled loops in `kernels`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from airpicture.tracking.kernels import kalman_update_kernel, spd_inverse_kernel

FloatArray = NDArray[np.float64]


def symmetrize(P: FloatArray) -> FloatArray:
    """(P + P') / 2 — removes the rounding asymmetry a product of matrices leaves."""
    both = P + np.swapaxes(P, -1, -2)
    both *= 0.5  # in place: one fresh array, not two
    return both


def rows_matmul(v: FloatArray, M: FloatArray) -> FloatArray:
    """v @ M for a stack of row vectors `(N, k)` and one small matrix `(k, m)` or vector `(k,)`.

    Written out as a sum over the k terms. A single BLAS call on a tall, thin
    product is split over threads by OpenBLAS, which on a busy (or one) core
    costs up to a hundred times the arithmetic.
    """
    if M.ndim == 1:
        vec: FloatArray = v[:, 0] * M[0]
        for k in range(1, M.shape[0]):
            vec = vec + v[:, k] * M[k]
        return vec
    out = np.empty((v.shape[0], M.shape[1]))
    for j in range(M.shape[1]):
        col = v[:, 0] * M[0, j]
        for k in range(1, M.shape[0]):
            col = col + v[:, k] * M[k, j]
        out[:, j] = col
    return out


def cholesky_lower(S: FloatArray) -> FloatArray:
    """Lower Cholesky factor L with S = L L' for a stack of SPD matrices.

    A matrix that rounding made slightly indefinite gets a tiny diagonal load
    (1e-9 of its trace) rather than an exception.
    """
    try:
        L: FloatArray = np.asarray(np.linalg.cholesky(S), dtype=np.float64)
    except np.linalg.LinAlgError:
        n = S.shape[-1]
        load = 1e-9 * np.trace(S, axis1=-2, axis2=-1)[..., None, None] + 1e-12
        L = np.asarray(np.linalg.cholesky(symmetrize(S) + load * np.eye(n)), dtype=np.float64)
    return L


def _inv_det_2(M: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Closed-form inverse and determinant of a stack of 2×2 matrices."""
    a, b, c, d = M[..., 0, 0], M[..., 0, 1], M[..., 1, 0], M[..., 1, 1]
    det = a * d - b * c
    inv = np.empty_like(M)
    inv[..., 0, 0] = d / det
    inv[..., 0, 1] = -b / det
    inv[..., 1, 0] = -c / det
    inv[..., 1, 1] = a / det
    return inv, det


def small_inverse_det(S: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Inverse and determinant of a stack of SPD matrices of size 1 to 4, in closed form.

    LAPACK's per-matrix call overhead dominates for tiny matrices, so a 2×2
    block partition is used instead: with S = [[A, B], [B', D]] and the Schur
    complement C = D − B' A⁻¹ B,
    S⁻¹ = [[A⁻¹ + A⁻¹ B C⁻¹ B' A⁻¹, −A⁻¹ B C⁻¹], [−C⁻¹ B' A⁻¹, C⁻¹]],  det S = det A det C.
    Larger matrices go through Cholesky.
    """
    d = S.shape[-1]
    if d == 1:
        return 1.0 / S, S[..., 0, 0].copy()
    if d == 2:
        return _inv_det_2(S)
    if d > 4:
        inv = spd_inverse(S)
        return inv, np.exp(2.0 * np.sum(np.log(np.diagonal(cholesky_lower(S), 0, -2, -1)), -1))
    A, B, D = S[..., :2, :2], S[..., :2, 2:], S[..., 2:, 2:]
    A_inv, det_a = _inv_det_2(A)
    AiB = A_inv @ B
    Bt = np.swapaxes(B, -1, -2)
    C_inv, det_c = small_inverse_det(D - Bt @ AiB)
    top_right = -AiB @ C_inv
    out = np.empty_like(S)
    out[..., :2, :2] = A_inv - top_right @ np.swapaxes(AiB, -1, -2)
    out[..., :2, 2:] = top_right
    out[..., 2:, :2] = np.swapaxes(top_right, -1, -2)
    out[..., 2:, 2:] = C_inv
    return out, det_a * det_c


def mahalanobis_sq(nu: FloatArray, S: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Squared Mahalanobis distance ν' S⁻¹ ν and ln det S, for stacks of innovations."""
    S_inv, det = small_inverse_det(S)
    d2 = (nu[..., None, :] @ S_inv @ nu[..., :, None])[..., 0, 0]
    return d2, np.log(np.maximum(det, 1e-300))


def packed_mahalanobis_sq(
    nu: FloatArray, S: dict[tuple[int, int], FloatArray]
) -> tuple[FloatArray, FloatArray]:
    """ν' S⁻¹ ν and ln det S for symmetric S of size 1 to 3 given entry by entry.

    `S[(a, b)]` (a ≤ b) is the `(N,)` column of entry (a, b); `nu` is `(N, d)`.
    With the cofactors C (S⁻¹ = C / det S):
    d = 2:  det = s00 s11 − s01²,  ν' C ν = s11 ν0² − 2 s01 ν0 ν1 + s00 ν1²
    d = 3:  c00 = s11 s22 − s12², c01 = s02 s12 − s01 s22, c02 = s01 s12 − s02 s11,
            c11 = s00 s22 − s02², c12 = s01 s02 − s00 s12, c22 = s00 s11 − s01²,
            det = s00 c00 + s01 c01 + s02 c02
    Each line is one operation on whole columns: cheaper than stacks of 3×3 matrices.
    """
    d = nu.shape[-1]
    n0 = nu[:, 0]
    if d == 1:
        det = S[0, 0]
        d2 = n0 * n0 / det
    elif d == 2:
        s00, s01, s11 = S[0, 0], S[0, 1], S[1, 1]
        n1 = nu[:, 1]
        det = s00 * s11 - s01 * s01
        d2 = (s11 * n0 * n0 - 2.0 * s01 * n0 * n1 + s00 * n1 * n1) / det
    elif d == 3:
        s00, s01, s02 = S[0, 0], S[0, 1], S[0, 2]
        s11, s12, s22 = S[1, 1], S[1, 2], S[2, 2]
        n1, n2 = nu[:, 1], nu[:, 2]
        c00 = s11 * s22 - s12 * s12
        c01 = s02 * s12 - s01 * s22
        c02 = s01 * s12 - s02 * s11
        c11 = s00 * s22 - s02 * s02
        c12 = s01 * s02 - s00 * s12
        c22 = s00 * s11 - s01 * s01
        det = s00 * c00 + s01 * c01 + s02 * c02
        quad = c00 * n0 * n0 + c11 * n1 * n1 + c22 * n2 * n2
        quad += 2.0 * (c01 * n0 * n1 + c02 * n0 * n2 + c12 * n1 * n2)
        d2 = quad / det
    else:
        raise ValueError(f"packed_mahalanobis_sq: size {d}; only 1 to 3")
    return d2, np.log(np.maximum(det, 1e-300))


def spd_inverse(S: FloatArray) -> FloatArray:
    """Inverse of a stack `(..., d, d)` of SPD matrices via Cholesky: S⁻¹ = L⁻ᵀ L⁻¹.

    One compiled loop over the matrices (`kernels.spd_inverse_kernel`): NumPy's
    stacked LAPACK calls cost more per matrix than a 6 × 6 inverse's arithmetic.
    """
    d = S.shape[-1]
    flat = np.ascontiguousarray(S, dtype=np.float64).reshape(-1, d, d)
    inv, _ = spd_inverse_kernel(flat)
    result: FloatArray = inv.reshape(S.shape)
    return result


def kalman_update(
    x: FloatArray, P: FloatArray, nu: FloatArray, H: FloatArray, R: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Extended Kalman update of stacks, Joseph form. Returns (x, P, d², ln det S).

    `nu` is the innovation z − h(x) already wrapped (angles), `H` the Jacobian of h.
    """
    # S = H P H' + R;  K = P H' S⁻¹;  x⁺ = x + K ν;
    # P⁺ = (I − K H) P (I − K H)' + K R K'    Joseph form: stays SPD under rounding
    # One compiled loop over the stack (`kernels.kalman_update_kernel`).
    n, d = x.shape[-1], nu.shape[-1]
    if n != 6:
        raise ValueError(f"kalman_update: state of size {n}; the compiled update is for 6")
    batch = x.shape[:-1]
    x_new, P_new, d2, log_det = kalman_update_kernel(
        np.ascontiguousarray(x, dtype=np.float64).reshape(-1, n),
        np.ascontiguousarray(P, dtype=np.float64).reshape(-1, n, n),
        np.ascontiguousarray(nu, dtype=np.float64).reshape(-1, d),
        np.ascontiguousarray(H, dtype=np.float64).reshape(-1, d, n),
        np.ascontiguousarray(np.broadcast_to(R, (*batch, d, d)), dtype=np.float64).reshape(
            -1, d, d
        ),
    )
    return (
        x_new.reshape(*batch, n),
        P_new.reshape(*batch, n, n),
        d2.reshape(batch),
        log_det.reshape(batch),
    )

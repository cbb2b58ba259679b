"""Fusion of estimates whose cross-correlation is unknown: covariance intersection, batched.

Two nations' tracks of one object share errors they cannot know (the same
plots released to both, the same target manoeuvre, each other's earlier
tracks): the Kalman combination, which assumes independence, would be
over-confident. Covariance intersection (Julier & Uhlmann 1997) is consistent
for any cross-correlation:

    P⁻¹ = Σ_k ω_k P_k⁻¹,   P⁻¹ x = Σ_k ω_k P_k⁻¹ x_k,   ω_k ≥ 0, Σ ω_k = 1

The weights start from the closed form of the "improved fast CI" of Franken
and Hüpper (2005), an approximation of the determinant-minimising weights:

    I_k = P_k⁻¹,  I = Σ_j I_j
    ω_k = (det I − det(I − I_k) + det I_k) / (n det I + Σ_j (det I_j − det(I − I_j)))

All determinants are taken relative to det I (as det(I⁻¹ A)), which is
unit-free and well scaled. In six dimensions that closed form stays near equal
weights (det I dwarfs the other terms), so a few steps of the multiplicative
algorithm of D-optimal design then bring the weights close to the optimum
(`refine_weights`). One estimate gives ω = 1 and returns it unchanged.
docs/design.md, "Track-to-track fusion", lists the alternatives.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from airpicture.tracking.linalg import spd_inverse, symmetrize

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


def ifci_weights(info: FloatArray, group: IntArray, n_groups: int) -> FloatArray:
    """Closed-form CI weights (K,) of information matrices `info` (K, n, n) fused per group."""
    total = np.zeros((n_groups, *info.shape[1:]))
    np.add.at(total, group, info)
    members = np.bincount(group, minlength=n_groups).astype(np.float64)
    total_k = total[group]
    # Relative determinants: det(I⁻¹ A) = det A / det I.
    rel_own = np.linalg.det(np.linalg.solve(total_k, info))
    rel_rest = np.linalg.det(np.linalg.solve(total_k, total_k - info))
    # numerator_k = 1 − det(I − I_k)/det I + det I_k/det I
    numerator = 1.0 - rel_rest + rel_own
    # denominator = n + Σ_j (det I_j − det(I − I_j)) / det I
    denominator = members + np.bincount(group, weights=rel_own - rel_rest, minlength=n_groups)
    omega = np.clip(numerator / denominator[group], 0.0, None)
    # Renormalise after clipping (a negative weight only appears from rounding).
    norm = np.bincount(group, weights=omega, minlength=n_groups)
    omega = np.where(norm[group] > 0.0, omega / np.maximum(norm[group], 1e-300), 1.0)
    single = members[group] == 1.0
    omega[single] = 1.0
    result: FloatArray = omega
    return result


def refine_weights(
    info: FloatArray, omega: FloatArray, group: IntArray, n_groups: int, iterations: int
) -> FloatArray:
    """Move CI weights towards the determinant-minimising ones.

    Minimising det P = maximising log det Σ ω_k I_k over the simplex is the
    D-optimal design problem; its multiplicative algorithm (Titterington 1976)
    raises log det at every step and keeps ω ≥ 0, Σ ω = 1:

        ω_k ← ω_k tr(P I_k) / n,   P = (Σ_j ω_j I_j)⁻¹,  n = state dimension

    (Σ_k ω_k tr(P I_k) = tr(I) = n, so the weights stay normalised.)
    """
    n = info.shape[-1]
    multi = np.bincount(group, minlength=n_groups)[group] > 1
    if not multi.any():
        return omega
    omega = omega.copy()
    for _ in range(iterations):
        fused = np.zeros((n_groups, n, n))
        np.add.at(fused, group, omega[:, None, None] * info)
        P = spd_inverse(fused)
        # tr(P I_k) for symmetric matrices: Σ_ij P_ij (I_k)_ij
        t = np.einsum("kij,kij->k", P[group], info)
        omega = np.where(multi, omega * t / n, omega)
        norm = np.bincount(group, weights=omega, minlength=n_groups)
        omega = omega / norm[group]
    return omega


def covariance_intersection(
    x: FloatArray, P: FloatArray, group: IntArray, n_groups: int, iterations: int = 8
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Fuse the estimates (x (K, n), P (K, n, n)) of each group: (x (G, n), P (G, n, n), ω (K,)).

    Weights: the closed form (`ifci_weights`), then `iterations` steps of the
    multiplicative algorithm towards the determinant-minimising weights
    (`refine_weights`; 0 keeps the closed form). Every group needs a member.
    """
    info = spd_inverse(P)
    omega = ifci_weights(info, group, n_groups)
    omega = refine_weights(info, omega, group, n_groups, iterations)
    weighted = omega[:, None, None] * info
    fused_info = np.zeros((n_groups, *P.shape[1:]))
    np.add.at(fused_info, group, weighted)
    fused_vec = np.zeros((n_groups, x.shape[1]))
    np.add.at(fused_vec, group, (weighted @ x[:, :, None])[:, :, 0])
    # P = (Σ ω_k I_k)⁻¹,  x = P Σ ω_k I_k x_k
    P_fused = symmetrize(spd_inverse(fused_info))
    x_fused = (P_fused @ fused_vec[:, :, None])[:, :, 0]
    # One member: return it exactly, not through two inversions.
    single = np.bincount(group, minlength=n_groups) == 1
    if single.any():
        first = np.full(n_groups, -1, dtype=np.intp)
        first[group[::-1]] = np.arange(group.size)[::-1]
        rows = first[single]
        x_fused[single] = x[rows]
        P_fused[single] = P[rows]
    return x_fused, P_fused, omega

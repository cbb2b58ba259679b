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


class GroupSum:
    """Sums of rows per group, `(K, ...)` → `(G, ...)`, for one grouping used many times.

    The rows are sorted by group once; each sum is then one `np.add.reduceat`
    over contiguous runs (`np.add.at`, unbuffered, costs several times more).
    Groups with no member sum to zero.
    """

    def __init__(self, group: IntArray, n_groups: int) -> None:
        self.n_groups = n_groups
        self.order = np.argsort(group, kind="stable")
        g = group[self.order]
        self.starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if g.size else g
        self.present = g[self.starts]

    def __call__(self, values: FloatArray) -> FloatArray:
        out = np.zeros((self.n_groups, *values.shape[1:]))
        if self.starts.size:
            out[self.present] = np.add.reduceat(values[self.order], self.starts, axis=0)
        return out


def ifci_weights(
    info: FloatArray, group: IntArray, n_groups: int, sums: GroupSum | None = None
) -> FloatArray:
    """Closed-form CI weights (K,) of information matrices `info` (K, n, n) fused per group."""
    total = (sums or GroupSum(group, n_groups))(info)
    members = np.bincount(group, minlength=n_groups).astype(np.float64)
    total_k = total[group]
    # Relative determinants: det(I⁻¹ A) = det A / det I.
    # With M = I⁻¹ I_k:  det I_k / det I = det M,  det(I − I_k) / det I = det(1 − M).
    M = np.linalg.solve(total_k, info)
    rel_own = np.linalg.det(M)
    rel_rest = np.linalg.det(np.eye(info.shape[-1]) - M)
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
    info: FloatArray,
    omega: FloatArray,
    group: IntArray,
    n_groups: int,
    iterations: int,
    sums: GroupSum | None = None,
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
    group_sum = sums or GroupSum(group, n_groups)
    for _ in range(iterations):
        P = spd_inverse(group_sum(omega[:, None, None] * info))
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
    n = x.shape[1]
    size = np.bincount(group, minlength=n_groups)
    x_fused = np.full((n_groups, n), np.nan)  # NaN stays for a group with no member
    P_fused = np.full((n_groups, n, n), np.nan)
    omega = np.ones(group.size)
    # One member: returned exactly, not through two inversions (and not computed).
    alone = size[group] == 1
    x_fused[group[alone]] = x[alone]
    P_fused[group[alone]] = P[alone]
    several = ~alone
    if not several.any():
        return x_fused, P_fused, omega
    fused_groups = np.flatnonzero(size > 1)
    local = np.searchsorted(fused_groups, group[several])
    xs = x[several]
    info = spd_inverse(P[several])
    sums = GroupSum(local, fused_groups.size)
    w = ifci_weights(info, local, fused_groups.size, sums)
    w = refine_weights(info, w, local, fused_groups.size, iterations, sums)
    weighted = w[:, None, None] * info
    fused_info = sums(weighted)
    fused_vec = sums(np.einsum("kij,kj->ki", weighted, xs))
    # P = (Σ ω_k I_k)⁻¹,  x = P Σ ω_k I_k x_k
    P_f = symmetrize(spd_inverse(fused_info))
    x_fused[fused_groups] = (P_f @ fused_vec[:, :, None])[:, :, 0]
    P_fused[fused_groups] = P_f
    omega[several] = w
    return x_fused, P_fused, omega

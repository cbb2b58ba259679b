"""Track-to-track association: statistical gating on state and covariance, batched.

Two tracks a and b of one object differ by Δ = x_a − x_b with covariance at
most P_a + P_b (less when their errors are correlated, which only helps the
gate). The test statistic is

    d² = Δ' (P_a + P_b)⁻¹ Δ  ~  χ²(dim)

over the full state (6) or the position only (3). Candidate pairs come from the
tracker's kd-tree pre-gate (`tracking.association.pregate_pairs`) so the cost
grows with the number of nearby pairs, not with the product of track counts;
the assignment is the tracker's clustered GNN (`gnn_assign`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import chdtri

from airpicture.tracking.association import gnn_assign, pregate_pairs
from airpicture.tracking.linalg import mahalanobis_sq

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


def gate_threshold(probability: float, dims: int) -> float:
    """χ² quantile: d² below it with the given probability for `dims` degrees of freedom."""
    return float(chdtri(dims, 1.0 - probability))


def pair_distance_sq(
    x_a: FloatArray, P_a: FloatArray, x_b: FloatArray, P_b: FloatArray, dims: int
) -> FloatArray:
    """d² = Δ' (P_a + P_b)⁻¹ Δ over the first `dims` state components, for paired rows."""
    delta = x_a[:, :dims] - x_b[:, :dims]
    S = P_a[:, :dims, :dims] + P_b[:, :dims, :dims]
    d2, _ = mahalanobis_sq(delta, S)
    return d2


def gated_pairs(
    x_a: FloatArray,
    P_a: FloatArray,
    x_b: FloatArray,
    P_b: FloatArray,
    dims: int,
    gate_d2: float,
    pregate_sigmas: float,
    max_pregate_m: float,
) -> tuple[IntArray, IntArray, FloatArray]:
    """Pairs (i in a, j in b) with d² ≤ gate, and their d².

    Pre-gate radius of a: k σ with σ² = tr P_a,pos + max_b tr P_b,pos (capped).
    """
    empty = np.empty(0, dtype=np.intp)
    if x_a.shape[0] == 0 or x_b.shape[0] == 0:
        return empty, empty, np.empty(0)
    var_a = np.trace(P_a[:, :3, :3], axis1=1, axis2=2)
    var_b = float(np.trace(P_b[:, :3, :3], axis1=1, axis2=2).max())
    radius = np.minimum(pregate_sigmas * np.sqrt(var_a + var_b), max_pregate_m)
    i, j = pregate_pairs(x_a[:, :3], radius, x_b[:, :3])
    if i.size == 0:
        return empty, empty, np.empty(0)
    d2 = pair_distance_sq(x_a[i], P_a[i], x_b[j], P_b[j], dims)
    keep = d2 <= gate_d2
    return i[keep], j[keep], d2[keep]


def assign_pairs(
    i: IntArray, j: IntArray, d2: FloatArray, gate_d2: float
) -> tuple[IntArray, IntArray]:
    """One-to-one assignment minimising Σ d² over gated pairs (a pair left out costs the gate)."""
    return gnn_assign(i, j, d2, gate_d2)

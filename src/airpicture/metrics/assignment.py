"""Optimal assignment with a cut-off, split into independent clusters.

GOSPA (α = 2) pairs tracks with truths to minimise Σ d^p over the pairs plus
c^p / 2 for every point left alone. A pair at distance d ≥ c never helps
(it costs c^p, the same as leaving both alone), so only pairs closer than c are
edges; the bipartite graph of those edges falls apart into connected components
that can be solved independently. In a regional picture almost every component
is a lone point or a single track–truth pair; those are settled with array
operations and only the few real clusters reach
`scipy.optimize.linear_sum_assignment`. No Python loop over track × truth pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Assignment:
    """Pairs `(a_index[k], b_index[k])` at `distance_m[k]` < the cut-off."""

    a_index: IntArray
    b_index: IntArray
    distance_m: FloatArray

    @property
    def size(self) -> int:
        return int(self.a_index.size)


def _empty() -> Assignment:
    return Assignment(
        np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    )


def close_pairs(
    a_xyz_m: FloatArray, b_xyz_m: FloatArray, cutoff_m: float
) -> tuple[IntArray, IntArray, FloatArray]:
    """All pairs (i, j) with |a_i − b_j| < cutoff_m, found with k-d trees."""
    if a_xyz_m.shape[0] == 0 or b_xyz_m.shape[0] == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64)
    pairs = cKDTree(a_xyz_m).sparse_distance_matrix(
        cKDTree(b_xyz_m), cutoff_m, output_type="ndarray"
    )
    i = np.asarray(pairs["i"], dtype=np.int64)
    j = np.asarray(pairs["j"], dtype=np.int64)
    d = np.asarray(pairs["v"], dtype=np.float64)
    strict = d < cutoff_m  # the tree also returns d == cutoff; GOSPA treats those as unassigned
    return i[strict], j[strict], d[strict]


def cutoff_assignment(
    a_xyz_m: FloatArray, b_xyz_m: FloatArray, cutoff_m: float, p: float
) -> Assignment:
    """Pairs minimising Σ_pairs d^p + (c^p / 2) · (unpaired a + unpaired b), d < c = cutoff_m."""
    i, j, d = close_pairs(a_xyz_m, b_xyz_m, cutoff_m)
    if i.size == 0:
        return _empty()
    n_a, n_b = a_xyz_m.shape[0], b_xyz_m.shape[0]
    graph = coo_matrix((np.ones(i.size), (i, n_a + j)), shape=(n_a + n_b, n_a + n_b))
    _, label = connected_components(graph, directed=False)
    edge_label = label[i]
    a_count = np.bincount(label[:n_a], minlength=label.max() + 1)
    b_count = np.bincount(label[n_a:], minlength=label.max() + 1)

    # A component of one a and one b has exactly one edge: pair them.
    single = (a_count[edge_label] == 1) & (b_count[edge_label] == 1)
    out_a, out_b, out_d = [i[single]], [j[single]], [d[single]]

    cluster = ~single
    if np.any(cluster):
        ci, cj, cd, cl = i[cluster], j[cluster], d[cluster], edge_label[cluster]
        order = np.argsort(cl, kind="stable")
        ci, cj, cd, cl = ci[order], cj[order], cd[order], cl[order]
        bounds = np.flatnonzero(np.diff(cl)) + 1
        cutoff_cost = cutoff_m**p
        for lo, hi in zip(
            np.concatenate([[0], bounds]), np.concatenate([bounds, [cl.size]]), strict=True
        ):
            rows, row_local = np.unique(ci[lo:hi], return_inverse=True)
            cols, col_local = np.unique(cj[lo:hi], return_inverse=True)
            distance = np.full((rows.size, cols.size), np.inf)
            distance[row_local, col_local] = cd[lo:hi]
            # cost_ij = min(d_ij, c)^p ; a pair left at cost c^p counts as unassigned
            cost = np.where(np.isfinite(distance), distance**p, cutoff_cost)
            r, c = linear_sum_assignment(cost)
            real = np.isfinite(distance[r, c])
            out_a.append(rows[r[real]])
            out_b.append(cols[c[real]])
            out_d.append(distance[r[real], c[real]])
    return Assignment(
        np.concatenate(out_a).astype(np.int64),
        np.concatenate(out_b).astype(np.int64),
        np.concatenate(out_d).astype(np.float64),
    )

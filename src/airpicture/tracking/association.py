"""Gating and data association, batched: kd-tree pre-gate, Mahalanobis gate, GNN, JPDA.

Pairs are kept as parallel arrays `(track_index, meas_index)`; nothing here
builds a Python object per track or per report.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

#: Cost standing for "no edge" in a cluster's dense assignment matrix.
_FORBIDDEN = 1.0e12


def pregate_pairs(
    track_points: FloatArray, track_radius: FloatArray, meas_points: FloatArray
) -> tuple[IntArray, IntArray]:
    """Candidate (track, report) pairs with |track − report| ≤ the track's own radius.

    Tracks are binned into radius classes that double in size, and each class
    asks the reports' kd-tree for pairs within its largest radius, so a few
    very uncertain tracks do not widen the search of all others. Cost grows
    with the number of pairs, i.e. about linearly with traffic at a fixed density.
    """
    empty = np.empty(0, dtype=np.intp)
    if track_points.shape[0] == 0 or meas_points.shape[0] == 0:
        return empty, empty
    meas_tree = cKDTree(meas_points)
    radius = np.maximum(track_radius, 1e-12)
    base = float(radius.min())
    classes = np.floor(np.log2(radius / base)).astype(np.intp)
    t_parts: list[IntArray] = []
    m_parts: list[IntArray] = []
    for cls in np.unique(classes):
        members = np.flatnonzero(classes == cls)
        tree = cKDTree(track_points[members])
        max_r = float(radius[members].max())
        found = tree.sparse_distance_matrix(meas_tree, max_r, output_type="ndarray")
        t = members[found["i"]]
        keep = found["v"] <= radius[t]
        t_parts.append(t[keep])
        m_parts.append(found["j"][keep].astype(np.intp))
    return np.concatenate(t_parts), np.concatenate(m_parts)


def gnn_assign(
    track_index: IntArray, meas_index: IntArray, cost: FloatArray, miss_cost: float
) -> tuple[IntArray, IntArray]:
    """Global nearest neighbour over gated pairs, one independent cluster at a time.

    Minimises Σ cost over a one-to-one assignment where leaving a track
    unassigned costs `miss_cost` (the gate). Clusters are the connected
    components of the track–report graph; a cluster of one track and one report
    (most of them) is assigned without a solver; each other cluster is solved
    exactly by `scipy.optimize.linear_sum_assignment` on its small dense matrix
    with one "miss" column per track.
    """
    empty = np.empty(0, dtype=np.intp)
    if track_index.size == 0:
        return empty, empty
    t_ids, t_local = np.unique(track_index, return_inverse=True)
    m_ids, m_local = np.unique(meas_index, return_inverse=True)
    nt, nm = t_ids.size, m_ids.size
    graph = coo_matrix((np.ones(t_local.size), (t_local, nt + m_local)), shape=(nt + nm, nt + nm))
    _, labels = connected_components(graph, directed=False)
    pair_label = labels[t_local]
    t_deg = np.bincount(t_local, minlength=nt)
    m_deg = np.bincount(m_local, minlength=nm)
    simple = (t_deg[t_local] == 1) & (m_deg[m_local] == 1)
    out_t = [t_local[simple]]
    out_m = [m_local[simple]]
    hard = np.flatnonzero(~simple)
    if hard.size:
        order = hard[np.argsort(pair_label[hard], kind="stable")]
        bounds = np.flatnonzero(np.diff(pair_label[order])) + 1
        for group in np.split(order, bounds):
            rows, r_inv = np.unique(t_local[group], return_inverse=True)
            cols, c_inv = np.unique(m_local[group], return_inverse=True)
            matrix = np.full((rows.size, cols.size + rows.size), _FORBIDDEN)
            matrix[r_inv, c_inv] = cost[group]
            matrix[np.arange(rows.size), cols.size + np.arange(rows.size)] = miss_cost
            r, c = linear_sum_assignment(matrix)
            real = c < cols.size
            out_t.append(rows[r[real]])
            out_m.append(cols[c[real]])
    return t_ids[np.concatenate(out_t)], m_ids[np.concatenate(out_m)]


def jpda_weights(
    track_index: IntArray,
    meas_index: IntArray,
    likelihood: FloatArray,
    pd: float,
    clutter_density: float,
    n_tracks: int,
    n_meas: int,
) -> tuple[FloatArray, FloatArray]:
    """Association probabilities β_ij of gated pairs and β_i0 (no report), by "cheap JPDA".

    Fitzgerald's closed form approximates the joint-event marginals without
    enumerating events (and without the patented efficient-hypothesis method):
    G_ij = pd Λ_ij,  β_ij = G_ij / (Σ_j G_ij + Σ_i G_ij − G_ij + B),
    B = (1 − pd) λ;  β_i0 = 1 − Σ_j β_ij.
    """
    G = pd * likelihood
    B = (1.0 - pd) * clutter_density
    row_sum = np.bincount(track_index, weights=G, minlength=n_tracks)
    col_sum = np.bincount(meas_index, weights=G, minlength=n_meas)
    beta = G / (row_sum[track_index] + col_sum[meas_index] - G + B)
    beta_sum = np.bincount(track_index, weights=beta, minlength=n_tracks)
    # Normalise per track so that β_i0 + Σ_j β_ij = 1 with β_i0 ∝ B.
    denom = beta_sum + B / np.maximum(row_sum + B, 1e-300)
    beta = beta / np.maximum(denom[track_index], 1e-300)
    beta0 = 1.0 - np.bincount(track_index, weights=beta, minlength=n_tracks)
    return beta, np.clip(beta0, 0.0, 1.0)

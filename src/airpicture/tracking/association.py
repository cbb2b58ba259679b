"""Data association, batched: the grid pre-gate, identity matching, GNN, JPDA and its PDA update.

Two associators fill one role (`roles.Associator`): `GNNAssociator` (one
report per track, global nearest neighbour) and `JPDAAssociator` (confirmed
tracks take a β-weighted mixture of all their gated reports, the PDA update
below). `associator_for` maps `TrackerSettings.association` to one of them
once, when the tracker is built. Pairs are kept as parallel arrays
`(track_index, meas_index)`; nothing here builds a Python object per track or
per report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, min_weight_full_bipartite_matching

from airpicture.tracking.gating import Batch, GatedPairs
from airpicture.tracking.imm import ModeSwitching, imm_predict
from airpicture.tracking.kernels import grid_pairs_kernel
from airpicture.tracking.linalg import spd_inverse, symmetrize
from airpicture.tracking.motion import MotionModel
from airpicture.tracking.settings import TrackerSettings
from airpicture.tracking.store import CONFIRMED, TrackArrays

if TYPE_CHECKING:
    from airpicture.tracking.roles import Assigner, Associator, SoftAssigner

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]

#: Cells per axis of the pre-gate grid, at most.
_GRID_MAX_CELLS = 256
#: Cost standing for "no edge" in a cluster's dense assignment matrix.
_FORBIDDEN = 1.0e12
#: Largest cluster given to the dense solver (entries of its matrix, 8 bytes each).
_DENSE_MAX_ENTRIES = 250_000
#: Up to this many entries, all clusters that need a solver share one dense matrix.
_JOINT_MAX_ENTRIES = 40_000


def pregate_pairs(
    track_points: FloatArray, track_radius: FloatArray, meas_points: FloatArray
) -> tuple[IntArray, IntArray]:
    """Candidate (track, report) pairs with |track − report| ≤ the track's own radius.

    The reports are bucketed on a grid over the two axes along which they
    spread most, cells the size of the median track radius (at most
    `_GRID_MAX_CELLS` per axis); each track scans the cells its own radius
    covers, so a few very uncertain tracks do not widen the search of all
    others. Cost grows with the number of pairs, i.e. about linearly with
    traffic at a fixed density. Pairs come out grouped by track.
    """
    empty = np.empty(0, dtype=np.intp)
    if track_points.shape[0] == 0 or meas_points.shape[0] == 0:
        return empty, empty
    tp = np.ascontiguousarray(track_points, dtype=np.float64)
    mp = np.ascontiguousarray(meas_points, dtype=np.float64)
    radius = np.ascontiguousarray(np.maximum(track_radius, 0.0), dtype=np.float64)
    low, high = mp.min(axis=0), mp.max(axis=0)
    axes = np.argsort(high - low)[::-1][:2] if mp.shape[1] > 1 else np.array([0, 0])
    axes = np.ascontiguousarray(axes, dtype=np.intp)
    origin = low[axes]
    extent = float(np.max(high[axes] - origin))
    cell = max(float(np.median(radius)), extent / _GRID_MAX_CELLS, 1e-9)
    n_cells = np.minimum(
        np.floor((high[axes] - origin) / cell).astype(np.intp) + 1, _GRID_MAX_CELLS
    )
    ix = np.minimum(np.floor((mp[:, axes[0]] - origin[0]) / cell).astype(np.intp), n_cells[0] - 1)
    iy = np.minimum(np.floor((mp[:, axes[1]] - origin[1]) / cell).astype(np.intp), n_cells[1] - 1)
    cell_id = iy * n_cells[0] + ix
    order = np.argsort(cell_id, kind="stable").astype(np.intp)
    cell_start = np.zeros(int(n_cells[0] * n_cells[1]) + 1, np.intp)
    np.cumsum(np.bincount(cell_id, minlength=cell_start.size - 1), out=cell_start[1:])
    t, m = grid_pairs_kernel(
        tp, radius, mp, axes, np.ascontiguousarray(origin), cell, n_cells, order, cell_start
    )
    return t, m


def gnn_assign(
    track_index: IntArray, meas_index: IntArray, cost: FloatArray, miss_cost: float
) -> tuple[IntArray, IntArray]:
    """Global nearest neighbour over gated pairs, one independent cluster at a time.

    Minimises Σ cost over a one-to-one assignment where leaving a track
    unassigned costs `miss_cost` (the gate). Clusters are the connected
    components of the track–report graph. Three kinds are solved in closed
    form for all clusters at once: one track and one report (most of them),
    one track and several reports, several tracks and one report (take the
    cheapest pair if it beats a miss). Every other cluster is solved exactly by
    `scipy.optimize.linear_sum_assignment` on its small dense matrix with one
    "miss" column per track (while they are few, all such clusters share one
    block-diagonal matrix and one call: the same optima); a cluster too large
    for a dense matrix (when all tracks start at once in dense traffic,
    thousands of tentative tracks form one component) by the sparse
    Jonker–Volgenant solver (`min_weight_full_bipartite_matching`), which
    solves the same problem.
    """
    empty = np.empty(0, dtype=np.intp)
    if track_index.size == 0:
        return empty, empty
    t_ids, t_local = np.unique(track_index, return_inverse=True)
    m_ids, m_local = np.unique(meas_index, return_inverse=True)
    nt, nm = t_ids.size, m_ids.size
    t_deg = np.bincount(t_local, minlength=nt)
    m_deg = np.bincount(m_local, minlength=nm)
    simple = (t_deg[t_local] == 1) & (m_deg[m_local] == 1)
    out_t = [t_local[simple]]
    out_m = [m_local[simple]]
    hard = np.flatnonzero(~simple)
    if hard.size:
        # A star: every report of the track is its alone, or every track of the report is its alone.
        lone_m = np.bincount(t_local[hard], weights=m_deg[m_local[hard]] > 1, minlength=nt) == 0
        lone_t = np.bincount(m_local[hard], weights=t_deg[t_local[hard]] > 1, minlength=nm) == 0
        star_t = lone_m[t_local[hard]]
        star_m = lone_t[m_local[hard]] & ~star_t
        for star, centre in ((star_t, t_local), (star_m, m_local)):
            pairs = hard[star]
            if pairs.size:
                # The cheapest pair of each star: sort by (centre, cost), keep each centre's first.
                order = pairs[np.lexsort((cost[pairs], centre[pairs]))]
                first = np.ones(order.size, bool)
                first[1:] = centre[order][1:] != centre[order][:-1]
                best = order[first]
                best = best[cost[best] <= miss_cost]
                out_t.append(t_local[best])
                out_m.append(m_local[best])
        hard = hard[~(star_t | star_m)]
    rows_all, r_all = np.unique(t_local[hard], return_inverse=True)
    cols_all, c_all = np.unique(m_local[hard], return_inverse=True)
    if hard.size and rows_all.size * (cols_all.size + rows_all.size) <= _JOINT_MAX_ENTRIES:
        # Few tracks left: all their clusters in one call (the matrix is block
        # diagonal, so each cluster gets its own optimum), no labelling needed.
        r, c = _dense_assignment(r_all, c_all, cost[hard], miss_cost, rows_all.size, cols_all.size)
        real = c < cols_all.size
        out_t.append(rows_all[r[real]])
        out_m.append(cols_all[c[real]])
    elif hard.size:
        _, labels = connected_components(
            coo_matrix(
                (np.ones(hard.size), (t_local[hard], nt + m_local[hard])),
                shape=(nt + nm, nt + nm),
            ),
            directed=False,
        )
        pair_label = labels[t_local[hard]]
        order = hard[np.argsort(pair_label, kind="stable")]
        bounds = np.flatnonzero(np.diff(np.sort(pair_label, kind="stable"))) + 1
        for group in np.split(order, bounds):
            rows, r_inv = np.unique(t_local[group], return_inverse=True)
            cols, c_inv = np.unique(m_local[group], return_inverse=True)
            if rows.size * (cols.size + rows.size) <= _DENSE_MAX_ENTRIES:
                r, c = _dense_assignment(r_inv, c_inv, cost[group], miss_cost, rows.size, cols.size)
            else:
                r, c = _sparse_assignment(
                    r_inv, c_inv, cost[group], miss_cost, rows.size, cols.size
                )
            real = c < cols.size
            out_t.append(rows[r[real]])
            out_m.append(cols[c[real]])
    return t_ids[np.concatenate(out_t)], m_ids[np.concatenate(out_m)]


def _dense_assignment(
    r_inv: IntArray, c_inv: IntArray, cost: FloatArray, miss_cost: float, n_rows: int, n_cols: int
) -> tuple[IntArray, IntArray]:
    """`linear_sum_assignment` on rows × (reports + one miss column per row); no edge: forbidden."""
    matrix = np.full((n_rows, n_cols + n_rows), _FORBIDDEN)
    matrix[r_inv, c_inv] = cost
    matrix[np.arange(n_rows), n_cols + np.arange(n_rows)] = miss_cost
    r, c = linear_sum_assignment(matrix)
    return np.asarray(r, dtype=np.intp), np.asarray(c, dtype=np.intp)


def _sparse_assignment(
    r_inv: IntArray, c_inv: IntArray, cost: FloatArray, miss_cost: float, n_rows: int, n_cols: int
) -> tuple[IntArray, IntArray]:
    """The cluster's assignment (rows × (reports + one miss column per row)) on a sparse matrix.

    Every row can take its own miss column, so a full matching exists. The
    solver treats a zero weight as no edge, so all weights are shifted by one:
    every full matching has n_rows edges, so the optimum does not move.
    """
    rows = np.concatenate([r_inv, np.arange(n_rows)])
    cols = np.concatenate([c_inv, n_cols + np.arange(n_rows)])
    weights = np.concatenate([cost, np.full(n_rows, miss_cost)]) + 1.0
    graph = csr_matrix((weights, (rows, cols)), shape=(n_rows, n_cols + n_rows))
    r, c = min_weight_full_bipartite_matching(graph)
    return np.asarray(r, dtype=np.intp), np.asarray(c, dtype=np.intp)


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


def match_identity(
    track_ident: NDArray[np.str_], report_ident: NDArray[np.str_]
) -> tuple[IntArray, IntArray]:
    """(track, report) pairs of equal, non-empty identity; one report per track (its first).

    A sorted-array lookup: no dictionary per report.
    """
    have = np.flatnonzero(track_ident != "")
    if have.size == 0:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    order = have[np.argsort(track_ident[have], kind="stable")]
    sorted_ids = track_ident[order]
    pos = np.searchsorted(sorted_ids, report_ident)
    pos_c = np.minimum(pos, sorted_ids.size - 1)
    hit = (report_ident != "") & (sorted_ids[pos_c] == report_ident)
    mj = np.flatnonzero(hit)
    ti = order[pos_c[mj]]
    # Two reports of one identity in one batch: keep the first.
    ti, first = np.unique(ti, return_index=True)
    return ti.astype(np.intp), mj[first].astype(np.intp)


@dataclass(frozen=True)
class SoftUpdate:
    """A PDA update of whole tracks: their combined estimate at the mean time of their reports."""

    track: IntArray
    x: FloatArray
    P: FloatArray
    mu: FloatArray
    time_s: FloatArray
    #: ln of the likelihood of the β-weighted mixture of reports, for the score.
    log_likelihood: FloatArray
    #: Distinct reports that went into the update.
    n_reports: int


@dataclass(frozen=True)
class Association:
    """What an associator decided for one batch."""

    #: One-to-one pairs for the IMM update.
    track: IntArray
    report: IntArray
    #: Reports that went to some track (hard or soft).
    taken: BoolArray
    #: Reports free to start new tracks.
    may_initiate: BoolArray
    soft: SoftUpdate | None = None


def _two_stage(
    assign: Assigner,
    pairs: GatedPairs,
    confirmed: BoolArray,
    gamma: float,
    taken: BoolArray,
    stage2: BoolArray | None,
) -> tuple[IntArray, IntArray]:
    """Confirmed tracks first (unless `stage2` is given), then tentative ones with what is left."""
    ti, mj, d2 = pairs.track, pairs.report, pairs.d2
    out_t: list[IntArray] = []
    out_m: list[IntArray] = []
    if stage2 is None:
        at, am = assign(ti[confirmed], mj[confirmed], d2[confirmed], gamma)
        out_t.append(at)
        out_m.append(am)
        taken[am] = True
        stage2 = ~confirmed & ~taken[mj]
    at, am = assign(ti[stage2], mj[stage2], d2[stage2], gamma)
    out_t.append(at)
    out_m.append(am)
    taken[am] = True
    return np.concatenate(out_t), np.concatenate(out_m)


@dataclass(frozen=True)
class GNNAssociator:
    """Global nearest neighbour: confirmed tracks first, then tentative ones, one report each."""

    assign: Assigner = gnn_assign

    def associate(
        self, tracks: TrackArrays, batch: Batch, pairs: GatedPairs, taken: BoolArray
    ) -> Association:
        taken = taken.copy()
        confirmed = tracks.status[pairs.track] == CONFIRMED
        ti, mj = _two_stage(self.assign, pairs, confirmed, batch.gamma, taken, None)
        return Association(ti, mj, taken, ~taken)


@dataclass(frozen=True)
class JPDAAssociator:
    """Cheap JPDA for confirmed tracks (PDA update on all gated reports), GNN for tentative ones.

    A report in a confirmed track's gate never starts a track.
    """

    models: tuple[MotionModel, ...]
    switching: ModeSwitching
    assign: Assigner = gnn_assign
    weights: SoftAssigner = jpda_weights

    def associate(
        self, tracks: TrackArrays, batch: Batch, pairs: GatedPairs, taken: BoolArray
    ) -> Association:
        taken = taken.copy()
        ti, mj = pairs.track, pairs.report
        if ti.size == 0:
            return Association(ti, mj, taken, ~taken)
        confirmed = tracks.status[ti] == CONFIRMED
        soft = pda_update(
            tracks, batch, ti[confirmed], mj[confirmed], pairs.log_likelihood[confirmed],
            self.weights, self.models, self.switching,
        )  # fmt: skip
        taken[mj[confirmed]] = True
        stage2 = ~confirmed & ~np.isin(mj, mj[confirmed])
        at, am = _two_stage(self.assign, pairs, confirmed, batch.gamma, taken, stage2)
        in_gate = np.zeros(batch.size, bool)
        in_gate[mj] = True
        return Association(at, am, taken, ~taken & ~in_gate, soft)


def pda_update(
    tracks: TrackArrays,
    batch: Batch,
    ti: IntArray,
    mj: IntArray,
    log_lik: FloatArray,
    weights: SoftAssigner,
    models: Sequence[MotionModel],
    switching: ModeSwitching,
) -> SoftUpdate | None:
    """PDA update of each track with all its gated reports, weighted by β.

    On the IMM's combined prediction (the modes are then re-seeded from it):
    ν = Σ β_j ν_j;  x⁺ = x + K ν;
    P⁺ = β0 P⁻ + (1 − β0)(P⁻ − K S K') + K (Σ β_j ν_j ν_j' − ν ν') K'
    """
    if ti.size == 0:
        return None
    model, z = batch.model, batch.z
    lam = model.clutter_density(batch.with_range_rate)
    beta, beta0 = weights(ti, mj, np.exp(log_lik), model.pd, lam, len(tracks), batch.size)
    track, first, local = np.unique(ti, return_index=True, return_inverse=True)
    # Each track is predicted to the mean time of its gated reports.
    t_ref = np.bincount(local, weights=batch.time_s[mj]) / np.bincount(local)
    x_p, P_p, mu_p = imm_predict(
        tracks.xm[track], tracks.Pm[track], tracks.mu[track], t_ref - tracks.time_s[track],
        models, switching,
    )  # fmt: skip
    z_pred, H = model.measure_jacobian(x_p, batch.with_range_rate)
    R_k = batch.R[mj[first]]
    PHt = P_p @ np.swapaxes(H, 1, 2)
    # S = H P H' + R;  K = P H' S⁻¹
    S = symmetrize(H @ PHt + R_k)
    K = PHt @ spd_inverse(S)
    nu = model.residual(z[mj], z_pred[local])
    dmeas = nu.shape[1]
    nu_comb = np.zeros((track.size, dmeas))
    np.add.at(nu_comb, local, beta[:, None] * nu)
    spread = np.zeros((track.size, dmeas, dmeas))
    np.add.at(spread, local, beta[:, None, None] * np.einsum("ki,kj->kij", nu, nu))
    spread -= np.einsum("ki,kj->kij", nu_comb, nu_comb)
    b0 = beta0[track][:, None, None]
    Kt = np.swapaxes(K, 1, 2)
    x_new = x_p + (K @ nu_comb[:, :, None])[:, :, 0]
    P_new = symmetrize(b0 * P_p + (1.0 - b0) * (P_p - K @ S @ Kt) + K @ spread @ Kt)
    # Score with the likelihood of the β-weighted mixture of reports.
    mix_lik = np.bincount(local, weights=beta * np.exp(log_lik))
    return SoftUpdate(
        track=track,
        x=x_new,
        P=P_new,
        mu=mu_p,
        time_s=t_ref,
        log_likelihood=np.log(np.maximum(mix_lik, 1e-300)),
        n_reports=int(np.unique(mj).size),
    )


def associator_for(
    settings: TrackerSettings, assign: Assigner = gnn_assign, weights: SoftAssigner = jpda_weights
) -> Associator:
    """The associator that `settings.association` names."""
    if settings.association == "jpda":
        return JPDAAssociator(settings.models, settings.switching, assign, weights)
    return GNNAssociator(assign)

"""Track-to-track association: statistical gating on state and covariance, batched.

Two tracks a and b of one object differ by Δ = x_a − x_b with covariance at
most P_a + P_b (less when their errors are correlated, which only helps the
gate). The test statistic is

    d² = Δ' (P_a + P_b)⁻¹ Δ  ~  χ²(dim)

over the full state (6) or the position only (3). Candidate pairs come from the
tracker's kd-tree pre-gate (`tracking.association.pregate_pairs`) so the cost
grows with the number of nearby pairs, not with the product of track counts;
the assignment is the tracker's clustered GNN (`gnn_assign`). `SystemAssociation`
keeps the association of source tracks into system tracks from cycle to cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import chdtri

from airpicture.fusion.intersection import covariance_intersection
from airpicture.fusion.settings import FusionSettings
from airpicture.tracking.association import gnn_assign, pregate_pairs
from airpicture.tracking.linalg import mahalanobis_sq

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
Int64Array = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
StrArray = NDArray[np.str_]


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


@dataclass(frozen=True)
class Association:
    """One cycle's association of K source tracks into S system tracks."""

    #: (K,) system-track index of each source row.
    member: IntArray
    #: (S,) each system track's id (kept from cycle to cycle while it has members).
    system_ids: Int64Array
    #: (S, 6), (S, 6, 6) each system track's estimate as it was gated against: the CI
    #: fusion of its kept members, or the one source track that started it.
    x: FloatArray
    P: FloatArray
    #: (K,) each row's CI weight among the kept members of its system track (1 alone).
    weight: FloatArray
    #: (S,) system tracks that gained a member this cycle (their estimate is stale).
    joined: BoolArray

    def __len__(self) -> int:
        return int(self.system_ids.shape[0])


class SystemAssociation:
    """Source tracks into system tracks, with hysteresis, from one fusion cycle to the next.

    1. keep last cycle's associations (a source track is known by its key) unless the
       track fails the break gate against the fusion of its fellow members on
       `break_after` cycles in a row (one bad cycle never splits);
    2. associate the source tracks not yet in a system track, one origin (tracker) at a
       time, own trackers first: gate against every system track holding no track from
       that origin, assign by clustered GNN, start a new system track for each one left.

    Its state is only what it was given: run on the tracks a nation may hold, it
    groups them as it would if the others did not exist (`fusion.picture`'s numbers
    told to each nation)."""

    def __init__(self, settings: FusionSettings) -> None:
        self.settings = settings
        self._dims = 6 if settings.gate_state == "full" else 3
        self._gate = gate_threshold(settings.gate_probability, self._dims)
        self._break = gate_threshold(settings.break_gate_probability, self._dims)
        # Associations of the last cycle: source key → system id, and its break-gate misses.
        self._keys = np.empty(0, dtype="U64")
        self._key_system = np.empty(0, dtype=np.int64)
        self._key_misses = np.empty(0, dtype=np.int64)
        self._next_system_id = 1

    def forget(self) -> None:
        """No source track is known any more (a cycle with none)."""
        self._keys = np.empty(0, dtype="U64")
        self._key_system = self._key_misses = np.empty(0, dtype=np.int64)

    def associate(
        self, key: StrArray, origin_name: StrArray, local: BoolArray, x: FloatArray, P: FloatArray
    ) -> Association:
        """This cycle's association of the source tracks (`x`, `P` predicted to one time)."""
        s = self.settings
        K = key.shape[0]
        origin_names, origin = np.unique(origin_name, return_inverse=True)
        # 1. last cycle's associations, kept unless broken
        prev_system, misses = self._lookup(key)
        prev_system = _one_per_origin(prev_system, origin)
        systems = np.unique(prev_system[prev_system >= 0])
        member = np.full(K, -1, dtype=np.intp)
        assigned = prev_system >= 0
        member[assigned] = np.searchsorted(systems, prev_system[assigned])
        member, misses = self._break_test(x, P, member, misses, systems.size)
        alive = np.unique(member[member >= 0])
        remap = np.full(systems.size, -1, dtype=np.intp)
        remap[alive] = np.arange(alive.size)
        kept = member >= 0
        member[kept] = remap[member[kept]]
        system_ids = systems[alive].astype(np.int64)
        n_sys = alive.size
        omega = np.ones(K)
        if n_sys:
            rows = np.flatnonzero(member >= 0)
            rep_x, rep_P, omega[rows] = covariance_intersection(
                x[rows], P[rows], member[rows], n_sys
            )
        else:
            rep_x, rep_P = np.empty((0, 6)), np.empty((0, 6, 6))
        joined: list[IntArray] = []
        has_origin = np.zeros((n_sys, origin_names.size), dtype=bool)
        has_origin[member[member >= 0], origin[member >= 0]] = True

        # 2. new associations, one origin at a time: own trackers first, then partners
        local_origin = np.zeros(origin_names.size, dtype=bool)
        local_origin[origin[local]] = True
        for o in np.lexsort((origin_names, ~local_origin)):
            rows = np.flatnonzero((member < 0) & (origin == o))
            if rows.size == 0:
                continue
            cand = np.flatnonzero(~has_origin[:, o])
            i, j, d2 = gated_pairs(
                x[rows],
                P[rows],
                rep_x[cand],
                rep_P[cand],
                self._dims,
                self._gate,
                s.pregate_sigmas,
                s.max_pregate_m,
            )
            ai, aj = assign_pairs(i, j, d2, self._gate)
            member[rows[ai]] = cand[aj]
            joined.append(cand[aj])
            has_origin[cand[aj], o] = True
            new_rows = np.setdiff1d(rows, rows[ai])
            m = new_rows.size
            if m:
                member[new_rows] = n_sys + np.arange(m)
                rep_x = np.concatenate([rep_x, x[new_rows]])
                rep_P = np.concatenate([rep_P, P[new_rows]])
                block = np.zeros((m, origin_names.size), dtype=bool)
                block[:, o] = True
                has_origin = np.concatenate([has_origin, block])
                new_ids = np.arange(self._next_system_id, self._next_system_id + m)
                system_ids = np.concatenate([system_ids, new_ids.astype(np.int64)])
                self._next_system_id += m
                n_sys += m
                misses[new_rows] = 0
        changed = np.zeros(n_sys, dtype=bool)
        if joined:
            changed[np.concatenate(joined)] = True

        order = np.argsort(key)
        self._keys = key[order]
        self._key_system = system_ids[member][order]
        self._key_misses = misses[order]
        return Association(member, system_ids, rep_x, rep_P, omega, changed)

    def _lookup(self, keys: StrArray) -> tuple[Int64Array, Int64Array]:
        """Last cycle's system id (−1: none) and break-gate misses of each key."""
        n = keys.shape[0]
        if self._keys.size == 0:
            return np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=np.int64)
        pos = np.searchsorted(self._keys, keys)
        pos = np.minimum(pos, self._keys.size - 1)
        found = self._keys[pos] == keys
        system = np.where(found, self._key_system[pos], -1)
        misses = np.where(found, self._key_misses[pos], 0)
        return system.astype(np.int64), misses.astype(np.int64)

    def _break_test(
        self,
        x: FloatArray,
        P: FloatArray,
        member: IntArray,
        misses: Int64Array,
        n_sys: int,
    ) -> tuple[IntArray, Int64Array]:
        """Leave-one-out test of every member of a multi-member system track.

        d²_k = (x_k − x̂_−k)' (P_k + P̂_−k)⁻¹ (x_k − x̂_−k), x̂_−k the CI fusion
        of the other members. A member failing the break gate `break_after`
        cycles in a row leaves (at most one per system track per cycle: the worst).
        """
        misses = misses.copy()
        rows = np.flatnonzero(member >= 0)
        if rows.size < 2:
            misses[:] = 0
            return member, misses
        size = np.bincount(member[rows], minlength=n_sys)
        rows = rows[size[member[rows]] >= 2]
        misses[np.setdiff1d(np.arange(member.size), rows)] = 0
        if rows.size == 0:
            return member, misses
        # Every ordered pair (k, j≠k) within a system track: the "others" of each k.
        order = rows[np.argsort(member[rows], kind="stable")]
        g = member[order]
        start = np.searchsorted(g, g, side="left")
        n_others = size[g] - 1
        k_pos = np.repeat(np.arange(order.size), n_others)
        offsets = np.arange(k_pos.size) - np.repeat(np.cumsum(n_others) - n_others, n_others)
        own = np.arange(order.size) - start
        j_pos = start[k_pos] + offsets + (offsets >= own[k_pos])
        x_o, P_o, _ = covariance_intersection(x[order[j_pos]], P[order[j_pos]], k_pos, order.size)
        d2 = pair_distance_sq(x[order], P[order], x_o, P_o, self._dims)
        fail = d2 > self._break
        misses[order] = np.where(fail, misses[order] + 1, 0)
        out = member.copy()
        ready = misses[order] >= self.settings.break_after
        if ready.any():
            cand = np.flatnonzero(ready)
            # The worst member of each system track leaves.
            pick = cand[np.lexsort((-d2[cand], g[cand]))]
            first = np.ones(pick.size, dtype=bool)
            first[1:] = g[pick[1:]] != g[pick[:-1]]
            leave = order[pick[first]]
            out[leave] = -1
            misses[leave] = 0
        return out, misses


def _one_per_origin(system: Int64Array, origin: IntArray) -> Int64Array:
    """A system track keeps at most one track per origin (the first); others are freed."""
    out = system.copy()
    rows = np.flatnonzero(system >= 0)
    if rows.size < 2:
        return out
    order = rows[np.lexsort((rows, origin[rows], system[rows]))]
    dup = np.zeros(order.size, dtype=bool)
    dup[1:] = (system[order[1:]] == system[order[:-1]]) & (origin[order[1:]] == origin[order[:-1]])
    out[order[dup]] = -1
    return out

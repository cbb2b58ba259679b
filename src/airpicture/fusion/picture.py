"""One node's system tracks: association with hysteresis, fusion, network track numbers.

`SystemPicture.update(time_s, sources)` takes every source track the node
holds at a fusion cycle — its own trackers' tracks and the latest tracks
received from each partner — and returns the fused system tracks. A cycle:

1. predict every source track to the fusion time;
2. keep last cycle's associations (a source track is known by its key) unless
   the track fails the break gate against the fusion of its fellow members on
   `break_after` cycles in a row (hysteresis: one bad cycle never splits);
3. associate the source tracks not yet in a system track, one origin (tracker)
   at a time, own trackers first: gate against every system track holding no
   track from that origin, assign by clustered GNN, start a new system track
   for each one left over;
4. fuse each system track's members by covariance intersection;
5. number the system tracks (`numbering`).

Arrays throughout; the only Python loops are over origins (a handful) and over
clusters of the assignment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from airpicture.fusion.association import (
    assign_pairs,
    gate_threshold,
    gated_pairs,
    pair_distance_sq,
)
from airpicture.fusion.intersection import covariance_intersection
from airpicture.fusion.numbering import (
    NumberAllocator,
    NumberBlocks,
    duplicate_losers,
    widest_claims,
)
from airpicture.fusion.predict import predict_tracks
from airpicture.fusion.settings import FusionSettings
from airpicture.tracking.view import UPDATE_KINDS

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
Int64Array = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
StrArray = NDArray[np.str_]


@dataclass(frozen=True)
class SourceTracks:
    """Tracks that go into a fusion cycle (batch axis first)."""

    #: Unique name of each source track ("USA.0/T00012"): how it is recognised next cycle.
    key: StrArray
    #: The tracker it comes from ("USA.0"); one origin never holds two tracks of one object.
    origin: StrArray
    #: From this node's own trackers.
    local: BoolArray
    time_s: FloatArray
    x: FloatArray
    P: FloatArray
    mode_probabilities: FloatArray
    #: The network number its reporter gave it (0: none) and when that number was given.
    claim_number: Int64Array
    claim_created_s: FloatArray
    ident: StrArray
    #: (K, 4) when each source track was last updated by any sensor and by each CAT062
    #: I290 technology (`tracking.view.UPDATE_KINDS`); −inf: never, or not told.
    updated_s: FloatArray
    #: (K,) Mode C pressure altitude (m, NaN none) and Mode 3/A ("" none) last reported.
    pressure_alt_m: FloatArray
    mode3a: StrArray

    def __len__(self) -> int:
        return int(self.key.shape[0])

    @classmethod
    def empty(cls, n_modes: int) -> SourceTracks:
        return cls(
            key=np.empty(0, dtype="U64"),
            origin=np.empty(0, dtype="U32"),
            local=np.empty(0, dtype=bool),
            time_s=np.empty(0),
            x=np.empty((0, 6)),
            P=np.empty((0, 6, 6)),
            mode_probabilities=np.empty((0, n_modes)),
            claim_number=np.empty(0, dtype=np.int64),
            claim_created_s=np.empty(0),
            ident=np.empty(0, dtype="U16"),
            updated_s=np.empty((0, len(UPDATE_KINDS))),
            pressure_alt_m=np.empty(0),
            mode3a=np.empty(0, dtype="U4"),
        )

    @classmethod
    def concat(cls, parts: Sequence[SourceTracks], n_modes: int) -> SourceTracks:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty(n_modes)
        return cls(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)}
        )

    def take(self, index: IntArray | BoolArray) -> SourceTracks:
        return SourceTracks(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


@dataclass(frozen=True)
class FusedTracks:
    """System tracks of one cycle, and which system track each source row went into."""

    time_s: float
    system_id: Int64Array
    number: Int64Array
    number_created_s: FloatArray
    x: FloatArray
    P: FloatArray
    mode_probabilities: FloatArray
    ident: StrArray
    #: (S, 4) the latest update of any member, per kind (`SourceTracks.updated_s`).
    updated_s: FloatArray
    #: (S,) Mode C and Mode 3/A of the heaviest member that has one (as `ident`).
    pressure_alt_m: FloatArray
    mode3a: StrArray
    #: (S, n_nations) the number to tell each nation for each system track (0: none),
    #: and when it was given: the best claim (`widest_claims`) among those whose
    #: provenance may go to that nation — its own trackers' first numbers for the
    #: tracks it holds, and partners' numbers — so that what a nation is told never
    #: depends on a number it may not hear (docs/security.md).
    told_number: Int64Array
    told_created_s: FloatArray
    #: (K,) system-track index of each source row, in the order they were given.
    member: IntArray
    #: (K,) covariance-intersection weight of each source row in its system track.
    weight: FloatArray

    def __len__(self) -> int:
        return int(self.system_id.shape[0])


class SystemPicture:
    """The stateful shell of one node's track-to-track fusion."""

    def __init__(
        self,
        nation: str,
        nations: Sequence[str],
        mode_names: Sequence[str],
        settings: FusionSettings | None = None,
        tracker_markings: Mapping[str, Sequence[BoolArray]] | None = None,
    ) -> None:
        """`tracker_markings`: every nation's trackers' markings
        (`ReleasePolicy.tracker_markings`), which split each block of numbers by
        provenance; by default one tracker per nation whose numbers go everywhere."""
        self.settings = settings or FusionSettings()
        self.nation = nation
        self.blocks = NumberBlocks.of(nations, self.settings.number_block_size, tracker_markings)
        own = self.blocks.markings[self.blocks.nations.index(nation)]
        self._allocators = [
            NumberAllocator(*self.blocks.sub_block(nation, k)) for k in range(own.shape[0])
        ]
        self._provisional = NumberAllocator(*self.blocks.provisional_block(nation))
        self.mode_names = tuple(mode_names)
        self._ballistic = (
            self.mode_names.index("ballistic") if "ballistic" in self.mode_names else None
        )
        s = self.settings
        self._dims = 6 if s.gate_state == "full" else 3
        self._gate = gate_threshold(s.gate_probability, self._dims)
        self._break = gate_threshold(s.break_gate_probability, self._dims)
        # Associations of the last cycle: source key → system id, and its break-gate misses.
        self._keys = np.empty(0, dtype="U64")
        self._key_system = np.empty(0, dtype=np.int64)
        self._key_misses = np.empty(0, dtype=np.int64)
        # Live system tracks: id → number, when numbered.
        self._system_ids = np.empty(0, dtype=np.int64)
        self._system_number = np.empty(0, dtype=np.int64)
        self._system_created = np.empty(0)
        self._next_system_id = 1
        # Each local track's first number (its tracker's), and when it was given: sorted keys.
        self._birth_keys = np.empty(0, dtype="U64")
        self._birth_number = np.empty(0, dtype=np.int64)
        self._birth_created = np.empty(0)
        #: Times a number was changed to a partner's older one (dual numbering resolved).
        self.renumbered = 0

    # ------------------------------------------------------------------ the cycle

    def update(
        self, time_s: float, src: SourceTracks, known_to: BoolArray | None = None
    ) -> FusedTracks:
        """One fusion cycle. `known_to` (K, n_nations): which nations may hold each source
        track's data (the marking of its sources); only those a nation may hold lend it
        their numbers (`FusedTracks.told_number`). Default: every nation, every track."""
        s = self.settings
        K = len(src)
        if K == 0:
            self._keys = np.empty(0, dtype="U64")
            self._key_system = self._key_misses = np.empty(0, dtype=np.int64)
            self._system_ids = self._system_number = np.empty(0, dtype=np.int64)
            self._system_created = np.empty(0)
            self._birth_keys = np.empty(0, dtype="U64")
            self._birth_number, self._birth_created = np.empty(0, dtype=np.int64), np.empty(0)
            return self._empty(time_s, len(self.mode_names))
        w_bal = (
            src.mode_probabilities[:, self._ballistic]
            if self._ballistic is not None
            else np.zeros(K)
        )
        x, P = predict_tracks(src.x, src.P, time_s - src.time_s, s.predict_q_m2_s3, w_bal)
        origin_names, origin = np.unique(src.origin, return_inverse=True)

        # 1. last cycle's associations
        prev_system, misses = self._lookup(src.key)
        prev_system = self._one_per_origin(prev_system, origin)
        systems = np.unique(prev_system[prev_system >= 0])
        member = np.full(K, -1, dtype=np.intp)
        assigned = prev_system >= 0
        member[assigned] = np.searchsorted(systems, prev_system[assigned])

        # 2. hysteresis: test each member against the fusion of its fellow members
        member, misses = self._break_test(x, P, member, misses, systems.size)
        alive = np.unique(member[member >= 0])
        remap = np.full(systems.size, -1, dtype=np.intp)
        remap[alive] = np.arange(alive.size)
        kept = member >= 0
        member[kept] = remap[member[kept]]
        system_ids = systems[alive].astype(np.int64)
        n_sys = alive.size
        # Each row's CI weight in its system track (1 alone).
        omega = np.ones(K)
        if n_sys:
            rows = np.flatnonzero(member >= 0)
            rep_x, rep_P, omega[rows] = covariance_intersection(
                x[rows], P[rows], member[rows], n_sys
            )
        else:
            rep_x, rep_P = np.empty((0, 6)), np.empty((0, 6, 6))
        # System tracks that gain a member below; the others are fused already.
        joined: list[NDArray[np.intp]] = []
        has_origin = np.zeros((n_sys, origin_names.size), dtype=bool)
        has_origin[member[member >= 0], origin[member >= 0]] = True

        # 3. new associations, one origin at a time: own trackers first, then partners
        local_origin = np.zeros(origin_names.size, dtype=bool)
        local_origin[origin[src.local]] = True
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

        # 4. fusion: the representatives are the fused estimates of every system track
        # whose members did not change; those that gained one are fused again.
        x_f, P_f = rep_x, rep_P
        changed = np.zeros(n_sys, dtype=bool)
        if joined:
            changed[np.concatenate(joined)] = True
        redo = changed[member]
        if redo.any():
            systems_redone = np.flatnonzero(changed)
            local = np.searchsorted(systems_redone, member[redo])
            x_f[systems_redone], P_f[systems_redone], omega[redo] = covariance_intersection(
                x[redo], P[redo], local, systems_redone.size
            )
        mu = np.zeros((n_sys, src.mode_probabilities.shape[1]))
        np.add.at(mu, member, omega[:, None] * src.mode_probabilities)
        mu /= np.maximum(mu.sum(axis=1, keepdims=True), 1e-300)
        ident = self._heaviest(src.ident, src.ident != "", member, omega, n_sys, "")
        mode3a = self._heaviest(src.mode3a, src.mode3a != "", member, omega, n_sys, "")
        alt = src.pressure_alt_m
        pressure_alt = self._heaviest(alt, np.isfinite(alt), member, omega, n_sys, np.nan)
        updated = np.full((n_sys, src.updated_s.shape[1]), -np.inf)
        np.maximum.at(updated, member, src.updated_s)

        # 5. numbers
        number, created = self._number(system_ids, member, src)
        told, told_created = self._told(member, src, n_sys, known_to)

        order = np.argsort(src.key)
        self._keys = src.key[order]
        self._key_system = system_ids[member][order]
        self._key_misses = misses[order]
        self._system_ids, self._system_number, self._system_created = system_ids, number, created
        return FusedTracks(
            time_s=time_s,
            system_id=system_ids,
            number=number,
            number_created_s=created,
            x=x_f,
            P=P_f,
            mode_probabilities=mu,
            ident=ident,
            updated_s=updated,
            pressure_alt_m=pressure_alt,
            mode3a=mode3a,
            told_number=told,
            told_created_s=told_created,
            member=member,
            weight=omega,
        )

    # ------------------------------------------------------------------ steps

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

    @staticmethod
    def _one_per_origin(system: Int64Array, origin: IntArray) -> Int64Array:
        """A system track keeps at most one track per origin (the first); others are freed."""
        out = system.copy()
        rows = np.flatnonzero(system >= 0)
        if rows.size < 2:
            return out
        order = rows[np.lexsort((rows, origin[rows], system[rows]))]
        dup = np.zeros(order.size, dtype=bool)
        dup[1:] = (system[order[1:]] == system[order[:-1]]) & (
            origin[order[1:]] == origin[order[:-1]]
        )
        out[order[dup]] = -1
        return out

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

    @staticmethod
    def _heaviest(
        values: NDArray[Any],
        has_value: BoolArray,
        member: IntArray,
        omega: FloatArray,
        n_sys: int,
        none: object,
    ) -> NDArray[Any]:
        """Each system track's value (an ADS-B identity, a Mode 3/A, a Mode C): that of its
        heaviest member that has one (`has_value`); `none` where no member has one."""
        out = np.full(n_sys, none, dtype=values.dtype)
        has = np.flatnonzero(has_value)
        if has.size:
            pick = has[np.lexsort((-omega[has], member[has]))]
            first = np.ones(pick.size, dtype=bool)
            first[1:] = member[pick[1:]] != member[pick[:-1]]
            out[member[pick[first]]] = values[pick[first]]
        return out

    def _number(
        self, system_ids: Int64Array, member: IntArray, src: SourceTracks
    ) -> tuple[Int64Array, FloatArray]:
        n_sys = system_ids.size
        # Last cycle's number of each system track (0: new).
        current = np.zeros(n_sys, dtype=np.int64)
        current_created = np.full(n_sys, np.inf)
        if self._system_ids.size:
            pos = np.minimum(
                np.searchsorted(self._system_ids, system_ids), self._system_ids.size - 1
            )
            known = self._system_ids[pos] == system_ids
            current[known] = self._system_number[pos[known]]
            current_created[known] = self._system_created[pos[known]]
        claim_system = np.concatenate([np.arange(n_sys), member])
        claim_number = np.concatenate([current, src.claim_number])
        claim_created = np.concatenate([current_created, src.claim_created_s])
        number, created, _ = widest_claims(
            claim_system, claim_number, claim_created, self.blocks.reach(claim_number), n_sys
        )
        self.renumbered += int(
            ((current > 0) & np.isfinite(current_created) & (number != current)).sum()
        )
        losers = duplicate_losers(number, current)
        if losers.any():
            winners = set(number[~losers & (number > 0)].tolist())
            revert = losers & (current > 0) & ~np.isin(current, list(winners))
            number[revert] = current[revert]
            created[revert] = current_created[revert]
            number[losers & ~revert] = 0
        fresh = number == 0
        if fresh.any():
            number[fresh] = self._provisional.allocate(int(fresh.sum()), number[~fresh])
            created[fresh] = np.inf
        # A system track with no claim (a partner's track told without a number) gets a
        # provisional number (created = ∞): shown in this node's picture only, it gives
        # way to any claim; a local track of it is numbered by its tracker when reported.
        return number, created

    def _told(
        self, member: IntArray, src: SourceTracks, n_sys: int, known_to: BoolArray | None
    ) -> tuple[Int64Array, FloatArray]:
        """Per system track and nation, the number to tell that nation (`FusedTracks`).

        The claims are each local member's first number and each partner member's
        number — not the system track's own, which may have been won by a number the
        nation may not hear — of the members whose data that nation may hold (a number
        it may hear, carried by a track of a sensor it may not hold, would say that the
        sensor saw the object). A local track's first number is remembered from the first
        cycle it is seen (the node numbers a new track from its tracker's sub-block)."""
        local = np.flatnonzero(src.local)
        keys = src.key[local]
        birth = src.claim_number[local].copy()
        birth_created = src.claim_created_s[local].copy()
        if self._birth_keys.size:
            pos = np.minimum(np.searchsorted(self._birth_keys, keys), self._birth_keys.size - 1)
            known = self._birth_keys[pos] == keys
            birth[known] = self._birth_number[pos[known]]
            birth_created[known] = self._birth_created[pos[known]]
        order = np.argsort(keys)
        keep = birth[order] > 0
        self._birth_keys = keys[order][keep]
        self._birth_number = birth[order][keep]
        self._birth_created = birth_created[order][keep]
        claim_number = src.claim_number.copy()
        claim_created = src.claim_created_s.copy()
        claim_number[local] = birth
        claim_created[local] = birth_created
        allowed = self.blocks.marking(claim_number)
        if known_to is not None:
            allowed &= known_to
        reach = allowed.sum(axis=1).astype(np.int64)
        n_nations = len(self.blocks.nations)
        told = np.zeros((n_sys, n_nations), dtype=np.int64)
        told_created = np.full((n_sys, n_nations), np.inf)
        for c in range(n_nations):
            ok = allowed[:, c]
            told[:, c], told_created[:, c], _ = widest_claims(
                member[ok], claim_number[ok], claim_created[ok], reach[ok], n_sys
            )
        return told, told_created

    def allocate(self, count: int, tracker: int = 0) -> Int64Array:
        """New numbers from the sub-block of this nation's tracker `tracker`, for its
        local tracks about to be reported.

        The node numbers a new local track when it first reports it, so that
        partners hear the number in the same cycle (and two nations that number
        one object at once resolve it before either picture shows the loser). Each
        tracker counts in its own sub-block, so the numbers one tracker gives never
        depend on what another tracker (of another marking) saw.
        """
        return self._allocators[tracker].allocate(count, self._system_number)

    def _empty(self, time_s: float, n_modes: int) -> FusedTracks:
        return FusedTracks(
            time_s=time_s,
            system_id=np.empty(0, dtype=np.int64),
            number=np.empty(0, dtype=np.int64),
            number_created_s=np.empty(0),
            x=np.empty((0, 6)),
            P=np.empty((0, 6, 6)),
            mode_probabilities=np.empty((0, n_modes)),
            ident=np.empty(0, dtype="U16"),
            updated_s=np.empty((0, len(UPDATE_KINDS))),
            pressure_alt_m=np.empty(0),
            mode3a=np.empty(0, dtype="U4"),
            told_number=np.empty((0, len(self.blocks.nations)), dtype=np.int64),
            told_created_s=np.empty((0, len(self.blocks.nations))),
            member=np.empty(0, dtype=np.intp),
            weight=np.empty(0),
        )

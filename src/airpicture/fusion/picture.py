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
   for each one left over (steps 2–3: `association.SystemAssociation`);
4. fuse each system track's members by covariance intersection;
5. number the system tracks (`numbering`), and choose the number to tell each
   partner among the tracks it may hold, associated on their own.

Arrays throughout; the only Python loops are over origins (a handful) and over
clusters of the assignment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from airpicture.fusion.association import SystemAssociation
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
    #: (K, n_nations) the number to tell each nation for each source row (0: none), and
    #: when it was given: the best claim (`widest_claims`) whose provenance may go to
    #: that nation — this node's trackers' first numbers for the tracks it holds, and
    #: partners' numbers — among the tracks it may hold that go with the row when only
    #: those are associated, so that what a nation is told never depends on a track or
    #: a number it may not hold (docs/security.md).
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
        self._association = SystemAssociation(self.settings)
        # Per partner nation (by index), the association of only the source tracks it may
        # hold, from which the numbers told to it are chosen (`_told`).
        self._told_associations = {
            c: SystemAssociation(self.settings)
            for c, n in enumerate(self.blocks.nations)
            if n != nation
        }
        # Live system tracks: id → number, when numbered.
        self._system_ids = np.empty(0, dtype=np.int64)
        self._system_number = np.empty(0, dtype=np.int64)
        self._system_created = np.empty(0)
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
            for association in (self._association, *self._told_associations.values()):
                association.forget()
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

        # 1–3. associations kept, broken and made (`SystemAssociation`)
        a = self._association.associate(src.key, src.origin, src.local, x, P)
        member, system_ids, n_sys, omega = a.member, a.system_ids, len(a), a.weight

        # 4. fusion: the representatives are the fused estimates of every system track
        # whose members did not change; those that gained one are fused again.
        x_f, P_f = a.x, a.P
        redo = a.joined[member]
        if redo.any():
            systems_redone = np.flatnonzero(a.joined)
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
        told, told_created = self._told(member, n_sys, src, x, P, known_to)
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
        self,
        member: IntArray,
        n_sys: int,
        src: SourceTracks,
        x: FloatArray,
        P: FloatArray,
        known_to: BoolArray | None,
    ) -> tuple[Int64Array, FloatArray]:
        """Per source row and nation, the number to tell that nation (`FusedTracks`).

        For a partner nation, the source tracks it may hold are associated on their own
        (`SystemAssociation`, its state kept from cycle to cycle), as if nothing else
        existed: which tracks go together in this node's own picture depends on tracks
        that nation may not hold, and so would the number chosen among them. Each of
        those groups is told the best claim (`widest_claims`) among its members' whose
        number may go to that nation: each local member's first number and each
        partner member's number — not the system track's own, which may have been won by
        a number the nation may not hear. A local track's first number is remembered
        from the first cycle it is seen (the node numbers a new track from its tracker's
        sub-block). This nation holds everything: its column is its own picture's."""
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
        K, n_nations = len(src), len(self.blocks.nations)
        told = np.zeros((K, n_nations), dtype=np.int64)
        told_created = np.full((K, n_nations), np.inf)
        own = self.blocks.nations.index(self.nation)
        for c in range(n_nations):
            if known_to is None or c == own:
                rows, group, n_groups = np.arange(K), member, n_sys
            else:
                rows = np.flatnonzero(known_to[:, c])
                grouped = self._told_associations[c].associate(
                    src.key[rows], src.origin[rows], src.local[rows], x[rows], P[rows]
                )
                group, n_groups = grouped.member, len(grouped)
            ok = allowed[rows, c]
            number, created, _ = widest_claims(
                group[ok], claim_number[rows][ok], claim_created[rows][ok], reach[rows][ok],
                n_groups,
            )  # fmt: skip
            told[rows, c], told_created[rows, c] = number[group], created[group]
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

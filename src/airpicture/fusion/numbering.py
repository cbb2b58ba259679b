"""Network track numbers: one number per object, the same in every nation, no central authority.

* **Blocks.** As in Link 16, each nation numbers new objects from its own block
  (nations in sorted order, `block_size` numbers each: the first nation has
  1 … block_size − 1, the next block_size … 2·block_size − 1, …), so two
  nations never hand out the same number for different objects. A block is split
  into one sub-block per tracker of its nation (one tracker per track marking),
  so a number's value says its provenance: where it may travel (`NumberBlocks`).
* **Who numbers.** Each tracker numbers its own new tracks from its sub-block, when
  the node first reports them; a system track takes one of its members' numbers,
  and everyone who associates a track with the object adopts that number.
* **Which number wins.** A system track's claims are its members' numbers and its
  own of last cycle. The number that more nations may hear wins, then the *oldest*
  — the smallest (time numbered, number) pair (`widest_claims`). The order is
  total and a number's reach fixed, so nations converge on one number without
  negotiating, a number only ever changes to a better one (no flip-flop), and a
  number that one partner may not pass on never displaces one every nation may
  hear. It travels only where its provenance may: a number from a US sensor's
  track may go to Japan even when the US system track also holds a Korean track.
* **Uniqueness.** If two of a node's system tracks would carry one number (a
  partner's track it did not associate with either), the track that already
  held it keeps it; the other keeps its own previous number, or takes a new one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.intp]
Int64Array = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class NumberBlocks:
    """Each nation's block of network track numbers, split by provenance.

    A block is split into one sub-block per tracker of its nation (the trackers are
    common knowledge: one per distinct track marking among the sensors whose plots it
    holds, `ReleasePolicy.tracker_groups`), and a last sub-block for provisional
    numbers, which are never told to anyone. A number's value therefore says its
    provenance — the marking of the tracker that first gave it — and so where it may
    travel (`marking`), with no message field: rule 2 of docs/design.md, "a number
    travels where its provenance may".
    """

    nations: tuple[str, ...]
    block_size: int
    #: Per nation (in `nations` order), (k, n_nations): the marking of each of its
    #: trackers, i.e. where the numbers of each of its sub-blocks may go.
    markings: tuple[BoolArray, ...]

    @classmethod
    def of(
        cls,
        nations: Sequence[str],
        block_size: int,
        markings: Mapping[str, Sequence[BoolArray]] | None = None,
    ) -> NumberBlocks:
        """`markings`: each nation's trackers' markings (columns: `nations` sorted); by
        default each nation has one tracker whose numbers may go to every nation."""
        ordered = tuple(sorted(nations))
        n = len(ordered)
        rows = []
        for nation in ordered:
            given = None if markings is None else markings.get(nation)
            table = np.ones((1, n), dtype=bool) if not given else np.stack(given).astype(bool)
            if table.shape[1] != n:
                raise ValueError(f"{nation}'s tracker markings have {table.shape[1]} columns")
            if block_size // (table.shape[0] + 1) < 1:
                raise ValueError(
                    f"number_block_size {block_size} is too small for {nation}'s "
                    f"{table.shape[0]} trackers"
                )
            rows.append(table)
        return cls(ordered, block_size, tuple(rows))

    def block(self, nation: str) -> tuple[int, int]:
        """(first, last) number of the nation's block; 0 is never a number."""
        i = self.nations.index(nation)
        return max(1, i * self.block_size), (i + 1) * self.block_size - 1

    def _sub_size(self, i: int) -> int:
        return self.block_size // (int(self.markings[i].shape[0]) + 1)

    def sub_block(self, nation: str, tracker: int) -> tuple[int, int]:
        """(first, last) number of the sub-block of `nation`'s tracker `tracker`."""
        i = self.nations.index(nation)
        if not 0 <= tracker < self.markings[i].shape[0]:
            raise ValueError(f"{nation} has no tracker {tracker}")
        size = self._sub_size(i)
        first = i * self.block_size + tracker * size
        return max(1, first), first + size - 1

    def provisional_block(self, nation: str) -> tuple[int, int]:
        """(first, last) of `nation`'s provisional numbers: shown in its own picture only."""
        i = self.nations.index(nation)
        size = self._sub_size(i)
        first = i * self.block_size + self.markings[i].shape[0] * size
        return first, first + size - 1

    def owner(self, number: Int64Array) -> Int64Array:
        """Index (into `nations`) of the nation whose block holds each number."""
        result: Int64Array = np.asarray(number, dtype=np.int64) // self.block_size
        return result

    def marking(self, number: Int64Array) -> BoolArray:
        """(N, n_nations) where each number may go: the marking of the tracker whose
        sub-block holds it; nowhere for 0, a provisional number or one in no block."""
        number = np.asarray(number, dtype=np.int64)
        n_nations = len(self.nations)
        out = np.zeros((number.size, n_nations), dtype=bool)
        owner = self.owner(number)
        valid = (number > 0) & (owner < n_nations)
        if not valid.any():
            return out
        i = owner[valid]
        trackers = np.array([m.shape[0] for m in self.markings], dtype=np.int64)
        size = self.block_size // (trackers + 1)
        sub = (number[valid] - i * self.block_size) // size[i]
        inside = sub < trackers[i]
        table = np.concatenate(self.markings)
        offset = np.concatenate([[0], np.cumsum(trackers)[:-1]])
        rows = np.flatnonzero(valid)[inside]
        out[rows] = table[offset[i[inside]] + sub[inside]]
        return out

    def reach(self, number: Int64Array) -> Int64Array:
        """How many nations each number may go to (`marking`)."""
        result: Int64Array = self.marking(number).sum(axis=1).astype(np.int64)
        return result


def format_number(number: Int64Array) -> NDArray[np.object_]:
    """Track numbers as picture `track_id` strings (five digits, zero-padded)."""
    out = np.empty(len(number), dtype=object)
    out[:] = [f"{int(n):05d}" for n in number]
    return out


@dataclass
class NumberAllocator:
    """Hands out the next free numbers of one nation's block, wrapping round past numbers in use."""

    first: int
    last: int
    _next: int = field(init=False)

    def __post_init__(self) -> None:
        self._next = self.first

    def allocate(self, count: int, in_use: Int64Array) -> Int64Array:
        size = self.last - self.first + 1
        if count + np.unique(in_use).size > size:
            raise RuntimeError(
                f"track number block {self.first}-{self.last} is exhausted: raise "
                "FusionSettings.number_block_size"
            )
        used = set(np.asarray(in_use, dtype=np.int64).tolist())
        out: list[int] = []
        while len(out) < count:
            n = self._next
            self._next = self.first if self._next >= self.last else self._next + 1
            if n not in used:
                out.append(n)
                used.add(n)
        return np.array(out, dtype=np.int64)


def widest_claims(
    system: IntArray,
    claim_number: Int64Array,
    claim_created_s: FloatArray,
    claim_reach: Int64Array,
    n_systems: int,
) -> tuple[Int64Array, FloatArray, Int64Array]:
    """Per system track, the claim that the most nations may hear, then the oldest:
    max over its claims of (reach, −created, −number). Also returns the winner's reach.

    `claim_reach` (C,): how many nations the number's provenance may go to (the
    marking of the sources of the track that first carried it). Under release rules
    that are not shared, "oldest wins" can settle a nation on a number it may not pass
    on (a partner's number from sources released to it alone), so that a third nation,
    which exchanges tracks with it both ways, keeps its own: they disagree for ever.
    Preferring the number most nations may hear lets every pair that can agree on a
    number (docs/design.md, "Attainable commonality") converge on the same one; the
    order is total and a claim's reach fixed, so a number still only ever changes to a
    better one (no flip-flop).
    """
    number = np.zeros(n_systems, dtype=np.int64)
    created = np.full(n_systems, np.inf)
    reach = np.zeros(n_systems, dtype=np.int64)
    valid = claim_number > 0
    if not valid.any():
        return number, created, reach
    s, n, c, r = system[valid], claim_number[valid], claim_created_s[valid], claim_reach[valid]
    order = np.lexsort((n, c, -r, s))
    s, n, c, r = s[order], n[order], c[order], r[order]
    first = np.ones(s.size, dtype=bool)
    first[1:] = s[1:] != s[:-1]
    number[s[first]] = n[first]
    created[s[first]] = c[first]
    reach[s[first]] = r[first]
    return number, created, reach


def duplicate_losers(number: Int64Array, previous: Int64Array) -> NDArray[np.bool_]:
    """Which system tracks must give up their number because another holds it too.

    Among the tracks sharing a number the one that held it before keeps it (the
    first such one, in index order); if none did, the first in index order.
    """
    n = number.size
    loser = np.zeros(n, dtype=bool)
    has = number > 0
    if has.sum() < 2:
        return loser
    idx = np.flatnonzero(has)
    # Winner first: previous holders before newcomers, then index order.
    held_before = previous[idx] == number[idx]
    order = idx[np.lexsort((idx, ~held_before, number[idx]))]
    same = np.zeros(order.size, dtype=bool)
    same[1:] = number[order[1:]] == number[order[:-1]]
    loser[order[same]] = True
    return loser

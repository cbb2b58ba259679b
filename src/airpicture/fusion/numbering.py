"""Network track numbers: one number per object, the same in every nation, no central authority.

* **Blocks.** As in Link 16, each nation numbers new objects from its own block
  (nations in sorted order, `block_size` numbers each: the first nation has
  1 … block_size − 1, the next block_size … 2·block_size − 1, …), so two
  nations never hand out the same number for different objects.
* **Who numbers.** A node numbers an object only when none of the tracks it
  fused for it carries a number from a partner: the first nation to hold the
  object numbers it; everyone who associates a track with it adopts that number.
* **Dual numbering.** Two nations that number one object before hearing of each
  other both see both numbers once their tracks are exchanged. Each keeps the
  *oldest* number — the smallest (time numbered, number) pair — so both
  converge on the same one without negotiating, and a number only ever changes
  to an older one (no flip-flop).
* **Uniqueness.** If two of a node's system tracks would carry one number (a
  partner's track it did not associate with either), the track that already
  held it keeps it; the other keeps its own previous number, or takes a new one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.intp]
Int64Array = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class NumberBlocks:
    """Each nation's block of network track numbers."""

    nations: tuple[str, ...]
    block_size: int

    @classmethod
    def of(cls, nations: Sequence[str], block_size: int) -> NumberBlocks:
        return cls(tuple(sorted(nations)), block_size)

    def block(self, nation: str) -> tuple[int, int]:
        """(first, last) number of the nation's block; 0 is never a number."""
        i = self.nations.index(nation)
        return max(1, i * self.block_size), (i + 1) * self.block_size - 1

    def owner(self, number: Int64Array) -> Int64Array:
        """Index (into `nations`) of the nation whose block holds each number."""
        result: Int64Array = np.asarray(number, dtype=np.int64) // self.block_size
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


def oldest_claims(
    system: IntArray,
    claim_number: Int64Array,
    claim_created_s: FloatArray,
    n_systems: int,
) -> tuple[Int64Array, FloatArray]:
    """Per system track, the oldest claimed number: min over its claims of (created, number).

    `system` (C,) says which system track each claim is for; 0 = none.
    """
    number = np.zeros(n_systems, dtype=np.int64)
    created = np.full(n_systems, np.inf)
    valid = claim_number > 0
    if not valid.any():
        return number, created
    s, n, c = system[valid], claim_number[valid], claim_created_s[valid]
    order = np.lexsort((n, c, s))
    s, n, c = s[order], n[order], c[order]
    first = np.ones(s.size, dtype=bool)
    first[1:] = s[1:] != s[:-1]
    number[s[first]] = n[first]
    created[s[first]] = c[first]
    return number, created


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
    better one (no flip-flop). Not yet wired: see docs/design.md.
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

"""Commonality: does every nation that could hold a target hold it as the same track?

The alliance exists so that every nation sees one picture. For a truth j at a
snapshot t, a nation V *could hold* j when j is eligible for V (a sensor whose
data V receives could detect it). V *holds* j under number n when V's track n
is associated with j at t (the SIAP association, module `association`).

    pair (A, B), at (j, t) eligible for both:
        common ⇔ ∃ n : A holds j under n, B holds j under n,
                       |x_A,n − x_B,n| ≤ max_separation_m
    all nations, at (j, t) eligible for ≥ 2 nations E(j, t):
        common ⇔ ∃ n : every V ∈ E(j, t) holds j under n,
                       and every pair of those tracks is within max_separation_m

    commonality = (instances that are common) / (instances counted)

Each pair's misses are split into: not held by one of the two, held under
different numbers, same number but further apart than `max_separation_m`.

**Attainable commonality** (`attainable_commonality`). A network number travels
only with a track, and a track only where all its sources may go. So two nations
A and B can call truth j by one number at t only if some nation holds a track of j
whose sources may go to both — i.e. some sensor that can see j at t releases its
tracks to A and to B (its owner counts as a receiver of its own tracks): that
nation numbers j from that sensor's track alone and tells both. Where no such
sensor exists, any shared number would reveal to one of them that a source it may
not hold saw the object, so A and B are bound to disagree however well numbering
works:

    attainable(A, B) = #{(j, t) eligible for both : ∃ s ∈ detectable_by(j, t),
                          track_marking[s, A] ∧ track_marking[s, B]} / #{eligible for both}

Measured ≤ attainable up to tracking misses; the gap is what numbering (and
association) loses. `held_commonality` is the measured value over the instances
both nations hold, the figure a pair that exchanges tracks both ways should bring
to 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from numpy.typing import NDArray

from airpicture.metrics.run_data import TrackRows, TruthRows
from airpicture.metrics.siap import HeldRows

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class CommonalitySettings:
    """`max_separation_m` default 5 km: half the 5 NM (9.26 km) en-route separation
    of airliners, so two nations' tracks that close with the same number are
    unambiguously reports of one object, while the independent errors of two
    national trackers (hundreds of metres to a few km at long range) stay inside it.
    """

    max_separation_m: float = 5_000.0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.max_separation_m) and self.max_separation_m > 0):
            raise ValueError(
                f"commonality distance must be a positive distance, not {self.max_separation_m}"
            )


@dataclass(frozen=True)
class PairCommonality:
    nation_a: str
    nation_b: str
    eligible: int  # (truth, snapshot) instances eligible for both
    common: int
    not_held: int  # one or both nations hold no track on the truth
    different_numbers: int  # both hold it, no shared track number
    too_far_apart: int  # a shared number, but the tracks are apart by more than the limit

    @property
    def value(self) -> float | None:
        return None if self.eligible == 0 else self.common / self.eligible


@dataclass(frozen=True, eq=False)
class CommonalityResult:
    nations: tuple[str, ...]
    pairs: tuple[PairCommonality, ...]
    eligible: int  # instances eligible for ≥ 2 nations
    common: int
    eligible_per_step: IntArray
    common_per_step: IntArray
    common_rows: BoolArray  # per truth row: common over all nations (False where not counted)
    counted_rows: BoolArray  # per truth row: eligible for ≥ 2 nations

    @property
    def value(self) -> float | None:
        return None if self.eligible == 0 else self.common / self.eligible

    def matrix(self) -> list[list[float | None]]:
        """Symmetric nation × nation commonality; the diagonal is None."""
        index = {n: i for i, n in enumerate(self.nations)}
        out: list[list[float | None]] = [[None] * len(self.nations) for _ in self.nations]
        for pair in self.pairs:
            a, b = index[pair.nation_a], index[pair.nation_b]
            out[a][b] = out[b][a] = pair.value
        return out


def commonality(
    nations: Sequence[str],
    eligible_by_nation: Mapping[str, BoolArray],
    held_by_nation: Mapping[str, HeldRows],
    tracks_by_nation: Mapping[str, TrackRows],
    truth: TruthRows,
    n_steps: int,
    settings: CommonalitySettings,
) -> CommonalityResult:
    """Commonality per pair of `nations` and over all of them (module docstring)."""
    n_rows = truth.size
    all_ids = [tracks_by_nation[v].track_ids.astype(str) for v in nations]
    id_names = np.unique(np.concatenate(all_ids)) if all_ids else np.empty(0, dtype=str)
    n_ids = max(int(id_names.size), 1)

    nation_keys: dict[str, IntArray] = {}
    nation_pos: dict[str, FloatArray] = {}
    held_any: dict[str, BoolArray] = {}
    for v, ids in zip(nations, all_ids, strict=True):
        held = held_by_nation[v]
        tracks = tracks_by_nation[v]
        number = np.searchsorted(id_names, ids)[held.track] if held.track.size else held.track
        keys, first = np.unique(held.truth_row * n_ids + number, return_index=True)
        nation_keys[v] = keys
        nation_pos[v] = tracks.position_ecef_m[held.track_row[first]]
        held_any[v] = np.zeros(n_rows, dtype=bool)
        held_any[v][held.truth_row] = True

    keys = (
        np.unique(np.concatenate([nation_keys[v] for v in nations]))
        if nations
        else np.empty(0, np.int64)
    )
    key_row = keys // n_ids
    has: dict[str, BoolArray] = {}
    pos: dict[str, FloatArray] = {}
    for v in nations:
        where = np.searchsorted(keys, nation_keys[v])
        has[v] = np.zeros(keys.size, dtype=bool)
        has[v][where] = True
        pos[v] = np.full((keys.size, 3), np.nan)
        pos[v][where] = nation_pos[v]

    pairs: list[PairCommonality] = []
    key_ok = np.ones(keys.size, dtype=bool)
    for v in nations:
        # every nation that could hold the truth holds it under this number
        key_ok &= ~eligible_by_nation[v][key_row] | has[v]
    for a, b in combinations(nations, 2):
        both_rows = eligible_by_nation[a] & eligible_by_nation[b]
        shared = has[a] & has[b]
        with np.errstate(invalid="ignore"):
            # |x_A,n − x_B,n| ≤ max_separation_m
            close = shared & (np.linalg.norm(pos[a] - pos[b], axis=-1) <= settings.max_separation_m)
        key_ok &= ~(eligible_by_nation[a][key_row] & eligible_by_nation[b][key_row]) | close
        common_rows = np.zeros(n_rows, dtype=bool)
        common_rows[key_row[close]] = True
        shared_rows = np.zeros(n_rows, dtype=bool)
        shared_rows[key_row[shared]] = True
        held_both = held_any[a] & held_any[b]
        pairs.append(
            PairCommonality(
                nation_a=a,
                nation_b=b,
                eligible=int(both_rows.sum()),
                common=int((both_rows & common_rows).sum()),
                not_held=int((both_rows & ~held_both).sum()),
                different_numbers=int((both_rows & held_both & ~shared_rows).sum()),
                too_far_apart=int((both_rows & shared_rows & ~common_rows).sum()),
            )
        )

    n_eligible = np.zeros(n_rows, dtype=np.int64)
    for v in nations:
        n_eligible += eligible_by_nation[v]
    counted = n_eligible >= 2
    common_all = np.zeros(n_rows, dtype=bool)
    common_all[key_row[key_ok]] = True
    common_all &= counted
    return CommonalityResult(
        nations=tuple(nations),
        pairs=tuple(pairs),
        eligible=int(counted.sum()),
        common=int(common_all.sum()),
        eligible_per_step=np.bincount(truth.step[counted], minlength=n_steps).astype(np.int64),
        common_per_step=np.bincount(truth.step[common_all], minlength=n_steps).astype(np.int64),
        common_rows=common_all,
        counted_rows=counted,
    )


def sensor_rows(detectable_by: NDArray[np.generic], sensor_ids: Sequence[str]) -> BoolArray:
    """`(N, S)`: does sensor s appear in truth row r's `detectable_by` list?"""
    index = {sid: k for k, sid in enumerate(sensor_ids)}
    out = np.zeros((len(detectable_by), len(sensor_ids)), dtype=bool)
    for r, sensors in enumerate(detectable_by):
        for sid in sensors if sensors is not None else ():
            k = index.get(str(sid))
            if k is not None:
                out[r, k] = True
    return out


@dataclass(frozen=True)
class PairBound:
    """What the release rules allow a pair, beside what it measured."""

    nation_a: str
    nation_b: str
    eligible: int
    attainable: int
    measured: int
    held_by_both: int

    @property
    def attainable_value(self) -> float | None:
        return None if self.eligible == 0 else self.attainable / self.eligible

    @property
    def measured_value(self) -> float | None:
        return None if self.eligible == 0 else self.measured / self.eligible

    @property
    def held_value(self) -> float | None:
        """Measured commonality over the instances both nations hold."""
        return None if self.held_by_both == 0 else self.measured / self.held_by_both


def attainable_commonality(
    result: CommonalityResult,
    eligible_by_nation: Mapping[str, BoolArray],
    detectable: BoolArray,
    track_marking: BoolArray,
    marking_nations: Sequence[str],
) -> tuple[PairBound, ...]:
    """Per pair of `result`'s nations: eligible, attainable (module docstring), measured
    and held-by-both instances. `detectable` `(N, S)` from `sensor_rows`; `track_marking`
    `(S, nations)`: may nation n hold tracks from sensor s (columns `marking_nations`)."""
    col = {n: i for i, n in enumerate(marking_nations)}
    out: list[PairBound] = []
    for pair in result.pairs:
        a, b = pair.nation_a, pair.nation_b
        both = eligible_by_nation[a] & eligible_by_nation[b]
        shareable = track_marking[:, col[a]] & track_marking[:, col[b]]
        reachable = (detectable & shareable[None, :]).any(axis=1)
        out.append(
            PairBound(
                nation_a=a,
                nation_b=b,
                eligible=int(both.sum()),
                attainable=int((both & reachable).sum()),
                measured=pair.common,
                held_by_both=pair.eligible - pair.not_held,
            )
        )
    return tuple(out)

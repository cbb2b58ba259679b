"""Track-to-truth association over time, with hysteresis, as Stone Soup's `TrackToTruth`.

At every snapshot each track is compared with the truths that exist then; its
candidate is the nearest truth closer than `threshold_m` (3D ECEF distance).
A track becomes associated with a truth after `consec_pairs_confirm`
consecutive snapshots with that same candidate, and the association ends after
`consec_misses_end` consecutive snapshots where the candidate is another truth
or none. An association covers the snapshots from the first of its confirming
run to its last hit. One track holds at most one truth at a time; one truth may
be held by several tracks (that is SIAP ambiguity).

This reproduces `stonesoup.dataassociator.tracktotrack.TrackToTruth` (1.9.1)
step for step, including three behaviours of its state machine that are worth
knowing (docs/metrics.md, "Differences from Stone Soup", explains why they are
kept): the miss counter is not reset when a new association is confirmed, so a
miss right after a re-confirmation can end it; a competing candidate's run
length is not reset by a hit on the current truth; and when an association ends
on a miss by nobody (no candidate), the candidate slot holds "no truth".

The state machine runs over snapshots (a loop of length n_steps) and acts on
every track present at that snapshot at once: array operations, no loop over
tracks or track × truth pairs. Nearest truths come from a k-d tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

NONE = -1  # "no truth" / "no snapshot" in the integer state arrays


@dataclass(frozen=True)
class AssociationSettings:
    """Hysteresis of the track-to-truth association (Stone Soup `TrackToTruth` fields).

    `threshold_m` default 10 km: the same distance as the GOSPA cut-off, so a
    track SIAP counts as holding a truth is also one GOSPA would pair with it;
    confirm 3 / end 2 are Stone Soup's defaults.
    """

    threshold_m: float = 10_000.0
    consec_pairs_confirm: int = 3
    consec_misses_end: int = 2

    def __post_init__(self) -> None:
        if not (np.isfinite(self.threshold_m) and self.threshold_m > 0):
            raise ValueError(
                f"association threshold must be a positive distance, not {self.threshold_m}"
            )
        if self.consec_pairs_confirm < 1 or self.consec_misses_end < 1:
            raise ValueError("consec_pairs_confirm and consec_misses_end must be at least 1")


@dataclass(frozen=True, eq=False)
class Associations:
    """Association intervals: track `track[k]` held truth `truth[k]` over snapshots
    `start_step[k] … end_step[k]` (inclusive)."""

    track: IntArray
    truth: IntArray
    start_step: IntArray
    end_step: IntArray

    @property
    def size(self) -> int:
        return int(self.track.size)


class TrackTruthAssociator(Protocol):
    """The role: decide which truth each track holds over time."""

    def associate(
        self,
        track_step: IntArray,
        track: IntArray,
        track_xyz_m: FloatArray,
        truth_step: IntArray,
        truth: IntArray,
        truth_xyz_m: FloatArray,
        n_steps: int,
    ) -> Associations: ...


def nearest_within(
    track_xyz_m: FloatArray, truth_xyz_m: FloatArray, threshold_m: float
) -> IntArray:
    """Index of the nearest truth strictly closer than `threshold_m` to each track, or −1."""
    if truth_xyz_m.shape[0] == 0 or track_xyz_m.shape[0] == 0:
        return np.full(track_xyz_m.shape[0], NONE, dtype=np.int64)
    distance, index = cKDTree(truth_xyz_m).query(track_xyz_m, k=1, distance_upper_bound=threshold_m)
    found = np.asarray(distance) < threshold_m
    return np.where(found, np.asarray(index, dtype=np.int64), NONE)


@dataclass(frozen=True)
class HysteresisAssociator:
    """`TrackToTruth`-style association (see module docstring)."""

    settings: AssociationSettings = AssociationSettings()

    def associate(
        self,
        track_step: IntArray,
        track: IntArray,
        track_xyz_m: FloatArray,
        truth_step: IntArray,
        truth: IntArray,
        truth_xyz_m: FloatArray,
        n_steps: int,
    ) -> Associations:
        return associate_over_time(
            track_step, track, track_xyz_m, truth_step, truth, truth_xyz_m, n_steps, self.settings
        )


def associate_over_time(
    track_step: IntArray,
    track: IntArray,
    track_xyz_m: FloatArray,
    truth_step: IntArray,
    truth: IntArray,
    truth_xyz_m: FloatArray,
    n_steps: int,
    settings: AssociationSettings,
) -> Associations:
    """Run the hysteresis state machine over snapshots 0 … n_steps-1 (see module docstring).

    Rows are (snapshot, entity index, ECEF position); an entity has at most one
    row per snapshot.
    """
    confirm, misses_end = settings.consec_pairs_confirm, settings.consec_misses_end
    n_tracks = int(track.max()) + 1 if track.size else 0
    current = np.full(n_tracks, NONE, dtype=np.int64)
    potential = np.full(n_tracks, NONE, dtype=np.int64)
    n_potential = np.zeros(n_tracks, dtype=np.int64)
    n_failures = np.zeros(n_tracks, dtype=np.int64)
    potential_start = np.full(n_tracks, NONE, dtype=np.int64)
    start = np.full(n_tracks, NONE, dtype=np.int64)
    end = np.full(n_tracks, NONE, dtype=np.int64)
    out_track: list[IntArray] = []
    out_truth: list[IntArray] = []
    out_start: list[IntArray] = []
    out_end: list[IntArray] = []

    track_order = np.argsort(track_step, kind="stable")
    truth_order = np.argsort(truth_step, kind="stable")
    track_bounds = np.searchsorted(track_step[track_order], np.arange(n_steps + 1))
    truth_bounds = np.searchsorted(truth_step[truth_order], np.arange(n_steps + 1))

    for k in range(n_steps):
        track_rows = track_order[track_bounds[k] : track_bounds[k + 1]]
        if track_rows.size == 0:
            continue
        truth_rows = truth_order[truth_bounds[k] : truth_bounds[k + 1]]
        nearest = nearest_within(
            track_xyz_m[track_rows], truth_xyz_m[truth_rows], settings.threshold_m
        )
        if truth_rows.size:
            m = np.where(nearest >= 0, truth[truth_rows][np.maximum(nearest, 0)], NONE)
        else:
            m = nearest  # all −1: no truth exists at this snapshot
        ids = track[track_rows]

        cur, pot, npot = current[ids], potential[ids], n_potential[ids]
        nfail, pstart, st, en = n_failures[ids], potential_start[ids], start[ids], end[ids]

        # --- no current truth: grow or restart the candidate run, confirm when long enough
        idle = cur == NONE
        no_candidate = idle & (m == NONE)
        new_candidate = idle & (m != NONE) & (pot != m)
        same_candidate = idle & (m != NONE) & (pot == m)
        npot[no_candidate] = 0
        pot[no_candidate] = NONE
        pstart[no_candidate] = NONE
        pot[new_candidate] = m[new_candidate]
        npot[new_candidate] = 1
        pstart[new_candidate] = k
        npot[same_candidate] += 1
        confirmed = idle & (npot >= confirm)
        cur[confirmed] = m[confirmed]
        st[confirmed] = pstart[confirmed]
        en[confirmed] = k
        pstart[confirmed] = NONE
        pot[confirmed] = NONE
        npot[confirmed] = 0

        # --- a current truth: a hit extends it, misses count towards ending it
        held = ~idle
        hit = held & (m == cur)
        nfail[hit] = 0
        en[hit] = k
        miss = held & (m != cur)
        nfail[miss] += 1
        rival_again = miss & (m != NONE) & (m == pot)
        npot[rival_again] += 1
        rival_new = miss & ~rival_again
        pot[rival_new] = m[rival_new]
        pstart[rival_new] = k
        npot[rival_new] = 1
        ended = held & (nfail >= misses_end)
        if np.any(ended):
            out_track.append(ids[ended])
            out_truth.append(cur[ended].copy())
            out_start.append(st[ended].copy())
            out_end.append(en[ended].copy())
            switch = ended & (npot >= confirm)
            cur[switch] = pot[switch]
            st[switch] = pstart[switch]
            en[switch] = k
            drop = ended & ~switch
            cur[drop] = NONE
            st[drop] = NONE
            en[drop] = NONE

        current[ids], potential[ids], n_potential[ids] = cur, pot, npot
        n_failures[ids], potential_start[ids], start[ids], end[ids] = nfail, pstart, st, en

    # Close the associations still open when the tracks end.
    still_open = np.flatnonzero(current != NONE)
    out_track.append(still_open)
    out_truth.append(current[still_open])
    out_start.append(start[still_open])
    out_end.append(end[still_open])
    return Associations(
        np.concatenate(out_track).astype(np.int64),
        np.concatenate(out_truth).astype(np.int64),
        np.concatenate(out_start).astype(np.int64),
        np.concatenate(out_end).astype(np.int64),
    )

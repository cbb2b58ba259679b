"""SIAP measures (Votruba et al. 2001) as Stone Soup's `SIAPMetrics` / `IDSIAPMetrics` compute them.

Symbols, per snapshot t (Stone Soup's names):

    J(t)   truths that count (eligible for the viewer)       N(t)   tracks
    JT(t)  eligible truths held by ≥ 1 associated track       NA(t)  tracks associated with a truth
    JU, JC, JI  held eligible truths whose tracks all have no identity / all the
           right one / all a wrong one; JA = JT − JU − JC − JI (mixed: ambiguous)

    completeness   C  = Σ JT / Σ J
    ambiguity      A  = Σ NA_e / Σ JT          (NA_e: tracks on eligible truths)
    spuriousness   S  = Σ (N − NA) / Σ N
    accuracy       PA = Σ_t Σ_assoc |x_track − x_truth| / Σ NA   (VA likewise, velocities)
    change rate    R  = Σ_j (NU_j − 1) / Σ_j TT_j   (NU_j: fewest tracks covering truth j,
                                                     TT_j: time truth j is held)
    longest seg.   LS = Σ_j TL_j / Σ_j T_j        (TL_j: longest association on j,
                                                     T_j: how long j counts)
    ID completeness = Σ (JT − JU) / Σ JT, ID correctness = Σ JC / Σ JT, ID ambiguity = Σ JA / Σ JT

The eligible-truth rule shapes the *truth-side* measures (C, A, the ID measures,
R and LS: a truth counts only while — and, for continuity, between the first
and last snapshot at which — the viewer could see it). The *track-side* measures
(S, PA, VA) use associations with any truth: a track that follows a real object
out of the viewer's coverage is not spurious. With every truth eligible all
measures equal Stone Soup's; docs/metrics.md lists the remaining differences.
Every count is vectorized over association-snapshot rows; only the greedy NU_j
walks each truth's few association intervals in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from airpicture.geo import ecef_vector_to_enu, enu_basis
from airpicture.metrics.association import Associations
from airpicture.metrics.run_data import NO_IDENTITY, TrackRows, TruthRows

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: The SIAP measures in metrics.json, in report order: (key, label, unit, target).
SIAP_MEASURES: tuple[tuple[str, str, str, str], ...] = (
    ("completeness", "Completeness", "", "1"),
    ("ambiguity", "Ambiguity", "tracks/truth", "1"),
    ("spuriousness", "Spuriousness", "", "0"),
    ("position_accuracy_m", "Position accuracy (3D)", "m", "0"),
    ("horizontal_accuracy_m", "Position accuracy (horizontal)", "m", "0"),
    ("velocity_accuracy_mps", "Velocity accuracy", "m/s", "0"),
    ("track_number_change_rate_per_s", "Track number change rate", "1/s", "0"),
    ("longest_track_segment", "Longest track segment", "", "1"),
    ("id_completeness", "ID completeness", "", "1"),
    ("id_correctness", "ID correctness", "", "1"),
    ("id_ambiguity", "ID ambiguity", "", "0"),
)


@dataclass(frozen=True, eq=False)
class HeldRows:
    """Association expanded to snapshots: track row `track_row[k]` holds truth row `truth_row[k]`.

    Only snapshots where both the track and the truth have a row are kept.
    """

    step: IntArray
    track: IntArray
    track_row: IntArray
    truth_row: IntArray
    association: IntArray  # index into the Associations it came from


@dataclass(frozen=True, eq=False)
class SiapCounts:
    """Per-snapshot counts and error sums, shape `(n_steps,)` each."""

    J: IntArray
    JT: IntArray
    N: IntArray
    NA: IntArray
    NA_eligible: IntArray
    position_error_sum_m: FloatArray
    horizontal_error_sum_m: FloatArray
    velocity_error_sum_mps: FloatArray
    JU: IntArray
    JC: IntArray
    JI: IntArray


@dataclass(frozen=True, eq=False)
class Continuity:
    """Per target (index into TruthRows.target_ids); targets never eligible have counts 0."""

    counted: BoolArray  # ever eligible for this viewer
    lifetime_s: FloatArray  # T_j
    time_held_s: FloatArray  # TT_j
    longest_segment_s: FloatArray  # TL_j
    tracks_needed: IntArray  # NU_j


@dataclass(frozen=True, eq=False)
class SiapResult:
    counts: SiapCounts
    continuity: Continuity
    held: HeldRows
    summary: dict[str, float | None]
    per_step: dict[str, FloatArray]


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else float(numerator) / float(denominator)


def _per_step_ratio(numerator: NDArray[np.generic], denominator: NDArray[np.generic]) -> FloatArray:
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _lookup(keys_sorted: IntArray, order: IntArray, query: IntArray) -> IntArray:
    """Row index of each query key (keys unique), or −1 if absent."""
    if keys_sorted.size == 0:
        return np.full(query.size, -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(keys_sorted, query), keys_sorted.size - 1)
    found = keys_sorted[pos] == query
    return np.where(found, order[pos], -1)


def expand_associations(
    associations: Associations, tracks: TrackRows, truth: TruthRows, n_steps: int
) -> HeldRows:
    """One row per (association, snapshot) at which both its track and truth exist."""
    lengths = np.maximum(associations.end_step - associations.start_step + 1, 0)
    total = int(lengths.sum())
    assoc = np.repeat(np.arange(associations.size, dtype=np.int64), lengths)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    step = associations.start_step[assoc] + (np.arange(total, dtype=np.int64) - offsets[assoc])
    track = associations.track[assoc]
    target = associations.truth[assoc]

    n_tracks = max(int(tracks.track_ids.size), 1)
    n_targets = max(int(truth.target_ids.size), 1)
    track_keys = tracks.step * n_tracks + tracks.track
    track_order = np.argsort(track_keys, kind="stable")
    truth_keys = truth.step * n_targets + truth.target
    truth_order = np.argsort(truth_keys, kind="stable")
    track_row = _lookup(track_keys[track_order], track_order, step * n_tracks + track)
    truth_row = _lookup(truth_keys[truth_order], truth_order, step * n_targets + target)
    ok = (track_row >= 0) & (truth_row >= 0) & (step < n_steps)
    return HeldRows(step[ok], track[ok], track_row[ok], truth_row[ok], assoc[ok])


def _count_unique(step: IntArray, entity: IntArray, n_entities: int, n_steps: int) -> IntArray:
    """Number of distinct entities per snapshot."""
    keys = np.unique(step * max(n_entities, 1) + entity)
    return np.bincount(keys // max(n_entities, 1), minlength=n_steps).astype(np.int64)[:n_steps]


def siap_counts(
    held: HeldRows, tracks: TrackRows, truth: TruthRows, eligible: BoolArray, n_steps: int
) -> SiapCounts:
    """The per-snapshot counts (module docstring), vectorized over held rows."""
    n_tracks = int(tracks.track_ids.size)
    n_targets = int(truth.target_ids.size)
    J = np.bincount(truth.step[eligible], minlength=n_steps).astype(np.int64)
    N = np.bincount(tracks.step, minlength=n_steps).astype(np.int64)
    on_eligible = eligible[held.truth_row]
    NA = _count_unique(held.step, held.track, n_tracks, n_steps)
    NA_e = _count_unique(held.step[on_eligible], held.track[on_eligible], n_tracks, n_steps)
    JT = _count_unique(
        held.step[on_eligible], truth.target[held.truth_row[on_eligible]], n_targets, n_steps
    )

    delta = tracks.position_ecef_m[held.track_row] - truth.position_ecef_m[held.truth_row]
    # PA_n = |x_track − x_truth| (3D, ECEF)
    position_error = np.linalg.norm(delta, axis=-1)
    # horizontal error = |(Δe, Δn)|, Δ rotated into the truth's local ENU frame
    delta_enu = ecef_vector_to_enu(
        delta, enu_basis(truth.lat_deg[held.truth_row], truth.lon_deg[held.truth_row])
    )
    horizontal_error = np.hypot(delta_enu[:, 0], delta_enu[:, 1])
    # VA_n = |v_track − v_truth|
    velocity_error = np.linalg.norm(
        tracks.velocity_ecef_mps[held.track_row] - truth.velocity_ecef_mps[held.truth_row], axis=-1
    )

    def per_step_sum(values: FloatArray) -> FloatArray:
        return np.bincount(held.step, weights=values, minlength=n_steps).astype(np.float64)

    # ID: group the held rows of eligible truths by (snapshot, truth)
    e_rows = np.flatnonzero(on_eligible)
    JU = np.zeros(n_steps, dtype=np.int64)
    JC = np.zeros(n_steps, dtype=np.int64)
    JI = np.zeros(n_steps, dtype=np.int64)
    if e_rows.size:
        truth_row = held.truth_row[e_rows]
        track_identity = tracks.identity[held.track_row[e_rows]].astype(str)
        truth_identity = truth.identity[truth_row].astype(str)
        no_id = np.isin(track_identity, list(NO_IDENTITY))
        truth_has_id = ~np.isin(truth_identity, list(NO_IDENTITY))
        correct = ~no_id & truth_has_id & (track_identity == truth_identity)
        wrong = ~no_id & (track_identity != truth_identity)
        groups, group = np.unique(truth_row, return_inverse=True)  # truth rows are (step, truth)
        size = np.bincount(group)
        group_step = truth.step[groups]
        JU = np.bincount(group_step[np.bincount(group, weights=no_id) == size], minlength=n_steps)
        JC = np.bincount(group_step[np.bincount(group, weights=correct) == size], minlength=n_steps)
        JI = np.bincount(group_step[np.bincount(group, weights=wrong) == size], minlength=n_steps)
    return SiapCounts(
        J=J[:n_steps],
        JT=JT,
        N=N[:n_steps],
        NA=NA,
        NA_eligible=NA_e,
        position_error_sum_m=per_step_sum(position_error),
        horizontal_error_sum_m=per_step_sum(horizontal_error),
        velocity_error_sum_mps=per_step_sum(velocity_error),
        JU=JU.astype(np.int64),
        JC=JC.astype(np.int64),
        JI=JI.astype(np.int64),
    )


def continuity(
    associations: Associations, truth: TruthRows, eligible: BoolArray, times_s: FloatArray
) -> Continuity:
    """T_j, TT_j, TL_j and NU_j per target over its eligible span (module docstring)."""
    n_targets = int(truth.target_ids.size)
    big = np.iinfo(np.int64).max
    first = np.full(n_targets, big, dtype=np.int64)
    last = np.full(n_targets, -1, dtype=np.int64)
    np.minimum.at(first, truth.target[eligible], truth.step[eligible])
    np.maximum.at(last, truth.target[eligible], truth.step[eligible])
    counted = last >= 0
    lifetime = np.zeros(n_targets)
    # T_j = t_last − t_first (over the eligible span)
    lifetime[counted] = times_s[last[counted]] - times_s[first[counted]]

    # Association intervals clipped to their truth's eligible span.
    target = associations.truth
    lo = np.maximum(associations.start_step, first[target])
    hi = np.minimum(associations.end_step, last[target])
    valid = counted[target] & (lo <= hi)
    target, track = target[valid], associations.track[valid]
    lo, hi = lo[valid], hi[valid]

    longest = np.zeros(n_targets)
    if target.size:
        # Stone Soup merges a track's associations with one truth into one whose
        # duration is the sum of its pieces: TL_j = max_k Σ_{pieces of (k, j)} (t_end − t_start)
        pairs, pair = np.unique(target * (int(track.max()) + 1) + track, return_inverse=True)
        pair_time = np.bincount(pair, weights=times_s[hi] - times_s[lo])
        np.maximum.at(longest, pairs // (int(track.max()) + 1), pair_time)

    held_time = np.zeros(n_targets)
    if target.size:
        # TT_j = |⋃ intervals| : sort by (target, start), subtract the overlap with
        # the running furthest end of earlier intervals of the same target
        order = np.lexsort((lo, target))
        t_o, lo_o, hi_o = target[order], lo[order], hi[order]
        span = np.int64(times_s.size + 1)
        key_end = t_o * span + hi_o
        running = np.maximum.accumulate(key_end)
        previous = np.concatenate([[np.int64(-1)], running[:-1]])
        same_target = (previous >= 0) & (previous // span == t_o)
        prev_end = np.where(same_target, previous % span, -1)
        begin = np.maximum(lo_o, prev_end)
        gain = np.where(hi_o > begin, times_s[hi_o] - times_s[np.maximum(begin, 0)], 0.0)
        np.add.at(held_time, t_o, gain)

    needed = _tracks_needed(target, track, lo, hi, truth, first, last, n_targets)
    return Continuity(counted, lifetime, held_time, longest, needed)


def _tracks_needed(
    target: IntArray,
    track: IntArray,
    lo: IntArray,
    hi: IntArray,
    truth: TruthRows,
    first: IntArray,
    last: IntArray,
    n_targets: int,
) -> IntArray:
    """NU_j by Stone Soup's greedy walk (`min_num_tracks_needed_to_track`).

    Walk the truth's snapshots. At one that some track holds, count one track:
    of the tracks holding it, the one whose (merged) association with the truth
    ends last; continue after the end of that track's piece covering the
    snapshot. As in Stone Soup the walk stops when that end is the current
    snapshot itself (docs/metrics.md, "Differences from Stone Soup").
    """
    needed = np.zeros(n_targets, dtype=np.int64)
    if target.size == 0:
        return needed
    order = np.lexsort((lo, track, target))
    bounds = np.searchsorted(target[order], np.arange(n_targets + 1))
    truth_order = np.lexsort((truth.step, truth.target))
    truth_bounds = np.searchsorted(truth.target[truth_order], np.arange(n_targets + 1))
    for j in np.flatnonzero(np.diff(bounds) > 0):
        idx = order[bounds[j] : bounds[j + 1]]
        pieces: dict[int, list[tuple[int, int]]] = {}
        for k, s, e in zip(track[idx].tolist(), lo[idx].tolist(), hi[idx].tolist(), strict=True):
            pieces.setdefault(k, []).append((s, e))
        overall_end = {k: max(e for _, e in p) for k, p in pieces.items()}
        starts = sorted(s for p in pieces.values() for s, _ in p)
        steps_j = truth.step[truth_order[truth_bounds[j] : truth_bounds[j + 1]]]
        ts = steps_j[(steps_j >= first[j]) & (steps_j <= last[j])].tolist()
        count, i = 0, 0
        while i < len(ts):
            now = ts[i]
            covering = [
                (overall_end[k], e) for k, p in pieces.items() for s, e in p if s <= now <= e
            ]
            if not covering:
                later = [s for s in starts if s > now]
                if not later:
                    break
                i = int(np.searchsorted(ts, later[0]))
                continue
            count += 1
            end = max(covering)[1]
            k = int(np.searchsorted(ts, end))
            if k <= i or k >= len(ts) or ts[k] != end:
                break
            i = k + 1
        needed[j] = count
    return needed


def summarise(counts: SiapCounts, cont: Continuity) -> dict[str, float | None]:
    """Time-range values of every measure; `None` where the denominator is zero."""
    JT, J = int(counts.JT.sum()), int(counts.J.sum())
    N, NA, NA_e = int(counts.N.sum()), int(counts.NA.sum()), int(counts.NA_eligible.sum())
    JU, JC, JI = int(counts.JU.sum()), int(counts.JC.sum()), int(counts.JI.sum())
    JA = JT - JU - JC - JI
    changes = np.where(cont.tracks_needed > 0, cont.tracks_needed - 1, 0)
    return {
        "completeness": _ratio(JT, J),
        "ambiguity": _ratio(NA_e, JT),
        "spuriousness": _ratio(N - NA, N),
        "position_accuracy_m": _ratio(float(counts.position_error_sum_m.sum()), NA),
        "horizontal_accuracy_m": _ratio(float(counts.horizontal_error_sum_m.sum()), NA),
        "velocity_accuracy_mps": _ratio(float(counts.velocity_error_sum_mps.sum()), NA),
        "track_number_change_rate_per_s": _ratio(
            float(changes[cont.counted].sum()), float(cont.time_held_s[cont.counted].sum())
        ),
        "longest_track_segment": _ratio(
            float(cont.longest_segment_s[cont.counted].sum()),
            float(cont.lifetime_s[cont.counted].sum()),
        ),
        "id_completeness": _ratio(JT - JU, JT),
        "id_correctness": _ratio(JC, JT),
        "id_ambiguity": _ratio(JA, JT),
    }


def per_step_values(counts: SiapCounts) -> dict[str, FloatArray]:
    """Measures at each snapshot (NaN where undefined)."""
    JA = counts.JT - counts.JU - counts.JC - counts.JI
    return {
        "completeness": _per_step_ratio(counts.JT, counts.J),
        "ambiguity": _per_step_ratio(counts.NA_eligible, counts.JT),
        "spuriousness": _per_step_ratio(counts.N - counts.NA, counts.N),
        "position_accuracy_m": _per_step_ratio(counts.position_error_sum_m, counts.NA),
        "horizontal_accuracy_m": _per_step_ratio(counts.horizontal_error_sum_m, counts.NA),
        "velocity_accuracy_mps": _per_step_ratio(counts.velocity_error_sum_mps, counts.NA),
        "id_completeness": _per_step_ratio(counts.JT - counts.JU, counts.JT),
        "id_correctness": _per_step_ratio(counts.JC, counts.JT),
        "id_ambiguity": _per_step_ratio(JA, counts.JT),
    }


def siap(
    associations: Associations,
    tracks: TrackRows,
    truth: TruthRows,
    eligible: BoolArray,
    times_s: FloatArray,
) -> SiapResult:
    """Every SIAP measure for one viewer (module docstring)."""
    n_steps = int(times_s.size)
    held = expand_associations(associations, tracks, truth, n_steps)
    counts = siap_counts(held, tracks, truth, eligible, n_steps)
    cont = continuity(associations, truth, eligible, times_s)
    return SiapResult(counts, cont, held, summarise(counts, cont), per_step_values(counts))

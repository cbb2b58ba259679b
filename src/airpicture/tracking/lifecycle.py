"""The track life cycle: score and confirmation, misses, deletion, duplicates, likely-ended.

Score (sequential likelihood ratio): L ← L + ln(pd Λ / λ) per report; a
tentative track is confirmed at `confirm_score` after `min_hits` reports. Each
missed revisit of a sensor that was reporting a track adds −ln(1 − pd) to its
miss score; past a limit (tentative or confirmed) the track is deleted, as it
is when its covariance or speed is absurd, when it is below the ground, or
when it duplicates an older track. A confirmed track whose target has more
likely ended than not is hidden but kept. See `LifeCycleSettings`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from airpicture.geo import ecef_to_geodetic
from airpicture.tracking.association import pregate_pairs
from airpicture.tracking.gating import Batch, Gate
from airpicture.tracking.linalg import spd_inverse
from airpicture.tracking.measurement import MeasurementModel
from airpicture.tracking.settings import LifeCycleSettings, TrackerSettings
from airpicture.tracking.store import CONFIRMED, TENTATIVE, TrackArrays

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class LifeCycle:
    """The life-cycle rules, with what they need of the sensors (revisit, −ln(1 − pd))."""

    settings: LifeCycleSettings
    max_speed_mps: float
    #: Each sensor's revisit (1 s where it has none) and the score of one of its misses.
    revisit_s: FloatArray
    miss_cost: FloatArray

    @classmethod
    def from_sensors(
        cls, sensors: Sequence[MeasurementModel], settings: TrackerSettings
    ) -> LifeCycle:
        return cls(
            settings=settings.life_cycle,
            max_speed_mps=settings.gate.max_speed_mps,
            revisit_s=np.array(
                [s.revisit_s if math.isfinite(s.revisit_s) else 1.0 for s in sensors]
            ),
            miss_cost=-np.log1p(-np.minimum([s.pd for s in sensors], 0.999)),
        )

    def score_hits(
        self, tracks: TrackArrays, batch: Batch, ti: IntArray, log_lik: FloatArray, t: FloatArray
    ) -> None:
        """Tracks `ti` took reports at `t` with likelihoods Λ: score, count, confirm."""
        model = batch.model
        lam = model.clutter_density(batch.with_range_rate)
        # L ← L + ln(pd Λ / λ)
        gain = math.log(model.pd) + log_lik - math.log(lam)
        tracks.score[ti] += np.minimum(gain, 50.0)
        tracks.hits[ti] += 1
        tracks.last_hit_s[ti] = np.maximum(tracks.last_hit_s[ti], t)
        k = batch.sensor_index
        tracks.sensor_last_hit_s[ti, k] = np.fmax(tracks.sensor_last_hit_s[ti, k], t)
        promote = (
            (tracks.status[ti] == TENTATIVE)
            & (tracks.score[ti] >= self.settings.confirm_score)
            & (tracks.hits[ti] >= self.settings.min_hits)
        )
        tracks.status[ti[promote]] = CONFIRMED

    def miss_score(self, tracks: TrackArrays, now_s: float) -> FloatArray:
        """−ln of the probability that each track's target, if there, gave no report since.

        Missed reports since the track's last report, from every sensor that
        had been reporting it (its last report within a few of its revisits),
        each weighted by how telling a miss of that sensor is: −ln(1 − pd).
        """
        last = tracks.sensor_last_hit_s
        silent = (now_s - tracks.last_hit_s)[:, None]
        recent = last >= tracks.last_hit_s[:, None] - self.settings.recent_revisits * self.revisit_s
        # Half a revisit of slack: a beam passes a moving target a little late.
        misses = np.maximum(np.floor(silent / self.revisit_s - 0.5), 0.0)
        miss_score: FloatArray = np.sum(np.where(recent, misses * self.miss_cost, 0.0), axis=1)
        return miss_score

    def likely_ended(self, tracks: TrackArrays, now_s: float, miss_score: FloatArray) -> BoolArray:
        """Tracks whose target has more probably ended than not (see `LifeCycleSettings`).

        Prior odds e^{−s/τ} / (1 − e^{−s/τ}) that the target has not ended during
        the silence s, times Π(1 − pd) of the misses, below one.
        """
        silent = np.maximum(now_s - tracks.last_hit_s, 0.0)
        survive = np.exp(-silent / self.settings.target_mean_life_s)
        with np.errstate(divide="ignore"):
            prior_log_odds = np.log(survive) - np.log1p(-survive)
        ended: BoolArray = miss_score > prior_log_odds
        return ended

    def shown(self, tracks: TrackArrays, now_s: float, confirmed_only: bool) -> BoolArray:
        """The tracks a picture at `now_s` shows.

        A confirmed track coasting on misses is not shown once its target has more
        likely ended than not; it lives on (up to the deletion score) so that a
        report of a target that was only missed takes it up again at once.
        """
        confirmed: BoolArray = tracks.status == CONFIRMED
        keep: BoolArray = confirmed.copy() if confirmed_only else np.ones(len(tracks), bool)
        keep &= ~(confirmed & self.likely_ended(tracks, now_s, self.miss_score(tracks, now_s)))
        return keep

    def deleted(
        self, tracks: TrackArrays, now_s: float, gate: Gate, check_altitude: bool
    ) -> tuple[BoolArray, int]:
        """Tracks to delete at `now_s`, and how many of them were merged into a duplicate.

        Merging hands a loser's sources and identity to its survivor (in place).
        """
        life = self.settings
        miss_score = self.miss_score(tracks, now_s)
        dead = np.where(
            tracks.status == TENTATIVE,
            miss_score > life.tentative_max_miss_score,
            miss_score > life.confirmed_max_miss_score,
        )
        gap = np.maximum(now_s - tracks.time_s, 0.0)
        pos_var = np.trace(tracks.P[:, :3, :3], axis1=1, axis2=2) + gap**2 * np.trace(
            tracks.P[:, 3:, 3:], axis1=1, axis2=2
        )
        dead |= pos_var > life.max_position_sigma_m**2
        dead |= ~np.isfinite(tracks.x).all(axis=1)
        dead |= np.linalg.norm(tracks.x[:, 3:], axis=1) > self.max_speed_mps
        if check_altitude:
            # Below the ground is no place for an air track: an estimate down
            # there has diverged (typically on a 2D radar's unobserved altitude).
            alt_m = ecef_to_geodetic(tracks.x[:, :3], refine=False)[2]
            dead |= alt_m < life.min_altitude_m
        loser, merged = self.duplicates(tracks, now_s, dead, gate)
        return dead | loser, merged

    def duplicates(
        self, tracks: TrackArrays, now_s: float, dead: BoolArray, gate: Gate
    ) -> tuple[BoolArray, int]:
        """Tracks that duplicate an older one (two sensors, or a report that missed its gate).

        Two established tracks whose states at `now_s` are statistically the same,
        d² = Δx' (P_i + P_j)⁻¹ Δx ≤ χ²₆ gate, describe one target: the one with
        fewer reports (then the younger number) goes, and the survivor inherits
        its sources and identity. Candidates come from the pre-gate's grid within
        `merge_radius_m`, so this costs about linear time. Ignoring the
        cross-covariance of the two estimates makes the test merge more
        readily, which is the safe side for duplicates.
        """
        tr = tracks
        life = self.settings
        loser = np.zeros(len(tr), bool)
        eligible = np.flatnonzero(~dead & (tr.hits >= life.merge_min_hits))
        if eligible.size < 2:
            return loser, 0
        gap = (now_s - tr.time_s[eligible])[:, None]
        pos = tr.x[eligible, :3] + tr.x[eligible, 3:] * gap
        a, b = pregate_pairs(pos, np.full(eligible.size, life.merge_radius_m), pos)
        if not (a < b).any():
            return loser, 0
        i, j = eligible[a[a < b]], eligible[b[a < b]]
        dt_i, dt_j = now_s - tr.time_s[i], now_s - tr.time_s[j]
        # Both predicted to now as the gate predicts (gravity for ballistic tracks,
        # process noise): two tracks of one missile updated a second apart differ
        # by g·dt in velocity, far outside precise covariances predicted as CV.
        index = np.arange(i.size)
        x_i, P_i = gate.predict(tr, i, index, dt_i, full=True)
        x_j, P_j = gate.predict(tr, j, index, dt_j, full=True)
        S = P_i + P_j
        dx = x_i - x_j
        d2 = np.einsum("ki,kij,kj->k", dx, spd_inverse(S), dx)
        same = d2 <= life.merge_gate
        if not same.any():
            return loser, 0
        i, j = i[same], j[same]
        # Keep the track with more reports; on a tie the older (smaller) number.
        keep_i = (tr.hits[i] > tr.hits[j]) | (
            (tr.hits[i] == tr.hits[j]) & (tr.number[i] < tr.number[j])
        )
        win = np.where(keep_i, i, j)
        lose = np.where(keep_i, j, i)
        tr.sensor_last_hit_s[win] = np.fmax(tr.sensor_last_hit_s[win], tr.sensor_last_hit_s[lose])
        take_ident = (tr.ident[win] == "") & (tr.ident[lose] != "")
        tr.ident[win[take_ident]] = tr.ident[lose[take_ident]]
        tr.status[win] = np.maximum(tr.status[win], tr.status[lose])
        loser[lose] = True
        return loser, int(np.unique(lose).size)

"""Gridlock: the offset between a partner's tracks and one's own, estimated from common tracks.

Registration (`tracking.registration`) removes sensor biases that a nation can
measure against ADS-B. What remains — a partner's sensors that no reference sees,
a clock or a datum error in its tracker — shows as a systematic offset between the
partner's tracks and the receiver's own of the same objects. As in Link 16's
gridlock, the receiver estimates it from the tracks both hold and moves the
partner's tracks into its own grid before track-to-track association and fusion.

**Pairs.** At each fusion cycle, every partner track (predicted to the cycle time)
is paired with the receiver's own track nearest to it when the two are within
`pair_gate_m` and `max_speed_difference_mps`, each is the other's nearest, and no
other own track is within `ambiguity_ratio` times their distance: only pairs that
can hardly be two objects. Each pair gives an offset d = p_partner − p_own (ECEF) with
covariance S = P_partner + P_own (position blocks). Pairs are kept `memory_s`.

**Offset field.** A partner's offset may differ across the theatre (its sensors'
biases differ), so it is estimated where each partner track is: a generalised
least-squares mean of the pairs' offsets, each weighted by a Gaussian of its
distance (`length_scale_m`),

    d̂(p) = (Σ wᵢ Sᵢ⁻¹)⁻¹ Σ wᵢ Sᵢ⁻¹ dᵢ,   cov d̂ = (Σ wᵢ Sᵢ⁻¹)⁻¹,   wᵢ = exp(−|p − pᵢ|² / 2L²)

with the samples of one pair of tracks over time averaged into one (their errors
are correlated from cycle to cycle, so they count once: the covariance stays honest).

**Applied** to a partner track only when its offset is significant (d̂' cov⁻¹ d̂ above
the χ²₃ quantile of `detect_probability`), material (|d̂| ≥ `min_offset_m`: smaller
offsets do not disturb association) and rests on `min_pairs` distinct pairs: a
partner whose tracks agree with one's own is left as it is, and so is a picture
with nothing in common to measure from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import chdtri

from airpicture.fusion.predict import predict_tracks
from airpicture.tracking.association import pregate_pairs
from airpicture.tracking.linalg import spd_inverse

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class GridlockSettings:
    #: Off: partners' tracks are fused as they come.
    enabled: bool = True
    #: A partner track and an own track further apart than this are not paired, m.
    pair_gate_m: float = 15_000.0
    #: ... nor when another own track is within this many times their distance.
    ambiguity_ratio: float = 2.0
    #: ... nor when their velocities differ by more than this, m/s.
    max_speed_difference_mps: float = 100.0
    #: Pairs are kept this long, s.
    memory_s: float = 120.0
    #: Distance over which a partner's offset is taken to be the same, m.
    length_scale_m: float = 400_000.0
    #: Distinct pairs needed (with their weights) before an offset is applied.
    min_pairs: float = 5.0
    #: An offset is applied when d̂' cov⁻¹ d̂ exceeds the χ²₃ quantile of this probability ...
    detect_probability: float = 1.0 - 1e-6
    #: ... and it is at least this large, m.
    min_offset_m: float = 300.0
    #: Process noise density for predicting tracks to the cycle time, m²/s³.
    predict_q_m2_s3: float = 50.0


@dataclass
class _Pairs:
    """Pair samples of one partner origin: time, pair key, own position, offset, S."""

    time_s: FloatArray = field(default_factory=lambda: np.empty(0))
    key: NDArray[np.str_] = field(default_factory=lambda: np.empty(0, dtype="U130"))
    pos: FloatArray = field(default_factory=lambda: np.empty((0, 3)))
    offset: FloatArray = field(default_factory=lambda: np.empty((0, 3)))
    S: FloatArray = field(default_factory=lambda: np.empty((0, 3, 3)))

    def add(self, time_s: float, key: NDArray[np.str_], pos: FloatArray,
            offset: FloatArray, S: FloatArray, memory_s: float) -> None:  # fmt: skip
        keep = self.time_s >= time_s - memory_s
        self.time_s = np.concatenate([self.time_s[keep], np.full(key.size, time_s)])
        self.key = np.concatenate([self.key[keep], key.astype("U130")])
        self.pos = np.concatenate([self.pos[keep], pos])
        self.offset = np.concatenate([self.offset[keep], offset])
        self.S = np.concatenate([self.S[keep], S])

    def distinct(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """One sample per pair of tracks: mean position, mean offset, mean S."""
        if self.key.size == 0:
            return np.empty((0, 3)), np.empty((0, 3)), np.empty((0, 3, 3))
        _, inverse, counts = np.unique(self.key, return_inverse=True, return_counts=True)
        m = counts.size
        pos = np.zeros((m, 3))
        off = np.zeros((m, 3))
        S = np.zeros((m, 3, 3))
        np.add.at(pos, inverse, self.pos)
        np.add.at(off, inverse, self.offset)
        np.add.at(S, inverse, self.S)
        c = counts.astype(np.float64)
        return pos / c[:, None], off / c[:, None], S / c[:, None, None]


class Gridlock:
    """One node's gridlock against each partner origin (tracker)."""

    def __init__(self, settings: GridlockSettings | None = None) -> None:
        self.settings = settings or GridlockSettings()
        self._pairs: dict[str, _Pairs] = {}
        self._detect = float(chdtri(3, 1.0 - self.settings.detect_probability))
        #: Per origin, at the last cycle: tracks moved, the largest offset applied (m).
        self.last: dict[str, dict[str, float]] = {}

    def _predicted(self, tracks: Any, time_s: float) -> tuple[FloatArray, FloatArray]:
        x, P = predict_tracks(
            tracks.x, tracks.P, time_s - tracks.time_s, self.settings.predict_q_m2_s3,
            np.zeros(len(tracks.key)),
        )  # fmt: skip
        return x, P

    def correct(self, time_s: float, own: Any, received: Sequence[Any]) -> list[Any]:
        """Learn from `own` and each partner origin's `received` tracks (`SourceTracks`,
        one origin each); return the received ones moved into the own grid."""
        s = self.settings
        if not s.enabled or len(own.key) == 0:
            return list(received)
        x_own, P_own = self._predicted(own, time_s)
        out: list[Any] = []
        for tracks in received:
            n = len(tracks.key)
            if n == 0:
                out.append(tracks)
                continue
            origin = str(tracks.origin[0])
            x_p, P_p = self._predicted(tracks, time_s)
            self._learn(origin, time_s, own.key, x_own, P_own, tracks.key, x_p, P_p)
            shift = self._offsets(origin, x_p[:, :3])
            moved = np.isfinite(shift).all(axis=1)
            self.last[origin] = {
                "moved": int(moved.sum()),
                "largest_m": float(np.linalg.norm(shift[moved], axis=1).max())
                if moved.any()
                else 0.0,
            }
            if not moved.any():
                out.append(tracks)
                continue
            x = tracks.x.copy()
            x[moved, :3] -= shift[moved]
            out.append(replace(tracks, x=x))
        return out

    def _learn(
        self,
        origin: str,
        time_s: float,
        own_key: NDArray[np.str_],
        x_own: FloatArray,
        P_own: FloatArray,
        key: NDArray[np.str_],
        x: FloatArray,
        P: FloatArray,
    ) -> None:
        s = self.settings
        radius = np.full(x.shape[0], s.ambiguity_ratio * s.pair_gate_m)
        i, j = pregate_pairs(x[:, :3], radius, x_own[:, :3])
        if i.size == 0:
            return
        dist = np.linalg.norm(x[i, :3] - x_own[j, :3], axis=1)
        # nearest own track of each partner track, and nearest partner track of each own
        order = np.lexsort((dist, i))
        first_i = np.ones(order.size, dtype=bool)
        first_i[1:] = i[order[1:]] != i[order[:-1]]
        best = order[first_i]  # per partner track, its nearest pair
        second = np.full(x.shape[0], np.inf)
        rest = order[~first_i]
        np.minimum.at(second, i[rest], dist[rest])
        order_j = np.lexsort((dist, j))
        first_j = np.ones(order_j.size, dtype=bool)
        first_j[1:] = j[order_j[1:]] != j[order_j[:-1]]
        nearest_of_own = np.full(x_own.shape[0], -1, dtype=np.intp)
        nearest_of_own[j[order_j[first_j]]] = i[order_j[first_j]]
        bi, bj, bd = i[best], j[best], dist[best]
        speed_diff = np.linalg.norm(x[bi, 3:6] - x_own[bj, 3:6], axis=1)
        ok = (
            (bd <= s.pair_gate_m)
            & (second[bi] > s.ambiguity_ratio * bd)
            & (nearest_of_own[bj] == bi)
            & (speed_diff <= s.max_speed_difference_mps)
        )
        if not ok.any():
            return
        bi, bj = bi[ok], bj[ok]
        pair_key = np.char.add(np.char.add(key[bi].astype("U64"), "|"), own_key[bj].astype("U64"))
        self._pairs.setdefault(origin, _Pairs()).add(
            time_s,
            pair_key,
            x_own[bj, :3],
            x[bi, :3] - x_own[bj, :3],
            P[bi, :3, :3] + P_own[bj, :3, :3],
            s.memory_s,
        )

    def _offsets(self, origin: str, pos: FloatArray) -> FloatArray:
        """d̂ at each position `(n, 3)`; NaN rows where nothing is applied."""
        s = self.settings
        n = pos.shape[0]
        out = np.full((n, 3), np.nan)
        pairs = self._pairs.get(origin)
        if pairs is None or pairs.key.size == 0:
            return out
        p_pos, p_off, p_S = pairs.distinct()
        S_inv = spd_inverse(p_S)
        # w_i = exp(−|p − p_i|² / 2L²)
        d2 = ((pos[:, None, :] - p_pos[None, :, :]) ** 2).sum(axis=-1)
        w = np.exp(-0.5 * d2 / s.length_scale_m**2)  # (n, m)
        info = np.einsum("nm,mab->nab", w, S_inv)
        vec = np.einsum("nm,mab,mb->na", w, S_inv, p_off)
        enough = w.sum(axis=1) >= s.min_pairs
        if not enough.any():
            return out
        cov = spd_inverse(info[enough] + np.eye(3) * 1e-12)
        est = np.einsum("nab,nb->na", cov, vec[enough])
        # significance: d̂' cov⁻¹ d̂ = d̂' info d̂
        chi2 = np.einsum("na,nab,nb->n", est, info[enough], est)
        apply = (chi2 > self._detect) & (np.linalg.norm(est, axis=1) >= s.min_offset_m)
        rows = np.flatnonzero(enough)[apply]
        out[rows] = est[apply]
        return out

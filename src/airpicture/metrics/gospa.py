"""GOSPA: the generalized optimal sub-pattern assignment metric, α = 2.

Rahmathullah, García-Fernández, Svensson, "Generalized optimal sub-pattern
assignment metric", FUSION 2017. For track positions X and truth positions Y at
one snapshot, with cut-off c and order p,

    GOSPA = ( min_γ Σ_{(i,j)∈γ} d(x_i, y_j)^p + c^p/2 · (|X| − |γ|) + c^p/2 · (|Y| − |γ|) )^(1/p)

over assignments γ of pairs closer than c. The three sums are reported as
parts, in units of m^p, exactly as Stone Soup's `GOSPAMetric` does:
`localisation` = Σ d^p, `missed` = c^p/2 · missed truths, `false` = c^p/2 ·
false tracks, and `distance_m` = (localisation + missed + false)^(1/p).

Defaults (see docs/metrics.md): c = 10 km, p = 1. Distances are ECEF metres
over a region thousands of kilometres wide; 10 km is the separation beyond
which a track is of no use for cueing or deconfliction (and about the 5 NM
en-route separation of airliners, so a track nearer to another aircraft than
that is no longer "its" track). p = 1 keeps the parts in metres and additive,
so a stacked plot of them sums to the GOSPA value itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from airpicture.metrics.assignment import cutoff_assignment

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: GOSPA's α; only α = 2 splits into localisation, missed and false parts.
GOSPA_ALPHA = 2.0


@dataclass(frozen=True)
class GospaSettings:
    """GOSPA parameters: cut-off distance `c_m` (metres) and order `p` (1 ≤ p < ∞)."""

    c_m: float = 10_000.0
    p: float = 1.0
    alpha: float = field(default=GOSPA_ALPHA, init=False)

    def __post_init__(self) -> None:
        if not (np.isfinite(self.c_m) and self.c_m > 0):
            raise ValueError(
                f"GOSPA cut-off c must be a positive distance in metres, not {self.c_m}"
            )
        if not (np.isfinite(self.p) and self.p >= 1):
            raise ValueError(f"GOSPA order p must be a finite number ≥ 1, not {self.p}")


@dataclass(frozen=True, eq=False)
class GospaSeries:
    """GOSPA at each of `n` snapshots, with its parts (units m^p) and counts."""

    distance_m: FloatArray
    localisation: FloatArray
    missed: FloatArray
    false: FloatArray
    n_assigned: IntArray
    n_missed: IntArray
    n_false: IntArray


def gospa_series(
    track_step: IntArray,
    track_xyz_m: FloatArray,
    truth_step: IntArray,
    truth_xyz_m: FloatArray,
    n_steps: int,
    settings: GospaSettings,
) -> GospaSeries:
    """GOSPA per snapshot `0 … n_steps-1`; rows are tagged with their snapshot index."""
    c, p = settings.c_m, settings.p
    localisation = np.zeros(n_steps)
    n_assigned = np.zeros(n_steps, dtype=np.int64)
    track_order = np.argsort(track_step, kind="stable")
    truth_order = np.argsort(truth_step, kind="stable")
    track_bounds = np.searchsorted(track_step[track_order], np.arange(n_steps + 1))
    truth_bounds = np.searchsorted(truth_step[truth_order], np.arange(n_steps + 1))
    n_tracks = np.diff(track_bounds).astype(np.int64)
    n_truths = np.diff(truth_bounds).astype(np.int64)
    for k in np.flatnonzero((n_tracks > 0) & (n_truths > 0)):
        tracks = track_xyz_m[track_order[track_bounds[k] : track_bounds[k + 1]]]
        truths = truth_xyz_m[truth_order[truth_bounds[k] : truth_bounds[k + 1]]]
        pairs = cutoff_assignment(tracks, truths, c, p)
        # localisation = Σ_{(i,j)∈γ} d_ij^p
        localisation[k] = float(np.sum(pairs.distance_m**p))
        n_assigned[k] = pairs.size
    n_missed = n_truths - n_assigned
    n_false = n_tracks - n_assigned
    # missed = c^p/2 · (|Y| − |γ|) ; false = c^p/2 · (|X| − |γ|)
    missed = n_missed * (c**p / GOSPA_ALPHA)
    false = n_false * (c**p / GOSPA_ALPHA)
    # GOSPA = (localisation + missed + false)^(1/p)
    distance = (localisation + missed + false) ** (1.0 / p)
    return GospaSeries(distance, localisation, missed, false, n_assigned, n_missed, n_false)


def gospa(track_xyz_m: FloatArray, truth_xyz_m: FloatArray, settings: GospaSettings) -> GospaSeries:
    """GOSPA of one snapshot (a series of length 1)."""
    track_xyz_m = np.asarray(track_xyz_m, dtype=np.float64).reshape(-1, 3)
    truth_xyz_m = np.asarray(truth_xyz_m, dtype=np.float64).reshape(-1, 3)
    return gospa_series(
        np.zeros(track_xyz_m.shape[0], dtype=np.int64),
        track_xyz_m,
        np.zeros(truth_xyz_m.shape[0], dtype=np.int64),
        truth_xyz_m,
        1,
        settings,
    )

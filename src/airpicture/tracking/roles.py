"""The tracker's swappable roles, as Protocols (Stone Soup's decomposition, without its objects).

Each role is batched; `TrackerRoles` bundles one of each and `Tracker` calls
only through it, so any role can be replaced (a different gate, an auction
assignment, an unscented updater) without touching the shell. The defaults
are the library's own: `association.pregate_pairs`, `association.gnn_assign`,
`association.jpda_weights`, `imm.imm_update`, `initiation.initial_states`, and
the associator that `TrackerSettings.association` names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from airpicture.tracking.association import (
    Association,
    gnn_assign,
    jpda_weights,
    pregate_pairs,
)
from airpicture.tracking.gating import Batch, GatedPairs
from airpicture.tracking.imm import IMMStep, MeasureFn, ModeSwitching, ResidualFn, imm_update
from airpicture.tracking.initiation import InitiationPrior, initial_states
from airpicture.tracking.measurement import MeasurementModel
from airpicture.tracking.motion import MotionModel
from airpicture.tracking.store import TrackArrays

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]


class Updater(Protocol):
    """One filter cycle (mix, predict, update, mode probabilities) for K tracks, one report each."""

    def __call__(
        self,
        xm: FloatArray,
        Pm: FloatArray,
        mu: FloatArray,
        dt_s: FloatArray,
        z: FloatArray,
        R: FloatArray,
        models: Sequence[MotionModel],
        switching: ModeSwitching,
        measure_fn: MeasureFn,
        residual_fn: ResidualFn,
    ) -> IMMStep: ...


class PreGater(Protocol):
    """Candidate (track, report) pairs from Cartesian images and per-track radii."""

    def __call__(
        self, track_points: FloatArray, track_radius: FloatArray, meas_points: FloatArray
    ) -> tuple[IntArray, IntArray]: ...


class Assigner(Protocol):
    """A one-to-one assignment of gated pairs, given their costs and the cost of a miss."""

    def __call__(
        self, track_index: IntArray, meas_index: IntArray, cost: FloatArray, miss_cost: float
    ) -> tuple[IntArray, IntArray]: ...


class SoftAssigner(Protocol):
    """Association probabilities of gated pairs and of "no report" per track (JPDA)."""

    def __call__(
        self,
        track_index: IntArray,
        meas_index: IntArray,
        likelihood: FloatArray,
        pd: float,
        clutter_density: float,
        n_tracks: int,
        n_meas: int,
    ) -> tuple[FloatArray, FloatArray]: ...


class Associator(Protocol):
    """Which gated reports of a batch update which tracks (GNN, JPDA).

    `taken` marks the reports already matched by identity; the result lists
    the one-to-one pairs for the IMM update, any soft (PDA) update, and the
    reports left free to start tracks.
    """

    def associate(
        self, tracks: TrackArrays, batch: Batch, pairs: GatedPairs, taken: BoolArray
    ) -> Association: ...


class Initiator(Protocol):
    """New track states (x, P) from single reports of one sensor."""

    def __call__(
        self,
        model: MeasurementModel,
        z: FloatArray,
        with_range_rate: bool,
        prior: InitiationPrior,
    ) -> tuple[FloatArray, FloatArray]: ...


@dataclass(frozen=True)
class TrackerRoles:
    """One implementation of every role; the defaults are the library's own.

    `associator` None: the one `TrackerSettings.association` names, built with
    `assigner` and `soft_assigner`. The predictor is composed inside the
    updater (one call per IMM mode); the deleter is `lifecycle.LifeCycle`,
    configured by `LifeCycleSettings`.
    """

    updater: Updater = imm_update
    pregater: PreGater = pregate_pairs
    assigner: Assigner = gnn_assign
    soft_assigner: SoftAssigner = jpda_weights
    associator: Associator | None = None
    initiator: Initiator = initial_states

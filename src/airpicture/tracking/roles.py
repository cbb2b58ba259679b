"""The tracker's swappable roles, as Protocols (Stone Soup's decomposition, without its objects).

Each role is a pure batched function; `TrackerRoles` bundles one of each and
`Tracker` calls only through it, so any role can be replaced (a different gate,
an auction associator, an unscented updater) without touching the shell. The
defaults are the functions of `motion`, `imm`, `association` and `measurement`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from airpicture.tracking.association import gnn_assign, jpda_weights, pregate_pairs
from airpicture.tracking.imm import IMMStep, MeasureFn, ModeSwitching, ResidualFn, imm_update
from airpicture.tracking.measurement import InitiationPrior, SensorModel, initial_states
from airpicture.tracking.motion import MotionModel

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


class Predictor(Protocol):
    """(x, P) of a batch at t + dt under one motion model.

    `motion.predict` implements it; the IMM updater and `imm.imm_predict`
    compose it once per mode.
    """

    def __call__(
        self, x: FloatArray, P: FloatArray, dt_s: FloatArray, model: MotionModel
    ) -> tuple[FloatArray, FloatArray]: ...


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


class Associator(Protocol):
    """A one-to-one assignment of gated pairs, given their costs and the cost of a miss."""

    def __call__(
        self, track_index: IntArray, meas_index: IntArray, cost: FloatArray, miss_cost: float
    ) -> tuple[IntArray, IntArray]: ...


class SoftAssociator(Protocol):
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


class Initiator(Protocol):
    """New track states (x, P) from single reports of one sensor."""

    def __call__(
        self, sensor: SensorModel, z: FloatArray, with_range_rate: bool, prior: InitiationPrior
    ) -> tuple[FloatArray, FloatArray]: ...


@dataclass(frozen=True)
class TrackerRoles:
    """One implementation of every role; the defaults are the library's own.

    The predictor is composed inside the updater (one call per IMM mode); the
    deleter is the life cycle in `Tracker`, configured by `LifeCycleSettings`.
    """

    updater: Updater = imm_update
    pregater: PreGater = pregate_pairs
    associator: Associator = gnn_assign
    soft_associator: SoftAssociator = jpda_weights
    initiator: Initiator = initial_states

"""Track-to-track fusion settings: frozen, with the reason for every default."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class FusionSettings:
    #: Probability that two tracks of one object pass the association gate; the
    #: gate is the χ² quantile of that probability (6 degrees of freedom for the
    #: full state, 3 for position only). Two trackers' errors are correlated, so
    #: the difference is usually smaller than P_a + P_b says: a generous gate
    #: costs little, a tight one splits objects.
    gate_probability: float = 0.9999
    #: "full": gate on position and velocity; "position": position only (for
    #: trackers whose young tracks have poor velocities).
    gate_state: Literal["full", "position"] = "full"
    #: Pre-gate radius in standard deviations of the two position errors, and
    #: its cap in metres (nothing further apart can be one object).
    pregate_sigmas: float = 6.0
    max_pregate_m: float = 200_000.0
    #: Hysteresis: an association holds until the pair fails this (larger) gate
    #: on `break_after` consecutive fusion cycles.
    break_gate_probability: float = 0.999999
    break_after: int = 3
    #: Process noise density for predicting a source track to the fusion time, m²/s³.
    predict_q_m2_s3: float = 50.0
    #: A received track older than this is dropped from the picture, s.
    max_source_age_s: float = 20.0
    #: Network track numbers per nation (blocks of this size, nations in sorted order).
    number_block_size: int = 10_000

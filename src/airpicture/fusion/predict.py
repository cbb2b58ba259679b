"""Bringing source tracks to the common fusion time."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from airpicture.tracking.linalg import symmetrize
from airpicture.tracking.motion import cv_covariance, frame_acceleration, white_acceleration_noise

FloatArray = NDArray[np.float64]


def predict_tracks(
    x: FloatArray,
    P: FloatArray,
    dt_s: FloatArray,
    q_m2_s3: float,
    ballistic_weight: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Predict (x, P) by dt with nearly constant velocity, plus gravity for ballistic tracks.

    x⁻ = [r + v dt + w a(x) dt²/2,  v + w a(x) dt]   a: gravity + rotating-frame terms,
                                                      w: the track's ballistic mode probability
    P⁻ = F P F' + Q(dt)                               F = [[I, dt I], [0, I]]
    Fusion cycles are seconds apart, so a first-order step is enough; the
    tracker's own IMM prediction is used wherever a tracker is at hand.
    """
    a = frame_acceleration(x) * ballistic_weight[:, None]
    dt = dt_s[:, None]
    x_pred = x.copy()
    x_pred[:, :3] += x[:, 3:] * dt + 0.5 * a * dt * dt
    x_pred[:, 3:] += a * dt
    P_pred = symmetrize(cv_covariance(P, dt_s) + white_acceleration_noise(dt_s, q_m2_s3))
    return x_pred, P_pred

"""Interacting Multiple Model (IMM) filter, batched over tracks.

Per track: mode states `xm (K, M, 6)`, `Pm (K, M, 6, 6)`, mode probabilities
`mu (K, M)`. The cycle for one report per track (Blom & Bar-Shalom):
mix → predict each mode → update each mode → mode likelihoods → combine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from airpicture.tracking.kernels import combine_kernel, mix_kernel
from airpicture.tracking.linalg import kalman_update
from airpicture.tracking.motion import MotionModel, predict

FloatArray = NDArray[np.float64]

#: z_pred, H for a batch of states (the measurement model bound to one sensor).
MeasureFn = Callable[[FloatArray], tuple[FloatArray, FloatArray]]
ResidualFn = Callable[[FloatArray, FloatArray], FloatArray]


@dataclass(frozen=True)
class ModeSwitching:
    """Mode switching as a continuous-time process, so it scales with the update interval.

    Leaving mode i happens at rate 1/`mean_sojourn_s[i]`; where it goes is row i
    of `destinations` (zero diagonal, rows summing to one):
    Π_ij(dt) = δ_ij e^{−|dt|/τ_i} + (1 − e^{−|dt|/τ_i}) D_ij
    """

    mean_sojourn_s: tuple[float, ...]
    destinations: tuple[tuple[float, ...], ...]

    def matrix(self, dt_s: FloatArray) -> FloatArray:
        """Π(dt) `(K, M, M)`, row-stochastic."""
        tau = np.asarray(self.mean_sojourn_s)
        D = np.asarray(self.destinations)
        stay = np.exp(-np.abs(dt_s)[:, None] / tau[None, :])  # (K, M)
        M = tau.size
        result: FloatArray = stay[:, :, None] * np.eye(M) + (1.0 - stay)[:, :, None] * D
        return result


def mix(
    xm: FloatArray, Pm: FloatArray, mu: FloatArray, Pi: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """IMM interaction. Returns mixed (x0 `(K,M,6)`, P0 `(K,M,6,6)`) and predicted mode probs c.

    c_j = Σ_i Π_ij μ_i;  μ_i|j = Π_ij μ_i / c_j
    x0_j = Σ_i μ_i|j x_i;  P0_j = Σ_i μ_i|j (P_i + (x_i − x0_j)(x_i − x0_j)')
    """
    x0, P0, c = mix_kernel(
        np.ascontiguousarray(xm), np.ascontiguousarray(Pm), np.ascontiguousarray(mu),
        np.ascontiguousarray(Pi),
    )  # fmt: skip
    return x0, P0, c


def combine(xm: FloatArray, Pm: FloatArray, mu: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Moment-matched single Gaussian of the mode mixture.

    x = Σ μ_j x_j;  P = Σ μ_j (P_j + (x_j − x)(x_j − x)')
    """
    x, P = combine_kernel(
        np.ascontiguousarray(xm), np.ascontiguousarray(Pm), np.ascontiguousarray(mu)
    )
    return x, P


def predict_modes(
    xm: FloatArray, Pm: FloatArray, dt_s: FloatArray, models: Sequence[MotionModel]
) -> tuple[FloatArray, FloatArray]:
    """Each mode's own prediction (a loop over the few modes, batched over tracks)."""
    x_out = np.empty_like(xm)
    P_out = np.empty_like(Pm)
    if xm.shape[0] == 0:
        return x_out, P_out
    for j, model in enumerate(models):
        x_out[:, j], P_out[:, j] = predict(xm[:, j], Pm[:, j], dt_s, model)
    return x_out, P_out


@dataclass(frozen=True)
class IMMStep:
    """The result of one IMM cycle for K tracks."""

    xm: FloatArray
    Pm: FloatArray
    mu: FloatArray
    x: FloatArray
    P: FloatArray
    #: ln of the mixture likelihood of the report, for the track score.
    log_likelihood: FloatArray


def imm_update(
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
) -> IMMStep:
    """One full IMM cycle with one report per track, all K tracks at once."""
    K, M, n = xm.shape
    x0, P0, c = mix(xm, Pm, mu, switching.matrix(dt_s))
    x_pred, P_pred = predict_modes(x0, P0, dt_s, models)
    flat_x = x_pred.reshape(K * M, n)
    z_pred, H = measure_fn(flat_x)
    z_rep = np.repeat(z, M, axis=0)
    nu = residual_fn(z_rep, z_pred)
    R_rep = np.repeat(R, M, axis=0)
    x_upd, P_upd, d2, log_det = kalman_update(flat_x, P_pred.reshape(K * M, n, n), nu, H, R_rep)
    d = z.shape[-1]
    # ln Λ_j = −½ (ν' S⁻¹ ν + ln det S + d ln 2π)
    log_lik = (-0.5 * (d2 + log_det + d * np.log(2.0 * np.pi))).reshape(K, M)
    # μ_j ∝ Λ_j c_j  (in logs, so that far-off modes do not underflow)
    log_post = log_lik + np.log(c)
    top = log_post.max(axis=1, keepdims=True)
    weights = np.exp(log_post - top)
    total = weights.sum(axis=1, keepdims=True)
    mu_new = np.maximum(weights / total, 1e-6)
    mu_new /= mu_new.sum(axis=1, keepdims=True)
    xm_new = x_upd.reshape(K, M, n)
    Pm_new = P_upd.reshape(K, M, n, n)
    x, P = combine(xm_new, Pm_new, mu_new)
    return IMMStep(xm_new, Pm_new, mu_new, x, P, (top + np.log(total))[:, 0])


def imm_predict(
    xm: FloatArray,
    Pm: FloatArray,
    mu: FloatArray,
    dt_s: FloatArray,
    models: Sequence[MotionModel],
    switching: ModeSwitching,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Prediction only (a snapshot, or a report-free step): combined (x, P) and mode probs."""
    x0, P0, c = mix(xm, Pm, mu, switching.matrix(dt_s))
    x_pred, P_pred = predict_modes(x0, P0, dt_s, models)
    x, P = combine(x_pred, P_pred, c)
    return x, P, c

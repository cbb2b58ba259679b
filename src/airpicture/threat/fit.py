"""A ballistic trajectory fitted to a threat's recent track positions (batch least squares).

A filter's velocity after a track swap, a manoeuvre-mode excursion or a
mis-association can be off by tens of metres per second, and an impact
predicted from it by hundreds of kilometres. Positions are far more robust.
So each ballistic threat keeps its recent track positions p_k (with their
covariances R_k, taken from the tracks' P) and the state at the newest time
t_ref is the one whose free flight under the tracker's ballistic law best
explains them:

    x̂ = argmin Σ_k (p_k − h_k(x))' R_k⁻¹ (p_k − h_k(x)),   h_k(x) = pos(f(x, t_k − t_ref))

solved by Gauss–Newton with a finite-difference Jacobian (the 7 trajectories
x, x + δ e_i flown as one batch, backwards in time, by
`airpicture.tracking.motion.ballistic_propagate`). Its covariance is

    P = c (J' R⁻¹ J)⁻¹

with c ≥ 1 the χ² of the fit per degree of freedom (at least 1) times a
factor for the time correlation of filtered positions (successive snapshots
of one filter are not independent measurements).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from airpicture.tracking.linalg import symmetrize
from airpicture.tracking.motion import STATE_DIM, ballistic_propagate

FloatArray = NDArray[np.float64]

#: Finite-difference steps: metres for position, metres per second for velocity.
_STEPS = np.array([10.0, 10.0, 10.0, 0.1, 0.1, 0.1])


@dataclass(frozen=True)
class FitSettings:
    #: Snapshots of filtered positions are correlated over about this many
    #: snapshots: the fit's covariance is multiplied by it.
    correlation_factor: float = 2.5
    iterations: int = 4
    #: β used in the fit (drag matters only in the last tens of kilometres).
    beta_kg_m2: float = 4000.0
    #: Position variance floor (m²) so that one over-confident point cannot dominate.
    min_position_var_m2: float = 50.0**2


@dataclass(frozen=True)
class BallisticFit:
    x: FloatArray  # (6,) at t_ref
    P: FloatArray  # (6, 6)
    chi2_per_dof: float
    n_points: int
    ok: bool
    reason: str


def _positions(x: FloatArray, dt_s: FloatArray, beta: float) -> FloatArray:
    """Positions `(S, K, 3)` of states `(S, 6)` flown by each dt `(K,)`."""
    s, k = x.shape[0], dt_s.shape[0]
    states = np.repeat(x, k, axis=0)
    dts = np.tile(dt_s, s)
    out = ballistic_propagate(states, dts, beta)
    return out[:, :3].reshape(s, k, 3)


def fit_ballistic(
    times_s: FloatArray,
    pos_m: FloatArray,
    pos_cov_m2: FloatArray,
    t_ref_s: float,
    x0: FloatArray,
    settings: FitSettings | None = None,
) -> BallisticFit:
    """Gauss–Newton fit of the state at `t_ref_s` to positions `(K, 3)`, covariances `(K, 3, 3)`."""
    cfg = settings or FitSettings()
    k = times_s.shape[0]
    if k < 3:
        return BallisticFit(x0, np.full((6, 6), np.nan), np.nan, k, False, "fewer than 3 points")
    R = symmetrize(pos_cov_m2) + cfg.min_position_var_m2 * np.eye(3)
    try:
        # W = R⁻¹ = L⁻ᵀ L⁻¹: whiten residuals with L⁻¹
        Linv = np.linalg.inv(np.linalg.cholesky(R))
    except np.linalg.LinAlgError:
        return BallisticFit(x0, np.full((6, 6), np.nan), np.nan, k, False, "singular covariance")
    dt = times_s - t_ref_s
    x = x0.astype(np.float64).copy()
    J = np.zeros((3 * k, STATE_DIM))
    r = np.zeros(3 * k)
    for _ in range(cfg.iterations):
        batch = np.vstack([x, x + np.diag(_STEPS)])
        pred = _positions(batch, dt, cfg.beta_kg_m2)
        # whitened residual r = L⁻¹ (p − h(x)), whitened Jacobian J = L⁻¹ ∂h/∂x
        r = np.einsum("kij,kj->ki", Linv, pos_m - pred[0]).reshape(-1)
        dh = (pred[1:] - pred[0]) / _STEPS[:, None, None]  # (6, K, 3)
        J = np.einsum("kij,skj->kis", Linv, dh).reshape(3 * k, STATE_DIM)
        step, *_ = np.linalg.lstsq(J, r, rcond=None)
        if not np.isfinite(step).all():
            return BallisticFit(x, np.full((6, 6), np.nan), np.nan, k, False, "fit diverged")
        x = x + step
        if np.all(np.abs(step) < 0.1 * _STEPS):
            break
    pred = _positions(x[None, :], dt, cfg.beta_kg_m2)[0]
    r = np.einsum("kij,kj->ki", Linv, pos_m - pred).reshape(-1)
    dof = max(3 * k - STATE_DIM, 1)
    chi2 = float(r @ r) / dof
    JtJ = J.T @ J
    try:
        # P = c (J' W J)⁻¹
        P = max(chi2, 1.0) * cfg.correlation_factor * np.linalg.inv(JtJ)
    except np.linalg.LinAlgError:
        return BallisticFit(x, np.full((6, 6), np.nan), chi2, k, False, "unobservable geometry")
    return BallisticFit(x, symmetrize(P), chi2, k, bool(np.isfinite(P).all()), "")

"""A ballistic trajectory fitted to a threat's recent track positions (batch least squares).

A filter's velocity after a track swap, a manoeuvre-mode excursion or a
mis-association can be off by tens of metres per second, and an impact
predicted from it by hundreds of kilometres. Positions are far more robust.
So each ballistic threat keeps its recent track positions p_k (with their
covariances R_k, taken from the tracks' P) and the state at the newest time
t_ref, together with the logarithm of the ballistic coefficient β = m/(C_d A),
is the one whose free flight under the tracker's ballistic law best explains
them:

    θ̂ = argmin Σ_k (p_k − h_k(θ))' R_k⁻¹ (p_k − h_k(θ)) + ((ln β − ln β₀) / σ_β)²,
    θ = (x, ln β),   h_k(θ) = pos(f(x, β, t_k − t_ref))

solved by Gauss–Newton with a finite-difference Jacobian (the 8 trajectories
θ, θ + δ e_i flown as one batch, backwards in time, by
`airpicture.tracking.motion.ballistic_propagate`). Why β is estimated: a
depressed trajectory (apogee ~50 km) flies in air the whole way, where drag
decelerates it by 1–10 m/s²; a fixed β that is 30 % off bends the fitted
velocity and misses the impact by kilometres. Above ~80 km the positions say
nothing of β and the prior (the same as impact prediction's) is what remains.
The covariance

    P = (J' R⁻¹ J / c + Λ₀)⁻¹,   Λ₀ = diag(0, …, 0, 1/σ_β²)

deflates the positions' information by c ≥ 1, the χ² of the fit per degree of
freedom (at least 1) times a factor for the time correlation of filtered
positions (successive snapshots of one filter are not independent
measurements); the prior on ln β is not deflated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from airpicture.threat.impact import ImpactSettings
from airpicture.tracking.linalg import symmetrize
from airpicture.tracking.motion import STATE_DIM, ballistic_propagate

FloatArray = NDArray[np.float64]

#: The fitted parameters: the state and ln β.
PARAM_DIM = STATE_DIM + 1
#: Finite-difference steps: metres for position, metres per second for velocity, ln β.
_STEPS = np.array([10.0, 10.0, 10.0, 0.1, 0.1, 0.1, 0.05])
#: Largest change of ln β in one Gauss–Newton step (a factor e ≈ 2.7 in β).
_MAX_LOG_BETA_STEP = 1.0


@dataclass(frozen=True)
class FitSettings:
    #: Snapshots of filtered positions are correlated over about this many
    #: snapshots: the positions' information is divided by it.
    correlation_factor: float = 2.5
    iterations: int = 6
    #: Prior on β: median and log-standard deviation, those of impact prediction.
    beta_kg_m2: float = ImpactSettings.beta_median_kg_m2
    beta_log_sigma: float = ImpactSettings.beta_log_sigma
    #: Position variance floor (m²) so that one over-confident point cannot dominate.
    min_position_var_m2: float = 50.0**2


def _nan_cov(n: int) -> FloatArray:
    return np.full((n, n), np.nan)


@dataclass(frozen=True)
class BallisticFit:
    x: FloatArray  # (6,) at t_ref
    P: FloatArray  # (6, 6), the state's marginal of P_with_log_beta
    chi2_per_dof: float
    n_points: int
    ok: bool
    reason: str
    #: ln β estimated with the state (the prior's median where the air is too thin to tell).
    log_beta: float = math.nan
    #: Covariance of (x, ln β), (7, 7).
    P_with_log_beta: FloatArray = field(default_factory=lambda: _nan_cov(PARAM_DIM))

    @property
    def beta_kg_m2(self) -> float:
        return math.exp(self.log_beta)

    def state_at(self, dt_s: float) -> tuple[FloatArray, FloatArray]:
        """(x, ln β) `(7,)` flown `dt_s` from t_ref with the fitted β, and its covariance `(7, 7)`.

        P(t) = F P F',  F = ∂f/∂θ by finite differences (identity when dt = 0).
        The input of `threat.impact.predict_impact` for a prediction that uses the fitted β.
        """
        theta = np.r_[self.x, self.log_beta]
        if dt_s == 0.0:
            return theta, self.P_with_log_beta.copy()
        batch = np.vstack([theta, theta + np.diag(_STEPS)])
        flown = ballistic_propagate(batch[:, :STATE_DIM], np.full(PARAM_DIM + 1, dt_s),
                                    np.exp(batch[:, STATE_DIM]))  # fmt: skip
        F = np.eye(PARAM_DIM)
        F[:STATE_DIM] = ((flown[1:] - flown[0]) / _STEPS[:, None]).T
        # P(t) = F P F'
        P = F @ self.P_with_log_beta @ F.T
        return np.r_[flown[0], self.log_beta], symmetrize(P)


def _positions(theta: FloatArray, dt_s: FloatArray) -> FloatArray:
    """Positions `(S, K, 3)` of parameter vectors `(S, 7)` (state, ln β) flown by each dt `(K,)`."""
    s, k = theta.shape[0], dt_s.shape[0]
    states = np.repeat(theta[:, :STATE_DIM], k, axis=0)
    betas = np.repeat(np.exp(theta[:, STATE_DIM]), k)
    dts = np.tile(dt_s, s)
    out = ballistic_propagate(states, dts, betas)
    return out[:, :3].reshape(s, k, 3)


def _failed(x: FloatArray, chi2: float, k: int, reason: str) -> BallisticFit:
    return BallisticFit(x, _nan_cov(STATE_DIM), chi2, k, False, reason)


def fit_ballistic(
    times_s: FloatArray,
    pos_m: FloatArray,
    pos_cov_m2: FloatArray,
    t_ref_s: float,
    x0: FloatArray,
    settings: FitSettings | None = None,
) -> BallisticFit:
    """Gauss–Newton fit of the state at `t_ref_s` and ln β to positions `(K, 3)`,
    covariances `(K, 3, 3)`, starting from the state `x0 (6,)` and the prior's β."""
    cfg = settings or FitSettings()
    k = times_s.shape[0]
    if k < 3:
        return _failed(x0, np.nan, k, "fewer than 3 points")
    R = symmetrize(pos_cov_m2) + cfg.min_position_var_m2 * np.eye(3)
    try:
        # W = R⁻¹ = L⁻ᵀ L⁻¹: whiten residuals with L⁻¹
        Linv = np.linalg.inv(np.linalg.cholesky(R))
    except np.linalg.LinAlgError:
        return _failed(x0, np.nan, k, "singular covariance")
    dt = times_s - t_ref_s
    log_beta0 = math.log(cfg.beta_kg_m2)
    # The prior as one more whitened residual: r₀ = (ln β₀ − ln β) / σ_β, ∂r₀ = e₇ / σ_β
    prior_row = np.zeros(PARAM_DIM)
    prior_row[STATE_DIM] = 1.0 / cfg.beta_log_sigma
    theta = np.r_[np.asarray(x0, dtype=np.float64), log_beta0]
    J = np.zeros((3 * k, PARAM_DIM))
    for _ in range(cfg.iterations):
        batch = np.vstack([theta, theta + np.diag(_STEPS)])
        pred = _positions(batch, dt)
        # whitened residual r = L⁻¹ (p − h(θ)), whitened Jacobian J = L⁻¹ ∂h/∂θ
        r = np.einsum("kij,kj->ki", Linv, pos_m - pred[0]).reshape(-1)
        dh = (pred[1:] - pred[0]) / _STEPS[:, None, None]  # (7, K, 3)
        J = np.einsum("kij,skj->kis", Linv, dh).reshape(3 * k, PARAM_DIM)
        r_all = np.r_[r, (log_beta0 - theta[STATE_DIM]) / cfg.beta_log_sigma]
        step, *_ = np.linalg.lstsq(np.vstack([J, prior_row]), r_all, rcond=None)
        if not np.isfinite(step).all():
            return _failed(theta[:STATE_DIM], np.nan, k, "fit diverged")
        step[STATE_DIM] = np.clip(step[STATE_DIM], -_MAX_LOG_BETA_STEP, _MAX_LOG_BETA_STEP)
        theta = theta + step
        if np.all(np.abs(step) < 0.1 * _STEPS):
            break
    pred = _positions(theta[None, :], dt)[0]
    r = np.einsum("kij,kj->ki", Linv, pos_m - pred).reshape(-1)
    dof = max(3 * k - STATE_DIM, 1)
    chi2 = float(r @ r) / dof
    c = max(chi2, 1.0) * cfg.correlation_factor
    # P = (J' R⁻¹ J / c + Λ₀)⁻¹
    info = J.T @ J / c + np.outer(prior_row, prior_row)
    try:
        P_full = symmetrize(np.linalg.inv(info))
    except np.linalg.LinAlgError:
        return _failed(theta[:STATE_DIM], chi2, k, "unobservable geometry")
    ok = bool(np.isfinite(P_full).all() and np.isfinite(theta).all())
    return BallisticFit(
        x=theta[:STATE_DIM],
        P=P_full[:STATE_DIM, :STATE_DIM].copy(),
        chi2_per_dof=chi2,
        n_points=k,
        ok=ok,
        reason="" if ok else "fit not finite",
        log_beta=float(theta[STATE_DIM]),
        P_with_log_beta=P_full,
    )

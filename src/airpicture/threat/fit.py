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

    P = (J' R⁻¹ J / c + Λ₀)⁻¹,   Λ₀ = diag(0, …, 0, 1/σ_β²),   c = max(χ²/dof, 1) · c₀

deflates the positions' information: by the χ² of the fit per degree of
freedom (at least 1), and by c₀ for the time correlation of filtered positions
(successive snapshots of one filter are not independent measurements). The
same deflation enters the estimate, not only its covariance, so that the
positions, the prior on ln β and the ray below weigh in the solution as they
do in P; the prior is not deflated.

Rejected: a per-track c₀ from the filter's memory τ = √(tr P_pp / tr P_vv) (a
white-acceleration filter's time constant in steady state), meant to give a
coarse radar's track (FPS-5, 0.1°) a longer correlation than a fine one's.
Measured on the IMM's covariance, τ was 13–17 s for every track, coarse or
fine, so it only raised c₀ from 2.5 to ~3 everywhere and the ellipses held
the truth 97.4 % of the time, above the 93–97 % asked.

Dense air. The tracker's filters model drag with one fixed β (and some of
their IMM modes with none), so under the tens of m/s² of a re-entry their
positions lag or lead the missile by about a·τ_lag², a the drag deceleration
and τ_lag the filter's response time (observed: ~240 m at 21 km and 70 m/s²
on a 250 km-apogee shot, with the fitted ln β then driven 6 σ off to explain
it). Each position's covariance gets (τ_lag² a_k)² I added, a_k = ρ(h_k) v_k²
/ (2 β₀) from its height and the speed between neighbouring positions; above
~45 km a_k is under a m/s² and the term vanishes.

The burnout line of sight. A threat linked to a launch also has the space-IR
sensor's last line of sight to the booster, taken at most a frame before
burnout. Radar may first see a depressed shot (apogee ~50 km) ~100 s after
launch, leaving ≤ 60 s of 0.1° radar positions two minutes before impact: the
fitted vertical velocity was then ~100 m/s off, the impact 15–20 km. The ray
is a position fix 60–100 s before the radar arc, a long lever arm. The
ballistic trajectory flown back to the ray's time t_r is not where the missile
was — thrust still acted until burnout, up to ½ a_thrust Δt² ≈ 4 km *along*
the velocity — so only the component across both the ray u and the velocity
v̂ is used, one scalar residual:

    r_los = w · (pos(f(x, β, t_r − t_ref)) − o) / σ_los,   w = (u × v̂) / |u × v̂|

(o the satellite; w ⟂ u, so w · (p − o) is p's offset from the ray along w),
σ_los² = (ρ σ_angle)² + σ_pitch², ρ the range from the satellite and σ_pitch
the thrust's turn off the velocity in the last frame. It is an independent
measurement: its information is not deflated by c. It is used only when the
positions' own fit agrees with it, ν² / (H P H' + σ_los²) ≤ `los_gate` (a
salvo's missiles are ~15 km apart at burnout and a ray of a sibling's is
rejected).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from airpicture.geo import ecef_to_geodetic
from airpicture.geo.constants import AIR_DENSITY_SCALE_HEIGHT_M, SEA_LEVEL_AIR_DENSITY_KG_M3
from airpicture.threat.impact import BETA_RANGE_KG_M2, ImpactSettings
from airpicture.tracking.linalg import symmetrize
from airpicture.tracking.motion import STATE_DIM, ballistic_propagate
from airpicture.tracking.settings import BALLISTIC

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
    #: τ_lag² (s²): a filtered position's error per m/s² of drag deceleration.
    drag_lag_s2: float = 4.0
    #: The tracker's ballistic mode assumes this β: its filtered positions lead a missile
    #: that decelerates more than that mode predicts (and lag one that decelerates less)
    #: by about τ_lag² (a_drag(β) − a_drag(β_trk)) along the velocity; the fit models it.
    #: 0: no such bias term.
    tracker_beta_kg_m2: float = BALLISTIC.ballistic_coefficient_kg_m2
    #: Integration step (s) when a position lies below `dense_air_m`: the propagator's
    #: drag kick takes the density at the start of each step, and its 5 s default step
    #: descends ~10 km in a re-entry (density × 4): noiseless true positions of a depressed
    #: shot's last 80–40 s then fitted β 12 % low (1 s: 2 %), and diverged closer in.
    dense_air_step_s: float = 1.0
    dense_air_m: float = 60_000.0
    #: The burnout line of sight: angular noise (rad, as launch detection assumes),
    #: the thrust's turn off the velocity in the last frame (m, 1σ), and the gate
    #: on its normalised innovation squared (χ²₁ at 0.997).
    los_sigma_rad: float = 30e-6
    los_pitch_sigma_m: float = 1000.0
    los_gate: float = 9.0
    #: The tracker's own state at t_ref joins the fit as one more measurement, combined
    #: with the positions by covariance intersection (their errors are correlated by an
    #: unknown amount); False: positions (and ray) only. Off: measured on bench/threat.py
    #: (seeds 0-19) it brought the depressed shots 2 min before impact from 15 to 17 of
    #: 20 under 10 km, but the 95 % ellipses' coverage moved out of 93-97 % in three
    #: time-to-go bins, and in tests/threat/test_salvo.py one salvo missile's first
    #: impact area pointed at a sibling's aim point (docs/threat.md).
    use_track_state: bool = False


@dataclass(frozen=True)
class LineOfSight:
    """A space-IR sensor's line of sight to the booster: time, sensor position, unit ray (ECEF)."""

    time_s: float
    origin_ecef_m: FloatArray
    los_ecef: FloatArray


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
    #: Whether the burnout line of sight was used (given, and within its gate).
    used_los: bool = False

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


def _positions(
    theta: FloatArray, dt_s: FloatArray, cfg: FitSettings | None = None, max_step_s: float = 5.0
) -> FloatArray:
    """Positions `(S, K, 3)` of parameter vectors `(S, 7)` (state, ln β) flown by each dt `(K,)`;
    with `cfg` (its `tracker_beta_kg_m2` > 0), as the tracker's filter would report them:
    p + τ_lag² (a(β) − a(β_trk)) v̂, a(β) = ρ(h) |v|² / (2β) the drag deceleration."""
    s, k = theta.shape[0], dt_s.shape[0]
    states = np.repeat(theta[:, :STATE_DIM], k, axis=0)
    betas = np.repeat(np.exp(np.clip(theta[:, STATE_DIM], *np.log(BETA_RANGE_KG_M2))), k)
    dts = np.tile(dt_s, s)
    out = ballistic_propagate(states, dts, betas, max_step_s=max_step_s)
    pos = out[:, :3]
    if cfg is not None and cfg.tracker_beta_kg_m2 > 0.0:
        alt = ecef_to_geodetic(pos, refine=False)[2]
        rho = SEA_LEVEL_AIR_DENSITY_KG_M3 * np.exp(
            -np.maximum(alt, 0.0) / AIR_DENSITY_SCALE_HEIGHT_M
        )
        speed = np.linalg.norm(out[:, 3:], axis=1)
        # τ² (a(β) − a(β_trk)) along v̂:  τ² ρ |v| v (1/β − 1/β_trk) / 2
        gain = cfg.drag_lag_s2 * rho * speed * (1.0 / betas - 1.0 / cfg.tracker_beta_kg_m2) / 2.0
        pos = pos + gain[:, None] * out[:, 3:]
    return pos.reshape(s, k, 3)


def drag_lag_m(times_s: FloatArray, pos_m: FloatArray, cfg: FitSettings) -> FloatArray:
    """τ_lag² a_k (m) for positions `(K, 3)`: a_k = ρ(h_k) v_k² / (2 β₀), ρ(h) = ρ₀ e^(−h/H),
    v_k the speed between neighbouring positions (K ≥ 2)."""
    alt = ecef_to_geodetic(pos_m, refine=False)[2]
    speed = np.linalg.norm(np.gradient(pos_m, times_s, axis=0), axis=1)
    rho = SEA_LEVEL_AIR_DENSITY_KG_M3 * np.exp(-np.maximum(alt, 0.0) / AIR_DENSITY_SCALE_HEIGHT_M)
    lag: FloatArray = cfg.drag_lag_s2 * rho * speed**2 / (2.0 * cfg.beta_kg_m2)
    return np.where(np.isfinite(lag), lag, 0.0)


def _failed(x: FloatArray, chi2: float, k: int, reason: str) -> BallisticFit:
    return BallisticFit(x, _nan_cov(STATE_DIM), chi2, k, False, reason)


def _los_row(
    theta: FloatArray, los: LineOfSight, t_ref_s: float, cfg: FitSettings
) -> tuple[float, FloatArray, float]:
    """The line of sight's residual w · (p − o), its gradient ∂/∂θ `(7,)` and σ_los (m)."""
    batch = np.vstack([theta, theta + np.diag(_STEPS)])
    flown = ballistic_propagate(batch[:, :STATE_DIM], np.full(PARAM_DIM + 1, los.time_s - t_ref_s),
                                np.exp(batch[:, STATE_DIM]))  # fmt: skip
    u = los.los_ecef / np.linalg.norm(los.los_ecef)
    w = np.cross(u, flown[0, 3:])
    w /= np.linalg.norm(w)
    rel = flown[0, :3] - los.origin_ecef_m
    # σ_los² = (ρ σ_angle)² + σ_pitch²
    sigma = math.hypot(float(np.linalg.norm(rel)) * cfg.los_sigma_rad, cfg.los_pitch_sigma_m)
    grad = ((flown[1:, :3] - flown[0, :3]) / _STEPS[:, None]) @ w
    return float(w @ rel), grad, sigma


def fit_ballistic(
    times_s: FloatArray,
    pos_m: FloatArray,
    pos_cov_m2: FloatArray,
    t_ref_s: float,
    x0: FloatArray,
    settings: FitSettings | None = None,
    los: LineOfSight | None = None,
    track_P: FloatArray | None = None,
) -> BallisticFit:
    """Gauss–Newton fit of the state at `t_ref_s` and ln β to positions `(K, 3)`,
    covariances `(K, 3, 3)`, starting from the state `x0 (6,)` and the prior's β;
    with the burnout line of sight `los` too when the positions' fit agrees with it,
    and `x0` itself as a measurement with covariance `track_P (6, 6)` when given."""
    cfg = settings or FitSettings()
    k = times_s.shape[0]
    if k >= 2:
        pos_cov_m2 = pos_cov_m2 + (drag_lag_m(times_s, pos_m, cfg) ** 2)[:, None, None] * np.eye(3)
    corr = np.full(k, cfg.correlation_factor)
    fit = _fit(times_s, pos_m, pos_cov_m2, t_ref_s, x0, None, cfg, None, corr)
    if not fit.ok:
        return fit
    use_los = los is not None and math.isfinite(los.time_s)
    if use_los:
        assert los is not None
        theta = np.r_[fit.x, fit.log_beta]
        nu, grad, sigma = _los_row(theta, los, t_ref_s, cfg)
        # ν² / (H P H' + σ²) ≤ gate
        use_los = bool(nu**2 / (grad @ fit.P_with_log_beta @ grad + sigma**2) <= cfg.los_gate)
    track = None
    if cfg.use_track_state and track_P is not None and np.isfinite(track_P).all():
        track = _intersection(fit, np.asarray(x0, dtype=np.float64), track_P)
    if not use_los and track is None:
        return fit
    both = _fit(times_s, pos_m, pos_cov_m2, t_ref_s, fit.x, fit.log_beta, cfg,
                los if use_los else None, corr, track)  # fmt: skip
    return both if both.ok else fit


def _intersection(
    fit: BallisticFit, x_track: FloatArray, P_track: FloatArray
) -> tuple[FloatArray, FloatArray, float] | None:
    """Covariance intersection of the positions' fit and the track's state: the weight ω
    of the positions (the track gets 1 − ω) minimising det((ω P_fit⁻¹ + (1 − ω) P_trk⁻¹)⁻¹).
    Returns (x_track, L⁻¹ with L L' = P_trk, ω), or None when either is singular."""
    try:
        A = np.linalg.inv(symmetrize(fit.P))
        B = np.linalg.inv(symmetrize(P_track))
        Linv = np.linalg.inv(np.linalg.cholesky(symmetrize(P_track)))
    except np.linalg.LinAlgError:
        return None
    omegas = np.linspace(0.05, 0.95, 19)
    # ln det of the fused information (maximise = minimise the fused covariance's det)
    logdets = [np.linalg.slogdet(w * A + (1.0 - w) * B)[1] for w in omegas]
    return x_track, Linv, float(omegas[int(np.argmax(logdets))])


def _fit(
    times_s: FloatArray,
    pos_m: FloatArray,
    pos_cov_m2: FloatArray,
    t_ref_s: float,
    x0: FloatArray,
    log_beta_start: float | None,
    cfg: FitSettings,
    los: LineOfSight | None,
    corr: FloatArray,
    track: tuple[FloatArray, FloatArray, float] | None = None,
) -> BallisticFit:
    k = times_s.shape[0]
    if k < 3:
        return _failed(x0, np.nan, k, "fewer than 3 points")
    R = symmetrize(pos_cov_m2) + cfg.min_position_var_m2 * np.eye(3)
    try:
        # W = R⁻¹ = L⁻ᵀ L⁻¹: whiten residuals with L⁻¹
        Linv = np.linalg.inv(np.linalg.cholesky(R))
    except np.linalg.LinAlgError:
        return _failed(x0, np.nan, k, "singular covariance")
    # Each position's rows weighted by 1/√(its correlation factor), in the solve too.
    row_w = np.repeat(1.0 / np.sqrt(corr), 3)
    if track is not None:
        # Covariance intersection: the positions' information times ω, the track's times 1 − ω.
        row_w = row_w * math.sqrt(track[2])
        trk_w = math.sqrt(1.0 - track[2])
    dt = times_s - t_ref_s
    dense = float(np.min(ecef_to_geodetic(pos_m, refine=False)[2])) < cfg.dense_air_m
    step_s = cfg.dense_air_step_s if dense else 5.0
    log_beta0 = math.log(cfg.beta_kg_m2)
    # The prior as one more whitened residual: r₀ = (ln β₀ − ln β) / σ_β, ∂r₀ = e₇ / σ_β
    prior_row = np.zeros(PARAM_DIM)
    prior_row[STATE_DIM] = 1.0 / cfg.beta_log_sigma
    start = log_beta0 if log_beta_start is None else log_beta_start
    theta = np.r_[np.asarray(x0, dtype=np.float64), start]
    J = np.zeros((3 * k, PARAM_DIM))
    los_row = np.zeros(PARAM_DIM)
    trk_rows = np.zeros((0, PARAM_DIM))
    for _ in range(cfg.iterations):
        batch = np.vstack([theta, theta + np.diag(_STEPS)])
        pred = _positions(batch, dt, cfg, step_s)
        # whitened residual r = L⁻¹ (p − h(θ)), whitened Jacobian J = L⁻¹ ∂h/∂θ
        r = np.einsum("kij,kj->ki", Linv, pos_m - pred[0]).reshape(-1)
        dh = (pred[1:] - pred[0]) / _STEPS[:, None, None]  # (7, K, 3)
        J = np.einsum("kij,skj->kis", Linv, dh).reshape(3 * k, PARAM_DIM)
        rows = [J * row_w[:, None], prior_row[None, :]]
        r_all = np.r_[r * row_w, (log_beta0 - theta[STATE_DIM]) / cfg.beta_log_sigma]
        if los is not None:
            # The ray as one whitened residual: 0 − w·(p − o), gradient w·∂p/∂θ, over σ_los
            off, grad, sigma = _los_row(theta, los, t_ref_s, cfg)
            los_row = grad / sigma
            rows.append(los_row[None, :])
            r_all = np.r_[r_all, -off / sigma]
        if track is not None:
            # The track's state as a measurement of x: whitened L⁻¹ (x_trk − x), ∂ = L⁻¹ [I 0]
            trk_rows = np.zeros((STATE_DIM, PARAM_DIM))
            trk_rows[:, :STATE_DIM] = track[1] * trk_w
            rows.append(trk_rows)
            r_all = np.r_[r_all, track[1] @ (track[0] - theta[:STATE_DIM]) * trk_w]
        step, *_ = np.linalg.lstsq(np.vstack(rows), r_all, rcond=None)
        if not np.isfinite(step).all():
            return _failed(theta[:STATE_DIM], np.nan, k, "fit diverged")
        step[STATE_DIM] = np.clip(step[STATE_DIM], -_MAX_LOG_BETA_STEP, _MAX_LOG_BETA_STEP)
        theta = theta + step
        if np.all(np.abs(step) < 0.1 * _STEPS):
            break
    pred = _positions(theta[None, :], dt, cfg, step_s)[0]
    r = np.einsum("kij,kj->ki", Linv, pos_m - pred).reshape(-1)
    dof = max(3 * k - STATE_DIM, 1)
    chi2 = float(r @ r) / dof
    Jw = J * row_w[:, None]
    # P = (Σ J_k' R_k⁻¹ J_k / c_k + Λ₀ + h h')⁻¹,  h the ray's whitened gradient (0 without it)
    info = (
        Jw.T @ Jw / max(chi2, 1.0)
        + np.outer(prior_row, prior_row)
        + np.outer(los_row, los_row)
        + trk_rows.T @ trk_rows
    )
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
        used_los=los is not None,
    )

"""Filter maths: SPD invariants (property tests), motion models, EKF and IMM consistency."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from scipy.stats import chi2

from airpicture.geo import enu_basis, enu_vector_to_ecef, geodetic_to_ecef
from airpicture.tracking.imm import combine, imm_update, mix
from airpicture.tracking.linalg import (
    kalman_update,
    mahalanobis_sq,
    packed_mahalanobis_sq,
    small_inverse_det,
)
from airpicture.tracking.motion import (
    STATE_DIM,
    MotionModel,
    ballistic_propagate,
    ballistic_transition,
    frame_acceleration,
    predict,
    white_acceleration_noise,
)
from airpicture.tracking.settings import BALLISTIC, CV, DEFAULT_SWITCHING, MANOEUVRE
from tests.tracking.test_measurement import sensor


def random_spd(rng: np.random.Generator, n: int, k: int, scale: float) -> np.ndarray:
    A = rng.normal(size=(k, n, n)) * scale
    return A @ np.swapaxes(A, 1, 2) + np.eye(n) * scale * 1e-3


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    pos_scale=st.floats(1.0, 1e5),
    meas_scale=st.floats(1e-3, 1e4),
    dim=st.integers(1, 4),
)
def test_kalman_update_keeps_covariance_spd(
    seed: int, pos_scale: float, meas_scale: float, dim: int
) -> None:
    rng = np.random.default_rng(seed)
    P = random_spd(rng, STATE_DIM, 5, pos_scale)
    H = rng.normal(size=(5, dim, STATE_DIM))
    R = random_spd(rng, dim, 5, meas_scale)
    x = rng.normal(size=(5, STATE_DIM))
    nu = rng.normal(size=(5, dim))
    _, P_new, d2, _ = kalman_update(x, P, nu, H, R)
    np.testing.assert_array_equal(P_new, np.swapaxes(P_new, 1, 2))
    assert np.all(np.linalg.eigvalsh(P_new).min(axis=1) > -1e-9 * np.abs(P_new).max())
    assert np.all(d2 >= 0.0)
    # Information never gets lost: P⁺ ≤ P⁻ in trace.
    assert np.all(np.trace(P_new, axis1=1, axis2=2) <= np.trace(P, axis1=1, axis2=2) * (1 + 1e-9))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), dt=st.floats(-10.0, 60.0), q=st.floats(0.0, 1e3))
def test_predictions_keep_covariance_spd(seed: int, dt: float, q: float) -> None:
    rng = np.random.default_rng(seed)
    P = random_spd(rng, STATE_DIM, 4, 100.0)
    x = np.zeros((4, STATE_DIM))
    x[:, :3] = geodetic_to_ecef(rng.uniform(-60, 60, 4), rng.uniform(-180, 180, 4), 1e4)
    dts = np.full(4, dt)
    for model in (MotionModel("cv", "cv", q), MotionModel("b", "ballistic", q)):
        _, P_pred = predict(x, P, dts, model)
        np.testing.assert_array_equal(P_pred, np.swapaxes(P_pred, 1, 2))
        assert np.all(np.linalg.eigvalsh(P_pred).min(axis=1) > -1e-6)
    Q = white_acceleration_noise(dts, q)
    assert np.all(np.linalg.eigvalsh(Q).min(axis=1) > -1e-9)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), d=st.integers(1, 4))
def test_small_inverse_matches_numpy(seed: int, d: int) -> None:
    rng = np.random.default_rng(seed)
    S = random_spd(rng, d, 6, 10.0)
    inv, det = small_inverse_det(S)
    np.testing.assert_allclose(inv @ S, np.broadcast_to(np.eye(d), S.shape), atol=1e-6)
    np.testing.assert_allclose(det, np.linalg.det(S), rtol=1e-8)
    nu = rng.normal(size=(6, d))
    d2, log_det = mahalanobis_sq(nu, S)
    expected = np.einsum("ki,kij,kj->k", nu, np.linalg.inv(S), nu)
    np.testing.assert_allclose(d2, expected, rtol=1e-7)
    np.testing.assert_allclose(log_det, np.log(np.linalg.det(S)), rtol=1e-9, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), d=st.integers(1, 3))
def test_packed_mahalanobis_matches_the_matrix_form(seed: int, d: int) -> None:
    """The gate's entry-by-entry d² and ln det S equal the stacked-matrix ones."""
    rng = np.random.default_rng(seed)
    scale = np.diag(10.0 ** rng.uniform(-4.0, 2.0, d))
    S = scale @ random_spd(rng, d, 6, 10.0) @ scale
    nu = rng.normal(size=(6, d)) @ scale
    packed = {(a, b): S[:, a, b].copy() for a in range(d) for b in range(a, d)}
    d2, log_det = packed_mahalanobis_sq(nu, packed)
    expect_d2, expect_log_det = mahalanobis_sq(nu, S)
    np.testing.assert_allclose(d2, expect_d2, rtol=1e-7)
    np.testing.assert_allclose(log_det, expect_log_det, rtol=1e-9, atol=1e-9)


def test_cv_prediction_is_exact_straight_line() -> None:
    x = np.array([[1e6, 2e6, 3e6, 100.0, -50.0, 10.0]])
    x_pred, _ = predict(x, np.eye(6)[None], np.array([7.0]), CV)
    np.testing.assert_allclose(x_pred[0, :3], x[0, :3] + 7.0 * x[0, 3:])


def test_ballistic_propagation_matches_a_reference_integrator() -> None:
    """Above the atmosphere the split Heun steps agree with a tight RK45 of the same law."""
    x0 = np.zeros((1, 6))
    x0[0, :3] = geodetic_to_ecef(40.0, 130.0, 300_000.0)
    x0[0, 3:] = enu_vector_to_ecef(np.array([2000.0, 1000.0, 1500.0]), enu_basis(40.0, 130.0))

    def rates(_t: float, y: np.ndarray) -> np.ndarray:
        return np.concatenate([y[3:], frame_acceleration(y[None])[0]])

    ref = solve_ivp(rates, (0.0, 60.0), x0[0], rtol=1e-11, atol=1e-6).y[:, -1]
    ours = ballistic_propagate(x0, np.array([60.0]), beta_kg_m2=1e12)[0]
    assert np.linalg.norm(ours[:3] - ref[:3]) < 5.0
    assert np.linalg.norm(ours[3:] - ref[3:]) < 0.2


def test_ballistic_transition_matches_finite_differences() -> None:
    x0 = np.zeros((1, 6))
    x0[0, :3] = geodetic_to_ecef(35.0, 135.0, 200_000.0)
    x0[0, 3:] = [1500.0, -800.0, 900.0]
    dt = np.array([4.0])
    F = ballistic_transition(x0, dt)[0]
    numeric = np.zeros((6, 6))
    for k in range(6):
        step = 10.0 if k < 3 else 0.1
        dx = np.zeros(6)
        dx[k] = step
        up = ballistic_propagate(x0 + dx, dt, 1e12)[0]
        down = ballistic_propagate(x0 - dx, dt, 1e12)[0]
        numeric[:, k] = (up - down) / (2 * step)
    np.testing.assert_allclose(F, numeric, atol=1e-4)


def test_ballistic_drag_is_stable_in_dense_air() -> None:
    x = np.zeros((1, 6))
    x[0, :3] = geodetic_to_ecef(36.0, 138.0, 2000.0)
    x[0, 3:] = [20_000.0, 0.0, 0.0]
    out = ballistic_propagate(x, np.array([10.0]), 3000.0)
    assert np.all(np.isfinite(out))
    assert np.linalg.norm(out[0, 3:]) < 20_000.0


def test_mix_and_combine_preserve_identical_modes() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 6))
    P = random_spd(rng, 6, 4, 5.0)
    xm = np.repeat(x[:, None], 3, axis=1)
    Pm = np.repeat(P[:, None], 3, axis=1)
    mu = np.full((4, 3), 1 / 3)
    x0, P0, c = mix(xm, Pm, mu, DEFAULT_SWITCHING.matrix(np.full(4, 5.0)))
    np.testing.assert_allclose(x0, xm, atol=1e-12)
    np.testing.assert_allclose(P0, Pm, atol=1e-10)
    np.testing.assert_allclose(c.sum(axis=1), 1.0)
    xc, Pc = combine(xm, Pm, mu)
    np.testing.assert_allclose(xc, x, atol=1e-12)
    np.testing.assert_allclose(Pc, P, atol=1e-10)


def _cv_truth(rng: np.random.Generator, n: int, steps: int, dt: float, q: float) -> np.ndarray:
    """Truth of a discrete white-noise-acceleration process, exactly the filter's model."""
    lat, lon = 36.0 + rng.uniform(-1, 1, n), 138.0 + rng.uniform(-1, 1, n)
    x = np.zeros((n, 6))
    x[:, :3] = geodetic_to_ecef(lat, lon, 9000.0)
    x[:, 3:] = enu_vector_to_ecef(
        np.stack([rng.uniform(-200, 200, n), rng.uniform(-200, 200, n), np.zeros(n)], -1),
        enu_basis(lat, lon),
    )
    Q = white_acceleration_noise(np.array([dt]), q)[0]
    L = np.linalg.cholesky(Q)
    out = [x]
    for _ in range(steps):
        nxt = out[-1].copy()
        nxt[:, :3] += dt * nxt[:, 3:]
        out.append(nxt + rng.normal(size=(n, 6)) @ L.T)
    return np.stack(out)


def test_ekf_is_consistent_nees_within_chi_square_bounds() -> None:
    """Average NEES over 300 seeded Monte Carlo runs sits in the 99% two-sided χ² interval."""
    rng = np.random.default_rng(42)
    n, steps, dt, q = 300, 40, 5.0, 0.5
    s = sensor("radar")
    truth = _cv_truth(rng, n, steps, dt, q)
    model = MotionModel("cv", "cv", q)
    sig = np.array([s.sigma_range_m, s.sigma_az_rad, s.sigma_el_rad])
    x = truth[0] + rng.normal(size=(n, 6)) * [100, 100, 100, 30, 30, 30]
    P = np.broadcast_to(np.diag([1e4] * 3 + [900.0] * 3), (n, 6, 6)).copy()
    nees = []
    for k in range(1, steps + 1):
        x, P = predict(x, P, np.full(n, dt), model)
        z = s.measure(truth[k], False) + rng.normal(size=(n, 3)) * sig
        H = s.jacobian(x, False)
        x, P, _, _ = kalman_update(x, P, s.residual(z, s.measure(x, False)), H, s.noise(z, False))
        if k > 10:
            e = x - truth[k]
            nees.append(np.einsum("ki,kij,kj->k", e, np.linalg.inv(P), e).mean())
    mean_nees = float(np.mean(nees))
    dof = STATE_DIM * n
    lo, hi = chi2.ppf(0.005, dof) / n, chi2.ppf(0.995, dof) / n
    assert lo < mean_nees < hi, (lo, mean_nees, hi)


def test_imm_picks_the_right_mode_and_stays_credible() -> None:
    """On a nearly-CV truth the IMM favours CV and is not over-confident (NEES ≤ bound)."""
    rng = np.random.default_rng(7)
    n, steps, dt = 200, 30, 5.0
    s = sensor("radar")
    truth = _cv_truth(rng, n, steps, dt, 0.5)
    models = (CV, MANOEUVRE, BALLISTIC)
    sig = np.array([s.sigma_range_m, s.sigma_az_rad, s.sigma_el_rad])
    x = truth[0] + rng.normal(size=(n, 6)) * [100, 100, 100, 30, 30, 30]
    P = np.broadcast_to(np.diag([1e4] * 3 + [900.0] * 3), (n, 6, 6)).copy()
    xm, Pm = np.repeat(x[:, None], 3, axis=1), np.repeat(P[:, None], 3, axis=1)
    mu = np.tile([0.6, 0.3, 0.1], (n, 1))
    nees = []

    def measure_fn(xx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return s.measure(xx, False), s.jacobian(xx, False)

    def residual_fn(z: np.ndarray, zp: np.ndarray) -> np.ndarray:
        return s.residual(z, zp)

    for k in range(1, steps + 1):
        z = s.measure(truth[k], False) + rng.normal(size=(n, 3)) * sig
        step = imm_update(
            xm, Pm, mu, np.full(n, dt), z, s.noise(z, False), models, DEFAULT_SWITCHING,
            measure_fn, residual_fn,
        )  # fmt: skip
        xm, Pm, mu = step.xm, step.Pm, step.mu
        np.testing.assert_allclose(mu.sum(axis=1), 1.0)
        if k > 10:
            e = step.x - truth[k]
            nees.append(np.einsum("ki,kij,kj->k", e, np.linalg.inv(step.P), e).mean())
    assert float(np.mean(mu[:, 0])) > 0.6
    assert float(np.mean(nees)) < chi2.ppf(0.995, STATE_DIM * n) / n
    assert math.isfinite(float(np.mean(nees)))

"""The compiled kernels equal the textbook NumPy forms they replace (seeded data)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from airpicture.geo import WGS84_A_M, WGS84_FLATTENING, ecef_to_geodetic, geodetic_to_ecef
from airpicture.tracking.association import pregate_pairs
from airpicture.tracking.imm import combine, mix
from airpicture.tracking.kernels import ellipsoidal_height
from airpicture.tracking.linalg import kalman_update, spd_inverse
from airpicture.tracking.motion import (
    STATE_DIM,
    ballistic_transition,
    cv_covariance,
    predict,
    white_acceleration_noise,
)
from airpicture.tracking.settings import BALLISTIC, CV, DEFAULT_SWITCHING
from tests.tracking.test_filters import random_spd


def states(rng: np.random.Generator, k: int) -> np.ndarray:
    pos = geodetic_to_ecef(
        rng.uniform(-60, 60, k), rng.uniform(-180, 180, k), rng.uniform(0, 3e5, k)
    )
    return np.hstack([pos, rng.normal(0.0, 500.0, (k, 3))])


@pytest.mark.parametrize("dim", [1, 2, 3, 4, 6])
def test_spd_inverse_is_the_inverse(dim: int) -> None:
    rng = np.random.default_rng(dim)
    S = random_spd(rng, dim, 20, 100.0)
    np.testing.assert_allclose(spd_inverse(S) @ S, np.broadcast_to(np.eye(dim), S.shape), atol=1e-8)
    # Any leading batch shape.
    np.testing.assert_allclose(
        spd_inverse(S.reshape(4, 5, dim, dim)).reshape(S.shape), spd_inverse(S)
    )


@pytest.mark.parametrize("dim", [1, 2, 3, 4])
def test_kalman_update_is_the_textbook_joseph_form(dim: int) -> None:
    rng = np.random.default_rng(10 + dim)
    P = random_spd(rng, STATE_DIM, 30, 300.0)
    H = rng.normal(size=(30, dim, STATE_DIM))
    R = random_spd(rng, dim, 30, 10.0)
    x = rng.normal(size=(30, STATE_DIM))
    nu = rng.normal(size=(30, dim))
    x_new, P_new, d2, log_det = kalman_update(x, P, nu, H, R)
    Ht = np.swapaxes(H, 1, 2)
    S = H @ P @ Ht + R
    K = P @ Ht @ np.linalg.inv(S)
    IKH = np.eye(STATE_DIM) - K @ H
    P_ref = IKH @ P @ np.swapaxes(IKH, 1, 2) + K @ R @ np.swapaxes(K, 1, 2)
    np.testing.assert_allclose(x_new, x + (K @ nu[:, :, None])[:, :, 0], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(P_new, P_ref, rtol=1e-8, atol=1e-8 * np.abs(P_ref).max())
    np.testing.assert_allclose(d2, np.einsum("ki,kij,kj->k", nu, np.linalg.inv(S), nu), rtol=1e-9)
    np.testing.assert_allclose(log_det, np.linalg.slogdet(S)[1], rtol=1e-9, atol=1e-12)


def test_mix_and_combine_are_the_imm_sums() -> None:
    rng = np.random.default_rng(3)
    K, M = 25, 3
    xm = rng.normal(size=(K, M, STATE_DIM)) * 100.0
    Pm = random_spd(rng, STATE_DIM, K * M, 50.0).reshape(K, M, STATE_DIM, STATE_DIM)
    mu = rng.dirichlet(np.ones(M), K)
    Pi = DEFAULT_SWITCHING.matrix(rng.uniform(-2.0, 10.0, K))
    x0, P0, c = mix(xm, Pm, mu, Pi)
    joint = Pi * mu[:, :, None]
    c_ref = joint.sum(axis=1)
    w = joint / c_ref[:, None, :]
    x0_ref = np.einsum("kij,kin->kjn", w, xm)
    dx = xm[:, None, :, :] - x0_ref[:, :, None, :]
    P0_ref = np.einsum("kij,kiab->kjab", w, Pm) + np.einsum("kij,kjia,kjib->kjab", w, dx, dx)
    np.testing.assert_allclose(c, c_ref, rtol=1e-12)
    np.testing.assert_allclose(x0, x0_ref, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(P0, P0_ref, rtol=1e-10, atol=1e-8)
    x, P = combine(xm, Pm, mu)
    x_ref = np.einsum("kj,kjn->kn", mu, xm)
    d = xm - x_ref[:, None, :]
    P_ref = np.einsum("kj,kjab->kab", mu, Pm) + np.einsum("kj,kja,kjb->kab", mu, d, d)
    np.testing.assert_allclose(x, x_ref, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(P, P_ref, rtol=1e-10, atol=1e-8)


def test_cv_and_ballistic_covariance_are_fpf_plus_q() -> None:
    rng = np.random.default_rng(4)
    x = states(rng, 40)
    P = random_spd(rng, STATE_DIM, 40, 200.0)
    dt = rng.uniform(-3.0, 12.0, 40)
    _, P_cv = predict(x, P, dt, CV)
    P_ref = cv_covariance(P, dt) + white_acceleration_noise(dt, CV.q_m2_s3)
    np.testing.assert_allclose(P_cv, 0.5 * (P_ref + np.swapaxes(P_ref, 1, 2)), rtol=1e-12)
    _, P_bal = predict(x, P, dt, BALLISTIC)
    F = ballistic_transition(x, dt)
    P_ref = F @ P @ np.swapaxes(F, 1, 2) + white_acceleration_noise(dt, BALLISTIC.q_m2_s3)
    np.testing.assert_allclose(P_bal, P_ref, rtol=1e-9, atol=1e-9 * np.abs(P_ref).max())
    np.testing.assert_array_equal(P_bal, np.swapaxes(P_bal, 1, 2))
    # Slices of a mode stack (not contiguous) give the same as copies.
    stack = np.stack([x, x], axis=1)
    np.testing.assert_array_equal(predict(stack[:, 1], P, dt, CV)[0], predict(x, P, dt, CV)[0])


@pytest.mark.parametrize("dim", [2, 3])
def test_grid_pregate_finds_exactly_the_pairs_within_each_radius(dim: int) -> None:
    rng = np.random.default_rng(5 + dim)
    tracks = rng.uniform(0.0, 4e5, (700, dim))
    reports = np.vstack([tracks[:500] + rng.normal(0.0, 800.0, (500, dim)),
                         rng.uniform(0.0, 4e5, (300, dim))])  # fmt: skip
    # A few very uncertain tracks among precise ones, and one at infinity.
    radius = np.where(
        rng.random(700) < 0.1, rng.uniform(2e4, 1.5e5, 700), rng.uniform(500, 5e3, 700)
    )
    tracks[3] = np.inf
    t, m = pregate_pairs(tracks, radius, reports)
    lists = cKDTree(reports).query_ball_point(np.where(np.isfinite(tracks), tracks, 1e30), radius)
    expected = {(i, j) for i, found in enumerate(lists) for j in found}
    assert set(zip(t.tolist(), m.tolist(), strict=True)) == expected
    assert t.size == len(expected)


def heights(xyz: np.ndarray) -> np.ndarray:
    return np.array([ellipsoidal_height(*p, WGS84_A_M, WGS84_FLATTENING) for p in xyz])


@pytest.mark.parametrize(
    ("lat_deg", "lon_deg", "alt_m"),
    [
        (0.0, 0.0, 0.0),
        (0.0, 180.0, -1e3),
        (90.0, 0.0, 0.0),
        (-90.0, 45.0, 5e5),
        (89.99999, 10.0, 100.0),  # inside PROJ's polar branch (cos φ < 1e-6)
        (-89.9999, -170.0, -100.0),  # just outside it
        (45.0, -179.999, 35_786e3),  # geostationary height
        (30.0, 120.0, -6e6),  # deep under the ellipsoid
    ],
)
def test_ellipsoidal_height_is_projs(lat_deg: float, lon_deg: float, alt_m: float) -> None:
    xyz = geodetic_to_ecef(lat_deg, lon_deg, alt_m)[None]
    np.testing.assert_allclose(heights(xyz), ecef_to_geodetic(xyz, refine=False)[2], atol=1e-8)


def test_ellipsoidal_height_is_projs_everywhere_and_at_the_centre() -> None:
    rng = np.random.default_rng(6)
    xyz = geodetic_to_ecef(
        rng.uniform(-90, 90, 3000), rng.uniform(-180, 180, 3000), rng.uniform(-2e4, 4e7, 3000)
    )
    xyz = np.vstack([xyz, np.zeros((1, 3)), [[0.0, 0.0, -1.0]], [[np.nan, 0.0, 0.0]]])
    h, h_proj = heights(xyz), ecef_to_geodetic(xyz, refine=False)[2]
    # The same operations: most heights to the bit, the rest within rounding.
    assert np.mean(h[:-1] == h_proj[:-1]) > 0.99
    np.testing.assert_allclose(h[:-1], h_proj[:-1], rtol=0.0, atol=1e-8)
    assert np.isnan(h[-1])

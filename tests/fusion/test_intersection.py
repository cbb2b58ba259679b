"""Covariance intersection: weights, consistency under unknown correlation, batching."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from airpicture.fusion import covariance_intersection, ifci_weights
from airpicture.tracking.linalg import spd_inverse


def random_spd(rng: np.random.Generator, n: int, k: int = 6) -> np.ndarray:
    A = rng.normal(size=(n, k, k)) * rng.uniform(0.1, 100.0, size=(n, 1, k))
    return A @ A.transpose(0, 2, 1) + np.eye(k)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.lists(st.integers(1, 4), min_size=1, max_size=5))
def test_weights_are_a_partition_of_one_and_fusion_is_spd(seed: int, sizes: list[int]) -> None:
    rng = np.random.default_rng(seed)
    group = np.repeat(np.arange(len(sizes)), sizes)
    P = random_spd(rng, group.size)
    x = rng.normal(size=(group.size, 6)) * 100.0
    x_f, P_f, w = covariance_intersection(x, P, group, len(sizes))
    assert np.all(w >= 0.0)
    assert np.allclose(np.bincount(group, weights=w), 1.0)
    assert np.allclose(P_f, P_f.transpose(0, 2, 1))
    assert np.all(np.linalg.eigvalsh(P_f) > 0.0)
    # Batched = one group at a time.
    for g in range(len(sizes)):
        rows = group == g
        x1, P1, _ = covariance_intersection(x[rows], P[rows], np.zeros(rows.sum(), np.intp), 1)
        assert np.allclose(x1[0], x_f[g], rtol=1e-9, atol=1e-6)
        assert np.allclose(P1[0], P_f[g], rtol=1e-9)


def test_one_estimate_is_returned_unchanged() -> None:
    rng = np.random.default_rng(1)
    P = random_spd(rng, 3)
    x = rng.normal(size=(3, 6))
    x_f, P_f, w = covariance_intersection(x, P, np.arange(3), 3)
    assert np.array_equal(x_f, x) and np.array_equal(P_f, P) and np.all(w == 1.0)


def test_weights_are_near_the_determinant_optimum() -> None:
    rng = np.random.default_rng(2)
    for _ in range(20):
        P = random_spd(rng, 2)
        info = spd_inverse(P)
        closed = ifci_weights(info, np.zeros(2, np.intp), 1)[0]
        _, _, weights = covariance_intersection(np.zeros((2, 6)), P, np.zeros(2, np.intp), 1)
        w = weights[0]

        def log_det(omega: float, info: np.ndarray = info) -> float:
            return -float(np.linalg.slogdet(omega * info[0] + (1 - omega) * info[1])[1])

        best = minimize_scalar(log_det, bounds=(0.0, 1.0), method="bounded")
        # Within 2 % of the optimal determinant, and no worse than the closed form.
        assert log_det(w) - best.fun < np.log(1.02)
        assert log_det(w) <= log_det(closed) + 1e-9


def test_consistent_when_errors_are_strongly_correlated() -> None:
    """Two estimates sharing most of their error: CI's covariance still covers the error."""
    rng = np.random.default_rng(3)
    n = 4000
    P_common = np.diag([400.0, 400.0, 900.0, 4.0, 4.0, 9.0])
    P_own = np.diag([100.0, 300.0, 100.0, 1.0, 3.0, 1.0])
    L_c, L_o = np.linalg.cholesky(P_common), np.linalg.cholesky(P_own)
    shared = rng.normal(size=(n, 6)) @ L_c.T
    e_a = shared + rng.normal(size=(n, 6)) @ L_o.T
    e_b = shared + rng.normal(size=(n, 6)) @ L_o[::-1, ::-1].T
    P_a = np.broadcast_to(P_common + P_own, (n, 6, 6)).copy()
    P_b = np.broadcast_to(P_common + P_own[::-1, ::-1], (n, 6, 6)).copy()
    x = np.concatenate([e_a, e_b])
    P = np.concatenate([P_a, P_b])
    group = np.concatenate([np.arange(n), np.arange(n)])
    x_f, P_f, _ = covariance_intersection(x, P, group, n)
    nees = np.einsum("ni,nij,nj->n", x_f, spd_inverse(P_f), x_f)
    assert nees.mean() <= 6.0 * 1.05  # consistent: no more error than it claims
    # The naive Kalman combination (independence assumed) is over-confident here.
    info = spd_inverse(P_a[:1])[0] + spd_inverse(P_b[:1])[0]
    P_kf = np.linalg.inv(info)
    x_kf = (P_kf @ (spd_inverse(P_a[:1])[0] @ e_a.T + spd_inverse(P_b[:1])[0] @ e_b.T)).T
    assert np.einsum("ni,ij,nj->n", x_kf, info, x_kf).mean() > 6.0 * 1.2

"""Ellipse maths: covariance ↔ ellipse round trips, confidence scaling, coverage."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.threat.ellipse import (
    chi2_2dof_scale,
    covariance_to_ellipse,
    ellipse_to_covariance,
    inside_ellipse,
    mahalanobis_sq_2d,
)


@settings(max_examples=200, deadline=None)
@given(
    major=st.floats(1.0, 1e6),
    ratio=st.floats(0.01, 1.0),
    theta=st.floats(0.0, 179.9),
    p=st.floats(0.5, 0.999),
)
def test_ellipse_covariance_round_trip(major: float, ratio: float, theta: float, p: float) -> None:
    minor = major * ratio
    C = ellipse_to_covariance(major, minor, theta, p)
    assert np.allclose(C, C.T)
    a, b, th = covariance_to_ellipse(C, p)
    assert a == pytest.approx(major, rel=1e-9)
    assert b == pytest.approx(minor, rel=1e-6)
    if ratio < 0.999:
        assert min(abs(th - theta), 180.0 - abs(th - theta)) < 1e-5


@settings(max_examples=100, deadline=None)
@given(
    sx=st.floats(1.0, 1e5), sy=st.floats(1.0, 1e5), rho=st.floats(-0.95, 0.95)
)  # fmt: skip
def test_covariance_ellipse_round_trip(sx: float, sy: float, rho: float) -> None:
    C = np.array([[sx * sx, rho * sx * sy], [rho * sx * sy, sy * sy]])
    a, b, th = covariance_to_ellipse(C, 0.95)
    assert np.allclose(ellipse_to_covariance(a, b, th, 0.95), C, rtol=1e-7, atol=1e-9 * sx * sy)


def test_confidence_scaling() -> None:
    C = np.diag([4.0, 1.0])
    a95, b95, _ = covariance_to_ellipse(C, 0.95)
    a50, b50, _ = covariance_to_ellipse(C, 0.5)
    # k(p) = √(−2 ln(1 − p)):  k(0.95) = 2.4477, k(0.5) = 1.1774
    assert a95 == pytest.approx(2.0 * 2.447746830680816)
    assert a95 / a50 == pytest.approx(b95 / b50) == pytest.approx(2.447746830680816 / 1.1774100225)
    with pytest.raises(ValueError, match="confidence"):
        chi2_2dof_scale(1.0)


def test_orientation_is_azimuth_of_major_axis() -> None:
    # Major axis east-west → 90°; north-south → 0°.
    assert covariance_to_ellipse(np.diag([9.0, 1.0]))[2] == pytest.approx(90.0)
    assert covariance_to_ellipse(np.diag([1.0, 9.0]))[2] == pytest.approx(0.0)


def test_batch_broadcasts() -> None:
    C = np.stack([np.diag([4.0, 1.0]), np.diag([1.0, 9.0])])
    a, b, th = covariance_to_ellipse(C)
    assert a.shape == b.shape == th.shape == (2,)


def test_coverage_of_gaussian_samples() -> None:
    rng = np.random.default_rng(11)
    C = np.array([[4e6, 1.5e6], [1.5e6, 1e6]])
    d = rng.multivariate_normal([0.0, 0.0], C, size=20000)
    frac = inside_ellipse(d, C, 0.95).mean()
    assert frac == pytest.approx(0.95, abs=0.006)


def test_singular_covariance() -> None:
    C = np.zeros((2, 2))
    assert mahalanobis_sq_2d(np.array([0.0, 0.0]), C) == 0.0
    assert np.isinf(mahalanobis_sq_2d(np.array([1.0, 0.0]), C))
    a, b, _ = covariance_to_ellipse(C)
    assert a == 0.0 and b == 0.0

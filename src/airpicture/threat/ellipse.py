"""Horizontal error ellipses: a 2×2 east/north covariance ↔ semi-axes and orientation.

For a Gaussian horizontal error with covariance C, the region holding the truth
with probability p is the ellipse d' C⁻¹ d ≤ k², k² = χ²₂(p) = −2 ln(1 − p)
(the χ² distribution with 2 degrees of freedom has the closed-form quantile).
Its semi-axes are k √λ for the eigenvalues λ of C; its orientation is the
azimuth of the major axis, degrees clockwise from north in [0, 180).

Every function takes a batch: `cov_en_m2 (..., 2, 2)` with axes (east, north).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def chi2_2dof_scale(confidence: ArrayLike) -> FloatArray:
    """k = √χ²₂(p) = √(−2 ln(1 − p)): the ellipse's semi-axes in standard deviations.

    >>> round(float(chi2_2dof_scale(0.95)), 4)
    2.4477
    """
    p = np.asarray(confidence, dtype=np.float64)
    if np.any((p <= 0.0) | (p >= 1.0)):
        raise ValueError(f"confidence must lie in (0, 1), got {p}")
    return np.sqrt(-2.0 * np.log1p(-p))


def covariance_to_ellipse(
    cov_en_m2: ArrayLike, confidence: ArrayLike = 0.95
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(semi_major_m, semi_minor_m, orientation_deg) of the `confidence` ellipse of C.

    C = λ₁ u₁ u₁' + λ₂ u₂ u₂' (λ₁ ≥ λ₂):  a = k √λ₁,  b = k √λ₂,
    orientation = atan2(u₁_east, u₁_north) mod 180°.
    Negative eigenvalues (an indefinite input) are clipped to 0.
    """
    C = np.asarray(cov_en_m2, dtype=np.float64)
    C = 0.5 * (C + np.swapaxes(C, -1, -2))
    lam, vec = np.linalg.eigh(C)  # ascending
    k = chi2_2dof_scale(confidence)
    major = k * np.sqrt(np.maximum(lam[..., 1], 0.0))
    minor = k * np.sqrt(np.maximum(lam[..., 0], 0.0))
    u = vec[..., :, 1]
    orientation = np.degrees(np.arctan2(u[..., 0], u[..., 1])) % 180.0
    # A circle has no orientation: report 0 rather than an eigenvector's whim.
    orientation = np.where(np.isclose(major, minor, rtol=1e-9, atol=0.0), 0.0, orientation)
    return major, minor, orientation


def ellipse_to_covariance(
    semi_major_m: ArrayLike,
    semi_minor_m: ArrayLike,
    orientation_deg: ArrayLike,
    confidence: ArrayLike = 0.95,
) -> FloatArray:
    """The covariance whose `confidence` ellipse this is, `(..., 2, 2)` (east, north).

    u₁ = (sin θ, cos θ), u₂ = (cos θ, −sin θ);  C = (a/k)² u₁u₁' + (b/k)² u₂u₂'
    """
    a, b, theta_deg = np.broadcast_arrays(
        np.asarray(semi_major_m, dtype=np.float64),
        np.asarray(semi_minor_m, dtype=np.float64),
        np.asarray(orientation_deg, dtype=np.float64),
    )
    k = chi2_2dof_scale(confidence)
    theta = np.radians(theta_deg)
    u1 = np.stack([np.sin(theta), np.cos(theta)], axis=-1)
    u2 = np.stack([np.cos(theta), -np.sin(theta)], axis=-1)
    C: FloatArray = ((a / k) ** 2)[..., None, None] * np.einsum("...i,...j->...ij", u1, u1) + (
        (b / k) ** 2
    )[..., None, None] * np.einsum("...i,...j->...ij", u2, u2)
    return C


def mahalanobis_sq_2d(d_en_m: ArrayLike, cov_en_m2: ArrayLike) -> FloatArray:
    """d' C⁻¹ d for horizontal offsets `(..., 2)`; +inf where C is singular and d ≠ 0."""
    d = np.asarray(d_en_m, dtype=np.float64)
    C = np.asarray(cov_en_m2, dtype=np.float64)
    a, b, c = C[..., 0, 0], 0.5 * (C[..., 0, 1] + C[..., 1, 0]), C[..., 1, 1]
    det = a * c - b * b
    # C⁻¹ = [[c, −b], [−b, a]] / det
    num = c * d[..., 0] ** 2 - 2.0 * b * d[..., 0] * d[..., 1] + a * d[..., 1] ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(det > 0.0, num / np.where(det > 0.0, det, 1.0), np.inf)
    out = np.where((det <= 0.0) & (np.hypot(d[..., 0], d[..., 1]) == 0.0), 0.0, out)
    return np.asarray(out, dtype=np.float64)


def inside_ellipse(d_en_m: ArrayLike, cov_en_m2: ArrayLike, confidence: ArrayLike) -> BoolArray:
    """Whether each offset lies inside the `confidence` ellipse: d' C⁻¹ d ≤ k²."""
    k = chi2_2dof_scale(confidence)
    result: BoolArray = mahalanobis_sq_2d(d_en_m, cov_en_m2) <= k**2
    return result

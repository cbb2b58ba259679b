"""Earth masking: can a sensor see a target over the curved, refracting Earth?

Two models, both vectorized over batches:

* radars: the 4/3-Earth model. Standard atmospheric refraction bends radar rays
  down with about a quarter of the Earth's curvature, which is the same as
  straight rays over a sphere of radius k·R (k = 4/3). A target is visible when
  the straight line to it in that geometry clears the effective sphere.
* optical sensors in space: straight rays; the line of sight must clear the
  WGS-84 ellipsoid itself.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from airpicture.geo.constants import MEAN_EARTH_RADIUS_M, WGS84_A_M, WGS84_B_M
from airpicture.geo.frames import geodesic_distance_m

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Effective Earth radius factor of the standard atmosphere.
STANDARD_REFRACTION_K: Final[float] = 4.0 / 3.0


def _segment_min_distance(p1: FloatArray, p2: FloatArray) -> FloatArray:
    """Smallest distance from the origin to the segment p1→p2, over the last axis."""
    d = p2 - p1
    dd = np.einsum("...i,...i->...", d, d)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(dd > 0.0, -np.einsum("...i,...i->...", p1, d) / dd, 0.0)
    t = np.clip(t, 0.0, 1.0)
    closest = p1 + t[..., None] * d
    distance: FloatArray = np.sqrt(np.einsum("...i,...i->...", closest, closest))
    return distance


def refracted_elevation_and_visibility(
    sensor_lat_deg: ArrayLike,
    sensor_lon_deg: ArrayLike,
    sensor_alt_m: ArrayLike,
    target_lat_deg: ArrayLike,
    target_lon_deg: ArrayLike,
    target_alt_m: ArrayLike,
    k: float = STANDARD_REFRACTION_K,
) -> tuple[FloatArray, BoolArray]:
    """Apparent elevation (degrees) and radar line of sight under the k-Earth model.

    The ground distance along the ellipsoid maps to the central angle
    θ' = s / (k R) of the effective sphere; the sensor sits at radius kR + h_s,
    the target at kR + h_t. The ray is a straight line there:
        el_app = atan2(r_t cos θ' − r_s, r_t sin θ')
    and the target is visible when that segment stays outside the sphere.
    """
    effective_r = k * MEAN_EARTH_RADIUS_M
    ground_m = geodesic_distance_m(sensor_lat_deg, sensor_lon_deg, target_lat_deg, target_lon_deg)
    theta = ground_m / effective_r
    r_s = effective_r + np.asarray(sensor_alt_m, dtype=np.float64)
    r_t = effective_r + np.asarray(target_alt_m, dtype=np.float64)
    r_s, r_t, theta = np.broadcast_arrays(r_s, r_t, theta)
    p_sensor = np.stack([np.zeros_like(r_s), r_s], axis=-1)
    p_target = np.stack([r_t * np.sin(theta), r_t * np.cos(theta)], axis=-1)
    elevation = np.degrees(np.arctan2(p_target[..., 1] - r_s, p_target[..., 0]))
    # A metre of slack so a target on the surface at zero range is not masked by rounding.
    visible = _segment_min_distance(p_sensor, p_target) >= effective_r - 1.0
    return elevation, visible


def clears_ellipsoid(a_ecef_m: ArrayLike, b_ecef_m: ArrayLike) -> BoolArray:
    """True where the straight segment between two ECEF points does not pass through the Earth.

    Scaling the axes by (1/a, 1/a, 1/b) maps the WGS-84 ellipsoid to the unit
    sphere and straight lines to straight lines, so the test becomes a
    segment-to-sphere distance.
    """
    scale = np.array([1.0 / WGS84_A_M, 1.0 / WGS84_A_M, 1.0 / WGS84_B_M])
    a = np.asarray(a_ecef_m, dtype=np.float64) * scale
    b = np.asarray(b_ecef_m, dtype=np.float64) * scale
    a, b = np.broadcast_arrays(a, b)
    # 1e-7 of an Earth radius (≈ 0.6 m): points on the surface still see the sky.
    return _segment_min_distance(a, b) >= 1.0 - 1e-7

"""The one gravity field: its constants are PROJ's Earth, its two forms agree, its values are
the textbook's, its gradient is its derivative."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from airpicture.geo import GEOD, geodetic_to_ecef
from airpicture.geo.constants import (
    EARTH_ROTATION_RAD_S,
    WGS84_A_M,
    WGS84_B_M,
    WGS84_FLATTENING,
)
from airpicture.geo.gravity import (
    BALLISTIC_CONSTANTS,
    dynamics_jacobian,
    dynamics_jacobian_into,
    frame_acceleration_into,
    gravity_j2_mps2,
    rotating_frame_acceleration_mps2,
)

#: From the ground to geostationary altitude (35,786 km) and a little beyond.
altitudes_m = st.floats(0.0, 36_000_000.0)
latitudes = st.floats(-90.0, 90.0)
longitudes = st.floats(-180.0, 180.0)
speeds = st.floats(-8000.0, 8000.0)


def test_the_ellipsoid_is_projs_wgs84_bit_for_bit() -> None:
    assert (GEOD.a, GEOD.b, GEOD.f) == (WGS84_A_M, WGS84_B_M, WGS84_FLATTENING)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(latitudes, longitudes, altitudes_m, speeds, speeds, speeds)
@example(90.0, 0.0, 0.0, 0.0, 0.0, 0.0)
@example(-90.0, 45.0, 0.0, 100.0, -200.0, 300.0)
@example(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
@example(0.0, -75.0, 35_786_000.0, 3075.0, 0.0, 0.0)
def test_the_numba_form_equals_the_numpy_form(
    lat: float, lon: float, alt: float, ve: float, vn: float, vu: float
) -> None:
    r = geodetic_to_ecef(lat, lon, alt)
    v = np.array([ve, vn, vu])
    state = np.concatenate([r, v])
    compiled = np.empty(3)
    frame_acceleration_into(state, BALLISTIC_CONSTANTS, compiled)
    vectorised = rotating_frame_acceleration_mps2(r, v)
    assert np.linalg.norm(compiled - vectorised) <= 1e-12 * np.linalg.norm(vectorised)
    jacobian = np.empty((6, 6))
    dynamics_jacobian_into(state, BALLISTIC_CONSTANTS, jacobian)
    expected = dynamics_jacobian(state)
    assert np.abs(jacobian - expected).max() <= 1e-12 * np.abs(expected).max()


# WGS-84 normal gravity on the ellipsoid (NIMA TR8350.2, 3rd ed., table 3.4): gravitation
# plus the centrifugal term. The J2 field leaves out the higher harmonics (J4 ≈ −1.6e-6, ...):
# measured 4.4e-6 off at the equator, 1.2e-5 at the poles.
@pytest.mark.parametrize(
    ("lat_deg", "normal_gravity_mps2"),
    [(0.0, 9.7803253359), (90.0, 9.8321849378), (-90.0, 9.8321849378)],
    ids=["equator", "north pole", "south pole"],
)
def test_sea_level_gravity_is_the_textbook_value(
    lat_deg: float, normal_gravity_mps2: float
) -> None:
    r = geodetic_to_ecef(lat_deg, 30.0, 0.0)
    g = rotating_frame_acceleration_mps2(r, np.zeros(3))
    assert np.linalg.norm(g) == pytest.approx(normal_gravity_mps2, rel=2e-5)


def test_gravity_points_down_and_the_equator_pulls_harder_than_a_point_mass() -> None:
    # The equatorial bulge adds 3/2 J2 of pull at the equator and takes 3 J2 at the pole.
    equator = np.array([WGS84_A_M, 0.0, 0.0])
    pole = np.array([0.0, 0.0, WGS84_A_M])
    point_mass = BALLISTIC_CONSTANTS[0] / WGS84_A_M**2
    g_eq, g_pole = gravity_j2_mps2(equator), gravity_j2_mps2(pole)
    assert g_eq[0] < 0 and g_eq[1] == 0 and g_eq[2] == 0
    assert g_pole[2] < 0 and g_pole[0] == 0 and g_pole[1] == 0
    j2 = BALLISTIC_CONSTANTS[1]
    assert -g_eq[0] == pytest.approx(point_mass * (1 + 1.5 * j2), rel=1e-14)
    assert -g_pole[2] == pytest.approx(point_mass * (1 - 3.0 * j2), rel=1e-14)


def test_the_rotating_frame_terms_are_coriolis_and_centrifugal() -> None:
    r = np.array([7e6, 1e6, 2e6])
    v = np.array([100.0, -2000.0, 300.0])
    omega = np.array([0.0, 0.0, EARTH_ROTATION_RAD_S])
    expected = gravity_j2_mps2(r) - 2.0 * np.cross(omega, v) - np.cross(omega, np.cross(omega, r))
    assert rotating_frame_acceleration_mps2(r, v) == pytest.approx(expected, rel=1e-14)


def test_the_numpy_form_broadcasts_batch_first() -> None:
    rng = np.random.default_rng(7)
    r = rng.normal(size=(2, 4, 3)) * 7e6
    v = rng.normal(size=(2, 4, 3)) * 1e3
    batch = rotating_frame_acceleration_mps2(r, v)
    assert batch.shape == (2, 4, 3)
    assert np.array_equal(batch[1, 2], rotating_frame_acceleration_mps2(r[1, 2], v[1, 2]))
    assert dynamics_jacobian(np.concatenate([r, v], axis=-1)).shape == (2, 4, 6, 6)


@pytest.mark.parametrize("lat_deg", [0.0, 45.0, 90.0])
def test_the_jacobian_is_the_derivative_of_free_flight(lat_deg: float) -> None:
    # Central differences of ẏ = (v, a(r, v)) with the full (J2) field: the point-mass
    # gradient misses only the J2 share of ∂a/∂r (measured 0.3 % at the equator to 0.6 %
    # at the pole: ~5 J2); every other block is exact.
    state = np.concatenate([geodetic_to_ecef(lat_deg, 10.0, 300_000.0), [1000.0, 2000.0, -500.0]])

    def derivative(y: np.ndarray) -> np.ndarray:
        return np.concatenate([y[3:], rotating_frame_acceleration_mps2(y[:3], y[3:])])

    h = 10.0
    numeric = np.empty((6, 6))
    for b in range(6):
        step = np.zeros(6)
        step[b] = h
        numeric[:, b] = (derivative(state + step) - derivative(state - step)) / (2 * h)
    A = dynamics_jacobian(state)
    G, G_numeric = A[3:, :3], numeric[3:, :3]
    assert np.abs(G - G_numeric).max() <= 8e-3 * np.abs(G_numeric).max()
    assert A[:3] == pytest.approx(numeric[:3], abs=1e-12)
    assert A[3:, 3:] == pytest.approx(numeric[3:, 3:], abs=1e-12)

"""Geodesy: round trips (hypothesis), edge cases (parametrized), broadcasting."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.geo import (
    aer_to_enu,
    clears_ellipsoid,
    ecef_to_enu,
    ecef_to_geodetic,
    ecef_to_sensor,
    enu_basis,
    enu_to_aer,
    enu_to_ecef,
    geodesic_distance_m,
    geodetic_to_ecef,
    refracted_elevation_and_visibility,
)

latitudes = st.floats(-90.0, 90.0)
longitudes = st.floats(-180.0, 180.0)
altitudes = st.floats(-10_000.0, 40_000_000.0)


@settings(max_examples=300, deadline=None)
@given(latitudes, longitudes, altitudes)
def test_geodetic_ecef_round_trip_is_sub_millimetre(lat: float, lon: float, alt: float) -> None:
    xyz = geodetic_to_ecef(lat, lon, alt)
    back = geodetic_to_ecef(*ecef_to_geodetic(xyz))
    assert np.linalg.norm(back - xyz) < 1e-3


@settings(max_examples=200, deadline=None)
@given(latitudes, longitudes, st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.floats(-1e5, 1e6))
def test_enu_round_trip(lat: float, lon: float, e: float, n: float, u: float) -> None:
    origin = geodetic_to_ecef(lat, lon, 100.0)
    basis = enu_basis(lat, lon)
    enu = np.array([e, n, u])
    assert np.allclose(ecef_to_enu(enu_to_ecef(enu, origin, basis), origin, basis), enu, atol=1e-6)
    # The basis is a rotation: orthonormal, right-handed.
    assert np.allclose(basis @ basis.T, np.eye(3), atol=1e-12)
    assert np.isclose(np.linalg.det(basis), 1.0)


@settings(max_examples=200, deadline=None)
@given(st.floats(0.0, 359.999), st.floats(-89.9, 89.9), st.floats(1.0, 4e7))
def test_aer_round_trip(az: float, el: float, rng: float) -> None:
    az2, el2, rng2 = enu_to_aer(aer_to_enu(az, el, rng))
    assert abs((az2 - az + 180.0) % 360.0 - 180.0) < 1e-7
    assert abs(el2 - el) < 1e-7
    assert abs(rng2 - rng) < 1e-6 * rng


@pytest.mark.parametrize(
    ("lat", "lon", "alt", "expected_xyz"),
    [
        (0.0, 0.0, 0.0, (6378137.0, 0.0, 0.0)),
        (90.0, 0.0, 0.0, (0.0, 0.0, 6356752.314245)),  # north pole: semi-minor axis
        (-90.0, 123.0, 0.0, (0.0, 0.0, -6356752.314245)),  # south pole, any longitude
        (0.0, 180.0, 0.0, (-6378137.0, 0.0, 0.0)),  # antimeridian
        (0.0, -180.0, 0.0, (-6378137.0, 0.0, 0.0)),  # the same meridian from the west
        (0.0, 90.0, -1000.0, (0.0, 6377137.0, 0.0)),  # below the ellipsoid
        (0.0, 140.0, 35_786_000.0, (-32_299_602.85, 27_102_584.84, 0.0)),  # geostationary
    ],
)
def test_geodetic_to_ecef_edge_cases(
    lat: float, lon: float, alt: float, expected_xyz: tuple[float, float, float]
) -> None:
    assert np.allclose(geodetic_to_ecef(lat, lon, alt), expected_xyz, atol=0.1)


@pytest.mark.parametrize(
    ("sensor", "target", "expected_az", "expected_el"),
    [
        # Southern hemisphere sensor (Darwin) looking due north along its meridian.
        ((-12.41, 130.88, 0.0), (-11.41, 130.88, 0.0), 0.0, None),
        # Across the antimeridian: east of 179.5 E is 179.5 W.
        ((0.0, 179.5, 0.0), (0.0, -179.5, 0.0), 90.0, None),
        # Near the pole, due north crosses over the pole.
        ((89.0, 0.0, 0.0), (89.0, 180.0, 0.0), 0.0, None),
        # A geostationary satellite looks straight down at its sub-satellite point.
        ((0.0, 140.0, 35_786_000.0), (0.0, 140.0, 0.0), None, -90.0),
    ],
)
def test_sensor_angles_edge_cases(
    sensor: tuple[float, float, float],
    target: tuple[float, float, float],
    expected_az: float | None,
    expected_el: float | None,
) -> None:
    site = geodetic_to_ecef(*sensor)
    rng, az, el, _ = ecef_to_sensor(
        geodetic_to_ecef(*target), np.zeros(3), site, enu_basis(*sensor[:2])
    )
    if expected_az is not None:
        assert abs((az - expected_az + 180.0) % 360.0 - 180.0) < 0.01
    if expected_el is not None:
        assert abs(el - expected_el) < 1e-6
    assert rng > 0


def test_functions_broadcast_single_points_and_batches() -> None:
    lat = np.array([[10.0, 20.0, 30.0], [-10.0, -20.0, -30.0]])
    lon = np.array([100.0, 110.0, 120.0])
    alt = 1000.0
    xyz = geodetic_to_ecef(lat, lon, alt)
    assert xyz.shape == (2, 3, 3)
    single = geodetic_to_ecef(lat[1, 2], lon[2], alt)
    assert single.shape == (3,)
    assert np.allclose(xyz[1, 2], single)
    basis = enu_basis(lat, lon)
    assert basis.shape == (2, 3, 3, 3)
    rng, az, el, rr = ecef_to_sensor(
        xyz, np.ones((2, 3, 3)), geodetic_to_ecef(0, 0, 0), enu_basis(0, 0)
    )
    assert rng.shape == az.shape == el.shape == rr.shape == (2, 3)


def test_range_rate_is_velocity_along_line_of_sight() -> None:
    site_lla = (35.0, 139.0, 0.0)
    site = geodetic_to_ecef(*site_lla)
    basis = enu_basis(35.0, 139.0)
    target = enu_to_ecef(np.array([0.0, 100_000.0, 5000.0]), site, basis)
    los = (target - site) / np.linalg.norm(target - site)
    velocity = 300.0 * los + 50.0 * np.cross(los, [0.0, 0.0, 1.0])
    _, _, _, range_rate = ecef_to_sensor(target, velocity, site, basis)
    assert np.isclose(range_rate, 300.0)


def test_radar_horizon_matches_the_four_thirds_earth_formula() -> None:
    """The 4/3-Earth horizon distance is √(2kR h_s) + √(2kR h_t)."""
    k_r = 4.0 / 3.0 * 6_371_008.8
    h_s, h_t = 100.0, 10_000.0
    horizon = np.sqrt(2 * k_r * h_s) + np.sqrt(2 * k_r * h_t)
    from airpicture.geo import geodesic_forward

    lats, lons, _ = geodesic_forward(35.0, 139.0, 0.0, np.array([0.98, 1.02]) * horizon)
    _, visible = refracted_elevation_and_visibility(35.0, 139.0, h_s, lats, lons, h_t)
    assert visible.tolist() == [True, False]
    # A target straight above is always visible, with an elevation near 90°.
    el, visible = refracted_elevation_and_visibility(35.0, 139.0, h_s, 35.0, 139.0, 50_000.0)
    assert visible and el > 89.0


def test_earth_blocks_the_far_side_from_a_geostationary_satellite() -> None:
    sat = geodetic_to_ecef(0.0, 140.0, 35_786_000.0)
    targets = geodetic_to_ecef([40.0, 40.0, 0.0, -70.0], [125.0, -40.0, 140.0, 140.0], 10_000.0)
    assert clears_ellipsoid(sat, targets).tolist() == [True, False, True, True]
    assert np.isclose(geodesic_distance_m(0.0, 0.0, 0.0, 1.0), 111_319.49, atol=0.01)

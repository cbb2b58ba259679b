"""Measurement models: Jacobians against finite differences, round trips, conventions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from airpicture.geo import (
    ecef_to_geodetic,
    ecef_to_sensor,
    enu_basis,
    enu_vector_to_ecef,
    geodesic_bearing_deg,
    geodesic_distance_m,
    geodetic_to_ecef,
)
from airpicture.tracking.initiation import InitiationPrior, initial_states
from airpicture.tracking.measurement import (
    ADSB,
    MEASUREMENT_MODELS,
    MeasurementModel,
    OTHRadar,
    Radar2D,
    Radar3D,
    SensorValueError,
    SpaceIR,
    UnknownSensorTypeError,
    measurement_model,
)


def sensor(kind: str, **kw: float) -> MeasurementModel:
    """A sensor of each kind with typical sigmas (`kw` overrides them)."""
    alt = 35_786_000.0 if kind == "space_ir" else 100.0
    lat, lon = (0.0, 140.0) if kind == "space_ir" else (36.0, 138.0)
    site = {"sensor_id": kind, "nation": "JPN", "lat_deg": lat, "lon_deg": lon, "alt_m": alt,
            "pd": 0.9, "revisit_s": 5.0}  # fmt: skip
    polar = {"sigma_range_m": 50.0, "sigma_az_rad": math.radians(0.1)}
    sigmas: dict[str, float]
    if kind == "radar":
        sigmas = {**polar, "sigma_el_rad": math.radians(0.1), **kw}
        return Radar3D(**site, **sigmas)  # type: ignore[arg-type]
    if kind == "radar2d":
        return Radar2D(**site, **{**polar, **kw})  # type: ignore[arg-type]
    if kind == "oth":
        return OTHRadar(**site, **{**polar, **kw})  # type: ignore[arg-type]
    if kind == "space_ir":
        return SpaceIR(**site, sigma_los_rad=20e-6)  # type: ignore[arg-type]
    return ADSB(**site, sigma_pos_m=30.0)  # type: ignore[arg-type]


def states(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lat = 36.5 + rng.uniform(-2, 2, n)
    lon = 138.5 + rng.uniform(-2, 2, n)
    alt = rng.uniform(2000, 12000, n)
    vel = enu_vector_to_ecef(
        np.stack([rng.uniform(-250, 250, n), rng.uniform(-250, 250, n), rng.uniform(-5, 5, n)], -1),
        enu_basis(lat, lon),
    )
    return np.concatenate([geodetic_to_ecef(lat, lon, alt), vel], axis=-1)


CASES = [
    ("radar", False),
    ("radar", True),
    ("radar2d", False),
    ("oth", False),
    ("space_ir", False),
    ("adsb", False),
]


@pytest.mark.parametrize(("kind", "rr"), CASES)
def test_jacobian_matches_finite_differences(kind: str, rr: bool) -> None:
    s = sensor(kind, **({"sigma_range_rate_mps": 1.0} if rr else {}))
    if kind == "oth":
        s = sensor(kind, sigma_range_m=5000.0, sigma_az_rad=math.radians(0.5))
    x = states(8)
    if kind == "oth":  # over the horizon: 1000+ km from the site
        x[:, :3] = geodetic_to_ecef(26.0 + np.arange(8) * 0.3, 128.0, 9000.0)
    H = s.jacobian(x, rr)
    steps = np.array([1.0, 1.0, 1.0, 0.01, 0.01, 0.01])
    numeric = np.zeros_like(H)
    for k in range(6):
        dx = np.zeros(6)
        dx[k] = steps[k]
        up = s.measure(x + dx, rr)
        down = s.measure(x - dx, rr)
        numeric[:, :, k] = s.residual(up, down) / (2 * steps[k])
    scale = np.maximum(np.abs(numeric).max(axis=(0, 2), keepdims=True), 1e-12)
    tol = 5e-3 if kind == "oth" else 1e-5
    np.testing.assert_allclose(H / scale, numeric / scale, atol=tol)


def test_radar_measure_matches_geo_conventions() -> None:
    s = sensor("radar", sigma_range_rate_mps=1.0)
    x = states(20)
    z = s.measure(x, True)
    rng_m, az_deg, el_deg, rr = ecef_to_sensor(x[:, :3], x[:, 3:], s.ecef_m, s.basis)
    np.testing.assert_allclose(z[:, 0], rng_m, rtol=1e-12)
    np.testing.assert_allclose(np.degrees(z[:, 1]), az_deg, atol=1e-9)
    np.testing.assert_allclose(np.degrees(z[:, 2]), el_deg, atol=1e-9)
    np.testing.assert_allclose(z[:, 3], rr, atol=1e-9)


def test_oth_measures_geodesic_ground_range_and_bearing() -> None:
    s = sensor("oth")
    x = states(5)
    lat, lon, _ = ecef_to_geodetic(x[:, :3])
    z = s.measure(x, False)
    np.testing.assert_allclose(z[:, 0], geodesic_distance_m(36.0, 138.0, lat, lon), rtol=1e-12)
    np.testing.assert_allclose(
        np.degrees(z[:, 1]), geodesic_bearing_deg(36.0, 138.0, lat, lon), atol=1e-9
    )


@pytest.mark.parametrize("kind", ["radar", "radar2d", "oth", "adsb"])
def test_initial_position_reproduces_the_measurement(kind: str) -> None:
    s = sensor(kind)
    x = states(10)
    z = s.measure(x, False)
    pos = s.initial_position(z, InitiationPrior().unobserved_alt_m)
    x0 = np.concatenate([pos, np.zeros_like(pos)], axis=-1)
    np.testing.assert_allclose(s.residual(s.measure(x0, False), z), 0.0, atol=1e-6)


def test_radar2d_initiation_has_wide_altitude_and_tight_horizontal() -> None:
    s = sensor("radar2d")
    x = states(4)
    z = s.measure(x, False)
    x0, P0 = initial_states(s, z, False, InitiationPrior())
    lat, lon, _ = ecef_to_geodetic(x0[:, :3])
    B = enu_basis(lat, lon)
    P_enu = B @ P0[:, :3, :3] @ np.swapaxes(B, 1, 2)
    sigma_up = np.sqrt(P_enu[:, 2, 2])
    assert np.all(sigma_up > 2000.0)  # the prior, not a fake measurement
    assert np.all(np.linalg.eigvalsh(P0) > 0.0)


def test_adsb_plots_become_ecef_positions() -> None:
    s = sensor("adsb")
    plots = {"lat_deg": np.array([35.0]), "lon_deg": np.array([139.0]), "alt_m": np.array([1e4])}
    z = s.z_from_reports(plots, False)
    np.testing.assert_allclose(z[0], geodetic_to_ecef(35.0, 139.0, 1e4))
    np.testing.assert_allclose(s.noise(z, False)[0], 900.0 * np.eye(3))


def test_space_ir_azimuth_noise_grows_with_cos_elevation() -> None:
    s = sensor("space_ir")
    z = np.array([[1.0, -math.radians(80.0)]])
    R = s.noise(z, False)[0]
    assert R[0, 0] == pytest.approx((20e-6 / math.cos(math.radians(80.0))) ** 2)
    assert R[1, 1] == pytest.approx((20e-6) ** 2)


def test_azimuth_residual_wraps() -> None:
    s = sensor("radar")
    nu = s.residual(np.array([[1e5, math.radians(0.1), 0.0]]), np.array([[1e5, 6.2, 0.0]]))
    assert abs(nu[0, 1]) < 0.1


def test_every_registered_model_is_built_from_its_scenario_type() -> None:
    from airpicture.scenario import load_scenario

    scenario = load_scenario("scenarios/pacific-shield.yaml").scenario
    built = {type(measurement_model(spec)) for spec in scenario.sensors}
    assert built <= set(MEASUREMENT_MODELS.values())
    for model_class in MEASUREMENT_MODELS.values():
        # Every reply to "what do I do with a report no track took" has exactly one answer.
        assert model_class.can_initiate != model_class.update_only  # type: ignore[attr-defined]


def test_an_unknown_sensor_type_names_the_sensor_and_the_known_types() -> None:
    from types import SimpleNamespace

    spec = SimpleNamespace(id="X-1", nation="JPN", type="lidar", lat_deg=0.0, lon_deg=0.0,
                           alt_m=0.0, pd=0.9)  # fmt: skip
    with pytest.raises(UnknownSensorTypeError, match=r"X-1.*lidar.*radar, radar2d"):
        measurement_model(spec)  # type: ignore[arg-type]


def test_a_sensor_lacking_a_sigma_fails_at_construction_with_its_id() -> None:
    with pytest.raises(SensorValueError, match=r"R-9.*sigma_el_rad"):
        Radar3D(sensor_id="R-9", nation="JPN", lat_deg=36.0, lon_deg=138.0, alt_m=0.0, pd=0.9,
                revisit_s=5.0, sigma_range_m=50.0, sigma_az_rad=0.002,
                sigma_el_rad=float("nan"))  # fmt: skip
    with pytest.raises(SensorValueError, match=r"R-9.*sigma_range_rate_mps"):
        Radar3D(sensor_id="R-9", nation="JPN", lat_deg=36.0, lon_deg=138.0, alt_m=0.0, pd=0.9,
                revisit_s=5.0, sigma_range_m=50.0, sigma_az_rad=0.002, sigma_el_rad=0.002,
                sigma_range_rate_mps=-1.0)  # fmt: skip


def test_range_rate_of_a_radar_without_it_is_refused_with_the_sensor_id() -> None:
    s = sensor("radar")
    plots = {"range_m": np.array([1e5]), "az_deg": np.array([1.0]), "el_deg": np.array([1.0]),
             "range_rate_mps": np.array([3.0])}  # fmt: skip
    with pytest.raises(SensorValueError, match=r"radar.*sigma_range_rate_mps"):
        s.z_from_reports(plots, True)

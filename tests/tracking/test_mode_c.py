"""The 2D radar's Mode C measurement model: h(x), its Jacobian, initiation, a seeded scenario."""

from __future__ import annotations

import math

import numpy as np

from airpicture.geo import ecef_to_geodetic, enu_basis, geodetic_to_ecef
from airpicture.geo.atmosphere import pressure_altitude_m
from airpicture.tracking.initiation import InitiationPrior, initial_states
from airpicture.tracking.measurement import sensor_models
from airpicture.tracking.measurement.radar2d import MODE_C_SIGMA_M, Radar2D, Radar2DModeC
from tests.sim.scenarios import run, scenario, target_reports, truth_at_reports
from tests.sim.test_mode_c import RADAR2D, TRAFFIC

SITE = {"sensor_id": "S", "nation": "JPN", "lat_deg": 35.0, "lon_deg": 139.0, "alt_m": 100.0}


def _radar() -> Radar2D:
    return Radar2D(**SITE, pd=0.9, revisit_s=10.0, sigma_range_m=60.0, sigma_az_rad=1e-3)


def _states(n: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lat = 35.0 + rng.uniform(-1.5, 1.5, n)
    lon = 139.0 + rng.uniform(-1.5, 1.5, n)
    alt = rng.uniform(500.0, 14_000.0, n)
    x = np.zeros((n, 6))
    x[:, :3] = geodetic_to_ecef(lat, lon, alt)
    x[:, 3:] = rng.normal(0.0, 200.0, (n, 3))
    return x


def test_measurement_is_range_azimuth_and_isa_pressure_altitude() -> None:
    radar = _radar()
    model = radar.with_mode_c()
    assert isinstance(model, Radar2DModeC) and model.sensor_id == "S"
    assert model.can_initiate and model.observes_altitude and model.dim(False) == 3
    x = _states(50)
    z = model.measure(x, False)
    assert np.allclose(z[:, :2], radar.measure(x, False))
    _, _, alt = ecef_to_geodetic(x[:, :3])
    assert np.allclose(z[:, 2], pressure_altitude_m(alt))
    R = model.noise(z, False)
    assert math.isclose(math.sqrt(R[0, 2, 2]), MODE_C_SIGMA_M)
    assert 60.0 < MODE_C_SIGMA_M < 61.0  # the day's 60 m and the 100 ft step's 8.8 m


def test_jacobian_matches_finite_differences() -> None:
    model = _radar().with_mode_c()
    x = _states(40)
    z, H = model.measure_jacobian(x, False)
    assert np.allclose(z, model.measure(x, False))
    assert np.array_equal(H, model.jacobian(x, False))
    step = 1.0
    for j in range(6):
        dx = np.zeros(6)
        dx[j] = step
        numeric = (model.measure(x + dx, False) - model.measure(x - dx, False)) / (2 * step)
        numeric[:, 1] = (numeric[:, 1] + np.pi / step) % (2 * np.pi / step) - np.pi / step
        assert np.allclose(H[:, :, j], numeric, rtol=1e-5, atol=1e-9), j
    _, H3 = model.measure_jacobian(x, False, position_only=True)
    assert np.array_equal(H3, H[:, :, :3])
    # the altitude row is (nearly) the local vertical: dH/dh ≈ 1 − 2h/r₀
    lat, lon, _ = ecef_to_geodetic(x[:, :3])
    up = enu_basis(lat, lon)[:, 2, :]
    cos = np.einsum("ij,ij->i", H[:, 2, :3], up) / np.linalg.norm(H[:, 2, :3], axis=1)
    assert np.allclose(cos, 1.0)


def test_initial_position_is_on_the_report() -> None:
    model = _radar().with_mode_c()
    x = _states(200)
    pos = model.initial_position(model.measure(x, False), 6000.0)
    _, _, alt = ecef_to_geodetic(x[:, :3])
    _, _, alt0 = ecef_to_geodetic(pos)
    assert np.abs(alt0 - alt).max() < 1.0
    assert np.allclose(model.measure(pos, False)[:, :2], model.measure(x, False)[:, :2])


def test_mode_c_rows_split_a_mixed_batch() -> None:
    reports = {"range_m": np.ones(4), "pressure_alt_m": np.array([1.0, np.nan, 3.0, np.nan])}
    assert Radar2D.mode_c_rows(reports).tolist() == [True, False, True, False]
    assert Radar2D.mode_c_rows({"range_m": np.ones(2)}).tolist() == [False, False]


def test_a_seeded_mode_c_scenario_starts_tracks_at_the_right_altitude() -> None:
    sensors = [{**RADAR2D, "mode_c": True}]
    sim = run(sensors, [TRAFFIC], duration_s=60.0)
    reports = target_reports(sim, "S1")
    pos, _ = truth_at_reports(sim, reports)
    _, _, true_alt = ecef_to_geodetic(pos)
    (plain,) = sensor_models(scenario(sensors, [TRAFFIC]).scenario.sensors)
    assert isinstance(plain, Radar2D)
    mode_c = plain.with_mode_c()
    assert plain.mode_c_rows(reports).all()
    prior = InitiationPrior()
    errors = {}
    for model in (plain, mode_c):
        x0, P0 = initial_states(model, model.z_from_reports(reports, False), False, prior)
        _, _, alt = ecef_to_geodetic(x0[:, :3])
        lat, lon, _ = ecef_to_geodetic(x0[:, :3])
        up = enu_basis(lat, lon)[:, 2, :]
        sigma_up = np.sqrt(np.einsum("mi,mij,mj->m", up, P0[:, :3, :3], up))
        errors[model] = (np.sqrt(np.mean((alt - true_alt) ** 2)), float(np.median(sigma_up)))
    rms_plain, sigma_plain = errors[plain]
    rms_c, sigma_c = errors[mode_c]
    print(f"altitude rms: without Mode C {rms_plain:.0f} m (σ {sigma_plain:.0f}), "
          f"with {rms_c:.1f} m (σ {sigma_c:.1f})")  # fmt: skip
    assert rms_plain > 1000.0
    assert rms_c < 100.0
    assert rms_c < rms_plain / 20.0
    # the filter's stated σ covers the error it makes (the day's offset and the step)
    assert 0.5 * sigma_c < rms_c < 2.0 * sigma_c


def test_split_models_gives_each_part_its_model() -> None:
    radar = _radar()
    reports = {"range_m": np.ones(3), "pressure_alt_m": np.array([np.nan, 2000.0, np.nan])}
    (with_c, model_c), (without, model_plain) = radar.split_models(reports)
    assert with_c.tolist() == [False, True, False] and without.tolist() == [True, False, True]
    assert isinstance(model_c, Radar2DModeC) and model_plain is radar
    assert radar.with_mode_c() is model_c  # made once
    assert isinstance(model_c, Radar2D)
    ((every, model),) = model_c.split_models({"range_m": np.ones(2), "pressure_alt_m": np.ones(2)})
    assert model is model_c and every.tolist() == [True, True]

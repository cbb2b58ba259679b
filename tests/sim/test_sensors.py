"""The simulator checked as a physicist would: noise, detection, false alarms, masking, timing.

Statistical tolerances are four standard errors of the estimate, on fixed seeds.
"""

from __future__ import annotations

import numpy as np
import pytest

from airpicture.geo import (
    ecef_vector_to_enu,
    enu_basis,
    geodesic_distance_m,
    geodetic_to_ecef,
)
from tests.sim.scenarios import geodetic, run, target_reports, true_aer, truth_at_reports

RADAR_SITE = (35.0, 139.0, 100.0)
RADAR = {
    "id": "R1",
    "nation": "JPN",
    "type": "radar",
    "lat_deg": 35.0,
    "lon_deg": 139.0,
    "alt_m": 100.0,
    "scan_period_s": 5.0,
    "max_range_m": 300_000.0,
    "sigma_range_m": 50.0,
    "sigma_az_deg": 0.1,
    "sigma_el_deg": 0.15,
    "sigma_range_rate_mps": 2.0,
    "pd": 0.8,
    "false_alarms_per_scan": 20.0,
}
TRAFFIC = {
    "generate": "aircraft",
    "count": 60,
    "lat_deg": [35.9, 36.6],
    "lon_deg": [138.5, 139.5],
    "alt_m": [8000, 11000],
    "speed_mps": [150, 250],
    "transponder_fraction": 0.5,
}


@pytest.fixture(scope="module")
def radar_run():  # type: ignore[no-untyped-def]
    return run([RADAR], [TRAFFIC], duration_s=600.0)


def _within(measured: float, expected: float, standard_error: float) -> bool:
    return abs(measured - expected) <= 4.0 * standard_error


def test_radar_noise_matches_declared_sigmas(radar_run) -> None:  # type: ignore[no-untyped-def]
    reports = target_reports(radar_run, "R1")
    pos, vel = truth_at_reports(radar_run, reports)
    az, el, rng = true_aer(RADAR_SITE, pos)
    site = geodetic_to_ecef(*RADAR_SITE)
    range_rate = np.einsum("ij,ij->i", vel, pos - site) / rng
    n = len(rng)
    assert n > 4000
    residuals = {
        "sigma_range_m": reports["range_m"] - rng,
        "sigma_az_deg": (reports["az_deg"] - az + 180.0) % 360.0 - 180.0,
        "sigma_el_deg": reports["el_deg"] - el,
        "sigma_range_rate_mps": reports["range_rate_mps"] - range_rate,
    }
    for name, residual in residuals.items():
        sigma = RADAR[name]
        assert isinstance(sigma, float)
        assert _within(float(np.std(residual)), sigma, sigma / np.sqrt(2 * n)), name
        assert _within(float(np.mean(residual)), 0.0, sigma / np.sqrt(n)), name


def test_radar_detection_rate_matches_pd(radar_run) -> None:  # type: ignore[no-untyped-def]
    reports = target_reports(radar_run, "R1")
    scans = 600.0 / RADAR["scan_period_s"]  # type: ignore[operator]
    opportunities = scans * TRAFFIC["count"]  # every aircraft stays in coverage
    rate = len(reports["time_s"]) / opportunities
    pd = RADAR["pd"]
    assert isinstance(pd, float)
    assert _within(rate, pd, np.sqrt(pd * (1 - pd) / opportunities))


def test_false_alarms_are_poisson_with_the_declared_mean_and_inside_coverage(
    radar_run,  # type: ignore[no-untyped-def]
) -> None:
    rows = (radar_run.plots["sensor_id"] == "R1") & (radar_run.plots["target_id"] == "")
    count = int(rows.sum())
    scans = 600.0 / 5.0
    assert _within(count / scans, 20.0, np.sqrt(20.0 / scans))
    ranges = radar_run.plots["range_m"][rows]
    assert ranges.min() >= 0.0 and ranges.max() <= 300_000.0
    el = radar_run.plots["el_deg"][rows]
    assert el.min() >= 0.0 and el.max() <= 90.0
    t = radar_run.plots["time_s"][rows]
    assert t.min() >= 0.0 and t.max() <= 600.0


def test_scanning_radar_reports_each_target_as_the_beam_passes(radar_run) -> None:  # type: ignore[no-untyped-def]
    """Beam azimuth = phase + 360° t / T: every report's true azimuth fits one phase."""
    reports = target_reports(radar_run, "R1")
    pos, _ = truth_at_reports(radar_run, reports)
    az, _, _ = true_aer(RADAR_SITE, pos)
    phase = (az - 360.0 * reports["time_s"] / 5.0) % 360.0
    spread = (phase - phase[0] + 180.0) % 360.0 - 180.0
    assert np.abs(spread).max() < 0.01
    # Reports of one scan are spread as the beam sweeps the ~60° the traffic spans
    # (about 0.8 s of a 5 s scan), not bunched at the scan's start.
    scan = np.floor((reports["time_s"] - reports["time_s"].min()) / 5.0)
    spreads = [np.ptp(reports["time_s"][scan == s]) for s in np.unique(scan)[1:-1]]
    assert np.median(spreads) > 0.4


def test_radar_horizon_sector_and_minimum_elevation_mask_targets() -> None:
    site = {
        "nation": "USA",
        "lat_deg": 40.0,
        "lon_deg": 140.0,
        "alt_m": 10.0,
        "pd": 1.0,
        "scan_period_s": 2.0,
        "max_range_m": 2_000_000.0,
        "sigma_range_m": 10.0,
        "sigma_az_deg": 0.02,
        "sigma_el_deg": 0.02,
    }
    sensors = [
        {**site, "id": "ALL-ROUND", "type": "radar"},
        {
            **site,
            "id": "WEST-SECTOR",
            "type": "radar",
            "boresight_az_deg": 270.0,
            "half_width_deg": 60.0,
        },
        {**site, "id": "HIGH-MIN-EL", "type": "radar", "min_el_deg": 5.0},
    ]

    # Horizon for 10 m and 1,000 m: √(2kR·10) + √(2kR·1000) ≈ 13 + 130 km.
    def flyer(name: str, lat: float, lon: float) -> dict[str, object]:
        return {
            "id": name,
            "kind": "aircraft",
            "speed_mps": 100.0,
            "alt_m": 1000.0,
            "route": [{"lat_deg": lat, "lon_deg": lon}, {"lat_deg": lat + 0.5, "lon_deg": lon}],
        }

    targets = [
        flyer("WEST-NEAR", 39.7, 139.0),  # ~90 km west: visible, in sector, elevation < 5°
        flyer("WEST-FAR", 39.7, 137.5),  # ~215 km west: below the horizon
        flyer("EAST-NEAR", 39.7, 141.0),  # ~90 km east: outside the west sector
    ]
    sim = run(sensors, targets, duration_s=120.0)
    seen = {
        sensor: set(target_reports(sim, sensor)["target_id"])
        for sensor in ("ALL-ROUND", "WEST-SECTOR", "HIGH-MIN-EL")
    }
    assert seen == {
        "ALL-ROUND": {"WEST-NEAR", "EAST-NEAR"},
        "WEST-SECTOR": {"WEST-NEAR"},
        "HIGH-MIN-EL": set(),
    }
    # ...and the truth says which sensors' coverage held each target.
    last = sim.truth["time_s"] == 0.0
    detectable = dict(
        zip(sim.truth["target_id"][last], sim.truth["detectable_by"][last], strict=True)
    )
    assert sorted(detectable["WEST-NEAR"]) == ["ALL-ROUND", "WEST-SECTOR"]
    assert detectable["WEST-FAR"] == []


BALLISTIC = {
    "id": "BM",
    "kind": "ballistic_missile",
    "launch_s": 30.0,
    "launch": {"lat_deg": 39.2, "lon_deg": 125.67},
    "impact": {"lat_deg": 41.0, "lon_deg": 140.0},
    "apogee_m": 300_000.0,
    "burnout_s": 80.0,
}


def test_space_ir_sees_missiles_only_in_boost_with_line_of_sight_noise() -> None:
    sbirs = {
        "id": "IR",
        "nation": "USA",
        "type": "space_ir",
        "lat_deg": 0.0,
        "lon_deg": 140.0,
        "alt_m": 35_786_000.0,
        "scan_period_s": 0.5,
        "sigma_los_urad": 20.0,
        "pd": 0.9,
        "false_alarms_per_scan": 0.5,
    }
    aircraft = {
        "id": "AC",
        "kind": "aircraft",
        "speed_mps": 200.0,
        "alt_m": 9000.0,
        "route": [{"lat_deg": 38.0, "lon_deg": 126.0}, {"lat_deg": 39.0, "lon_deg": 127.0}],
    }
    sim = run([sbirs], [BALLISTIC, aircraft], duration_s=400.0)
    reports = target_reports(sim, "IR")
    assert set(reports["target_id"]) == {"BM"}
    assert reports["time_s"].min() >= 30.0 and reports["time_s"].max() < 110.0
    frames = 80.0 / 0.5
    assert _within(len(reports["time_s"]) / frames, 0.9, np.sqrt(0.9 * 0.1 / frames))
    pos, _ = truth_at_reports(sim, reports)
    az, el, _ = true_aer((0.0, 140.0, 35_786_000.0), pos)
    sigma_deg = np.degrees(20e-6)
    el_err = reports["el_deg"] - el
    az_err_los = ((reports["az_deg"] - az + 180.0) % 360.0 - 180.0) * np.cos(np.radians(el))
    n = len(el_err)
    assert _within(float(np.std(el_err)), sigma_deg, sigma_deg / np.sqrt(2 * n))
    assert _within(float(np.std(az_err_los)), sigma_deg, sigma_deg / np.sqrt(2 * n))
    clutter = sim.plots["target_id"] == ""
    # False alarms look at the Earth: between nadir and the limb (≈ 8.7° off nadir).
    assert (sim.plots["el_deg"][clutter] <= -90.0 + 8.8).all()


def test_over_the_horizon_radar_ground_range_limits_and_noise() -> None:
    jorn = {
        "id": "OTH",
        "nation": "AUS",
        "type": "oth",
        "lat_deg": -23.66,
        "lon_deg": 144.15,
        "alt_m": 200.0,
        "scan_period_s": 10.0,
        "min_range_m": 1_000_000.0,
        "max_range_m": 3_000_000.0,
        "boresight_az_deg": 340.0,
        "half_width_deg": 45.0,
        "sigma_range_m": 5000.0,
        "sigma_az_deg": 0.5,
        "pd": 0.8,
    }

    def flyer(name: str, lat: float) -> dict[str, object]:
        return {
            "id": name,
            "kind": "aircraft",
            "speed_mps": 200.0,
            "alt_m": 10_000.0,
            "route": [{"lat_deg": lat, "lon_deg": 140.0}, {"lat_deg": lat, "lon_deg": 142.0}],
        }

    targets = [
        flyer("TOO-CLOSE", -20.0),
        flyer("IN-BAND-1", -10.0),
        flyer("IN-BAND-2", -5.0),
        flyer("TOO-FAR", 5.0),
    ]
    sim = run([jorn], targets, duration_s=900.0)
    reports = target_reports(sim, "OTH")
    assert set(reports["target_id"]) == {"IN-BAND-1", "IN-BAND-2"}
    assert np.isnan(reports["el_deg"]).all()
    pos, _ = truth_at_reports(sim, reports)
    lat, lon, _ = geodetic(pos)
    ground = geodesic_distance_m(-23.66, 144.15, lat, lon)
    err = reports["range_m"] - ground
    n = len(err)
    assert _within(float(np.std(err)), 5000.0, 5000.0 / np.sqrt(2 * n))


def test_adsb_reports_transponders_only_with_identity_and_position_noise() -> None:
    adsb = {
        "id": "ADSB",
        "nation": "GBR",
        "type": "adsb",
        "lat_deg": 52.0,
        "lon_deg": -1.0,
        "max_range_m": 400_000.0,
        "report_period_s": 1.0,
        "sigma_pos_m": 30.0,
        "pd": 0.7,
    }

    def flyer(name: str, transponder: bool, lat: float) -> dict[str, object]:
        return {
            "id": name,
            "kind": "aircraft",
            "speed_mps": 220.0,
            "alt_m": 10_000.0,
            "transponder": transponder,
            "ident": f"{name}X",
            "route": [{"lat_deg": lat, "lon_deg": -2.0}, {"lat_deg": lat, "lon_deg": 0.0}],
        }

    sim = run([adsb], [flyer("SQUAWK", True, 52.2), flyer("SILENT", False, 51.8)], duration_s=300.0)
    reports = target_reports(sim, "ADSB")
    assert set(reports["target_id"]) == {"SQUAWK"}
    assert set(reports["ident"]) == {"SQUAWKX"}
    assert np.isnan(reports["range_m"]).all()
    pos, _ = truth_at_reports(sim, reports)
    lat, lon, _ = geodetic(pos)
    reported = geodetic_to_ecef(reports["lat_deg"], reports["lon_deg"], reports["alt_m"])
    err = ecef_vector_to_enu(reported - pos, enu_basis(lat, lon))
    n = len(err)
    for axis in range(3):
        assert _within(float(np.std(err[:, axis])), 30.0, 30.0 / np.sqrt(2 * n))
    assert _within(n / 300.0, 0.7, np.sqrt(0.21 / 300.0))
    # Eligibility agrees: the silent aircraft is in range but not in ADS-B coverage.
    first = sim.truth["time_s"] == 0.0
    detectable = dict(
        zip(sim.truth["target_id"][first], sim.truth["detectable_by"][first], strict=True)
    )
    assert detectable == {"SQUAWK": ["ADSB"], "SILENT": []}


def test_radar2d_measures_range_and_azimuth_only() -> None:
    atc = {
        "id": "ATC",
        "nation": "GBR",
        "type": "radar2d",
        "lat_deg": 53.3,
        "lon_deg": -2.4,
        "alt_m": 300.0,
        "scan_period_s": 8.0,
        "max_range_m": 300_000.0,
        "sigma_range_m": 70.0,
        "sigma_az_deg": 0.08,
        "pd": 0.85,
        "false_alarms_per_scan": 5.0,
    }
    sim = run(
        [atc], [{**TRAFFIC, "lat_deg": [53.5, 54.0], "lon_deg": [-3.0, -1.5]}], duration_s=400.0
    )
    reports = target_reports(sim, "ATC")
    assert len(reports["time_s"]) > 1000
    assert np.isnan(reports["el_deg"]).all() and np.isnan(reports["range_rate_mps"]).all()
    assert np.isfinite(reports["range_m"]).all() and np.isfinite(reports["az_deg"]).all()
    pos, _ = truth_at_reports(sim, reports)
    site = geodetic_to_ecef(53.3, -2.4, 300.0)
    slant = np.linalg.norm(pos - site, axis=1)
    err = reports["range_m"] - slant
    assert _within(float(np.std(err)), 70.0, 70.0 / np.sqrt(2 * len(err)))


def test_no_report_below_the_minimum_elevation_or_beyond_range() -> None:
    tpy2 = {
        "id": "TPY2",
        "nation": "USA",
        "type": "radar",
        "lat_deg": 40.87,
        "lon_deg": 140.33,
        "alt_m": 50.0,
        "scan_period_s": 2.0,
        "max_range_m": 2_000_000.0,
        "min_el_deg": 1.0,
        "boresight_az_deg": 270.0,
        "half_width_deg": 60.0,
        "sigma_range_m": 10.0,
        "sigma_az_deg": 0.02,
        "sigma_el_deg": 0.02,
        "pd": 0.99,
    }
    traffic = {**TRAFFIC, "count": 150, "lat_deg": [36.0, 44.0], "lon_deg": [128.0, 140.0]}
    sim = run([tpy2], [traffic, BALLISTIC], duration_s=600.0)
    reports = target_reports(sim, "TPY2")
    pos, _ = truth_at_reports(sim, reports)
    az, el, rng = true_aer((40.87, 140.33, 50.0), pos)
    assert len(rng) > 1000
    assert el.min() >= 1.0 and rng.max() <= 2_000_000.0
    assert (np.abs((az - 270.0 + 180.0) % 360.0 - 180.0) <= 60.0).all()

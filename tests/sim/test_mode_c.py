"""Mode C on a 2D radar, checked as a physicist would: the reported pressure altitude is the
standard atmosphere's of the true altitude, off by one offset per aircraft (σ declared),
quantised to 100 ft; missiles and false alarms carry none; without `mode_c` nothing changes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from airpicture.geo.atmosphere import MODE_C_STEP_M, NONSTANDARD_DAY_SIGMA_M, pressure_altitude_m
from tests.sim.scenarios import geodetic, run, target_reports, truth_at_reports

RADAR2D: dict[str, Any] = {
    "id": "S1",
    "nation": "JPN",
    "type": "radar2d",
    "lat_deg": 35.0,
    "lon_deg": 139.0,
    "alt_m": 100.0,
    "scan_period_s": 10.0,
    "max_range_m": 300_000.0,
    "sigma_range_m": 60.0,
    "sigma_az_deg": 0.1,
    "pd": 0.9,
    "false_alarms_per_scan": 5.0,
}
TRAFFIC = {
    "generate": "aircraft",
    "count": 200,
    "lat_deg": [35.5, 36.5],
    "lon_deg": [138.5, 139.5],
    "alt_m": [3000, 11000],
    "speed_mps": [150, 250],
}
MISSILE = {
    "id": "CM1",
    "kind": "cruise_missile",
    "speed_mps": 250.0,
    "alt_m": 200.0,
    "route": [{"lat_deg": 35.6, "lon_deg": 139.2}, {"lat_deg": 35.2, "lon_deg": 139.1}],
}


def test_mode_c_reports_isa_pressure_altitude_with_the_declared_offsets() -> None:
    sim = run([{**RADAR2D, "mode_c": True}], [TRAFFIC, MISSILE], duration_s=300.0)
    reports = target_reports(sim, "S1")
    aircraft = reports["target_id"] != "CM1"
    assert np.isnan(reports["pressure_alt_m"][~aircraft]).all()
    assert (~aircraft).sum() > 10
    clutter = sim.plots["target_id"] == ""
    assert clutter.sum() > 50 and np.isnan(sim.plots["pressure_alt_m"][clutter]).all()

    reports = {k: v[aircraft] for k, v in reports.items()}
    pos, _ = truth_at_reports(sim, reports)
    _, _, alt = geodetic(pos)
    reported = reports["pressure_alt_m"]
    # quantised to 100 ft
    steps = reported / MODE_C_STEP_M
    assert np.allclose(steps, np.round(steps), atol=1e-6)
    error = reported - pressure_altitude_m(alt)
    targets, inverse = np.unique(reports["target_id"], return_inverse=True)
    counts = np.bincount(inverse)
    offset = np.bincount(inverse, weights=error) / counts
    # within one target only the quantisation varies (|e − mean| ≤ one step); the
    # generated aircraft fly level, so it is one constant rounding per target
    assert np.abs(error - offset[inverse]).max() <= MODE_C_STEP_M + 1e-6
    # across targets: the declared σ of the non-standard day, plus the rounding
    # (uniform over one step, σ = step/√12), within 4 standard errors
    assert len(targets) > 150
    expected = math.hypot(NONSTANDARD_DAY_SIGMA_M, MODE_C_STEP_M / math.sqrt(12.0))
    measured = float(np.std(offset, ddof=1))
    assert abs(measured - expected) <= 4.0 * expected / math.sqrt(2.0 * (len(targets) - 1))
    assert abs(float(np.mean(offset))) <= 4.0 * NONSTANDARD_DAY_SIGMA_M / math.sqrt(len(targets))


def test_without_mode_c_nothing_changes() -> None:
    plain = run([RADAR2D], [TRAFFIC, MISSILE], duration_s=120.0)
    explicit = run([{**RADAR2D, "mode_c": False}], [TRAFFIC, MISSILE], duration_s=120.0)
    assert np.isnan(plain.plots["pressure_alt_m"]).all()
    for name, values in plain.plots.items():
        assert np.array_equal(values, explicit.plots[name], equal_nan=values.dtype == np.float64)
    # a mode_c radar: every aircraft report carries an altitude
    with_c = run([{**RADAR2D, "mode_c": True}], [TRAFFIC, MISSILE], duration_s=120.0)
    rows = (with_c.plots["target_id"] != "") & (with_c.plots["target_id"] != "CM1")
    assert rows.sum() > 100 and np.isfinite(with_c.plots["pressure_alt_m"][rows]).all()

"""Sensor biases in the simulator: the offsets measured in the reports are the declared ones.

Each test compares a sensor's reports with the truth seen from where the sensor
really is (declared site + `site_enu_m`) at the true time (stamp − `time_s`);
tolerances are four standard errors on fixed seeds. A bias adds no random draw, so
a run with a bias and one without have the same noise, report for report.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from airpicture.geo import ecef_to_enu, enu_basis, enu_to_aer, enu_vector_to_ecef, geodetic_to_ecef
from tests.sim.scenarios import run, scenario, target_reports
from tests.sim.test_sensors import RADAR, TRAFFIC

BIAS: dict[str, Any] = {
    "range_m": 150.0,
    "range_scale_ppm": 100.0,
    "az_deg": 0.2,
    "el_deg": -0.1,
    "time_s": 0.5,
    "site_enu_m": [200.0, -100.0, 30.0],
}
SITE = (35.0, 139.0, 100.0)


@pytest.fixture(scope="module")
def runs():  # type: ignore[no-untyped-def]
    plain = run([RADAR], [TRAFFIC], duration_s=600.0)
    biased = run([{**RADAR, "bias": BIAS}], [TRAFFIC], duration_s=600.0)
    return plain, biased


def _truth_aer(sim: Any, reports: dict[str, Any], time_s: np.ndarray, site_enu_m: Any) -> Any:
    index = {tid: i for i, tid in enumerate(sim.trajectories.info.ids)}
    k = np.array([index[t] for t in reports["target_id"]], dtype=np.intp)
    pos, _, alive = sim.trajectories.state_at(k, time_s)
    assert alive.all()
    basis = enu_basis(*SITE[:2])
    site = geodetic_to_ecef(*SITE) + enu_vector_to_ecef(np.asarray(site_enu_m, float), basis)
    return enu_to_aer(ecef_to_enu(pos, site, basis))


def _fit(y: np.ndarray, *columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares coefficients of y on the columns, and their standard errors."""
    A = np.stack(columns, axis=1)
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = y - A @ coef
    cov = np.linalg.inv(A.T @ A) * resid.var(ddof=A.shape[1])
    return coef, np.sqrt(np.diag(cov))


def test_a_bias_adds_no_draw_and_stamps_reports_late_by_time_s(runs) -> None:  # type: ignore[no-untyped-def]
    plain, biased = runs
    a, b = target_reports(plain, "R1"), target_reports(biased, "R1")
    assert len(a["time_s"]) == len(b["time_s"]) > 4000
    assert np.array_equal(a["target_id"], b["target_id"])
    np.testing.assert_allclose(b["time_s"] - a["time_s"], BIAS["time_s"], atol=1e-9)
    # the noise is the same: the difference in elevation is the bias plus the site's effect
    assert abs(float(np.median(b["el_deg"] - a["el_deg"])) - BIAS["el_deg"]) < 0.02


def test_radar_offsets_measured_against_the_truth_are_the_declared_ones(runs) -> None:  # type: ignore[no-untyped-def]
    _, sim = runs
    rep = target_reports(sim, "R1")
    true_t = rep["time_s"] - BIAS["time_s"]
    az, el, rng = _truth_aer(sim, rep, true_t, BIAS["site_enu_m"])
    n = len(rng)
    # range: measured = (1 + s) r + b  →  measured − r = b + s r
    (offset, scale), (se_offset, se_scale) = _fit(rep["range_m"] - rng, np.ones(n), rng)
    assert abs(offset - BIAS["range_m"]) <= 4 * se_offset
    assert abs(scale * 1e6 - BIAS["range_scale_ppm"]) <= 4 * se_scale * 1e6
    d_az = (rep["az_deg"] - az + 180.0) % 360.0 - 180.0
    assert abs(d_az.mean() - BIAS["az_deg"]) <= 4 * RADAR["sigma_az_deg"] / np.sqrt(n)
    d_el = rep["el_deg"] - el
    assert abs(d_el.mean() - BIAS["el_deg"]) <= 4 * RADAR["sigma_el_deg"] / np.sqrt(n)


def test_the_site_error_and_clock_error_are_what_the_residuals_show(runs) -> None:  # type: ignore[no-untyped-def]
    """Seen from the declared site at the stamped time the residuals are off; seen from
    the true site at the true time they are not (checked above). Here: from the declared
    site the range residual follows −(line of sight)·site_enu_m."""
    _, sim = runs
    rep = target_reports(sim, "R1")
    true_t = rep["time_s"] - BIAS["time_s"]
    az, el, rng = _truth_aer(sim, rep, true_t, [0.0, 0.0, 0.0])
    az_r, el_r = np.radians(az), np.radians(el)
    los = np.stack([np.sin(az_r) * np.cos(el_r), np.cos(az_r) * np.cos(el_r), np.sin(el_r)], 1)
    y = rep["range_m"] - (rng * (1 + BIAS["range_scale_ppm"] * 1e-6) + BIAS["range_m"])
    coef, se = _fit(y, -los[:, 0], -los[:, 1], -los[:, 2])
    for k in range(2):  # east and north: the geometry spans them; up is weak at low elevation
        assert abs(coef[k] - BIAS["site_enu_m"][k]) <= 4 * se[k]


def test_a_drifting_azimuth_grows_linearly_with_time() -> None:
    drift = {"az_deg": 0.05, "drift_per_hour": {"az_deg": 0.6}}
    sim = run([{**RADAR, "bias": drift}], [TRAFFIC], duration_s=600.0)
    rep = target_reports(sim, "R1")
    az, _, _ = _truth_aer(sim, rep, rep["time_s"], [0.0, 0.0, 0.0])
    d_az = (rep["az_deg"] - az + 180.0) % 360.0 - 180.0
    n = len(d_az)
    (b0, rate), (se0, se_rate) = _fit(d_az, np.ones(n), rep["time_s"] / 3600.0)
    assert abs(b0 - 0.05) <= 4 * se0
    assert abs(rate - 0.6) <= 4 * se_rate


def test_no_bias_and_a_zero_bias_give_identical_reports(runs) -> None:  # type: ignore[no-untyped-def]
    plain, _ = runs
    zero = run([{**RADAR, "bias": {}}], [TRAFFIC], duration_s=600.0)
    for column, values in plain.plots.items():
        assert np.array_equal(values, zero.plots[column], equal_nan=values.dtype.kind == "f"), (
            column
        )


def test_other_sensors_are_unchanged_by_one_sensors_bias() -> None:
    other = {**RADAR, "id": "R2", "lat_deg": 36.0}
    plain = run([RADAR, other], [TRAFFIC], duration_s=120.0)
    biased = run([{**RADAR, "bias": BIAS}, other], [TRAFFIC], duration_s=120.0)
    a, b = target_reports(plain, "R2"), target_reports(biased, "R2")
    for column in ("time_s", "range_m", "az_deg", "el_deg"):
        np.testing.assert_array_equal(a[column], b[column])


def test_oth_and_space_ir_biases() -> None:
    oth = {
        "id": "O1", "nation": "AUS", "type": "oth", "lat_deg": 30.0, "lon_deg": 139.0,
        "scan_period_s": 20.0, "min_range_m": 300_000.0, "max_range_m": 1_500_000.0,
        "sigma_range_m": 2000.0, "sigma_az_deg": 0.3, "pd": 1.0,
        "bias": {"range_m": 3000.0, "az_deg": 0.5},
    }  # fmt: skip
    plain = run([{**oth, "bias": None}], [TRAFFIC], duration_s=300.0)
    biased = run([oth], [TRAFFIC], duration_s=300.0)
    a, b = target_reports(plain, "O1"), target_reports(biased, "O1")
    np.testing.assert_allclose(b["range_m"] - a["range_m"], 3000.0, atol=1e-6)
    np.testing.assert_allclose((b["az_deg"] - a["az_deg"] + 180) % 360 - 180, 0.5, atol=1e-9)


@pytest.mark.parametrize(
    ("sensor", "bias", "words"),
    [
        (RADAR, {"az_deg": 30.0}, ["az_deg", "unit"]),
        (RADAR, {"range_m": 1.0e6}, ["range_m", "unit"]),
        (RADAR, {"time_s": float("nan")}, ["time_s"]),
        (RADAR, {"site_enu_m": [0.0, 9000.0, 0.0]}, ["site_enu_m"]),
        (RADAR, {"site_enu_m": [1.0, 2.0]}, ["site_enu_m"]),
        (RADAR, {"drift_per_hour": {"az_deg": 5.0}}, ["drift_per_hour.az_deg", "per hour"]),
        (RADAR, {"az_rad": 0.01}, ["az_rad"]),
        ({**RADAR, "type": "radar2d"}, {"el_deg": 0.1}, ["radar2d", "el_deg"]),
        (
            {
                "id": "A",
                "nation": "JPN",
                "type": "adsb",
                "lat_deg": 35.0,
                "lon_deg": 139.0,
                "max_range_m": 3e5,
                "report_period_s": 2.0,
                "sigma_pos_m": 30.0,
            },
            {"time_s": 0.1},
            ["adsb", "reference"],
        ),
    ],
)
def test_a_bad_bias_is_a_clear_scenario_error(
    sensor: dict[str, Any], bias: dict[str, Any], words: list[str]
) -> None:
    spec = {
        k: v
        for k, v in sensor.items()
        if not (sensor["type"] == "radar2d" and k.startswith("sigma_el"))
    }
    spec = {
        k: v
        for k, v in spec.items()
        if not (spec["type"] == "radar2d" and k == "sigma_range_rate_mps")
    }
    with pytest.raises(ValidationError) as info:
        scenario([{**spec, "bias": bias}], [])
    text = str(info.value)
    for word in words:
        assert word in text

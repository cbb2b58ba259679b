"""Sensor registration against ADS-B: estimates against the declared biases, honest σ,
corrections, and what is not observable or not applied.

Seeded scenarios: a 3D radar among traffic of which 60 % carry ADS-B, the reports fed
in 5 s batches as a node feeds them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from airpicture.geo import ecef_to_enu, enu_basis, enu_to_aer, geodetic_to_ecef
from airpicture.scenario.model import BIAS_KINDS
from airpicture.sim.simulate import Simulation, simulate
from airpicture.tracking.registration import (
    QUANTITIES,
    SITE,
    BiasFilter,
    Registration,
    RegistrationSettings,
    SensorGeometry,
    bias_jacobian,
)
from tests.sim.scenarios import scenario
from tests.sim.test_sensors import RADAR, TRAFFIC

BIAS: dict[str, Any] = {
    "range_m": 150.0,
    "range_scale_ppm": 100.0,
    "az_deg": 0.2,
    "el_deg": -0.1,
    "time_s": 0.5,
    "site_enu_m": [200.0, -100.0, 30.0],
}
ADSB = {
    "id": "A",
    "nation": "JPN",
    "type": "adsb",
    "lat_deg": 35.5,
    "lon_deg": 139.0,
    "max_range_m": 5e5,
    "report_period_s": 2.0,
    "sigma_pos_m": 30.0,
    "pd": 0.98,
}
AIRCRAFT = {
    **TRAFFIC,
    "transponder_fraction": 0.6,
    "lat_deg": [34.0, 37.0],
    "lon_deg": [137.5, 141.0],
}


def _simulate(sensors: list[dict[str, Any]], duration_s: float = 600.0) -> Simulation:
    return simulate(scenario(sensors, [AIRCRAFT], duration_s=duration_s))


def _feed(reg: Registration, sim: Simulation, every_s: float = 5.0) -> dict[str, np.ndarray]:
    """Feed the reports in batches; return every corrected row, in the order fed."""
    p = sim.plots
    order = np.argsort(p["time_s"], kind="stable")
    p = {c: v[order] for c, v in p.items()}
    out: list[dict[str, np.ndarray]] = []
    end = float(p["time_s"].max())
    for t in np.arange(every_s, end + every_s, every_s):
        sel = (p["time_s"] > t - every_s) & (p["time_s"] <= t)
        out.append(reg.correct({c: v[sel] for c, v in p.items()}))
    return {c: np.concatenate([o[c] for o in out]) for c in out[0]}


@pytest.fixture(scope="module")
def biased() -> tuple[Simulation, Registration, dict[str, np.ndarray]]:
    sim = _simulate([{**RADAR, "bias": BIAS}, ADSB])
    reg = Registration(sim.loaded.scenario.sensors, "JPN")
    rows = _feed(reg, sim)
    return sim, reg, rows


def _declared(quantity: str) -> float:
    if quantity in SITE:
        return float(BIAS["site_enu_m"][SITE.index(quantity)])
    return float(BIAS[quantity])


def test_every_estimate_is_within_3_sigma_of_the_declared_bias_and_sigma_shrinks(biased) -> None:  # type: ignore[no-untyped-def]
    _, reg, _ = biased
    table = reg.table()
    assert set(table["viewer"]) == {"JPN"} and set(table["sensor_id"]) == {"R1"}
    for quantity in QUANTITIES["radar"]:
        rows = np.flatnonzero(table["quantity"] == quantity)
        estimate, sigma = table["estimate"][rows], table["sigma"][rows]
        assert np.isfinite(estimate[-1]), quantity
        assert abs(estimate[-1] - _declared(quantity)) <= 3.0 * sigma[-1], quantity
        # σ shrinks as evidence accumulates: the last is well below the first and the prior
        assert sigma[-1] < 0.5 * sigma[0], quantity
        assert sigma[-1] < 0.1 * RegistrationSettings().prior(quantity), quantity
    assert reg.applied("R1")
    summary = reg.summary()["R1"]
    assert summary["reports_used"] > 2000 and not summary["diverged"]


def test_corrected_reports_have_no_bias_left(biased) -> None:  # type: ignore[no-untyped-def]
    sim, _, rows = biased
    # the last 300 s, when the estimate has converged
    sel = (rows["sensor_id"] == "R1") & (rows["target_id"] != "") & (rows["time_s"] > 300.0)
    index = {tid: i for i, tid in enumerate(sim.trajectories.info.ids)}
    k = np.array([index[t] for t in rows["target_id"][sel]], dtype=np.intp)
    pos, _, alive = sim.trajectories.state_at(k, rows["time_s"][sel])
    site = (RADAR["lat_deg"], RADAR["lon_deg"], RADAR["alt_m"])
    az, el, rng = enu_to_aer(ecef_to_enu(pos[alive], geodetic_to_ecef(*site), enu_basis(*site[:2])))
    n = int(alive.sum())
    d_az = (rows["az_deg"][sel][alive] - az + 180.0) % 360.0 - 180.0
    d_el = rows["el_deg"][sel][alive] - el
    d_r = rows["range_m"][sel][alive] - rng
    # left: within a few σ of the estimate's own uncertainty (and far below the biases)
    assert abs(d_az.mean()) < 0.02 and abs(d_el.mean()) < 0.02
    assert abs(d_r.mean()) < 20.0
    assert n > 1000


def test_a_sensor_without_bias_is_not_corrected_and_its_rows_are_unchanged() -> None:
    sim = _simulate([RADAR, ADSB], duration_s=400.0)
    reg = Registration(sim.loaded.scenario.sensors, "JPN")
    rows = _feed(reg, sim)
    assert not reg.applied("R1")
    plain = _feed(
        Registration(sim.loaded.scenario.sensors, "JPN", RegistrationSettings(enabled=False)), sim
    )
    for column in ("time_s", "range_m", "az_deg", "el_deg"):
        np.testing.assert_array_equal(rows[column], plain[column])


def test_without_a_reference_nothing_is_observable_or_applied() -> None:
    sim = _simulate([{**RADAR, "bias": BIAS}], duration_s=200.0)
    reg = Registration(sim.loaded.scenario.sensors, "JPN")
    rows = _feed(reg, sim)
    assert not reg.applied("R1")
    assert reg.summary()["R1"]["reports_used"] == 0
    off = Registration(sim.loaded.scenario.sensors, "JPN", RegistrationSettings(enabled=False))
    np.testing.assert_array_equal(rows["az_deg"], _feed(off, sim)["az_deg"])
    table = reg.table()
    assert table["time_s"].size >= 8 * 5  # reported, every 30 s, as unobservable
    assert np.isnan(table["estimate"]).all()


def test_the_site_columns_of_the_jacobian_match_a_moved_site() -> None:
    spec = scenario([RADAR], []).scenario.sensors[0]
    geom = SensorGeometry.of(spec)
    rng = np.random.default_rng(3)
    enu = np.stack(
        [rng.uniform(-2e5, 2e5, 50), rng.uniform(-2e5, 2e5, 50), rng.uniform(1e3, 1.2e4, 50)], 1
    )
    pos = geom.ecef_m + enu @ geom.basis
    z = geom.measure(pos)
    H = bias_jacobian(geom, z, None)
    step = 1.0
    for j, name in enumerate(SITE):
        moved = geom.ecef_m + step * geom.basis[j]
        az, el, r = enu_to_aer(ecef_to_enu(pos, moved, geom.basis))
        dz = (np.stack([r, np.radians(az), np.radians(el)], 1) - z) / step
        col = QUANTITIES["radar"].index(name)
        np.testing.assert_allclose(H[:, :, col], dz, rtol=1e-3, atol=1e-9)


def test_the_jacobian_stays_finite_for_a_report_at_the_site() -> None:
    # A hostile partner's plot at range 1e-310 m (found by bench/fuzz.py's node part)
    # overflowed the elevation row (∂el/∂p ∝ 1/r) to ±inf; both angle rows now stop at 1 m.
    geom = SensorGeometry.of(scenario([RADAR], []).scenario.sensors[0])
    z = np.array([[1e-310, 0.3, 0.2], [0.0, 1.0, -0.1], [2e5, 0.5, 0.01]])
    H = bias_jacobian(geom, z, None)
    assert np.isfinite(H).all()
    np.testing.assert_array_equal(H[2], bias_jacobian(geom, z[2:], None)[0])


def test_a_report_whose_position_the_radar_does_not_fix_links_nothing() -> None:
    # bench/fuzz.py's node part: a partner's plot at range 0 made ∂z/∂p singular and
    # np.linalg.inv raised LinAlgError out of the node (84 of 8,072 hostile inputs).
    spec = scenario([RADAR], []).scenario.sensors[0]
    reg = Registration([spec], "JPN")
    geom = reg.filters[spec.id].geometry
    enu = np.array([[5e4, 8e4, 9e3], [5.1e4, 8e4, 9e3], [0.0, 0.0, 0.0], [1e-300, 0.0, 0.0]])
    z = geom.measure(geom.ecef_m + enu @ geom.basis)
    part = {"z": z, "t": np.array([0.0, 5.0, 5.0, 5.0]), "alt": np.full(4, np.nan),
            "ids": np.array(["a", "b", "c", "d"])}  # fmt: skip
    links = reg._links(reg.filters[spec.id], part)
    assert links is not None and links.ids.tolist() == [["a", "b"]]


def test_a_filter_whose_innovations_are_too_large_is_reset_and_reported_diverged() -> None:
    spec = scenario([RADAR], []).scenario.sensors[0]
    geom = SensorGeometry.of(spec)
    filt = BiasFilter(geom, np.ones(8), np.zeros(8))
    filt.b[:] = 3.0
    for _ in range(30):
        filt.observe_nis(20.0, 0.1, 4.0)
    assert filt.diverged and filt.resets >= 1
    np.testing.assert_array_equal(filt.b, 0.0)


def test_the_estimated_quantities_are_bias_fields_of_that_sensor_type() -> None:
    for kind, quantities in QUANTITIES.items():
        fields = {q.split(".")[0] for q in quantities}
        assert fields <= set(BIAS_KINDS[kind]), kind


# --------------------------------------------------------------------------- relative

# Radar A sees ADS-B aircraft (north-west) and, with radar B, aircraft without
# transponders between them; B sees no ADS-B aircraft at all (the ADS-B station's
# 120 km reach ends over 50 km short of B's 300 km).
RADAR_A = {**RADAR, "id": "RA", "false_alarms_per_scan": 5.0}
RADAR_B = {
    **RADAR,
    "id": "RB",
    "lat_deg": 36.6,
    "lon_deg": 141.2,
    "sigma_range_m": 40.0,
    "sigma_az_deg": 0.08,
    "sigma_el_deg": 0.1,
    "false_alarms_per_scan": 5.0,
}
BIAS_A: dict[str, Any] = {"range_m": 80.0, "az_deg": 0.1, "time_s": 0.2}
BIAS_B: dict[str, Any] = {"range_m": -150.0, "az_deg": -0.25, "el_deg": 0.1, "time_s": 0.4}
ADSB_NEAR_A = {**ADSB, "lat_deg": 33.6, "lon_deg": 137.0, "max_range_m": 120_000.0}
WITH_ADSB = {
    **TRAFFIC,
    "count": 30,
    "transponder_fraction": 1.0,
    "lat_deg": [33.4, 34.0],
    "lon_deg": [136.7, 137.5],
}
COMMON = {
    **TRAFFIC,
    "count": 30,
    "transponder_fraction": 0.0,
    "lat_deg": [35.6, 36.0],
    "lon_deg": [139.6, 140.4],
}


def _relative(sensors: list[dict[str, Any]], targets: list[dict[str, Any]], duration_s: float):  # type: ignore[no-untyped-def]
    sim = simulate(scenario(sensors, targets, duration_s=duration_s))
    reg = Registration(sim.loaded.scenario.sensors, "JPN")
    return sim, reg, _feed(reg, sim)


@pytest.fixture(scope="module")
def relative():  # type: ignore[no-untyped-def]
    sensors = [{**RADAR_A, "bias": BIAS_A}, {**RADAR_B, "bias": BIAS_B}, ADSB_NEAR_A]
    return _relative(sensors, [WITH_ADSB, COMMON], 600.0)


def test_no_adsb_aircraft_is_ever_in_view_of_radar_b() -> None:
    site_b = geodetic_to_ecef(RADAR_B["lat_deg"], RADAR_B["lon_deg"], 0.0)
    station = geodetic_to_ecef(ADSB_NEAR_A["lat_deg"], ADSB_NEAR_A["lon_deg"], 0.0)
    gap_m = float(np.linalg.norm(site_b - station))
    assert gap_m > RADAR_B["max_range_m"] + ADSB_NEAR_A["max_range_m"] + 50_000.0


def test_a_radar_without_adsb_is_registered_against_a_radar_with_it(relative) -> None:  # type: ignore[no-untyped-def]
    """The relative estimate of B (through targets A sees too, A anchored by ADS-B)
    converges to B's declared bias within 3 σ, and its σ shrinks as evidence accumulates."""
    _, reg, _ = relative
    table = reg.table()
    declared = {q: float(BIAS_B.get(q, 0.0)) for q in QUANTITIES["radar"]}
    on_b = table["sensor_id"] == "RB"
    observable = []
    for quantity in QUANTITIES["radar"]:
        rows = np.flatnonzero(on_b & (table["quantity"] == quantity))
        estimate, sigma = table["estimate"][rows], table["sigma"][rows]
        if not np.isfinite(estimate[-1]):
            continue
        observable.append(quantity)
        assert abs(estimate[-1] - declared[quantity]) <= 3.0 * sigma[-1], quantity
        assert sigma[-1] < 0.5 * sigma[0], quantity
        # σ falls as windows accumulate: the last third's σ below the first third's
        third = len(sigma) // 3
        assert sigma[-third:].mean() < sigma[:third].mean(), quantity
    assert {"range_m", "az_deg", "el_deg"} <= set(observable)
    # Relative pairs leave clocks alone (registration.py, `_link_pairs`): B's stays at its
    # prior, unobservable, and is not applied.
    assert "time_s" not in observable
    assert reg.applied("RB") and not reg.summary()["RB"]["diverged"]


def test_a_radar_that_shares_no_target_stays_unobservable_and_is_not_applied() -> None:
    far_b = {**RADAR_B, "lat_deg": 40.5, "lon_deg": 144.0, "bias": BIAS_B}
    own = {**COMMON, "lat_deg": [40.0, 41.0], "lon_deg": [143.5, 144.5]}
    sensors = [{**RADAR_A, "bias": BIAS_A}, far_b, ADSB_NEAR_A]
    sim, reg, rows = _relative(sensors, [WITH_ADSB, own], 300.0)
    assert reg.summary()["RB"]["reports_used"] == 0 and not reg.applied("RB")
    table = reg.table()
    assert np.isnan(table["estimate"][table["sensor_id"] == "RB"]).all()
    off = Registration(sim.loaded.scenario.sensors, "JPN", RegistrationSettings(enabled=False))
    plain = _feed(off, sim)
    on_b = rows["sensor_id"] == "RB"
    np.testing.assert_array_equal(rows["az_deg"][on_b], plain["az_deg"][on_b])


# --------------------------------------------------------------------------- space IR

SBIRS = {
    "id": "IR",
    "nation": "USA",
    "type": "space_ir",
    "lat_deg": 0.0,
    "lon_deg": 140.0,
    "alt_m": 35_786_000.0,
    "scan_period_s": 10.0,
    "sigma_los_urad": 20.0,
    "pd": 0.95,
    "bias": {"az_deg": 0.002, "el_deg": -0.002, "time_s": 0.1},
}
MISSILE = {
    "id": "BM",
    "kind": "ballistic_missile",
    "identity": "hostile",
    "launch_s": 20.0,
    "launch": {"lat_deg": 35.3, "lon_deg": 138.6},
    "impact": {"lat_deg": 38.0, "lon_deg": 150.0},
    "apogee_m": 300_000.0,
    "burnout_s": 80.0,
}


def test_space_ir_azimuth_noise_is_sigma_los_over_cos_el() -> None:
    spec = scenario([SBIRS], []).scenario.sensors[0]
    geom = SensorGeometry.of(spec)
    el = np.radians([-80.0, -85.0])
    R = geom.noise(np.stack([np.full(2, np.nan), np.zeros(2), el], 1))
    np.testing.assert_allclose(np.sqrt(R[:, 0, 0]), 20e-6 / np.cos(el))
    np.testing.assert_allclose(np.sqrt(R[:, 1, 1]), 20e-6)


def test_a_space_ir_sensor_is_never_registered_against_adsb_aircraft() -> None:
    """It sees boosting missiles only: a missile report paired with an aircraft that
    happens to be the only one in the (wide, prior) gate gave an estimate far off the
    declared bias with a σ that claimed it was observable."""
    sim = simulate(scenario([SBIRS, ADSB], [AIRCRAFT, MISSILE], duration_s=200.0))
    assert (sim.plots["sensor_id"] == "IR").sum() > 0
    reg = Registration(sim.loaded.scenario.sensors, "USA")
    _feed(reg, sim)
    table = reg.table()
    on_ir = table["sensor_id"] == "IR"
    assert on_ir.any() and np.isnan(table["estimate"][on_ir]).all()
    assert not reg.applied("IR") and reg.summary()["IR"]["reports_used"] == 0

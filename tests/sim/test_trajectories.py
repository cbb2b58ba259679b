"""Targets fly what the scenario asks: routes and turns, generated traffic, missiles, recordings."""

from __future__ import annotations

import numpy as np
import pytest

from airpicture.geo import ecef_to_geodetic, ecef_vector_to_enu, enu_basis, geodesic_distance_m
from airpicture.scenario import BallisticTarget, load_scenario
from airpicture.sim.ballistic import solve_ballistic
from airpicture.sim.flight import G_MPS2
from airpicture.sim.targets import build_trajectories
from airpicture.sim.traffic import read_opensky
from tests.conftest import REPO
from tests.sim.scenarios import scenario

ROUTE = [
    {"lat_deg": 35.0, "lon_deg": 135.0, "alt_m": 9000.0},
    {"lat_deg": 35.0, "lon_deg": 137.0, "alt_m": 11000.0},  # 90° turn to the north here
    {"lat_deg": 36.5, "lon_deg": 137.0, "alt_m": 11000.0},
]


def _enu_velocity(pos: np.ndarray, vel: np.ndarray) -> np.ndarray:
    lat, lon, _ = ecef_to_geodetic(pos)
    return ecef_vector_to_enu(vel, enu_basis(lat, lon))


def test_aircraft_follow_their_route_with_coordinated_turns() -> None:
    loaded = scenario(
        [], [{"id": "A", "kind": "aircraft", "speed_mps": 240.0, "route": ROUTE}], duration_s=2000.0
    )
    traj, _ = build_trajectories(loaded)
    alive = traj.alive[0]
    pos, vel = traj.pos_m[0, alive], traj.vel_mps[0, alive]
    lat, lon, alt = ecef_to_geodetic(pos)
    venu = _enu_velocity(pos, vel)
    assert np.allclose(np.hypot(venu[:, 0], venu[:, 1]), 240.0)
    # Fly-by turn: the path misses the corner by r (sec(Δψ/2) − 1), r = v² / (g tan φ).
    radius = 240.0**2 / (G_MPS2 * np.tan(np.radians(25.0)))
    corner_miss = radius * (1.0 / np.cos(np.radians(45.0)) - 1.0)
    miss = geodesic_distance_m(lat, lon, 35.0, 137.0).min()
    assert abs(miss - corner_miss) < 0.15 * corner_miss
    # Turn rate never above g tan φ / v.
    heading = np.degrees(np.arctan2(venu[:, 0], venu[:, 1]))
    rate = np.abs((np.diff(heading) + 180.0) % 360.0 - 180.0)
    assert rate.max() <= np.degrees(G_MPS2 * np.tan(np.radians(25.0)) / 240.0) + 1e-6
    # Climbs to the next waypoint's altitude, then holds it; ends at the last waypoint.
    assert alt[0] == pytest.approx(9000.0, abs=1.0)
    assert alt[-1] == pytest.approx(11000.0, abs=1.0)
    assert geodesic_distance_m(lat[-1], lon[-1], 36.5, 137.0) < 240.0 + 1.0
    assert not traj.alive[0, -1]  # gone once arrived


def test_targets_appear_at_their_start_time() -> None:
    loaded = scenario(
        [],
        [{"id": "A", "kind": "aircraft", "speed_mps": 200.0, "start_s": 120.0, "route": ROUTE}],
        duration_s=300.0,
    )
    traj, _ = build_trajectories(loaded)
    assert np.flatnonzero(traj.alive[0])[0] == 120


def test_generated_aircraft_start_in_their_box_at_drawn_speeds_and_are_seeded() -> None:
    block = {
        "generate": "aircraft",
        "count": 200,
        "lat_deg": [34.0, 38.0],
        "lon_deg": [135.5, 140.5],
        "alt_m": [2000, 12000],
        "speed_mps": [120, 260],
    }
    a, _ = build_trajectories(scenario([], [block], duration_s=1200.0, seed=3))
    b, _ = build_trajectories(scenario([], [block], duration_s=1200.0, seed=3))
    c, _ = build_trajectories(scenario([], [block], duration_s=1200.0, seed=4))
    assert np.array_equal(a.pos_m, b.pos_m) and not np.allclose(a.pos_m, c.pos_m)
    lat, lon, alt = ecef_to_geodetic(a.pos_m[:, 0])
    assert ((lat >= 34.0) & (lat <= 38.0) & (lon >= 135.5) & (lon <= 140.5)).all()
    assert ((alt >= 2000.0 - 1e-3) & (alt <= 12000.0 + 1e-3)).all()
    speed = np.linalg.norm(a.vel_mps, axis=-1)
    assert ((speed >= 120.0 - 1e-6) & (speed <= 260.0 + 1e-6)).all()
    assert np.allclose(speed, speed[:, :1])  # constant speed per aircraft
    # Random turns happen: headings change over 20 minutes.
    venu0 = _enu_velocity(a.pos_m[:, 0], a.vel_mps[:, 0])
    venu1 = _enu_velocity(a.pos_m[:, -2], a.vel_mps[:, -2])
    change = np.degrees(
        np.arccos(np.clip(np.einsum("ij,ij->i", venu0, venu1) / speed[:, 0] ** 2, -1, 1))
    )
    assert np.median(change) > 20.0
    # ...and the box keeps its traffic: nearly all still within 50 km of it.
    lat, lon, _ = ecef_to_geodetic(a.pos_m[:, -2])
    assert (((lat > 33.5) & (lat < 38.5) & (lon > 135.0) & (lon < 141.0)).mean()) > 0.95


@pytest.mark.parametrize(
    ("name", "launch", "impact", "apogee_m", "burnout_s"),
    [
        ("RED-BM-1 (2017 Hokkaido overflight)", (39.20, 125.67), (41.0, 157.0), 550_000.0, 90.0),
        ("depressed short range", (40.85, 129.70), (40.0, 135.5), 100_000.0, 60.0),
        ("lofted", (39.0, 125.5), (40.5, 135.0), 2_000_000.0, 120.0),
        ("southern hemisphere, westward", (-20.0, 150.0), (-25.0, 130.0), 400_000.0, 80.0),
        ("across the antimeridian", (50.0, 175.0), (48.0, -165.0), 350_000.0, 70.0),
        ("intercontinental", (40.0, 127.0), (45.0, -120.0), 1_200_000.0, 180.0),
        ("depressed medium range", (39.0, 125.6), (35.0, 140.0), 150_000.0, 100.0),
        ("steeply lofted (2017 Hwasong-15)", (39.0, 125.6), (40.5, 136.5), 4_475_000.0, 240.0),
    ],
)
def test_ballistic_missiles_meet_impact_and_apogee(
    name: str,
    launch: tuple[float, float],
    impact: tuple[float, float],
    apogee_m: float,
    burnout_s: float,
) -> None:
    target = BallisticTarget(
        id="BM",
        kind="ballistic_missile",
        launch={"lat_deg": launch[0], "lon_deg": launch[1]},
        impact={"lat_deg": impact[0], "lon_deg": impact[1]},
        apogee_m=apogee_m,
        burnout_s=burnout_s,
    )
    flight = solve_ballistic(target)
    miss = geodesic_distance_m(flight.impact_lat_deg, flight.impact_lon_deg, *impact)
    assert miss < 5000.0, name
    assert abs(flight.apogee_m / apogee_m - 1.0) < 0.05, name
    _, _, alt = ecef_to_geodetic(flight.pos_m)
    assert alt.max() == pytest.approx(flight.apogee_m, rel=1e-3)
    assert np.all(alt[1:-1] > 0.0)


def test_pacific_shield_bm1_flies_about_fourteen_minutes() -> None:
    loaded = load_scenario(REPO / "scenarios" / "pacific-shield.yaml")
    traj, flights = build_trajectories(loaded)
    assert 13.0 * 60 < flights["RED-BM-1"].impact_time_s < 16.0 * 60
    k = traj.info.ids.index("RED-BM-1")
    alive = np.flatnonzero(traj.alive[k])
    assert alive[0] == 300  # launch_s
    assert traj.in_boost(np.array([k, k]), np.array([300.0 + 89.0, 300.0 + 91.0])).tolist() == [
        True,
        False,
    ]


def test_recorded_traffic_passes_through_its_recorded_positions() -> None:
    loaded = load_scenario(REPO / "scenarios" / "uk-opensky.yaml")
    traj, _ = build_trajectories(loaded)
    states = read_opensky(REPO / "data" / "opensky_states_uk_2021-07-12.csv")
    epoch = loaded.scenario.epoch.timestamp()
    assert traj.count >= 80
    k = traj.info.ids.index(states.icao24[0])
    rows = (states.icao24 == states.icao24[0]) & np.isfinite(states.lat_deg)
    t = states.position_time_unix_s[rows] - epoch
    # The grid holds whole seconds inside the record: skip the record's first and last second.
    inside = (t > max(t.min(), 0.0) + 1.0) & (t < min(t.max(), 1200.0) - 1.0)
    pos, _, alive = traj.state_at(np.full(inside.sum(), k), t[inside])
    assert alive.all()
    lat, lon, _ = ecef_to_geodetic(pos)
    err = geodesic_distance_m(lat, lon, states.lat_deg[rows][inside], states.lon_deg[rows][inside])
    assert err.max() < 25.0  # interpolation between grid nodes of a curve through the records


def test_truth_is_finite_on_the_first_and_last_second_of_every_life() -> None:
    loaded = load_scenario(REPO / "scenarios" / "uk-opensky.yaml")
    traj, _ = build_trajectories(loaded)
    truth = traj.sample(np.arange(0.0, 1201.0, 1.0))
    for column in ("lat_deg", "lon_deg", "alt_m", "vel_e_mps", "vel_n_mps", "vel_u_mps"):
        assert np.isfinite(truth[column].astype(float)).all(), column

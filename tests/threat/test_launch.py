"""Launch detection of a salvo: missiles launched seconds apart from one site stay apart."""

from __future__ import annotations

import numpy as np
import pytest

from airpicture.geo import geodesic_distance_m, geodetic_to_ecef
from airpicture.scenario import BallisticTarget
from airpicture.sim.ballistic import BallisticFlight, solve_ballistic
from airpicture.threat.launch import LaunchDetector
from airpicture.tracking.view import BoostReports

SITE = (39.7, 127.0)
SATELLITE = geodetic_to_ecef(0.0, 140.0, 35_786_000.0)
FRAME_S = 10.0
SIGMA_LOS_RAD = 20e-6


@pytest.fixture(scope="module")
def flight() -> BallisticFlight:
    target = BallisticTarget.model_validate(
        {"id": "BM", "kind": "ballistic_missile",
         "launch": {"lat_deg": SITE[0], "lon_deg": SITE[1]},
         "impact": {"lat_deg": 40.5, "lon_deg": 135.0}, "apogee_m": 300000, "burnout_s": 70}
    )  # fmt: skip
    return solve_ballistic(target)


def _frames(
    flight: BallisticFlight, launch_s: list[float], seed: int, pd: float = 1.0
) -> list[BoostReports]:
    """One BoostReports per frame of one geostationary satellite: every missile in boost
    (the same trajectory launched at each of `launch_s`), LOS noise 20 µrad, detected with `pd`."""
    rng = np.random.default_rng(seed)
    burnout_s = 70.0
    out = []
    for t in np.arange(min(launch_s) + 3.0, max(launch_s) + burnout_s, FRAME_S):
        ages = np.array([t - s for s in launch_s])
        seen = (ages >= 0.0) & (ages <= burnout_s) & (rng.uniform(size=ages.size) < pd)
        if not seen.any():
            continue
        pos = np.stack(
            [np.interp(ages[seen], flight.times_s, flight.pos_m[:, i]) for i in range(3)], axis=1
        )
        los = pos - SATELLITE + rng.normal(0.0, SIGMA_LOS_RAD * 3.6e7, pos.shape)
        los /= np.linalg.norm(los, axis=1, keepdims=True)
        n = int(seen.sum())
        out.append(
            BoostReports(np.full(n, t), np.full(n, "SAT", object), np.tile(SATELLITE, (n, 1)), los)
        )
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_salvo_of_three_5_s_apart_is_three_launches(flight: BallisticFlight, seed: int) -> None:
    launch_s = [100.0, 105.0, 110.0]
    detector = LaunchDetector()
    for frame in _frames(flight, launch_s, seed):
        detector.add(frame)
    events = [ev for ev in detector.events if ev.declared]
    assert len(detector.events) == 3
    assert len(events) == 3
    for ev in events:
        # Every event is at the site, and launched within the salvo's 10 s (± its fit).
        d = float(geodesic_distance_m(ev.lat_deg, ev.lon_deg, *SITE))
        assert d < ev.radius_m
        assert 100.0 - 3.0 * ev.time_sigma_s - 5.0 < ev.time_s < 110.0 + 3.0 * ev.time_sigma_s + 5
        # One report per frame: no event took two missiles' reports of one frame.
        assert len(set(ev.report_time_s)) == len(ev.report_time_s)


def test_a_missed_report_does_not_merge_the_salvo(flight: BallisticFlight) -> None:
    detector = LaunchDetector()
    for frame in _frames(flight, [100.0, 105.0, 110.0], seed=7, pd=0.8):
        detector.add(frame)
    assert sum(ev.declared for ev in detector.events) == 3


def test_launches_from_two_sites_at_once_are_two_events(flight: BallisticFlight) -> None:
    detector = LaunchDetector()
    frames = _frames(flight, [200.0], seed=4)
    # The same flight seen from the satellite 300 km away (a second site), at the same times.
    shift = geodetic_to_ecef(SITE[0], SITE[1] + 3.5, 0.0) - geodetic_to_ecef(*SITE, 0.0)
    for frame in frames:
        moved = frame.los_ecef * 3.6e7 + shift
        moved /= np.linalg.norm(moved, axis=1, keepdims=True)
        both = BoostReports(
            np.r_[frame.time_s, frame.time_s],
            np.r_[frame.sensor_id, frame.sensor_id],
            np.r_[frame.origin_ecef_m, frame.origin_ecef_m],
            np.r_[frame.los_ecef, moved],
        )
        detector.add(both)
    assert sum(ev.declared for ev in detector.events) == 2

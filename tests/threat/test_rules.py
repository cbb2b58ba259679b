"""Classification rules, geography texts, asset reach and launch detection."""

from __future__ import annotations

import numpy as np
import pytest

from airpicture.atlas import country_outlines
from airpicture.geo import geodetic_to_ecef
from airpicture.scenario import BallisticTarget
from airpicture.sim.ballistic import solve_ballistic
from airpicture.threat.assessment import BoostReports
from airpicture.threat.assets import AssetTable, motion_reach
from airpicture.threat.classify import CLASSES, ClassifySettings, class_memberships
from airpicture.threat.geography import Geography, compass_point, round_distance_km
from airpicture.threat.launch import LaunchDetector

CASES = [
    # alt_m, speed_mps, mu_bal, thrust, ident, ir → class
    (11_000.0, 240.0, 0.0, 0.0, True, False, "aircraft"),  # airliner
    (9_000.0, 230.0, 0.05, 0.0, False, False, "aircraft"),  # bomber, no transponder
    (30.0, 240.0, 0.0, 0.0, False, False, "cruise_missile"),  # sea skimmer
    (200_000.0, 3_000.0, 0.9, 0.0, False, False, "ballistic_missile"),  # midcourse
    (20_000.0, 1_500.0, 0.1, 60.0, False, True, "ballistic_missile"),  # boost, seen by IR
    (35_000.0, 240.0, 0.02, 0.0, False, False, "unknown"),  # 2D-radar track, height drifted
    (np.nan, np.nan, 0.0, 0.0, False, False, "unknown"),  # bad state
]


@pytest.mark.parametrize("alt,speed,mu,thrust,ident,ir,expected", CASES)
def test_class_rules(
    alt: float, speed: float, mu: float, thrust: float, ident: bool, ir: bool, expected: str
) -> None:
    m = class_memberships(
        np.array([alt]), np.array([speed]), np.array([mu]), np.array([thrust]),
        np.array([ident]), np.array([ir]), ClassifySettings(),
    )  # fmt: skip
    assert m.sum() == pytest.approx(1.0)
    assert CLASSES[int(m[0].argmax())] == expected


def test_compass_and_rounding() -> None:
    assert compass_point(0.0) == "north"
    assert compass_point(90.4) == "east"
    assert compass_point(350.0) == "north"
    assert compass_point(202.5) == "south-southwest"
    assert round_distance_km(1_183_000.0) == "1,180 km"
    assert round_distance_km(45_400.0) == "45 km"


def test_describe_sea_land_and_no_places() -> None:
    geo = Geography([("Cape Erimo", 41.93, 143.25)], country_outlines())
    text, places = geo.describe(41.0, 157.0)
    assert text.startswith("about 1,1") and "east of Cape Erimo" in text and text.endswith("at sea")
    assert places[0]["name"] == "Cape Erimo"
    assert geo.describe(35.68, 139.76)[0].endswith("on land in Japan")
    bare = Geography([], country_outlines())
    text, places = bare.describe(41.0, 157.0)
    assert text.startswith("at 41.0°N 157.0°E") and places == []


def test_motion_reach() -> None:
    assets = AssetTable(("Naha",), ("JPN",), np.array([26.21]), np.array([127.65]),
                        np.array([15_000.0]))  # fmt: skip
    start = geodetic_to_ecef(26.21, 127.15, 30.0)  # ~50 km west
    east = geodetic_to_ecef(26.21, 127.16, 30.0) - start
    v = 240.0 * east / np.linalg.norm(east)
    x = np.stack([np.r_[start, v], np.r_[start, -v]])
    reach, ttg, closest = motion_reach(x, assets, 10_000.0)
    assert reach[:, 0].tolist() == [True, False]
    d = 49_900.0  # 0.5° of longitude at 26.21° N, about
    assert ttg[0, 0] == pytest.approx((d - 15_000.0) / 240.0, rel=0.02)
    assert closest[0, 0] < 1_000.0


def test_launch_point_from_simulated_ir() -> None:
    target = BallisticTarget.model_validate(
        {"id": "BM", "kind": "ballistic_missile", "launch": {"lat_deg": 39.2, "lon_deg": 125.67},
         "impact": {"lat_deg": 41.0, "lon_deg": 150.0}, "apogee_m": 400000, "burnout_s": 80}
    )  # fmt: skip
    flight = solve_ballistic(target)
    rng = np.random.default_rng(4)
    sat = geodetic_to_ecef(0.0, 140.0, 35_786_000.0)
    launch_s = 100.0
    t = np.arange(3.0, 70.0, 10.0)
    pos = np.stack([np.interp(t, flight.times_s, flight.pos_m[:, i]) for i in range(3)], axis=1)
    los = pos - sat
    los /= np.linalg.norm(los, axis=1, keepdims=True)
    los += rng.normal(0.0, 20e-6, los.shape)
    los /= np.linalg.norm(los, axis=1, keepdims=True)
    det = LaunchDetector()
    events = det.add(
        BoostReports(t + launch_s, np.full(t.size, "SAT", object), np.tile(sat, (t.size, 1)), los)
    )
    assert len(events) == 1
    ev = events[0]
    from airpicture.geo import geodesic_distance_m

    miss = float(geodesic_distance_m(ev.lat_deg, ev.lon_deg, 39.2, 125.67))
    assert miss < ev.radius_m
    assert abs(ev.time_s - launch_s) < 3.0 * ev.time_sigma_s + 5.0

"""A small three-nation scenario built in code: overlapping radars, a few aircraft."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airpicture.network.assessor import national_assessor
from airpicture.scenario import LoadedScenario, Scenario
from airpicture.threat.assessment import Assessment, Assessor, BoostReports
from airpicture.tracking import TrackView

NATIONS = ("AUS", "JPN", "USA")

SENSORS: list[dict[str, Any]] = [
    {"id": "USA-R1", "nation": "USA", "type": "radar", "lat_deg": 35.0, "lon_deg": 135.0,
     "alt_m": 50, "scan_period_s": 5, "max_range_m": 400_000, "sigma_range_m": 30,
     "sigma_az_deg": 0.05, "sigma_el_deg": 0.05, "pd": 0.95, "false_alarms_per_scan": 1},
    {"id": "USA-R2", "nation": "USA", "type": "radar", "lat_deg": 36.0, "lon_deg": 136.5,
     "alt_m": 50, "scan_period_s": 5, "max_range_m": 150_000, "sigma_range_m": 30,
     "sigma_az_deg": 0.05, "sigma_el_deg": 0.05, "pd": 0.95, "false_alarms_per_scan": 1},
    {"id": "JPN-R1", "nation": "JPN", "type": "radar", "lat_deg": 35.5, "lon_deg": 136.0,
     "alt_m": 50, "scan_period_s": 5, "max_range_m": 400_000, "sigma_range_m": 30,
     "sigma_az_deg": 0.05, "sigma_el_deg": 0.05, "pd": 0.95, "false_alarms_per_scan": 1},
    {"id": "JPN-ADSB", "nation": "JPN", "type": "adsb", "lat_deg": 35.5, "lon_deg": 136.0,
     "max_range_m": 400_000, "report_period_s": 2, "sigma_pos_m": 30, "pd": 0.98},
    {"id": "AUS-R1", "nation": "AUS", "type": "radar", "lat_deg": 34.5, "lon_deg": 136.5,
     "alt_m": 50, "scan_period_s": 5, "max_range_m": 400_000, "sigma_range_m": 30,
     "sigma_az_deg": 0.05, "sigma_el_deg": 0.05, "pd": 0.95, "false_alarms_per_scan": 1},
]  # fmt: skip

TARGETS: list[dict[str, Any]] = [
    {"id": "AC1", "kind": "aircraft", "speed_mps": 230, "alt_m": 10_000, "transponder": True,
     "route": [{"lat_deg": 34.0, "lon_deg": 134.5}, {"lat_deg": 36.5, "lon_deg": 137.5}]},
    {"id": "AC2", "kind": "aircraft", "speed_mps": 220, "alt_m": 9_000,
     "route": [{"lat_deg": 36.0, "lon_deg": 134.8}, {"lat_deg": 34.2, "lon_deg": 137.0}]},
    {"id": "AC3", "kind": "aircraft", "speed_mps": 250, "alt_m": 11_000,
     "route": [{"lat_deg": 35.2, "lon_deg": 134.0}, {"lat_deg": 35.3, "lon_deg": 138.0}]},
    {"id": "AC4", "kind": "aircraft", "speed_mps": 200, "alt_m": 8_000,
     "route": [{"lat_deg": 36.1, "lon_deg": 136.4}, {"lat_deg": 36.2, "lon_deg": 137.8}]},
]  # fmt: skip


def network_scenario(
    release: dict[str, dict[str, list[str]]] | None = None,
    sensor_release: dict[str, dict[str, list[str]]] | None = None,
    duration_s: float = 60.0,
    seed: int = 3,
    **extra: Any,
) -> LoadedScenario:
    """The scenario with the given nation and per-sensor release rules (default: share all)."""
    share_all = {n: {"tracks": [m for m in NATIONS if m != n], "plots": []} for n in NATIONS}
    sensors = [
        {**s, "release": sensor_release[s["id"]]}
        if sensor_release and s["id"] in sensor_release
        else dict(s)
        for s in SENSORS
    ]
    data = {
        "name": "network-test",
        "epoch": "2026-01-01T00:00:00Z",
        "duration_s": duration_s,
        "seed": seed,
        "picture_interval_s": 5,
        "nations": {n: {"release": (release or share_all).get(n, {})} for n in NATIONS},
        "sensors": sensors,
        "targets": TARGETS,
        **extra,
    }
    return LoadedScenario(Scenario.model_validate(data), Path("network-test.yaml"))


class _FailsAfter10s:
    def __init__(self, inner: Assessor) -> None:
        self.inner = inner

    def assess(self, view: TrackView, boost: BoostReports, now_s: float) -> Assessment:
        if now_s > 10.0:
            raise ArithmeticError("JPN's assessor broke at 15 s")
        return self.inner.assess(view, boost, now_s)


def jpn_fails_after_10s(scenario: Scenario, nation: str) -> Assessor:
    """An assessor factory (module-level, so it travels) whose JPN assessor fails at 15 s."""
    assessor = national_assessor(scenario, nation)
    return _FailsAfter10s(assessor) if nation == "JPN" else assessor

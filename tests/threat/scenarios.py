"""A short scenario for the threat tests: one launch seen by an IR satellite and a radar."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airpicture.scenario import LoadedScenario, Scenario

SBIRS: dict[str, Any] = {
    "id": "SAT", "nation": "USA", "type": "space_ir", "lat_deg": 0.0, "lon_deg": 140.0,
    "alt_m": 35786000, "scan_period_s": 10, "sigma_los_urad": 20, "pd": 0.95,
}  # fmt: skip
RADAR: dict[str, Any] = {
    "id": "RADAR", "nation": "JPN", "type": "radar", "lat_deg": 38.08, "lon_deg": 138.23,
    "alt_m": 300, "scan_period_s": 5, "max_range_m": 1500000, "sigma_range_m": 50,
    "sigma_az_deg": 0.05, "sigma_el_deg": 0.05, "pd": 0.95, "false_alarms_per_scan": 1,
}  # fmt: skip
ADSB: dict[str, Any] = {
    "id": "ADSB", "nation": "JPN", "type": "adsb", "lat_deg": 36.0, "lon_deg": 138.0,
    "max_range_m": 900000, "report_period_s": 2, "sigma_pos_m": 30, "pd": 0.98,
}  # fmt: skip
MISSILE: dict[str, Any] = {
    "id": "BM", "kind": "ballistic_missile", "identity": "hostile", "launch_s": 20,
    "launch": {"lat_deg": 40.0, "lon_deg": 127.5}, "impact": {"lat_deg": 39.0, "lon_deg": 134.5},
    "apogee_m": 150000, "burnout_s": 60,
}  # fmt: skip
AIRLINER: dict[str, Any] = {
    "id": "ANA1", "kind": "aircraft", "identity": "neutral", "speed_mps": 240,
    "transponder": True,
    "route": [{"lat_deg": 35.55, "lon_deg": 139.78, "alt_m": 11000},
              {"lat_deg": 34.43, "lon_deg": 135.23, "alt_m": 11000}],
}  # fmt: skip


def launch_scenario(duration_s: float = 480.0, seed: int = 3, **extra: Any) -> LoadedScenario:
    data: dict[str, Any] = {
        "name": "threat-test",
        "epoch": "2026-04-10T21:00:00Z",
        "duration_s": duration_s,
        "seed": seed,
        "picture_interval_s": 5,
        "fusion": "centralized",
        "nations": {"USA": {"release": {"tracks": ["JPN"], "plots": ["JPN"]}}, "JPN": {}},
        "sensors": [SBIRS, RADAR, ADSB],
        "targets": [MISSILE, AIRLINER],
        "assets": [{"name": "Tokyo", "nation": "JPN", "lat_deg": 35.68, "lon_deg": 139.76,
                    "radius_m": 30000}],
        "places": [{"name": "Niigata", "lat_deg": 37.92, "lon_deg": 139.04},
                   {"name": "Oki Islands", "lat_deg": 36.20, "lon_deg": 133.30}],
        **extra,
    }  # fmt: skip
    return LoadedScenario(Scenario.model_validate(data), Path("threat-test.yaml"))


#: Salvos: three missiles 5 s apart from one site, to three aim points tens of km apart.
SALVO_GEOMETRIES: dict[str, dict[str, Any]] = {
    "east": {"launch": {"lat_deg": 40.0, "lon_deg": 127.5}, "apogee_m": 150000,
             "duration_s": 540, "aims": [
        {"lat_deg": 39.0, "lon_deg": 134.5}, {"lat_deg": 39.4, "lon_deg": 135.0},
        {"lat_deg": 38.6, "lon_deg": 134.1}]},
    "lofted": {"launch": {"lat_deg": 39.0, "lon_deg": 125.8}, "apogee_m": 400000,
               "duration_s": 780, "aims": [
        {"lat_deg": 40.0, "lon_deg": 132.0}, {"lat_deg": 40.4, "lon_deg": 132.6},
        {"lat_deg": 39.6, "lon_deg": 131.5}]},
}  # fmt: skip


def salvo_scenario(geometry: str = "east", seed: int = 3) -> LoadedScenario:
    """`launch_scenario` with a salvo of three instead of one missile, launched 5 s apart
    (run until every missile has fallen)."""
    g = SALVO_GEOMETRIES[geometry]
    missiles = [
        {**MISSILE, "id": f"BM{k + 1}", "launch_s": 20 + 5 * k, "launch": g["launch"],
         "impact": aim, "apogee_m": g["apogee_m"]}
        for k, aim in enumerate(g["aims"])
    ]  # fmt: skip
    return launch_scenario(duration_s=g["duration_s"], seed=seed, targets=[*missiles, AIRLINER])

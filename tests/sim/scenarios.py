"""Small scenarios built in code, for checking the simulator's physics one sensor at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from airpicture.geo import ecef_to_enu, ecef_to_geodetic, enu_basis, enu_to_aer, geodetic_to_ecef
from airpicture.scenario import LoadedScenario, Scenario
from airpicture.sim.simulate import Simulation, simulate
from airpicture.tables import Table


def scenario(
    sensors: list[dict[str, Any]],
    targets: list[dict[str, Any]],
    duration_s: float = 600.0,
    seed: int = 1,
    **extra: Any,
) -> LoadedScenario:
    nations = sorted({s["nation"] for s in sensors}) or ["USA"]
    data = {
        "name": "test",
        "epoch": "2026-01-01T00:00:00Z",
        "duration_s": duration_s,
        "seed": seed,
        "picture_interval_s": 10,
        "nations": {n: {} for n in nations},
        "sensors": sensors,
        "targets": targets,
        **extra,
    }
    return LoadedScenario(Scenario.model_validate(data), Path("test.yaml"))


def run(sensors: list[dict[str, Any]], targets: list[dict[str, Any]], **kw: Any) -> Simulation:
    return simulate(scenario(sensors, targets, **kw))


def target_reports(sim: Simulation, sensor_id: str) -> Table:
    rows = (sim.plots["sensor_id"] == sensor_id) & (sim.plots["target_id"] != "")
    return {k: v[rows] for k, v in sim.plots.items()}


def truth_at_reports(sim: Simulation, reports: Table) -> tuple[np.ndarray, np.ndarray]:
    """True ECEF position and velocity of each reported target at its report time."""
    index = {tid: i for i, tid in enumerate(sim.trajectories.info.ids)}
    k = np.array([index[t] for t in reports["target_id"]], dtype=np.intp)
    pos, vel, alive = sim.trajectories.state_at(k, reports["time_s"].astype(float))
    assert alive.all()
    return pos, vel


def true_aer(site_lla: tuple[float, float, float], pos: np.ndarray) -> tuple[np.ndarray, ...]:
    site = geodetic_to_ecef(*site_lla)
    return enu_to_aer(ecef_to_enu(pos, site, enu_basis(*site_lla[:2])))


def geodetic(pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return ecef_to_geodetic(pos)

"""The simulator: a scenario in, truth and sensor reports out."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from airpicture.geo import geodetic_to_ecef
from airpicture.policy import viewable_sensors
from airpicture.scenario import LoadedScenario, write_layers
from airpicture.sim.ballistic import BallisticFlight
from airpicture.sim.sensors import Site, coverage, simulate_sensor
from airpicture.sim.targets import build_trajectories, stream_rng
from airpicture.sim.trajectory import TrajectorySet
from airpicture.tables import PLOTS_SCHEMA, TRUTH_SCHEMA, Table, concat_tables, write_table

#: Columns of truth.parquet beyond the contract: what the metrics need of the truth.
TRUTH_EXTRA_COLUMNS = ("identity", "detectable_by")


@dataclass
class Simulation:
    loaded: LoadedScenario
    trajectories: TrajectorySet
    flights: dict[str, BallisticFlight]
    truth: Table
    plots: Table
    seconds: dict[str, float] = field(default_factory=dict)
    #: The fusion the run's pictures were made with, when it differs from the scenario's.
    fusion_used: str | None = None
    _plots_per_sensor: dict[str, tuple[int, int]] | None = field(
        default=None, init=False, repr=False
    )

    def plots_per_sensor(self) -> dict[str, tuple[int, int]]:
        """(reports of targets, false alarms) for every sensor, in scenario order.

        Counted once and remembered: the summary asks once per sensor.
        """
        if self._plots_per_sensor is not None:
            return self._plots_per_sensor
        # One pass over the reports, however many sensors: the per-sensor string
        # comparisons this replaces took minutes on a region of 10 million reports.
        names, sensor_index = np.unique(self.plots["sensor_id"], return_inverse=True)
        clutter = self.plots["target_id"] == ""
        reports = np.bincount(sensor_index, minlength=len(names))
        false_alarms = np.bincount(sensor_index[clutter], minlength=len(names))
        row = {str(name): i for i, name in enumerate(names)}
        out: dict[str, tuple[int, int]] = {}
        for sensor in self.loaded.scenario.sensors:
            i = row.get(sensor.id)
            hits = 0 if i is None else int(reports[i] - false_alarms[i])
            out[sensor.id] = (hits, 0 if i is None else int(false_alarms[i]))
        self._plots_per_sensor = out
        return out

    def run_info(self) -> dict[str, Any]:
        """What later steps (tracker, metrics) need to know of the run: `run.json`."""
        s = self.loaded.scenario
        return {
            "scenario": s.name,
            "scenario_file": self.loaded.path.name,
            "epoch": s.epoch.isoformat().replace("+00:00", "Z"),
            "duration_s": s.duration_s,
            "seed": s.seed,
            "picture_interval_s": s.picture_interval_s,
            "truth_until_s": self.truth_until_s(),
            "fusion": self.fusion_used or s.fusion,
            "scenario_fusion": s.fusion,
            "nations": list(s.nations),
            "sensors": {x.id: {"nation": x.nation, "type": x.type} for x in s.sensors},
            "viewers": viewable_sensors(s),
            "targets": {
                tid: {"kind": kind, "identity": ident}
                for tid, kind, ident in zip(
                    self.trajectories.info.ids,
                    self.trajectories.info.kinds,
                    self.trajectories.info.identities,
                    strict=True,
                )
            },
            "ballistic": {
                tid: {
                    "impact_time_s": f.impact_time_s + _launch_s(self.loaded, tid),
                    "impact_lat_deg": f.impact_lat_deg,
                    "impact_lon_deg": f.impact_lon_deg,
                    "apogee_m": f.apogee_m,
                }
                for tid, f in self.flights.items()
            },
        }

    def truth_until_s(self) -> float:
        """Until when the truth is known: the end of the run, or of recorded traffic.

        A recording that stops before the run leaves its aircraft's whereabouts
        unknown after it; the metrics judge the picture only while truth is known.
        """
        return float(min(self.loaded.scenario.duration_s, self.trajectories.known_until_s))

    def write(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_table(out_dir / "truth.parquet", self.truth, _truth_schema())
        write_table(out_dir / "plots.parquet", self.plots, PLOTS_SCHEMA)
        (out_dir / "run.json").write_text(json.dumps(self.run_info(), indent=2) + "\n")
        # The scenario's map layers go with every run output (run, simulate, exercise), so
        # that the run's replay draws what its live pages drew.
        write_layers(self.loaded, out_dir)


def _launch_s(loaded: LoadedScenario, target_id: str) -> float:
    for t in loaded.scenario.targets:
        if getattr(t, "id", None) == target_id:
            return float(getattr(t, "launch_s", 0.0))
    return 0.0


def _truth_schema() -> pa.Schema:
    return TRUTH_SCHEMA.append(pa.field("identity", pa.string())).append(
        pa.field("detectable_by", pa.list_(pa.string()))
    )


def truth_times(duration_s: float, interval_s: float) -> np.ndarray:
    """Truth and picture snapshot times: 0, Δ, 2Δ, … up to the end of the scenario."""
    return np.arange(0.0, duration_s + 1e-9, interval_s)


def sample_truth(loaded: LoadedScenario, traj: TrajectorySet) -> Table:
    """Truth rows at every snapshot time, with the sensors whose coverage holds each target."""
    s = loaded.scenario
    truth = traj.sample(truth_times(s.duration_s, s.picture_interval_s))
    target = truth.pop("target_index").astype(np.intp)
    pos = geodetic_to_ecef(truth["lat_deg"], truth["lon_deg"], truth["alt_m"])
    boosting = traj.in_boost(target, truth["time_s"].astype(np.float64))
    transponder = traj.info.transponder[target]
    detectable: list[list[str]] = [[] for _ in range(len(target))]
    for sensor in s.sensors:
        for row in np.flatnonzero(coverage(sensor, Site.of(sensor), pos, boosting, transponder)):
            detectable[row].append(sensor.id)
    column = np.empty(len(target), dtype=np.object_)
    column[:] = detectable
    truth["detectable_by"] = column
    return truth


def simulate(
    loaded: LoadedScenario,
    on_progress: Callable[[str, float], None] | None = None,
) -> Simulation:
    """Fly every target, run every sensor. `on_progress(message, fraction_done)`."""
    say = on_progress or (lambda _m, _f: None)
    s = loaded.scenario
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    traj, flights = build_trajectories(loaded, on_progress=lambda m: say(m, 0.0))
    seconds["targets"] = time.perf_counter() - start
    parts: list[Table] = []
    for i, sensor in enumerate(s.sensors):
        say(f"sensor {sensor.id}", 0.3 + 0.6 * i / max(len(s.sensors), 1))
        t0 = time.perf_counter()
        parts.append(
            simulate_sensor(sensor, traj, s.duration_s, stream_rng(s.seed, "sensor", sensor.id))
        )
        seconds[sensor.id] = time.perf_counter() - t0
    plots = concat_tables(parts, PLOTS_SCHEMA)
    order = np.argsort(plots["time_s"], kind="stable")
    plots = {name: values[order] for name, values in plots.items()}
    say("sampling truth", 0.95)
    t0 = time.perf_counter()
    truth = sample_truth(loaded, traj)
    seconds["truth"] = time.perf_counter() - t0
    seconds["total"] = time.perf_counter() - start
    say("done", 1.0)
    return Simulation(loaded, traj, flights, truth, plots, seconds)

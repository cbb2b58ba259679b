"""A scenario run live: the picture source behind `airpicture serve SCENARIO`.

Interim adapter, kept in this one module so that the allied network's own
stepping API replaces it here and nowhere else: until then the scenario is
simulated up front (the simulator makes every sensor report at once), and one
central tracker is fed the reports as the server's clock passes their time,
snapshotting the picture (viewer `ALL`) every `picture_interval_s`. A
snapshot at T is produced once the clock passes T plus the tracker's
re-ordering tolerance, so it holds exactly the reports up to T, as in
`airpicture run`. No warnings yet: they come with the network's threat
assessment.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from airpicture.policy import viewable_sensors
from airpicture.scenario import LoadedScenario
from airpicture.sim.simulate import simulate
from airpicture.tracking.replay import sensor_models
from airpicture.tracking.settings import TrackerSettings
from airpicture.tracking.tracker import Tracker
from airpicture.web.sources import PictureFrame, RunInfo, scenario_geography

LIVE_VIEWER = "ALL"


class CentralizedLiveSource:
    """Simulated reports fed to one central tracker as time advances (see the module doc)."""

    def __init__(self, loaded: LoadedScenario, settings: TrackerSettings | None = None) -> None:
        scenario = loaded.scenario
        self._plots = simulate(loaded).plots
        self._times = np.asarray(self._plots["time_s"], dtype=np.float64)
        self._tracker = Tracker(sensor_models(scenario.sensors), settings)
        self._interval_s = scenario.picture_interval_s
        self._duration_s = scenario.duration_s
        self._next_row = 0
        self._next_snapshot = 1
        sites, assets, places = scenario_geography(loaded)
        self._info = RunInfo(
            scenario=scenario.name,
            epoch=scenario.epoch.isoformat().replace("+00:00", "Z"),
            duration_s=scenario.duration_s,
            picture_interval_s=scenario.picture_interval_s,
            fusion="centralized",
            nations=tuple(scenario.nations),
            viewable_sensors={v: tuple(ids) for v, ids in viewable_sensors(scenario).items()},
            picture_viewers=(LIVE_VIEWER,),
            sensors=sites,
            assets=assets,
            places=places,
        )

    @property
    def mode(self) -> Literal["live"]:
        return "live"

    @property
    def info(self) -> RunInfo:
        return self._info

    @property
    def lag_s(self) -> float:
        """How long after T the snapshot at T can be made (the tracker's re-ordering wait)."""
        return float(self._tracker.settings.order_tolerance_s)

    def advance(self, to_time_s: float) -> list[PictureFrame]:
        frames: list[PictureFrame] = []
        while True:
            snap_t = self._next_snapshot * self._interval_s
            if snap_t > self._duration_s + 1e-9 or snap_t + self.lag_s > to_time_s:
                break
            cut = int(np.searchsorted(self._times, snap_t + self.lag_s, side="right"))
            if cut > self._next_row:
                self._tracker.process({k: v[self._next_row : cut] for k, v in self._plots.items()})
                self._next_row = cut
            frames.append(PictureFrame(snap_t, LIVE_VIEWER, self._tracker.snapshot(snap_t)))
            self._next_snapshot += 1
        return frames

    @property
    def finished(self) -> bool:
        return self._next_snapshot * self._interval_s > self._duration_s + 1e-9 or math.isinf(
            self._duration_s
        )

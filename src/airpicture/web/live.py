"""A scenario run live: the picture source behind `airpicture serve SCENARIO`.

The scenario is simulated up front (the simulator makes every sensor report at
once), then the allied network (`airpicture.network.NetworkRun`) is stepped as
the server's clock passes each picture time: every nation's node tracks,
shares under its release rules, fuses and assesses threats exactly as in
`airpicture run`, and each nation's picture and the warnings issued at that
time become frames. A node that fails (`NodeFailedError`) ends the run: the
frames made before stay served, and the log names the node, its stage, the time
and the cause. The web views then give each session only its nation's.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Literal

from airpicture.network import NetworkRun, NetworkSettings
from airpicture.network.run import Fusion, NetworkSnapshot, NodeFailedError
from airpicture.policy import viewable_sensors
from airpicture.scenario import LoadedScenario
from airpicture.sim.simulate import simulate
from airpicture.web.node_source import links_message
from airpicture.web.sources import PictureFrame, RunInfo, scenario_geography, scenario_layers

log = logging.getLogger(__name__)


class NetworkLiveSource:
    """The allied network stepped with the server's clock (see the module doc)."""

    def __init__(
        self,
        loaded: LoadedScenario,
        settings: NetworkSettings | None = None,
        fusion: Fusion | None = None,
    ) -> None:
        scenario = loaded.scenario
        settings = settings or NetworkSettings()
        if (fusion or scenario.fusion) == "centralized":
            # Each nation is served a picture made for it, never the pooled one filtered.
            settings = replace(settings, national_views=True)
        self._network = NetworkRun(loaded, simulate(loaded).plots, settings, fusion=fusion)
        viewers = tuple(sorted(self._network.viewers))
        sites, assets, places = scenario_geography(loaded)
        self._info = RunInfo(
            scenario=scenario.name,
            epoch=scenario.epoch.isoformat().replace("+00:00", "Z"),
            duration_s=scenario.duration_s,
            picture_interval_s=scenario.picture_interval_s,
            fusion=self._network.fusion,
            nations=tuple(scenario.nations),
            viewable_sensors={v: tuple(ids) for v, ids in viewable_sensors(scenario).items()},
            picture_viewers=viewers,
            sensors=sites,
            assets=assets,
            places=places,
            layers=scenario_layers(loaded),
        )
        #: The node that failed, if one did: the run then ends with what it had made.
        self.failure: NodeFailedError | None = None

    @property
    def mode(self) -> Literal["live"]:
        return "live"

    @property
    def info(self) -> RunInfo:
        return self._info

    @property
    def lag_s(self) -> float:
        """How long after T the picture at T can be made: the network takes reports up to T."""
        return 0.0

    def advance(self, to_time_s: float) -> list[PictureFrame]:
        frames: list[PictureFrame] = []
        snapshots: list[NetworkSnapshot] = []
        if self.failure is None:
            try:
                for snapshot in self._network.snapshots_until(to_time_s):
                    snapshots.append(snapshot)
            except NodeFailedError as exc:
                self.failure = exc
                log.error("%s; serving the pictures made before", exc)
        nodes = self._network.nodes
        for i, snapshot in enumerate(snapshots):
            # Every viewer's frame carries the time's warnings; the web views pass a
            # session only those addressed to its nation. The last frame of a step carries
            # its nation's node's links to its partners as they are now.
            last = i == len(snapshots) - 1
            for viewer in sorted(snapshot.pictures):
                node = nodes.get(viewer)
                frames.append(
                    PictureFrame(
                        snapshot.time_s,
                        viewer,
                        snapshot.pictures[viewer],
                        list(snapshot.warnings),
                        links_message(node.links) if last and node is not None else None,
                    )
                )
        return frames

    @property
    def finished(self) -> bool:
        return self._network.done or self.failure is not None

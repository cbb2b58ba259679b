"""The picture source of one national node's own web page (`airpicture node`).

The node service (`network/service.py`) pushes each fused snapshot of its own
nation here; the COP server (`web/app.py`) takes them as frames. The source
knows one viewer only — the node's nation — so the server it feeds can serve no
other nation's picture: `RunInfo.picture_viewers` and `viewable_sensors` name
that nation alone, and `web/views.py` makes no rule for anyone else.

The server's live clock is the exercise clock (`create_app(..., clock_s=...)`), so
a node restarted mid-exercise serves the current exercise time, not its own uptime.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Literal

from airpicture.network.liveness import LinkMonitor, LinkState
from airpicture.policy import viewable_sensors
from airpicture.scenario import LAYERS_DIR, LoadedScenario
from airpicture.tables import Table
from airpicture.threat.warning import Warning
from airpicture.web.protocol import Links, LinkStateName, MapLayer, PartnerLink
from airpicture.web.sources import (
    PictureFrame,
    RunInfo,
    read_layers,
    scenario_geography,
    scenario_layers,
)

#: A link's state as the page is told it.
STATE_NAMES: dict[LinkState, LinkStateName] = {
    LinkState.WAITING: "waiting",
    LinkState.UP: "up",
    LinkState.DOWN: "down",
}


def links_message(monitor: LinkMonitor) -> Links:
    """A node's links to its partners (`network.liveness.LinkMonitor`) as its page is told
    them: a copy, made now (the node goes on)."""
    return Links(
        time_s=monitor.now_s,
        down_after_s=monitor.down_after_s,
        partners=[
            PartnerLink(p, STATE_NAMES[link.state], link.since_s, link.last_heard_s)
            for p, link in monitor.links.items()
        ],
    )


def _merged(first: tuple[MapLayer, ...], more: tuple[MapLayer, ...]) -> tuple[MapLayer, ...]:
    """`first`, then the layers of `more` whose names `first` does not have."""
    names = {layer.name for layer in first}
    return first + tuple(layer for layer in more if layer.name not in names)


class NodeLiveSource:
    """One nation's fused pictures as the node makes them (see the module doc)."""

    def __init__(self, loaded: LoadedScenario, nation: str, record_dir: Path | None = None) -> None:
        """`record_dir`: the node's folder, where its page records operators'
        acknowledgements (and whose `layers/*.geojson` it draws)."""
        scenario = loaded.scenario
        if nation not in scenario.nations:
            raise ValueError(f"{nation} is not a nation of {scenario.name}")
        self.nation = nation
        sites, assets, places = scenario_geography(loaded)
        viewable = tuple(viewable_sensors(scenario)[nation])
        self._info = RunInfo(
            scenario=scenario.name,
            epoch=scenario.epoch.isoformat().replace("+00:00", "Z"),
            duration_s=scenario.duration_s,
            picture_interval_s=scenario.picture_interval_s,
            fusion="distributed",
            nations=(nation,),
            viewable_sensors={nation: viewable},
            picture_viewers=(nation,),
            sensors={sid: sites[sid] for sid in viewable if sid in sites},
            assets=tuple(a for a in assets if a.nation in (None, nation)),
            places=places,
            # The scenario's own layers (a node's folder may hold more, or older copies).
            layers=_merged(
                scenario_layers(loaded),
                read_layers(record_dir / LAYERS_DIR) if record_dir is not None else (),
            ),
            record_dir=record_dir,
        )
        self._lock = threading.Lock()
        self._frames: list[PictureFrame] = []
        self._finished = False

    @property
    def mode(self) -> Literal["live"]:
        return "live"

    @property
    def info(self) -> RunInfo:
        return self._info

    @property
    def lag_s(self) -> float:
        return 0.0

    def push(
        self,
        time_s: float,
        picture: Table,
        warnings: list[Warning],
        links: LinkMonitor | None = None,
    ) -> None:
        """The node's picture at `time_s`, the warnings it issued then, and its links to its
        partners as it sees them (copied now; any thread)."""
        mine = [w for w in warnings if self.nation in w.recipients]
        status = links_message(links) if links is not None else None
        with self._lock:
            self._frames.append(PictureFrame(time_s, self.nation, picture, mine, status))

    def advance(self, to_time_s: float) -> list[PictureFrame]:
        """Every frame the node has made not yet returned (the node's clock is the truth)."""
        with self._lock:
            frames, self._frames = self._frames, []
        return frames

    def finish(self) -> None:
        self._finished = True

    @property
    def finished(self) -> bool:
        return self._finished

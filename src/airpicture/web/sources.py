"""Where the served picture comes from: a `PictureSource` gives frames as time advances.

Two implementations: `RunFolderSource` replays a finished run's output folder
(`picture.parquet`, `warnings.jsonl`, `run.json`), and `airpicture.web.live`
runs a scenario as the server's clock advances. The server only knows this
Protocol, so the allied network's own stepping API can be adapted in one place.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from airpicture.errors import InputError
from airpicture.scenario import (
    LAYERS_DIR,
    LoadedScenario,
    layer_documents,
    load_scenario,
    read_geojson,
)
from airpicture.scenario.layers import LAYER_COLOR_PATTERN
from airpicture.tables import PICTURE_SCHEMA, Table, read_table, take_rows
from airpicture.threat.warning import Warning, WarningLineError
from airpicture.threat.warning import read_warnings as read_warning_lines
from airpicture.web.protocol import Links, MapLayer, Place, SensorSite


@dataclass(frozen=True)
class PictureFrame:
    """One viewer's picture at one time, and the warnings issued since its previous frame;
    `links`: the viewer's own node's links to its partners then (a live node's; else None)."""

    time_s: float
    viewer: str
    picture: Table
    warnings: list[Warning] = field(default_factory=list)
    links: Links | None = None


@dataclass(frozen=True)
class RunInfo:
    """The fixed facts of a run that the server and the browser need."""

    scenario: str
    epoch: str
    duration_s: float
    picture_interval_s: float
    fusion: str
    nations: tuple[str, ...]
    #: Viewer (nation, or ALL) → the sensor ids whose data it may hold (run.json `viewers`).
    viewable_sensors: Mapping[str, tuple[str, ...]]
    #: The viewers whose pictures the source produces (picture.parquet's `viewer` values).
    picture_viewers: tuple[str, ...]
    sensors: Mapping[str, SensorSite]
    assets: tuple[Place, ...] = ()
    places: tuple[Place, ...] = ()
    #: GeoJSON layers to draw (a run folder's `layers/*.geojson`).
    layers: tuple[MapLayer, ...] = ()
    #: Where the server records what operators do (acknowledgements): the run's or node's
    #: folder; None: kept in memory only.
    record_dir: Path | None = None


#: Colours given to layers in name order (a layer's own top-level `"color"` wins).
LAYER_COLORS = ("#c39bff", "#7ee0a8", "#ffb86b", "#8ecbff", "#ff8fa3", "#e8e27a")


def _map_layer(name: str, data: dict[str, object], index: int) -> MapLayer:
    """A layer in its own colour (`"color"`, when one the page can draw), else the palette's."""
    color = data.get("color")
    if not (isinstance(color, str) and re.match(LAYER_COLOR_PATTERN, color)):
        color = LAYER_COLORS[index % len(LAYER_COLORS)]
    return MapLayer(name=name, geojson=data, color=color)


def read_layers(folder: Path) -> tuple[MapLayer, ...]:
    """The GeoJSON layers in `folder` (`*.geojson`, named by file stem), or none when it
    does not exist; a file that is not GeoJSON (`scenario.read_geojson`) is an error naming
    it."""
    if not folder.is_dir():
        return ()
    paths = sorted(folder.glob("*.geojson"))
    return tuple(_map_layer(p.stem, read_geojson(p), i) for i, p in enumerate(paths))


def scenario_layers(loaded: LoadedScenario) -> tuple[MapLayer, ...]:
    """The layers a scenario names (`layers:`), as a replay of its run draws them (the copies
    `write_layers` made, in name order: the same default colours)."""
    documents = sorted(layer_documents(loaded), key=lambda item: item[0])
    return tuple(_map_layer(name, data, i) for i, (name, data) in enumerate(documents))


class PictureSource(Protocol):
    """Frames of every viewer's picture, in time order, as the clock moves on."""

    @property
    def mode(self) -> Literal["replay", "live"]: ...

    @property
    def info(self) -> RunInfo: ...

    def advance(self, to_time_s: float) -> list[PictureFrame]:
        """Every frame with a time up to `to_time_s` not yet returned, oldest first."""
        ...


def _site(sensor: Any) -> SensorSite:
    def opt(name: str) -> float | None:
        value = getattr(sensor, name, None)
        return None if value is None else float(value)

    return SensorSite(
        id=sensor.id,
        nation=sensor.nation,
        type=sensor.type,
        lat_deg=float(sensor.lat_deg),
        lon_deg=float(sensor.lon_deg),
        alt_m=float(getattr(sensor, "alt_m", 0.0) or 0.0),
        min_range_m=opt("min_range_m"),
        max_range_m=opt("max_range_m"),
        boresight_az_deg=opt("boresight_az_deg"),
        half_width_deg=opt("half_width_deg"),
    )


def scenario_geography(
    loaded: LoadedScenario,
) -> tuple[dict[str, SensorSite], tuple[Place, ...], tuple[Place, ...]]:
    """Sensor sites, defended assets and named places of a scenario."""
    s = loaded.scenario
    sites = {sensor.id: _site(sensor) for sensor in s.sensors}
    assets = tuple(
        Place(
            name=a.name,
            lat_deg=a.lat_deg,
            lon_deg=a.lon_deg,
            nation=a.nation,
            radius_m=a.radius_m,
        )
        for a in s.assets
    )
    places = tuple(Place(name=p.name, lat_deg=p.lat_deg, lon_deg=p.lon_deg) for p in s.places)
    return sites, assets, places


def read_warnings(path: Path) -> list[Warning]:
    """warnings.jsonl as warnings sorted by time (no file: no warnings).

    A line that is not a warning (`threat.warning.Warning`: a finite `time_s`, a
    `warning_id`, a known `kind`, a `text`, a list of `recipients`, …) is an error
    naming the line.
    """
    try:
        out = read_warning_lines(path)
    except WarningLineError as exc:
        raise InputError(
            f"{exc.path}:{exc.line}",
            [f"{exc.reason}; each line must be one warning object (ARCHITECTURE.md, 'Run output')"],
        ) from None
    bad = next((w for w in out if not math.isfinite(w.time_s)), None)
    if bad is not None:
        raise InputError(
            str(path),
            [
                f"warning {bad.warning_id}: field 'time_s' must be a finite number "
                "(seconds after the epoch)"
            ],
        )
    out.sort(key=lambda w: w.time_s)
    return out


def find_scenario_file(run_dir: Path, run_json: Mapping[str, Any]) -> Path | None:
    """The run's scenario file, when it can be found beside the run (for sensor sites).

    Looks for run.json's `scenario_file` in the run folder, in `scenarios/`
    under the working directory, and in `scenarios/` under each parent of the
    run folder.
    """
    name = run_json.get("scenario_file")
    if not isinstance(name, str) or not name or Path(name).name != name:
        return None
    candidates = [run_dir / name, Path.cwd() / "scenarios" / name]
    candidates += [parent / "scenarios" / name for parent in run_dir.resolve().parents]
    return next((c for c in candidates if c.is_file()), None)


class RunFolderSource:
    """A finished run's output folder, replayed: every frame is available from the start."""

    def __init__(self, run_dir: Path, scenario_file: Path | None = None) -> None:
        run_json_path = run_dir / "run.json"
        if not run_json_path.is_file():
            raise InputError(
                str(run_dir),
                [
                    "no run.json: not a run output folder; make one with "
                    "`airpicture run SCENARIO --out DIR`, or give a scenario file to run it live"
                ],
            )
        try:
            run_json = json.loads(run_json_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(str(run_json_path), [f"not JSON ({exc.msg})"]) from exc
        picture = read_table(run_dir / "picture.parquet", PICTURE_SCHEMA)
        scenario_path = scenario_file or find_scenario_file(run_dir, run_json)
        sites: dict[str, SensorSite] = {}
        assets: tuple[Place, ...] = ()
        places: tuple[Place, ...] = ()
        layers = read_layers(run_dir / LAYERS_DIR)
        if scenario_path is not None:
            loaded = load_scenario(scenario_path)
            sites, assets, places = scenario_geography(loaded)
            # A run made before its scenario named layers (or by another tool) has none.
            layers = layers or scenario_layers(loaded)
        info = _run_info(run_json, run_json_path, picture, sites, assets, places)
        self._info = dataclasses.replace(info, layers=layers, record_dir=run_dir)
        self._frames = _split_frames(picture, read_warnings(run_dir / "warnings.jsonl"))
        self._next = 0

    @property
    def mode(self) -> Literal["replay"]:
        return "replay"

    @property
    def info(self) -> RunInfo:
        return self._info

    def advance(self, to_time_s: float) -> list[PictureFrame]:
        start = self._next
        while self._next < len(self._frames) and self._frames[self._next].time_s <= to_time_s:
            self._next += 1
        return self._frames[start : self._next]


def _run_info(
    run_json: Mapping[str, Any],
    where: Path,
    picture: Table,
    sites: dict[str, SensorSite],
    assets: tuple[Place, ...],
    places: tuple[Place, ...],
) -> RunInfo:
    try:
        nations = tuple(str(n) for n in run_json["nations"])
        viewers = {
            str(v): tuple(str(s) for s in ids) for v, ids in dict(run_json["viewers"]).items()
        }
        sensors = dict(run_json.get("sensors", {}))
        info = RunInfo(
            scenario=str(run_json["scenario"]),
            epoch=str(run_json["epoch"]),
            duration_s=float(run_json["duration_s"]),
            picture_interval_s=float(run_json["picture_interval_s"]),
            fusion=str(run_json.get("fusion", "distributed")),
            nations=nations,
            viewable_sensors=viewers,
            picture_viewers=tuple(sorted({str(v) for v in picture["viewer"]})),
            sensors={sid: sites[sid] for sid in sensors if sid in sites},
            assets=assets,
            places=places,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(
            str(where),
            [
                f"missing or malformed field {exc}; run.json needs scenario, epoch, duration_s, "
                "picture_interval_s, nations and viewers (ARCHITECTURE.md, 'Run output')"
            ],
        ) from exc
    return info


def _split_frames(picture: Table, warnings: list[Warning]) -> list[PictureFrame]:
    """One frame per (time, viewer), each carrying the warnings issued since the previous time."""
    times = np.asarray(picture["time_s"], dtype=np.float64)
    viewers = picture["viewer"]
    order = np.lexsort((viewers.astype(str), times)) if len(times) else np.empty(0, np.intp)
    frames: list[PictureFrame] = []
    unique_times = np.unique(times)
    viewer_names = sorted({str(v) for v in viewers})
    warn_times = np.array([w.time_s for w in warnings])
    sorted_times = times[order]
    previous = -math.inf
    for t in unique_times:
        lo = int(np.searchsorted(sorted_times, t, side="left"))
        hi = int(np.searchsorted(sorted_times, t, side="right"))
        block = order[lo:hi]
        new_warnings = [w for w, wt in zip(warnings, warn_times, strict=True) if previous < wt <= t]
        for viewer in viewer_names:
            rows: NDArray[np.intp] = block[viewers[block] == viewer]
            frames.append(
                PictureFrame(float(t), viewer, take_rows(picture, rows), list(new_warnings))
            )
        previous = float(t)
    late = [w for w, wt in zip(warnings, warn_times, strict=True) if wt > previous]
    if late and frames:
        last = frames[-len(viewer_names) :]
        for f in last:
            f.warnings.extend(late)
    return frames

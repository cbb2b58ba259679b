"""Run threat assessment over a recorded scenario, without the allied network.

`assess_plots` replays every report through one central tracker
(`airpicture.tracking.Tracker`) and, at every picture time, calls one
`NationalAssessor` per nation with the tracks and the new space-IR boost
reports that nation may receive (its `viewers` list: own sensors and those
released to it). This is how the benchmark, the tests and `assess_run_dir`
produce `warnings.jsonl` until the network's nodes call the assessors
themselves.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
from numpy.typing import NDArray

from airpicture.atlas import country_outlines
from airpicture.geo.land import CountryOutlines
from airpicture.scenario import Scenario, load_scenario
from airpicture.tables import PLOTS_SCHEMA, json_default, read_table
from airpicture.threat.assessment import BoostReports
from airpicture.threat.assessor import AssessorSettings, NationalAssessor
from airpicture.threat.warning import Warning, write_warnings
from airpicture.tracking import Tracker, TrackerSettings, sensor_models
from airpicture.tracking.view import TrackView


@dataclass
class AssessRun:
    warnings: list[Warning] = field(default_factory=list)
    threats: list[dict[str, Any]] = field(default_factory=list)
    #: Class and identity of every track at every snapshot, per nation.
    classes: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, dict[str, int]] = field(default_factory=dict)
    assessors: dict[str, NationalAssessor] = field(default_factory=dict)


def _subset(boost: BoostReports, sensors: set[str]) -> BoostReports:
    keep = np.array([str(s) in sensors for s in boost.sensor_id], dtype=bool)
    return BoostReports(
        boost.time_s[keep], boost.sensor_id[keep], boost.origin_ecef_m[keep], boost.los_ecef[keep]
    )


def assess_plots(
    plots: Mapping[str, NDArray[Any]],
    scenario: Scenario,
    viewers: Mapping[str, Sequence[str]] | None = None,
    nations: Sequence[str] | None = None,
    settings: AssessorSettings | None = None,
    tracker_settings: TrackerSettings | None = None,
    end_s: float | None = None,
    on_snapshot: Callable[[float, TrackView], None] | None = None,
    countries: CountryOutlines | None = None,
) -> AssessRun:
    """Track `plots` centrally and assess at every picture time for each nation.

    `countries`: the country outlines the assessors tell land from sea with; by
    default the installed world-atlas's (`airpicture.atlas`, read once per process).
    """
    nations = list(nations or scenario.nations)
    all_sensors = {s.id for s in scenario.sensors}
    viewers = viewers or {n: sorted(all_sensors) for n in nations}
    run = AssessRun()
    outlines = country_outlines() if countries is None else countries
    run.assessors = {n: NationalAssessor(scenario, n, settings, outlines) for n in nations}
    tracker = Tracker(sensor_models(scenario.sensors), tracker_settings)
    interval = scenario.picture_interval_s
    end = float(end_s if end_s is not None else scenario.duration_s)
    times = np.asarray(plots["time_s"], dtype=np.float64)
    order = np.argsort(times, kind="stable")
    sorted_t = times[order]
    boost_after_s = -math.inf
    start = 0
    for k in range(1, math.floor(end / interval + 1e-9) + 1):
        snap = k * interval
        stop = int(np.searchsorted(sorted_t, snap, side="right"))
        if stop > start:
            idx = order[start:stop]
            tracker.process({c: np.asarray(v)[idx] for c, v in plots.items()})
            start = stop
        tracker.advance_to(snap)
        view = tracker.view(snap)
        boost = tracker.boost.between(boost_after_s, snap)
        boost_after_s = snap
        if on_snapshot is not None:
            on_snapshot(snap, view)
        for nation, assessor in run.assessors.items():
            mine = _subset(boost, set(viewers.get(nation, all_sensors)))
            result = assessor.assess(view, mine, snap)
            # No network here to share (and to cut) what an assessor offers its allies:
            # every nation has its own assessor, so each warning goes to its nation alone.
            run.warnings.extend(
                msgspec.structs.replace(w, recipients=(nation,)) for w in result.warnings
            )
            for i in range(len(view.track_id)):
                run.classes.append(
                    {
                        "time_s": snap,
                        "viewer": nation,
                        "track_id": str(view.track_id[i]),
                        "cls": str(result.cls[i]),
                        "cls_confidence": float(result.cls_confidence[i]),
                        "identity": str(result.identity[i]),
                    }
                )
    for nation, assessor in run.assessors.items():
        run.threats.extend(assessor.threat_log)
        run.notes[nation] = dict(assessor.notes)
    run.warnings.sort(key=lambda w: (w.time_s, w.recipients[0], w.warning_id))
    return run


def write_jsonl(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """One JSON object a line (warnings: `threat.warning.write_warnings`)."""
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, default=json_default) + "\n")


def assess_run_dir(
    run_dir: Path, scenario_path: Path, settings: AssessorSettings | None = None
) -> AssessRun:
    """Assess a run folder's `plots.parquet` (with its scenario file); write
    `warnings.jsonl` and `threats.jsonl` beside it."""
    loaded = load_scenario(scenario_path)
    plots = read_table(run_dir / "plots.parquet", PLOTS_SCHEMA)
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    viewers = info.get("viewers")
    run = assess_plots(
        plots,
        loaded.scenario,
        viewers=viewers,
        settings=settings,
        end_s=float(info.get("duration_s", loaded.scenario.duration_s)),
    )
    write_warnings(run_dir / "warnings.jsonl", run.warnings)
    write_jsonl(run_dir / "threats.jsonl", run.threats)
    return run

"""Every measure for every viewer of a loaded run, as arrays (`evaluate`).

metrics.json (`airpicture.metrics.evaluate`) and the report
(`airpicture.metrics.report`) are both drawn from the `Evaluation` made here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from airpicture.metrics.association import Associations, AssociationSettings, associate_over_time
from airpicture.metrics.commonality import CommonalityResult, CommonalitySettings, commonality
from airpicture.metrics.gospa import GospaSeries, GospaSettings, gospa_series
from airpicture.metrics.run_data import ALL_VIEWER, RunData
from airpicture.metrics.siap import SiapResult, siap

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: `progress(stage, done, total)`: told how far evaluation has got.
ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True)
class EvaluationSettings:
    """Every parameter of the evaluation; all are written to metrics.json."""

    gospa: GospaSettings = field(default_factory=GospaSettings)
    association: AssociationSettings = field(default_factory=AssociationSettings)
    commonality: CommonalitySettings = field(default_factory=CommonalitySettings)


@dataclass(frozen=True, eq=False)
class ViewerEvaluation:
    viewer: str
    eligible: BoolArray  # per truth row
    gospa: GospaSeries
    associations: Associations
    siap: SiapResult


@dataclass(frozen=True, eq=False)
class Evaluation:
    run: RunData
    settings: EvaluationSettings
    viewers: dict[str, ViewerEvaluation]
    commonality: CommonalityResult | None
    commonality_note: str


def _no_progress(stage: str, done: int, total: int) -> None:
    del stage, done, total


def evaluate(
    run: RunData, settings: EvaluationSettings, progress: ProgressCallback | None = None
) -> Evaluation:
    """All measures for every evaluated viewer, and commonality between nations."""
    report = progress or _no_progress
    truth = run.truth
    n_steps = int(run.times_s.size)
    viewers: dict[str, ViewerEvaluation] = {}
    total = len(run.viewer_names) + 1
    for i, viewer in enumerate(run.viewer_names):
        report(f"viewer {viewer}", i, total)
        tracks = run.pictures[viewer]
        eligible = truth.eligible[:, i]
        gospa = gospa_series(
            tracks.step,
            tracks.position_ecef_m,
            truth.step[eligible],
            truth.position_ecef_m[eligible],
            n_steps,
            settings.gospa,
        )
        associations = associate_over_time(
            tracks.step,
            tracks.track,
            tracks.position_ecef_m,
            truth.step,
            truth.target,
            truth.position_ecef_m,
            n_steps,
            settings.association,
        )
        result = siap(associations, tracks, truth, eligible, run.times_s)
        viewers[viewer] = ViewerEvaluation(viewer, eligible, gospa, associations, result)

    report("commonality", total - 1, total)
    nations = [v for v in run.viewer_names if v in run.info.nations and v != ALL_VIEWER]
    common: CommonalityResult | None = None
    if len(nations) >= 2:
        common = commonality(
            nations,
            {v: viewers[v].eligible for v in nations},
            {v: viewers[v].siap.held for v in nations},
            run.pictures,
            truth,
            n_steps,
            settings.commonality,
        )
        note = ""
    elif run.info.fusion == "centralized":
        note = "centralized run: one shared picture, so commonality between nations does not apply"
    else:
        note = "fewer than two nations have a picture to compare"
    report("done", total, total)
    return Evaluation(run, settings, viewers, common, note)


def first_times(evaluation: Evaluation) -> dict[str, dict[str, dict[str, float]]]:
    """Per viewer: when each target first counted (eligible) and was first held, seconds."""
    run = evaluation.run
    truth = run.truth
    n_targets = int(truth.target_ids.size)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for viewer, ev in evaluation.viewers.items():
        big = np.iinfo(np.int64).max
        first_eligible = np.full(n_targets, big, dtype=np.int64)
        np.minimum.at(first_eligible, truth.target[ev.eligible], truth.step[ev.eligible])
        first_held = np.full(n_targets, big, dtype=np.int64)
        held = ev.siap.held
        np.minimum.at(first_held, truth.target[held.truth_row], held.step)
        out[viewer] = {
            "first_eligible_s": {
                str(truth.target_ids[j]): float(run.times_s[first_eligible[j]])
                for j in np.flatnonzero(first_eligible < big)
            },
            "first_held_s": {
                str(truth.target_ids[j]): float(run.times_s[first_held[j]])
                for j in np.flatnonzero(first_held < big)
            },
        }
    return out


def gospa_per_target_m(ev: ViewerEvaluation) -> float | None:
    """Σ_t GOSPA_t / Σ_t J(t): GOSPA per eligible truth and snapshot (None without truths)."""
    eligible = float(ev.siap.counts.J.sum())
    return float(np.sum(ev.gospa.distance_m)) / eligible if eligible else None


def report_title(run: RunData) -> str:
    name = run.info.scenario or "run"
    return f"Picture quality — {name} ({run.info.fusion or 'unknown'} fusion)"

"""The same inputs, as Stone Soup objects, to check our measures against Stone Soup 1.9.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from stonesoup.dataassociator.tracktotrack import TrackToTruth
from stonesoup.measures import Euclidean
from stonesoup.metricgenerator.manager import MultiManager
from stonesoup.metricgenerator.tracktotruthmetrics import IDSIAPMetrics
from stonesoup.types.detection import Detection
from stonesoup.types.groundtruth import GroundTruthPath, GroundTruthState
from stonesoup.types.hypothesis import SingleHypothesis
from stonesoup.types.prediction import StatePrediction
from stonesoup.types.track import Track
from stonesoup.types.update import StateUpdate

from airpicture.metrics import AssociationSettings
from airpicture.metrics.run_data import NO_IDENTITY, TrackRows, TruthRows

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def when(time_s: float) -> datetime:
    return EPOCH + timedelta(seconds=float(time_s))


def truths_from(truth: TruthRows, times_s: np.ndarray) -> dict[int, GroundTruthPath]:
    """One GroundTruthPath per target, states [x, y, z, vx, vy, vz] in ECEF."""
    paths: dict[int, GroundTruthPath] = {}
    order = np.lexsort((truth.step, truth.target))
    for r in order:
        j = int(truth.target[r])
        path = paths.setdefault(j, GroundTruthPath(id=str(truth.target_ids[j])))
        vector = np.concatenate([truth.position_ecef_m[r], truth.velocity_ecef_mps[r]])
        identity = str(truth.identity[r])
        path.append(
            GroundTruthState(
                vector.reshape(-1, 1),
                timestamp=when(times_s[truth.step[r]]),
                metadata={"identity": None if identity in NO_IDENTITY else identity},
            )
        )
    return paths


def tracks_from(tracks: TrackRows, times_s: np.ndarray) -> dict[int, Track]:
    """One Track per track number; each state an update carrying the row's identity."""
    out: dict[int, Track] = {}
    order = np.lexsort((tracks.step, tracks.track))
    for r in order:
        k = int(tracks.track[r])
        track = out.setdefault(k, Track(id=str(tracks.track_ids[k])))
        vector = np.concatenate([tracks.position_ecef_m[r], tracks.velocity_ecef_mps[r]]).reshape(
            -1, 1
        )
        stamp = when(times_s[tracks.step[r]])
        identity = str(tracks.identity[r])
        detection = Detection(
            vector,
            timestamp=stamp,
            metadata={"identity": None if identity in NO_IDENTITY else identity},
        )
        hypothesis = SingleHypothesis(StatePrediction(vector, timestamp=stamp), detection)
        track.append(StateUpdate(vector, hypothesis=hypothesis, timestamp=stamp))
    return out


def stonesoup_siap(
    truths: dict[int, GroundTruthPath], tracks: dict[int, Track], settings: AssociationSettings
) -> tuple[dict[str, Any], Any]:
    """Stone Soup's SIAP summary values, and its association set."""
    generator = IDSIAPMetrics(
        position_measure=Euclidean(mapping=(0, 1, 2)),
        velocity_measure=Euclidean(mapping=(3, 4, 5)),
        truth_id="identity",
        track_id="identity",
    )
    associator = TrackToTruth(
        association_threshold=settings.threshold_m,
        consec_pairs_confirm=settings.consec_pairs_confirm,
        consec_misses_end=settings.consec_misses_end,
        measure=Euclidean(mapping=(0, 1, 2)),
    )
    manager = MultiManager([generator], associator)
    manager.add_data({"tracks": set(tracks.values()), "groundtruth_paths": set(truths.values())})
    metrics = manager.generate_metrics()[generator.generator_name]
    names = {
        "completeness": "SIAP Completeness",
        "ambiguity": "SIAP Ambiguity",
        "spuriousness": "SIAP Spuriousness",
        "position_accuracy_m": "SIAP Position Accuracy",
        "velocity_accuracy_mps": "SIAP Velocity Accuracy",
        "track_number_change_rate_per_s": "SIAP Rate of Track Number Change",
        "longest_track_segment": "SIAP Longest Track Segment",
        "id_completeness": "SIAP ID Completeness",
        "id_correctness": "SIAP ID Correctness",
        "id_ambiguity": "SIAP ID Ambiguity",
    }
    return {key: metrics[title].value for key, title in names.items()}, manager.association_set

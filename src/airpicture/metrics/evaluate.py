"""Evaluate a run folder into `metrics.json` and `report.html`.

`evaluate_run(run_dir)` is the entry point the `evaluate` and `run` commands
call; `to_json(evaluation)` turns an `Evaluation` into the metrics.json document.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from airpicture.metrics.evaluation import (
    Evaluation,
    EvaluationSettings,
    ProgressCallback,
    ViewerEvaluation,
    evaluate,
    first_times,
    report_title,
)
from airpicture.metrics.registration import read_registration, registration_section
from airpicture.metrics.report import quality_sections
from airpicture.metrics.report import write_report as write_html
from airpicture.metrics.run_data import RunData, load_run
from airpicture.metrics.run_report import (
    links_section,
    sensors_section,
    summary_section,
    threat_timeline_section,
)
from airpicture.metrics.warnings import warning_measures, warnings_section

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Version of the metrics.json layout; bump on any incompatible change.
METRICS_SCHEMA: Final = "airpicture.metrics/1"


# ---------------------------------------------------------------- JSON output


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf → null, numpy scalars and arrays → Python."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    return value


def _spans(steps: NDArray[np.int64], times_s: FloatArray) -> list[list[float]]:
    """Runs of consecutive snapshots → [[start_s, end_s], ...]."""
    if steps.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(steps) != 1)
    starts = np.concatenate([[steps[0]], steps[breaks + 1]])
    ends = np.concatenate([steps[breaks], [steps[-1]]])
    return [[float(times_s[s]), float(times_s[e])] for s, e in zip(starts, ends, strict=True)]


def _eligible_spans(run: RunData, eligible: BoolArray) -> dict[str, list[list[float]]]:
    truth = run.truth
    rows = np.flatnonzero(eligible)
    order = rows[np.lexsort((truth.step[rows], truth.target[rows]))]
    targets = truth.target[order]
    bounds = np.flatnonzero(np.diff(targets)) + 1
    out: dict[str, list[list[float]]] = {}
    for chunk in np.split(order, bounds) if order.size else []:
        out[str(truth.target_ids[truth.target[chunk[0]]])] = _spans(truth.step[chunk], run.times_s)
    return out


def _viewer_json(evaluation: Evaluation, ev: ViewerEvaluation) -> dict[str, Any]:
    run = evaluation.run
    tracks = run.pictures[ev.viewer]
    truth = run.truth
    g = ev.gospa
    counts = ev.siap.counts
    a = ev.associations
    order = np.lexsort((a.start_step, a.track))
    eligible_targets = np.unique(truth.target[ev.eligible])
    return {
        "sensors": list(run.info.viewers.get(ev.viewer, ())),
        "n_tracks": int(tracks.track_ids.size),
        "n_track_rows": tracks.size,
        "eligible": {
            "rule": "truth row counts iff set(detectable_by) ∩ set(viewers[viewer]) ≠ ∅",
            "n_truth_rows": int(ev.eligible.sum()),
            "n_targets": int(eligible_targets.size),
            "targets": [str(t) for t in truth.target_ids[eligible_targets]],
            "spans_s": _eligible_spans(run, ev.eligible),
        },
        "gospa": {
            "mean": {
                "distance_m": float(np.mean(g.distance_m)) if g.distance_m.size else None,
                "localisation": float(np.mean(g.localisation)) if g.distance_m.size else None,
                "missed": float(np.mean(g.missed)) if g.distance_m.size else None,
                "false": float(np.mean(g.false)) if g.distance_m.size else None,
            },
            "per_snapshot": {
                "distance_m": g.distance_m,
                "localisation": g.localisation,
                "missed": g.missed,
                "false": g.false,
                "n_assigned": g.n_assigned,
                "n_missed": g.n_missed,
                "n_false": g.n_false,
            },
        },
        "siap": {
            **ev.siap.summary,
            "counts": {
                "J": int(counts.J.sum()),
                "JT": int(counts.JT.sum()),
                "N": int(counts.N.sum()),
                "NA": int(counts.NA.sum()),
                "NA_eligible": int(counts.NA_eligible.sum()),
                "JU": int(counts.JU.sum()),
                "JC": int(counts.JC.sum()),
                "JI": int(counts.JI.sum()),
                "sum_T_s": float(ev.siap.continuity.lifetime_s.sum()),
                "sum_TT_s": float(ev.siap.continuity.time_held_s.sum()),
                "sum_TL_s": float(ev.siap.continuity.longest_segment_s.sum()),
                "sum_NU": int(ev.siap.continuity.tracks_needed.sum()),
            },
            "per_snapshot": {
                **ev.siap.per_step,
                "J": counts.J,
                "JT": counts.JT,
                "N": counts.N,
                "NA": counts.NA,
            },
        },
        "associations": [
            {
                "track_id": str(tracks.track_ids[a.track[k]]),
                "target_id": str(truth.target_ids[a.truth[k]]),
                "start_s": float(run.times_s[a.start_step[k]]),
                "end_s": float(run.times_s[a.end_step[k]]),
            }
            for k in order
        ],
    }


def _commonality_json(evaluation: Evaluation) -> dict[str, Any]:
    c = evaluation.commonality
    if c is None:
        return {"applicable": False, "note": evaluation.commonality_note}
    return {
        "applicable": True,
        "nations": list(c.nations),
        "overall": {"value": c.value, "eligible": c.eligible, "common": c.common},
        "pairs": [{**asdict(p), "value": p.value} for p in c.pairs],
        "matrix": c.matrix(),
        "per_snapshot": {
            "eligible": c.eligible_per_step,
            "common": c.common_per_step,
        },
    }


def to_json(evaluation: Evaluation) -> dict[str, Any]:
    """The metrics.json document."""
    run = evaluation.run
    info = run.info
    s = evaluation.settings
    firsts = first_times(evaluation)
    truth = run.truth
    last_identity = np.empty(truth.target_ids.size, dtype=np.object_)
    last_identity[truth.target] = truth.identity
    targets = [
        {
            "target_id": str(truth.target_ids[j]),
            "kind": str(truth.target_kind[j]),
            "identity": str(last_identity[j]),
            "first_eligible_s": {
                v: firsts[v]["first_eligible_s"].get(str(truth.target_ids[j])) for v in firsts
            },
            "first_held_s": {
                v: firsts[v]["first_held_s"].get(str(truth.target_ids[j])) for v in firsts
            },
        }
        for j in range(truth.target_ids.size)
    ]
    document = {
        "schema": METRICS_SCHEMA,
        "run": {
            "scenario": info.scenario,
            "epoch": info.epoch,
            "fusion": info.fusion,
            "duration_s": info.duration_s,
            "picture_interval_s": info.picture_interval_s,
            "n_snapshots": int(run.times_s.size),
            "nations": list(info.nations),
            "viewers": list(run.viewer_names),
        },
        "parameters": {
            "gospa": {"c_m": s.gospa.c_m, "p": s.gospa.p, "alpha": s.gospa.alpha},
            "association": asdict(s.association),
            "commonality": asdict(s.commonality),
            "distance": "3D ECEF Euclidean distance, metres (WGS-84 via pyproj)",
        },
        "notes": list(run.notes),
        "times_s": run.times_s,
        "viewers": {v: _viewer_json(evaluation, ev) for v, ev in evaluation.viewers.items()},
        "commonality": _commonality_json(evaluation),
        "targets": targets,
    }
    cleaned: dict[str, Any] = _clean(document)
    return cleaned


def clean_json(value: Any) -> Any:
    """JSON-safe copy of a metrics document (NaN → null, numpy → Python)."""
    return _clean(value)


def evaluate_folder(
    run_dir: Path,
    settings: EvaluationSettings | None = None,
    *,
    progress: ProgressCallback | None = None,
    run: RunData | None = None,
) -> tuple[Evaluation, dict[str, Any]]:
    """Evaluate `run_dir` (or the already loaded `run` of it); write `metrics.json` there.

    `run` lets a caller judge a folder without airpicture's run.json (a foreign
    tracker's picture; `airpicture evaluate --scenario`). Warning measures need
    run.json's missile facts and warnings.jsonl: without them there are none.
    """
    run_dir = Path(run_dir)
    settings = settings or EvaluationSettings()
    if run is None:
        run = load_run(run_dir)
    evaluation = evaluate(run, settings, progress)
    document = to_json(evaluation)
    if (run_dir / "run.json").is_file():
        warning_doc = warning_measures(run_dir)
        if warning_doc is not None:
            document["warnings"] = _clean(warning_doc)
    (run_dir / "metrics.json").write_text(
        json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
    )
    return evaluation, document


def evaluate_run(
    run_dir: Path,
    settings: EvaluationSettings | None = None,
    *,
    progress: ProgressCallback | None = None,
    write_report: bool = True,
    run: RunData | None = None,
) -> dict[str, Any]:
    """Evaluate `run_dir`; write `metrics.json` (and `report.html`) there; return the metrics."""
    run_dir = Path(run_dir)
    evaluation, document = evaluate_folder(run_dir, settings, progress=progress, run=run)
    if write_report:
        if progress is not None:
            progress("report", 0, 1)
        write_run_report(run_dir, evaluation, document)
        if progress is not None:
            progress("report", 1, 1)
    return document


def write_run_report(run_dir: Path, evaluation: Evaluation, document: dict[str, Any]) -> None:
    """The run's report.html from its evaluation and metrics document."""
    sections = [summary_section(evaluation, document), *quality_sections(evaluation)]
    sections.append(sensors_section(run_dir, evaluation))
    if (run_dir / "network.json").is_file():
        sections.append(links_section(run_dir, evaluation.run.info.duration_s))
    if "warnings" in document:
        sections.append(threat_timeline_section(run_dir, evaluation, document))
        sections.append(warnings_section(document["warnings"]))
    if (run_dir / "registration.parquet").is_file():
        sections.append(registration_section(read_registration(run_dir / "registration.parquet")))
    write_html(run_dir / "report.html", sections, title=report_title(evaluation.run))

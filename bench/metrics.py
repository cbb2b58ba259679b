"""Benchmark: picture-quality measures on 1,000 truths × 1,000 tracks × 120 snapshots.

Run with `.venv/bin/python bench/metrics.py` (add `--quick` for a smaller smoke run).
It builds a seeded synthetic run (`airpicture.metrics.synthetic`), times our GOSPA,
association + SIAP and commonality on one core, then times Stone Soup 1.9.1's
GOSPAMetric and SIAP (TrackToTruth + IDSIAPMetrics) on a smaller slice of the same
input and prints the per-unit-of-work ratio. Figures are printed and written to
bench/results/metrics.json. The budget (issue 3) is 10 s for the full size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

# One core: keep BLAS/OpenMP from spreading (set before numpy is imported).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from airpicture.metrics import EvaluationSettings, evaluate, evaluate_run  # noqa: E402
from airpicture.metrics.run_data import load_run  # noqa: E402
from airpicture.metrics.synthetic import SyntheticSpec, synthetic_run  # noqa: E402

BUDGET_S = 10.0
RESULTS = Path(__file__).resolve().parent / "results" / "metrics.json"


def build(run_dir: Path, n_targets: int, n_steps: int, seed: int) -> Path:
    """A centralized run: every target exists all the time, ~1 track per target, 120 snapshots."""
    spec = SyntheticSpec(
        n_targets=n_targets,
        n_steps=n_steps,
        interval_s=10.0,
        region_radius_m=1_500_000.0,
        sensor_range_m=3_000_000.0,  # everything is eligible
        p_held=0.97,
        false_tracks_per_step=30.0,
        centralized=True,
        whole_run=True,
    )
    return synthetic_run(spec, np.random.default_rng(seed)).write(run_dir)


def time_ours(run_dir: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    run = load_run(run_dir)
    t1 = time.perf_counter()
    evaluation = evaluate(run, EvaluationSettings())
    t2 = time.perf_counter()
    t3 = time.perf_counter()
    evaluate_run(run_dir)  # the whole command: also metrics.json and report.html
    t4 = time.perf_counter()
    viewer = evaluation.viewers["ALL"]
    tracks = run.pictures["ALL"]
    return {
        "load_s": t1 - t0,
        "evaluate_s": t2 - t1,
        "total_s": t2 - t0,
        "with_files_s": t4 - t3,
        "truth_rows": run.truth.size,
        "track_rows": tracks.size,
        "snapshots": int(run.times_s.size),
        "targets": int(run.truth.target_ids.size),
        "tracks": int(tracks.track_ids.size),
        "completeness": viewer.siap.summary["completeness"],
        "mean_gospa_m": float(np.mean(viewer.gospa.distance_m)),
    }


def time_stonesoup(run_dir: Path, n_targets: int, n_steps: int) -> dict[str, Any] | None:
    """Stone Soup on the first `n_targets` targets and their tracks over `n_steps` snapshots."""
    try:
        from stonesoup.dataassociator.tracktotrack import TrackToTruth
        from stonesoup.measures import Euclidean
        from stonesoup.metricgenerator.manager import MultiManager
        from stonesoup.metricgenerator.ospametric import GOSPAMetric
        from stonesoup.metricgenerator.tracktotruthmetrics import IDSIAPMetrics
        from stonesoup.types.groundtruth import GroundTruthPath, GroundTruthState
        from stonesoup.types.state import State
        from stonesoup.types.track import Track
    except ImportError:
        return None
    from datetime import UTC, datetime, timedelta

    run = load_run(run_dir)
    truth, tracks = run.truth, run.pictures["ALL"]
    epoch = datetime(2026, 1, 1, tzinfo=UTC)
    keep_truth = (truth.target < n_targets) & (truth.step < n_steps)
    # the tracks that follow the kept targets (synthetic ids NT<target>), plus the
    # same share of false tracks
    ids = tracks.track_ids.astype(str)
    followed = np.array([i.startswith("NT") and int(i[2:]) < n_targets for i in ids], dtype=bool)
    false_ids = np.flatnonzero(~np.char.startswith(ids.astype(str), "NT"))
    share = n_targets / max(int(truth.target_ids.size), 1)
    followed[false_ids[: int(len(false_ids) * share)]] = True
    keep_track = followed[tracks.track] & (tracks.step < n_steps)

    paths: dict[int, Any] = {}
    for r in np.flatnonzero(keep_truth):
        j = int(truth.target[r])
        vector = np.concatenate([truth.position_ecef_m[r], truth.velocity_ecef_mps[r]])
        paths.setdefault(j, GroundTruthPath()).append(
            GroundTruthState(
                vector.reshape(-1, 1),
                timestamp=epoch + timedelta(seconds=float(run.times_s[truth.step[r]])),
                metadata={"identity": str(truth.identity[r])},
            )
        )
    ss_tracks: dict[int, Any] = {}
    for r in np.flatnonzero(keep_track)[np.argsort(tracks.step[keep_track], kind="stable")]:
        k = int(tracks.track[r])
        vector = np.concatenate([tracks.position_ecef_m[r], tracks.velocity_ecef_mps[r]])
        ss_tracks.setdefault(k, Track()).append(
            State(
                vector.reshape(-1, 1),
                timestamp=epoch + timedelta(seconds=float(run.times_s[tracks.step[r]])),
            )
        )
    settings = EvaluationSettings()
    position = Euclidean(mapping=(0, 1, 2))
    t0 = time.perf_counter()
    gospa = GOSPAMetric(c=settings.gospa.c_m, p=settings.gospa.p, measure=position)
    manager = MultiManager([gospa])
    manager.add_data({"tracks": set(ss_tracks.values()), "groundtruth_paths": set(paths.values())})
    manager.generate_metrics()
    t1 = time.perf_counter()
    siap = IDSIAPMetrics(
        position_measure=position,
        velocity_measure=Euclidean(mapping=(3, 4, 5)),
        truth_id="identity",
        track_id="identity",
    )
    associator = TrackToTruth(
        association_threshold=settings.association.threshold_m,
        consec_pairs_confirm=settings.association.consec_pairs_confirm,
        consec_misses_end=settings.association.consec_misses_end,
        measure=position,
    )
    manager = MultiManager([siap], associator)
    manager.add_data({"tracks": set(ss_tracks.values()), "groundtruth_paths": set(paths.values())})
    manager.generate_metrics()
    t2 = time.perf_counter()
    return {
        "targets": len(paths),
        "tracks": len(ss_tracks),
        "snapshots": n_steps,
        "truth_rows": int(keep_truth.sum()),
        "track_rows": int(keep_track.sum()),
        "gospa_s": t1 - t0,
        "siap_s": t2 - t1,
        "total_s": t2 - t0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 truths × 30 snapshots")
    parser.add_argument("--stonesoup-targets", type=int, default=100)
    parser.add_argument("--stonesoup-snapshots", type=int, default=30)
    parser.add_argument("--work", type=Path, default=Path("out/bench-metrics"))
    args = parser.parse_args(argv)
    n_targets, n_steps = (200, 30) if args.quick else (1_000, 120)

    run_dir = build(args.work / f"run-{n_targets}x{n_steps}", n_targets, n_steps, seed=2026)
    ours = time_ours(run_dir)
    theirs = time_stonesoup(run_dir, args.stonesoup_targets, args.stonesoup_snapshots)

    per_snapshot = ours["track_rows"] / ours["snapshots"]
    print(
        f"airpicture metrics: {ours['targets']:,} truths vs {per_snapshot:,.0f} tracks per "
        f"snapshot, {ours['snapshots']} snapshots ({ours['truth_rows']:,} truth rows, "
        f"{ours['track_rows']:,} track rows)"
    )
    print(f"  load run folder      {ours['load_s']:7.2f} s")
    print(f"  GOSPA+SIAP+common.   {ours['evaluate_s']:7.2f} s")
    print(
        f"  total                {ours['total_s']:7.2f} s   (budget {BUDGET_S:.0f} s: "
        f"{'OK' if ours['total_s'] <= BUDGET_S else 'OVER'})"
    )
    print(f"  with metrics.json and report.html (evaluate_run) {ours['with_files_s']:.2f} s")
    result: dict[str, Any] = {
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "ours": ours,
        "budget_s": BUDGET_S,
        "within_budget": ours["total_s"] <= BUDGET_S,
    }
    if theirs is not None:
        # work = truth rows + track rows; compare seconds per row
        ours_rate = ours["evaluate_s"] / (ours["truth_rows"] + ours["track_rows"])
        their_rate = theirs["total_s"] / (theirs["truth_rows"] + theirs["track_rows"])
        ratio = their_rate / ours_rate
        print(
            f"Stone Soup 1.9.1 on {theirs['targets']} truths × {theirs['tracks']} tracks, "
            f"{theirs['snapshots']} snapshots ({theirs['truth_rows']:,} + "
            f"{theirs['track_rows']:,} rows)"
        )
        print(f"  GOSPAMetric          {theirs['gospa_s']:7.2f} s")
        print(f"  TrackToTruth + SIAP  {theirs['siap_s']:7.2f} s")
        print(
            f"  per row, Stone Soup is {ratio:,.0f}× slower than airpicture "
            "(its SIAP cost grows faster than linearly, so at full size the gap is larger)"
        )
        result["stonesoup"] = theirs
        result["stonesoup_slower_per_row"] = ratio
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print("wrote bench/results/metrics.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())

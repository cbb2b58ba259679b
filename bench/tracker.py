"""Tracker benchmark: throughput, time per scan, memory and GOSPA, against Stone Soup.

    .venv/bin/python bench/tracker.py            # full run (a few minutes)
    .venv/bin/python bench/tracker.py --quick    # counts 100 and 1000, Stone Soup on 120 s
    .venv/bin/python bench/tracker.py --counts 1000 --no-stonesoup   # one count, ours only
    .venv/bin/python bench/tracker.py --region   # asia-pacific-region, one core (see below)

For each `count` of the dense-traffic scenario (one 5 s radar, 200 false alarms
per scan) the plots are simulated once, then each tracker runs in a fresh
child process (so that its peak memory is its own) on exactly the same plots:

* airpicture's tracker: reports per second, time per 5 s scan (median and
  worst), peak resident memory, and picture quality against the truth;
* Stone Soup 1.9 at count 100 (and larger counts with `--stonesoup-counts`),
  given its best standard components for the job: extended Kalman filter with
  a nearly-constant-velocity model, Mahalanobis `DistanceHypothesiser`,
  `DetectionKDTreeGNN2D` (kd-tree pre-gate + GNN by 2-D assignment),
  `MultiMeasurementInitiator` (3 reports to confirm) and an update-time deleter.

Each child process runs on one core (CPU affinity, one BLAS thread), and both
wall-clock and CPU seconds are recorded: the machine is shared, and CPU time is
what the tracker itself costs. Throughput and scan times are given both ways.
Both children keep freed memory on the heap (glibc's malloc thresholds,
`ALLOCATOR_ENV`) as a long-running tracker process should be configured;
`--default-allocator` measures with glibc's defaults.

Both trackers are scored by the same GOSPA (c = 5 km, p = 2, α = 2) over their
confirmed tracks and the truths some sensor could see, every 10 s after the
first minute. Results are printed, written to bench/results/tracker.json, and
the growth curve is drawn to bench/results/tracker_growth.png.

`--region` measures instead the region-scale target of issue 12 on
scenarios/asia-pacific-region.yaml (10,000 aircraft, 24 3D radars, 10 2D
radars, an ADS-B network; `--region-count`, `--region-duration-s`). The plots
are simulated once and cached under bench/results/work/. One tracker in a child
process on one core is fed the reports as a live node receives them: in time
order, one batch per sensor per second (a beam pass), a snapshot every picture
interval. The tracker batches each sensor in windows of its own revisit
(`TrackerSettings(sensor_windows=True)`, the default; `--shared-windows`
measures one window for all sensors). It prints CPU seconds per scenario second
(≤ 0.2 is 5 × faster than real time), reports per CPU second, peak resident
memory, and completeness, spuriousness and GOSPA computed by
`airpicture.metrics` exactly as `airpicture evaluate` does. The same reports
over `--fit-duration-s` are then fed in three batchings (1 s and 10 s per
sensor, 60 s of all sensors) and the CPU time is fitted as a·batches +
b·reports: a is the cost of a batch, b of a report. Side by side in the same
run, airpicture and Stone Soup track the same region with
`--stonesoup-region-count` aircraft over `--stonesoup-region-duration-s`, Stone
Soup in ECEF with its EKF, one measurement model per sensor (its
elevation-bearing-range model for a 3D radar, a bearing and slant-range model
for a 2D radar, which updates but cannot start a track, a linear position model
for ADS-B), GNN with 2-D assignment and 3-report initiation. Results go to
bench/results/tracker_region.json."""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent))

from airpicture.geo import (
    enu_to_ecef,
    geodetic_to_ecef,
)
from airpicture.scenario import load_scenario
from airpicture.scenario.model import RadarSensor
from airpicture.tables import (
    PLOTS_SCHEMA,
    TRUTH_SCHEMA,
    Table,
    empty_table,
    read_table,
    write_table,
)
from airpicture.tracking import Tracker, sensor_models
from airpicture.tracking.settings import TrackerSettings
from tracker_quality import gospa, picture_quality

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SCENARIO = REPO / "scenarios" / "dense-traffic.yaml"
RESULTS = HERE / "results"
WORK = RESULTS / "work"
GOSPA_C_M = 5000.0
SCORE_STEP_S = 10.0
SETTLE_S = 60.0


# --------------------------------------------------------------------------- data


def make_plots(
    count: int, duration_s: float, scenario: Path = SCENARIO, name: str = "dense"
) -> Path:
    """Simulate `scenario` with `count` aircraft (`airpicture simulate`) into a work folder.

    Cached: a folder that holds its plots is not simulated again.
    """
    folder = WORK / f"{name}-{count}-{int(duration_s)}"
    if not (folder / "plots.parquet").is_file():
        subprocess.run(
            [sys.executable, "-m", "airpicture", "simulate", str(scenario), "--out", str(folder),
             "--count", str(count), "--duration-s", str(duration_s)],
            check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
    return folder


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _radar() -> RadarSensor:
    """dense-traffic's one sensor, a 3D radar."""
    sensor = load_scenario(SCENARIO).scenario.sensors[0]
    if not isinstance(sensor, RadarSensor):
        raise TypeError(f"{SCENARIO}: the benchmark expects one 3D radar, found {sensor.type}")
    return sensor


def _times(plots: Table) -> NDArray[np.float64]:
    return np.asarray(plots["time_s"], dtype=np.float64)


def _one_core() -> None:
    """Run this (child) process on a single core: the targets are stated for one core."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


# --------------------------------------------------------------------------- airpicture


def run_airpicture(folder: str, queue: Any) -> None:
    """Child process: track the plots scan by scan, timing every scan."""
    _one_core()
    scenario = load_scenario(SCENARIO).scenario
    sensor = _radar()
    plots = read_table(Path(folder) / "plots.parquet", PLOTS_SCHEMA)
    t = _times(plots)
    # The compiled kernels are loaded from numba's cache on their first call (about
    # 0.7 s of CPU, once per process): a long-running tracker pays it at start-up,
    # so it is measured apart, on the first 30 s of reports through a throwaway tracker.
    c0 = time.process_time()
    warm = Tracker(sensor_models(scenario.sensors))
    first = t < 30.0
    warm.process({k: v[first] for k, v in plots.items()})
    warm.advance_to(20.0)
    warm.snapshot(20.0)
    warm.flush()
    del warm
    jit_load_cpu_s = time.process_time() - c0
    rss_before = _peak_rss_mib()
    tracker = Tracker(sensor_models(scenario.sensors))
    scan_s = float(sensor.scan_period_s)
    interval = float(scenario.picture_interval_s)
    scan_index = np.floor(t / scan_s).astype(np.int64)
    bounds = np.flatnonzero(np.diff(scan_index)) + 1
    pictures: list[dict[str, NDArray[Any]]] = []
    scan_times: list[float] = []
    scan_cpu: list[float] = []
    next_snap = interval
    start, start_cpu = time.perf_counter(), time.process_time()
    for block in np.split(np.arange(t.size), bounds):
        t0, c0 = time.perf_counter(), time.process_time()
        tracker.process({k: v[block] for k, v in plots.items()})
        while next_snap <= tracker.processed_until_s:
            tracker.advance_to(next_snap)
            pictures.append(tracker.snapshot(next_snap))
            next_snap += interval
        scan_times.append(time.perf_counter() - t0)
        scan_cpu.append(time.process_time() - c0)
    t0, c0 = time.perf_counter(), time.process_time()
    end = float(t.max()) if t.size else 0.0
    while next_snap <= end:
        tracker.advance_to(next_snap)
        pictures.append(tracker.snapshot(next_snap))
        next_snap += interval
    tracker.flush()
    scan_times[-1] += time.perf_counter() - t0
    scan_cpu[-1] += time.process_time() - c0
    total = time.perf_counter() - start
    total_cpu = time.process_time() - start_cpu
    picture = {k: np.concatenate([p[k] for p in pictures]) for k in pictures[0]}
    write_table(Path(folder) / "picture_airpicture.parquet", picture, _picture_schema())
    queue.put(
        {
            "reports": int(t.size),
            "seconds": total,
            "reports_per_s": t.size / total,
            "scan_s_median": float(np.median(scan_times)),
            "scan_s_max": float(np.max(scan_times)),
            "cpu_seconds": total_cpu,
            "reports_per_cpu_s": t.size / total_cpu,
            "scan_cpu_s_median": float(np.median(scan_cpu)),
            "scan_cpu_s_max": float(np.max(scan_cpu)),
            "scans": len(scan_times),
            "peak_rss_mib": _peak_rss_mib(),
            "rss_before_tracking_mib": rss_before,
            "jit_load_cpu_s": jit_load_cpu_s,
            "counts": tracker.counts.as_dict(),
        }
    )


def _picture_schema() -> Any:
    from airpicture.tables import PICTURE_SCHEMA

    return PICTURE_SCHEMA


# --------------------------------------------------------------------------- Stone Soup


def run_stonesoup(folder: str, duration_s: float, queue: Any) -> None:
    """Child process: Stone Soup's best standard GNN tracker on the same plots."""
    _one_core()
    from stonesoup.dataassociator.tree import DetectionKDTreeGNN2D
    from stonesoup.deleter.time import UpdateTimeDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.measurement.nonlinear import CartesianToElevationBearingRange
    from stonesoup.models.transition.linear import (
        CombinedLinearGaussianTransitionModel,
        ConstantVelocity,
    )
    from stonesoup.predictor.kalman import ExtendedKalmanPredictor
    from stonesoup.tracker.simple import MultiTargetTracker
    from stonesoup.types.array import CovarianceMatrix, StateVector
    from stonesoup.types.detection import Detection
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import ExtendedKalmanUpdater

    sensor = _radar()
    plots = read_table(Path(folder) / "plots.parquet", PLOTS_SCHEMA)
    keep = _times(plots) <= duration_s
    plots = {k: v[keep] for k, v in plots.items()}
    rss_before = _peak_rss_mib()

    # Stone Soup works in a flat Cartesian frame: the radar's local ENU, state
    # (x, vx, y, vy, z, vz). Its bearing is counter-clockwise from +x (east),
    # so bearing = 90° − azimuth; elevation is the same geometric elevation.
    sigma = np.radians([sensor.sigma_el_deg, sensor.sigma_az_deg])
    noise = np.diag([sigma[0] ** 2, sigma[1] ** 2, sensor.sigma_range_m**2])
    measurement_model = CartesianToElevationBearingRange(
        ndim_state=6, mapping=(0, 2, 4), noise_covar=CovarianceMatrix(noise)
    )
    # q = 10 m²/s³: the single CV model must also follow turns (σ_a ≈ 1.4 m/s² over 5 s).
    transition = CombinedLinearGaussianTransitionModel([ConstantVelocity(10.0)] * 3)
    predictor = ExtendedKalmanPredictor(transition)
    updater = ExtendedKalmanUpdater(measurement_model)
    hypothesiser = DistanceHypothesiser(predictor, updater, Mahalanobis(), missed_distance=4.0)
    # kd-tree over (el, bearing, range): range dominates the Euclidean distance,
    # so the pre-gate keeps detections within 3 km of the predicted range.
    associator = DetectionKDTreeGNN2D(hypothesiser, predictor, updater, max_distance=3000.0)
    prior = GaussianState(
        StateVector(np.zeros(6)),
        CovarianceMatrix(np.diag([0.0, 300.0**2, 0.0, 300.0**2, 0.0, 300.0**2])),
    )
    init_hypothesiser = DistanceHypothesiser(predictor, updater, Mahalanobis(), missed_distance=4.0)
    initiator = MultiMeasurementInitiator(
        prior_state=prior,
        measurement_model=measurement_model,
        deleter=UpdateTimeDeleter(timedelta(seconds=12)),
        data_associator=DetectionKDTreeGNN2D(
            init_hypothesiser, predictor, updater, max_distance=3000.0
        ),
        updater=updater,
        min_points=3,
    )
    deleter = UpdateTimeDeleter(timedelta(seconds=32))
    epoch = datetime(2026, 1, 1, tzinfo=UTC)
    scan_s = float(sensor.scan_period_s)
    scan_index = np.floor(_times(plots) / scan_s).astype(np.int64)
    bearing = np.radians(90.0 - np.asarray(plots["az_deg"], dtype=np.float64))
    bearing = (bearing + np.pi) % (2 * np.pi) - np.pi
    elevation = np.radians(np.asarray(plots["el_deg"], dtype=np.float64))
    scans: list[tuple[datetime, set[Detection]]] = []
    for k in np.unique(scan_index):
        rows = np.flatnonzero(scan_index == k)
        detections = {
            Detection(
                StateVector([elevation[i], bearing[i], plots["range_m"][i]]),
                timestamp=epoch + timedelta(seconds=float(plots["time_s"][i])),
                measurement_model=measurement_model,
            )
            for i in rows
        }
        scans.append((epoch + timedelta(seconds=float((k + 1) * scan_s)), detections))

    tracker = MultiTargetTracker(
        initiator=initiator,
        deleter=deleter,
        detector=scans,
        data_associator=associator,
        updater=updater,
    )
    origin = geodetic_to_ecef(sensor.lat_deg, sensor.lon_deg, sensor.alt_m)
    from airpicture.geo import enu_basis

    basis = enu_basis(sensor.lat_deg, sensor.lon_deg)
    snapshots: list[tuple[float, NDArray[np.float64]]] = []
    next_snap = SCORE_STEP_S
    scan_times: list[float] = []
    start, start_cpu = time.perf_counter(), time.process_time()
    t0 = start
    for when, tracks in tracker:
        scan_times.append(time.perf_counter() - t0)
        now_s = (when - epoch).total_seconds()
        while next_snap <= now_s:
            positions = []
            for track in tracks:
                state = track.state
                dt = next_snap - (state.timestamp - epoch).total_seconds()
                sv = np.asarray(state.state_vector, dtype=float).ravel()
                positions.append([sv[0] + sv[1] * dt, sv[2] + sv[3] * dt, sv[4] + sv[5] * dt])
            enu = np.asarray(positions, dtype=float).reshape(-1, 3)
            snapshots.append((next_snap, enu_to_ecef(enu, origin, basis)))
            next_snap += SCORE_STEP_S
        t0 = time.perf_counter()
    total = time.perf_counter() - start
    total_cpu = time.process_time() - start_cpu
    n = int(plots["time_s"].size)
    arrays: dict[str, Any] = {f"t{i}": s[1] for i, s in enumerate(snapshots)}
    arrays["times"] = np.array([s[0] for s in snapshots])
    np.savez(Path(folder) / "stonesoup_tracks.npz", **arrays)
    queue.put(
        {
            "reports": n,
            "duration_s": duration_s,
            "seconds": total,
            "reports_per_s": n / total,
            "cpu_seconds": total_cpu,
            "reports_per_cpu_s": n / total_cpu,
            "scan_s_median": float(np.median(scan_times)),
            "scan_s_max": float(np.max(scan_times)),
            "peak_rss_mib": _peak_rss_mib(),
            "rss_before_tracking_mib": rss_before,
        }
    )


# --------------------------------------------------------------------------- scoring


def _truth_points(truth: Table, time_s: float) -> NDArray[np.float64]:
    eligible = np.array([len(v) > 0 for v in truth["detectable_by"]], dtype=bool)
    rows = (truth["time_s"] == time_s) & eligible
    return geodetic_to_ecef(truth["lat_deg"][rows], truth["lon_deg"][rows], truth["alt_m"][rows])


def gospa_airpicture(folder: Path, until_s: float) -> float:
    from airpicture.tables import PICTURE_SCHEMA

    picture = read_table(folder / "picture_airpicture.parquet", PICTURE_SCHEMA)
    truth = read_table(folder / "truth.parquet", TRUTH_SCHEMA)
    values = []
    for t in np.arange(SETTLE_S, until_s + 1e-9, SCORE_STEP_S):
        rows = picture["time_s"] == t
        tracks = geodetic_to_ecef(
            picture["lat_deg"][rows], picture["lon_deg"][rows], picture["alt_m"][rows]
        )
        values.append(gospa(tracks, _truth_points(truth, t), GOSPA_C_M))
    return float(np.mean(values))


def gospa_stonesoup(folder: Path, until_s: float) -> float:
    data = np.load(folder / "stonesoup_tracks.npz")
    truth = read_table(folder / "truth.parquet", TRUTH_SCHEMA)
    times = data["times"]
    values = []
    for t in np.arange(SETTLE_S, until_s + 1e-9, SCORE_STEP_S):
        index = int(np.flatnonzero(np.isclose(times, t))[0])
        values.append(gospa(data[f"t{index}"], _truth_points(truth, t), GOSPA_C_M))
    return float(np.mean(values))


# --------------------------------------------------------------------------- region


REGION_SCENARIO = REPO / "scenarios" / "asia-pacific-region.yaml"
#: What the tracker reads of a report (a node never sees `target_id`).
FEED_COLUMNS = (
    "time_s", "sensor_id", "range_m", "az_deg", "el_deg", "range_rate_mps",
    "lat_deg", "lon_deg", "alt_m", "ident",
)  # fmt: skip
#: A live node's batch: one sensor's reports of one second (a beam pass).
FEED_SLICE_S = 1.0
#: The feeds the per-batch/per-report fit compares: (label, slice s, one batch per sensor?).
FIT_FEEDS = (
    ("beam pass (1 s per sensor)", 1.0, True),
    ("10 s per sensor", 10.0, True),
    ("60 s, all sensors", 60.0, False),
)


def read_feed(path: Path) -> Table:
    """The tracker's columns of plots.parquet, strings shared per distinct value.

    `read_table` makes one Python string per row and column; at ten million reports
    that is gigabytes that a node receiving reports over a network never holds.
    """
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=list(FEED_COLUMNS), read_dictionary=["sensor_id", "ident"])
    out: Table = {}
    for name in FEED_COLUMNS:
        column = table.column(name).combine_chunks()
        if name in ("sensor_id", "ident"):
            words = column.dictionary.to_numpy(zero_copy_only=False).astype(np.object_)
            codes = column.indices.fill_null(0).to_numpy(zero_copy_only=False)
            values = words[codes] if words.size else np.full(len(column), "", np.object_)
            if column.null_count:
                values[column.is_null().to_numpy(zero_copy_only=False)] = ""
            out[name] = values
        else:
            out[name] = column.to_numpy(zero_copy_only=False).astype(np.float64)
    return out


def feed_batches(plots: Table, slice_s: float, per_sensor: bool) -> tuple[Table, NDArray[np.intp]]:
    """The reports in the order a live node receives them, and where each batch starts.

    Time is cut into slices of `slice_s`; within a slice each sensor's reports are
    one batch (a beam pass of a rotating radar, a second of ADS-B), the batches in
    the order of their first report. `per_sensor=False`: one batch per slice.
    Returns the reordered table (each batch a contiguous run, so a batch is a view)
    and the batch starts, with the row count appended.
    """
    t = np.asarray(plots["time_s"], dtype=np.float64)
    slice_index = np.floor(t / slice_s).astype(np.int64)
    if per_sensor:
        _, sensor = np.unique(plots["sensor_id"], return_inverse=True)
    else:
        sensor = np.zeros(t.size, np.int64)
    order = np.lexsort((t, sensor, slice_index))
    key_slice, key_sensor = slice_index[order], sensor.reshape(-1)[order]
    new = np.ones(t.size, bool)
    new[1:] = (np.diff(key_slice) != 0) | (np.diff(key_sensor) != 0)
    starts = np.flatnonzero(new)
    lengths = np.diff(np.append(starts, t.size))
    # Batches within a slice in the order of their first report.
    batch_order = np.lexsort((t[order][starts], key_slice[starts]))
    rows = np.concatenate(
        [order[s : s + n] for s, n in zip(starts[batch_order], lengths[batch_order], strict=True)]
    )
    bounds = np.append(0, np.cumsum(lengths[batch_order]))
    return {k: v[rows] for k, v in plots.items()}, bounds


def run_region(
    folder: str,
    slice_s: float,
    per_sensor: bool,
    until_s: float,
    write_picture: bool,
    settings: TrackerSettings,
    queue: Any,
) -> None:
    """Child process: track the region as a live node would, timing the tracker's CPU."""
    _one_core()
    scenario = load_scenario(REGION_SCENARIO).scenario
    plots = read_feed(Path(folder) / "plots.parquet")
    keep = np.asarray(plots["time_s"], dtype=np.float64) <= until_s
    plots = {k: v[keep] for k, v in plots.items()}
    plots, bounds = feed_batches(plots, slice_s, per_sensor)
    sensors = sensor_models(scenario.sensors)
    # The compiled kernels load from numba's cache on first call: paid once at
    # start-up, measured apart on the first 20 s of reports.
    c0 = time.process_time()
    warm = Tracker(sensors, settings)
    first = bounds[np.searchsorted(plots["time_s"][bounds[:-1]], 20.0)]
    warm.process({k: v[:first] for k, v in plots.items()})
    warm.advance_to(10.0)
    warm.snapshot(10.0)
    del warm
    jit_load_cpu_s = time.process_time() - c0
    rss_before = _peak_rss_mib()
    parts = Path(folder) / "picture_parts"
    if write_picture:
        parts.mkdir(exist_ok=True)
        for old in parts.glob("*.parquet"):
            old.unlink()
    tracker = Tracker(sensors, settings)
    interval = float(scenario.picture_interval_s)
    next_snap = interval
    process_cpu = snapshot_cpu = 0.0
    batch_cpu = np.empty(bounds.size - 1)

    def snapshot(at_s: float) -> None:
        """The picture at `at_s`; only the tracker's own calls are timed, not the writing."""
        nonlocal process_cpu, snapshot_cpu
        c0 = time.process_time()
        tracker.advance_to(at_s)
        c1 = time.process_time()
        picture = tracker.snapshot(at_s)
        c2 = time.process_time()
        process_cpu += c1 - c0
        snapshot_cpu += c2 - c1
        if write_picture:
            write_table(parts / f"{round(at_s * 1000):09d}.parquet", picture, _picture_schema())

    wall0 = time.perf_counter()
    for b in range(bounds.size - 1):
        c0 = time.process_time()
        tracker.process({k: v[bounds[b] : bounds[b + 1]] for k, v in plots.items()})
        batch_cpu[b] = time.process_time() - c0
        process_cpu += batch_cpu[b]
        while next_snap <= tracker.processed_until_s:
            snapshot(next_snap)
            next_snap += interval
    end = min(until_s, float(plots["time_s"].max()))
    while next_snap <= end + 1e-9:
        snapshot(next_snap)
        next_snap += interval
    wall = time.perf_counter() - wall0
    span_s = end
    cpu = process_cpu + snapshot_cpu
    queue.put(
        {
            "slice_s": slice_s,
            "per_sensor": per_sensor,
            "reports": int(plots["time_s"].size),
            "batches": int(bounds.size - 1),
            "scenario_s": span_s,
            "cpu_s": cpu,
            "process_cpu_s": process_cpu,
            "snapshot_cpu_s": snapshot_cpu,
            "cpu_s_per_scenario_s": cpu / span_s,
            "times_real_time": span_s / cpu,
            "reports_per_cpu_s": plots["time_s"].size / cpu,
            "batch_cpu_ms_median": 1000 * float(np.median(batch_cpu)),
            "batch_cpu_ms_max": 1000 * float(np.max(batch_cpu)),
            "wall_s": wall,
            "peak_rss_mib": _peak_rss_mib(),
            "rss_before_tracking_mib": rss_before,
            "jit_load_cpu_s": jit_load_cpu_s,
            "counts": tracker.counts.as_dict(),
            "tracks_at_end": len(tracker.tracks),
        }
    )


def run_stonesoup_region(folder: str, cpu_budget_s: float, queue: Any) -> None:
    """Child process: Stone Soup's GNN tracker on the same region reports, the same feed.

    It stops after the batch that exhausts `cpu_budget_s` of CPU: its speed is then
    measured, and its picture judged, over the reports it got through.
    """
    _one_core()
    from stonesoup.base import Property
    from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
    from stonesoup.deleter.time import UpdateTimeDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.measurement.linear import LinearGaussian
    from stonesoup.models.measurement.nonlinear import (
        CartesianToElevationBearingRange,
        NonLinearGaussianMeasurement,
    )
    from stonesoup.models.transition.linear import (
        CombinedLinearGaussianTransitionModel,
        ConstantVelocity,
    )
    from stonesoup.predictor.kalman import ExtendedKalmanPredictor
    from stonesoup.tracker.simple import MultiTargetTracker
    from stonesoup.types.angle import Bearing
    from stonesoup.types.array import CovarianceMatrix, StateVector, StateVectors
    from stonesoup.types.detection import Detection
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import ExtendedKalmanUpdater

    from airpicture.geo import ecef_to_geodetic, ecef_vector_to_enu, enu_basis
    from airpicture.scenario.model import ADSBSensor, Radar2DSensor
    from airpicture.tables import kinematic_columns

    class BearingSlantRange(NonLinearGaussianMeasurement):  # type: ignore[misc]
        """A 2D radar: bearing and slant range in the sensor's local frame (not in Stone Soup)."""

        translation_offset: StateVector = Property(doc="the sensor's position")

        @property
        def ndim_meas(self) -> int:
            return 2

        def function(self, state: Any, noise: Any = False, **kwargs: Any) -> Any:
            xyz = self.rotation_matrix @ (
                state.state_vector[self.mapping, :] - self.translation_offset
            )
            bearing = np.arctan2(xyz[1, :], xyz[0, :])
            rho = np.sqrt(np.sum(np.asarray(xyz, dtype=np.float64) ** 2, axis=0))
            out = StateVectors([[Bearing(b) for b in np.ravel(bearing)], list(np.ravel(rho))])
            return out if noise is False or noise is None else out + noise

    # Stone Soup tracks in ECEF here (one frame for 2,000 km of sensors), state
    # (x, vx, y, vy, z, vz); each radar's model carries its position and the
    # rotation from ECEF to its local east-north-up frame (roll 90° − lat, yaw
    # 90° + lon in Stone Soup's convention), where its bearing is 90° − azimuth.
    scenario = load_scenario(REGION_SCENARIO).scenario
    models: dict[str, Any] = {}
    for sensor in scenario.sensors:
        where = StateVector(geodetic_to_ecef(sensor.lat_deg, sensor.lon_deg, sensor.alt_m))
        angles = StateVector(
            [np.radians(90.0 - sensor.lat_deg), 0.0, np.radians(90.0 + sensor.lon_deg)]
        )
        if isinstance(sensor, ADSBSensor):
            models[sensor.id] = LinearGaussian(
                6, (0, 2, 4), CovarianceMatrix(np.eye(3) * sensor.sigma_pos_m**2)
            )
        elif isinstance(sensor, Radar2DSensor):
            noise = np.diag([np.radians(sensor.sigma_az_deg) ** 2, sensor.sigma_range_m**2])
            models[sensor.id] = BearingSlantRange(
                ndim_state=6, mapping=(0, 2, 4), noise_covar=CovarianceMatrix(noise),
                translation_offset=where, rotation_offset=angles,
            )  # fmt: skip
        elif isinstance(sensor, RadarSensor):
            sigma = np.radians([sensor.sigma_el_deg, sensor.sigma_az_deg])
            noise = np.diag([sigma[0] ** 2, sigma[1] ** 2, sensor.sigma_range_m**2])
            models[sensor.id] = CartesianToElevationBearingRange(
                ndim_state=6, mapping=(0, 2, 4), noise_covar=CovarianceMatrix(noise),
                translation_offset=where, rotation_offset=angles,
            )  # fmt: skip
    plots = read_feed(Path(folder) / "plots.parquet")
    plots, bounds = feed_batches(plots, FEED_SLICE_S, True)
    epoch = datetime(2026, 1, 1, tzinfo=UTC)
    bearing = np.radians(90.0 - np.asarray(plots["az_deg"], dtype=np.float64))
    bearing = (bearing + np.pi) % (2 * np.pi) - np.pi
    elevation = np.radians(plots["el_deg"])
    ecef = geodetic_to_ecef(plots["lat_deg"], plots["lon_deg"], plots["alt_m"])
    batches: list[tuple[datetime, set[Detection]]] = []
    for b in range(bounds.size - 1):
        detections = set()
        for i in range(bounds[b], bounds[b + 1]):
            sensor_id = str(plots["sensor_id"][i])
            model = models[sensor_id]
            if isinstance(model, LinearGaussian):
                vector = StateVector(ecef[i])
            elif isinstance(model, BearingSlantRange):
                vector = StateVector([Bearing(bearing[i]), plots["range_m"][i]])
            else:
                vector = StateVector([elevation[i], bearing[i], plots["range_m"][i]])
            when = epoch + timedelta(seconds=float(plots["time_s"][i]))
            detections.add(Detection(vector, timestamp=when, measurement_model=model))
        newest = float(plots["time_s"][bounds[b] : bounds[b + 1]].max())
        batches.append((epoch + timedelta(seconds=newest), detections))
    batches.sort(key=lambda batch: batch[0])
    rss_before = _peak_rss_mib()

    # q = 10 m²/s³: one CV model that must also follow turns.
    transition = CombinedLinearGaussianTransitionModel([ConstantVelocity(10.0)] * 3)
    predictor = ExtendedKalmanPredictor(transition)
    updater = ExtendedKalmanUpdater(measurement_model=None)
    hypothesiser = DistanceHypothesiser(predictor, updater, Mahalanobis(), missed_distance=4.0)
    prior = GaussianState(
        StateVector(np.zeros(6)),
        CovarianceMatrix(np.diag([0.0, 300.0**2, 0.0, 300.0**2, 0.0, 300.0**2])),
    )
    initiator = MultiMeasurementInitiator(
        prior_state=prior,
        measurement_model=None,
        deleter=UpdateTimeDeleter(timedelta(seconds=12)),
        data_associator=GNNWith2DAssignment(
            DistanceHypothesiser(predictor, updater, Mahalanobis(), missed_distance=4.0)
        ),
        updater=updater,
        min_points=3,
        # A 2D radar's report does not fix a position: it updates, never starts, a track.
        skip_non_reversible=True,
    )
    tracker = MultiTargetTracker(
        initiator=initiator,
        deleter=UpdateTimeDeleter(timedelta(seconds=32)),
        detector=batches,
        data_associator=GNNWith2DAssignment(hypothesiser),
        updater=updater,
    )
    interval = float(scenario.picture_interval_s)
    next_snap = interval
    numbers: dict[int, int] = {}
    rows: list[tuple[float, int, NDArray[np.float64]]] = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    now_s = 0.0
    for when, tracks in tracker:
        now_s = (when - epoch).total_seconds()
        while next_snap <= now_s:
            for track in tracks:
                state = track.state
                dt = next_snap - (state.timestamp - epoch).total_seconds()
                sv = np.asarray(state.state_vector, dtype=np.float64).ravel()
                number = numbers.setdefault(id(track), len(numbers) + 1)
                rows.append((next_snap, number, sv + np.array([sv[1], 0, sv[3], 0, sv[5], 0]) * dt))
            next_snap += interval
        if time.process_time() - cpu0 > cpu_budget_s:
            break
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    span_s = now_s
    if rows:
        states = np.array([r[2] for r in rows])
        lat, lon, alt = ecef_to_geodetic(states[:, [0, 2, 4]])
        vel = ecef_vector_to_enu(states[:, [1, 3, 5]], enu_basis(lat, lon))
        n = len(rows)
        picture = {
            "time_s": np.array([r[0] for r in rows]),
            "viewer": np.full(n, "ALL", np.object_),
            "track_id": np.array([f"S{r[1]:05d}" for r in rows], np.object_),
            **kinematic_columns(lat, lon, alt, vel),
            "cls": np.full(n, "unknown", np.object_),
            "identity": np.full(n, "unknown", np.object_),
            "sources": np.array([[] for _ in range(n)] + [None], np.object_)[:-1],
        }
    else:
        picture = empty_table(_picture_schema())
    write_table(Path(folder) / "picture_stonesoup.parquet", picture, _picture_schema())
    # The batches are in time order: those up to the last one processed.
    batch_end_s = np.array([(when - epoch).total_seconds() for when, _ in batches])
    done = int(np.searchsorted(batch_end_s, span_s, side="right"))
    reports = sum(len(detections) for _, detections in batches[:done])
    queue.put(
        {
            "reports": reports,
            "reports_given": int(plots["time_s"].size),
            "batches": done,
            "scenario_s": span_s,
            "cpu_s": cpu,
            "cpu_s_per_scenario_s": cpu / span_s,
            "times_real_time": span_s / cpu,
            "reports_per_cpu_s": reports / cpu,
            "wall_s": wall,
            "peak_rss_mib": _peak_rss_mib(),
            "rss_before_tracking_mib": rss_before,
        }
    )


def region_quality(folder: Path, picture_path: Path, until_s: float) -> dict[str, float]:
    """Completeness, spuriousness, accuracy and GOSPA as `airpicture evaluate` computes them.

    Judged up to `until_s` (a run over the first part of the simulated plots is
    judged over that part, as a recording that ends is).
    """
    import dataclasses

    from airpicture.metrics.evaluation import EvaluationSettings, evaluate
    from airpicture.metrics.run_data import (
        ALL_VIEWER,
        TRUTH_EVALUATION_SCHEMA,
        build_run_data,
        read_run_info,
    )

    info = read_run_info(folder / "run.json")
    until_s = min(until_s, info.truth_until_s)
    run = build_run_data(
        dataclasses.replace(info, truth_until_s=until_s, duration_s=until_s),
        read_table(folder / "truth.parquet", TRUTH_EVALUATION_SCHEMA),
        read_table(picture_path, _picture_schema()),
        source=str(folder),
    )
    viewer = evaluate(run, EvaluationSettings()).viewers[ALL_VIEWER]
    summary = viewer.siap.summary
    names = (
        "completeness",
        "spuriousness",
        "ambiguity",
        "position_accuracy_m",
        "horizontal_accuracy_m",
    )
    out = {k: float(v) for k in names if (v := summary.get(k)) is not None}
    out["gospa_mean_m"] = float(np.mean(viewer.gospa.distance_m))
    return out


def _fit_batches(runs: list[dict[str, Any]]) -> tuple[float, float]:
    """Least squares of CPU = a·batches + b·reports over runs fed the same reports.

    The runs share their reports, so b·reports is one intercept: a is the slope
    over the batch counts, b the intercept over the report count.
    """
    batches = np.array([r["batches"] for r in runs], dtype=np.float64)
    cpu = np.array([r["cpu_s"] for r in runs])
    a, intercept = np.polyfit(batches, cpu, 1)
    return float(a), float(intercept / runs[0]["reports"])


def main_region(args: argparse.Namespace) -> int:
    """`--region`: asia-pacific-region on one core, the batching fit, Stone Soup side by side."""
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "children": {"cores": 1, "blas_threads": 1, "allocator_env": ALLOCATOR_ENV},
        "scenario": REGION_SCENARIO.name,
        "feed": f"time order, one batch per sensor per {FEED_SLICE_S:g} s (a beam pass)",
    }
    big = make_plots(args.region_count, args.region_duration_s, REGION_SCENARIO, "region")
    print(
        f"region: {args.region_count} aircraft, {args.region_duration_s:.0f} s ({big.name})",
        flush=True,
    )
    track_s = min(args.region_track_s or args.region_duration_s, args.region_duration_s)
    settings = TrackerSettings(sensor_windows=not args.shared_windows)
    results["settings"] = {"sensor_windows": settings.sensor_windows}
    ours = _in_child(run_region, str(big), FEED_SLICE_S, True, track_s, True, settings)
    merge_picture(big)
    ours.update(region_quality(big, big / "picture.parquet", track_s))
    results["airpicture"] = ours
    _say("airpicture, region", ours)
    name = "tracker_region_shared" if args.shared_windows else "tracker_region"
    if args.no_fit:
        out = RESULTS / f"{name}_partial.json"
        out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {out}")
        return 0
    fit_runs = [ours] if args.fit_duration_s >= track_s else []
    for label, slice_s, per_sensor in FIT_FEEDS:
        if fit_runs and slice_s == FEED_SLICE_S and per_sensor:
            continue
        run = _in_child(
            run_region, str(big), slice_s, per_sensor, args.fit_duration_s, False, settings
        )
        run["feed"] = label
        fit_runs.append(run)
    a, b = _fit_batches(fit_runs)
    results["batching"] = {
        "runs": fit_runs,
        "cpu_per_batch_ms": 1000 * a,
        "cpu_per_report_us": 1e6 * b,
    }
    small = make_plots(
        args.stonesoup_region_count, args.stonesoup_region_duration_s, REGION_SCENARIO, "region"
    )
    ours_small = _in_child(
        run_region, str(small), FEED_SLICE_S, True, args.stonesoup_region_duration_s, True, settings
    )
    merge_picture(small)
    ours_small.update(
        region_quality(small, small / "picture.parquet", args.stonesoup_region_duration_s)
    )
    results["airpicture_subset"] = ours_small
    _say("airpicture, subset", ours_small)
    if not args.no_stonesoup:
        ss = _in_child(run_stonesoup_region, str(small), args.stonesoup_cpu_budget_s)
        ss.update(region_quality(small, small / "picture_stonesoup.parquet", ss["scenario_s"]))
        ss["cpu_throughput_ratio"] = ours_small["reports_per_cpu_s"] / ss["reports_per_cpu_s"]
        results["stonesoup_subset"] = ss
    print_region(results)
    out = RESULTS / f"{name}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


def merge_picture(folder: Path) -> None:
    """The run's snapshots (one file each, written as the run went) into picture.parquet."""
    import pyarrow.parquet as pq

    parts = sorted((folder / "picture_parts").glob("*.parquet"))
    if not parts:
        write_table(folder / "picture.parquet", empty_table(_picture_schema()), _picture_schema())
        return
    pq.write_table(pq.ParquetDataset(parts).read(), folder / "picture.parquet", compression="zstd")


def _say(name: str, run: dict[str, Any]) -> None:
    """One finished run, as it finishes (the region bench takes long)."""
    print(
        f"  {name}: {run['reports']:,} reports, {run['cpu_s']:.1f} s CPU = "
        f"{run['cpu_s_per_scenario_s']:.3f} s per scenario second; completeness "
        f"{run.get('completeness', float('nan')):.3f}, spuriousness "
        f"{run.get('spuriousness', float('nan')):.4f}",
        flush=True,
    )


def print_region(results: dict[str, Any]) -> None:
    """The region table: speed, memory and picture quality, then the batching fit."""
    rows = [
        ("airpicture, region", results["airpicture"]),
        ("airpicture, subset", results["airpicture_subset"]),
    ]
    if "stonesoup_subset" in results:
        rows.append(("Stone Soup, subset", results["stonesoup_subset"]))
    head = ("reports", "scen. s", "CPU s", "CPU/scen.s", "x real", "rep/CPU s", "peak MiB")
    print(f"{'tracker':<20}" + "".join(f"{h:>11}" for h in head) + "  compl.  spur.  GOSPA m")
    nan = float("nan")
    for name, r in rows:
        print(
            f"{name:<20}{r['reports']:>11,}{r['scenario_s']:>11.0f}{r['cpu_s']:>11.1f}"
            f"{r['cpu_s_per_scenario_s']:>11.3f}{r['times_real_time']:>11.1f}"
            f"{r['reports_per_cpu_s']:>11,.0f}{r['peak_rss_mib']:>11,.0f}"
            f"{r.get('completeness', nan):>8.3f}{r.get('spuriousness', nan):>7.3f}"
            f"{r.get('gospa_mean_m', nan):>9,.0f}"
        )
    if "stonesoup_subset" in results:
        ratio = results["stonesoup_subset"]["cpu_throughput_ratio"]
        print(f"  on the subset: airpicture {ratio:,.0f}x Stone Soup's reports per CPU second")
    fit = results["batching"]
    first = fit["runs"][0]
    print(f"batching (the same {first['reports']:,} reports, {first['scenario_s']:.0f} s):")
    for r in fit["runs"]:
        label = r.get("feed", "beam pass (1 s per sensor)")
        print(f"  {label:<28}{r['batches']:>8,} batches{r['cpu_s']:>9.1f} s CPU")
    print(
        f"  CPU = a·batches + b·reports: a = {fit['cpu_per_batch_ms']:.3f} ms per batch, "
        f"b = {fit['cpu_per_report_us']:.2f} µs per report"
    )


# --------------------------------------------------------------------------- main


#: glibc settings for the children, read at process start: keep up to 32 MiB
#: chunks on the heap and do not hand freed heap back to the kernel below
#: 256 MiB. NumPy's temporaries are freed at the end of every batch; by default
#: glibc returns them and the next batch page-faults them in again (about
#: 2.4 µs per 4 KiB here: a sixth of the tracker's CPU time at 1,000 targets).
ALLOCATOR_ENV = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(256 << 20)}


def _in_child(target: Any, *args: Any) -> dict[str, Any]:
    # One core, so one BLAS thread: OpenBLAS threads contending for a core cost
    # more than they give (set before the child imports NumPy).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    result: dict[str, Any] = queue.get()
    proc.join()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--stonesoup-counts", type=int, nargs="*", default=[100])
    parser.add_argument("--duration-s", type=float, default=600.0)
    parser.add_argument("--stonesoup-duration-s", type=float, default=600.0)
    parser.add_argument("--score-max-count", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="counts 100, 1000; Stone Soup 120 s")
    parser.add_argument("--no-stonesoup", action="store_true", help="airpicture only")
    parser.add_argument(
        "--default-allocator",
        action="store_true",
        help="leave glibc's malloc thresholds alone (see ALLOCATOR_ENV)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS / "tracker.json",
        help="JSON output (default bench/results/tracker.json); the plot goes next to it",
    )
    region = parser.add_argument_group("region (--region)")
    region.add_argument(
        "--region", action="store_true", help="asia-pacific-region instead of dense-traffic"
    )
    region.add_argument("--region-count", type=int, default=10000)
    region.add_argument("--region-duration-s", type=float, default=900.0)
    region.add_argument(
        "--region-track-s",
        type=float,
        default=None,
        help="track and judge only the first seconds of the simulated region",
    )
    region.add_argument(
        "--fit-duration-s",
        type=float,
        default=120.0,
        help="span of the runs that split CPU into per-batch and per-report cost",
    )
    region.add_argument(
        "--shared-windows",
        action="store_true",
        help="every sensor in the tracker's windows (sensor_windows=False) instead of each in "
        "windows of its own revisit (the default)",
    )
    region.add_argument(
        "--no-fit",
        action="store_true",
        help="skip the per-batch/per-report fit and the subset (the region run only)",
    )
    region.add_argument("--stonesoup-region-count", type=int, default=100)
    region.add_argument("--stonesoup-region-duration-s", type=float, default=120.0)
    region.add_argument(
        "--stonesoup-cpu-budget-s",
        type=float,
        default=600.0,
        help="Stone Soup stops after this much CPU; measured over the reports it got through",
    )
    args = parser.parse_args(argv)
    if args.region:
        os.environ.update(ALLOCATOR_ENV)
        RESULTS.mkdir(parents=True, exist_ok=True)
        return main_region(args)
    if args.quick:
        args.counts, args.stonesoup_duration_s = [100, 1000], 120.0
    if args.no_stonesoup:
        args.stonesoup_counts = []
    allocator = {} if args.default_allocator else ALLOCATOR_ENV
    os.environ.update(allocator)  # inherited by both trackers' child processes
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "children": {"cores": 1, "blas_threads": 1, "allocator_env": allocator},
        "scenario": "dense-traffic (one 5 s radar, 200 false alarms per scan)",
        "gospa": {"c_m": GOSPA_C_M, "p": 2, "alpha": 2, "every_s": SCORE_STEP_S},
        "airpicture": {},
        "stonesoup": {},
    }
    for count in args.counts:
        folder = make_plots(count, args.duration_s)
        print(f"count {count}: tracking {folder.name} ...", flush=True)
        ours = _in_child(run_airpicture, str(folder))
        results["airpicture"][str(count)] = ours
        print(
            f"  airpicture: {ours['reports']:,} reports in {ours['seconds']:.1f} s = "
            f"{ours['reports_per_s']:,.0f} reports/s; scan median {ours['scan_s_median']:.3f} s, "
            f"worst {ours['scan_s_max']:.3f} s; peak memory {ours['peak_rss_mib']:.0f} MiB\n"
            f"    in CPU time: {ours['cpu_seconds']:.1f} s = {ours['reports_per_cpu_s']:,.0f} "
            f"reports/s; scan median {ours['scan_cpu_s_median']:.3f} s, "
            f"worst {ours['scan_cpu_s_max']:.3f} s (numba cache load before it: "
            f"{ours['jit_load_cpu_s']:.2f} s CPU)",
            flush=True,
        )
        # The scorer uses dense track × truth matrices: fine up to a few thousand.
        if count <= args.score_max_count:
            ours["gospa_mean_m"] = gospa_airpicture(folder, args.duration_s)
            quality = picture_quality(
                read_table(folder / "picture_airpicture.parquet", _picture_schema()),
                read_table(folder / "truth.parquet", TRUTH_SCHEMA),
            )
            ours["completeness"] = quality.completeness
            ours["spuriousness"] = quality.spuriousness
            ours["rms_horizontal_m"] = quality.rms_horizontal_m
            print(
                f"  quality: GOSPA {ours['gospa_mean_m']:.0f} m; completeness "
                f"{quality.completeness:.3f}, spuriousness {quality.spuriousness:.3f}, "
                f"RMS {quality.rms_horizontal_m:.0f} m",
                flush=True,
            )
        if count in args.stonesoup_counts:
            ss = _in_child(run_stonesoup, str(folder), args.stonesoup_duration_s)
            until = min(args.duration_s, args.stonesoup_duration_s)
            ss["gospa_mean_m"] = gospa_stonesoup(folder, until)
            ours_same = gospa_airpicture(folder, until)
            ss["airpicture_gospa_same_span_m"] = ours_same
            ss["throughput_ratio"] = ours["reports_per_s"] / ss["reports_per_s"]
            ss["cpu_throughput_ratio"] = ours["reports_per_cpu_s"] / ss["reports_per_cpu_s"]
            results["stonesoup"][str(count)] = ss
            print(
                f"  Stone Soup: {ss['reports']:,} reports in {ss['seconds']:.1f} s = "
                f"{ss['reports_per_s']:,.0f} reports/s; GOSPA {ss['gospa_mean_m']:.0f} m "
                f"(airpicture {ours_same:.0f} m over the same {until:.0f} s); "
                f"airpicture is {ss['throughput_ratio']:.0f}x faster "
                f"({ss['cpu_throughput_ratio']:.0f}x in CPU time)",
                flush=True,
            )
    out = Path(args.results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    plot = out.with_name(out.stem + "_growth.png")
    _plot(results, plot)
    print(f"wrote {out} and {plot}")
    return 0


def _plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ours = results["airpicture"]
    counts = sorted(int(c) for c in ours)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.loglog(counts, [ours[str(c)]["reports_per_s"] for c in counts], "o-", label="airpicture")
    ss = results["stonesoup"]
    if ss:
        ss_counts = sorted(int(c) for c in ss)
        ax1.loglog(
            ss_counts, [ss[str(c)]["reports_per_s"] for c in ss_counts], "s-", label="Stone Soup"
        )
    ax1.set_xlabel("aircraft")
    ax1.set_ylabel("reports per second")
    ax1.legend()
    ax1.grid(True, which="both", alpha=0.3)
    ax2.loglog(counts, [ours[str(c)]["scan_s_median"] for c in counts], "o-", label="median")
    ax2.loglog(counts, [ours[str(c)]["scan_s_max"] for c in counts], "^-", label="worst")
    ax2.axhline(5.0, color="k", ls="--", lw=0.8, label="real time (5 s scan)")
    ax2.set_xlabel("aircraft")
    ax2.set_ylabel("seconds per 5 s scan")
    ax2.legend()
    ax2.grid(True, which="both", alpha=0.3)
    fig.suptitle("airpicture tracker on dense-traffic (one radar, 200 false alarms per scan)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    sys.exit(main())

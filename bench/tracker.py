"""Tracker benchmark: throughput, time per scan, memory and GOSPA, against Stone Soup.

    .venv/bin/python bench/tracker.py            # full run (a few minutes)
    .venv/bin/python bench/tracker.py --quick    # counts 100 and 1000, Stone Soup on 120 s
    .venv/bin/python bench/tracker.py --counts 1000 --no-stonesoup   # one count, ours only

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
"""

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
    read_table,
    write_table,
)
from airpicture.tracking import Tracker, sensor_models
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


def make_plots(count: int, duration_s: float) -> Path:
    """Simulate dense-traffic with `count` aircraft (`airpicture simulate`) into a work folder."""
    folder = WORK / f"dense-{count}-{int(duration_s)}"
    if not (folder / "plots.parquet").is_file():
        subprocess.run(
            [sys.executable, "-m", "airpicture", "simulate", str(SCENARIO), "--out", str(folder),
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
    args = parser.parse_args(argv)
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

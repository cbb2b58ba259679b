"""Threat-assessment benchmark: warning figures on pacific-shield, impact accuracy per missile.

    .venv/bin/python bench/threat.py                 # both parts
    .venv/bin/python bench/threat.py --seeds 10      # fewer calibration seeds
    .venv/bin/python bench/threat.py --skip-pacific  # calibration only
    .venv/bin/python bench/threat.py --skip-pacific --first-seed 1000  # a held-out seed set

Part 1 simulates `scenarios/pacific-shield.yaml`, tracks centrally, runs one
NationalAssessor per nation, writes the run folder (`bench/results/threat-run/`
with warnings.jsonl, threats.jsonl, metrics.json, report.html) and prints the
warning measures. Part 2 flies, per seed, a geometry drawn from that seed: a
lofted shot, a depressed one (~50 km apogee) and a salvo of three launched 5 s
apart from one site (`launches_for`). Every missile is measured against the
issue's targets: first warning (launch notice or impact-area warning) within
60 s of its first detection; impact error under 50 km at apogee and under
10 km two minutes before impact (the latest prediction made by then); 95 %
ellipses holding the truth 93–97 % of the time, overall and by time to go.
Predictions and warnings are matched to missiles by geometry — the track a
prediction came from against every missile's true position at that snapshot,
launch notices one-to-one by launch point and time — never by order. It
writes `bench/results/threat.json` and `bench/results/threat_impact_error.png`
(`threat-from-N.json` and `threat_impact_error-from-N.png` for `--first-seed N`,
so that a held-out set never overwrites the calibration set's figures).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from airpicture.errors import InputError
from airpicture.geo import (
    ecef_to_enu,
    ecef_to_geodetic,
    enu_basis,
    geodesic_distance_m,
    geodetic_to_ecef,
)
from airpicture.metrics import evaluate_run
from airpicture.scenario import LoadedScenario, Scenario, load_scenario
from airpicture.sim.simulate import Simulation, simulate
from airpicture.tables import PICTURE_SCHEMA, write_table
from airpicture.threat import AssessorSettings, assess_plots, write_jsonl
from airpicture.threat.ellipse import chi2_2dof_scale, mahalanobis_sq_2d
from airpicture.threat.fit import FitSettings
from airpicture.threat.warning import IMPACT_KINDS, write_warnings
from airpicture.tracking.view import TrackView

FloatArray = NDArray[np.float64]

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"

SENSORS: list[dict[str, Any]] = [
    {"id": "SBIRS", "nation": "USA", "type": "space_ir", "lat_deg": 0.0, "lon_deg": 140.0,
     "alt_m": 35786000, "scan_period_s": 10, "sigma_los_urad": 20, "pd": 0.95},
    {"id": "FPS5", "nation": "JPN", "type": "radar", "lat_deg": 38.08, "lon_deg": 138.23,
     "alt_m": 300, "scan_period_s": 5, "max_range_m": 1200000, "sigma_range_m": 100,
     "sigma_az_deg": 0.1, "sigma_el_deg": 0.1, "pd": 0.95, "false_alarms_per_scan": 5},
    {"id": "TPY2", "nation": "USA", "type": "radar", "lat_deg": 40.87, "lon_deg": 140.33,
     "alt_m": 50, "scan_period_s": 2, "max_range_m": 2000000, "min_el_deg": 1.0,
     "boresight_az_deg": 270, "half_width_deg": 60, "sigma_range_m": 10, "sigma_az_deg": 0.02,
     "sigma_el_deg": 0.02, "sigma_range_rate_mps": 1.0, "pd": 0.99, "false_alarms_per_scan": 2},
]  # fmt: skip
SALVO_SIZE = 3
SALVO_GAP_S = 5.0
#: Long enough for the slowest (lofted, ≤ 900 km apogee) missile to come down.
DURATION_S = 1100.0
#: A track belongs to the missile whose true position at that snapshot is nearest, within this.
TRACK_MATCH_M = 50_000.0
#: A launch notice may belong to a missile launched within this distance and time of its estimate.
LAUNCH_MATCH_M = 300_000.0
LAUNCH_MATCH_S = 120.0
#: The issue's targets, per missile and seed.
FIRST_WARNING_S = 60.0
APOGEE_ERROR_M = 50_000.0
TWO_MIN_ERROR_M = 10_000.0
TTG_BINS_S = [(0, 60), (60, 120), (120, 300), (300, 600), (600, 2000)]


def _missile(
    rng: np.random.Generator,
    target_id: str,
    launch_s: float,
    launch: tuple[float, float],
    impact: tuple[float, float],
    apogee_m: float,
    burnout_s: float,
) -> dict[str, Any]:
    return {
        "id": target_id, "kind": "ballistic_missile", "identity": "hostile",
        "launch_s": round(launch_s, 1),
        "launch": {"lat_deg": round(launch[0], 4), "lon_deg": round(launch[1], 4)},
        "impact": {"lat_deg": round(impact[0], 4), "lon_deg": round(impact[1], 4)},
        "apogee_m": round(apogee_m), "burnout_s": round(burnout_s, 1),
        # The defender does not know the re-entry vehicle: β varies about the prior's median.
        "ballistic_coefficient_kg_m2": round(float(4000.0 * np.exp(rng.normal(0.0, 0.35)))),
    }  # fmt: skip


def launches_for(seed: int, attempt: int = 0) -> list[dict[str, Any]]:
    """The seed's launches, every number drawn from the seed: a lofted shot (600–900 km
    apogee), a depressed one (50–58 km apogee, where drag acts all the way) and a salvo
    of three launched 5 s apart from one site at nearby aim points (200–500 km apogee).
    `attempt` redraws a geometry the simulator cannot fly."""
    rng = np.random.default_rng([seed, attempt])
    u = rng.uniform
    out = [
        _missile(rng, "LOFTED", u(0, 60), (u(38.8, 40.5), u(125.5, 127.5)),
                 (u(38.5, 41.5), u(131.5, 134.5)), u(600e3, 900e3), u(75, 90)),
        _missile(rng, "DEPRESSED", u(60, 200), (u(39.0, 41.0), u(127.8, 129.5)),
                 (u(37.8, 40.0), u(132.5, 135.0)), u(50e3, 58e3), u(55, 65)),
    ]  # fmt: skip
    site = (u(38.8, 40.6), u(125.6, 127.8))
    aim = (u(38.5, 41.5), u(133.0, 137.5))
    apogee_m, burnout_s, start_s = u(200e3, 500e3), u(60, 85), u(30, 150)
    for i in range(SALVO_SIZE):
        out.append(
            _missile(rng, f"SALVO-{i + 1}", start_s + i * SALVO_GAP_S,
                     (site[0] + rng.normal(0, 0.01), site[1] + rng.normal(0, 0.01)),
                     (aim[0] + rng.normal(0, 0.3), aim[1] + rng.normal(0, 0.4)),
                     apogee_m * u(0.9, 1.1), burnout_s + u(-3, 3))
        )  # fmt: skip
    return out


def missile_kind(target_id: str) -> str:
    """lofted, depressed or salvo."""
    return target_id.split("-")[0].lower()


def calibration_scenario(seed: int, launches: list[dict[str, Any]]) -> LoadedScenario:
    data = {
        "name": "threat-calibration", "epoch": "2026-04-10T21:00:00Z", "duration_s": DURATION_S,
        "seed": seed, "picture_interval_s": 5, "fusion": "centralized",
        "nations": {"USA": {"release": {"tracks": ["JPN"], "plots": ["JPN"]}},
                    "JPN": {"release": {"tracks": ["USA"], "plots": ["USA"]}}},
        "sensors": SENSORS,
        "targets": launches,
        "places": [{"name": "Niigata", "lat_deg": 37.92, "lon_deg": 139.04},
                   {"name": "Cape Erimo", "lat_deg": 41.93, "lon_deg": 143.25}],
    }  # fmt: skip
    return LoadedScenario(Scenario.model_validate(data), Path("threat-calibration.yaml"))


def _flown(seed: int) -> tuple[list[dict[str, Any]], Simulation]:
    for attempt in range(8):
        launches = launches_for(seed, attempt)
        try:
            return launches, simulate(calibration_scenario(seed, launches))
        except InputError:
            continue  # a geometry the shooting method cannot fly: draw another
    raise RuntimeError(f"seed {seed}: no flyable geometry in 8 attempts")


def run_seed(seed: int, settings: AssessorSettings) -> dict[str, Any]:
    """Fly one seed's launches, track and assess them for JPN, and measure every missile."""
    t_start = time.perf_counter()
    launches, sim = _flown(seed)
    loaded = sim.loaded
    snapshots: dict[float, tuple[list[str], FloatArray]] = {}

    def keep(time_s: float, view: TrackView) -> None:
        snapshots[round(time_s, 3)] = ([str(t) for t in view.track_id], view.x[:, :3].copy())

    run = assess_plots(
        sim.plots, loaded.scenario, nations=["JPN"], settings=settings, on_snapshot=keep
    )
    assessor = run.assessors["JPN"]
    ids = [t["id"] for t in launches]
    launch_s = {t["id"]: float(t["launch_s"]) for t in launches}
    truth_t = np.asarray(sim.truth["time_s"], dtype=np.float64)
    truth_id = np.asarray(sim.truth["target_id"], dtype=object)
    truth_pos = geodetic_to_ecef(sim.truth["lat_deg"], sim.truth["lon_deg"], sim.truth["alt_m"])

    def missile_of(track_id: str, time_s: float) -> str | None:
        """The missile whose true position is nearest the track's at that snapshot."""
        snap = snapshots.get(round(time_s, 3))
        if snap is None or track_id not in snap[0]:
            return None
        p = snap[1][snap[0].index(track_id)]
        at = np.flatnonzero((np.abs(truth_t - time_s) < 1e-6) & np.isin(truth_id, ids))
        if at.size == 0:
            return None
        d = np.linalg.norm(truth_pos[at] - p, axis=1)
        k = int(np.argmin(d))
        return str(truth_id[at[k]]) if d[k] < TRACK_MATCH_M else None

    flights = {tid: sim.flights[tid] for tid in ids}
    impact = {tid: (f.impact_lat_deg, f.impact_lon_deg, f.impact_time_s + launch_s[tid])
              for tid, f in flights.items()}  # fmt: skip
    apogee_s = {
        tid: launch_s[tid] + float(f.times_s[np.argmax(ecef_to_geodetic(f.pos_m)[2])])
        for tid, f in flights.items()
    }
    plot_t = np.asarray(sim.plots["time_s"], dtype=np.float64)
    plot_id = np.asarray(sim.plots["target_id"], dtype=object)
    first_detection = {tid: float(plot_t[plot_id == tid].min(initial=np.inf)) for tid in ids}

    k2 = float(chi2_2dof_scale(0.95)) ** 2
    predictions: list[dict[str, Any]] = []
    for p in assessor.prediction_log:
        tid = missile_of(p["track_id"], p["made_s"])
        if tid is None:
            continue
        lat, lon, t_imp = impact[tid]
        origin = geodetic_to_ecef(p["lat_deg"], p["lon_deg"], 0.0)
        off = ecef_to_enu(
            geodetic_to_ecef(lat, lon, 0.0), origin, enu_basis(p["lat_deg"], p["lon_deg"])
        )[:2]
        m2 = float(mahalanobis_sq_2d(off, p["cov_en_m2"]))
        predictions.append(
            {
                "seed": seed,
                "missile": tid,
                "made_s": float(p["made_s"]),
                "time_to_go_s": t_imp - float(p["made_s"]),
                "error_m": float(geodesic_distance_m(p["lat_deg"], p["lon_deg"], lat, lon)),
                "mahalanobis_sq": m2,
                "inside": bool(m2 <= k2),
                "semi_major_m": float(p["semi_major_m"]),
                "time_error_s": float(p["time_s"]) - t_imp,
            }
        )
    # Launch notices: one-to-one to missiles by launch point and time (Hungarian assignment).
    notices = [w for w in run.warnings if w.kind == "launch" and w.launch is not None]
    first_warning = {tid: math.inf for tid in ids}
    if notices:
        cost = np.full((len(notices), len(ids)), 1e9)
        for i, w in enumerate(notices):
            la = w.launch
            assert la is not None
            for j, tid in enumerate(ids):
                spec = launches[j]["launch"]
                d = float(geodesic_distance_m(la.lat_deg, la.lon_deg, spec["lat_deg"],
                                              spec["lon_deg"]))  # fmt: skip
                dt = abs(la.time_s - launch_s[tid])
                if d < LAUNCH_MATCH_M and dt < LAUNCH_MATCH_S:
                    cost[i, j] = d / 20_000.0 + dt / 5.0
        rows, cols = linear_sum_assignment(cost)
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
            if cost[i, j] < 1e9:
                first_warning[ids[j]] = min(first_warning[ids[j]], notices[i].time_s)
    for w in run.warnings:
        if w.kind in IMPACT_KINDS:
            tid = missile_of(w.track_id, w.time_s)
            if tid is not None:
                first_warning[tid] = min(first_warning[tid], w.time_s)

    def latest_before(tid: str, limit_s: float) -> dict[str, Any] | None:
        mine = [p for p in predictions if p["missile"] == tid and p["made_s"] <= limit_s]
        return max(mine, key=lambda p: p["made_s"]) if mine else None

    missiles = []
    for tid in ids:
        at_apogee = latest_before(tid, apogee_s[tid])
        two_min = latest_before(tid, impact[tid][2] - 120.0)
        mine = [p for p in predictions if p["missile"] == tid]
        missiles.append(
            {
                "seed": seed,
                "missile": tid,
                "kind": missile_kind(tid),
                "apogee_m": flights[tid].apogee_m,
                "flight_s": flights[tid].impact_time_s,
                "beta_kg_m2": next(t for t in launches if t["id"] == tid)[
                    "ballistic_coefficient_kg_m2"
                ],
                "detection_to_first_warning_s": first_warning[tid] - first_detection[tid],
                "first_prediction_after_launch_s": (
                    min(p["made_s"] for p in mine) - launch_s[tid] if mine else None
                ),
                "error_at_apogee_m": at_apogee["error_m"] if at_apogee else None,
                "error_2min_before_m": two_min["error_m"] if two_min else None,
                "n_predictions": len(mine),
            }
        )
    print(
        f"seed {seed:2d}: {len(assessor.prediction_log):4d} predictions "
        f"({len(predictions)} matched), {len(notices)} launch notices, "
        f"{time.perf_counter() - t_start:.0f} s",
        flush=True,
    )
    return {"missiles": missiles, "predictions": predictions}


def _seed_job(job: tuple[int, AssessorSettings]) -> dict[str, Any]:
    return run_seed(*job)


def _km(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value / 1000:.1f}"


def summarise(missiles: list[dict[str, Any]]) -> dict[str, Any]:
    """Per missile kind: worst and median of each figure, and how many missiles meet each target.
    A missile with no warning or no prediction by the time counts as missing the target."""
    out: dict[str, Any] = {}
    for kind in ("lofted", "depressed", "salvo", "all"):
        rows = [m for m in missiles if kind in ("all", m["kind"])]
        if not rows:
            continue
        entry: dict[str, Any] = {"n": len(rows)}
        for key, limit in (
            ("detection_to_first_warning_s", FIRST_WARNING_S),
            ("error_at_apogee_m", APOGEE_ERROR_M),
            ("error_2min_before_m", TWO_MIN_ERROR_M),
        ):
            values = np.array([m[key] if m[key] is not None else np.inf for m in rows])
            entry[key] = {
                "worst": float(values.max()),
                "median": float(np.median(values)),
                "missing": int((~np.isfinite(values)).sum()),
                "meeting_target": int((values < limit).sum()),
                "target": limit,
            }
        out[kind] = entry
    return out


def coverage(predictions: list[dict[str, Any]]) -> dict[str, Any]:
    ttg = np.array([p["time_to_go_s"] for p in predictions])
    err = np.array([p["error_m"] for p in predictions])
    inside = np.array([p["inside"] for p in predictions], dtype=bool)
    by_bin = []
    for lo, hi in TTG_BINS_S:
        m = (ttg >= lo) & (ttg < hi)
        by_bin.append(
            {
                "time_to_go_s": [lo, hi],
                "n": int(m.sum()),
                "coverage_95": float(inside[m].mean()) if m.any() else None,
                "median_error_m": float(np.median(err[m])) if m.any() else None,
                "p95_error_m": float(np.percentile(err[m], 95)) if m.any() else None,
            }
        )
    return {
        "n_predictions": len(predictions),
        "coverage_95_overall": float(inside.mean()) if inside.size else None,
        "by_time_to_go": by_bin,
    }


def print_table(
    missiles: list[dict[str, Any]], summary: dict[str, Any], cov: dict[str, Any]
) -> None:
    print(f"\n{'seed':>4} {'missile':<10} {'apogee km':>9} {'β':>5} {'det→warn s':>10} "
          f"{'err@apogee km':>13} {'err@2min km':>11} {'preds':>5}")  # fmt: skip
    for m in missiles:
        warn = m["detection_to_first_warning_s"]
        print(f"{m['seed']:>4} {m['missile']:<10} {m['apogee_m'] / 1000:>9.0f} "
              f"{m['beta_kg_m2']:>5.0f} {warn:>10.0f} {_km(m['error_at_apogee_m']):>13} "
              f"{_km(m['error_2min_before_m']):>11} {m['n_predictions']:>5}")  # fmt: skip
    print(f"\n{'kind':<10} {'n':>3}  first warning s   err@apogee km     err@2min km")
    print(f"{'':<10} {'':>3}  worst median met  worst median met  worst median met")
    for kind, e in summary.items():
        cells = []
        for key, scale in (("detection_to_first_warning_s", 1.0), ("error_at_apogee_m", 1e3),
                           ("error_2min_before_m", 1e3)):  # fmt: skip
            f = e[key]
            worst, median = f["worst"] / scale, f["median"] / scale
            cells.append(f"{worst:>5.1f} {median:>6.1f} {f['meeting_target']:>3}")
        print(f"{kind:<10} {e['n']:>3}  " + "  ".join(cells))
    print(f"\n95 % ellipse coverage: {cov['coverage_95_overall']:.3f} "
          f"over {cov['n_predictions']} predictions")  # fmt: skip
    for b in cov["by_time_to_go"]:
        if b["n"]:
            lo, hi = b["time_to_go_s"]
            print(f"  time to go {lo:>4}–{hi:<4} s: {b['coverage_95']:.3f} of {b['n']:>5}, "
                  f"median error {b['median_error_m'] / 1000:.1f} km, "
                  f"p95 {b['p95_error_m'] / 1000:.1f} km")  # fmt: skip


def _suffix(first_seed: int) -> str:
    return f"-from-{first_seed}" if first_seed else ""


def plot_errors(predictions: list[dict[str, Any]], seeds: int, first_seed: int = 0) -> None:
    fig, ax = plt.subplots(figsize=(8, 5))
    colours = {"lofted": "#1f77b4", "depressed": "#d62728", "salvo": "#2ca02c"}
    for kind, colour in colours.items():
        mine = [p for p in predictions if missile_kind(p["missile"]) == kind]
        ax.scatter([p["time_to_go_s"] for p in mine], [p["error_m"] / 1000 for p in mine],
                   s=4, alpha=0.4, color=colour, label=kind)  # fmt: skip
    ax.set_xlabel("time to go (s)")
    ax.set_ylabel("impact point error (km)")
    ax.set_yscale("log")
    ax.invert_xaxis()
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    ax.set_title(
        f"Impact prediction error vs time to go, seeds {first_seed}–{first_seed + seeds - 1}"
    )
    fig.tight_layout()
    fig.savefig(RESULTS / f"threat_impact_error{_suffix(first_seed)}.png", dpi=110)
    plt.close(fig)


def calibrate(
    seeds: int, settings: AssessorSettings, processes: int = 2, first_seed: int = 0
) -> dict[str, Any]:
    jobs = [(seed, settings) for seed in range(first_seed, first_seed + seeds)]
    if processes > 1:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            results = pool.map(_seed_job, jobs, chunksize=1)
    else:
        results = [_seed_job(job) for job in jobs]
    missiles = [m for r in results for m in r["missiles"]]
    predictions = [p for r in results for p in r["predictions"]]
    summary = summarise(missiles)
    cov = coverage(predictions)
    print_table(missiles, summary, cov)
    plot_errors(predictions, seeds, first_seed)
    return {
        "seeds": seeds,
        "first_seed": first_seed,
        "summary": summary,
        **cov,
        "missiles": missiles,
        "predictions": predictions,
    }


def pacific() -> dict[str, Any]:
    from airpicture.tracking import sensor_models
    from airpicture.tracking.replay import replay

    loaded = load_scenario(REPO / "scenarios" / "pacific-shield.yaml")
    sim = simulate(loaded)
    sim.fusion_used = "centralized"
    out = RESULTS / "threat-run"
    sim.write(out)
    s = loaded.scenario
    result = replay(sim.plots, sensor_models(s.sensors), s.picture_interval_s, end_s=s.duration_s)
    write_table(out / "picture.parquet", result.picture, PICTURE_SCHEMA)
    t0 = time.perf_counter()
    run = assess_plots(sim.plots, loaded.scenario, viewers=sim.run_info()["viewers"])
    seconds = time.perf_counter() - t0
    write_warnings(out / "warnings.jsonl", run.warnings)
    write_jsonl(out / "threats.jsonl", run.threats)
    metrics = evaluate_run(out)
    w = metrics["warnings"]
    for nation, nm in w["nations"].items():
        for tid, m in nm["missiles"].items():
            print(nation, tid, json.dumps({k: (round(v, 1) if isinstance(v, float) else v)
                                           for k, v in m.items()}))  # fmt: skip
        print(nation, "false warnings:", nm["false_warnings"], "missed:", nm["missed_missiles"],
              "cruise ttg:", nm["cruise_time_to_go"])  # fmt: skip
    return {"assess_and_track_s": seconds, "warnings": w, "notes": run.notes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--skip-pacific", action="store_true")
    parser.add_argument(
        "--first-seed",
        type=int,
        default=0,
        help="seeds first-seed … first-seed + seeds − 1 (another value: a held-out set)",
    )
    parser.add_argument("--processes", type=int, default=2, help="seeds run in parallel")
    parser.add_argument(
        "--correlation-factor",
        type=float,
        default=FitSettings().correlation_factor,
        help="fit covariance factor for filtered-position correlation (calibration knob)",
    )
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {}
    if not args.skip_pacific:
        doc["pacific_shield"] = pacific()
    if args.seeds > 0:
        settings = AssessorSettings(fit=FitSettings(correlation_factor=args.correlation_factor))
        doc["calibration"] = calibrate(args.seeds, settings, args.processes, args.first_seed)
        doc["calibration"]["correlation_factor"] = args.correlation_factor
    (RESULTS / f"threat{_suffix(args.first_seed)}.json").write_text(
        json.dumps(doc, indent=1, default=float) + "\n"
    )


if __name__ == "__main__":
    main()

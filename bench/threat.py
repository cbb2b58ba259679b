"""Threat-assessment benchmark: warning figures on pacific-shield, impact-ellipse calibration.

    .venv/bin/python bench/threat.py                 # both parts
    .venv/bin/python bench/threat.py --seeds 10      # fewer calibration seeds
    .venv/bin/python bench/threat.py --skip-pacific  # calibration only

Part 1 simulates `scenarios/pacific-shield.yaml`, tracks centrally, runs one
NationalAssessor per nation, writes the run folder (`bench/results/threat-run/`
with warnings.jsonl, threats.jsonl, metrics.json, report.html) and prints the
warning measures. Part 2 flies a dedicated scenario of four launches (lofted,
depressed, standard, and a salvo of two at once) over many seeds and checks how
often the true impact lies inside the 95 % ellipse of every prediction made,
binned by time to go; it writes `bench/results/threat.json` and
`bench/results/threat_impact_error.png`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from airpicture.geo import ecef_to_enu, enu_basis, geodesic_distance_m, geodetic_to_ecef
from airpicture.metrics import evaluate_run
from airpicture.scenario import LoadedScenario, Scenario, load_scenario
from airpicture.sim.simulate import simulate
from airpicture.tables import PICTURE_SCHEMA, write_table
from airpicture.threat import AssessorSettings, assess_plots, write_jsonl
from airpicture.threat.ellipse import chi2_2dof_scale, mahalanobis_sq_2d
from airpicture.threat.fit import FitSettings

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
LAUNCHES: list[dict[str, Any]] = [
    {"id": "LOFTED", "launch_s": 20, "launch": {"lat_deg": 39.0, "lon_deg": 125.8},
     "impact": {"lat_deg": 40.0, "lon_deg": 132.0}, "apogee_m": 900000, "burnout_s": 80},
    {"id": "DEPRESSED", "launch_s": 40, "launch": {"lat_deg": 40.5, "lon_deg": 129.5},
     "impact": {"lat_deg": 37.5, "lon_deg": 136.0}, "apogee_m": 90000, "burnout_s": 60},
    {"id": "SALVO-A", "launch_s": 300, "launch": {"lat_deg": 39.7, "lon_deg": 127.0},
     "impact": {"lat_deg": 41.5, "lon_deg": 145.0}, "apogee_m": 450000, "burnout_s": 90},
    {"id": "SALVO-B", "launch_s": 305, "launch": {"lat_deg": 39.9, "lon_deg": 127.3},
     "impact": {"lat_deg": 36.0, "lon_deg": 134.0}, "apogee_m": 250000, "burnout_s": 70},
]  # fmt: skip


def calibration_scenario(seed: int) -> LoadedScenario:
    data = {
        "name": "threat-calibration", "epoch": "2026-04-10T21:00:00Z", "duration_s": 1200,
        "seed": seed, "picture_interval_s": 5, "fusion": "centralized",
        "nations": {"USA": {"release": {"tracks": ["JPN"], "plots": ["JPN"]}},
                    "JPN": {"release": {"tracks": ["USA"], "plots": ["USA"]}}},
        "sensors": SENSORS,
        "targets": [{"kind": "ballistic_missile", "identity": "hostile", **t} for t in LAUNCHES],
        "places": [{"name": "Niigata", "lat_deg": 37.92, "lon_deg": 139.04},
                   {"name": "Cape Erimo", "lat_deg": 41.93, "lon_deg": 143.25}],
    }  # fmt: skip
    return LoadedScenario(Scenario.model_validate(data), Path("threat-calibration.yaml"))


def calibrate(seeds: int, settings: AssessorSettings | None = None) -> dict[str, Any]:
    k2 = float(chi2_2dof_scale(0.95)) ** 2
    records: list[dict[str, float]] = []
    warn_delay: list[float] = []
    for seed in range(seeds):
        t0 = time.perf_counter()
        loaded = calibration_scenario(seed)
        sim = simulate(loaded)
        run = assess_plots(sim.plots, loaded.scenario, nations=["JPN"], settings=settings)
        truth = {
            tid: (f.impact_lat_deg, f.impact_lon_deg, f.impact_time_s + t["launch_s"])
            for tid, f in sim.flights.items()
            for t in LAUNCHES
            if t["id"] == tid
        }
        for p in run.assessors["JPN"].prediction_log:
            d = {
                tid: float(geodesic_distance_m(p["lat_deg"], p["lon_deg"], lat, lon))
                for tid, (lat, lon, _) in truth.items()
            }
            tid = min(d, key=lambda k: d[k])
            lat, lon, t_imp = truth[tid]
            made_s = p["made_s"]  # when the prediction was made (p["time_s"]: predicted impact)
            origin = geodetic_to_ecef(p["lat_deg"], p["lon_deg"], 0.0)
            off = ecef_to_enu(
                geodetic_to_ecef(lat, lon, 0.0), origin, enu_basis(p["lat_deg"], p["lon_deg"])
            )[:2]
            m2 = float(mahalanobis_sq_2d(off, p["cov_en_m2"]))
            records.append(
                {
                    "seed": seed,
                    "time_to_go_s": t_imp - made_s,
                    "error_m": d[tid],
                    "inside": float(m2 <= k2),
                    "semi_major_m": p["semi_major_m"],
                    "time_error_s": p["time_s"] - t_imp,
                    "missile": LAUNCHES.index(next(t for t in LAUNCHES if t["id"] == tid)),
                }
            )
        first = {}
        for w in run.warnings:
            if w["kind"] == "impact_area":
                first.setdefault(w["warning_id"], w["time_s"])
        warn_delay.extend(first.values())
        print(
            f"seed {seed:2d}: {len(run.assessors['JPN'].prediction_log):4d} predictions, "
            f"{sum(1 for w in run.warnings if w['kind'] == 'impact_area')} impact warnings, "
            f"{time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    ttg = np.array([r["time_to_go_s"] for r in records])
    err = np.array([r["error_m"] for r in records])
    inside = np.array([r["inside"] for r in records])
    bins = [(0, 60), (60, 120), (120, 300), (300, 600), (600, 2000)]
    by_bin = []
    for lo, hi in bins:
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
    fig, ax = plt.subplots(figsize=(8, 5))
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    for i, t in enumerate(LAUNCHES):
        m = np.array([r["missile"] == i for r in records])
        ax.scatter(ttg[m], err[m] / 1000, s=4, alpha=0.4, color=colours[i], label=t["id"])
    ax.set_xlabel("time to go (s)")
    ax.set_ylabel("impact point error (km)")
    ax.set_yscale("log")
    ax.invert_xaxis()
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    ax.set_title(f"Impact prediction error vs time to go, {seeds} seeds")
    fig.tight_layout()
    fig.savefig(RESULTS / "threat_impact_error.png", dpi=110)
    plt.close(fig)
    return {
        "seeds": seeds,
        "n_predictions": len(records),
        "coverage_95_overall": float(inside.mean()) if inside.size else None,
        "by_time_to_go": by_bin,
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
    write_jsonl(out / "warnings.jsonl", run.warnings)
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
        doc["calibration"] = calibrate(args.seeds, settings)
        doc["calibration"]["correlation_factor"] = args.correlation_factor
        print(json.dumps(doc["calibration"], indent=1))
    (RESULTS / "threat.json").write_text(json.dumps(doc, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()

"""Registration benchmark: pacific-shield with realistic sensor biases, with and without it.

    .venv/bin/python bench/registration.py                     # the full 1800 s
    .venv/bin/python bench/registration.py --duration-s 900    # shorter
    .venv/bin/python bench/registration.py --bounds RUN_DIR --scenario SCENARIO
                        # a run's measured commonality per pair beside what the release
                        # rules allow (attainable) and over what both nations hold

Simulates scenarios/pacific-shield-biased.yaml and the same scenario with every
`bias:` block removed (same seed: the same noise, report for report), then runs
the distributed network three times:

* `bias-free`: no biases, registration on (the reference: what perfect sensors give);
* `biased, no registration`: the damage;
* `biased, registration`: what registration buys.

For each: per viewer completeness, horizontal RMS error of the tracks associated
with a truth, dual-track rate (held (truth, snapshot) pairs where the viewer holds
two or more tracks on one truth), and commonality between nations (overall and per
pair). For the registered run: each node's final estimate of each sensor's bias
against the declared one (within 3 σ?), and whether σ shrank. Prints and writes
bench/results/registration.json; the issue's targets are printed beside the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from airpicture.fusion.gridlock import GridlockSettings
from airpicture.geo import ecef_to_enu, enu_basis, geodetic_to_ecef
from airpicture.metrics import EvaluationSettings, evaluate_run
from airpicture.metrics.commonality import attainable_commonality, sensor_rows
from airpicture.metrics.evaluation import evaluate
from airpicture.metrics.run_data import load_run
from airpicture.network.run import NetworkRun, NetworkSettings
from airpicture.policy import ReleasePolicy
from airpicture.scenario import LoadedScenario, ScenarioOverrides, load_scenario
from airpicture.scenario.model import SensorBias
from airpicture.sim.simulate import Simulation, simulate
from airpicture.tables import PICTURE_SCHEMA, Table, concat_tables, write_table
from airpicture.tracking.registration import SITE, RegistrationSettings

ROOT = Path(__file__).resolve().parents[1]


def without_biases(loaded: LoadedScenario) -> LoadedScenario:
    sensors = [s.model_copy(update={"bias": None}) for s in loaded.scenario.sensors]
    scenario = loaded.scenario.model_copy(update={"sensors": sensors, "name": "bias-free"})
    return LoadedScenario(scenario, loaded.path)


def network(sim: Simulation, registration: bool, out: Path) -> dict[str, Any]:
    settings = NetworkSettings(
        registration=RegistrationSettings(enabled=registration),
        gridlock=GridlockSettings(enabled=registration),
    )
    cpu0 = time.process_time()
    run = NetworkRun(sim.loaded, sim.plots, settings)
    pictures: list[Table] = []
    for snapshot in run.snapshots_until(math.inf):
        pictures.extend(snapshot.pictures[v] for v in sorted(snapshot.pictures))
    cpu = time.process_time() - cpu0
    sim.write(out)
    write_table(out / "picture.parquet", concat_tables(pictures, PICTURE_SCHEMA), PICTURE_SCHEMA)
    metrics = evaluate_run(out, EvaluationSettings(), write_report=False)
    registration_rows = {n: node.registration.table() for n, node in run.nodes.items()}
    summaries = {n: node.registration.summary() for n, node in run.nodes.items()}
    seconds = {n: dict(node.seconds) for n, node in run.nodes.items()}
    gridlock = {n: dict(node.gridlock.last) for n, node in run.nodes.items()}
    return {
        "cpu_s": cpu,
        "node_seconds": seconds,
        "metrics": metrics,
        "registration": registration_rows,
        "summaries": summaries,
        "gridlock": gridlock,
        "picture": out / "picture.parquet",
        "truth": out / "truth.parquet",
    }


def track_errors(result: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per viewer: horizontal RMS of associated tracks and the dual-track rate."""
    picture = pq.read_table(
        result["picture"], columns=["time_s", "viewer", "track_id", "lat_deg", "lon_deg"]
    ).to_pydict()
    truth = pq.read_table(
        result["truth"], columns=["time_s", "target_id", "lat_deg", "lon_deg", "alt_m"]
    ).to_pydict()
    truth_pos = {
        (round(t, 3), tid): (la, lo, al)
        for t, tid, la, lo, al in zip(
            truth["time_s"], truth["target_id"], truth["lat_deg"], truth["lon_deg"],
            truth["alt_m"], strict=True,
        )
    }  # fmt: skip
    track_pos = {
        (v, round(t, 3), tid): (la, lo)
        for t, v, tid, la, lo in zip(
            picture["time_s"], picture["viewer"], picture["track_id"], picture["lat_deg"],
            picture["lon_deg"], strict=True,
        )
    }  # fmt: skip
    out: dict[str, dict[str, float]] = {}
    times = sorted({round(t, 3) for t in picture["time_s"]})
    for viewer, v in result["metrics"]["viewers"].items():
        err2: list[float] = []
        held: dict[tuple[float, str], int] = {}
        for a in v["associations"]:
            for t in times:
                if not a["start_s"] - 1e-6 <= t <= a["end_s"] + 1e-6:
                    continue
                tp = track_pos.get((viewer, t, a["track_id"]))
                xp = truth_pos.get((t, a["target_id"]))
                if tp is None or xp is None:
                    continue
                held[(t, a["target_id"])] = held.get((t, a["target_id"]), 0) + 1
                truth_ecef = geodetic_to_ecef(*xp)
                enu = ecef_to_enu(
                    geodetic_to_ecef(tp[0], tp[1], xp[2]), truth_ecef, enu_basis(xp[0], xp[1])
                )
                err2.append(float(enu[0] ** 2 + enu[1] ** 2))
        n_held = len(held)
        out[viewer] = {
            "horizontal_rms_m": math.sqrt(sum(err2) / len(err2)) if err2 else math.nan,
            "dual_track_rate": sum(c >= 2 for c in held.values()) / n_held if n_held else 0.0,
        }
    return out


def declared(bias: SensorBias, quantity: str, time_s: float) -> float:
    drift = bias.drift_per_hour
    if quantity in SITE:
        k = SITE.index(quantity)
        return bias.site_enu_m[k] + drift.site_enu_m[k] * time_s / 3600.0
    return bias.value(quantity) + drift.value(quantity) * time_s / 3600.0


def estimates_vs_truth(loaded: LoadedScenario, result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each node's last estimate of each sensor's bias quantity against the declared one."""
    biases = {s.id: s.bias or SensorBias() for s in loaded.scenario.sensors}
    rows: list[dict[str, Any]] = []
    for viewer, table in result["registration"].items():
        for sid in sorted(set(table["sensor_id"].tolist())):
            for quantity in sorted(set(table["quantity"][table["sensor_id"] == sid].tolist())):
                sel = np.flatnonzero((table["sensor_id"] == sid) & (table["quantity"] == quantity))
                t, est, sig = table["time_s"][sel], table["estimate"][sel], table["sigma"][sel]
                truth = declared(biases[sid], quantity, float(t[-1]))
                observable = math.isfinite(float(est[-1]))
                rows.append(
                    {
                        "viewer": viewer,
                        "sensor_id": sid,
                        "quantity": quantity,
                        "time_s": float(t[-1]),
                        "declared": truth,
                        "estimate": float(est[-1]),
                        "sigma": float(sig[-1]),
                        "first_sigma": float(sig[0]),
                        "observable": observable,
                        "within_3_sigma": observable
                        and abs(float(est[-1]) - truth) <= 3.0 * float(sig[-1]),
                        "sigma_shrank": float(sig[-1]) < float(sig[0]),
                        "applied": bool(result["summaries"][viewer][sid]["applied"]),
                    }
                )
    return rows


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    m = result["metrics"]
    errors = track_errors(result)
    common = m["commonality"]
    return {
        "cpu_s": result["cpu_s"],
        "registration_cpu_s": {
            n: s.get("registration", 0.0) for n, s in result["node_seconds"].items()
        },
        "viewers": {
            v: {
                "completeness": m["viewers"][v]["siap"]["completeness"],
                "horizontal_mean_m": m["viewers"][v]["siap"]["horizontal_accuracy_m"],
                **errors[v],
            }
            for v in m["viewers"]
        },
        "commonality_all": common["overall"]["value"] if common.get("applicable") else None,
        "commonality_pairs": {
            f"{p['nation_a']}-{p['nation_b']}": p["value"] for p in common.get("pairs", [])
        },
    }


def bounds(run_dir: Path, loaded: LoadedScenario) -> list[dict[str, Any]]:
    """Per pair of nations: measured, attainable and held-by-both commonality of a run."""
    run = load_run(run_dir)
    evaluation = evaluate(run, EvaluationSettings())
    common = evaluation.commonality
    if common is None:
        return []
    policy = ReleasePolicy.from_scenario(loaded.scenario)
    eligible = {v: evaluation.viewers[v].eligible for v in common.nations}
    # detectable_by of the evaluation's truth rows (sorted and deduplicated by load_run)
    raw = pq.read_table(
        run_dir / "truth.parquet", columns=["time_s", "target_id", "detectable_by"]
    ).to_pydict()
    dt = loaded.scenario.picture_interval_s
    by_key = {
        (round(t / dt), tid): d
        for t, tid, d in zip(raw["time_s"], raw["target_id"], raw["detectable_by"], strict=True)
    }
    truth = run.truth
    detectable_by = np.empty(truth.size, dtype=object)
    detectable_by[:] = [
        by_key.get((int(st), str(truth.target_ids[tg])), [])
        for st, tg in zip(truth.step, truth.target, strict=True)
    ]
    detectable = sensor_rows(detectable_by, list(policy.sensor_ids))
    pairs = attainable_commonality(
        common, eligible, detectable, policy.track_marking, list(policy.nations)
    )
    exchange = {
        (a, b): bool(policy_gives(loaded, a, b) and policy_gives(loaded, b, a))
        for a in common.nations
        for b in common.nations
    }
    return [
        {
            "pair": f"{p.nation_a}-{p.nation_b}",
            "exchange_both_ways": exchange[(p.nation_a, p.nation_b)],
            "eligible": p.eligible,
            "measured": p.measured_value,
            "attainable": p.attainable_value,
            "held_by_both": p.held_by_both,
            "measured_over_held": p.held_value,
        }
        for p in pairs
    ]


def policy_gives(loaded: LoadedScenario, giver: str, receiver: str) -> bool:
    """Whether `giver` releases tracks to `receiver` by default (its nation's release)."""
    return receiver in loaded.scenario.nations[giver].release.tracks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--scenario", type=Path, default=ROOT / "scenarios/pacific-shield-biased.yaml"
    )
    parser.add_argument("--duration-s", type=float, default=None)
    parser.add_argument("--bounds", type=Path, default=None, help="a run folder to judge")
    args = parser.parse_args()
    if args.bounds is not None:
        rows = bounds(args.bounds, load_scenario(args.scenario))
        for r in rows:
            print(
                f"{r['pair']:<8} both ways: {'yes' if r['exchange_both_ways'] else 'no ':<3}  "
                f"measured {r['measured']:.4f}  attainable {r['attainable']:.4f}  "
                f"over held by both {r['measured_over_held']:.4f}"
                f" ({r['held_by_both']} of {r['eligible']})"
            )
        out = ROOT / "bench/results/commonality-bounds.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"run": str(args.bounds), "pairs": rows}, indent=2) + "\n")
        print(f"wrote {out.relative_to(ROOT)}")
        return
    biased = load_scenario(args.scenario, ScenarioOverrides(duration_s=args.duration_s))
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        sim_free = simulate(without_biases(biased))
        runs["bias-free"] = network(sim_free, True, Path(tmp) / "free")
        sim_biased = simulate(biased)
        runs["biased, no registration"] = network(sim_biased, False, Path(tmp) / "off")
        runs["biased, registration"] = network(sim_biased, True, Path(tmp) / "on")
        summary = {name: summarise(r) for name, r in runs.items()}
        estimates = estimates_vs_truth(biased, runs["biased, registration"])
        free_applied = {
            v: [sid for sid, s in sums.items() if s["applied"]]
            for v, sums in runs["bias-free"]["summaries"].items()
        }
    figures = {
        "scenario": biased.scenario.name,
        "duration_s": biased.scenario.duration_s,
        "load_average_1min": os.getloadavg()[0],
        "runs": summary,
        "estimates": estimates,
        "bias_free_sensors_corrected": free_applied,
    }
    out_file = ROOT / "bench/results/registration.json"
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(figures, indent=2, default=float) + "\n")

    lines = [f"{biased.scenario.name}, {biased.scenario.duration_s:.0f} s"]
    free_rms = {v: s["horizontal_rms_m"] for v, s in summary["bias-free"]["viewers"].items()}
    for name, s in summary.items():
        lines.append(f"{name}: network CPU {s['cpu_s']:.1f} s")
        for v, vs in s["viewers"].items():
            ratio = vs["horizontal_rms_m"] / free_rms[v] if free_rms.get(v) else math.nan
            lines.append(
                f"  {v}: completeness {vs['completeness']:.4f}, horizontal RMS "
                f"{vs['horizontal_rms_m']:,.0f} m ({ratio:.2f} × bias-free; target ≤ 1.2 with"
                f" registration), dual-track rate {vs['dual_track_rate']:.4f}"
            )
        pairs = ", ".join(f"{k} {v:.4f}" for k, v in s["commonality_pairs"].items() if v)
        all_c = s["commonality_all"]
        lines.append(
            f"  commonality all nations {all_c if all_c is None else f'{all_c:.4f}'}"
            f" (target ≥ 0.95 with registration); {pairs}"
        )
    observable = [e for e in estimates if e["observable"]]
    lines.append(
        f"estimates: {len(observable)} observable of {len(estimates)} (viewer, sensor, quantity);"
        f" within 3 σ of the declared bias: {sum(e['within_3_sigma'] for e in observable)};"
        f" σ shrank: {sum(e['sigma_shrank'] for e in observable)}"
    )
    for e in estimates:
        if e["observable"]:
            lines.append(
                f"  {e['viewer']} {e['sensor_id']:<22} {e['quantity']:<16} declared "
                f"{e['declared']:>9.4g}  estimate {e['estimate']:>9.4g} ± {e['sigma']:.3g}"
                f"{'' if e['within_3_sigma'] else '  (beyond 3 σ)'}"
                f"{'' if e['applied'] else '  (not applied)'}"
            )
    unobs = sorted({(e["viewer"], e["sensor_id"]) for e in estimates if not e["observable"]})
    lines.append("unobservable (viewer, sensor) with some quantity: " + ", ".join(
        f"{v}/{s}" for v, s in unobs))  # fmt: skip
    lines.append(f"bias-free run: sensors corrected (should be none): {free_applied}")
    print("\n".join(lines))
    print(f"wrote {out_file.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""One run of a study: a variant of the scenario on one seed, and the figures it yields.

These functions are what a Dask worker executes (`airpicture.study.cluster`):
`simulate_seed` once per seed, then `run_variant` once per (variant, seed) on
that simulation. Each run is the deterministic one-process network, so a run's
figures depend only on (scenario, seed, variant) — never on which worker ran it
or in what order. The figures come back as plain JSON-able dictionaries; the run
folder (truth, plots, picture, warnings, network.json, metrics.json) is also
written under the study's output folder when the worker can see it.
"""

from __future__ import annotations

import copy
import math
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from airpicture.cli.run import write_network_outputs
from airpicture.errors import InputError
from airpicture.metrics import EvaluationSettings
from airpicture.metrics.evaluate import evaluate_folder
from airpicture.metrics.evaluation import Evaluation, gospa_per_target_m
from airpicture.network import NetworkSettings, run_network
from airpicture.scenario import load_scenario
from airpicture.scenario.load import ScenarioOverrides
from airpicture.sim.simulate import Simulation, simulate
from airpicture.study.variants import Variant, apply_edits, drop_outages

#: Each nation's picture measures, as (key, label, unit, which way is better).
PICTURE_MEASURES: Final = (
    ("completeness", "completeness", "%", "higher"),
    ("spuriousness", "spuriousness", "%", "lower"),
    ("gospa_per_target_m", "GOSPA per target", "m", "lower"),
    ("position_rms_m", "position RMS", "m", "lower"),
    ("commonality", "commonality with partners", "%", "higher"),
    ("track_number_changes_per_h", "track-number changes per target-hour", "/h", "lower"),
)
#: Per nation and ballistic missile: warning measures (key, label, unit, better).
MISSILE_MEASURES: Final = (
    ("warned", "warned at all", "%", "higher"),
    ("time_to_first_warning_s", "launch → first warning", "s", "lower"),
    ("time_to_impact_warning_s", "launch → first impact-area warning", "s", "lower"),
    ("impact_error_120s_to_go_m", "impact error 120 s before impact", "m", "lower"),
    ("impact_error_at_apogee_m", "impact error at apogee", "m", "lower"),
)


@dataclass(frozen=True)
class StudySpec:
    """What every run of a study shares: the scenario file and its command-line overrides."""

    scenario_path: str
    duration_s: float | None = None
    count: int | None = None


def simulate_seed(spec: StudySpec, seed: int) -> Simulation:
    """The scenario simulated with `seed` (truth and reports shared by every variant)."""
    overrides = ScenarioOverrides(seed=seed, duration_s=spec.duration_s, count=spec.count)
    return simulate(load_scenario(spec.scenario_path, overrides))


def run_variant(sim: Simulation, variant: Variant, seed: int, out_dir: str) -> dict[str, Any]:
    """Run one variant over a seed's simulation; its figures (see module docstring).

    Truth, reports and eligible truths are the baseline's: only the network
    differs, so a lost sensor shows as lost completeness, not a smaller yardstick.
    """
    cpu0 = time.process_time()
    loaded = apply_edits(sim.loaded, variant)
    sensors = {s.id for s in loaded.scenario.sensors}
    unknown = [s for s in variant.outages if s not in sensors]
    if unknown:
        raise InputError(
            f"--variant {variant.name}", [f"no sensor {s!r} in the scenario" for s in unknown]
        )
    plots = drop_outages(sim.plots, variant.outages)
    result = run_network(loaded, plots, NetworkSettings(), fusion=variant.fusion)
    if result.failure is not None:
        raise RuntimeError(f"a node failed: {result.failure}")
    mine = copy.copy(sim)  # the shared simulation stays as the scheduler gave it
    mine.fusion_used = result.fusion_used
    folder = Path(out_dir)
    mine.write(folder)
    write_network_outputs(folder, result)
    evaluation, metrics = evaluate_folder(folder, EvaluationSettings())
    figures = run_figures(evaluation, metrics, metrics.get("warnings"))
    return {
        "variant": variant.name,
        "seed": seed,
        "fusion": result.fusion_used,
        "folder": str(folder),
        # How long it took: the only part of a record that depends on the machine.
        "timing": {
            "network_wall_s": result.seconds,
            "cpu_s": time.process_time() - cpu0,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        },
        **figures,
    }


def _num(value: Any) -> float | None:
    if value is None:
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def run_figures(
    evaluation: Evaluation, metrics: dict[str, Any], warnings_doc: dict[str, Any] | None
) -> dict[str, Any]:
    """Per viewer the picture measures, per nation and missile the warning measures.

    GOSPA per target = Σ_t GOSPA_t / Σ_t J(t): the mean GOSPA distance per eligible
    truth-snapshot (with p = 1, metres a planner can read per target).
    Position RMS = √(mean ‖x_track − x_truth‖²) over every (associated track, snapshot).
    Track-number changes per target-hour = 3600 × Σ_j (NU_j − 1) / Σ_j TT_j (SIAP).
    """
    run = evaluation.run
    common = metrics.get("commonality", {})
    pairs = common.get("pairs", []) if common.get("applicable") else []
    viewers: dict[str, dict[str, float | None]] = {}
    for viewer, ev in evaluation.viewers.items():
        siap = ev.siap.summary
        tracks = run.pictures[viewer]
        held = ev.siap.held
        error = tracks.position_ecef_m[held.track_row] - run.truth.position_ecef_m[held.truth_row]
        squared = np.einsum("ij,ij->i", error, error)
        mine = [
            p["value"]
            for p in pairs
            if viewer in (p["nation_a"], p["nation_b"]) and p["value"] is not None
        ]
        rate = siap.get("track_number_change_rate_per_s")
        viewers[viewer] = {
            "completeness": _num(siap.get("completeness")),
            "spuriousness": _num(siap.get("spuriousness")),
            "gospa_per_target_m": gospa_per_target_m(ev),
            "position_rms_m": float(np.sqrt(np.mean(squared))) if squared.size else None,
            "commonality": float(np.mean(mine)) if mine else None,
            "track_number_changes_per_h": None if rate is None else 3600.0 * float(rate),
        }
    missiles: dict[str, dict[str, dict[str, float | None]]] = {}
    for nation, doc in (warnings_doc or {}).get("nations", {}).items():
        per: dict[str, dict[str, float | None]] = {}
        for missile, m in doc.get("missiles", {}).items():
            if not m.get("warned"):
                per[missile] = {k: None for k, *_ in MISSILE_MEASURES} | {"warned": 0.0}
                continue
            launch = _num(m.get("launch_s"))
            impact_warning = _num(m.get("first_impact_warning_s"))
            per[missile] = {
                "warned": 1.0,
                "time_to_first_warning_s": _num(m.get("launch_to_first_warning_s")),
                "time_to_impact_warning_s": (
                    impact_warning - launch
                    if impact_warning is not None and launch is not None
                    else None
                ),
                "impact_error_120s_to_go_m": _num(m.get("impact_error_2min_before_m")),
                "impact_error_at_apogee_m": _num(m.get("impact_error_at_apogee_m")),
            }
        missiles[nation] = per
    return {
        "viewers": viewers,
        "commonality_all_nations": _num(common.get("overall", {}).get("value"))
        if common.get("applicable")
        else None,
        "missiles": missiles,
    }

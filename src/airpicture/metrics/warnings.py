"""Warning measures: timeliness, impact-prediction error, false and missed warnings.

Read from a run folder: `warnings.jsonl` (written by the threat assessment),
`run.json` (each ballistic missile's true impact point and time, the targets'
kinds, the viewers), `truth.parquet` (launch and apogee times, cruise-missile
arrival), `plots.parquet` (first detection of each missile by a sensor a nation
may hear from) and, when present, `threats.jsonl` (time to go per asset).

Which missile a warning is about is decided by geometry, never by the
warning's own claim: a launch notice belongs to the missile whose true launch
point is nearest its estimated launch point (within 300 km and 120 s); an
impact-area row to the missile whose true impact is nearest its predicted
impact (within 3 semi-major axes + 100 km); a cruise-missile row to the cruise
missile nearest its track position at that time (within 30 km). A row that
belongs to no hostile missile is a **false warning**; a hostile ballistic
missile with no launch notice or impact-area warning for a nation is
**missed** for that nation.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from airpicture.geo import ecef_to_enu, enu_basis, geodesic_distance_m, geodetic_to_ecef
from airpicture.metrics.report import Section
from airpicture.threat.warning import IMPACT_KINDS, PredictedImpact, Warning, read_warnings


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows


def _truth(run_dir: Path) -> dict[str, dict[str, Any]]:
    """Per target: times, lat, lon, alt arrays of truth.parquet."""
    t = pq.read_table(
        run_dir / "truth.parquet", columns=["time_s", "target_id", "lat_deg", "lon_deg", "alt_m"]
    ).to_pydict()
    ids = np.asarray(t["target_id"], dtype=object)
    out: dict[str, dict[str, Any]] = {}
    for tid in np.unique(ids):
        m = ids == tid
        order = np.argsort(np.asarray(t["time_s"])[m])
        out[str(tid)] = {
            k: np.asarray(t[k], dtype=np.float64)[m][order]
            for k in ("time_s", "lat_deg", "lon_deg", "alt_m")
        }
    return out


def _first_detection(run_dir: Path, sensors: set[str], targets: list[str]) -> dict[str, float]:
    p = pq.read_table(run_dir / "plots.parquet", columns=["time_s", "sensor_id", "target_id"])
    d = p.to_pydict()
    tid = np.asarray(d["target_id"], dtype=object)
    sid = np.asarray(d["sensor_id"], dtype=object)
    ts = np.asarray(d["time_s"], dtype=np.float64)
    mine = np.isin(sid, list(sensors))
    out: dict[str, float] = {}
    for target in targets:
        m = mine & (tid == target)
        out[target] = float(ts[m].min()) if m.any() else math.nan
    return out


def _impact_error_m(pi: PredictedImpact, lat: float, lon: float) -> float:
    return float(geodesic_distance_m(pi.lat_deg, pi.lon_deg, lat, lon))


def warning_measures(run_dir: Path) -> dict[str, Any] | None:
    """The `warnings` entry of metrics.json, or None when the run has no warnings.jsonl."""
    run_dir = Path(run_dir)
    path = run_dir / "warnings.jsonl"
    if not path.exists():
        return None
    rows = read_warnings(path)
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    targets: dict[str, dict[str, str]] = info.get("targets", {})
    ballistic: dict[str, dict[str, float]] = info.get("ballistic", {})
    truth = _truth(run_dir)
    hostile_bm = [t for t in ballistic if targets.get(t, {}).get("identity") != "friend"]
    cruise = [t for t, v in targets.items() if v.get("kind") == "cruise_missile"]
    # A missile judged: one in the air during the run (one launched at its last instant
    # has a single truth row and could not be seen, let alone warned of).
    end_s = max((float(tr["time_s"][-1]) for tr in truth.values()), default=-math.inf)
    launch_of = {t: (truth[t]["time_s"][0], truth[t]["lat_deg"][0], truth[t]["lon_deg"][0])
                 for t in hostile_bm if t in truth and truth[t]["time_s"][0] < end_s}  # fmt: skip
    apogee_of = {t: float(truth[t]["time_s"][np.argmax(truth[t]["alt_m"])]) for t in launch_of}
    nations = sorted({r for w in rows for r in w.recipients} | set(info.get("nations", [])))
    viewers: dict[str, list[str]] = info.get("viewers", {})
    result: dict[str, Any] = {"n_warnings": len(rows), "nations": {}}
    for nation in nations:
        mine = [w for w in rows if nation in w.recipients]
        owner: list[str | None] = []
        for w in mine:
            owner.append(_owner(w, launch_of, ballistic, truth, cruise))
        false_rows = [w for w, o in zip(mine, owner, strict=True) if o is None]
        first_det = _first_detection(run_dir, set(viewers.get(nation, [])), list(launch_of))
        missiles: dict[str, Any] = {}
        missed: list[str] = []
        for t, (launch_s, _, _) in launch_of.items():
            own = [w for w, o in zip(mine, owner, strict=True) if o == t]
            if not own:
                missed.append(t)
                missiles[t] = {"warned": False}
                continue
            first = min(w.time_s for w in own)
            impacts = [w for w in own if w.kind in IMPACT_KINDS and w.predicted_impact]
            first_impact = min((w.time_s for w in impacts), default=math.nan)
            truth_impact_s = ballistic[t]["impact_time_s"]
            lat, lon = ballistic[t]["impact_lat_deg"], ballistic[t]["impact_lon_deg"]

            def latest_before(
                limit_s: float, impacts: list[Warning] = impacts
            ) -> PredictedImpact | None:
                before = [w for w in impacts if w.time_s <= limit_s]
                return max(before, key=lambda w: w.time_s).predicted_impact if before else None

            at_apogee = latest_before(apogee_of[t])
            two_min = latest_before(truth_impact_s - 120.0)
            inside = [_inside(w.predicted_impact, lat, lon) for w in impacts if w.predicted_impact]
            missiles[t] = {
                "warned": True,
                "launch_s": launch_s,
                "first_detection_s": first_det.get(t),
                "first_warning_s": first,
                "launch_to_first_warning_s": first - launch_s,
                "detection_to_first_warning_s": first - first_det.get(t, math.nan),
                "first_impact_warning_s": first_impact,
                "detection_to_impact_warning_s": first_impact - first_det.get(t, math.nan),
                "apogee_s": apogee_of[t],
                "impact_error_at_apogee_m": (
                    _impact_error_m(at_apogee, lat, lon) if at_apogee else None
                ),
                "impact_error_2min_before_m": (
                    _impact_error_m(two_min, lat, lon) if two_min else None
                ),
                "impact_time_error_2min_before_s": (
                    two_min.time_s - truth_impact_s if two_min else None
                ),
                "ellipse_coverage": float(np.mean(inside)) if inside else None,
                "n_rows": len(own),
            }
        result["nations"][nation] = {
            "missiles": missiles,
            "false_warnings": len(false_rows),
            "false_warning_ids": sorted({w.warning_id for w in false_rows}),
            "missed_missiles": missed,
            "cruise_time_to_go": _cruise_ttg(run_dir, nation, truth, cruise, "Naha"),
        }
    return result


def _inside(pi: PredictedImpact, lat: float, lon: float) -> bool:
    """Whether the true impact lies in the row's ellipse: (d·u₁/a)² + (d·u₂/b)² ≤ 1,
    u₁ = (sin θ, cos θ), u₂ = (cos θ, −sin θ) in east/north at the predicted point."""
    origin = geodetic_to_ecef(pi.lat_deg, pi.lon_deg, 0.0)
    basis = enu_basis(pi.lat_deg, pi.lon_deg)
    d = ecef_to_enu(geodetic_to_ecef(lat, lon, 0.0), origin, basis)
    theta = math.radians(pi.orientation_deg)
    along = d[0] * math.sin(theta) + d[1] * math.cos(theta)
    across = d[0] * math.cos(theta) - d[1] * math.sin(theta)
    a, b = max(pi.semi_major_m, 1.0), max(pi.semi_minor_m, 1.0)
    return bool((along / a) ** 2 + (across / b) ** 2 <= 1.0)


def _owner(
    w: Warning,
    launch_of: dict[str, tuple[float, float, float]],
    ballistic: dict[str, dict[str, float]],
    truth: dict[str, dict[str, Any]],
    cruise: list[str],
) -> str | None:
    best: str | None = None
    best_d = math.inf
    if w.launch is not None:
        la = w.launch
        for t, (ts, lat, lon) in launch_of.items():
            d = float(geodesic_distance_m(la.lat_deg, la.lon_deg, lat, lon))
            if d < 300_000.0 and abs(la.time_s - ts) < 120.0 and d < best_d:
                best, best_d = t, d
        return best
    if w.predicted_impact is not None:
        pi = w.predicted_impact
        for t, (ts, _, _) in launch_of.items():
            if w.time_s < ts:  # a warning issued before the launch is not about it
                continue
            b = ballistic[t]
            d = float(geodesic_distance_m(pi.lat_deg, pi.lon_deg, b["impact_lat_deg"],
                                          b["impact_lon_deg"]))  # fmt: skip
            if d < 3.0 * pi.semi_major_m + 100_000.0 and d < best_d:
                best, best_d = t, d
        return best
    if w.track_position is not None:
        tp = w.track_position
        for t in cruise:
            tr = truth.get(t)
            if tr is None:
                continue
            k = int(np.argmin(np.abs(tr["time_s"] - w.time_s)))
            d = float(geodesic_distance_m(tp.lat_deg, tp.lon_deg, tr["lat_deg"][k],
                                          tr["lon_deg"][k]))  # fmt: skip
            if d < 30_000.0 and d < best_d:
                best, best_d = t, d
        return best
    # Follow-on rows (passed over, fell at sea, cancelled) belong to their alert.
    return "follow-on"


def _cruise_ttg(
    run_dir: Path, nation: str, truth: dict[str, dict[str, Any]], cruise: list[str], asset: str
) -> dict[str, Any] | None:
    """Mean |predicted − true| arrival time at `asset` of the cruise missiles, once tracked."""
    rows = [
        r
        for r in _read_jsonl(run_dir / "threats.jsonl")
        if r.get("nation") == nation and r.get("asset") == asset
        and r.get("cls") == "cruise_missile" and r.get("reachable")
        and r.get("time_to_go_s") is not None
    ]  # fmt: skip
    arrivals = np.array([truth[t]["time_s"][-1] for t in cruise if t in truth])
    if not rows or arrivals.size == 0:
        return None
    errors = []
    for r in rows:
        predicted = r["time_s"] + r["time_to_go_s"]
        errors.append(float(np.min(np.abs(arrivals - predicted))))
    e = np.asarray(errors)
    return {
        "asset": asset,
        "n": int(e.size),
        "mean_abs_error_s": float(e.mean()),
        "p90_abs_error_s": float(np.percentile(e, 90)),
    }


def _fmt_s(value: Any) -> str:
    return (
        "–"
        if value is None or (isinstance(value, float) and not math.isfinite(value))
        else (f"{value:,.0f}")
    )


def warnings_section(measures: dict[str, Any]) -> Section:
    """The report's warning section: one table row per nation and missile."""
    head = (
        "<tr><th>nation</th><th>missile</th><th>launch → first warning (s)</th>"
        "<th>detection → first warning (s)</th><th>detection → impact area (s)</th>"
        "<th>impact error at apogee (km)</th><th>impact error 2 min before (km)</th>"
        "<th>ellipse coverage</th></tr>"
    )
    body = []
    extra = []
    for nation, nm in measures["nations"].items():
        for tid, m in nm["missiles"].items():
            if not m.get("warned"):
                body.append(f"<tr><td>{nation}</td><td>{tid}</td><td colspan=6>missed</td></tr>")
                continue
            apo = m["impact_error_at_apogee_m"]
            two = m["impact_error_2min_before_m"]
            cov = m["ellipse_coverage"]
            body.append(
                f"<tr><td>{nation}</td><td>{tid}</td>"
                f"<td>{_fmt_s(m['launch_to_first_warning_s'])}</td>"
                f"<td>{_fmt_s(m['detection_to_first_warning_s'])}</td>"
                f"<td>{_fmt_s(m['detection_to_impact_warning_s'])}</td>"
                f"<td>{'–' if apo is None else f'{apo / 1000:.1f}'}</td>"
                f"<td>{'–' if two is None else f'{two / 1000:.1f}'}</td>"
                f"<td>{'–' if cov is None else f'{cov:.2f}'}</td></tr>"
            )
        ttg = nm.get("cruise_time_to_go")
        ttg_text = (
            "no cruise-missile time to go recorded"
            if not ttg
            else f"cruise-missile time to go against {ttg['asset']}: mean error "
            f"{ttg['mean_abs_error_s']:.0f} s over {ttg['n']} estimates"
        )
        extra.append(
            f"<li>{nation}: {nm['false_warnings']} false warnings; missed: "
            f"{', '.join(nm['missed_missiles']) or 'none'}; {ttg_text}</li>"
        )
    html = (
        f"<p>{measures['n_warnings']} warning rows in warnings.jsonl.</p>"
        f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"
        f"<ul>{''.join(extra)}</ul>"
    )
    return Section("Warnings", html)

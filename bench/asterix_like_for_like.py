"""The same reports tracked from Parquet and from ASTERIX: like for like (issue 14).

    .venv/bin/python bench/asterix_like_for_like.py                          # pacific-shield, 600 s
    .venv/bin/python bench/asterix_like_for_like.py --scenario scenarios/uk-opensky.yaml \
        --duration-s 1200

1. `airpicture simulate` (in process) → truth and reports.
2. Every report an ASTERIX encoder can write is encoded as `airpicture feed` does
   (`encode_cat048` per radar and 2D radar, `encode_cat021` per ADS-B station: the same
   encoders, the same items; `feed` only cuts the datagrams at sector crossings) and
   decoded as `airpicture ingest` and a node do (`AsterixIngest`). `Encoded.written`
   names the rows that went out.
3. The tracker of `airpicture track` (one over every sensor) runs twice: on exactly
   those rows from Parquet (the subset), and on what ASTERIX gave back. Optionally,
   `--quantise`: on the subset with only some of ASTERIX's resolutions applied (time
   1/128 s, range 1/256 NM, azimuth 2⁻¹⁶ turn, height 25 ft, Mode C ¼ FL), to find which
   one makes a difference.
4. `evaluate` both pictures against the same truth: SIAP completeness, position
   accuracy, spuriousness; and per target kind (truth restricted to one kind: its
   completeness and position accuracy).

Prints a table and writes bench/results/asterix_like_for_like-<scenario>.json. CPU
seconds (process time) of encoding and decoding give records per CPU second.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console

ROOT = Path(__file__).resolve().parents[1]

#: Variants of --quantise: which of ASTERIX's resolutions the Parquet subset is given.
QUANTISE = ("time", "range", "azimuth", "height", "all")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios/pacific-shield.yaml")
    parser.add_argument("--duration-s", type=float, default=600.0)
    parser.add_argument("--work", type=Path, default=ROOT / "bench/results/work/like_for_like")
    parser.add_argument(
        "--quantise",
        nargs="*",
        choices=QUANTISE,
        default=[],
        help="also track the Parquet subset with these ASTERIX resolutions applied",
    )
    args = parser.parse_args()

    from airpicture.cli import main as cli
    from airpicture.cli.ingest import asterix_sensors
    from airpicture.cli.track import track_plots
    from airpicture.interop.asterix import AsterixIngest, encode_cat021, encode_cat048
    from airpicture.scenario import load_scenario
    from airpicture.tables import PLOTS_SCHEMA, TRUTH_SCHEMA, read_table, take_rows
    from airpicture.tracking.settings import TrackerSettings

    name = args.scenario.stem
    work = args.work / name
    shutil.rmtree(work, ignore_errors=True)
    sim_dir = work / "sim"
    cli(
        [
            "simulate",
            str(args.scenario),
            "--out",
            str(sim_dir),
            "--duration-s",
            str(args.duration_s),
        ]
    )
    loaded = load_scenario(args.scenario)
    epoch = loaded.scenario.epoch
    plots = read_table(sim_dir / "plots.parquet", PLOTS_SCHEMA)
    n_plots = len(plots["time_s"])

    # 2. encode and decode
    sensors = asterix_sensors(loaded.scenario)
    by_id = {s.sensor_id: s for s in sensors}
    sensor_ids = np.asarray(plots["sensor_id"], dtype=object)
    written: list[np.ndarray[Any, Any]] = []
    datagrams: list[Any] = []
    skipped: dict[str, int] = {}
    cpu: dict[str, float] = {"encode_cat048": 0.0, "encode_cat021": 0.0}
    records: dict[str, int] = {"cat048": 0, "cat021": 0}
    for family, encode, key in (
        ("radar", encode_cat048, "cat048"),
        ("adsb", encode_cat021, "cat021"),
    ):
        ids = [s.sensor_id for s in sensors if s.family == family]
        rows = np.flatnonzero(np.isin(sensor_ids, ids))
        part = take_rows(plots, rows)
        t0 = time.process_time()
        encoded = encode(part, by_id, epoch)
        cpu[f"encode_{key}"] += time.process_time() - t0
        records[key] = len(encoded.written)
        written.append(rows[np.asarray(encoded.written, dtype=np.intp)])
        datagrams.extend(encoded.datagrams)
        for why, count in encoded.skipped.items():
            skipped[f"{key}: {why}"] = skipped.get(f"{key}: {why}", 0) + count
    no_asterix = {
        str(s): int((sensor_ids == s).sum()) for s in sorted(set(sensor_ids.tolist()) - set(by_id))
    }
    datagrams.sort(key=lambda d: d.time_s)
    ingest = AsterixIngest(sensors, epoch)
    t0 = time.process_time()
    for d in datagrams:
        failure = ingest.datagram(d.data)
        assert failure is None, failure
    cpu["decode"] = time.process_time() - t0
    decoded = ingest.reports()
    sent = np.sort(np.concatenate(written))
    subset = take_rows(plots, sent)
    assert len(decoded["time_s"]) == sent.size, (len(decoded["time_s"]), sent.size)

    # 3. track
    console = Console(quiet=True)
    settings = TrackerSettings()
    inputs: dict[str, dict[str, Any]] = {"parquet_subset": subset, "asterix": decoded}
    for variant in args.quantise:
        inputs[f"parquet_subset_quantised_{variant}"] = quantised(subset, variant, by_id, epoch)
    truth = read_table(sim_dir / "truth.parquet", TRUTH_SCHEMA)
    results: dict[str, Any] = {}
    for label, reports in inputs.items():
        if "target_id" not in reports:
            reports = {**reports, "target_id": np.full(len(reports["time_s"]), "", dtype=object)}
        t0 = time.process_time()
        picture = track_plots(reports, loaded, settings, console).picture
        track_cpu = time.process_time() - t0
        results[label] = {
            "track_cpu_s": track_cpu,
            **evaluate(picture, sim_dir, work / label, truth),
        }
        print(f"{label}: {json.dumps(results[label]['all'])}")

    out = {
        "scenario": name,
        "duration_s": args.duration_s,
        "reports_simulated": n_plots,
        "reports_sent": int(sent.size),
        "not_sent": {
            **skipped,
            **{f"{k}: no ASTERIX for its kind": v for k, v in no_asterix.items()},
        },
        "datagrams": len(datagrams),
        "records": records,
        "cpu_s": cpu,
        "records_per_cpu_s": {
            "encode_cat048": records["cat048"] / max(cpu["encode_cat048"], 1e-9),
            "encode_cat021": records["cat021"] / max(cpu["encode_cat021"], 1e-9),
            "decode_cat048_and_cat021": sent.size / max(cpu["decode"], 1e-9),
        },
        "results": results,
    }
    show(out)
    path = ROOT / "bench" / "results" / f"asterix_like_for_like-{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")


def evaluate(
    picture: dict[str, Any], sim_dir: Path, run_dir: Path, truth: dict[str, Any]
) -> dict[str, Any]:
    """SIAP of the picture against the whole truth and against each kind's truth alone."""
    from airpicture.metrics import evaluate_run
    from airpicture.tables import PICTURE_SCHEMA, take_rows, write_table

    out: dict[str, Any] = {}
    kinds = sorted(set(truth["kind"].tolist()))
    for kind in ["all", *kinds]:
        folder = run_dir / kind
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(sim_dir / "run.json", folder / "run.json")
        part = truth if kind == "all" else take_rows(truth, truth["kind"] == kind)
        # every column the simulator wrote (identity, detectable_by), rows of that kind
        whole = pq.read_table(sim_dir / "truth.parquet")
        keep = np.ones(whole.num_rows, dtype=bool) if kind == "all" else truth["kind"] == kind
        pq.write_table(whole.filter(pa.array(keep)), folder / "truth.parquet")
        write_table(folder / "picture.parquet", picture, PICTURE_SCHEMA)
        metrics = evaluate_run(folder, write_report=False)
        viewer = metrics["viewers"]["ALL"]  # the one tracker's picture (`track`)
        siap = viewer["siap"]
        out[kind] = {
            "completeness": siap["completeness"],
            "position_accuracy_m": siap["position_accuracy_m"],
            "spuriousness": siap["spuriousness"],
            "n_targets": len(set(part["target_id"].tolist())),
        }
    return out


def quantised(
    reports: dict[str, Any], variant: str, sensors: dict[str, Any], epoch: Any
) -> dict[str, Any]:
    """The reports with one (or every) resolution of CAT048/CAT021 applied, nothing else."""
    from airpicture.interop.asterix import (
        HEIGHT_3D_LSB_M,
        QUARTER_FL_M,
        RHO_LSB_M,
        THETA_LSB_DEG,
        elevation_to_height_m,
        height_to_elevation_deg,
        seconds_of_day,
    )

    out = {k: np.array(v, copy=True) for k, v in reports.items()}
    radar = np.isfinite(out["range_m"]) & np.isfinite(out["az_deg"])
    if variant in ("time", "all"):
        tod = seconds_of_day(epoch)
        out["time_s"] = np.round((out["time_s"] + tod) * 128.0) / 128.0 - tod
    if variant in ("range", "all"):
        out["range_m"][radar] = np.round(out["range_m"][radar] / RHO_LSB_M) * RHO_LSB_M
    if variant in ("azimuth", "all"):
        az = np.round(out["az_deg"][radar] / THETA_LSB_DEG) * THETA_LSB_DEG
        out["az_deg"][radar] = az % 360.0
    if variant in ("height", "all"):
        three_d = radar & np.isfinite(out["el_deg"])
        for sensor_id in sorted(set(out["sensor_id"][three_d].tolist())):
            rows = three_d & (out["sensor_id"] == sensor_id)
            sensor = sensors[sensor_id]
            rng, az = out["range_m"][rows], out["az_deg"][rows]
            h = elevation_to_height_m(sensor, rng, az, out["el_deg"][rows])
            h = np.round(h / HEIGHT_3D_LSB_M) * HEIGHT_3D_LSB_M
            out["el_deg"][rows] = height_to_elevation_deg(sensor, rng, az, h)
        mode_c = np.isfinite(out["pressure_alt_m"])
        out["pressure_alt_m"][mode_c] = (
            np.round(out["pressure_alt_m"][mode_c] / QUARTER_FL_M) * QUARTER_FL_M
        )
    return out


def show(out: dict[str, Any]) -> None:
    print(
        f"\n{out['scenario']}, {out['duration_s']:.0f} s: {out['reports_simulated']:,} reports, "
        f"{out['reports_sent']:,} sent as ASTERIX; not sent: {out['not_sent']}"
    )
    base = out["results"]["parquet_subset"]
    for label, result in out["results"].items():
        for kind, m in result.items():
            if kind == "track_cpu_s":
                continue
            b = base[kind]
            ratio = (
                m["position_accuracy_m"] / b["position_accuracy_m"]
                if b["position_accuracy_m"] and m["position_accuracy_m"] is not None
                else math.nan
            )
            completeness = m["completeness"] if m["completeness"] is not None else math.nan
            print(
                f"{label:40s} {kind:18s} targets {m['n_targets']:3d}  completeness "
                f"{completeness:.4f}  position {m['position_accuracy_m'] or math.nan:8.2f} m "
                f"(×{ratio:.4f})  spuriousness {m['spuriousness'] or 0:.4f}"
            )
    print("records per CPU s:", {k: round(v) for k, v in out["records_per_cpu_s"].items()})


if __name__ == "__main__":
    main()

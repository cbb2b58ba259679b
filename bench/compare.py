"""Planning-study benchmark: the same study on a 1-worker and a 2-worker local Dask cluster.

    .venv/bin/python bench/compare.py                        # 2 variants × 8 seeds, 600 s
    .venv/bin/python bench/compare.py --seeds 4 --duration-s 120

pacific-shield, baseline and no-tpy2 (both TPY-2 radars out) × `--seeds` seeds
of `--duration-s` s, run as `airpicture compare` runs them
(`airpicture.study.cluster.run_study`) first on one worker process, then on two.
Prints and writes bench/results/compare.json:

* wall-clock time of each study, and the speed-up (1 worker / 2 workers);
* the CPU seconds of all runs (measured inside the workers, so it does not
  depend on how many shared the machine) and the machine's load average, since
  a wall-clock speed-up means little on a machine that others share;
* whether every run's figures are identical on 1 and on 2 workers (they must
  be: each run is the deterministic one-process network);
* the study's significant findings.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from airpicture.study.cluster import dask_client, run_study
from airpicture.study.runs import StudySpec
from airpicture.study.summary import findings, summarise
from airpicture.study.variants import Variant, parse_variant

ROOT = Path(__file__).resolve().parents[1]
VARIANT = "no-tpy2:without=USA-TPY2-SHARIKI,without=USA-TPY2-KYOGAMISAKI"


def _figures(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A run's figures without its timing and folder (the only machine-dependent parts)."""
    return [{k: v for k, v in r.items() if k not in ("timing", "folder")} for r in records]


def one_study(workers: int, spec: StudySpec, variants: list[Variant], seeds: list[int],
              out: Path) -> dict[str, Any]:  # fmt: skip
    load0 = os.getloadavg()[0]
    with dask_client(None, workers) as client:
        start = time.perf_counter()
        records, failures = run_study(client, spec, variants, seeds, out)
        wall = time.perf_counter() - start
    cpu = sum(r["timing"]["cpu_s"] for r in records)
    load1 = os.getloadavg()[0]
    print(f"{workers} worker(s): {wall:,.0f} s wall, {cpu:,.0f} CPU s in the runs, "
          f"{len(failures)} failed; load average {load0:.1f} → {load1:.1f}")  # fmt: skip
    return {
        "workers": workers,
        "wall_s": wall,
        "runs_cpu_s": cpu,
        "load_average_before": load0,
        "load_average_after": load1,
        "failures": [f.to_json() for f in failures],
        "records": records,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios/pacific-shield.yaml")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--duration-s", type=float, default=600.0)
    parser.add_argument("--first-seed", type=int, default=1)
    args = parser.parse_args()
    spec = StudySpec(str(args.scenario.resolve()), duration_s=args.duration_s)
    variants = [Variant("baseline"), parse_variant(VARIANT)]
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    print(f"{args.scenario.name}: {len(variants)} variants × {len(seeds)} seeds, "
          f"{args.duration_s:g} s, on 1 then 2 workers ({os.cpu_count()} cores)")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        one = one_study(1, spec, variants, seeds, Path(tmp) / "w1")
        two = one_study(2, spec, variants, seeds, Path(tmp) / "w2")
    identical = _figures(one["records"]) == _figures(two["records"])
    speedup = one["wall_s"] / two["wall_s"] if two["wall_s"] else None
    found = findings(summarise(two["records"], variants, seeds), variants)
    print(f"speed-up 1 → 2 workers: {speedup:.2f}× (wall clock); "
          f"figures identical on 1 and 2 workers: {identical}")  # fmt: skip
    for f in found:
        print("  •", f["text"])
    result = {
        "scenario": args.scenario.name,
        "duration_s": args.duration_s,
        "variants": [VARIANT],
        "seeds": seeds,
        "cores": os.cpu_count(),
        "one_worker": {k: v for k, v in one.items() if k != "records"},
        "two_workers": {k: v for k, v in two.items() if k != "records"},
        "speedup": speedup,
        "identical": identical,
        "findings": [f["text"] for f in found],
        "runs": two["records"],
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out / 'compare.json'}")


if __name__ == "__main__":
    main()

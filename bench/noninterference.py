"""Non-interference on a whole scenario: what a nation may not hold changes nothing it gets.

    .venv/bin/python bench/noninterference.py                    # pacific-shield, 1800 s
    .venv/bin/python bench/noninterference.py --duration-s 600 --viewer AUS

For each nation V (or `--viewer`) that may not hold some sensors' data (on
pacific-shield: AUS and USA-SBIRS-GEO), runs the deterministic network twice on
the same reports and the same keys — once with every report, once without the
reports of the sensors V may not hold — and compares, byte for byte:

* every message delivered to V (the signed frames: header, `seq`, body);
* every row of V's picture (all columns: number, class, identity, sources …);
* every warning V issued or received, and V's threat rows.

Prints the counts compared and the first difference of each kind (if any), and
writes bench/results/noninterference.json. Exit status 1 if anything differs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from airpicture.network import KeepingBus, NetworkRun
from airpicture.network.bus import scenario_links
from airpicture.network.messages import decode
from airpicture.network.signing import Keyring, message_bytes
from airpicture.policy.release import receivers_of_sensor
from airpicture.scenario import ScenarioOverrides, load_scenario
from airpicture.sim.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]


def _json(value: object) -> bytes:
    return msgspec.json.encode(value, enc_hook=repr)


def outputs(loaded: Any, plots: Any, keys: dict[str, Keyring], viewer: str) -> dict[str, list[Any]]:
    bus = KeepingBus(scenario_links(loaded.scenario), loaded.scenario.seed)
    run = NetworkRun(loaded, plots, bus=bus, keys=keys)
    pictures = [s.pictures[viewer] for s in run.snapshots_until(np.inf)]
    node = run.nodes[viewer]
    return {
        "received": [(s, p) for s, r, p in bus.published if r == viewer],
        "picture": [_json({c: v.tolist() for c, v in rows.items()}) for rows in pictures],
        "warnings": [_json(w) for w in node.issued_warnings + node.received_warnings],
        "threats": [_json(t) for t in node.threat_log()],
    }


def count_differences(part: str, a: list[Any], b: list[Any]) -> dict[str, Any]:
    """How many items differ, and (messages) which fields, counted over every pair."""
    differ = sum(x != y for x, y in zip(a, b, strict=False)) + abs(len(a) - len(b))
    fields: dict[str, int] = {}
    if part == "received":
        for x, y in zip(a, b, strict=False):
            if x != y:
                mx, my = decode(message_bytes(x[1])), decode(message_bytes(y[1]))
                for f in mx.__struct_fields__:
                    if getattr(mx, f, None) != getattr(my, f, None):
                        fields[f] = fields.get(f, 0) + 1
    return {"differ": differ, "fields": fields}


def first_difference(part: str, a: list[Any], b: list[Any]) -> str | None:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            if part == "received":
                mx, my = decode(message_bytes(x[1])), decode(message_bytes(y[1]))
                fields = [
                    f for f in mx.__struct_fields__ if getattr(mx, f, None) != getattr(my, f, None)
                ]
                return f"{part}[{i}] from {x[0]}: {type(mx).__name__} differs in {fields}"
            return f"{part}[{i}]: {x[:300]!r} vs {y[:300]!r}"
    if len(a) != len(b):
        return f"{part}: {len(a)} with every report, {len(b)} without the hidden ones"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios/pacific-shield.yaml")
    parser.add_argument("--duration-s", type=float, default=None)
    parser.add_argument("--viewer", action="append", help="nation(s) to check (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/noninterference.json")
    args = parser.parse_args()
    loaded = load_scenario(args.scenario, ScenarioOverrides(duration_s=args.duration_s))
    scenario = loaded.scenario
    plots = simulate(loaded).plots
    keys = Keyring.generate(scenario.nations)
    report: dict[str, Any] = {"scenario": scenario.name, "duration_s": scenario.duration_s}
    leaks = 0
    for viewer in args.viewer or sorted(scenario.nations):
        hidden = [s.id for s in scenario.sensors if viewer not in receivers_of_sensor(scenario, s)]
        if not hidden:
            print(f"{viewer}: may hold every sensor; nothing to check")
            continue
        cpu0 = time.process_time()
        keep = ~np.isin(plots["sensor_id"], hidden)
        removed = int((~keep).sum())
        a = outputs(loaded, plots, keys, viewer)
        b = outputs(loaded, {k: v[keep] for k, v in plots.items()}, keys, viewer)
        result: dict[str, Any] = {"hidden": hidden, "reports_removed": removed}
        for part in a:
            diff = first_difference(part, a[part], b[part])
            result[part] = {
                "compared": len(a[part]),
                "identical": diff is None,
                "first": diff,
                **count_differences(part, a[part], b[part]),
            }
            leaks += diff is not None
        result["cpu_s"] = time.process_time() - cpu0
        report[viewer] = result
        print(
            f"{viewer}: without {', '.join(hidden)} ({removed} reports): "
            + "; ".join(
                f"{p} {r['compared']} "
                + (
                    "identical"
                    if r["identical"]
                    else f"{r['differ']} DIFFER {r['fields']}: {r['first']}"
                )
                for p, r in result.items()
                if isinstance(r, dict)
            )
            + f" ({result['cpu_s']:.0f} CPU s)"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 1 if leaks else 0


if __name__ == "__main__":
    sys.exit(main())

"""Fuzzing every decoder a partner or a file can reach, and a real node's whole cycle.

    .venv/bin/python bench/fuzz.py                              # the issue's counts
    .venv/bin/python bench/fuzz.py --bus 20000 --node 2000 --yaml 2000 --csv 20000
    .venv/bin/python bench/fuzz.py --only node                  # one part

Seeded from real payloads: the signed frames of a pacific-shield run (120 s), the
repository's scenario files, the OpenSky CSV in data/. Each input is one of:

* **bus** (`--bus`, default 1,000,000): half byte-level mutations of real frames
  (bit flips, overwritten, inserted, deleted octets, truncation, splices:
  `bench/interop_fuzz.py`'s `mutate`), opened by the receiver's keyring; half
  *signed* by the real sender's key after mutating the message inside — a hostile
  partner signs what it likes — structure-aware (a field replaced by a value of
  another type or an absurd one: 2⁶⁴, NaN, ±inf, 10³⁰⁸, deep nesting, long lists
  and strings; a field dropped or added) or byte-level; then decoded and put
  through the plausibility checks. Allowed: `FrameError`, `MessageError`.
* **node** (`--node`, default 100,000): the same signed hostile messages injected
  into the JPN node of the running network (in process), each followed by its
  receive, and — when it took anything — its track publication and fusion and
  assessment. Allowed: nothing (the node must count, never raise).
* **yaml** (`--yaml`): scenario files mutated by bytes and by structure, loaded by
  `load_scenario`. Allowed: `InputError`.
* **csv** (`--csv`): OpenSky state rows mutated by bytes and by fields, read by
  `interop.opensky.decode_states`. Allowed: `OpenSkyFormatError`.

ASTERIX and CoT: `bench/interop_fuzz.py` (not repeated here). Per part: inputs,
outcomes, failures (the first 20 printed with the input), the slowest input's
CPU and wall time (a hang shows there: none may pass 1 s), peak RSS growth.
Prints and writes bench/results/fuzz.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import yaml

from airpicture.errors import InputError
from airpicture.interop.opensky import OpenSkyFormatError, decode_states
from airpicture.network import Envelope, InProcessBus, KeepingBus, NetworkRun
from airpicture.network.bus import scenario_links
from airpicture.network.messages import (
    MessageError,
    PlotBatch,
    TrackBatch,
    decode,
    plot_problems,
    track_problems,
)
from airpicture.network.signing import FrameError, read_frame
from airpicture.scenario import ScenarioOverrides, load_scenario
from airpicture.sim.simulate import simulate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from interop_fuzz import mutate

ROOT = Path(__file__).resolve().parents[1]
VICTIM = "JPN"

#: Values a hostile field gets: other types, absurd numbers, deep and long structures.
ABSURD: list[Any] = [
    None, True, 0, -1, 2**63, 2**64 - 1, -(2**63), 1e308, -1e308, math.nan, math.inf,
    -math.inf, 1e18, -1e18, 5e-324, "", "x" * 100_000, "USA", "\x00\ud7ff", b"\x00" * 64,
    [], [[[[[[]]]]]], [0] * 100_000, [math.nan] * 21, {}, {"a": {"b": {"c": []}}},
    [1e30] * 6, ["USA-R1"] * 1000,
]  # fmt: skip


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def mutate_value(value: Any, rng: np.random.Generator) -> Any:
    """A structure-aware mutation of decoded msgpack `value` (dicts, lists, scalars)."""
    if isinstance(value, dict) and value and rng.random() < 0.85:
        key = list(value)[int(rng.integers(0, len(value)))]
        out = dict(value)
        r = rng.random()
        if r < 0.1:
            del out[key]
        elif r < 0.15:
            out[f"extra{int(rng.integers(0, 9))}"] = _nested(int(rng.integers(1, 900)))
        else:
            out[key] = mutate_value(value[key], rng)
        return out
    if isinstance(value, list) and value and rng.random() < 0.8:
        out_list = list(value)
        r = rng.random()
        i = int(rng.integers(0, len(value)))
        if r < 0.15:
            del out_list[i]
        elif r < 0.3:
            out_list.append(out_list[i])
        else:
            out_list[i] = mutate_value(value[i], rng)
        return out_list
    if isinstance(value, float) and rng.random() < 0.5:
        return float(value * 10 ** float(rng.uniform(-30, 30)) * (-1 if rng.random() < 0.3 else 1))
    if rng.random() < 0.05:
        return _nested(int(rng.integers(100, 900)))
    return ABSURD[int(rng.integers(0, len(ABSURD)))]


class Seeds:
    """Real frames of a pacific-shield run, its network kept running for the node part."""

    def __init__(self, duration_s: float) -> None:
        loaded = load_scenario(
            ROOT / "scenarios/pacific-shield.yaml", ScenarioOverrides(duration_s=duration_s)
        )
        plots = simulate(loaded).plots
        self.bus = KeepingBus(scenario_links(loaded.scenario), loaded.scenario.seed)
        self.run = NetworkRun(loaded, plots, bus=self.bus)
        self.run.advance(duration_s)
        self.now_s = duration_s
        self.frames = [f for f in self.bus.published if f[1] == VICTIM]
        self.bodies = [(s, msgspec.msgpack.decode(read_frame(p).body)) for s, _, p in self.frames]
        self._seq = 10**12

    def hostile(self, rng: np.random.Generator) -> tuple[str, bytes]:
        """(sender, frame): a real message to the victim, mutated, then signed by its sender."""
        sender, body = self.bodies[int(rng.integers(0, len(self.bodies)))]
        self._seq += 1
        body = dict(body, seq=self._seq)
        stamp_key = "time_s" if body.get("type") == "tracks" else "sent_s"
        body[stamp_key] = self.now_s
        r = rng.random()
        if r < 0.02:
            # nested deeper than any encoder here would write: an unknown field of
            # 20,000 one-element arrays, spliced in as bytes
            data = msgspec.msgpack.encode(dict(body, zz=0)).replace(
                b"\xa2zz\x00", b"\xa2zz" + b"\x91" * 20_000 + b"\xc0", 1
            )
        elif r < 0.8:
            data = msgspec.msgpack.encode(mutate_value(body, rng))
        else:
            raw = msgspec.msgpack.encode(body)
            data = mutate(raw, [raw], rng)
        kind = str(body.get("type", "tracks"))
        frame = self.run.keys[sender].seal_body(VICTIM, kind, self._seq, self.now_s, data)
        return sender, frame

    def byte_mutated(self, rng: np.random.Generator) -> tuple[str, bytes]:
        sender, _, payload = self.frames[int(rng.integers(0, len(self.frames)))]
        return sender, mutate(payload, [p for _, _, p in self.frames[:50]], rng)


#: Each part stops when it has spent this much CPU (`--max-cpu-s`): the inputs it ran count.
BUDGET = {"cpu_s": math.inf}


def drive(
    inputs: Iterator[Any], work: Callable[[Any], str], allowed: tuple[type[BaseException], ...]
) -> dict[str, Any]:
    """Run `work` on every input: outcomes, failures, slowest input, peak memory growth.
    Stops early (`stopped_by_budget`) once the part has spent `--max-cpu-s`."""
    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    slowest_cpu = slowest_wall = 0.0
    over_1s = 0
    slow: list[str] = []
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu_start = time.process_time()
    count = 0
    for item in inputs:
        count += 1
        c0, w0 = time.process_time(), time.perf_counter()
        try:
            outcomes[work(item)] += 1
        except allowed as exc:
            outcomes[type(exc).__name__ + ":" + str(getattr(exc, "reason", ""))] += 1
        except Exception as exc:  # what this run looks for
            outcomes[f"ESCAPED {type(exc).__name__}"] += 1
            if len(failures) < 20:
                failures.append(f"{type(exc).__name__}: {str(exc)[:300]} — {repr(item)[:400]}")
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        over_1s += cpu > 1.0
        if cpu > 1.0 and len(slow) < 5:
            slow.append(f"{cpu:.2f} CPU s: {repr(item)[:300]}")
        slowest_cpu, slowest_wall = max(slowest_cpu, cpu), max(slowest_wall, wall)
        if time.process_time() - cpu_start > BUDGET["cpu_s"]:
            break
    cpu_s = time.process_time() - cpu_start
    return {
        "inputs": count,
        "escaped": sum(n for k, n in outcomes.items() if k.startswith("ESCAPED")),
        "outcomes": dict(outcomes.most_common()),
        "failures": failures,
        "slowest_input_cpu_s": slowest_cpu,
        "slowest_input_wall_s": slowest_wall,
        "inputs_over_1_cpu_s": over_1s,
        "over_1_cpu_s": slow,
        "peak_rss_growth_mib": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024,
        "cpu_s": cpu_s,
        "stopped_by_budget": cpu_s > BUDGET["cpu_s"],
    }


def fuzz_bus(seeds: Seeds, count: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    keys = seeds.run.keys[VICTIM]

    def inputs() -> Iterator[tuple[str, bytes]]:
        for i in range(count):
            yield seeds.byte_mutated(rng) if i % 2 == 0 else seeds.hostile(rng)

    def work(item: tuple[str, bytes]) -> str:
        sender, payload = item
        message = decode(keys.open(payload, sender).body)
        if isinstance(message, TrackBatch):
            bad = int((track_problems(message) != "").sum())
        elif isinstance(message, PlotBatch):
            bad = int((plot_problems(message) != "").sum())
        else:
            bad = 0
        return "decoded, items refused" if bad else "decoded"

    return drive(inputs(), work, (FrameError, MessageError))


def fuzz_node(seeds: Seeds, count: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    run = seeds.run
    node = run.nodes[VICTIM]
    bus = run.bus
    assert isinstance(bus, InProcessBus)
    now_s = seeds.now_s

    def inputs() -> Iterator[tuple[str, bytes]]:
        for i in range(count):
            yield seeds.byte_mutated(rng) if i % 4 == 0 else seeds.hostile(rng)

    def work(item: tuple[str, bytes]) -> str:
        sender, payload = item
        taken = sum(node.counts.received.values())
        bus.inject(Envelope(sender, VICTIM, now_s, now_s, payload))
        node.receive(now_s)
        if sum(node.counts.received.values()) == taken:
            return "refused"
        node.publish_tracks(now_s)
        node.fuse(now_s)
        for partner in node.partners:  # what the victim sent is not kept
            bus.receive(partner, math.inf)
        return "taken, fused"

    result = drive(inputs(), work, ())
    result["refused_by_reason"] = dict(node.counts.rejected.most_common())
    return result


def fuzz_yaml(count: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    texts = [p.read_bytes() for p in sorted((ROOT / "scenarios").glob("*.yaml"))]
    trees = [yaml.safe_load(t) for t in texts]
    folder = Path(tempfile.mkdtemp(prefix="fuzz-yaml-"))
    path = folder / "fuzzed.yaml"

    def inputs() -> Iterator[bytes]:
        for i in range(count):
            k = int(rng.integers(0, len(texts)))
            if i % 2 == 0:
                yield mutate(texts[k], texts, rng)
            elif i % 50 == 1:
                yield texts[k] + b"\nextra: " + b"[" * 5000 + b"]" * 5000 + b"\n"
            else:
                tree = mutate_value(trees[k], rng)
                try:
                    yield yaml.safe_dump(tree, allow_unicode=True).encode("utf-8", "replace")
                except RecursionError:  # the dumper's limit, not the loader's
                    yield mutate(texts[k], texts, rng)

    def work(data: bytes) -> str:
        path.write_bytes(data)
        load_scenario(path)
        return "loaded"

    return drive(inputs(), work, (InputError,))


def fuzz_csv(count: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    lines = (ROOT / "data/opensky_states_uk_2021-07-12.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]

    def inputs() -> Iterator[bytes]:
        for i in range(count):
            start = int(rng.integers(0, max(1, len(rows) - 20)))
            chunk = [header, *rows[start : start + int(rng.integers(1, 20))]]
            if i % 2 == 0:
                raw = "\n".join(chunk).encode()
                yield mutate(raw, [raw], rng)
            else:
                row = int(rng.integers(0, len(chunk)))
                fields = chunk[row].split(",")
                f = int(rng.integers(0, len(fields)))
                fields[f] = str(ABSURD[int(rng.integers(0, len(ABSURD)))])[:200_000]
                chunk[row] = ",".join(fields)
                yield "\n".join(chunk).encode()

    def work(data: bytes) -> str:
        states = decode_states(data.decode("utf-8", "replace"))
        return "decoded" if len(states.time_unix_s) else "decoded, empty"

    return drive(inputs(), work, (OpenSkyFormatError,))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bus", type=int, default=1_000_000)
    parser.add_argument("--node", type=int, default=100_000)
    parser.add_argument("--yaml", type=int, default=1_000_000)
    parser.add_argument("--csv", type=int, default=1_000_000)
    parser.add_argument("--only", choices=("bus", "node", "yaml", "csv"), action="append")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument(
        "--max-cpu-s", type=float, default=math.inf, help="stop each part after this much CPU"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/fuzz.json")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # every refusal is logged; counted here instead
    BUDGET["cpu_s"] = args.max_cpu_s
    parts = args.only or ["bus", "node", "yaml", "csv"]
    report: dict[str, Any] = {"seed": args.seed}
    seeds = Seeds(120.0) if {"bus", "node"} & set(parts) else None
    for part in parts:
        if part == "bus" and seeds is not None:
            report[part] = fuzz_bus(seeds, args.bus, args.seed)
        elif part == "node" and seeds is not None:
            report[part] = fuzz_node(seeds, args.node, args.seed)
        elif part == "yaml":
            report[part] = fuzz_yaml(args.yaml, args.seed)
        elif part == "csv":
            report[part] = fuzz_csv(args.csv, args.seed)
        r = report[part]
        print(
            f"{part}: {r['inputs']:,} inputs"
            + (" (CPU budget spent)" if r["stopped_by_budget"] else "")
            + f", {r['escaped']} escaped, slowest "
            f"{r['slowest_input_cpu_s']:.3f} CPU s / {r['slowest_input_wall_s']:.3f} wall s, "
            f"{r['inputs_over_1_cpu_s']} over 1 s, peak RSS +{r['peak_rss_growth_mib']:.0f} MiB, "
            f"{r['cpu_s']:.0f} CPU s; {dict(list(r['outcomes'].items())[:6])}",
            flush=True,
        )
        for failure in r["failures"][:5]:
            print("   ", failure)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

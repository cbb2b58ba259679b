"""ASTERIX decoder fuzzing and codec throughput.

    .venv/bin/python bench/interop_fuzz.py                       # 1,000,000 datagrams per category
    .venv/bin/python bench/interop_fuzz.py --datagrams 20000     # a quick look

For each category the decoder reads (CAT048, CAT034, CAT021, CAT062), half the
datagrams are random bytes behind that category's octet (with a right length
field half the time) and half are valid datagrams of the category, mutated (bit
flips, overwritten, inserted or deleted octets, truncation, a wrong length,
splices of two datagrams). Every one must decode or raise `AsterixError`;
anything else is a failure, printed with the datagram in hex. The slowest single
datagram's CPU time is reported (a hang would show there; there is no timeout
that passes for one).

Then throughput, in records per CPU second: decoding the valid corpus of each
category, and encoding CAT048, CAT021, CAT062 and CAT034.

Prints and writes bench/results/interop_fuzz.json.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from airpicture.interop.asterix import (
    AsterixDecoder,
    AsterixError,
    AsterixSensor,
    SystemCode,
    elevation_to_height_m,
    encode_cat021,
    encode_cat034,
    encode_cat048,
    encode_cat062,
)

ROOT = Path(__file__).resolve().parents[1]
EPOCH = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
RADAR = AsterixSensor("R3D", "JPN", 2, 7, 35.6, 139.7, 120.0, "radar")
RADAR2D = AsterixSensor("R2D", "JPN", 2, 8, 34.0, 135.0, 30.0, "radar")
ADSB = AsterixSensor("ADSB", "USA", 3, 1, 21.3, -157.9, 10.0, "adsb")
SENSORS = {s.sensor_id: s for s in (RADAR, RADAR2D, ADSB)}
LETTERS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))


def objects(values: list[Any]) -> np.ndarray[Any, Any]:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def radar_table(n: int, rng: np.random.Generator) -> dict[str, Any]:
    three_d = rng.random(n) < 0.5
    range_m = rng.uniform(1_000.0, 470_000.0, n)
    az = rng.uniform(0.0, 360.0, n)
    el = np.where(three_d, rng.uniform(-1.0, 5.0, n), np.nan)
    idents = [
        "".join(rng.choice(LETTERS, 7)) if k == 0 else f"{int(rng.integers(0, 2**24)):06x}"
        for k in rng.integers(0, 2, n)
    ]
    return {
        "time_s": np.sort(rng.uniform(0.0, 3600.0, n)),
        "sensor_id": objects(["R3D" if t else "R2D" for t in three_d]),
        "range_m": range_m,
        "az_deg": az,
        "el_deg": el,
        "range_rate_mps": np.where(three_d, rng.uniform(-300.0, 300.0, n), np.nan),
        "pressure_alt_m": np.where(three_d, np.nan, rng.uniform(0.0, 12_000.0, n)),
        "mode3a": objects([f"{int(c):04o}" for c in rng.integers(0, 4096, n)]),
        "ident": objects(idents),
    }


def adsb_table(n: int, rng: np.random.Generator) -> dict[str, Any]:
    return {
        "time_s": np.sort(rng.uniform(0.0, 3600.0, n)),
        "sensor_id": objects(["ADSB"] * n),
        "lat_deg": rng.uniform(-80.0, 80.0, n),
        "lon_deg": rng.uniform(-180.0, 180.0, n),
        "alt_m": rng.uniform(0.0, 13_000.0, n),
        "pressure_alt_m": rng.uniform(0.0, 12_000.0, n),
        "mode3a": objects([f"{int(c):04o}" for c in rng.integers(0, 4096, n)]),
        "ident": objects(["".join(rng.choice(LETTERS, 7)) for _ in range(n)]),
    }


def picture_table(n_tracks: int, n_snapshots: int, rng: np.random.Generator) -> dict[str, Any]:
    n = n_tracks * n_snapshots
    return {
        "time_s": np.repeat(np.arange(n_snapshots) * 5.0, n_tracks),
        "track_id": objects([f"{k:05d}" for k in np.tile(np.arange(1, n_tracks + 1), n_snapshots)]),
        "lat_deg": rng.uniform(-80.0, 80.0, n),
        "lon_deg": rng.uniform(-180.0, 180.0, n),
        "alt_m": rng.uniform(0.0, 13_000.0, n),
        "vel_e_mps": rng.uniform(-300.0, 300.0, n),
        "vel_n_mps": rng.uniform(-300.0, 300.0, n),
        "vel_u_mps": rng.uniform(-30.0, 30.0, n),
        "sources": objects([["A", "B"][: int(k)] for k in rng.integers(1, 3, n)]),
    }


def corpus(rng: np.random.Generator) -> dict[int, list[bytes]]:
    """Valid datagrams of each category (a few records each, some single-record)."""
    small = 200
    out: dict[int, list[bytes]] = {}
    out[48] = [
        d.data
        for d in encode_cat048(radar_table(400, rng), SENSORS, EPOCH, max_bytes=small).datagrams
    ]
    out[21] = [
        d.data
        for d in encode_cat021(adsb_table(400, rng), SENSORS, EPOCH, max_bytes=small).datagrams
    ]
    out[62] = [
        d.data
        for d in encode_cat062(
            picture_table(40, 10, rng), SystemCode(2, 100), EPOCH, max_bytes=small
        ).datagrams
    ]
    out[34] = [
        encode_cat034(RADAR, EPOCH, float(t), int(k), sector_az_deg=float(a), period_s=10.0)
        for t, k, a in zip(
            rng.uniform(0, 3600, 200),
            rng.integers(1, 3, 200),
            rng.uniform(0, 360, 200),
            strict=True,
        )
    ]
    return out


def random_datagram(category: int, rng: np.random.Generator) -> bytes:
    body = rng.integers(0, 256, int(rng.integers(0, 120)), dtype=np.uint8).tobytes()
    length = 3 + len(body) if rng.random() < 0.5 else int(rng.integers(0, 2**16))
    return bytes([category]) + length.to_bytes(2, "big") + body


def mutate(data: bytes, others: list[bytes], rng: np.random.Generator) -> bytes:
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 4))):
        kind = int(rng.integers(0, 7))
        n = len(out)
        if kind == 0 and n:  # flip bits
            for _ in range(int(rng.integers(1, 9))):
                i = int(rng.integers(0, n))
                out[i] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1 and n:  # overwrite octets
            for _ in range(int(rng.integers(1, 5))):
                out[int(rng.integers(0, n))] = int(rng.integers(0, 256))
        elif kind == 2:  # insert octets
            i = int(rng.integers(0, n + 1))
            out[i:i] = rng.integers(0, 256, int(rng.integers(1, 9)), dtype=np.uint8).tobytes()
        elif kind == 3 and n:  # delete octets
            i = int(rng.integers(0, n))
            del out[i : i + int(rng.integers(1, 9))]
        elif kind == 4 and n:  # truncate
            del out[int(rng.integers(0, n)) :]
        elif kind == 5 and n >= 3:  # a wrong length field
            out[1:3] = int(rng.integers(0, 2**16)).to_bytes(2, "big")
        elif kind == 6:  # splice with another datagram
            other = others[int(rng.integers(0, len(others)))]
            cut = int(rng.integers(0, n + 1))
            out = out[:cut] + bytearray(other[int(rng.integers(0, len(other) + 1)) :])
    return bytes(out)


def fuzz_inputs(category: int, valid: list[bytes], count: int, seed: int) -> Iterator[bytes]:
    rng = np.random.default_rng(seed)
    for i in range(count):
        if i % 2 == 0:
            yield random_datagram(category, rng)
        else:
            yield mutate(valid[int(rng.integers(0, len(valid)))], valid, rng)


def fuzz(category: int, valid: list[bytes], count: int, seed: int) -> dict[str, Any]:
    decoder = AsterixDecoder(list(SENSORS.values()), EPOCH)
    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    slowest_s = 0.0
    records = 0
    started = time.process_time()
    for data in fuzz_inputs(category, valid, count, seed):
        t0 = time.process_time()
        try:
            decoded = decoder.decode(data)
            outcomes["decoded"] += 1
            records += len(decoded.reports["time_s"]) + len(decoded.service["time_s"])
            records += len(decoded.tracks["time_s"])
        except AsterixError:
            outcomes["AsterixError"] += 1
        except Exception as exc:  # the failure this run looks for
            outcomes[f"other: {type(exc).__name__}"] += 1
            if len(failures) < 20:
                failures.append(f"{type(exc).__name__}: {exc} — {data.hex()}")
        slowest_s = max(slowest_s, time.process_time() - t0)
    cpu_s = time.process_time() - started
    return {
        "datagrams": count,
        "outcomes": dict(outcomes),
        "records_decoded": records,
        "failures": failures,
        "slowest_datagram_cpu_s": slowest_s,
        "cpu_s": cpu_s,
        "datagrams_per_cpu_s": count / cpu_s,
    }


def rate(work: Callable[[], int], min_cpu_s: float = 2.0) -> float:
    """Records per CPU second of `work` (which returns the records it handled)."""
    done, started = 0, time.process_time()
    while True:
        done += work()
        spent = time.process_time() - started
        if spent >= min_cpu_s:
            return done / spent


def throughput(valid: dict[int, list[bytes]], rng: np.random.Generator) -> dict[str, float]:
    decoder = AsterixDecoder(list(SENSORS.values()), EPOCH)

    def decode(category: int) -> Callable[[], int]:
        def work() -> int:
            n = 0
            for data in valid[category]:
                d = decoder.decode(data)
                n += len(d.reports["time_s"]) + len(d.service["time_s"]) + len(d.tracks["time_s"])
            return n

        return work

    radar, adsb, pic = radar_table(2000, rng), adsb_table(2000, rng), picture_table(100, 20, rng)
    return {
        "decode_cat048_records_per_s": rate(decode(48)),
        "decode_cat021_records_per_s": rate(decode(21)),
        "decode_cat034_records_per_s": rate(decode(34)),
        "decode_cat062_records_per_s": rate(decode(62)),
        "encode_cat048_records_per_s": rate(
            lambda: (encode_cat048(radar, SENSORS, EPOCH), 2000)[1]
        ),
        "encode_cat021_records_per_s": rate(lambda: (encode_cat021(adsb, SENSORS, EPOCH), 2000)[1]),
        "encode_cat062_records_per_s": rate(
            lambda: (encode_cat062(pic, SystemCode(2, 100), EPOCH), 2000)[1]
        ),
        "encode_cat034_records_per_s": rate(
            lambda: sum(
                1
                for t in range(200)
                if encode_cat034(RADAR, EPOCH, float(t), 2, sector_az_deg=45.0)
            )
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datagrams", type=int, default=1_000_000, help="per category")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--categories", default="48,34,21,62")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/interop_fuzz.json")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    valid = corpus(rng)
    figures: dict[str, Any] = {"datagrams_per_category": args.datagrams, "seed": args.seed}
    figures["throughput"] = throughput(valid, rng)
    for name, value in figures["throughput"].items():
        print(f"{name:>32}: {value:10,.0f}")
    figures["fuzz"] = {}
    for category in (int(c) for c in args.categories.split(",")):
        result = fuzz(category, valid[category], args.datagrams, args.seed + category)
        figures["fuzz"][f"CAT{category:03d}"] = result
        print(
            f"CAT{category:03d}: {result['datagrams']:,} datagrams, {result['outcomes']}, "
            f"slowest {result['slowest_datagram_cpu_s'] * 1e3:.1f} ms, "
            f"{result['datagrams_per_cpu_s']:,.0f}/CPU s"
        )
        for failure in result["failures"]:
            print("  FAILURE", failure)
    figures["ok"] = all(not r["failures"] for r in figures["fuzz"].values())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"wrote {args.out}; {'no' if figures['ok'] else 'SOME'} failures")


if __name__ == "__main__":
    # `elevation_to_height_m` imported for the reader: the corpus's 3D heights come from it
    _ = elevation_to_height_m
    main()

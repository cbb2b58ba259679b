"""Codec throughput on a real run's tables: records (events) per CPU second.

    .venv/bin/airpicture run scenarios/pacific-shield.yaml --out /tmp/ps --no-report \
        --duration-s 600
    .venv/bin/python bench/asterix_throughput.py /tmp/ps --scenario scenarios/pacific-shield.yaml

Encodes the run's reports as CAT048 (radars, 2D radars) and CAT021 (ADS-B) and decodes
them back; encodes each nation's picture as CAT062 (with every picture column: I500,
I290, I380/I245 where the rows have them) and decodes it; makes the CoT events of the
pictures and writes them as XML and as TAK protocol (stream form). CPU time
(process time) of each, best of `--repeat`. Prints and writes
bench/results/asterix_throughput-<run folder name>.json.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def best_cpu_s(work: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        work()
        best = min(best, time.process_time() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--scenario", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    from airpicture.cli.ingest import asterix_sensors
    from airpicture.interop.asterix import (
        AsterixDecoder,
        SystemCode,
        encode_cat021,
        encode_cat048,
        encode_cat062,
    )
    from airpicture.interop.cot import cot_events, event_proto_stream, event_xml
    from airpicture.scenario import load_scenario
    from airpicture.tables import PICTURE_SCHEMA, PLOTS_SCHEMA, read_table, take_rows

    loaded = load_scenario(args.scenario)
    epoch = loaded.scenario.epoch
    sensors = asterix_sensors(loaded.scenario)
    by_id = {s.sensor_id: s for s in sensors}
    plots = read_table(args.run_dir / "plots.parquet", PLOTS_SCHEMA)
    picture = read_table(args.run_dir / "picture.parquet", PICTURE_SCHEMA)
    sensor_ids = np.asarray(plots["sensor_id"], dtype=object)
    figures: dict[str, Any] = {}

    def measure(label: str, records: int, work: Callable[[], Any]) -> None:
        cpu = best_cpu_s(work, args.repeat)
        figures[label] = {"records": records, "cpu_s": cpu, "records_per_cpu_s": records / cpu}
        print(f"{label:28s} {records:8,d} records  {cpu:7.2f} CPU s  {records / cpu:9,.0f} /CPU s")

    for family, encode, name in (
        ("radar", encode_cat048, "cat048"),
        ("adsb", encode_cat021, "cat021"),
    ):
        ids = [s.sensor_id for s in sensors if s.family == family]
        part = take_rows(plots, np.flatnonzero(np.isin(sensor_ids, ids)))
        encoded = encode(part, by_id, epoch)
        measure(
            f"encode {name}",
            len(encoded.written),
            lambda encode=encode, part=part: encode(part, by_id, epoch),
        )
        data = [d.data for d in encoded.datagrams]

        def decode(data: list[bytes] = data) -> None:
            decoder = AsterixDecoder(sensors, epoch)
            for d in data:
                decoder.decode(d)

        measure(f"decode {name}", len(encoded.written), decode)

    nations = sorted(set(picture["viewer"].tolist()))
    views = [take_rows(picture, picture["viewer"] == n) for n in nations]
    n_rows = len(picture["time_s"])
    cat062: list[bytes] = []

    def encode_062() -> None:
        cat062.clear()
        for k, view in enumerate(views):
            cat062.extend(
                d.data for d in encode_cat062(view, SystemCode(k + 1, 0), epoch).datagrams
            )

    measure("encode cat062", n_rows, encode_062)

    def decode_062() -> None:
        decoder = AsterixDecoder(sensors, epoch)
        for d in cat062:
            decoder.decode(d)

    measure("decode cat062", n_rows, decode_062)
    events = [e for view in views for e in cot_events(view, epoch, 15.0)]
    measure("cot events", n_rows, lambda: [cot_events(v, epoch, 15.0) for v in views])
    measure("cot xml", len(events), lambda: [event_xml(e) for e in events])
    measure("cot tak proto stream", len(events), lambda: [event_proto_stream(e) for e in events])
    out = ROOT / "bench" / "results" / f"asterix_throughput-{args.run_dir.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"run_dir": str(args.run_dir), "figures": figures}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

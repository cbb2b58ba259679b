"""The simulate command: output contract, determinism, overrides."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from airpicture.cli import main
from airpicture.tables import PLOTS_SCHEMA, TRUTH_SCHEMA
from tests.conftest import REPO

UK = REPO / "scenarios" / "uk-opensky.yaml"


def _simulate(out: Path, *extra: str) -> None:
    assert main(["simulate", str(UK), "--out", str(out), "--duration-s", "300", *extra]) == 0


def test_outputs_have_the_contract_columns_and_are_seeded(tmp_path: Path) -> None:
    _simulate(tmp_path / "a")
    _simulate(tmp_path / "b")
    _simulate(tmp_path / "c", "--seed", "12")
    truth = pq.read_table(tmp_path / "a" / "truth.parquet")
    plots = pq.read_table(tmp_path / "a" / "plots.parquet")
    assert truth.schema.names[: len(TRUTH_SCHEMA)] == TRUTH_SCHEMA.names
    assert plots.schema.names == PLOTS_SCHEMA.names
    again = pq.read_table(tmp_path / "b" / "plots.parquet")
    for name in PLOTS_SCHEMA.names:
        first, second = (
            plots.column(name).to_numpy(zero_copy_only=False),
            again.column(name).to_numpy(zero_copy_only=False),
        )
        if first.dtype.kind == "f":
            assert np.array_equal(first, second, equal_nan=True), name
        else:
            assert (first == second).all(), name
    other = pq.read_table(tmp_path / "c" / "plots.parquet")
    assert not np.array_equal(
        other.column("range_m").to_numpy(), plots.column("range_m").to_numpy()
    )
    times = plots.column("time_s").to_numpy()
    assert (np.diff(times) >= 0).all() and times.max() <= 300.0
    adsb = plots.filter(plots.column("sensor_id").to_numpy(zero_copy_only=False) == "GBR-ADSB")
    assert np.isfinite(adsb.column("lat_deg").to_numpy()).all()
    assert all(adsb.column("ident").to_pylist())
    run = json.loads((tmp_path / "a" / "run.json").read_text())
    assert run["viewers"]["GBR"] == ["GBR-RADAR-SOUTH", "GBR-RADAR-NORTH", "GBR-ADSB"]
    assert run["duration_s"] == 300.0
    assert run["truth_until_s"] == 300.0  # the recording outlasts this 300 s run


def test_truth_horizon_is_the_end_of_the_recording(tmp_path: Path) -> None:
    _simulate(tmp_path / "uk", "--duration-s", "1300")
    run = json.loads((tmp_path / "uk" / "run.json").read_text())
    assert 1199.0 < run["truth_until_s"] < 1200.0  # 14:19:59, the last recorded position


def test_count_override_scales_generated_traffic(tmp_path: Path) -> None:
    out = tmp_path / "dense"
    args = [
        "simulate",
        str(REPO / "scenarios" / "dense-traffic.yaml"),
        "--out",
        str(out),
        "--count",
        "25",
        "--duration-s",
        "30",
    ]
    assert main(args) == 0
    truth = pq.read_table(out / "truth.parquet")
    assert len(set(truth.column("target_id").to_pylist())) == 25

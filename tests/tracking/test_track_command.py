"""`airpicture track`: recorded reports in, picture.parquet out; bad files are reported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from airpicture.cli import main
from airpicture.tables import PICTURE_SCHEMA, PLOTS_SCHEMA, read_table, write_table
from tests.tracking.plotgen import aircraft, radar, scan_plots

SCENARIO = """
name: tiny
epoch: "2026-01-01T00:00:00Z"
duration_s: 120
seed: 1
picture_interval_s: 10
fusion: centralized
nations:
  JPN: {release: {tracks: [], plots: []}}
sensors:
  - {id: R1, nation: JPN, type: radar, lat_deg: 36.0, lon_deg: 138.0, alt_m: 100,
     scan_period_s: 5, max_range_m: 450000, sigma_range_m: 50, sigma_az_deg: 0.1,
     sigma_el_deg: 0.1, pd: 0.9, false_alarms_per_scan: 10}
targets:
  - {generate: aircraft, count: 1, identity: neutral, transponder_fraction: 0.0,
     lat_deg: [35.0, 37.0], lon_deg: [137.0, 139.0], alt_m: [3000, 9000], speed_mps: [150, 250]}
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(SCENARIO)
    return path


def test_track_writes_a_picture(tmp_path: Path, scenario: Path) -> None:
    rng = np.random.default_rng(4)
    s = radar("R1", false_alarms=10.0)
    pos0, vel0 = aircraft(rng, 5)
    plots = scan_plots(rng, s, pos0, vel0, 120.0)
    plots["sensor_id"][::50] = "GHOST"  # unknown sensor: counted, not fatal
    write_table(tmp_path / "plots.parquet", plots, PLOTS_SCHEMA)
    code = main(["track", str(tmp_path / "plots.parquet"), "--scenario", str(scenario),
                 "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 0
    picture = read_table(tmp_path / "out" / "picture.parquet", PICTURE_SCHEMA)
    assert set(picture["viewer"]) == {"ALL"}
    assert set(np.unique(picture["time_s"])) <= set(np.arange(10.0, 121.0, 10.0))
    last = picture["time_s"] == picture["time_s"].max()
    assert 4 <= int(last.sum()) <= 6
    assert all(s == ["R1"] for s in picture["sources"])


def test_empty_plots_file_gives_an_empty_picture(tmp_path: Path, scenario: Path) -> None:
    empty = {f.name: np.empty(0, dtype=object if f.name in ("sensor_id", "nation", "ident",
             "target_id") else float) for f in PLOTS_SCHEMA}  # fmt: skip
    write_table(tmp_path / "plots.parquet", empty, PLOTS_SCHEMA)
    code = main(["track", str(tmp_path / "plots.parquet"), "--scenario", str(scenario),
                 "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 0
    picture = read_table(tmp_path / "out" / "picture.parquet", PICTURE_SCHEMA)
    assert len(picture["time_s"]) == 0


def test_missing_plots_file_is_an_input_error(tmp_path: Path, scenario: Path) -> None:
    code = main(["track", str(tmp_path / "nope.parquet"), "--scenario", str(scenario),
                 "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 2

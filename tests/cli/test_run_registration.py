"""`airpicture run` writes registration.parquet and its report section, and
`--no-registration` turns registration and gridlock off (issue 16)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from airpicture.cli import main
from airpicture.metrics.registration import read_registration
from tests.study.scenario_file import write_scenario

pytestmark = pytest.mark.slow


def _biased(path: Path) -> Path:
    write_scenario(path, duration_s=120.0, seed=5)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for sensor in data["sensors"]:
        if sensor["id"] == "JPN-R1":
            sensor["bias"] = {"range_m": 300.0, "az_deg": 0.3}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_a_run_writes_its_registration_and_can_go_without(tmp_path: Path) -> None:
    scenario = _biased(tmp_path / "biased.yaml")
    on, off = tmp_path / "on", tmp_path / "off"
    assert main(["run", str(scenario), "--out", str(on)]) == 0
    assert main(["run", str(scenario), "--out", str(off), "--no-registration"]) == 0
    rows = read_registration(on / "registration.parquet")
    jpn_r1 = (rows["sensor_id"] == "JPN-R1") & (rows["quantity"] == "az_deg")
    assert jpn_r1.any()
    # JPN's last azimuth estimate of its own radar is near the declared 0.3°, within 3σ.
    own = jpn_r1 & (rows["viewer"] == "JPN")
    last = np.flatnonzero(own)[-1]
    assert abs(rows["estimate"][last] - 0.3) < max(3 * rows["sigma"][last], 0.05)
    assert "Sensor registration" in (on / "report.html").read_text(encoding="utf-8")
    assert len(read_registration(off / "registration.parquet")["time_s"]) == 0
    assert "registration off" in (off / "report.html").read_text(encoding="utf-8")

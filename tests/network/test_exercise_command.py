"""`airpicture exercise`: a whole live exercise on one machine, then `airpicture evaluate`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from airpicture.tables import PICTURE_SCHEMA, read_table

from .netscen import NATIONS, network_scenario


def test_the_exercise_leaves_what_a_run_leaves_and_how_to_connect(tmp_path: Path) -> None:
    data = network_scenario().scenario.model_dump(mode="json", exclude_none=True)
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(yaml.safe_dump(data))
    out = tmp_path / "ex"
    command = [sys.executable, "-m", "airpicture", "exercise", str(scenario), "--out", str(out)]
    done = subprocess.run(
        [*command, "--speed", "10", "--duration-s", "30", "--no-spare"],  # nobody dies
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for nation in NATIONS:
        assert f"account {nation.lower()} / " in done.stdout
    for name in ("truth.parquet", "plots.parquet", "run.json", "warnings.jsonl"):
        assert (out / name).is_file()
    picture = read_table(out / "picture.parquet", PICTURE_SCHEMA)
    assert set(picture["viewer"].tolist()) == set(NATIONS)
    assert sorted(set(picture["time_s"].tolist())) == [5.0, 10.0, 15.0, 20.0, 25.0, 30.0]
    network = json.loads((out / "network.json").read_text())
    assert set(network["nodes"]) == set(NATIONS)
    assert all(n["restarts"] == 0 for n in network["nodes"].values())
    info = json.loads((out / "exercise.json").read_text())
    assert info["nats"]["servers"][0].startswith("tls://")
    for nation in NATIONS:
        access = info["nations"][nation]
        assert access["web"].startswith("http://127.0.0.1:")
        assert Path(access["node_seed"]).is_file() and Path(access["client_cert"]).is_file()
    roles = {(p["role"], p["nation"]) for p in info["processes"]}
    assert {("node", n) for n in NATIONS} <= roles and ("feed", "all") in roles
    assert all(p["pid"] for p in info["processes"] if p["role"] == "node")
    evaluated = subprocess.run(
        [sys.executable, "-m", "airpicture", "evaluate", str(out), "--no-report"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert evaluated.returncode == 0, evaluated.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["viewers"]) == set(NATIONS)

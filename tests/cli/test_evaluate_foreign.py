"""`airpicture evaluate DIR --scenario`: a Stone Soup tracker's picture, judged without run.json."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml
from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
from stonesoup.deleter.time import UpdateTimeDeleter
from stonesoup.hypothesiser.distance import DistanceHypothesiser
from stonesoup.initiator.simple import MultiMeasurementInitiator
from stonesoup.measures import Mahalanobis
from stonesoup.models.measurement.linear import LinearGaussian
from stonesoup.models.transition.linear import (
    CombinedLinearGaussianTransitionModel,
    ConstantVelocity,
)
from stonesoup.predictor.kalman import KalmanPredictor
from stonesoup.tracker.simple import MultiTargetTracker
from stonesoup.types.array import CovarianceMatrix, StateVector
from stonesoup.types.detection import Detection
from stonesoup.types.state import GaussianState
from stonesoup.updater.kalman import KalmanUpdater

from airpicture.cli import main
from airpicture.geo import aer_to_enu, ecef_to_geodetic, enu_basis, enu_to_ecef, geodetic_to_ecef
from airpicture.tables import PLOTS_SCHEMA, read_table
from tests.network.netscen import SENSORS, TARGETS

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
RADAR = next(s for s in SENSORS if s["id"] == "USA-R1")
INTERVAL_S = 5.0


def _scenario(path: Path) -> Path:
    data = {
        "name": "foreign-picture-test",
        "epoch": "2026-01-01T00:00:00Z",
        "duration_s": 150,
        "seed": 5,
        "picture_interval_s": INTERVAL_S,
        "nations": {"USA": {"release": {"tracks": [], "plots": []}}},
        "sensors": [RADAR],
        "targets": TARGETS,
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def stonesoup_picture(plots_path: Path) -> dict[str, list[Any]]:
    """Stone Soup's GNN tracker on the radar's reports (as ENU points); its tracks every 5 s."""
    plots = read_table(plots_path, PLOTS_SCHEMA)
    origin = geodetic_to_ecef(RADAR["lat_deg"], RADAR["lon_deg"], RADAR["alt_m"])
    basis = enu_basis(RADAR["lat_deg"], RADAR["lon_deg"])
    enu = aer_to_enu(plots["az_deg"], plots["el_deg"], plots["range_m"]).reshape(-1, 3)
    model = LinearGaussian(ndim_state=6, mapping=(0, 2, 4), noise_covar=np.diag([400.0**2] * 3))
    transition = CombinedLinearGaussianTransitionModel([ConstantVelocity(1.0)] * 3)
    predictor, updater = KalmanPredictor(transition), KalmanUpdater(model)
    hypothesiser = DistanceHypothesiser(predictor, updater, Mahalanobis(), missed_distance=5.0)
    prior = GaussianState(StateVector(np.zeros(6)), CovarianceMatrix(np.diag([0, 300.0**2] * 3)))
    initiator = MultiMeasurementInitiator(
        prior_state=prior,
        measurement_model=model,
        deleter=UpdateTimeDeleter(timedelta(seconds=12)),
        data_associator=GNNWith2DAssignment(hypothesiser),
        updater=updater,
        min_points=2,
    )
    scan = np.floor(np.asarray(plots["time_s"]) / float(RADAR["scan_period_s"])).astype(int)
    scans = []
    for k in np.unique(scan):
        rows = np.flatnonzero(scan == k)
        when = EPOCH + timedelta(seconds=float((k + 1) * RADAR["scan_period_s"]))
        scans.append(
            (
                when,
                {
                    Detection(StateVector(enu[i]), timestamp=when, measurement_model=model)
                    for i in rows
                },
            )
        )
    tracker = MultiTargetTracker(
        initiator=initiator,
        deleter=UpdateTimeDeleter(timedelta(seconds=16)),
        detector=scans,
        data_associator=GNNWith2DAssignment(hypothesiser),
        updater=updater,
    )
    rows_out: dict[str, list[Any]] = {c: [] for c in PICTURE_COLUMNS}
    for when, tracks in tracker:
        now_s = (when - EPOCH).total_seconds()
        if now_s % INTERVAL_S:
            continue
        for track in tracks:
            sv = np.asarray(track.state_vector, dtype=float).ravel()
            lat, lon, alt = ecef_to_geodetic(enu_to_ecef(sv[[0, 2, 4]], origin, basis))
            # The radar's ENU axes, within a fraction of a degree of the track's own here.
            values = (now_s, "USA", f"SS-{str(track.id)[:8]}", float(lat), float(lon),
                      float(alt), sv[1], sv[3], sv[5], "aircraft", "unknown", "USA-R1")  # fmt: skip
            for column, value in zip(PICTURE_COLUMNS, values, strict=True):
                rows_out[column].append(value)
    return rows_out


PICTURE_COLUMNS = ("time_s", "viewer", "track_id", "lat_deg", "lon_deg", "alt_m", "vel_e_mps",
                   "vel_n_mps", "vel_u_mps", "cls", "identity", "sources")  # fmt: skip


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("foreign")
    scenario = _scenario(root / "foreign.yaml")
    made = root / "sim"
    assert main(["simulate", str(scenario), "--out", str(made)]) == 0
    picture = stonesoup_picture(made / "plots.parquet")
    assert len(set(picture["track_id"])) >= 3
    truth = pq.read_table(made / "truth.parquet")
    for kind in ("parquet", "csv"):
        folder = root / kind
        folder.mkdir()
        # another tool's truth: the contract's columns only (no detectable_by, no identity)
        pq.write_table(truth.drop_columns(["detectable_by", "identity"]), folder / "truth.parquet")
        table = pa.table(picture)
        if kind == "parquet":
            sources = pa.array([[s] for s in picture["sources"]], pa.list_(pa.string()))
            pq.write_table(table.set_column(11, "sources", sources), folder / "picture.parquet")
        else:
            pacsv.write_csv(table, folder / "picture.csv")
    return scenario, root


def test_a_stonesoup_picture_is_scored_without_run_json(foreign: tuple[Path, Path]) -> None:
    scenario, root = foreign
    assert not (root / "parquet" / "run.json").exists()
    assert main(["evaluate", str(root / "parquet"), "--scenario", str(scenario)]) == 0
    metrics = json.loads((root / "parquet" / "metrics.json").read_text(encoding="utf-8"))
    usa = metrics["viewers"]["USA"]
    assert metrics["run"]["fusion"] == "distributed" and metrics["run"]["nations"] == ["USA"]
    assert usa["sensors"] == ["USA-R1"]
    # the radar sees all four aircraft part of the time; Stone Soup holds most of it
    assert usa["eligible"]["n_targets"] >= 3
    assert 0.6 <= usa["siap"]["completeness"] <= 1.0
    assert usa["siap"]["position_accuracy_m"] < 2_000.0
    assert any("no detectable_by column" in n for n in metrics["notes"])
    assert (root / "parquet" / "report.html").is_file()


def test_eligibility_from_the_scenario_is_the_simulators(foreign: tuple[Path, Path]) -> None:
    scenario, root = foreign
    own = root / "own"
    own.mkdir()
    for name in ("truth.parquet", "picture.parquet"):
        src = root / "sim" / name if name == "truth.parquet" else root / "parquet" / name
        own.joinpath(name).write_bytes(src.read_bytes())
    assert main(["evaluate", str(own), "--scenario", str(scenario), "--no-report"]) == 0
    assert main(["evaluate", str(root / "parquet"), "--scenario", str(scenario)]) == 0
    with_column = json.loads((own / "metrics.json").read_text(encoding="utf-8"))
    computed = json.loads((root / "parquet" / "metrics.json").read_text(encoding="utf-8"))
    assert with_column["viewers"]["USA"]["eligible"] == computed["viewers"]["USA"]["eligible"]


def test_a_csv_picture_scores_the_same_as_parquet(foreign: tuple[Path, Path]) -> None:
    scenario, root = foreign
    for kind in ("parquet", "csv"):
        assert main(["evaluate", str(root / kind), "--scenario", str(scenario), "--no-report"]) == 0
    a = json.loads((root / "parquet" / "metrics.json").read_text(encoding="utf-8"))
    b = json.loads((root / "csv" / "metrics.json").read_text(encoding="utf-8"))
    assert a["viewers"] == b["viewers"]


def test_a_folder_without_run_json_asks_for_the_scenario(
    foreign: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    scenario, root = foreign
    assert main(["evaluate", str(root / "csv")]) == 2
    assert "--scenario SCENARIO" in capsys.readouterr().err
    empty = root / "empty"
    empty.mkdir(exist_ok=True)
    (empty / "truth.parquet").write_bytes((root / "csv" / "truth.parquet").read_bytes())
    assert main(["evaluate", str(empty), "--scenario", str(scenario)]) == 2
    assert "no picture.parquet or picture.csv" in capsys.readouterr().err
    assert main(["evaluate", str(scenario), "--scenario", str(scenario)]) == 2
    assert "is a file" in capsys.readouterr().err

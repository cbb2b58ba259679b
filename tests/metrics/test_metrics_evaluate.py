"""The run folder, the command, metrics.json and report.html: errors and honest empty results."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airpicture import atlas
from airpicture.cli import evaluate as evaluate_command
from airpicture.errors import InputError
from airpicture.geo import land
from airpicture.metrics import evaluate_run
from airpicture.metrics.synthetic import SyntheticSpec, synthetic_run
from airpicture.tables import TableError
from tests.metrics.metrics_helpers import Case, P, follow, steady


def small_run(tmp_path: Path) -> Path:
    return synthetic_run(SyntheticSpec(n_targets=12, n_steps=15), np.random.default_rng(5)).write(
        tmp_path / "run"
    )


def test_evaluate_run_writes_both_files(tmp_path: Path) -> None:
    run_dir = small_run(tmp_path)
    metrics = evaluate_run(run_dir)
    on_disk = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    assert on_disk == metrics
    assert on_disk["schema"] == "airpicture.metrics/1"
    assert on_disk["parameters"]["gospa"] == {"c_m": 10_000.0, "p": 1.0, "alpha": 2.0}
    assert set(on_disk["viewers"]) == {"USA", "JPN", "AUS"}
    report = (run_dir / "report.html").read_text(encoding="utf-8")
    assert report.count("data:image/png;base64,") >= 4
    for title in ("Maps", "GOSPA over time", "SIAP measures", "Commonality", "first held"):
        assert title in report
    assert "http://" not in report and "https://" not in report  # self-contained


def test_empty_picture_is_an_honest_result(tmp_path: Path) -> None:
    run_dir = Case(truth=steady("A", 0.0, range(5)), picture=[]).write(tmp_path / "run")
    metrics = evaluate_run(run_dir)
    for viewer in ("USA", "JPN"):
        v = metrics["viewers"][viewer]
        assert v["n_tracks"] == 0
        assert v["siap"]["completeness"] == 0.0
        assert v["gospa"]["mean"]["missed"] == pytest.approx(5_000.0)
    assert any("no tracks" in note for note in metrics["notes"])


def test_empty_truth_is_an_honest_result(tmp_path: Path) -> None:
    run_dir = Case(truth=[], picture=follow("USA", "N1", 0.0, range(3))).write(tmp_path / "run")
    metrics = evaluate_run(run_dir)
    usa = metrics["viewers"]["USA"]
    assert usa["siap"]["completeness"] is None
    assert usa["siap"]["spuriousness"] == 1.0
    assert usa["gospa"]["mean"]["false"] == pytest.approx(5_000.0)


def test_times_off_the_grid_are_refused(tmp_path: Path) -> None:
    case = Case(truth=steady("A", 0.0, range(5)), picture=[P(0.5, "USA", "N1", 0.0)])
    with pytest.raises(InputError, match="off the snapshot grid"):
        evaluate_run(case.write(tmp_path / "run"))


def test_unknown_viewer_is_refused(tmp_path: Path) -> None:
    case = Case(truth=steady("A", 0.0, range(5)), picture=follow("KOR", "N1", 0.0, range(5)))
    with pytest.raises(InputError, match="KOR"):
        evaluate_run(case.write(tmp_path / "run"))


def test_missing_files_and_columns(tmp_path: Path) -> None:
    run_dir = Case(truth=steady("A", 0.0, range(3)), picture=[]).write(tmp_path / "run")
    (run_dir / "picture.parquet").unlink()
    with pytest.raises(InputError, match=r"no picture\.parquet or picture\.csv"):
        evaluate_run(run_dir)

    run_dir = Case(truth=steady("A", 0.0, range(3)), picture=[]).write(tmp_path / "run2")
    table = pq.read_table(run_dir / "truth.parquet").drop_columns(["detectable_by"])
    pq.write_table(table, run_dir / "truth.parquet")
    with pytest.raises(TableError, match="detectable_by"):
        evaluate_run(run_dir)

    run_dir = Case(truth=steady("A", 0.0, range(3)), picture=[]).write(tmp_path / "run3")
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    del info["picture_interval_s"]
    (run_dir / "run.json").write_text(json.dumps(info), encoding="utf-8")
    with pytest.raises(InputError, match="picture_interval_s"):
        evaluate_run(run_dir)

    with pytest.raises(InputError, match="no such folder"):
        evaluate_run(tmp_path / "nowhere")


def test_non_finite_rows_are_left_out_and_noted(tmp_path: Path) -> None:
    run_dir = Case(
        truth=steady("A", 0.0, range(3)), picture=follow("USA", "N1", 0.0, range(3))
    ).write(tmp_path / "run")
    table = pq.read_table(run_dir / "picture.parquet")
    alt = pa.array([np.nan, 1.0, 1.0])
    table = table.set_column(table.schema.get_field_index("alt_m"), "alt_m", alt)
    pq.write_table(table, run_dir / "picture.parquet")
    metrics = evaluate_run(run_dir)
    assert metrics["viewers"]["USA"]["n_track_rows"] == 2
    assert any("1 rows with a missing or non-finite" in note for note in metrics["notes"])


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    evaluate_command.register(parser.add_subparsers())
    return parser.parse_args(["evaluate", *argv])


def test_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = small_run(tmp_path)
    args = parse([str(run_dir), "--gospa-c", "5000", "--gospa-p", "2", "--no-report"])
    assert args.func(args) == 0
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["parameters"]["gospa"]["c_m"] == 5000.0
    assert metrics["parameters"]["gospa"]["p"] == 2.0
    assert not (run_dir / "report.html").exists()
    assert "completeness" in capsys.readouterr().out


def test_command_refuses_bad_options(tmp_path: Path) -> None:
    args = parse([str(tmp_path), "--gospa-p", "0.5"])
    with pytest.raises(InputError, match="order p"):
        args.func(args)


def test_main_exits_2_on_bad_input(tmp_path: Path) -> None:
    try:
        from airpicture.cli import main

        code = main(["evaluate", str(tmp_path / "nowhere")])
    except ImportError as exc:  # another sub-command is still being written
        pytest.skip(f"the airpicture command is incomplete: {exc}")
    assert code == 2


def test_land_decoder_on_a_hand_made_topology() -> None:
    topology = {
        "type": "Topology",
        "transform": {"scale": [0.5, 0.25], "translate": [-10.0, 20.0]},
        "arcs": [[[0, 0], [2, 0], [0, 4]], [[2, 4], [-2, 0], [0, -4]]],
        "objects": {
            "land": {
                "type": "GeometryCollection",
                "geometries": [
                    {"type": "Polygon", "arcs": [[0, 1]]},
                    {"type": "MultiPolygon", "arcs": [[[~1, ~0]]]},
                ],
            }
        },
    }
    rings = land.topology_rings(topology, "land")
    # arc 0: (0,0) (2,0) (2,4); arc 1: (2,4) (0,4) (0,0), in quantized units
    expected = np.array([[-10.0, 20.0], [-9.0, 20.0], [-9.0, 21.0], [-10.0, 21.0], [-10.0, 20.0]])
    np.testing.assert_allclose(rings[0], expected)
    np.testing.assert_allclose(rings[1], expected[::-1])


def test_installed_land_outlines_are_found() -> None:
    try:
        rings = atlas.land_rings("110m")
    except InputError as exc:
        pytest.skip(str(exc))
    lon = np.concatenate([r[:, 0] for r in rings])
    lat = np.concatenate([r[:, 1] for r in rings])
    assert len(rings) > 100
    assert lon.min() >= -180.0 and lon.max() <= 180.0 and lat.min() >= -90.0


def test_missing_land_data_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(atlas.NODE_MODULES_ENV, str(tmp_path))
    with pytest.raises(InputError, match="make setup"):
        atlas.world_atlas_dir()


def test_snapshots_after_the_truth_horizon_are_not_judged(tmp_path: Path) -> None:
    """A recording that ends before the run: the last snapshot's tracks are not spurious."""
    case = Case(
        truth=steady("A", 0.0, range(4)),
        picture=follow("USA", "N1", 0.0, range(5)) + follow("JPN", "N1", 0.0, range(5)),
        duration_s=4.0,
    )
    run_dir = case.write(tmp_path / "run")
    info = json.loads((run_dir / "run.json").read_text())
    json.dump({**info, "truth_until_s": 3.5}, (run_dir / "run.json").open("w"))
    metrics = evaluate_run(run_dir, write_report=False)
    assert metrics["viewers"]["USA"]["siap"]["spuriousness"] == 0.0
    assert any("after 3.5 s are not judged" in note for note in metrics["notes"])
    # Without the horizon the track at 4 s has no truth: one spurious snapshot in five.
    json.dump(info, (run_dir / "run.json").open("w"))
    assert evaluate_run(run_dir, write_report=False)["viewers"]["USA"]["siap"][
        "spuriousness"
    ] == pytest.approx(0.2)

"""SIAP measures and the association on hand-built pictures with known answers."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.metrics import EvaluationSettings, evaluate, load_run, to_json
from airpicture.metrics.synthetic import SyntheticSpec, synthetic_run
from tests.metrics.metrics_helpers import Case, P, T, follow, steady

STEPS = range(10)


def metrics_of(case: Case, tmp_path: Path) -> dict[str, Any]:
    return to_json(evaluate(load_run(case.write(tmp_path / "run")), EvaluationSettings()))


def test_one_good_track_and_a_viewer_with_no_tracks(tmp_path: Path) -> None:
    case = Case(truth=steady("A", 0.0, STEPS), picture=follow("USA", "N1", 100.0, STEPS))
    m = metrics_of(case, tmp_path)
    usa = m["viewers"]["USA"]
    siap = usa["siap"]
    assert siap["completeness"] == 1.0
    assert siap["ambiguity"] == 1.0
    assert siap["spuriousness"] == 0.0
    assert siap["position_accuracy_m"] == pytest.approx(100.0, abs=1e-6)
    assert siap["velocity_accuracy_mps"] == pytest.approx(0.0, abs=1e-9)
    assert siap["track_number_change_rate_per_s"] == 0.0
    assert siap["longest_track_segment"] == 1.0
    assert siap["id_correctness"] == 1.0
    assert usa["associations"] == [
        {"track_id": "N1", "target_id": "A", "start_s": 0.0, "end_s": 9.0}
    ]
    assert usa["gospa"]["per_snapshot"]["distance_m"] == pytest.approx([100.0] * 10, abs=1e-6)

    jpn = m["viewers"]["JPN"]  # eligible for A, holds nothing
    assert jpn["n_tracks"] == 0
    assert jpn["siap"]["completeness"] == 0.0
    assert jpn["siap"]["spuriousness"] is None  # no tracks: undefined, not 0
    assert jpn["siap"]["position_accuracy_m"] is None
    assert jpn["siap"]["longest_track_segment"] == 0.0
    assert jpn["gospa"]["per_snapshot"]["missed"] == pytest.approx([5_000.0] * 10)
    assert jpn["gospa"]["mean"]["distance_m"] == pytest.approx(5_000.0)
    assert jpn["associations"] == []


def test_two_tracks_on_one_truth(tmp_path: Path) -> None:
    case = Case(
        truth=steady("A", 0.0, STEPS),
        picture=follow("USA", "N1", 100.0, STEPS) + follow("USA", "N2", -200.0, STEPS),
    )
    m = metrics_of(case, tmp_path)["viewers"]["USA"]
    assert m["siap"]["ambiguity"] == 2.0
    assert m["siap"]["completeness"] == 1.0
    assert m["siap"]["spuriousness"] == 0.0
    assert m["siap"]["position_accuracy_m"] == pytest.approx(150.0, abs=1e-6)
    # GOSPA pairs one track (100 m) and counts the other as false (c/2 = 5 km)
    assert m["gospa"]["mean"]["localisation"] == pytest.approx(100.0, abs=1e-6)
    assert m["gospa"]["mean"]["false"] == pytest.approx(5_000.0)


def test_a_track_switching_truths(tmp_path: Path) -> None:
    steps = range(20)
    case = Case(
        truth=steady("A", 0.0, steps) + steady("B", 50_000.0, steps),
        picture=follow("USA", "N1", 100.0, range(10))
        + follow("USA", "N1", 50_100.0, range(10, 20)),
    )
    m = metrics_of(case, tmp_path)["viewers"]["USA"]
    assert m["associations"] == [
        {"track_id": "N1", "target_id": "A", "start_s": 0.0, "end_s": 9.0},
        {"track_id": "N1", "target_id": "B", "start_s": 10.0, "end_s": 19.0},
    ]
    assert m["siap"]["completeness"] == 0.5
    assert m["siap"]["spuriousness"] == 0.0
    assert m["siap"]["longest_track_segment"] == pytest.approx(18.0 / 38.0)
    assert m["siap"]["track_number_change_rate_per_s"] == 0.0


def test_a_truth_renumbered_mid_life(tmp_path: Path) -> None:
    steps = range(20)
    case = Case(
        truth=steady("A", 0.0, steps),
        picture=follow("USA", "N1", 100.0, range(10)) + follow("USA", "N2", 100.0, range(10, 20)),
    )
    m = metrics_of(case, tmp_path)["viewers"]["USA"]
    # NU = 2 tracks over TT = 9 + 9 s held (the gap 9→10 s is held by neither)
    assert m["siap"]["track_number_change_rate_per_s"] == pytest.approx(1.0 / 18.0)
    assert m["siap"]["longest_track_segment"] == pytest.approx(9.0 / 19.0)
    assert m["siap"]["completeness"] == 1.0


def test_a_truth_leaving_coverage(tmp_path: Path) -> None:
    steps = range(20)
    truth = [T(float(k), "A", 0.0, detectable_by=("USA-R1",) if k < 10 else ()) for k in steps]
    case = Case(truth=truth, picture=follow("USA", "N1", 100.0, steps))
    m = metrics_of(case, tmp_path)
    usa = m["viewers"]["USA"]
    assert usa["eligible"]["spans_s"] == {"A": [[0.0, 9.0]]}
    assert usa["eligible"]["n_truth_rows"] == 10
    assert usa["siap"]["counts"]["J"] == 10
    assert usa["siap"]["completeness"] == 1.0
    assert usa["siap"]["spuriousness"] == 0.0  # still on a real object
    assert usa["siap"]["longest_track_segment"] == 1.0  # judged over the eligible span
    # GOSPA counts against eligible truths: the coasting track is false once A is not eligible
    false = usa["gospa"]["per_snapshot"]["false"]
    assert false == pytest.approx([0.0] * 10 + [5_000.0] * 10)
    assert m["viewers"]["JPN"]["eligible"]["n_truth_rows"] == 0
    assert m["viewers"]["JPN"]["siap"]["completeness"] is None  # nothing to be complete about


def test_identity_measures(tmp_path: Path) -> None:
    steps = range(5)
    truth = (
        steady("A", 0.0, steps, identity="hostile")
        + steady("B", 100_000.0, steps, identity="friend")
        + steady("C", 200_000.0, steps, identity="neutral")
        + steady("D", 300_000.0, steps, identity="hostile")
    )
    picture = (
        follow("USA", "N1", 0.0, steps, identity="hostile")  # correct
        + follow("USA", "N2", 100_000.0, steps, identity="unknown")  # unidentified
        + follow("USA", "N3", 200_000.0, steps, identity="hostile")  # incorrect
        + follow("USA", "N4", 300_000.0, steps, identity="hostile")  # with N5: ambiguous
        + follow("USA", "N5", 300_050.0, steps, identity="")
    )
    m = metrics_of(Case(truth=truth, picture=picture), tmp_path)["viewers"]["USA"]["siap"]
    assert m["counts"]["JT"] == 20
    assert m["counts"]["JU"] == 5
    assert m["counts"]["JC"] == 5
    assert m["counts"]["JI"] == 5
    assert m["id_completeness"] == pytest.approx(0.75)
    assert m["id_correctness"] == pytest.approx(0.25)
    assert m["id_ambiguity"] == pytest.approx(0.25)


def test_hysteresis_confirms_after_three_and_ends_after_two_misses(tmp_path: Path) -> None:
    steps = range(12)
    far = 60_000.0  # beyond the 10 km threshold
    track = [P(float(k), "USA", "N1", far if k in (5, 6) else 100.0) for k in steps] + [
        P(12.0, "USA", "N1", 100.0)
    ]
    case = Case(truth=steady("A", 0.0, range(13)), picture=track)
    m = metrics_of(case, tmp_path)["viewers"]["USA"]
    # held 0–4, two misses end it at its last hit (4), re-confirmed over 7, 8, 9
    assert m["associations"] == [
        {"track_id": "N1", "target_id": "A", "start_s": 0.0, "end_s": 4.0},
        {"track_id": "N1", "target_id": "A", "start_s": 7.0, "end_s": 12.0},
    ]
    # Stone Soup merges the two pieces: the longest "segment" is their sum, 4 + 5 s
    assert m["siap"]["counts"]["sum_TL_s"] == pytest.approx(9.0)


@settings(max_examples=8, deadline=None, derandomize=True)
@given(st.integers(min_value=0, max_value=10_000))
def test_a_perfect_picture_scores_perfectly(seed: int) -> None:
    """Property (seeded random runs): tracks exactly on every eligible truth, nothing else."""
    spec = SyntheticSpec(
        n_targets=15,
        n_steps=12,
        sensor_range_m=5_000_000.0,
        position_sigma_m=0.0,
        velocity_sigma_mps=0.0,
        p_held=1.0,
        false_tracks_per_step=0.0,
    )
    run = synthetic_run(spec, np.random.default_rng(seed))
    with tempfile.TemporaryDirectory() as folder:
        ev = evaluate(load_run(run.write(Path(folder) / "run")), EvaluationSettings())
    for viewer in ev.viewers.values():
        s = viewer.siap.summary
        assert s["completeness"] == 1.0
        assert s["ambiguity"] == 1.0
        assert s["spuriousness"] == 0.0
        assert s["longest_track_segment"] == 1.0
        assert s["track_number_change_rate_per_s"] == 0.0
        assert s["id_correctness"] == 1.0
        assert s["position_accuracy_m"] == pytest.approx(0.0, abs=1e-6)
        np.testing.assert_allclose(viewer.gospa.distance_m, 0.0, atol=1e-6)

"""Commonality between nations on a hand-built three-nation picture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from airpicture.metrics import EvaluationSettings, evaluate, load_run, to_json
from airpicture.metrics.synthetic import SyntheticSpec, synthetic_run
from tests.metrics.metrics_helpers import Case, follow, steady

STEPS = range(10)
ALL3 = ("USA-R1", "JPN-R1", "AUS-R1")


def three_nations() -> Case:
    truth = (
        steady("A", 0.0, STEPS, detectable_by=ALL3)
        + steady("B", 100_000.0, STEPS, detectable_by=("USA-R1", "JPN-R1"))
        + steady("C", 200_000.0, STEPS, detectable_by=("USA-R1", "JPN-R1"))
        + steady("D", 300_000.0, STEPS, detectable_by=("USA-R1", "AUS-R1"))
    )
    picture = (
        # A: one number everywhere, within 300 m of each other → common
        follow("USA", "N1", 100.0, STEPS)
        + follow("JPN", "N1", -100.0, STEPS)
        + follow("AUS", "N1", 200.0, STEPS)
        # B: USA and JPN hold it under different numbers
        + follow("USA", "N2", 100_100.0, STEPS)
        + follow("JPN", "N9", 100_100.0, STEPS)
        # C: same number, but 7 km apart (> 5 km)
        + follow("USA", "N3", 203_500.0, STEPS)
        + follow("JPN", "N3", 196_500.0, STEPS)
        # D: only USA holds it
        + follow("USA", "N4", 300_000.0, STEPS)
    )
    return Case(truth=truth, picture=picture, nations=("USA", "JPN", "AUS"))


def test_pairs_and_overall(tmp_path: Path) -> None:
    m = to_json(evaluate(load_run(three_nations().write(tmp_path / "run")), EvaluationSettings()))
    c = m["commonality"]
    assert c["applicable"] is True
    pairs = {(p["nation_a"], p["nation_b"]): p for p in c["pairs"]}
    usa_jpn = pairs[("USA", "JPN")]
    assert (usa_jpn["eligible"], usa_jpn["common"]) == (30, 10)
    assert (usa_jpn["different_numbers"], usa_jpn["too_far_apart"], usa_jpn["not_held"]) == (
        10,
        10,
        0,
    )
    assert usa_jpn["value"] == pytest.approx(1 / 3)
    usa_aus = pairs[("USA", "AUS")]
    assert (usa_aus["eligible"], usa_aus["common"], usa_aus["not_held"]) == (20, 10, 10)
    assert pairs[("JPN", "AUS")]["value"] == 1.0
    assert c["overall"] == {"value": 0.25, "eligible": 40, "common": 10}
    assert c["matrix"][0][0] is None
    assert c["matrix"][0][1] == c["matrix"][1][0] == pytest.approx(1 / 3)
    # every nation first held A at 0 s
    a = next(t for t in m["targets"] if t["target_id"] == "A")
    assert a["first_held_s"] == {"USA": 0.0, "JPN": 0.0, "AUS": 0.0}
    d = next(t for t in m["targets"] if t["target_id"] == "D")
    assert d["first_held_s"]["AUS"] is None
    assert d["first_eligible_s"]["AUS"] == 0.0


def test_distance_is_a_parameter(tmp_path: Path) -> None:
    from airpicture.metrics import CommonalitySettings

    run = load_run(three_nations().write(tmp_path / "run"))
    loose = evaluate(run, EvaluationSettings(commonality=CommonalitySettings(8_000.0)))
    assert loose.commonality is not None
    usa_jpn = next(p for p in loose.commonality.pairs if p.nation_b == "JPN")
    assert usa_jpn.common == 20  # C's 7 km now counts


def test_centralized_run_has_no_commonality(tmp_path: Path) -> None:
    run = synthetic_run(
        SyntheticSpec(n_targets=8, n_steps=12, centralized=True), np.random.default_rng(3)
    )
    m = to_json(evaluate(load_run(run.write(tmp_path / "run")), EvaluationSettings()))
    assert m["run"]["viewers"] == ["ALL"]
    assert m["commonality"]["applicable"] is False
    assert "centralized" in m["commonality"]["note"]


def test_identical_pictures_are_fully_common(tmp_path: Path) -> None:
    """Property on a seeded random run: a nation compared with a copy of itself scores 1."""
    spec = SyntheticSpec(
        n_targets=30, n_steps=20, nations=("USA", "JPN"), false_tracks_per_step=0.0
    )
    run = synthetic_run(spec, np.random.default_rng(11))
    usa = run.picture["viewer"] == "USA"
    picture = {k: v[usa] for k, v in run.picture.items()}
    copy = {k: v.copy() for k, v in picture.items()}
    copy["viewer"] = np.array(["JPN"] * usa.sum(), dtype=object)
    both = {k: np.concatenate([picture[k], copy[k]]) for k in picture}
    run.viewers["JPN"] = run.viewers["USA"]  # JPN receives exactly what USA does
    out = type(run)(run.truth, both, run.nations, run.sensors, run.viewers, spec)
    ev = evaluate(load_run(out.write(tmp_path / "run")), EvaluationSettings())
    assert ev.commonality is not None
    assert ev.commonality.pairs[0].eligible > 0
    assert ev.commonality.pairs[0].value == pytest.approx(
        ev.viewers["USA"].siap.summary["completeness"]
    )

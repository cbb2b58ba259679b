"""Our GOSPA, association and SIAP against Stone Soup 1.9.1 on the same inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from stonesoup.measures import Euclidean
from stonesoup.metricgenerator.ospametric import GOSPAMetric
from stonesoup.types.state import State

from airpicture.metrics import (
    AssociationSettings,
    EvaluationSettings,
    GospaSettings,
    associate_over_time,
    evaluate,
    gospa,
    load_run,
)
from tests.metrics.metrics_helpers import Case, P, T
from tests.metrics.stonesoup_bridge import stonesoup_siap, tracks_from, truths_from, when

RELATIVE = 1e-6


def _stonesoup_gospa(
    tracks: np.ndarray, truths: np.ndarray, c: float, p: float
) -> dict[str, float]:
    metric = GOSPAMetric(c=c, p=p, measure=Euclidean(mapping=(0, 1, 2)))
    stamp = when(0.0)
    result, _ = metric.compute_gospa_metric(
        [State(x.reshape(-1, 1), timestamp=stamp) for x in tracks],
        [State(y.reshape(-1, 1), timestamp=stamp) for y in truths],
    )
    return {k: float(v) for k, v in result.value.items()}


@pytest.mark.parametrize(
    ("c_m", "p", "box_m", "n_tracks", "n_truths"),
    [
        (10_000.0, 1.0, 30_000.0, 25, 20),  # dense: big clusters through linear_sum_assignment
        (10_000.0, 2.0, 30_000.0, 20, 25),
        (5_000.0, 1.5, 400_000.0, 40, 40),  # sparse: mostly single pairs and lone points
        (10_000.0, 1.0, 20_000.0, 0, 7),  # no tracks: all missed
        (10_000.0, 3.0, 20_000.0, 6, 0),  # no truths: all false
    ],
)
def test_gospa_agrees_with_stonesoup(
    c_m: float, p: float, box_m: float, n_tracks: int, n_truths: int
) -> None:
    rng = np.random.default_rng(20260101)
    offset_m = np.array([6.0e6, 1.0e6, 2.0e6])  # somewhere near the Earth's surface, in ECEF
    for _ in range(5):
        truths = rng.uniform(-box_m, box_m, size=(n_truths, 3)) + offset_m
        tracks = rng.uniform(-box_m, box_m, size=(n_tracks, 3)) + offset_m
        ours = gospa(tracks, truths, GospaSettings(c_m=c_m, p=p))
        theirs = _stonesoup_gospa(tracks, truths, c_m, p)
        for key, mine in (
            ("distance", ours.distance_m[0]),
            ("localisation", ours.localisation[0]),
            ("missed", ours.missed[0]),
            ("false", ours.false[0]),
        ):
            assert mine == pytest.approx(theirs[key], rel=RELATIVE, abs=1e-9), key


def _tricky_case(seed: int) -> Case:
    """Moving truths; noisy tracks with misses near the threshold, a drop and renumbering,
    a swap between two tracks, two tracks on one truth, a false track, mixed identities."""
    rng = np.random.default_rng(seed)
    n_steps = 40
    truth: list[T] = []
    picture: list[P] = []
    starts = [
        (0.0, 0.0),
        (3_000.0, 500.0),
        (60_000.0, 0.0),
        (0.0, 80_000.0),
        (-50_000.0, -50_000.0),
    ]
    speeds = [(150.0, 0.0), (150.0, 10.0), (-200.0, 30.0), (0.0, -250.0), (100.0, 100.0)]
    identities = ["hostile", "friend", "neutral", "hostile", "friend"]
    for j, ((e0, n0), (ve, vn)) in enumerate(zip(starts, speeds, strict=True)):
        first, last = (0, n_steps - 1) if j != 4 else (8, 30)
        for k in range(first, last + 1):
            truth.append(
                T(
                    float(k),
                    f"TGT{j}",
                    e0 + ve * k,
                    n0 + vn * k,
                    10_000.0,
                    ("USA-R1",),
                    identities[j],
                    (ve, vn, 0.0),
                )
            )

    def position(j: int, k: int) -> tuple[float, float]:
        return starts[j][0] + speeds[j][0] * k, starts[j][1] + speeds[j][1] * k

    sigma = 700.0
    plan = [  # (track id, [(step range, target)], identity)
        ("N1", [(range(0, 20), 0), (range(20, 40), 1)], "hostile"),  # swaps at 20
        ("N2", [(range(0, 20), 1), (range(20, 40), 0)], "unknown"),
        ("N3", [(range(2, 18), 2)], "neutral"),
        ("N4", [(range(21, 40), 2)], "hostile"),  # the renumbered track of TGT2
        ("N5", [(range(0, 40), 3)], "hostile"),
        ("N6", [(range(5, 25), 3)], "friend"),  # a second track on TGT3
        ("N7", [(range(9, 30), 4)], "unknown"),
    ]
    for track_id, pieces, identity in plan:
        for steps, j in pieces:
            for k in steps:
                e, n = position(j, k)
                de, dn, du = rng.normal(0.0, sigma, size=3)
                picture.append(
                    P(
                        float(k),
                        "USA",
                        track_id,
                        e + de,
                        n + dn,
                        10_000.0 + du,
                        identity,
                        (speeds[j][0] + rng.normal(0, 5), speeds[j][1] + rng.normal(0, 5), 0.0),
                    )
                )
    for k in range(10, 16):  # a false track far from everything
        picture.append(P(float(k), "USA", "F1", 500_000.0, 0.0, 10_000.0, "unknown"))
    return Case(truth=truth, picture=picture, nations=("USA",), duration_s=n_steps - 1.0)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6, 7, 8])
@pytest.mark.parametrize(
    "settings",
    [AssociationSettings(2_000.0, 3, 2), AssociationSettings(1_500.0, 2, 3)],
    ids=["2km-3-2", "1.5km-2-3"],
)
def test_association_and_siap_agree_with_stonesoup(
    tmp_path: Path, seed: int, settings: AssociationSettings
) -> None:
    run = load_run(_tricky_case(seed).write(tmp_path / "run"))
    truth, tracks = run.truth, run.pictures["USA"]
    ss_truths = truths_from(truth, run.times_s)
    ss_tracks = tracks_from(tracks, run.times_s)
    expected, association_set = stonesoup_siap(ss_truths, ss_tracks, settings)

    ours = associate_over_time(
        tracks.step,
        tracks.track,
        tracks.position_ecef_m,
        truth.step,
        truth.target,
        truth.position_ecef_m,
        run.times_s.size,
        settings,
    )
    track_of = {id(t): k for k, t in ss_tracks.items()}
    truth_of = {id(t): j for j, t in ss_truths.items()}
    theirs = set()
    for association in association_set.associations:
        a, b = association.objects
        if id(a) in truth_of:
            a, b = b, a
        span = association.time_range
        pieces = getattr(span, "time_ranges", [span])  # one track's pieces on one truth are merged
        for piece in pieces:
            theirs.add((track_of[id(a)], truth_of[id(b)], piece.start, piece.end))
    mine = {
        (int(t), int(j), when(run.times_s[s]), when(run.times_s[e]))
        for t, j, s, e in zip(ours.track, ours.truth, ours.start_step, ours.end_step, strict=True)
    }
    assert mine == theirs

    evaluation = evaluate(run, EvaluationSettings(association=settings))
    summary = evaluation.viewers["USA"].siap.summary
    for key, value in expected.items():
        assert summary[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key

"""GOSPA: hand-computed cases, a brute-force property check, and the settings."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.metrics import GospaSettings, gospa, gospa_series
from airpicture.metrics.assignment import cutoff_assignment

ORIGIN_M = np.array([-3.9e6, 3.3e6, 3.7e6])  # an ECEF point near the Earth's surface


def points(*east_m: tuple[float, float]) -> np.ndarray:
    """Points given as (x, y) metre offsets from ORIGIN_M (z offset 0)."""
    return ORIGIN_M + np.array([[x, y, 0.0] for x, y in east_m]).reshape(-1, 3)


def test_parts_of_a_hand_case() -> None:
    truths = points((0.0, 0.0), (100_000.0, 0.0))
    tracks = points((0.0, 300.0), (50_000.0, 0.0))  # one 300 m off, one 50 km from anything
    g = gospa(tracks, truths, GospaSettings(c_m=10_000.0, p=1.0))
    # localisation = 300; missed = false = c/2 = 5000 each; GOSPA = 10300
    assert g.localisation[0] == pytest.approx(300.0)
    assert g.missed[0] == pytest.approx(5_000.0)
    assert g.false[0] == pytest.approx(5_000.0)
    assert g.distance_m[0] == pytest.approx(10_300.0)
    assert (g.n_assigned[0], g.n_missed[0], g.n_false[0]) == (1, 1, 1)


@pytest.mark.parametrize(("p", "expected_m"), [(1.0, 1_100.0), (2.0, np.sqrt(600.0**2 + 500.0**2))])
def test_cluster_takes_the_optimal_not_the_greedy_assignment(p: float, expected_m: float) -> None:
    # Greedy nearest-first pairs 600↔1000 (400 m) and then 1500↔0 (1500 m); optimal is 600 + 500.
    truths = points((0.0, 0.0), (1_000.0, 0.0))
    tracks = points((600.0, 0.0), (1_500.0, 0.0))
    g = gospa(tracks, truths, GospaSettings(c_m=10_000.0, p=p))
    assert g.distance_m[0] == pytest.approx(expected_m)
    assert g.n_assigned[0] == 2


def test_a_pair_exactly_at_the_cutoff_is_missed_and_false() -> None:
    g = gospa(points((10_000.0, 0.0)), points((0.0, 0.0)), GospaSettings(c_m=10_000.0, p=1.0))
    assert (g.n_assigned[0], g.n_missed[0], g.n_false[0]) == (0, 1, 1)
    assert g.distance_m[0] == pytest.approx(10_000.0)


def test_empty_sets() -> None:
    s = GospaSettings(c_m=10_000.0, p=2.0)
    assert gospa(np.empty((0, 3)), np.empty((0, 3)), s).distance_m[0] == 0.0
    none = gospa(np.empty((0, 3)), points((0.0, 0.0), (1.0, 0.0)), s)
    assert none.missed[0] == pytest.approx(2 * 10_000.0**2 / 2)
    assert none.distance_m[0] == pytest.approx(10_000.0)


def test_series_is_per_snapshot() -> None:
    truths = points((0.0, 0.0), (0.0, 0.0))
    tracks = points((100.0, 0.0))
    g = gospa_series(
        np.array([1]), tracks, np.array([0, 1]), truths, 3, GospaSettings(c_m=1_000.0, p=1.0)
    )
    np.testing.assert_allclose(g.distance_m, [500.0, 100.0, 0.0])
    np.testing.assert_array_equal(g.n_missed, [1, 0, 0])


@pytest.mark.parametrize(("c_m", "p"), [(0.0, 1.0), (-5.0, 1.0), (100.0, 0.5), (100.0, np.inf)])
def test_bad_settings_are_refused(c_m: float, p: float) -> None:
    with pytest.raises(ValueError, match="GOSPA"):
        GospaSettings(c_m=c_m, p=p)


def brute_force_gospa_p(tracks: np.ndarray, truths: np.ndarray, c: float, p: float) -> float:
    """min over every partial one-to-one matching of Σ min(d, c)^p + c^p/2 · unmatched."""
    best = np.inf
    n, m = len(tracks), len(truths)
    for choice in itertools.product(range(-1, m), repeat=n):
        used = [j for j in choice if j >= 0]
        if len(used) != len(set(used)):
            continue
        cost = 0.0
        for i, j in enumerate(choice):
            if j >= 0:
                cost += min(float(np.linalg.norm(tracks[i] - truths[j])), c) ** p
        cost += c**p / 2 * ((n - len(used)) + (m - len(used)))
        best = min(best, cost)
    return best


coordinate = st.integers(min_value=-20, max_value=20).map(lambda k: k * 500.0)
point_sets = st.lists(st.tuples(coordinate, coordinate), min_size=0, max_size=4)


@settings(max_examples=120, deadline=None, derandomize=True)
@given(point_sets, point_sets, st.sampled_from([1.0, 2.0, 3.0]))
def test_gospa_equals_brute_force(
    track_xy: list[tuple[float, float]], truth_xy: list[tuple[float, float]], p: float
) -> None:
    tracks, truths = points(*track_xy), points(*truth_xy)
    c = 4_000.0
    g = gospa(tracks, truths, GospaSettings(c_m=c, p=p))
    expected = brute_force_gospa_p(tracks, truths, c, p)
    total = g.localisation[0] + g.missed[0] + g.false[0]
    assert total == pytest.approx(expected, rel=1e-9, abs=1e-6)
    assert g.distance_m[0] == pytest.approx(expected ** (1 / p), rel=1e-9, abs=1e-6)
    assert g.n_assigned[0] + g.n_missed[0] == len(truth_xy)
    assert g.n_assigned[0] + g.n_false[0] == len(track_xy)


def test_clusters_match_one_global_assignment() -> None:
    """Splitting into components gives the optimum of one big assignment (seeded random)."""
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(7)
    c, p = 3_000.0, 2.0
    tracks = ORIGIN_M + rng.uniform(-20_000.0, 20_000.0, size=(60, 3))
    truths = ORIGIN_M + rng.uniform(-20_000.0, 20_000.0, size=(50, 3))
    pairs = cutoff_assignment(tracks, truths, c, p)
    distance = np.linalg.norm(tracks[:, None] - truths[None], axis=-1)
    cost = np.minimum(distance, c) ** p
    rows, cols = linear_sum_assignment(cost)
    global_total = cost[rows, cols].sum() + c**p / 2 * (len(tracks) + len(truths) - 2 * len(rows))
    ours_total = np.sum(pairs.distance_m**p) + c**p / 2 * (
        len(tracks) + len(truths) - 2 * pairs.size
    )
    assert ours_total == pytest.approx(global_total, rel=1e-12)
    assert len(set(pairs.a_index.tolist())) == pairs.size == len(set(pairs.b_index.tolist()))

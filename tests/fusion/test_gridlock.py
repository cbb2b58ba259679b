"""Gridlock: a partner's offset estimated from common tracks, applied only when it is real."""

from __future__ import annotations

import numpy as np

from airpicture.fusion import SystemPicture
from airpicture.fusion.gridlock import Gridlock, GridlockSettings
from tests.fusion.test_system_picture import MODES, NATIONS, objects, sources

OFFSET = np.array([1500.0, -800.0, 300.0])  # ECEF m: a partner's grid error


def _cycles(offset: np.ndarray, n_cycles: int = 6, seed: int = 2):  # type: ignore[no-untyped-def]
    truth = objects(40, seed=5)
    truth[:, 3:] *= 0.0  # objects at rest: the cycles see the same geometry
    rng = np.random.default_rng(seed)
    grid = Gridlock()
    for cycle in range(n_cycles):
        own = sources("JPN.0", truth + rng.normal(size=truth.shape) * [50, 50, 50, 1, 1, 1],
                      local=True, t=cycle)  # fmt: skip
        theirs_x = truth + rng.normal(size=truth.shape) * [50, 50, 50, 1, 1, 1]
        theirs_x[:, :3] += offset
        theirs = sources("AUS.0", theirs_x, local=False, t=cycle)
        (moved,) = grid.correct(float(cycle), own, [theirs])
    return truth, own, theirs, moved, grid


def test_a_partners_offset_is_estimated_and_removed() -> None:
    truth, _, theirs, moved, grid = _cycles(OFFSET)
    residual = moved.x[:, :3] - truth[:, :3]
    assert np.abs(residual.mean(axis=0)).max() < 30.0  # from 1.5 km to tens of metres
    assert np.linalg.norm(theirs.x[:, :3] - truth[:, :3], axis=1).mean() > 1500.0
    assert grid.last["AUS.0"]["moved"] == 40


def test_a_partner_in_the_same_grid_is_left_as_it_is() -> None:
    _, _, theirs, moved, grid = _cycles(np.zeros(3))
    np.testing.assert_array_equal(moved.x, theirs.x)
    assert grid.last["AUS.0"]["moved"] == 0


def test_gridlock_lets_offset_tracks_associate() -> None:
    truth = objects(40, seed=5)
    rng = np.random.default_rng(4)
    grid = Gridlock()
    fused_counts = []
    for on in (False, True):
        picture = SystemPicture("JPN", NATIONS, MODES)
        for cycle in range(6):
            own = sources("JPN.0", truth + rng.normal(size=truth.shape) * [30, 30, 30, 1, 1, 1],
                          local=True, t=cycle, sigma_m=100.0)  # fmt: skip
            x = truth + rng.normal(size=truth.shape) * [30, 30, 30, 1, 1, 1]
            x[:, :3] += OFFSET
            theirs = sources("AUS.0", x, local=False, t=cycle, sigma_m=100.0)
            received = grid.correct(float(cycle), own, [theirs]) if on else [theirs]
            fused = picture.update(float(cycle), type(own).concat([own, *received], len(MODES)))
        fused_counts.append(len(fused))
    assert fused_counts[0] > 40  # without gridlock: dual tracks
    assert fused_counts[1] == 40


def test_ambiguous_and_far_pairs_are_not_used() -> None:
    truth = objects(2, seed=1)
    truth[1, :3] = truth[0, :3] + [1000.0, 0.0, 0.0]  # two own tracks 1 km apart
    own = sources("JPN.0", truth, local=True)
    partner = truth[:1].copy()
    partner[0, :3] += [400.0, 0.0, 0.0]  # nearest is 400 m, the other 600 m: ambiguous
    grid = Gridlock(GridlockSettings(min_pairs=1.0))
    grid.correct(0.0, own, [sources("AUS.0", partner, local=False)])
    assert "AUS.0" not in grid._pairs or grid._pairs["AUS.0"].key.size == 0

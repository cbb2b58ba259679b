"""The compiled flight to the ground equals the NumPy loop it replaced (seeded states)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from airpicture.geo import ecef_to_geodetic, geodetic_to_ecef
from airpicture.threat.impact import ImpactSettings, fly_to_ground
from airpicture.tracking.motion import ballistic_propagate

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
Flight = tuple[FloatArray, FloatArray, BoolArray, list[FloatArray], list[FloatArray]]
SETTINGS = ImpactSettings()


def fly_to_ground_reference(
    x: FloatArray, beta_kg_m2: FloatArray, settings: ImpactSettings, record: BoolArray | None
) -> Flight:
    """The loop over time steps that `fly_to_ground` was before its kernel: every state
    that still flies takes a step together, with PROJ's height and `ballistic_propagate`."""
    m = x.shape[0]
    state = x.copy()
    t = np.zeros(m)
    impact = np.full((m, 3), np.nan)
    t_hit = np.full(m, np.nan)
    flying = np.asarray(np.isfinite(state).all(axis=1), dtype=np.bool_)
    _, _, alt = ecef_to_geodetic(state[:, :3], refine=False)
    under = flying & (alt <= 0.0)
    impact[under], t_hit[under] = state[under, :3], 0.0
    flying &= ~under
    rec_idx = np.flatnonzero(record) if record is not None else np.empty(0, np.intp)
    path = [state[rec_idx, :3].copy()]
    path_t = [t[rec_idx].copy()]
    while flying.any():
        idx = np.flatnonzero(flying)
        s = state[idx]
        up = np.einsum("ij,ij->i", s[:, :3], s[:, 3:]) / np.linalg.norm(s[:, :3], axis=1)
        descent = np.maximum(-up, 1e-3)
        dt = np.where(
            up < 0.0,
            np.clip(alt[idx] / (2.0 * descent), settings.min_step_s, settings.max_step_s),
            settings.max_step_s,
        )
        new = ballistic_propagate(s, dt, beta_kg_m2[idx], settings.max_step_s, alt[idx])
        _, _, alt_new = ecef_to_geodetic(new[:, :3], refine=False)
        bad = ~np.isfinite(new).all(axis=1) | ~np.isfinite(alt_new)
        hit = ~bad & (alt_new <= 0.0)
        if hit.any():
            h0, h1 = alt[idx[hit]], alt_new[hit]
            frac = np.clip(h0 / np.maximum(h0 - h1, 1e-9), 0.0, 1.0)
            impact[idx[hit]] = s[hit, :3] + frac[:, None] * (new[hit, :3] - s[hit, :3])
            t_hit[idx[hit]] = t[idx[hit]] + frac * dt[hit]
        state[idx], alt[idx], t[idx] = new, alt_new, t[idx] + dt
        flying[idx[hit | bad]] = False
        flying &= t < settings.max_flight_s
        if rec_idx.size:
            path.append(np.where(flying[rec_idx, None], state[rec_idx, :3], np.nan))
            path_t.append(t[rec_idx].copy())
    return impact, t_hit, np.isfinite(t_hit), path, path_t


def random_states(rng: np.random.Generator, n: int) -> tuple[FloatArray, FloatArray]:
    """Re-entry-like states: 20–900 km up, climbing or descending at up to 7 km/s, β 500–20,000."""
    lat = rng.uniform(-85.0, 85.0, n)
    lon = rng.uniform(-180.0, 180.0, n)
    alt = rng.uniform(20e3, 900e3, n)
    pos = geodetic_to_ecef(lat, lon, alt)
    up = pos / np.linalg.norm(pos, axis=1, keepdims=True)
    horizontal = rng.normal(0.0, 1.0, (n, 3))
    horizontal -= np.einsum("ij,ij->i", horizontal, up)[:, None] * up
    horizontal /= np.linalg.norm(horizontal, axis=1, keepdims=True)
    speed = rng.uniform(300.0, 7000.0, n)
    climb = rng.uniform(-0.9, 0.6, n)  # sine of the flight-path angle
    vel = speed[:, None] * (climb[:, None] * up + np.sqrt(1.0 - climb**2)[:, None] * horizontal)
    beta = np.exp(rng.uniform(np.log(500.0), np.log(20_000.0), n))
    return np.hstack([pos, vel]), beta


def odd_states() -> tuple[FloatArray, FloatArray]:
    """Under the ground, on it, not finite, and too fast to come down (β of each)."""
    ground = geodetic_to_ecef(35.0, 140.0, 0.0)
    under = geodetic_to_ecef(-20.0, 10.0, -500.0)
    high = geodetic_to_ecef(10.0, -60.0, 300e3)
    escaping = np.concatenate([high, 12_000.0 * high / np.linalg.norm(high)])
    x = np.array(
        [
            np.concatenate([under, [0.0, 0.0, -100.0]]),
            np.concatenate([ground, [0.0, 0.0, 0.0]]),
            np.concatenate([high, [np.nan, 0.0, 0.0]]),
            np.concatenate([[np.inf, 0.0, 0.0], [0.0, 0.0, 0.0]]),
            escaping,
        ]
    )
    return x, np.full(x.shape[0], 4000.0)


def assert_same_flight(got: Flight, ref: Flight) -> None:
    impact, t_hit, landed, path, path_t = got
    impact_ref, t_ref, landed_ref, path_ref, path_t_ref = ref
    np.testing.assert_array_equal(landed, landed_ref)
    # Equal to the rounding of PROJ's height (a few units in the last place of 10⁷ m).
    np.testing.assert_allclose(impact, impact_ref, rtol=0.0, atol=1e-6)
    np.testing.assert_allclose(t_hit, t_ref, rtol=0.0, atol=1e-9)
    assert len(path) == len(path_ref) and len(path_t) == len(path_t_ref)
    np.testing.assert_allclose(np.stack(path), np.stack(path_ref), rtol=0.0, atol=1e-6)
    np.testing.assert_allclose(np.stack(path_t), np.stack(path_t_ref), rtol=0.0, atol=1e-9)


@pytest.mark.parametrize(
    "impact_settings",
    [SETTINGS, ImpactSettings(max_step_s=4.0, min_step_s=0.1, max_flight_s=300.0)],
    ids=["default", "short-steps-and-flights"],
)
def test_kernel_flies_like_the_numpy_loop(impact_settings: ImpactSettings) -> None:
    rng = np.random.default_rng(20)
    x, beta = random_states(rng, 300)
    x_odd, beta_odd = odd_states()
    x, beta = np.vstack([x, x_odd]), np.concatenate([beta, beta_odd])
    record = rng.random(x.shape[0]) < 0.1
    record[-x_odd.shape[0] :] = True
    got = fly_to_ground(x, beta, impact_settings, record)
    ref = fly_to_ground_reference(x, beta, impact_settings, record)
    assert_same_flight(got, ref)
    # The sample covers what it claims: under and on the ground land now; not
    # finite and escaping never land.
    landed, t_hit = got[2], got[1]
    assert landed[:300].any()
    assert list(landed[-5:]) == [True, True, False, False, False]
    np.testing.assert_array_equal(t_hit[-5:-3], 0.0)


def test_without_recording_the_path_is_its_start_only() -> None:
    x, beta = random_states(np.random.default_rng(21), 20)
    for record in (None, np.zeros(20, bool)):
        got = fly_to_ground(x, beta, SETTINGS, record)
        ref = fly_to_ground_reference(x, beta, SETTINGS, record)
        assert_same_flight(got, ref)
        assert [p.shape for p in got[3]] == [(0, 3)] and [p.shape for p in got[4]] == [(0,)]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    lat_deg=st.floats(-89.9, 89.9),
    lon_deg=st.floats(-180.0, 180.0),
    alt_m=st.floats(-1e3, 2e6),
    vel_mps=st.tuples(*[st.floats(-8e3, 8e3)] * 3),
    beta_kg_m2=st.floats(100.0, 5e4),
)
def test_any_single_state_flies_like_the_numpy_loop(
    lat_deg: float,
    lon_deg: float,
    alt_m: float,
    vel_mps: tuple[float, float, float],
    beta_kg_m2: float,
) -> None:
    x = np.concatenate([geodetic_to_ecef(lat_deg, lon_deg, alt_m), vel_mps])[None]
    beta = np.array([beta_kg_m2])
    record = np.array([True])
    assert_same_flight(
        fly_to_ground(x, beta, SETTINGS, record),
        fly_to_ground_reference(x, beta, SETTINGS, record),
    )

"""The trajectory fit estimates β where the air is thick enough: a depressed shot's impact."""

from __future__ import annotations

import math

import numpy as np
import pytest

from airpicture.geo import geodesic_distance_m, geodetic_to_ecef
from airpicture.scenario import BallisticTarget
from airpicture.sim.ballistic import BallisticFlight, solve_ballistic
from airpicture.threat.fit import (
    FitSettings,
    LineOfSight,
    drag_lag_m,
    fit_ballistic,
)
from airpicture.threat.impact import predict_impact

#: A depressed shot (52 km apogee) with a re-entry vehicle far from the prior's 4,000 kg/m².
DEPRESSED = BallisticTarget.model_validate(
    {"id": "D", "kind": "ballistic_missile", "launch": {"lat_deg": 40.0, "lon_deg": 128.5},
     "impact": {"lat_deg": 39.0, "lon_deg": 134.0}, "apogee_m": 52000, "burnout_s": 60,
     "ballistic_coefficient_kg_m2": 2500.0}
)  # fmt: skip


@pytest.fixture(scope="module")
def flight() -> BallisticFlight:
    return solve_ballistic(DEPRESSED)


def _fit_at(flight: BallisticFlight, time_to_go_s: float):  # type: ignore[no-untyped-def]
    """Noiseless positions every 5 s over the 120 s before `time_to_go_s` (after burnout),
    fitted from a state 500 m and 20 m/s off; the fit and the time it refers to."""
    t_ref = flight.impact_time_s - time_to_go_s
    t = np.arange(t_ref - 120.0, t_ref + 0.1, 5.0)
    t = t[t > DEPRESSED.burnout_s + 10.0]
    pos = np.stack([np.interp(t, flight.times_s, flight.pos_m[:, i]) for i in range(3)], axis=1)
    vel = np.array([np.interp(t_ref, flight.times_s, flight.vel_mps[:, i]) for i in range(3)])
    cov = np.broadcast_to(np.eye(3) * 100.0**2, (t.size, 3, 3)).copy()
    x0 = np.r_[pos[-1], vel] + np.r_[500.0, 0.0, 0.0, 20.0, 0.0, 0.0]
    return fit_ballistic(t, pos, cov, float(t[-1]), x0), float(t[-1])


def _miss_m(flight: BallisticFlight, lat: float, lon: float) -> float:
    return float(geodesic_distance_m(lat, lon, flight.impact_lat_deg, flight.impact_lon_deg))


def test_the_fit_finds_beta_in_air(flight: BallisticFlight) -> None:
    fit, _ = _fit_at(flight, 120.0)
    assert fit.ok
    assert fit.beta_kg_m2 == pytest.approx(2500.0, rel=0.1)
    # Observed: the posterior σ of ln β is far below the prior's 0.5.
    assert math.sqrt(fit.P_with_log_beta[6, 6]) < 0.15


def test_a_depressed_shot_is_predicted_within_a_km_two_minutes_before_impact(
    flight: BallisticFlight,
) -> None:
    fit, t_ref = _fit_at(flight, 120.0)
    x, P = fit.state_at(0.0)
    pred = predict_impact(x[None], P[None], t_ref)
    assert pred.valid[0]
    assert _miss_m(flight, pred.lat_deg[0], pred.lon_deg[0]) < 1_000.0
    # The prior's β instead (the 6-state prediction) misses by kilometres.
    with_prior = predict_impact(fit.x[None], fit.P[None], t_ref)
    assert _miss_m(flight, with_prior.lat_deg[0], with_prior.lon_deg[0]) > 5_000.0


def test_state_at_flies_the_fit_with_its_own_beta(flight: BallisticFlight) -> None:
    fit, t_ref = _fit_at(flight, 180.0)
    x, P = fit.state_at(30.0)
    truth = np.array(
        [np.interp(t_ref + 30.0, flight.times_s, flight.pos_m[:, i]) for i in range(3)]
    )
    # 180 s before impact the air is still thin: β is half-known (observed 2,900 against
    # 2,500 kg/m², σ_ln 0.31), the prior holds it with the weight it has in the covariance,
    # and the state 30 s on is a few hundred metres off, well inside its own covariance.
    d = x[:3] - truth
    assert np.linalg.norm(d) < 1_000.0
    assert d @ np.linalg.solve(P[:3, :3], d) < 11.3  # χ²₃(0.99)
    assert x[6] == fit.log_beta
    assert np.allclose(P, P.T) and np.all(np.linalg.eigvalsh(P) > 0.0)


#: A geostationary sensor south-east of the launch, as in bench/threat.py.
SATELLITE = geodetic_to_ecef(0.0, 140.0, 35_786_000.0)


def _short_arc(flight: BallisticFlight, seed: int, sigma_m: float = 1_500.0):  # type: ignore[no-untyped-def]
    """Positions every 5 s from 100 to 140 s after launch, σ = `sigma_m` each (a coarse radar's
    first 40 s), and the state 10 km and 100 m/s off as the start."""
    rng = np.random.default_rng(seed)
    t = np.arange(100.0, 140.1, 5.0)
    truth = np.stack([np.interp(t, flight.times_s, flight.pos_m[:, i]) for i in range(3)], axis=1)
    pos = truth + rng.normal(0.0, sigma_m, truth.shape)
    cov = np.broadcast_to(np.eye(3) * sigma_m**2, (t.size, 3, 3)).copy()
    vel = np.array([np.interp(t[-1], flight.times_s, flight.vel_mps[:, i]) for i in range(3)])
    x0 = np.r_[pos[-1], vel + np.r_[0.0, 0.0, 100.0]]
    return t, pos, cov, x0, np.r_[truth[-1], vel]


def _ray_at(flight: BallisticFlight, time_s: float, offset_m: float = 0.0) -> LineOfSight:
    """The ray to the missile at `time_s`, or to a point `offset_m` across its flight."""
    p = np.array([np.interp(time_s, flight.times_s, flight.pos_m[:, i]) for i in range(3)])
    v = np.array([np.interp(time_s, flight.times_s, flight.vel_mps[:, i]) for i in range(3)])
    across = np.cross(p - SATELLITE, v)
    p = p + offset_m * across / np.linalg.norm(across)
    u = (p - SATELLITE) / np.linalg.norm(p - SATELLITE)
    return LineOfSight(time_s, SATELLITE, u)


def test_the_burnout_line_of_sight_steadies_a_short_coarse_arc(flight: BallisticFlight) -> None:
    # The last space-IR ray 3 s before burnout (thrust still on): only its component across
    # the velocity is used. Over 10 seeded noise draws it cuts the impact miss and σ.
    los = _ray_at(flight, DEPRESSED.burnout_s - 3.0)
    err_without, err_with = [], []
    for seed in range(10):
        t, pos, cov, x0, _ = _short_arc(flight, seed)
        without = fit_ballistic(t, pos, cov, float(t[-1]), x0)
        with_los = fit_ballistic(t, pos, cov, float(t[-1]), x0, los=los)
        assert with_los.ok and with_los.used_los and not without.used_los
        for fit, errors in ((without, err_without), (with_los, err_with)):
            x, P = fit.state_at(0.0)
            pred = predict_impact(x[None], P[None], float(t[-1]))
            errors.append(_miss_m(flight, pred.lat_deg[0], pred.lon_deg[0]))
        # One direction (across the ray and the velocity, here mostly up) is pinned down.
        assert np.linalg.det(with_los.P[3:, 3:]) < 0.3 * np.linalg.det(without.P[3:, 3:])
    rms_without = float(np.sqrt(np.mean(np.square(err_without))))
    rms_with = float(np.sqrt(np.mean(np.square(err_with))))
    # Observed: RMS impact miss 17.5 → 12.1 km (the arc ends ~140 s before impact).
    assert rms_with < 0.8 * rms_without


def test_a_line_of_sight_the_positions_contradict_is_not_used(flight: BallisticFlight) -> None:
    # A ray to another launch 15 km across this one's flight, against a precise arc: rejected
    # by the gate. (A salvo sibling 5 s behind is mostly *along* the flight, which the fit
    # ignores: its ray costs a few kilometres across at most.)
    t, pos, cov, x0, _ = _short_arc(flight, 0, sigma_m=100.0)
    fit = fit_ballistic(t, pos, cov, float(t[-1]), x0, los=_ray_at(flight, 57.0, 15_000.0))
    assert fit.ok and not fit.used_los


def test_the_correlation_factor_deflates_the_positions_information(
    flight: BallisticFlight,
) -> None:
    t, pos, cov, x0, _ = _short_arc(flight, 0)
    base = fit_ballistic(t, pos, cov, float(t[-1]), x0)
    # Each position counting 1/10 instead of 1/2.5: four times the variance (β barely
    # observed here, so its prior, which is not deflated, hardly matters).
    slow = fit_ballistic(t, pos, cov, float(t[-1]), x0, FitSettings(correlation_factor=10.0))
    ratio = np.trace(slow.P[:3, :3]) / np.trace(base.P[:3, :3])
    assert ratio == pytest.approx(4.0, rel=0.05)


@pytest.mark.parametrize(
    ("alt_m", "expected_m"),
    [
        # τ_lag² ρ₀ e^(−h/H) v² / (2 β₀) at 3 km/s: hundreds of metres low in a re-entry …
        (21_000.0, 4.0 * 1.225 * math.exp(-21_000.0 / 7_200.0) * 3000.0**2 / 8000.0),
        # … nothing where a lofted or salvo shot spends its flight.
        (100_000.0, 0.0),
    ],
)
def test_dense_air_adds_the_filters_lag_to_a_position(alt_m: float, expected_m: float) -> None:
    east = np.array([0.0, 1.0, 0.0])
    base = geodetic_to_ecef(0.0, 0.0, alt_m)
    times = np.array([0.0, 1.0, 2.0])
    pos = base + np.outer(times * 3000.0, east)
    lag = drag_lag_m(times, pos, FitSettings())
    assert lag == pytest.approx(np.full(3, expected_m), abs=1.0, rel=0.01)

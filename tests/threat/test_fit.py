"""The trajectory fit estimates β where the air is thick enough: a depressed shot's impact."""

from __future__ import annotations

import math

import numpy as np
import pytest

from airpicture.geo import geodesic_distance_m
from airpicture.scenario import BallisticTarget
from airpicture.sim.ballistic import BallisticFlight, solve_ballistic
from airpicture.threat.fit import fit_ballistic
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
    assert np.linalg.norm(x[:3] - truth) < 200.0
    assert x[6] == fit.log_beta
    assert np.allclose(P, P.T) and np.all(np.linalg.eigvalsh(P) > 0.0)

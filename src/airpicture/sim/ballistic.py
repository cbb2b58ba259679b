"""Ballistic missiles: boost, free flight on the rotating Earth, re-entry through the air.

Equations of motion in the Earth-fixed (ECEF) frame, state (r, v):
    dr/dt = v
    dv/dt = g(r) − 2 ω × v − ω × (ω × r) + a_thrust + a_drag
with g the Earth's gravity field and ω its rotation (both `airpicture.geo.gravity`), and
    a_drag = −ρ(h) |v| v / (2 β),   ρ(h) = ρ0 exp(−h / H)
(the atmosphere turns with the Earth, so ECEF velocity is air-relative).

Boost: thrust acceleration a0 / (1 − f t / t_bo) (constant thrust, mass falling
by the propellant fraction f), vertical for the first seconds, then pitched over
exponentially toward the burnout pitch θ_bo at a fixed launch azimuth A.

The scenario gives launch, impact and apogee, not (a0, θ_bo, A): a shooting
method solves for them. Gauss-Newton on the residuals (north and east impact
miss in units of 5 km, apogee miss in units of 5 %), with a finite-difference
Jacobian whose four trajectories are integrated as one batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from airpicture.geo import (
    ecef_to_geodetic,
    ecef_vector_to_enu,
    enu_basis,
    enu_vector_to_ecef,
    geodesic_bearing_deg,
    geodesic_distance_m,
    geodetic_to_ecef,
)
from airpicture.geo.constants import AIR_DENSITY_SCALE_HEIGHT_M, SEA_LEVEL_AIR_DENSITY_KG_M3
from airpicture.geo.gravity import rotating_frame_acceleration_mps2
from airpicture.scenario import BallisticTarget
from airpicture.scenario.model import keplerian_burnout_speed_mps

FloatArray = NDArray[np.float64]

PROPELLANT_FRACTION: Final = 0.8
BOOST_BALLISTIC_COEFFICIENT_KG_M2: Final = 20000.0
VERTICAL_RISE_S: Final = 8.0
#: Exponential pitch-over rate over the burn after the vertical rise.
PITCH_OVER_RATE: Final = 4.0
#: Integration steps: fine in boost and in the air, coarse in the vacuum of mid-course.
FINE_STEP_S: Final = 0.5
COARSE_STEP_S: Final = 2.0
FINE_BELOW_ALT_M: Final = 120_000.0
MAX_FLIGHT_S: Final = 4 * 3600.0
#: Acceptance of the solved trajectory (the scenario format's promise).
IMPACT_TOLERANCE_M: Final = 5000.0
APOGEE_TOLERANCE: Final = 0.05


class BallisticSolveError(ValueError):
    """No boost found that flies the requested launch, impact and apogee."""

    def __init__(self, target_id: str, impact_miss_m: float, apogee_miss: float) -> None:
        self.target_id = target_id
        self.impact_miss_m = impact_miss_m
        self.apogee_miss = apogee_miss
        super().__init__(
            f"cannot fly {target_id}: best trajectory misses the impact point by "
            f"{impact_miss_m / 1000:.1f} km and the apogee by {apogee_miss:.1%}; change apogee_m "
            "or burnout_s"
        )


@dataclass(frozen=True)
class BoostParameters:
    accel0_mps2: float
    burnout_pitch_deg: float
    azimuth_deg: float


@dataclass(frozen=True)
class BallisticFlight:
    """A flown trajectory: states at the integration nodes, times from launch."""

    times_s: FloatArray  # (n,)
    pos_m: FloatArray  # (n, 3)
    vel_mps: FloatArray  # (n, 3)
    impact_time_s: float
    impact_lat_deg: float
    impact_lon_deg: float
    apogee_m: float
    boost: BoostParameters


def _acceleration(
    t_s: float,
    r: FloatArray,
    v: FloatArray,
    params: FloatArray,
    burnout_s: float,
    beta_kg_m2: float,
) -> tuple[FloatArray, FloatArray]:
    """dv/dt for a batch `(B, 3)`, and the altitude of each state."""
    # Centimetres of altitude are nothing to the air density: skip the refinement.
    lat, lon, alt = ecef_to_geodetic(r, refine=False)
    # g(r) − 2 ω × v − ω × (ω × r)
    acc = rotating_frame_acceleration_mps2(r, v)
    speed = np.linalg.norm(v, axis=-1)
    # ρ(h) = ρ0 exp(−h / H)
    rho = SEA_LEVEL_AIR_DENSITY_KG_M3 * np.exp(-np.maximum(alt, 0.0) / AIR_DENSITY_SCALE_HEIGHT_M)
    if t_s < burnout_s:
        beta = BOOST_BALLISTIC_COEFFICIENT_KG_M2
        accel0, pitch_bo, azimuth = params[:, 0], params[:, 1], params[:, 2]
        thrust = accel0 / (1.0 - PROPELLANT_FRACTION * t_s / burnout_s)
        rise = min(VERTICAL_RISE_S, 0.2 * burnout_s)
        progress = max(0.0, (t_s - rise) / (burnout_s - rise))
        # θ(t) = θ_bo + (90° − θ_bo) e^(−k·progress): most of the pitch-over early, as
        # in a gravity turn, so both lofted and depressed shapes can be flown.
        pitch = np.radians(pitch_bo + (90.0 - pitch_bo) * math.exp(-PITCH_OVER_RATE * progress))
        az = np.radians(azimuth)
        direction_enu = np.stack(
            [np.cos(pitch) * np.sin(az), np.cos(pitch) * np.cos(az), np.sin(pitch)], axis=-1
        )
        acc += thrust[:, None] * enu_vector_to_ecef(direction_enu, enu_basis(lat, lon))
    else:
        beta = beta_kg_m2
    # a_drag = −ρ |v| v / (2β)
    acc -= (rho * speed / (2.0 * beta))[:, None] * v
    return acc, alt


def _integrate(
    launch_ecef: FloatArray,
    params: FloatArray,
    burnout_s: float,
    beta_kg_m2: float,
    record: bool,
) -> tuple[FloatArray, FloatArray, FloatArray, list[FloatArray], list[FloatArray], list[float]]:
    """RK4 for a batch of boost parameters `(B, 3)` until every trajectory hits the ground.

    Returns impact time (B,), impact ECEF (B, 3), apogee altitude (B,), and when
    `record`, the node states of trajectory 0.
    """
    batch = params.shape[0]
    r = np.repeat(launch_ecef[None, :], batch, axis=0)
    v = np.zeros_like(r)
    t = 0.0
    alt = np.zeros(batch)
    apogee = np.zeros(batch)
    impact_t = np.full(batch, np.nan)
    impact_r = np.full((batch, 3), np.nan)
    flying = np.ones(batch, dtype=bool)
    times: list[float] = [0.0]
    pos_rec: list[FloatArray] = [r[0].copy()]
    vel_rec: list[FloatArray] = [v[0].copy()]

    def f(ts: float, rs: FloatArray, vs: FloatArray) -> tuple[FloatArray, FloatArray]:
        acc, _ = _acceleration(ts, rs, vs, params, burnout_s, beta_kg_m2)
        return vs, acc

    while flying.any() and t < MAX_FLIGHT_S:
        fine = t < burnout_s + 5.0 or bool((alt[flying] < FINE_BELOW_ALT_M).any())
        dt = FINE_STEP_S if fine else COARSE_STEP_S
        if t < burnout_s < t + dt:
            dt = burnout_s - t  # land a node on burnout: the thrust switches off there
        k1r, k1v = f(t, r, v)
        k2r, k2v = f(t + dt / 2, r + dt / 2 * k1r, v + dt / 2 * k1v)
        k3r, k3v = f(t + dt / 2, r + dt / 2 * k2r, v + dt / 2 * k2v)
        k4r, k4v = f(t + dt, r + dt * k3r, v + dt * k3v)
        r_new = r + dt / 6 * (k1r + 2 * k2r + 2 * k3r + k4r)
        v_new = v + dt / 6 * (k1v + 2 * k2v + 2 * k3v + k4v)
        _, _, alt_new = ecef_to_geodetic(r_new, refine=False)
        hit = flying & (alt_new <= 0.0) & (t + dt > 1.0)
        if hit.any():
            # Linear interpolation of the crossing of h = 0 inside the step.
            frac = alt[hit] / (alt[hit] - alt_new[hit])
            impact_t[hit] = t + frac * dt
            impact_r[hit] = r[hit] + frac[:, None] * (r_new[hit] - r[hit])
            flying &= ~hit
        r, v, alt = r_new, v_new, alt_new
        apogee = np.maximum(apogee, np.where(flying, alt, apogee))
        t += dt
        if record:
            times.append(t)
            pos_rec.append(r[0].copy())
            vel_rec.append(v[0].copy())
    return impact_t, impact_r, apogee, pos_rec, vel_rec, times


def _initial_guess(target: BallisticTarget) -> BoostParameters:
    """Boost parameters from the vacuum Keplerian ellipse, with gravity losses added."""
    range_m = float(
        geodesic_distance_m(
            target.launch.lat_deg,
            target.launch.lon_deg,
            target.impact.lat_deg,
            target.impact.lon_deg,
        )
    )
    speed = keplerian_burnout_speed_mps(range_m, target.apogee_m)
    earth_r = 6_371_000.0
    phi = range_m / earth_r
    r_a = earth_r + target.apogee_m
    e = (r_a - earth_r) / (r_a - earth_r * math.cos(phi / 2.0))
    nu = math.pi - phi / 2.0
    # tan γ = e sin ν / (1 + e cos ν): flight path angle where the ellipse meets the ground
    gamma = math.degrees(math.atan2(e * math.sin(nu), 1.0 + e * math.cos(nu)))
    delta_v = speed + 0.6 * 9.81 * target.burnout_s
    mean_factor = -math.log(1.0 - PROPELLANT_FRACTION) / PROPELLANT_FRACTION
    accel0 = delta_v / (target.burnout_s * mean_factor)
    azimuth = float(
        geodesic_bearing_deg(
            target.launch.lat_deg,
            target.launch.lon_deg,
            target.impact.lat_deg,
            target.impact.lon_deg,
        )
    )
    return BoostParameters(accel0, min(max(gamma, 10.0), 85.0), azimuth)


def _residuals(
    target: BallisticTarget, impact_r: FloatArray, apogee: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Residuals (B, 3): impact miss north and east in units of the tolerance, apogee miss.

    Also returns the impact miss distance in metres. A trajectory that never came
    down gets a large residual.
    """
    lat, lon, _ = ecef_to_geodetic(impact_r)
    aim = geodetic_to_ecef(target.impact.lat_deg, target.impact.lon_deg, 0.0)
    basis = enu_basis(target.impact.lat_deg, target.impact.lon_deg)
    miss_enu = ecef_vector_to_enu(geodetic_to_ecef(lat, lon, 0.0) - aim, basis)
    miss_m = np.hypot(miss_enu[:, 0], miss_enu[:, 1])
    res = np.stack(
        [
            miss_enu[:, 1] / IMPACT_TOLERANCE_M,
            miss_enu[:, 0] / IMPACT_TOLERANCE_M,
            (apogee - target.apogee_m) / (APOGEE_TOLERANCE * target.apogee_m),
        ],
        axis=-1,
    )
    return np.where(np.isfinite(res), res, 1e3), np.where(np.isfinite(miss_m), miss_m, np.inf)


def solve_ballistic(target: BallisticTarget, max_iterations: int = 30) -> BallisticFlight:
    """Find the boost that flies `target`'s launch → impact with its apogee, and fly it."""
    launch = geodetic_to_ecef(target.launch.lat_deg, target.launch.lon_deg, 0.0)
    guess = _initial_guess(target)
    x = np.array([guess.accel0_mps2, guess.burnout_pitch_deg, guess.azimuth_deg])
    steps = np.array([0.005 * x[0], 0.05, 0.02])
    limits = np.array([0.2 * x[0], 8.0, 3.0])
    best: tuple[float, FloatArray, float, float] = (math.inf, x, math.inf, math.inf)
    since_best = 0
    for _ in range(max_iterations):
        batch = np.vstack([x, x + np.diag(steps)])
        _, impact_r, apogee, *_ = _integrate(
            launch, batch, target.burnout_s, target.ballistic_coefficient_kg_m2, record=False
        )
        res, miss_m = _residuals(target, impact_r, apogee)
        norm = float(np.linalg.norm(res[0]))
        apogee_miss = abs(apogee[0] / target.apogee_m - 1.0)
        since_best += 1
        if norm < best[0]:
            best = (norm, x.copy(), float(miss_m[0]), float(apogee_miss))
            since_best = 0
        if since_best >= 6:
            break  # no progress: this combination cannot be flown
        # Converged well inside the promise: 0.2 of each tolerance.
        if np.all(np.abs(res[0]) < 0.2):
            break
        jac = (res[1:] - res[0]).T / steps  # J[i, j] = ∂res_i/∂x_j
        delta = np.linalg.lstsq(jac, -res[0], rcond=None)[0]
        delta = np.clip(delta, -limits, limits)
        x = x + delta
        x[1] = float(np.clip(x[1], 0.0, 89.0))
        x[0] = max(x[0], 1.0)
    _, x, best_miss_m, best_apogee_miss = best
    if best_miss_m > IMPACT_TOLERANCE_M or best_apogee_miss > APOGEE_TOLERANCE:
        raise BallisticSolveError(target.id, best_miss_m, best_apogee_miss)
    impact_t, impact_r, apogee, pos, vel, times = _integrate(
        launch, x[None, :], target.burnout_s, target.ballistic_coefficient_kg_m2, record=True
    )
    # Replace the last (below-ground) node by the interpolated impact state.
    t_arr = np.array(times)
    keep = t_arr < impact_t[0]
    pos_arr = np.array(pos)[keep]
    vel_arr = np.array(vel)[keep]
    t_arr = t_arr[keep]
    last_v = vel_arr[-1]
    t_arr = np.append(t_arr, impact_t[0])
    pos_arr = np.vstack([pos_arr, impact_r[0]])
    vel_arr = np.vstack([vel_arr, last_v])
    lat, lon, _ = ecef_to_geodetic(impact_r[0])
    return BallisticFlight(
        times_s=t_arr,
        pos_m=pos_arr,
        vel_mps=vel_arr,
        impact_time_s=float(impact_t[0]),
        impact_lat_deg=float(lat),
        impact_lon_deg=float(lon),
        apogee_m=float(apogee[0]),
        boost=BoostParameters(float(x[0]), float(x[1]), float(x[2])),
    )

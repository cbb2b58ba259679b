"""Aircraft and cruise missiles: great-circle legs joined by coordinated turns.

All targets of a group fly together: one vectorized step moves every airborne
target along its geodesic (pyproj), turns it toward its desired heading at the
rate its bank limit allows, and climbs or descends toward the next altitude.

* A coordinated turn at bank φ and true airspeed v turns at ω = g tan φ / v.
* Fly-by waypoints: the turn onto the next leg starts at the lead distance
  d = r tan(Δψ/2) before the waypoint, r = v/ω, so the path is tangent to both legs.
* `speed_mps` is the ground speed along the path; the vertical rate is planned to
  reach the next waypoint's altitude on arrival, at most `MAX_CLIMB_MPS`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray

from airpicture.geo import (
    enu_basis,
    enu_vector_to_ecef,
    geodesic_bearing_deg,
    geodesic_distance_m,
    geodesic_forward,
    geodetic_to_ecef,
)
from airpicture.scenario import GeneratedAircraft, RouteTarget
from airpicture.sim.trajectory import TargetInfo, TrajectorySet

FloatArray = NDArray[np.float64]

G_MPS2: Final = 9.80665
MAX_CLIMB_MPS: Final = 15.0
DEFAULT_BANK_DEG: Final = {"aircraft": 25.0, "cruise_missile": 45.0}


def _wrap180(angle_deg: FloatArray) -> FloatArray:
    return (angle_deg + 180.0) % 360.0 - 180.0


def turn_rate_deg_s(speed_mps: FloatArray, bank_deg: FloatArray) -> FloatArray:
    """ω = g tan φ / v, degrees per second."""
    return np.degrees(G_MPS2 * np.tan(np.radians(bank_deg)) / speed_mps)


class _Recorder:
    """Writes ECEF position and velocity of airborne targets at each grid node."""

    def __init__(self, count: int, node_count: int) -> None:
        self.pos = np.full((count, node_count, 3), np.nan)
        self.vel = np.full((count, node_count, 3), np.nan)
        self.alive = np.zeros((count, node_count), dtype=bool)

    def record(
        self,
        node: int,
        index: NDArray[np.intp],
        lat: FloatArray,
        lon: FloatArray,
        alt: FloatArray,
        heading_deg: FloatArray,
        speed_mps: FloatArray,
        climb_mps: FloatArray,
    ) -> None:
        if index.size == 0:
            return
        h = np.radians(heading_deg)
        vel_enu = np.stack([speed_mps * np.sin(h), speed_mps * np.cos(h), climb_mps], axis=-1)
        self.pos[index, node] = geodetic_to_ecef(lat, lon, alt)
        self.vel[index, node] = enu_vector_to_ecef(vel_enu, enu_basis(lat, lon))
        self.alive[index, node] = True


def fly_routes(targets: Sequence[RouteTarget], step_s: float, node_count: int) -> TrajectorySet:
    """Trajectories of aircraft and cruise missiles that follow their routes.

    A target appears at the first grid node at or after `start_s`, on its first
    waypoint heading down its first leg, and is gone once it reaches its last one.
    """
    count = len(targets)
    width = max((len(t.route) for t in targets), default=2)
    wp_lat = np.zeros((count, width))
    wp_lon = np.zeros((count, width))
    wp_alt = np.zeros((count, width))
    n_wp = np.zeros(count, dtype=np.intp)
    for k, target in enumerate(targets):
        route = target.route
        n_wp[k] = len(route)
        for w in range(width):
            point = route[min(w, len(route) - 1)]
            wp_lat[k, w], wp_lon[k, w] = point.lat_deg, point.lon_deg
            altitude = point.alt_m if point.alt_m is not None else target.alt_m
            wp_alt[k, w] = float(altitude if altitude is not None else 0.0)
    speed = np.array([t.speed_mps for t in targets], dtype=np.float64)
    bank = np.array([t.max_bank_deg or DEFAULT_BANK_DEG[t.kind] for t in targets], dtype=np.float64)
    omega = turn_rate_deg_s(speed, bank)
    start_node = np.array([math.ceil(t.start_s / step_s - 1e-9) for t in targets], dtype=np.intp)

    lat, lon, alt = wp_lat[:, 0].copy(), wp_lon[:, 0].copy(), wp_alt[:, 0].copy()
    heading = geodesic_bearing_deg(lat, lon, wp_lat[:, 1], wp_lon[:, 1])
    next_wp = np.ones(count, dtype=np.intp)
    done = np.zeros(count, dtype=bool)
    rec = _Recorder(count, node_count)

    for node in range(node_count):
        airborne = np.flatnonzero((start_node <= node) & ~done)
        if airborne.size == 0:
            continue
        a = airborne
        wp = next_wp[a]
        dist = geodesic_distance_m(lat[a], lon[a], wp_lat[a, wp], wp_lon[a, wp])
        # Turn anticipation: switch to the next leg at the lead distance r tan(Δψ/2).
        has_next = wp < n_wp[a] - 1
        after = np.minimum(wp + 1, width - 1)
        next_course = geodesic_bearing_deg(
            wp_lat[a, wp], wp_lon[a, wp], wp_lat[a, after], wp_lon[a, after]
        )
        turn = np.radians(np.abs(_wrap180(next_course - heading[a])))
        radius = speed[a] / np.radians(omega[a])
        lead = radius * np.tan(np.minimum(turn, np.radians(170.0)) / 2.0)
        reach = speed[a] * step_s
        switch = has_next & (dist <= np.maximum(lead, reach))
        next_wp[a[switch]] += 1
        arrived = ~has_next & (dist <= reach)
        wp = next_wp[a]
        dist = geodesic_distance_m(lat[a], lon[a], wp_lat[a, wp], wp_lon[a, wp])
        desired = geodesic_bearing_deg(lat[a], lon[a], wp_lat[a, wp], wp_lon[a, wp])
        max_turn = omega[a] * step_s
        heading[a] = (
            heading[a] + np.clip(_wrap180(desired - heading[a]), -max_turn, max_turn)
        ) % 360
        time_to_go = np.maximum(dist / speed[a], step_s)
        climb = np.clip((wp_alt[a, wp] - alt[a]) / time_to_go, -MAX_CLIMB_MPS, MAX_CLIMB_MPS)
        rec.record(node, a, lat[a], lon[a], alt[a], heading[a], speed[a], climb)
        lat[a], lon[a], heading[a] = geodesic_forward(lat[a], lon[a], heading[a], reach)
        alt[a] += climb * step_s
        done[a[arrived]] = True

    info = TargetInfo(
        ids=[t.id for t in targets],
        kinds=[t.kind for t in targets],
        identities=[t.identity for t in targets],
        idents=[(t.ident or t.id) if t.transponder else "" for t in targets],
        transponder=np.array([t.transponder for t in targets], dtype=bool),
        boost_start_s=np.full(count, np.nan),
        boost_end_s=np.full(count, np.nan),
    )
    return TrajectorySet(step_s, rec.pos, rec.vel, rec.alive, info)


def generated_ids(block: GeneratedAircraft, block_number: int) -> list[str]:
    """Ids of a generated block: GEN-00000…, GEN2-00000… for a second block."""
    prefix = block.id_prefix + ("" if block_number == 0 else str(block_number + 1))
    return [f"{prefix}-{i:05d}" for i in range(block.count)]


def fly_generated(
    block: GeneratedAircraft,
    block_number: int,
    rng: np.random.Generator,
    step_s: float,
    node_count: int,
) -> TrajectorySet:
    """`count` aircraft drawn inside the block's box, flying straight legs and random turns.

    Each leg lasts U(0.5, 1.5) × `mean_leg_s`; then the aircraft turns by ±U(30°, 120°),
    at 25° bank. An aircraft that leaves the box turns back toward its centre, so the
    traffic density inside the box stays what the block asks for.
    """
    n = block.count
    lat = rng.uniform(block.lat_deg[0], block.lat_deg[1], size=n)
    lon = rng.uniform(block.lon_deg[0], block.lon_deg[1], size=n)
    alt = rng.uniform(block.alt_m[0], block.alt_m[1], size=n)
    speed = rng.uniform(block.speed_mps[0], block.speed_mps[1], size=n)
    heading = rng.uniform(0.0, 360.0, size=n)
    transponder = rng.uniform(size=n) < block.transponder_fraction
    omega = turn_rate_deg_s(speed, np.full(n, DEFAULT_BANK_DEG["aircraft"]))
    next_turn_s = rng.uniform(0.0, 1.5, size=n) * block.mean_leg_s
    # Signed turn still to fly, degrees; zero on a straight (great-circle) leg.
    turn_left_deg = np.zeros(n)
    centre_lat = 0.5 * (block.lat_deg[0] + block.lat_deg[1])
    centre_lon = 0.5 * (block.lon_deg[0] + block.lon_deg[1])
    everyone = np.arange(n)
    zero_climb = np.zeros(n)
    rec = _Recorder(n, node_count)

    for node in range(node_count):
        time_s = node * step_s
        turning = next_turn_s <= time_s
        if turning.any():
            k = int(turning.sum())
            sign = np.where(rng.uniform(size=k) < 0.5, -1.0, 1.0)
            turn_left_deg[turning] = sign * rng.uniform(30.0, 120.0, size=k)
            next_turn_s[turning] += rng.uniform(0.5, 1.5, size=k) * block.mean_leg_s
        outside = (
            (lat < block.lat_deg[0])
            | (lat > block.lat_deg[1])
            | (lon < block.lon_deg[0])
            | (lon > block.lon_deg[1])
        )
        if outside.any():
            home = geodesic_bearing_deg(lat[outside], lon[outside], centre_lat, centre_lon)
            turn_left_deg[outside] = _wrap180(home - heading[outside])
        max_turn = omega * step_s
        turn = np.clip(turn_left_deg, -max_turn, max_turn)
        heading = (heading + turn) % 360.0
        turn_left_deg -= turn
        rec.record(node, everyone, lat, lon, alt, heading, speed, zero_climb)
        lat, lon, heading = geodesic_forward(lat, lon, heading, speed * step_s)

    ids = generated_ids(block, block_number)
    info = TargetInfo(
        ids=ids,
        kinds=["aircraft"] * n,
        identities=[block.identity] * n,
        idents=[i if t else "" for i, t in zip(ids, transponder, strict=True)],
        transponder=transponder,
        boost_start_s=np.full(n, np.nan),
        boost_end_s=np.full(n, np.nan),
    )
    return TrajectorySet(step_s, rec.pos, rec.vel, rec.alive, info)

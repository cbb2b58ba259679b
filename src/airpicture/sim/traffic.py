"""Real recorded traffic as targets: each aircraft's states, interpolated smoothly.

An aircraft exists from its first to its last recorded position, except across
gaps in its record longer than the scenario's `max_gap_s`. Positions are taken
at the time OpenSky last updated them (`lastposupdate`), not at the time the
row was written, and rows that repeat a stale position are dropped.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from airpicture.errors import InputError
from airpicture.geo import enu_basis, enu_vector_to_ecef, geodetic_to_ecef
from airpicture.interop.opensky import OpenSkyFormatError, OpenSkyStates, decode_states
from airpicture.scenario import TrafficTarget
from airpicture.sim.trajectory import TargetInfo, TrajectorySet, hermite_resample


def read_opensky(path: Path) -> OpenSkyStates:
    try:
        return decode_states(path.read_text(encoding="utf-8"))
    except OpenSkyFormatError as exc:
        raise InputError(
            f"{path}:{exc.line}", [f"{exc.problem} (expected an OpenSky CSV)"]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), [f"cannot read the traffic file: {exc}"]) from None


def fly_traffic(
    spec: TrafficTarget,
    base_dir: Path,
    epoch_unix_s: float,
    step_s: float,
    node_count: int,
) -> TrajectorySet:
    states = read_opensky(spec.path(base_dir))
    altitude = np.where(
        np.isfinite(states.geo_altitude_m), states.geo_altitude_m, states.baro_altitude_m
    )
    usable = (
        ~states.on_ground
        & np.isfinite(states.lat_deg)
        & np.isfinite(states.lon_deg)
        & np.isfinite(altitude)
        & np.isfinite(states.velocity_mps)
        & np.isfinite(states.heading_deg)
    )
    t_rel = states.position_time_unix_s - epoch_unix_s
    grid = np.arange(node_count) * step_s
    ids = sorted(set(states.icao24[usable]))
    pos = np.full((len(ids), node_count, 3), np.nan)
    vel = np.full((len(ids), node_count, 3), np.nan)
    alive = np.zeros((len(ids), node_count), dtype=bool)
    idents: list[str] = []
    for k, icao in enumerate(ids):
        rows = np.flatnonzero(usable & (states.icao24 == icao))
        rows = rows[np.argsort(t_rel[rows], kind="stable")]
        _, first = np.unique(t_rel[rows], return_index=True)
        rows = rows[first]
        callsigns = [c for c in states.callsign[rows] if c]
        idents.append(callsigns[0] if callsigns else icao)
        if len(rows) < 2:
            continue
        lat, lon = states.lat_deg[rows], states.lon_deg[rows]
        heading = np.radians(states.heading_deg[rows])
        climb = np.nan_to_num(states.vertrate_mps[rows])
        speed = states.velocity_mps[rows]
        enu = np.stack([speed * np.sin(heading), speed * np.cos(heading), climb], axis=-1)
        node_pos = geodetic_to_ecef(lat, lon, altitude[rows])
        node_vel = enu_vector_to_ecef(enu, enu_basis(lat, lon))
        times = t_rel[rows]
        segment_breaks = np.flatnonzero(np.diff(times) > spec.max_gap_s) + 1
        for seg in np.split(np.arange(len(rows)), segment_breaks):
            if len(seg) < 2:
                continue
            inside = (grid >= times[seg[0]]) & (grid <= times[seg[-1]])
            if not inside.any():
                continue
            p, v = hermite_resample(times[seg], node_pos[seg], node_vel[seg], grid[inside])
            pos[k, inside], vel[k, inside], alive[k, inside] = p, v, True
    info = TargetInfo(
        ids=list(ids),
        kinds=["aircraft"] * len(ids),
        identities=[spec.identity] * len(ids),
        idents=idents if spec.transponder else [""] * len(ids),
        transponder=np.full(len(ids), spec.transponder),
        boost_start_s=np.full(len(ids), np.nan),
        boost_end_s=np.full(len(ids), np.nan),
    )
    recorded = t_rel[np.isfinite(t_rel)]
    until_s = float(recorded.max()) if recorded.size else math.inf
    return TrajectorySet(step_s, pos, vel, alive, info, until_s).select(
        np.asarray(alive.any(axis=1))
    )

"""A small seeded plot generator following the simulator's measurement conventions.

Targets fly straight lines in ECEF (nearly constant velocity); a scanning radar
reports each target when its beam passes it. Used until, and beside, the real
simulator, so that tracking tests stay fast and exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from airpicture.geo import (
    ecef_to_geodetic,
    ecef_to_sensor,
    enu_basis,
    enu_vector_to_ecef,
    geodetic_to_ecef,
)
from airpicture.tracking.measurement import Radar2D, Radar3D

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Truth:
    time_s: FloatArray  # (T,)
    pos: FloatArray  # (T, n, 3) ECEF
    vel: FloatArray  # (T, n, 3) ECEF


def radar(
    sensor_id: str = "R1",
    lat_deg: float = 36.0,
    lon_deg: float = 138.0,
    *,
    kind: str = "radar",
    period_s: float = 5.0,
    pd: float = 0.9,
    false_alarms: float = 10.0,
    max_range_m: float = 450_000.0,
    sigma_rr: float = float("nan"),
) -> Radar3D | Radar2D:
    site = {
        "sensor_id": sensor_id,
        "nation": "JPN",
        "lat_deg": lat_deg,
        "lon_deg": lon_deg,
        "alt_m": 100.0,
        "pd": pd,
        "revisit_s": period_s,
        "false_alarms_per_scan": false_alarms,
        "max_range_m": max_range_m,
    }
    if kind == "radar2d":
        return Radar2D(**site, sigma_range_m=50.0, sigma_az_rad=np.radians(0.1))
    return Radar3D(
        **site,
        sigma_range_m=50.0,
        sigma_az_rad=np.radians(0.1),
        sigma_el_rad=np.radians(0.1),
        sigma_range_rate_mps=sigma_rr,
    )


def aircraft(
    rng: np.random.Generator,
    n: int,
    lat0: float = 36.0,
    lon0: float = 138.0,
    spread_deg: float = 2.0,
) -> tuple[FloatArray, FloatArray]:
    """Start ECEF positions and velocities of n aircraft flying level-ish, 150–260 m/s."""
    lat = lat0 + rng.uniform(-spread_deg, spread_deg, n)
    lon = lon0 + rng.uniform(-spread_deg, spread_deg, n)
    alt = rng.uniform(3000.0, 11000.0, n)
    speed = rng.uniform(150.0, 260.0, n)
    heading = rng.uniform(0.0, 2.0 * np.pi, n)
    enu_v = np.stack([speed * np.sin(heading), speed * np.cos(heading), np.zeros(n)], axis=-1)
    pos = geodetic_to_ecef(lat, lon, alt)
    vel = enu_vector_to_ecef(enu_v, enu_basis(lat, lon))
    return pos, vel


def scan_plots(
    rng: np.random.Generator,
    sensor: Radar3D | Radar2D,
    pos0: FloatArray,
    vel0: FloatArray,
    duration_s: float,
) -> dict[str, NDArray[np.generic]]:
    """Plots of a rotating radar (or a 2D radar) over straight-line targets, with clutter."""
    rows: dict[str, list[NDArray[np.generic]]] = {k: [] for k in COLUMNS}
    n = pos0.shape[0]
    period = sensor.revisit_s
    target_ids = np.array([f"T{i}" for i in range(n)], dtype=object)
    for scan_start in np.arange(0.0, duration_s, period):
        pos = pos0 + vel0 * scan_start
        _, az, _, _ = ecef_to_sensor(pos, vel0, sensor.ecef_m, sensor.basis)
        t = scan_start + az / 360.0 * period
        pos = pos0 + vel0 * t[:, None]
        rng_m, az, el, rr = ecef_to_sensor(pos, vel0, sensor.ecef_m, sensor.basis)
        seen = (rng.random(n) < sensor.pd) & (rng_m < sensor.max_range_m) & (el > 0.0)
        k = int(seen.sum())
        meas_r = rng_m[seen] + rng.normal(0, sensor.sigma_range_m, k)
        meas_az = (az[seen] + rng.normal(0, np.degrees(sensor.sigma_az_rad), k)) % 360.0
        sigma_el_deg = np.degrees(sensor.sigma_el_rad) if isinstance(sensor, Radar3D) else 0.0
        meas_el = el[seen] + rng.normal(0, sigma_el_deg, k)
        meas_rr = (
            rr[seen] + rng.normal(0, 1.0, k) if sensor.measures_range_rate else np.full(k, np.nan)
        )
        n_fa = rng.poisson(sensor.false_alarms_per_scan)
        fa_az = rng.uniform(0, 360, n_fa)
        fa = {
            "range_m": rng.uniform(1000.0, sensor.max_range_m, n_fa),
            "az_deg": fa_az,
            "el_deg": rng.uniform(0.0, 20.0, n_fa),
            "range_rate_mps": rng.uniform(-500, 500, n_fa)
            if sensor.measures_range_rate
            else np.full(n_fa, np.nan),
        }
        rows["time_s"] += [t[seen], scan_start + fa_az / 360.0 * period]
        rows["range_m"] += [meas_r, fa["range_m"]]
        rows["az_deg"] += [meas_az, fa["az_deg"]]
        el_col = (
            [meas_el, fa["el_deg"]]
            if isinstance(sensor, Radar3D)
            else [np.full(k, np.nan), np.full(n_fa, np.nan)]
        )
        rows["el_deg"] += el_col
        rows["range_rate_mps"] += [meas_rr, fa["range_rate_mps"]]
        rows["target_id"] += [target_ids[seen], np.full(n_fa, "", dtype=object)]
    table = {
        k: np.concatenate(v)
        for k, v in rows.items()
        if k in ("time_s", "range_m", "az_deg", "el_deg", "range_rate_mps", "target_id")
    }
    m = table["time_s"].size
    table["sensor_id"] = np.full(m, sensor.sensor_id, dtype=object)
    table["nation"] = np.full(m, sensor.nation, dtype=object)
    for col in ("lat_deg", "lon_deg", "alt_m"):
        table[col] = np.full(m, np.nan)
    table["ident"] = np.full(m, "", dtype=object)
    order = np.argsort(table["time_s"], kind="stable")
    return {k: v[order] for k, v in table.items()}


COLUMNS = ("time_s", "range_m", "az_deg", "el_deg", "range_rate_mps", "target_id")


def truth_at(pos0: FloatArray, vel0: FloatArray, time_s: float) -> FloatArray:
    return pos0 + vel0 * time_s


def geodetic(pos: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    return ecef_to_geodetic(pos)

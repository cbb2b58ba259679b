"""Seeded report and picture tables for the ASTERIX tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from airpicture.interop.asterix import AsterixSensor, elevation_to_height_m

#: 23:00 UTC: an hour and a half of reports crosses midnight.
EPOCH = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
RADAR = AsterixSensor("JPN-R1", "JPN", 2, 7, 35.6, 139.7, 120.0, "radar")
RADAR2D = AsterixSensor("JPN-ATC", "JPN", 2, 8, 34.0, 135.0, 30.0, "radar")
ADSB = AsterixSensor("USA-ADSB", "USA", 3, 1, 21.3, -157.9, 10.0, "adsb")
SENSORS = {s.sensor_id: s for s in (RADAR, RADAR2D, ADSB)}
CALLSIGN_LETTERS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))


def objects(values: list[Any]) -> np.ndarray[Any, Any]:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def idents(rng: np.random.Generator, n: int) -> np.ndarray[Any, Any]:
    """Callsigns, Mode S addresses and nothing, mixed."""
    out = []
    for kind in rng.integers(0, 3, n):
        if kind == 0:
            out.append("".join(rng.choice(CALLSIGN_LETTERS, rng.integers(1, 9))))
        elif kind == 1:
            out.append(f"{int(rng.integers(0, 2**24)):06x}")
        else:
            out.append("")
    return objects(out)


def radar_reports(n: int, seed: int) -> dict[str, np.ndarray[Any, Any]]:
    """3D-radar rows (with elevation and range rate) and 2D-radar rows (with Mode C)."""
    rng = np.random.default_rng(seed)
    three_d = rng.random(n) < 0.5
    range_m = rng.uniform(1_000.0, 470_000.0, n)
    az = rng.uniform(0.0, 360.0, n)
    el = np.where(three_d, rng.uniform(-1.0, 8.0, n), np.nan)
    height = elevation_to_height_m(RADAR, range_m, az, np.where(three_d, el, 0.0))
    el = np.where(three_d & (np.abs(height) < 60_000.0), el, np.nan)
    return {
        "time_s": np.sort(rng.uniform(0.0, 5400.0, n)),
        "sensor_id": objects([RADAR.sensor_id if t else RADAR2D.sensor_id for t in three_d]),
        "range_m": range_m,
        "az_deg": az,
        "el_deg": el,
        "range_rate_mps": np.where(three_d, rng.uniform(-500.0, 500.0, n), np.nan),
        "pressure_alt_m": np.where(three_d, np.nan, rng.uniform(-300.0, 15_000.0, n)),
        "mode3a": objects(
            [
                f"{int(c):04o}" if not t else ""
                for c, t in zip(rng.integers(0, 4096, n), three_d, strict=True)
            ]
        ),
        "ident": np.where(three_d, objects([""] * n), idents(rng, n)),
    }


def adsb_reports(n: int, seed: int) -> dict[str, np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    return {
        "time_s": np.sort(rng.uniform(0.0, 5400.0, n)),
        "sensor_id": objects([ADSB.sensor_id] * n),
        "lat_deg": rng.uniform(-90.0, 90.0, n),
        "lon_deg": rng.uniform(-180.0, 180.0, n),
        "alt_m": rng.uniform(-300.0, 20_000.0, n),
        "pressure_alt_m": rng.uniform(-300.0, 15_000.0, n),
        "mode3a": objects([f"{int(c):04o}" for c in rng.integers(0, 4096, n)]),
        "ident": idents(rng, n),
    }


def picture(n_tracks: int, n_snapshots: int, seed: int) -> dict[str, np.ndarray[Any, Any]]:
    """A viewer's picture: every track in every snapshot, 5 s apart."""
    rng = np.random.default_rng(seed)
    n = n_tracks * n_snapshots
    sources = objects([[f"S{k}" for k in range(int(c))] for c in rng.integers(1, 4, n)])
    return {
        "time_s": np.repeat(np.arange(n_snapshots) * 5.0, n_tracks),
        "viewer": objects(["JPN"] * n),
        "track_id": objects(
            [f"{k:05d}" for k in np.tile(rng.permutation(60000)[:n_tracks] + 1, n_snapshots)]
        ),
        "lat_deg": rng.uniform(-89.0, 89.0, n),
        "lon_deg": rng.uniform(-180.0, 180.0, n),
        "alt_m": rng.uniform(-300.0, 60_000.0, n),
        "vel_e_mps": rng.uniform(-3000.0, 3000.0, n),
        "vel_n_mps": rng.uniform(-3000.0, 3000.0, n),
        "vel_u_mps": rng.uniform(-1000.0, 1000.0, n),
        "cls": objects(
            list(rng.choice(["aircraft", "cruise_missile", "ballistic_missile", "unknown"], n))
        ),
        "identity": objects(list(rng.choice(["friend", "neutral", "hostile", "unknown"], n))),
        "sources": sources,
    }


def picture_with_extras(n_tracks: int, n_snapshots: int, seed: int) -> dict[str, Any]:
    """`picture` plus the columns CAT062 and CoT carry beyond the kinematics: 1σ position
    errors, identification (callsigns, Mode S addresses, none), Mode 3/A, Mode C and the
    update ages (NaN where a kind never updated the track, some beyond I290's 63.75 s)."""
    rows = picture(n_tracks, n_snapshots, seed)
    n = len(rows["time_s"])
    rng = np.random.default_rng(seed + 1)

    def some_nan(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        return np.where(rng.random(n) < 0.2, np.nan, values)

    kinds = rng.integers(0, 3, n)
    callsigns = [
        f"{c}{k:03d}" for c, k in zip(rng.choice(["BAW", "JAL", "QFA"], n), range(n), strict=True)
    ]
    addresses = [f"{a:06x}" for a in rng.integers(0, 2**24, n)]
    rows.update(
        sigma_e_m=some_nan(rng.uniform(0.0, 5000.0, n)),
        sigma_n_m=rng.uniform(0.0, 5000.0, n),
        sigma_u_m=some_nan(rng.uniform(0.0, 480.0, n)),
        ident=objects([[callsigns[i], addresses[i], ""][kinds[i]] for i in range(n)]),
        mode3a=objects([f"{m:04o}" if m >= 0 else "" for m in rng.integers(-500, 4096, n)]),
        pressure_alt_m=some_nan(rng.uniform(-300.0, 15_000.0, n)),
        update_age_s=rng.uniform(0.0, 20.0, n),
        psr_age_s=some_nan(rng.uniform(0.0, 100.0, n)),
        ssr_age_s=some_nan(rng.uniform(0.0, 60.0, n)),
        ads_age_s=some_nan(rng.uniform(0.0, 10.0, n)),
    )
    return rows

"""Synthetic run folders, for testing and benchmarking the measures without a tracker.

Truths fly straight and level in a local east-north-up frame about a reference
point; sensors cover discs; each viewer's picture is the truth it could see,
perturbed by Gaussian errors, with some targets never held and some false
tracks added. Positions go through `airpicture.geo` (ENU → ECEF → geodetic), so
a distance built here in ENU metres is the same distance the measures compute
in ECEF. Everything is driven by one seeded `numpy.random.Generator`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from airpicture.geo import (
    ecef_to_geodetic,
    ecef_vector_to_enu,
    enu_basis,
    enu_to_ecef,
    enu_vector_to_ecef,
    geodetic_to_ecef,
)
from airpicture.metrics.run_data import TRUTH_EVALUATION_SCHEMA
from airpicture.tables import PICTURE_SCHEMA, Table, kinematic_columns, write_table

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Frame:
    """A local ENU frame about (lat_deg, lon_deg, 0 m)."""

    lat_deg: float = 30.0
    lon_deg: float = 140.0

    def to_geodetic(self, enu_m: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """ENU metres `(..., 3)` → (lat_deg, lon_deg, alt_m)."""
        origin = geodetic_to_ecef(self.lat_deg, self.lon_deg, 0.0)
        basis = enu_basis(self.lat_deg, self.lon_deg)
        return ecef_to_geodetic(enu_to_ecef(enu_m, origin, basis))

    def velocity_at(
        self, velocity_enu_mps: FloatArray, lat_deg: FloatArray, lon_deg: FloatArray
    ) -> FloatArray:
        """A velocity given in this frame, expressed in the local ENU frame at each point."""
        ecef = enu_vector_to_ecef(velocity_enu_mps, enu_basis(self.lat_deg, self.lon_deg))
        return ecef_vector_to_enu(ecef, enu_basis(lat_deg, lon_deg))


def table_from_enu(
    frame: Frame,
    time_s: FloatArray,
    position_enu_m: FloatArray,
    velocity_enu_mps: FloatArray,
    columns: Mapping[str, Sequence[Any] | NDArray[np.generic]],
) -> Table:
    """A truth or picture table from frame-ENU states plus the other columns given."""
    lat, lon, alt = frame.to_geodetic(np.asarray(position_enu_m, dtype=np.float64).reshape(-1, 3))
    vel = frame.velocity_at(np.asarray(velocity_enu_mps, dtype=np.float64).reshape(-1, 3), lat, lon)
    table: Table = {
        "time_s": np.asarray(time_s, dtype=np.float64),
        **kinematic_columns(lat, lon, alt, vel),
    }
    for name, values in columns.items():
        array = np.empty(len(values), dtype=np.object_)
        for i, value in enumerate(values):  # element-wise: values may be lists
            array[i] = value
        table[name] = array
    return table


def write_run(
    run_dir: Path,
    truth: Table,
    picture: Table,
    *,
    picture_interval_s: float,
    duration_s: float,
    nations: Sequence[str],
    sensors: Mapping[str, Mapping[str, str]],
    viewers: Mapping[str, Sequence[str]],
    fusion: str = "distributed",
    scenario: str = "synthetic",
    seed: int = 0,
) -> Path:
    """Write truth.parquet, picture.parquet and run.json as the run-output contract says."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_table(run_dir / "truth.parquet", truth, TRUTH_EVALUATION_SCHEMA)
    write_table(run_dir / "picture.parquet", picture, PICTURE_SCHEMA)
    info = {
        "scenario": scenario,
        "epoch": "2026-01-01T00:00:00Z",
        "duration_s": duration_s,
        "seed": seed,
        "picture_interval_s": picture_interval_s,
        "fusion": fusion,
        "nations": list(nations),
        "sensors": {k: dict(v) for k, v in sensors.items()},
        "viewers": {k: list(v) for k, v in viewers.items()},
    }
    (run_dir / "run.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
    return run_dir


@dataclass(frozen=True)
class SyntheticSpec:
    """Size and quality of a synthetic run."""

    n_targets: int = 50
    n_steps: int = 60
    interval_s: float = 10.0
    region_radius_m: float = 800_000.0
    speed_mps: float = 220.0
    altitude_m: float = 10_000.0
    nations: tuple[str, ...] = ("USA", "JPN", "AUS")
    sensor_range_m: float = 600_000.0
    position_sigma_m: float = 300.0
    velocity_sigma_mps: float = 5.0
    p_held: float = 0.9  # chance that a viewer ever holds an eligible target
    false_tracks_per_step: float = 1.0
    frame: Frame = field(default_factory=Frame)
    centralized: bool = False
    whole_run: bool = False  # every target exists at every snapshot


@dataclass(frozen=True, eq=False)
class SyntheticRun:
    truth: Table
    picture: Table
    nations: tuple[str, ...]
    sensors: dict[str, dict[str, str]]
    viewers: dict[str, list[str]]
    spec: SyntheticSpec

    def write(self, run_dir: Path) -> Path:
        s = self.spec
        return write_run(
            run_dir,
            self.truth,
            self.picture,
            picture_interval_s=s.interval_s,
            duration_s=(s.n_steps - 1) * s.interval_s,
            nations=self.nations,
            sensors=self.sensors,
            viewers=self.viewers,
            fusion="centralized" if s.centralized else "distributed",
        )


def synthetic_run(spec: SyntheticSpec, rng: np.random.Generator) -> SyntheticRun:
    """Random straight-flying truths, one radar per nation, and perturbed pictures."""
    n, steps, dt = spec.n_targets, spec.n_steps, spec.interval_s
    radius = spec.region_radius_m
    start = rng.uniform(-radius, radius, size=(n, 2))
    heading = rng.uniform(0.0, 2 * np.pi, size=n)
    velocity = np.stack(
        [spec.speed_mps * np.sin(heading), spec.speed_mps * np.cos(heading), np.zeros(n)], axis=-1
    )
    # each target exists over a random window of snapshots
    first = rng.integers(0, max(steps // 3, 1), size=n)
    last = np.minimum(steps - 1, first + rng.integers(steps // 3, steps + 1, size=n))
    if spec.whole_run:
        first, last = np.zeros(n, dtype=np.int64), np.full(n, steps - 1, dtype=np.int64)
    lengths = last - first + 1
    target = np.repeat(np.arange(n), lengths)
    step = first[target] + (
        np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    )
    time_s = step * dt
    position = np.column_stack(
        [
            start[target] + velocity[target, :2] * time_s[:, None],
            np.full(target.size, spec.altitude_m),
        ]
    )
    kinds = np.array(["aircraft", "cruise_missile"], dtype=np.object_)[rng.integers(0, 2, size=n)]
    identities = np.array(["friend", "neutral", "hostile"], dtype=np.object_)[
        rng.integers(0, 3, size=n)
    ]

    nations = spec.nations
    sensor_xy = rng.uniform(-radius, radius, size=(len(nations), 2))
    sensors = {f"{nation}-R1": {"nation": nation, "type": "radar"} for nation in nations}
    sensor_ids = list(sensors)
    horizontal = np.linalg.norm(position[:, None, :2] - sensor_xy[None], axis=-1)
    covers = horizontal < spec.sensor_range_m  # (rows, sensors)
    detectable = [[sensor_ids[k] for k in np.flatnonzero(row)] for row in covers]
    viewers: dict[str, list[str]] = {nation: [f"{nation}-R1"] for nation in nations}
    viewers["ALL"] = sensor_ids
    truth = table_from_enu(
        spec.frame,
        time_s,
        position,
        velocity[target],
        {
            "target_id": [f"TGT{j:04d}" for j in target],
            "kind": kinds[target],
            "identity": identities[target],
            "detectable_by": detectable,
        },
    )

    picture_parts: list[Table] = []
    viewer_names = ["ALL"] if spec.centralized else list(nations)
    for viewer in viewer_names:
        sensor_cols = [sensor_ids.index(s) for s in viewers[viewer]]
        eligible = covers[:, sensor_cols].any(axis=1)
        holds = rng.random(n) < spec.p_held
        rows = np.flatnonzero(eligible & holds[target])
        noise = rng.normal(0.0, spec.position_sigma_m, size=(rows.size, 3))
        vel_noise = rng.normal(0.0, spec.velocity_sigma_mps, size=(rows.size, 3))
        n_false = rng.poisson(spec.false_tracks_per_step * steps)
        false_step = rng.integers(0, steps, size=n_false)
        false_pos = np.column_stack(
            [rng.uniform(-radius, radius, size=(n_false, 2)), np.full(n_false, spec.altitude_m)]
        )
        track_ids = [f"NT{j:05d}" for j in target[rows]] + [
            f"FT{viewer}{k:05d}" for k in range(n_false)
        ]
        picture_parts.append(
            table_from_enu(
                spec.frame,
                np.concatenate([time_s[rows], false_step * dt]),
                np.concatenate([position[rows] + noise, false_pos]),
                np.concatenate([velocity[target[rows]] + vel_noise, np.zeros((n_false, 3))]),
                {
                    "viewer": [viewer] * len(track_ids),
                    "track_id": track_ids,
                    "cls": ["aircraft"] * len(track_ids),
                    "identity": list(identities[target[rows]]) + ["unknown"] * n_false,
                    "sources": [list(viewers[viewer])] * len(track_ids),
                },
            )
        )
    picture = {name: np.concatenate([p[name] for p in picture_parts]) for name in picture_parts[0]}
    return SyntheticRun(truth, picture, tuple(nations), sensors, viewers, spec)

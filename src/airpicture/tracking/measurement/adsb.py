"""ADS-B: the reported position (lat, lon, alt → ECEF) and the aircraft's identity.

z = ECEF position,  R = σ² I (the same σ on east, north and up is isotropic,
so the rotation from ENU to ECEF leaves it unchanged). A report goes first to
the track holding its identity, and never to a track holding another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from airpicture.geo import geodetic_to_ecef
from airpicture.tracking.measurement.base import (
    FloatArray,
    PregateReach,
    SensorSite,
    SensorSpec,
    measure_and_jacobian,
    spec_value,
)
from airpicture.tracking.motion import STATE_DIM


@dataclass(frozen=True, kw_only=True)
class ADSB(SensorSite):
    """An ADS-B ground station; `sigma_pos_m` per axis of the reported position."""

    sensor_type: ClassVar[str] = "adsb"
    revisit_field: ClassVar[str] = "report_period_s"
    can_initiate: ClassVar[bool] = True
    associates_by_identity: ClassVar[bool] = True
    update_only: ClassVar[bool] = False
    observes_altitude: ClassVar[bool] = True
    required_columns: ClassVar[tuple[str, ...]] = ("lat_deg", "lon_deg", "alt_m")

    sigma_pos_m: float

    def __post_init__(self) -> None:
        super().__post_init__()
        self.require_positive("sigma_pos_m")

    @classmethod
    def from_spec(cls, spec: SensorSpec) -> ADSB:
        return cls(**cls.site_fields(spec), sigma_pos_m=spec_value(spec, "sigma_pos_m"))

    def dim(self, with_range_rate: bool) -> int:
        return 3

    def z_from_reports(
        self, reports: Mapping[str, NDArray[Any]], with_range_rate: bool
    ) -> FloatArray:
        return geodetic_to_ecef(reports["lat_deg"], reports["lon_deg"], reports["alt_m"])

    def measure(self, x: FloatArray, with_range_rate: bool) -> FloatArray:
        return x[..., :3].copy()

    def jacobian(self, x: FloatArray, with_range_rate: bool) -> FloatArray:
        H = np.zeros((x.shape[0], 3, STATE_DIM))
        H[:, :, :3] = np.eye(3)
        return H

    def measure_jacobian(
        self, x: FloatArray, with_range_rate: bool, position_only: bool = False
    ) -> tuple[FloatArray, FloatArray]:
        return measure_and_jacobian(self, x, with_range_rate, position_only)

    def residual(self, z: FloatArray, z_pred: FloatArray) -> FloatArray:
        nu: FloatArray = z - z_pred
        return nu

    def noise(self, z: FloatArray, with_range_rate: bool) -> FloatArray:
        return np.broadcast_to(self.sigma_pos_m**2 * np.eye(3), (z.shape[0], 3, 3)).copy()

    def clutter_density(self, with_range_rate: bool) -> float:
        # Cooperative reports, no false alarms: a nominal density per cubic metre.
        volume = (2.0 * self.max_range_m) ** 2 * 2.0e4
        return max(self.false_alarms_per_scan, 1e-3) / volume

    def pregate_points_z(self, z: FloatArray) -> FloatArray:
        return z

    def pregate_points_x(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        return x[:, :3], np.ones(x.shape[0])

    def pregate_sigma(self, x: FloatArray) -> FloatArray:
        return np.full(x.shape[0], self.sigma_pos_m)

    def pregate_reach(self, points_z: FloatArray) -> PregateReach | None:
        """The pre-gate space is ECEF: the reports' bounding box."""
        return PregateReach.box(points_z, self.sigma_pos_m, 0.0)

    def initial_position(self, z: FloatArray, unobserved_alt_m: float) -> FloatArray:
        return z

"""Space-based IR: azimuth and elevation of the line of sight in the satellite's ENU frame.

z = (az, el),  R = diag((σ/cos el)², σ²). Angles only, so a report never
starts a track: it updates one, or is kept as a boost report for launch
detection.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from airpicture.geo import aer_to_enu
from airpicture.tracking.linalg import rows_matmul
from airpicture.tracking.measurement.base import (
    FloatArray,
    LocalFrameSite,
    SensorSpec,
    spec_value,
    wrap,
)
from airpicture.tracking.view import BoostReports


@dataclass(frozen=True, kw_only=True)
class SpaceIR(LocalFrameSite):
    """A staring or scanning IR satellite; `sigma_los_rad` the line-of-sight error."""

    sensor_type: ClassVar[str] = "space_ir"
    #: Azimuth and elevation in the satellite's ENU frame.
    local_rows: ClassVar[tuple[int, ...]] = (1, 2)
    can_initiate: ClassVar[bool] = False
    associates_by_identity: ClassVar[bool] = False
    update_only: ClassVar[bool] = True
    observes_altitude: ClassVar[bool] = False
    #: It detects boosting missiles only (the simulator's IR coverage; SBIRS-like).
    sees_aircraft: ClassVar[bool] = False
    required_columns: ClassVar[tuple[str, ...]] = ("az_deg", "el_deg")

    sigma_los_rad: float

    def __post_init__(self) -> None:
        super().__post_init__()
        self.require_positive("sigma_los_rad")

    @classmethod
    def from_spec(cls, spec: SensorSpec) -> SpaceIR:
        return cls(**cls.site_fields(spec), sigma_los_rad=spec_value(spec, "sigma_los_urad") * 1e-6)

    def dim(self, with_range_rate: bool) -> int:
        return 2

    def z_from_reports(
        self, reports: Mapping[str, NDArray[Any]], with_range_rate: bool
    ) -> FloatArray:
        az = np.radians(np.asarray(reports["az_deg"], dtype=np.float64))
        return np.stack([az, np.radians(np.asarray(reports["el_deg"], dtype=np.float64))], axis=-1)

    def residual(self, z: FloatArray, z_pred: FloatArray) -> FloatArray:
        nu = z - z_pred
        nu[..., 0] = wrap(nu[..., 0])
        return nu

    def noise(self, z: FloatArray, with_range_rate: bool) -> FloatArray:
        # σ_az = σ_los / cos el: an azimuth error near the zenith is a small angle.
        cos_el = np.maximum(np.cos(z[:, 1]), 1e-3)
        R = np.zeros((z.shape[0], 2, 2))
        R[:, 0, 0] = (self.sigma_los_rad / cos_el) ** 2
        R[:, 1, 1] = self.sigma_los_rad**2
        return R

    def clutter_density(self, with_range_rate: bool) -> float:
        return max(self.false_alarms_per_scan, 1e-3) / (4.0 * math.pi)

    def pregate_points_z(self, z: FloatArray) -> FloatArray:
        """The unit line of sight in ENU (distances are then ≈ angles in radians)."""
        return aer_to_enu(np.degrees(z[:, 0]), np.degrees(z[:, 1]), 1.0)

    def pregate_points_x(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        rng = np.linalg.norm(x[:, :3] - self.ecef_m, axis=-1)
        return self.pregate_points_z(self.measure(x, False)), 1.0 / rng

    def pregate_sigma(self, x: FloatArray) -> FloatArray:
        return np.full(x.shape[0], self.sigma_los_rad)

    def initial_position(self, z: FloatArray, unobserved_alt_m: float) -> FloatArray:
        raise TypeError(
            f"sensor {self.sensor_id} (space_ir) measures angles only: it cannot start a track"
        )

    def boost_reports(self, z: FloatArray, time_s: FloatArray) -> BoostReports:
        """The reports as time, sensor, satellite position and unit line of sight (ECEF)."""
        az, el = z[:, 0], z[:, 1]
        enu = np.stack([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)], axis=-1)
        return BoostReports(
            time_s=time_s.copy(),
            sensor_id=np.full(time_s.size, self.sensor_id, dtype=object),
            origin_ecef_m=np.broadcast_to(self.ecef_m, (time_s.size, 3)).copy(),
            los_ecef=rows_matmul(enu, self.basis),
        )

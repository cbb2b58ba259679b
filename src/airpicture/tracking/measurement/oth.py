"""Over-the-horizon radar: geodesic ground range and initial bearing (pyproj geodesics).

z = (ground range, bearing),  R = diag(σr², σaz²). The Jacobian is batched
central differences (a coarse sensor, rare batches); altitude is unobserved.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from airpicture.geo import (
    ecef_to_geodetic,
    geodesic_bearing_deg,
    geodesic_distance_m,
    geodesic_forward,
    geodetic_to_ecef,
)
from airpicture.tracking.measurement.base import (
    FloatArray,
    SensorSite,
    SensorSpec,
    diagonal_noise,
    polar_plane_points,
    spec_value,
    wrap,
)
from airpicture.tracking.motion import STATE_DIM


@dataclass(frozen=True, kw_only=True)
class OTHRadar(SensorSite):
    """A skywave over-the-horizon radar."""

    sensor_type: ClassVar[str] = "oth"
    can_initiate: ClassVar[bool] = True
    associates_by_identity: ClassVar[bool] = False
    update_only: ClassVar[bool] = False
    observes_altitude: ClassVar[bool] = False
    required_columns: ClassVar[tuple[str, ...]] = ("range_m", "az_deg")
    #: Step of the Jacobian's central differences, metres.
    jacobian_step_m: ClassVar[float] = 50.0

    sigma_range_m: float
    sigma_az_rad: float

    def __post_init__(self) -> None:
        super().__post_init__()
        self.require_positive("sigma_range_m", "sigma_az_rad")

    @classmethod
    def from_spec(cls, spec: SensorSpec) -> OTHRadar:
        return cls(
            **cls.site_fields(spec),
            sigma_range_m=spec_value(spec, "sigma_range_m"),
            sigma_az_rad=math.radians(spec_value(spec, "sigma_az_deg")),
        )

    def dim(self, with_range_rate: bool) -> int:
        return 2

    def z_from_reports(
        self, reports: Mapping[str, NDArray[Any]], with_range_rate: bool
    ) -> FloatArray:
        rng = np.asarray(reports["range_m"], dtype=np.float64)
        az = np.radians(np.asarray(reports["az_deg"], dtype=np.float64))
        return np.stack([rng, az], axis=-1)

    def _measure_positions(self, pos: FloatArray) -> FloatArray:
        lat, lon, _ = ecef_to_geodetic(pos)
        ground = geodesic_distance_m(self.lat_deg, self.lon_deg, lat, lon)
        bearing = np.radians(geodesic_bearing_deg(self.lat_deg, self.lon_deg, lat, lon))
        return np.stack([ground, bearing], axis=-1)

    def measure(self, x: FloatArray, with_range_rate: bool) -> FloatArray:
        return self._measure_positions(x[..., :3])

    def jacobian(self, x: FloatArray, with_range_rate: bool) -> FloatArray:
        """Central differences of the geodesic (ground range, bearing) model, batched."""
        K = x.shape[0]
        step = self.jacobian_step_m
        offsets = np.concatenate([np.eye(3), -np.eye(3)]) * step  # (6, 3)
        probe = (x[:, None, :3] + offsets[None, :, :]).reshape(-1, 3)
        z = self._measure_positions(probe).reshape(K, 6, 2)
        dz = z[:, :3, :] - z[:, 3:, :]
        dz[..., 1] = wrap(dz[..., 1])
        H = np.zeros((K, 2, STATE_DIM))
        H[:, :, :3] = np.swapaxes(dz, 1, 2) / (2.0 * step)
        return H

    def measure_jacobian(
        self, x: FloatArray, with_range_rate: bool, position_only: bool = False
    ) -> tuple[FloatArray, FloatArray]:
        H = self.jacobian(x, with_range_rate)
        width = 3 if position_only else STATE_DIM
        return self.measure(x, with_range_rate), np.ascontiguousarray(H[:, :, :width])

    def residual(self, z: FloatArray, z_pred: FloatArray) -> FloatArray:
        nu = z - z_pred
        nu[..., 1] = wrap(nu[..., 1])
        return nu

    def noise(self, z: FloatArray, with_range_rate: bool) -> FloatArray:
        return diagonal_noise([self.sigma_range_m, self.sigma_az_rad], z.shape[0])

    def clutter_density(self, with_range_rate: bool) -> float:
        fa = max(self.false_alarms_per_scan, 1e-3)
        r_span = max(self.max_range_m - self.min_range_m, 1.0)
        return fa / (r_span * self.az_span_rad)

    def pregate_points_z(self, z: FloatArray) -> FloatArray:
        return polar_plane_points(z)

    def pregate_points_x(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        return polar_plane_points(self.measure(x, False)), np.ones(x.shape[0])

    def pregate_sigma(self, x: FloatArray) -> FloatArray:
        rng = np.linalg.norm(x[:, :3] - self.ecef_m, axis=-1)
        sigma: FloatArray = np.sqrt(self.sigma_range_m**2 + (rng * self.sigma_az_rad) ** 2)
        return sigma

    def initial_position(self, z: FloatArray, unobserved_alt_m: float) -> FloatArray:
        lat, lon, _ = geodesic_forward(self.lat_deg, self.lon_deg, np.degrees(z[:, 1]), z[:, 0])
        return geodetic_to_ecef(lat, lon, unobserved_alt_m)

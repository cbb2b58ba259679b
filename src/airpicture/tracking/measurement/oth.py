"""Over-the-horizon radar: geodesic ground range and initial bearing (pyproj geodesics).

z = (ground range, bearing),  R = diag(σr², σaz²). The Jacobian is batched
central differences (a coarse sensor, rare batches); altitude is unobserved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from airpicture.geo import (
    ecef_to_geodetic,
    geodesic_bearing_deg,
    geodesic_distance_m,
    geodesic_forward,
    geodetic_to_ecef,
)
from airpicture.tracking.measurement.base import (
    FloatArray,
    measure_and_jacobian,
    wrap,
)
from airpicture.tracking.measurement.range_azimuth import RangeAzimuthSite
from airpicture.tracking.motion import STATE_DIM


@dataclass(frozen=True, kw_only=True)
class OTHRadar(RangeAzimuthSite):
    """A skywave over-the-horizon radar."""

    sensor_type: ClassVar[str] = "oth"
    #: Step of the Jacobian's central differences, metres.
    jacobian_step_m: ClassVar[float] = 50.0

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
        return measure_and_jacobian(self, x, with_range_rate, position_only)

    def initial_position(self, z: FloatArray, unobserved_alt_m: float) -> FloatArray:
        lat, lon, _ = geodesic_forward(self.lat_deg, self.lon_deg, np.degrees(z[:, 1]), z[:, 0])
        return geodetic_to_ecef(lat, lon, unobserved_alt_m)

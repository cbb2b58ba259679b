"""2D radar: slant range and azimuth; altitude unobserved (a prior at initiation, no fake report).

z = (r, az),  R = diag(σr², σaz²).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from airpicture.geo import aer_to_enu, enu_to_ecef
from airpicture.tracking.measurement.base import (
    FloatArray,
    local_enu,
    no_range_rate,
    range_az_el,
    range_az_el_gradients,
)
from airpicture.tracking.measurement.range_azimuth import RangeAzimuthSite
from airpicture.tracking.motion import STATE_DIM


@dataclass(frozen=True, kw_only=True)
class Radar2D(RangeAzimuthSite):
    """A 2D (range, azimuth) surveillance radar."""

    sensor_type: ClassVar[str] = "radar2d"

    def measure(self, x: FloatArray, with_range_rate: bool) -> FloatArray:
        rng, az, _ = range_az_el(local_enu(self, x[..., :3]))
        return np.stack([rng, az], axis=-1)

    def _jacobian(self, enu: FloatArray, width: int) -> FloatArray:
        d_range, d_az, _, _ = range_az_el_gradients(self, enu)
        H = np.zeros((enu.shape[0], 2, width))
        H[:, 0, :3] = d_range
        H[:, 1, :3] = d_az
        return H

    def jacobian(self, x: FloatArray, with_range_rate: bool) -> FloatArray:
        return self._jacobian(local_enu(self, x[:, :3]), STATE_DIM)

    def measure_jacobian(
        self, x: FloatArray, with_range_rate: bool, position_only: bool = False
    ) -> tuple[FloatArray, FloatArray]:
        no_range_rate(self, position_only, with_range_rate)
        enu = local_enu(self, x[..., :3])
        rng, az, _ = range_az_el(enu)
        return np.stack([rng, az], axis=-1), self._jacobian(enu, 3 if position_only else STATE_DIM)

    def initial_position(self, z: FloatArray, unobserved_alt_m: float) -> FloatArray:
        # The elevation at which slant range r reaches the assumed height over a
        # sphere of the local radius: h ≈ h_s + r sin(el) + r² cos²(el) / 2Rₑ.
        r = z[:, 0]
        earth_r = float(np.linalg.norm(self.ecef_m)) - self.alt_m
        sin_el = (unobserved_alt_m - self.alt_m - r * r / (2.0 * earth_r)) / np.maximum(r, 1.0)
        el = np.arcsin(np.clip(sin_el, 0.0, 0.99))
        enu = aer_to_enu(np.degrees(z[:, 1]), np.degrees(el), r)
        return enu_to_ecef(enu, self.ecef_m, self.basis)

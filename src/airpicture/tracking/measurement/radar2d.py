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
    LocalFrameSite,
    PregateReach,
)
from airpicture.tracking.measurement.range_azimuth import RangeAzimuthSite


@dataclass(frozen=True, kw_only=True)
class Radar2D(LocalFrameSite, RangeAzimuthSite):
    """A 2D (range, azimuth) surveillance radar."""

    sensor_type: ClassVar[str] = "radar2d"
    #: Slant range and azimuth in the site's ENU frame.
    local_rows: ClassVar[tuple[int, ...]] = (0, 1)

    def pregate_reach(self, points_z: FloatArray) -> PregateReach | None:
        """A polar-plane point's norm is the slant range |p − site|."""
        return PregateReach.range_shell(points_z, self.sigma_range_m, self.sigma_az_rad)

    def initial_position(self, z: FloatArray, unobserved_alt_m: float) -> FloatArray:
        # The elevation at which slant range r reaches the assumed height over a
        # sphere of the local radius: h ≈ h_s + r sin(el) + r² cos²(el) / 2Rₑ.
        r = z[:, 0]
        earth_r = float(np.linalg.norm(self.ecef_m)) - self.alt_m
        sin_el = (unobserved_alt_m - self.alt_m - r * r / (2.0 * earth_r)) / np.maximum(r, 1.0)
        el = np.arcsin(np.clip(sin_el, 0.0, 0.99))
        enu = aer_to_enu(np.degrees(z[:, 1]), np.degrees(el), r)
        return enu_to_ecef(enu, self.ecef_m, self.basis)

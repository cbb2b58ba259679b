"""2D radar: slant range and azimuth; altitude unobserved (a prior at initiation, no fake report).

z = (r, az),  R = diag(σr², σaz²).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from airpicture.geo import aer_to_enu, enu_to_ecef
from airpicture.tracking.measurement.base import (
    FloatArray,
    SensorSite,
    SensorSpec,
    diagonal_noise,
    local_enu,
    no_range_rate,
    polar_plane_points,
    range_az_el,
    range_az_el_gradients,
    spec_value,
    wrap,
)
from airpicture.tracking.motion import STATE_DIM


@dataclass(frozen=True, kw_only=True)
class Radar2D(SensorSite):
    """A 2D (range, azimuth) surveillance radar."""

    sensor_type: ClassVar[str] = "radar2d"
    can_initiate: ClassVar[bool] = True
    associates_by_identity: ClassVar[bool] = False
    update_only: ClassVar[bool] = False
    observes_altitude: ClassVar[bool] = False
    required_columns: ClassVar[tuple[str, ...]] = ("range_m", "az_deg")

    sigma_range_m: float
    sigma_az_rad: float

    def __post_init__(self) -> None:
        super().__post_init__()
        self.require_positive("sigma_range_m", "sigma_az_rad")

    @classmethod
    def from_spec(cls, spec: SensorSpec) -> Radar2D:
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
        # The elevation at which slant range r reaches the assumed height over a
        # sphere of the local radius: h ≈ h_s + r sin(el) + r² cos²(el) / 2Rₑ.
        r = z[:, 0]
        earth_r = float(np.linalg.norm(self.ecef_m)) - self.alt_m
        sin_el = (unobserved_alt_m - self.alt_m - r * r / (2.0 * earth_r)) / np.maximum(r, 1.0)
        el = np.arcsin(np.clip(sin_el, 0.0, 0.99))
        enu = aer_to_enu(np.degrees(z[:, 1]), np.degrees(el), r)
        return enu_to_ecef(enu, self.ecef_m, self.basis)

"""What the two range–azimuth kinds share: 2D radar and over-the-horizon radar.

Both report z = (range, azimuth) with R = diag(σr², σaz²) and leave altitude
unobserved; they differ only in what "range" and "azimuth" are (slant range
and azimuth in the site's ENU plane for a 2D radar, geodesic ground range and
initial bearing for OTH), so each kind adds `measure`, its Jacobian and the
initial position of a report.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import NDArray

from airpicture.tracking.measurement.base import (
    FloatArray,
    SensorSite,
    SensorSpec,
    diagonal_noise,
    polar_plane_points,
    spec_value,
    wrap,
)


@dataclass(frozen=True, kw_only=True)
class RangeAzimuthSite(SensorSite):
    """A sensor that measures (range, azimuth) only; subclasses define the geometry."""

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
    def from_spec(cls, spec: SensorSpec) -> Self:
        return cls(
            **cls.site_fields(spec),
            sigma_range_m=spec_value(spec, "sigma_range_m"),
            sigma_az_rad=math.radians(spec_value(spec, "sigma_az_deg")),
        )

    def dim(self, with_range_rate: bool) -> int:
        return 2

    def measure(self, x: FloatArray, with_range_rate: bool) -> FloatArray:
        """h(x) `(K, 2)`: each range–azimuth kind has its own geometry."""
        raise NotImplementedError(f"{type(self).__name__} must define measure()")

    def z_from_reports(
        self, reports: Mapping[str, NDArray[Any]], with_range_rate: bool
    ) -> FloatArray:
        rng = np.asarray(reports["range_m"], dtype=np.float64)
        az = np.radians(np.asarray(reports["az_deg"], dtype=np.float64))
        return np.stack([rng, az], axis=-1)

    def residual(self, z: FloatArray, z_pred: FloatArray) -> FloatArray:
        """ν = z − h(x), the azimuth wrapped to (−π, π]."""
        nu = z - z_pred
        nu[..., 1] = wrap(nu[..., 1])
        return nu

    def noise(self, z: FloatArray, with_range_rate: bool) -> FloatArray:
        return diagonal_noise([self.sigma_range_m, self.sigma_az_rad], z.shape[0])

    def clutter_density(self, with_range_rate: bool) -> float:
        """False alarms per unit of (range, azimuth): uniform over the coverage."""
        fa = max(self.false_alarms_per_scan, 1e-3)
        r_span = max(self.max_range_m - self.min_range_m, 1.0)
        return fa / (r_span * self.az_span_rad)

    def pregate_points_z(self, z: FloatArray) -> FloatArray:
        return polar_plane_points(z)

    def pregate_points_x(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        return polar_plane_points(self.measure(x, False)), np.ones(x.shape[0])

    def pregate_sigma(self, x: FloatArray) -> FloatArray:
        """σ = √(σr² + (r σaz)²) near states x, metres in the polar plane."""
        rng = np.linalg.norm(x[:, :3] - self.ecef_m, axis=-1)
        sigma: FloatArray = np.sqrt(self.sigma_range_m**2 + (rng * self.sigma_az_rad) ** 2)
        return sigma

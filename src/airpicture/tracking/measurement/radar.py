"""3D radar: slant range, azimuth, elevation [, range rate] from a fixed site.

z = (r, az, el [, ṙ]),  R = diag(σr², σaz², σel² [, σṙ²]).
Range rate is the target's ECEF velocity on the line of sight (the sensor is
fixed on the Earth); a radar measures it when its scenario gives
`sigma_range_rate_mps`, and its reports may still come without it.
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
    CLUTTER_RANGE_RATE_SPAN_MPS,
    FloatArray,
    PregateReach,
    SensorSite,
    SensorSpec,
    SensorValueError,
    diagonal_noise,
    local_enu,
    no_range_rate,
    range_az_el,
    range_az_el_gradients,
    spec_value,
    wrap,
)
from airpicture.tracking.motion import STATE_DIM


@dataclass(frozen=True, kw_only=True)
class Radar3D(SensorSite):
    """A 3D radar; `sigma_range_rate_mps` NaN when it does not measure range rate."""

    sensor_type: ClassVar[str] = "radar"
    fixes_positions: ClassVar[bool] = True
    can_initiate: ClassVar[bool] = True
    associates_by_identity: ClassVar[bool] = False
    update_only: ClassVar[bool] = False
    observes_altitude: ClassVar[bool] = True
    required_columns: ClassVar[tuple[str, ...]] = ("range_m", "az_deg", "el_deg")

    sigma_range_m: float
    sigma_az_rad: float
    sigma_el_rad: float
    sigma_range_rate_mps: float = math.nan

    def __post_init__(self) -> None:
        super().__post_init__()
        self.require_positive("sigma_range_m", "sigma_az_rad", "sigma_el_rad")
        if not math.isnan(self.sigma_range_rate_mps):
            self.require_positive("sigma_range_rate_mps")

    @classmethod
    def from_spec(cls, spec: SensorSpec) -> Radar3D:
        return cls(
            **cls.site_fields(spec),
            sigma_range_m=spec_value(spec, "sigma_range_m"),
            sigma_az_rad=math.radians(spec_value(spec, "sigma_az_deg")),
            sigma_el_rad=math.radians(spec_value(spec, "sigma_el_deg")),
            sigma_range_rate_mps=spec_value(spec, "sigma_range_rate_mps"),
        )

    @property
    def measures_range_rate(self) -> bool:
        return not math.isnan(self.sigma_range_rate_mps)

    def _check_range_rate(self, with_range_rate: bool) -> None:
        if with_range_rate and not self.measures_range_rate:
            raise SensorValueError(
                self.sensor_id, self.sensor_type, "sigma_range_rate_mps", self.sigma_range_rate_mps
            )

    def dim(self, with_range_rate: bool) -> int:
        return 4 if with_range_rate else 3

    def z_from_reports(
        self, reports: Mapping[str, NDArray[Any]], with_range_rate: bool
    ) -> FloatArray:
        self._check_range_rate(with_range_rate)
        cols = [
            np.asarray(reports["range_m"], dtype=np.float64),
            np.radians(np.asarray(reports["az_deg"], dtype=np.float64)),
            np.radians(np.asarray(reports["el_deg"], dtype=np.float64)),
        ]
        if with_range_rate:
            cols.append(np.asarray(reports["range_rate_mps"], dtype=np.float64))
        return np.stack(cols, axis=-1)

    def _measure(self, x: FloatArray, with_range_rate: bool, enu: FloatArray) -> FloatArray:
        rng, az, el = range_az_el(enu)
        cols = [rng, az, el]
        if with_range_rate:
            # ṙ = v · (p − s) / |p − s|
            cols.append(np.einsum("...i,...i->...", x[..., 3:], x[..., :3] - self.ecef_m) / rng)
        return np.stack(cols, axis=-1)

    def _jacobian(
        self, x: FloatArray, with_range_rate: bool, enu: FloatArray, width: int
    ) -> FloatArray:
        d_range, d_az, d_el, rng = range_az_el_gradients(self, enu)
        H = np.zeros((x.shape[0], self.dim(with_range_rate), width))
        H[:, 0, :3] = d_range
        H[:, 1, :3] = d_az
        H[:, 2, :3] = d_el
        if with_range_rate:
            los = (x[:, :3] - self.ecef_m) / rng[:, None]
            rr = np.einsum("ki,ki->k", x[:, 3:], los)
            # ∂ṙ/∂p = (v − ṙ û) / r;  ∂ṙ/∂v = û
            H[:, 3, :3] = (x[:, 3:] - rr[:, None] * los) / rng[:, None]
            H[:, 3, 3:] = los
        return H

    def measure(self, x: FloatArray, with_range_rate: bool) -> FloatArray:
        return self._measure(x, with_range_rate, local_enu(self, x[..., :3]))

    def jacobian(self, x: FloatArray, with_range_rate: bool) -> FloatArray:
        return self._jacobian(x, with_range_rate, local_enu(self, x[:, :3]), STATE_DIM)

    def measure_jacobian(
        self, x: FloatArray, with_range_rate: bool, position_only: bool = False
    ) -> tuple[FloatArray, FloatArray]:
        no_range_rate(self, position_only, with_range_rate)
        enu = local_enu(self, x[..., :3])
        width = 3 if position_only else STATE_DIM
        return self._measure(x, with_range_rate, enu), self._jacobian(
            x, with_range_rate, enu, width
        )

    def residual(self, z: FloatArray, z_pred: FloatArray) -> FloatArray:
        nu = z - z_pred
        nu[..., 1] = wrap(nu[..., 1])
        return nu

    def noise(self, z: FloatArray, with_range_rate: bool) -> FloatArray:
        sig = [self.sigma_range_m, self.sigma_az_rad, self.sigma_el_rad]
        if with_range_rate:
            sig.append(self.sigma_range_rate_mps)
        return diagonal_noise(sig, z.shape[0])

    def clutter_density(self, with_range_rate: bool) -> float:
        fa = max(self.false_alarms_per_scan, 1e-3)
        r_span = max(self.max_range_m - self.min_range_m, 1.0)
        volume = r_span * self.az_span_rad * self.el_span_rad
        if with_range_rate:
            volume *= CLUTTER_RANGE_RATE_SPAN_MPS
        return fa / volume

    def pregate_points_z(self, z: FloatArray) -> FloatArray:
        """The reported ECEF position."""
        enu = aer_to_enu(np.degrees(z[:, 1]), np.degrees(z[:, 2]), z[:, 0])
        return enu_to_ecef(enu, self.ecef_m, self.basis)

    def pregate_points_x(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        return x[:, :3], np.ones(x.shape[0])

    def pregate_sigma(self, x: FloatArray) -> FloatArray:
        rng = np.linalg.norm(x[:, :3] - self.ecef_m, axis=-1)
        sigma: FloatArray = np.sqrt(
            self.sigma_range_m**2 + (rng * self.sigma_az_rad) ** 2 + (rng * self.sigma_el_rad) ** 2
        )
        return sigma

    def pregate_reach(self, points_z: FloatArray) -> PregateReach | None:
        """The pre-gate space is ECEF: the reports' bounding box."""
        angular = math.hypot(self.sigma_az_rad, self.sigma_el_rad)
        return PregateReach.box(points_z, self.sigma_range_m, angular)

    def initial_position(self, z: FloatArray, unobserved_alt_m: float) -> FloatArray:
        return self.pregate_points_z(z)

"""2D radar: slant range and azimuth; altitude unobserved (a prior at initiation, no fake report)
— unless the report carries Mode C.

Without Mode C:  z = (r, az),  R = diag(σr², σaz²).

With Mode C (a secondary radar's, or a 2D primary radar's reports merged with
one: CAT048 I090), `Radar2DModeC`:  z = (r, az, a_p) where a_p is the pressure
altitude the transponder reported, and

    h₃(x) = H(h(x)),   ∂h₃/∂x = (r₀/(r₀+h))² · û(x)

with h the geodetic height of the state (taken as the geometric height of the
standard atmosphere: the geoid's tens of metres are inside σ below), H the
standard atmosphere's pressure altitude (`geo.atmosphere`, geopotential height)
and û the ellipsoid normal at x (∂h/∂p for a geodetic height). R = diag(σr²,
σaz², σp²) with

    σp² = σ_day² + step²/12,   σ_day = 60 m (`NONSTANDARD_DAY_SIGMA_M`),
                               step = 100 ft (Mode C's; 25 ft reports only shrink it)

— the unknown atmosphere of the day dominates: a QNH or temperature off the
standard moves every aircraft's pressure altitude alike by tens to hundreds of
metres; the quantisation is uniform over one step (σ 8.8 m). Both are errors
the filter treats as white, though the day's is correlated per aircraft over a
run: a track's altitude may sit up to ~σ_day off truth, never the kilometres of
an unobserved one.

A Mode C report pins down the 3D position, so it may start a track
(`can_initiate`, `observes_altitude`): the initial position is on the
(range, azimuth) locus at the geometric height of the reported pressure altitude.

A batch may mix reports with and without Mode C: `Radar2D.mode_c_rows` tells
which, and `Radar2D.with_mode_c()` is the model of those rows (the tracker
splits a sensor's batch into the two, as it splits a 3D radar's by range rate).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from airpicture.geo import aer_to_enu, ecef_to_geodetic, enu_basis, enu_to_ecef
from airpicture.geo.atmosphere import (
    MODE_C_STEP_M,
    NONSTANDARD_DAY_SIGMA_M,
    geometric_altitude_m,
    pressure_altitude_m,
    pressure_altitude_slope,
)
from airpicture.tracking.measurement.base import (
    FloatArray,
    LocalFrameSite,
    MeasurementModel,
    PregateReach,
    SensorSite,
    diagonal_noise,
    no_range_rate,
)
from airpicture.tracking.measurement.range_azimuth import RangeAzimuthSite
from airpicture.tracking.motion import STATE_DIM

#: σ (m) of a Mode C pressure altitude against the standard atmosphere's pressure
#: altitude of the true height: the day's atmosphere and the 100 ft step.
MODE_C_SIGMA_M: float = math.hypot(NONSTANDARD_DAY_SIGMA_M, MODE_C_STEP_M / math.sqrt(12.0))
#: Span (m) of pressure altitude over which false Mode C replies are taken as uniform.
MODE_C_CLUTTER_SPAN_M: float = 15_000.0


@dataclass(frozen=True, kw_only=True)
class Radar2D(LocalFrameSite, RangeAzimuthSite):
    """A 2D (range, azimuth) surveillance radar."""

    sensor_type: ClassVar[str] = "radar2d"
    fixes_positions: ClassVar[bool] = True
    #: Slant range and azimuth in the site's ENU frame.
    local_rows: ClassVar[tuple[int, ...]] = (0, 1)

    def pregate_reach(self, points_z: FloatArray) -> PregateReach | None:
        """A polar-plane point's norm is the slant range |p − site|."""
        return PregateReach.range_shell(points_z, self.sigma_range_m, self.sigma_az_rad)

    def initial_position(self, z: FloatArray, unobserved_alt_m: float) -> FloatArray:
        return self._position_at(z, np.full(z.shape[0], unobserved_alt_m))

    def _position_at(self, z: FloatArray, alt_m: FloatArray) -> FloatArray:
        # The elevation at which slant range r reaches the height over a
        # sphere of the local radius: h ≈ h_s + r sin(el) + r² cos²(el) / 2Rₑ.
        r = z[:, 0]
        earth_r = float(np.linalg.norm(self.ecef_m)) - self.alt_m
        sin_el = (alt_m - self.alt_m - r * r / (2.0 * earth_r)) / np.maximum(r, 1.0)
        el = np.arcsin(np.clip(sin_el, 0.0, 0.99))
        enu = aer_to_enu(np.degrees(z[:, 1]), np.degrees(el), r)
        return enu_to_ecef(enu, self.ecef_m, self.basis)

    @staticmethod
    def mode_c_rows(reports: Mapping[str, NDArray[Any]]) -> NDArray[np.bool_]:
        """Which reports carry a Mode C altitude (a finite `pressure_alt_m`)."""
        values = reports.get("pressure_alt_m")
        n = len(next(iter(reports.values()))) if reports else 0
        if values is None:
            return np.zeros(n, dtype=bool)
        return np.isfinite(np.asarray(values, dtype=np.float64))

    def with_mode_c(self) -> Radar2DModeC:
        """The model of this radar's reports that carry Mode C (made once, then kept)."""
        return self._mode_c_model

    @cached_property
    def _mode_c_model(self) -> Radar2DModeC:
        return Radar2DModeC(**{f.name: getattr(self, f.name) for f in fields(self) if f.init})

    def split_models(
        self, reports: Mapping[str, NDArray[Any]]
    ) -> list[tuple[NDArray[np.bool_], MeasurementModel]]:
        """Reports with Mode C (`Radar2DModeC`) and without (this model)."""
        mode_c = self.mode_c_rows(reports)
        return [(mode_c, self.with_mode_c()), (~mode_c, self)]


@dataclass(frozen=True, kw_only=True)
class Radar2DModeC(Radar2D):
    """A 2D radar's reports with Mode C: (slant range, azimuth, pressure altitude)."""

    can_initiate: ClassVar[bool] = True
    observes_altitude: ClassVar[bool] = True
    required_columns: ClassVar[tuple[str, ...]] = ("range_m", "az_deg", "pressure_alt_m")

    def dim(self, with_range_rate: bool) -> int:
        return 3

    def split_models(
        self, reports: Mapping[str, NDArray[Any]]
    ) -> list[tuple[NDArray[np.bool_], MeasurementModel]]:
        """Its reports all carry Mode C (it is what `Radar2D.split_models` gives them to)."""
        return SensorSite.split_models(self, reports)

    def z_from_reports(
        self, reports: Mapping[str, NDArray[Any]], with_range_rate: bool
    ) -> FloatArray:
        z2 = super().z_from_reports(reports, with_range_rate)
        alt = np.asarray(reports["pressure_alt_m"], dtype=np.float64)
        return np.concatenate([z2, alt[:, None]], axis=-1)

    def measure(self, x: FloatArray, with_range_rate: bool) -> FloatArray:
        _, _, h = ecef_to_geodetic(x[..., :3])
        return np.concatenate([super().measure(x, False), pressure_altitude_m(h)[..., None]], -1)

    def _altitude_row(self, pos: FloatArray) -> tuple[FloatArray, FloatArray]:
        """h₃ `(K,)` and ∂h₃/∂p `(K, 3)`."""
        lat, lon, h = ecef_to_geodetic(pos)
        up = enu_basis(lat, lon)[..., 2, :]
        return pressure_altitude_m(h), pressure_altitude_slope(h)[:, None] * up

    def jacobian(self, x: FloatArray, with_range_rate: bool) -> FloatArray:
        return self.measure_jacobian(x, with_range_rate)[1]

    def measure_jacobian(
        self, x: FloatArray, with_range_rate: bool, position_only: bool = False
    ) -> tuple[FloatArray, FloatArray]:
        no_range_rate(self, position_only, with_range_rate)
        z2, H2 = super().measure_jacobian(x, False, position_only)
        alt, d_alt = self._altitude_row(x[:, :3])
        H = np.zeros((x.shape[0], 3, 3 if position_only else STATE_DIM))
        H[:, :2, :] = H2
        H[:, 2, :3] = d_alt
        return np.concatenate([z2, alt[:, None]], axis=-1), H

    def noise(self, z: FloatArray, with_range_rate: bool) -> FloatArray:
        return diagonal_noise([self.sigma_range_m, self.sigma_az_rad, MODE_C_SIGMA_M], z.shape[0])

    def clutter_density(self, with_range_rate: bool) -> float:
        """False alarms per unit of (range, azimuth, pressure altitude): uniform."""
        return super().clutter_density(with_range_rate) / MODE_C_CLUTTER_SPAN_M

    def pregate_points_z(self, z: FloatArray) -> FloatArray:
        return super().pregate_points_z(z[:, :2])

    def initial_position(self, z: FloatArray, unobserved_alt_m: float) -> FloatArray:
        """On the (range, azimuth) locus at the geometric height of the pressure altitude:
        the sphere's elevation (below the horizon too), then Newton steps on the
        ellipsoid's height (∂h/∂el ≈ r cos el)."""
        r, az = z[:, 0], np.degrees(z[:, 1])
        target = geometric_altitude_m(z[:, 2])
        earth_r = float(np.linalg.norm(self.ecef_m)) - self.alt_m
        sin_el = (target - self.alt_m - r * r / (2.0 * earth_r)) / np.maximum(r, 1.0)
        el = np.arcsin(np.clip(sin_el, -0.5, 0.99))
        for _ in range(3):
            pos = enu_to_ecef(aer_to_enu(az, np.degrees(el), r), self.ecef_m, self.basis)
            _, _, h = ecef_to_geodetic(pos, refine=False)
            el = np.clip(el + (target - h) / np.maximum(r * np.cos(el), 1.0), -0.5, 1.47)
        return enu_to_ecef(aer_to_enu(az, np.degrees(el), r), self.ecef_m, self.basis)

"""The `MeasurementModel` Protocol, the site every sensor kind shares, and shared geometry.

A sensor kind is one class (`radar.Radar3D`, `radar2d.Radar2D`, `oth.OTHRadar`,
`space_ir.SpaceIR`, `adsb.ADSB`); the tracker calls it only through this
Protocol, batch first: states `x (K, 6)` in ECEF metres and m/s, measurements
`z (m, d)` in the sensor's own coordinates (radians inside).

`SensorSite` holds what all kinds share (id, nation, position, pd, revisit,
coverage); each kind adds its own sigmas and checks them when it is built, so
that a sensor lacking a value its model needs fails with its id at
construction, not in the hot path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np
from numpy.typing import NDArray

from airpicture.geo import enu_basis, geodetic_to_ecef
from airpicture.tracking.linalg import rows_matmul
from airpicture.tracking.motion import STATE_DIM
from airpicture.tracking.view import BoostReports

FloatArray = NDArray[np.float64]

#: Range-rate span (m/s) over which a radar's false alarms are assumed spread,
#: for the clutter density of the track score (the textbook uniform clutter).
CLUTTER_RANGE_RATE_SPAN_MPS = 2000.0


class SensorSpec(Protocol):
    """What the tracker reads of a scenario's sensor (the scenario model satisfies it)."""

    @property
    def id(self) -> str: ...
    @property
    def nation(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def lat_deg(self) -> float: ...
    @property
    def lon_deg(self) -> float: ...
    @property
    def alt_m(self) -> float: ...
    @property
    def pd(self) -> float: ...


class SensorValueError(ValueError):
    """A sensor lacks a value its measurement model needs, or has an unusable one."""

    def __init__(self, sensor_id: str, sensor_type: str, name: str, value: object) -> None:
        super().__init__(
            f"sensor {sensor_id} ({sensor_type}): {name} is {value!r}; "
            f"a {sensor_type} sensor needs a finite, positive {name}"
        )
        self.sensor_id = sensor_id
        self.sensor_type = sensor_type
        self.name = name
        self.value = value


class UnknownSensorTypeError(ValueError):
    """A scenario sensor of a type no measurement model is registered for."""

    def __init__(self, sensor_id: str, sensor_type: str, known: tuple[str, ...]) -> None:
        super().__init__(
            f"sensor {sensor_id}: unknown type {sensor_type!r}; known types: {', '.join(known)}"
        )
        self.sensor_id = sensor_id
        self.sensor_type = sensor_type
        self.known = known


class MeasurementModel(Protocol):
    """One sensor kind's measurement model: everything the tracker asks of a sensor.

    `with_range_rate` selects the range-rate measurement of a sensor that has
    one (a radar's reports may come with or without it); other kinds ignore it.
    """

    #: The scenario `type` this model is registered under.
    sensor_type: ClassVar[str]
    #: Capabilities: whether a lone report may start a track; whether reports
    #: carry an identity that associates first (ADS-B); whether reports no track
    #: took are kept as boost reports instead (update-only space IR); whether
    #: the measurement pins down altitude.
    can_initiate: ClassVar[bool]
    associates_by_identity: ClassVar[bool]
    update_only: ClassVar[bool]
    observes_altitude: ClassVar[bool]
    #: Whether the sensor reports aircraft at all (space IR sees only boosting missiles):
    #: registration pairs only such sensors' reports with ADS-B aircraft.
    sees_aircraft: ClassVar[bool]
    #: Whether some of its reports fix a 3D position (a 3D radar's; a 2D radar's with Mode
    #: C): registration links such reports scan to scan as an anchor for its partners.
    fixes_positions: ClassVar[bool]
    #: The plot columns that must be finite for a report to be usable.
    required_columns: ClassVar[tuple[str, ...]]

    @property
    def sensor_id(self) -> str: ...
    @property
    def nation(self) -> str: ...
    @property
    def lat_deg(self) -> float: ...
    @property
    def lon_deg(self) -> float: ...
    @property
    def alt_m(self) -> float: ...
    @property
    def pd(self) -> float: ...
    @property
    def revisit_s(self) -> float: ...
    @property
    def ecef_m(self) -> FloatArray: ...
    @property
    def basis(self) -> FloatArray: ...
    @property
    def measures_range_rate(self) -> bool: ...

    def dim(self, with_range_rate: bool) -> int:
        """Length d of a measurement vector."""
        ...

    def z_from_reports(
        self, reports: Mapping[str, NDArray[Any]], with_range_rate: bool
    ) -> FloatArray:
        """Measurement vectors `(m, d)` from plot columns (degrees → radians, geodetic → ECEF)."""
        ...

    def measure(self, x: FloatArray, with_range_rate: bool) -> FloatArray:
        """h(x): predicted measurements `(K, d)` of states `(K, 6)`."""
        ...

    def jacobian(self, x: FloatArray, with_range_rate: bool) -> FloatArray:
        """H = ∂h/∂x `(K, d, 6)`."""
        ...

    def measure_jacobian(
        self, x: FloatArray, with_range_rate: bool, position_only: bool = False
    ) -> tuple[FloatArray, FloatArray]:
        """h(x) and H(x) sharing one change of frame; `position_only`: H's first 3 columns."""
        ...

    def residual(self, z: FloatArray, z_pred: FloatArray) -> FloatArray:
        """ν = z − h(x), angles wrapped to (−π, π]."""
        ...

    def noise(self, z: FloatArray, with_range_rate: bool) -> FloatArray:
        """R `(m, d, d)` of measurements z `(m, d)`."""
        ...

    def clutter_density(self, with_range_rate: bool) -> float:
        """False alarms per unit measurement volume (units of z), for the track score."""
        ...

    def pregate_points_z(self, z: FloatArray) -> FloatArray:
        """Cartesian image of measurements for the pre-gate's plain distances."""
        ...

    def pregate_points_x(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Pre-gate image of states and each one's metres → pre-gate-units scale."""
        ...

    def pregate_sigma(self, x: FloatArray) -> FloatArray:
        """One-sigma size of a measurement's error near states x, in pre-gate units."""
        ...

    def pregate_reach(self, points_z: FloatArray) -> PregateReach | None:
        """Where in ECEF the pre-gate points `points_z` of a batch's reports lie, for the
        gate's coverage cut (`PregateReach`); None: the kind has none (no cut)."""
        ...

    def initial_position(self, z: FloatArray, unobserved_alt_m: float) -> FloatArray:
        """A position `(m, 3)` ECEF on each measurement's locus (at `unobserved_alt_m`
        where the sensor does not observe altitude)."""
        ...

    def boost_reports(self, z: FloatArray, time_s: FloatArray) -> BoostReports:
        """Reports no track took, as boost reports (only update-only models keep them)."""
        ...

    def split_models(
        self, reports: Mapping[str, NDArray[Any]]
    ) -> list[tuple[NDArray[np.bool_], MeasurementModel]]:
        """The parts of a batch of this sensor's reports that one model each measures
        (a 2D radar's reports with Mode C and without): (rows, model) pairs, rows a mask.
        Range rate is not split here (`with_range_rate` does that)."""
        ...


@dataclass(frozen=True, kw_only=True)
class SensorSite:
    """What every sensor kind shares: where it is, how often and how well it reports.

    Angles in radians; `az_span_rad` and `el_span_rad` are the coverage over
    which false alarms are uniform.
    """

    sensor_type: ClassVar[str]
    #: The scenario field holding the revisit (scan or report period).
    revisit_field: ClassVar[str] = "scan_period_s"
    sees_aircraft: ClassVar[bool] = True
    fixes_positions: ClassVar[bool] = False

    sensor_id: str
    nation: str
    lat_deg: float
    lon_deg: float
    alt_m: float
    pd: float
    revisit_s: float
    false_alarms_per_scan: float = 0.0
    min_range_m: float = 0.0
    max_range_m: float = 1.0e7
    az_span_rad: float = 2.0 * math.pi
    el_span_rad: float = 0.5 * math.pi
    ecef_m: FloatArray = field(init=False, repr=False, compare=False)
    basis: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ecef_m", geodetic_to_ecef(self.lat_deg, self.lon_deg, self.alt_m))
        object.__setattr__(self, "basis", enu_basis(self.lat_deg, self.lon_deg))

    def require_positive(self, *names: str) -> None:
        """Fail, naming the sensor, unless every named value is finite and positive."""
        for name in names:
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise SensorValueError(self.sensor_id, self.sensor_type, name, value)

    @property
    def measures_range_rate(self) -> bool:
        return False

    def pregate_reach(self, points_z: FloatArray) -> PregateReach | None:
        return None

    def split_models(
        self, reports: Mapping[str, NDArray[Any]]
    ) -> list[tuple[NDArray[np.bool_], MeasurementModel]]:
        """One model for every report: this one."""
        n = len(next(iter(reports.values()))) if reports else 0
        return [(np.ones(n, dtype=bool), self)]  # type: ignore[list-item]

    def boost_reports(self, z: FloatArray, time_s: FloatArray) -> BoostReports:
        raise TypeError(
            f"sensor {self.sensor_id} ({self.sensor_type}) starts tracks from the reports "
            "no track took; only update-only sensors keep them as boost reports"
        )

    @classmethod
    def site_fields(cls, spec: SensorSpec) -> dict[str, Any]:
        """The shared fields of a scenario sensor (duck-typed on the field names)."""
        half_width = getattr(spec, "half_width_deg", None)
        min_el = max(spec_value(spec, "min_el_deg", 0.0), 0.0)
        return {
            "sensor_id": spec.id,
            "nation": spec.nation,
            "lat_deg": float(spec.lat_deg),
            "lon_deg": float(spec.lon_deg),
            "alt_m": float(spec.alt_m),
            "pd": float(spec.pd),
            "revisit_s": spec_value(spec, cls.revisit_field),
            "false_alarms_per_scan": spec_value(spec, "false_alarms_per_scan", 0.0),
            "min_range_m": spec_value(spec, "min_range_m", 0.0),
            "max_range_m": spec_value(spec, "max_range_m", 1.0e7),
            "az_span_rad": 2.0 * math.pi
            if half_width is None
            else math.radians(2.0 * float(half_width)),
            "el_span_rad": math.radians(max(spec_value(spec, "max_el_deg", 90.0) - min_el, 1.0)),
        }


def spec_value(spec: Any, name: str, default: float = math.nan) -> float:
    """A scenario sensor's field as a float, `default` when it is absent or None."""
    value = getattr(spec, name, None)
    return default if value is None else float(value)


@dataclass(frozen=True, kw_only=True)
class LocalFrameSite(SensorSite):
    """Kinds whose z is some of (slant range, azimuth, elevation) in the site's ENU frame,
    without range rate: `local_rows` names which (0 range, 1 azimuth, 2 elevation).

    h(x) and H(x) share one change of frame (`measure_jacobian`), the fast path of the gate.
    """

    local_rows: ClassVar[tuple[int, ...]]

    def measure(self, x: FloatArray, with_range_rate: bool) -> FloatArray:
        rae = range_az_el(local_enu(self, x[..., :3]))
        return np.stack([rae[i] for i in self.local_rows], axis=-1)

    def _jacobian(self, enu: FloatArray, width: int) -> FloatArray:
        gradients = range_az_el_gradients(self, enu)
        H = np.zeros((enu.shape[0], len(self.local_rows), width))
        for row, i in enumerate(self.local_rows):
            H[:, row, :3] = gradients[i]
        return H

    def jacobian(self, x: FloatArray, with_range_rate: bool) -> FloatArray:
        return self._jacobian(local_enu(self, x[:, :3]), STATE_DIM)

    def measure_jacobian(
        self, x: FloatArray, with_range_rate: bool, position_only: bool = False
    ) -> tuple[FloatArray, FloatArray]:
        no_range_rate(self, position_only, with_range_rate)
        enu = local_enu(self, x[..., :3])
        rae = range_az_el(enu)
        z = np.stack([rae[i] for i in self.local_rows], axis=-1)
        return z, self._jacobian(enu, 3 if position_only else STATE_DIM)


# --------------------------------------------------------------------------- shared geometry


def wrap(angle: FloatArray) -> FloatArray:
    """Angle difference wrapped to (−π, π]."""
    return np.mod(angle + np.pi, 2.0 * np.pi) - np.pi


def local_enu(site: SensorSite, pos: FloatArray) -> FloatArray:
    """ECEF positions → ENU metres about the sensor (the one change of frame per call)."""
    return rows_matmul(pos - site.ecef_m, site.basis.T)


def range_az_el(enu: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Slant range, azimuth (clockwise from north, [0, 2π)) and elevation of ENU points."""
    e, n, u = enu[..., 0], enu[..., 1], enu[..., 2]
    horiz = np.hypot(e, n)
    rng = np.hypot(horiz, u)
    az = np.mod(np.arctan2(e, n), 2.0 * np.pi)
    el = np.arctan2(u, horiz)
    return rng, az, el


def range_az_el_gradients(
    site: SensorSite, enu: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """∂(range, az, el)/∂(ECEF position) rows `(K, 3)` each, and the slant range `(K,)`."""
    e, n, u = enu[:, 0], enu[:, 1], enu[:, 2]
    h2 = np.maximum(e * e + n * n, 1e-6)
    horiz = np.sqrt(h2)
    r2 = h2 + u * u
    rng = np.sqrt(r2)
    zero = np.zeros_like(e)
    B = site.basis
    # ∂r/∂enu = enu / r;  ∂az/∂enu = (n, −e, 0) / ρ²;  ∂el/∂enu = (−e u, −n u, ρ²) / (r² ρ)
    d_range = rows_matmul(np.stack([e / rng, n / rng, u / rng], axis=-1), B)
    d_az = rows_matmul(np.stack([n / h2, -e / h2, zero], axis=-1), B)
    d_el = rows_matmul(np.stack([-e * u, -n * u, h2], axis=-1) / (r2 * horiz)[:, None], B)
    return d_range, d_az, d_el, rng


@dataclass(frozen=True)
class PregateReach:
    """What the gate's coverage cut needs to know of a kind's pre-gate for one batch.

    The kind's pre-gate space is metres with scale 1 (`pregate_points_x`), and
    for a state at ECEF position p:
    * the distance from its pre-gate point to every report's is at least the
      distance from p to the box [`box_low_m`, `box_high_m`] (ECEF) and at least
      the distance from |p − site| to [`range_low_m`, `range_high_m`] (both
      1-Lipschitz in p; an infinite box or interval bounds nothing);
    * `pregate_sigma` is at most √(σ0² + (r σ_ang)²) at r = |p − site|, i.e.
      `sigma0_m` and `sigma_per_m`.
    """

    box_low_m: FloatArray  # (3,)
    box_high_m: FloatArray  # (3,)
    range_low_m: float
    range_high_m: float
    sigma0_m: float
    sigma_per_m: float

    @classmethod
    def box(cls, points: FloatArray, sigma0_m: float, sigma_per_m: float) -> PregateReach:
        """Pre-gate points that are ECEF positions: their bounding box."""
        return cls(points.min(axis=0), points.max(axis=0), 0.0, math.inf, sigma0_m, sigma_per_m)

    @classmethod
    def range_shell(cls, points: FloatArray, sigma0_m: float, sigma_per_m: float) -> PregateReach:
        """Pre-gate points whose norm is the slant range |p − site| (a polar plane):
        | |p| − |q| | ≤ |p − q|, so the interval of their norms."""
        norm = np.sqrt(np.einsum("ij,ij->i", points, points))
        everywhere = np.full(3, math.inf)
        return cls(-everywhere, everywhere, float(norm.min()), float(norm.max()),
                   sigma0_m, sigma_per_m)  # fmt: skip


def polar_plane_points(z: FloatArray) -> FloatArray:
    """range·(sin az, cos az): a (range, azimuth) report's pre-gate image, exact at any altitude."""
    return np.stack([z[:, 0] * np.sin(z[:, 1]), z[:, 0] * np.cos(z[:, 1])], axis=-1)


def no_range_rate(site: SensorSite, position_only: bool, with_range_rate: bool) -> None:
    """Refuse a position-only Jacobian of a range-rate measurement (its H has velocity columns)."""
    if position_only and with_range_rate:
        raise ValueError(
            f"sensor {site.sensor_id}: a range-rate Jacobian has velocity columns; "
            "position_only needs no range rate"
        )


def measure_and_jacobian(
    model: MeasurementModel, x: FloatArray, with_range_rate: bool, position_only: bool
) -> tuple[FloatArray, FloatArray]:
    """h(x) and H(x) computed apart, H cut to its position columns if asked: the
    `measure_jacobian` of kinds with no change of frame to share between the two."""
    H = model.jacobian(x, with_range_rate)
    width = 3 if position_only else STATE_DIM
    return model.measure(x, with_range_rate), np.ascontiguousarray(H[:, :, :width])


def diagonal_noise(sigmas: list[float], m: int) -> FloatArray:
    """R = diag(σ²) for each of m measurements."""
    return np.broadcast_to(np.diag(np.square(sigmas)), (m, len(sigmas), len(sigmas))).copy()

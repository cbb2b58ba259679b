"""Measurement models: ECEF state → each sensor kind's own coordinates.

Internal measurement vectors (radians inside, metres, metres per second):

| kind      | z                                   | noise R                          |
|-----------|-------------------------------------|----------------------------------|
| radar     | range, az, el [, range rate]        | diag(σr², σaz², σel² [, σrr²])   |
| radar2d   | slant range, az                     | diag(σr², σaz²)                  |
| oth       | ground range, az (geodesic)         | diag(σr², σaz²)                  |
| space_ir  | az, el in the satellite's ENU frame | diag((σ/cos el)², σ²)            |
| adsb      | ECEF position (from lat, lon, alt)  | B' diag(σh², σh², σv²) B         |

Azimuth is clockwise from true north; elevation above the sensor's WGS-84
ENU plane; range rate is the target's ECEF velocity on the line of sight (the
sensor is fixed on the Earth). These invert the simulator's conventions exactly.

Each kind also gives a *pre-gate point*: a Cartesian image of a measurement
(and of a predicted state) in which a kd-tree finds candidate pairs by plain
distance before the Mahalanobis gate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from airpicture.geo import (
    aer_to_enu,
    ecef_to_geodetic,
    enu_basis,
    enu_to_ecef,
    geodesic_bearing_deg,
    geodesic_distance_m,
    geodesic_forward,
    geodetic_to_ecef,
)
from airpicture.tracking.linalg import rows_matmul, spd_inverse, symmetrize
from airpicture.tracking.motion import STATE_DIM

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

SensorKind = Literal["radar", "radar2d", "oth", "space_ir", "adsb"]
SENSOR_KINDS: Final = ("radar", "radar2d", "oth", "space_ir", "adsb")

#: Range-rate span (m/s) over which a radar's false alarms are assumed spread,
#: for the clutter density of the track score (the textbook uniform clutter).
CLUTTER_RANGE_RATE_SPAN_MPS: Final[float] = 2000.0


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


@dataclass(frozen=True)
class SensorModel:
    """A sensor as the tracker sees it: where it is, what it measures, how well.

    Angles in radians. `sigma_range_rate_mps` is NaN when range rate is not measured.
    """

    sensor_id: str
    nation: str
    kind: SensorKind
    lat_deg: float
    lon_deg: float
    alt_m: float
    pd: float
    revisit_s: float
    false_alarms_per_scan: float = 0.0
    min_range_m: float = 0.0
    max_range_m: float = 1.0e7
    sigma_range_m: float = float("nan")
    sigma_az_rad: float = float("nan")
    sigma_el_rad: float = float("nan")
    sigma_range_rate_mps: float = float("nan")
    sigma_los_rad: float = float("nan")
    sigma_pos_m: float = float("nan")
    az_span_rad: float = 2.0 * math.pi
    #: Elevation span of the coverage (false alarms are uniform over it), radians.
    el_span_rad: float = 0.5 * math.pi
    ecef_m: FloatArray = field(init=False, repr=False, compare=False)
    basis: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ecef_m", geodetic_to_ecef(self.lat_deg, self.lon_deg, self.alt_m))
        object.__setattr__(self, "basis", enu_basis(self.lat_deg, self.lon_deg))

    @property
    def measures_range_rate(self) -> bool:
        return self.kind == "radar" and not math.isnan(self.sigma_range_rate_mps)

    @property
    def can_initiate(self) -> bool:
        """Angles-only space IR cannot start a track: it has no range."""
        return self.kind != "space_ir"

    @property
    def observes_altitude(self) -> bool:
        return self.kind in ("radar", "adsb")

    def clutter_density(self, with_range_rate: bool) -> float:
        """False alarms per unit measurement volume (units of z), for the track score."""
        fa = max(self.false_alarms_per_scan, 1e-3)
        r_span = max(self.max_range_m - self.min_range_m, 1.0)
        if self.kind == "radar":
            volume = r_span * self.az_span_rad * self.el_span_rad
            if with_range_rate:
                volume *= CLUTTER_RANGE_RATE_SPAN_MPS
        elif self.kind in ("radar2d", "oth"):
            volume = r_span * self.az_span_rad
        elif self.kind == "space_ir":
            volume = 4.0 * math.pi
        else:  # adsb: cooperative reports, no false alarms; density per cubic metre
            volume = (2.0 * self.max_range_m) ** 2 * 2.0e4
        return fa / volume


def _get(spec: Any, name: str, default: float = float("nan")) -> float:
    value = getattr(spec, name, None)
    return default if value is None else float(value)


def sensor_model_from_spec(spec: SensorSpec) -> SensorModel:
    """Build the tracker's view of one scenario sensor (duck-typed on the field names)."""
    kind = spec.type
    if kind not in SENSOR_KINDS:
        raise ValueError(f"sensor {spec.id}: unknown type {kind!r}; expected one of {SENSOR_KINDS}")
    half_width = getattr(spec, "half_width_deg", None)
    az_span = 2.0 * math.pi if half_width is None else math.radians(2.0 * float(half_width))
    min_el = max(_get(spec, "min_el_deg", 0.0), 0.0)
    el_span = math.radians(max(_get(spec, "max_el_deg", 90.0) - min_el, 1.0))
    period = _get(spec, "scan_period_s") if kind != "adsb" else _get(spec, "report_period_s")
    return SensorModel(
        sensor_id=spec.id,
        nation=spec.nation,
        kind=kind,  # type: ignore[arg-type]
        lat_deg=float(spec.lat_deg),
        lon_deg=float(spec.lon_deg),
        alt_m=float(spec.alt_m),
        pd=float(spec.pd),
        revisit_s=period,
        false_alarms_per_scan=_get(spec, "false_alarms_per_scan", 0.0),
        min_range_m=_get(spec, "min_range_m", 0.0),
        max_range_m=_get(spec, "max_range_m", 1.0e7),
        sigma_range_m=_get(spec, "sigma_range_m"),
        sigma_az_rad=math.radians(_get(spec, "sigma_az_deg")),
        sigma_el_rad=math.radians(_get(spec, "sigma_el_deg")),
        sigma_range_rate_mps=_get(spec, "sigma_range_rate_mps"),
        sigma_los_rad=_get(spec, "sigma_los_urad") * 1e-6,
        sigma_pos_m=_get(spec, "sigma_pos_m"),
        az_span_rad=az_span,
        el_span_rad=el_span,
    )


# --------------------------------------------------------------------------- plots → z


def measurement_dim(sensor: SensorModel, with_range_rate: bool) -> int:
    if sensor.kind == "radar":
        return 4 if with_range_rate else 3
    return 3 if sensor.kind == "adsb" else 2


def required_columns(sensor: SensorModel) -> tuple[str, ...]:
    """The plot columns that must be finite for a report of this sensor to be usable."""
    return {
        "radar": ("range_m", "az_deg", "el_deg"),
        "radar2d": ("range_m", "az_deg"),
        "oth": ("range_m", "az_deg"),
        "space_ir": ("az_deg", "el_deg"),
        "adsb": ("lat_deg", "lon_deg", "alt_m"),
    }[sensor.kind]


def plots_to_z(
    sensor: SensorModel, plots: Mapping[str, NDArray[Any]], with_range_rate: bool
) -> FloatArray:
    """Measurement vectors `(m, d)` from plot columns (degrees → radians, geodetic → ECEF)."""
    if sensor.kind == "adsb":
        return geodetic_to_ecef(plots["lat_deg"], plots["lon_deg"], plots["alt_m"])
    az = np.radians(np.asarray(plots["az_deg"], dtype=np.float64))
    if sensor.kind == "space_ir":
        return np.stack([az, np.radians(np.asarray(plots["el_deg"], dtype=np.float64))], axis=-1)
    rng = np.asarray(plots["range_m"], dtype=np.float64)
    if sensor.kind in ("radar2d", "oth"):
        return np.stack([rng, az], axis=-1)
    el = np.radians(np.asarray(plots["el_deg"], dtype=np.float64))
    cols = [rng, az, el]
    if with_range_rate:
        cols.append(np.asarray(plots["range_rate_mps"], dtype=np.float64))
    return np.stack(cols, axis=-1)


# --------------------------------------------------------------------------- h(x), H(x)


def _local(sensor: SensorModel, pos: FloatArray) -> FloatArray:
    return rows_matmul(pos - sensor.ecef_m, sensor.basis.T)


def _oth_measure(sensor: SensorModel, pos: FloatArray) -> FloatArray:
    lat, lon, _ = ecef_to_geodetic(pos)
    ground = geodesic_distance_m(sensor.lat_deg, sensor.lon_deg, lat, lon)
    bearing = np.radians(geodesic_bearing_deg(sensor.lat_deg, sensor.lon_deg, lat, lon))
    return np.stack([ground, bearing], axis=-1)


def measure(sensor: SensorModel, x: FloatArray, with_range_rate: bool) -> FloatArray:
    """h(x): predicted measurements `(K, d)` of states `(K, 6)`."""
    return _measure(sensor, x, with_range_rate, None)


def measure_jacobian(
    sensor: SensorModel, x: FloatArray, with_range_rate: bool, position_only: bool = False
) -> tuple[FloatArray, FloatArray]:
    """h(x) and H(x) together, sharing one change of frame: `(K, d)`, `(K, d, 6)`.

    `position_only` returns only H's position columns `(K, d, 3)` (the velocity
    columns are zero unless range rate is measured).
    """
    if position_only and with_range_rate:
        raise ValueError(
            "a range-rate Jacobian has velocity columns: position_only needs no range rate"
        )
    width = 3 if position_only else STATE_DIM
    if sensor.kind in ("radar", "radar2d", "space_ir"):
        enu = _local(sensor, x[..., :3])
        return (
            _measure(sensor, x, with_range_rate, enu),
            _jacobian(sensor, x, with_range_rate, enu, width),
        )
    H = jacobian(sensor, x, with_range_rate)
    return measure(sensor, x, with_range_rate), np.ascontiguousarray(H[:, :, :width])


def _measure(
    sensor: SensorModel, x: FloatArray, with_range_rate: bool, enu: FloatArray | None
) -> FloatArray:
    pos = x[..., :3]
    if sensor.kind == "adsb":
        return pos.copy()
    if sensor.kind == "oth":
        return _oth_measure(sensor, pos)
    if enu is None:
        enu = _local(sensor, pos)
    e, n, u = enu[..., 0], enu[..., 1], enu[..., 2]
    horiz = np.hypot(e, n)
    rng = np.hypot(horiz, u)
    az = np.mod(np.arctan2(e, n), 2.0 * np.pi)
    el = np.arctan2(u, horiz)
    if sensor.kind == "space_ir":
        return np.stack([az, el], axis=-1)
    if sensor.kind == "radar2d":
        return np.stack([rng, az], axis=-1)
    cols = [rng, az, el]
    if with_range_rate:
        # ṙ = v · (p − s) / |p − s|
        cols.append(np.einsum("...i,...i->...", x[..., 3:], pos - sensor.ecef_m) / rng)
    return np.stack(cols, axis=-1)


def jacobian(sensor: SensorModel, x: FloatArray, with_range_rate: bool) -> FloatArray:
    """H = ∂h/∂x `(K, d, 6)`, analytic except for the geodesic OTH model."""
    if sensor.kind == "adsb":
        H = np.zeros((x.shape[0], 3, STATE_DIM))
        H[:, :, :3] = np.eye(3)
        return H
    if sensor.kind == "oth":
        return _oth_jacobian(sensor, x)
    return _jacobian(sensor, x, with_range_rate, None, STATE_DIM)


def _jacobian(
    sensor: SensorModel,
    x: FloatArray,
    with_range_rate: bool,
    enu: FloatArray | None,
    width: int,
) -> FloatArray:
    """Analytic H of radar, 2D radar and space IR; `width` 3 keeps the position columns only."""
    K = x.shape[0]
    d = measurement_dim(sensor, with_range_rate)
    H = np.zeros((K, d, width))
    pos = x[:, :3]
    if enu is None:
        enu = _local(sensor, pos)
    e, n, u = enu[:, 0], enu[:, 1], enu[:, 2]
    h2 = np.maximum(e * e + n * n, 1e-6)
    horiz = np.sqrt(h2)
    r2 = h2 + u * u
    rng = np.sqrt(r2)
    zero = np.zeros_like(e)
    B = sensor.basis
    # ∂r/∂enu = enu / r;  ∂az/∂enu = (n, −e, 0) / ρ²;  ∂el/∂enu = (−e u, −n u, ρ²) / (r² ρ)
    d_range = rows_matmul(np.stack([e / rng, n / rng, u / rng], axis=-1), B)
    d_az = rows_matmul(np.stack([n / h2, -e / h2, zero], axis=-1), B)
    d_el = rows_matmul(np.stack([-e * u, -n * u, h2], axis=-1) / (r2 * horiz)[:, None], B)
    if sensor.kind == "space_ir":
        H[:, 0, :3] = d_az
        H[:, 1, :3] = d_el
        return H
    H[:, 0, :3] = d_range
    H[:, 1, :3] = d_az
    if sensor.kind == "radar2d":
        return H
    H[:, 2, :3] = d_el
    if with_range_rate:
        los = (pos - sensor.ecef_m) / rng[:, None]
        rr = np.einsum("ki,ki->k", x[:, 3:], los)
        # ∂ṙ/∂p = (v − ṙ û) / r;  ∂ṙ/∂v = û
        H[:, 3, :3] = (x[:, 3:] - rr[:, None] * los) / rng[:, None]
        H[:, 3, 3:] = los
    return H


def _oth_jacobian(sensor: SensorModel, x: FloatArray, step_m: float = 50.0) -> FloatArray:
    """Central differences of the geodesic (ground range, bearing) model, batched."""
    K = x.shape[0]
    pos = x[:, :3]
    offsets = np.concatenate([np.eye(3), -np.eye(3)]) * step_m  # (6, 3)
    probe = (pos[:, None, :] + offsets[None, :, :]).reshape(-1, 3)
    z = _oth_measure(sensor, probe).reshape(K, 6, 2)
    dz = z[:, :3, :] - z[:, 3:, :]
    dz[..., 1] = _wrap(dz[..., 1])
    H = np.zeros((K, 2, STATE_DIM))
    H[:, :, :3] = np.swapaxes(dz, 1, 2) / (2.0 * step_m)
    return H


def _wrap(angle: FloatArray) -> FloatArray:
    """Angle difference wrapped to (−π, π]."""
    return np.mod(angle + np.pi, 2.0 * np.pi) - np.pi


def residual(sensor: SensorModel, z: FloatArray, z_pred: FloatArray) -> FloatArray:
    """ν = z − h(x), with azimuths wrapped so that 359.9° − 0.1° is −0.2°."""
    nu = z - z_pred
    if sensor.kind in ("radar", "radar2d", "oth"):
        nu[..., 1] = _wrap(nu[..., 1])
    elif sensor.kind == "space_ir":
        nu[..., 0] = _wrap(nu[..., 0])
    return nu


def noise(sensor: SensorModel, z: FloatArray, with_range_rate: bool) -> FloatArray:
    """R `(m, d, d)` for measurements z `(m, d)` (space IR and ADS-B depend on z)."""
    m = z.shape[0]
    if sensor.kind == "adsb":
        # R = B' diag(σ², σ², σ²) B = σ² I: the same σ on east, north and up is
        # isotropic, so the rotation from ENU to ECEF leaves it unchanged.
        return np.broadcast_to(sensor.sigma_pos_m**2 * np.eye(3), (m, 3, 3)).copy()
    if sensor.kind == "space_ir":
        cos_el = np.maximum(np.cos(z[:, 1]), 1e-3)
        R = np.zeros((m, 2, 2))
        R[:, 0, 0] = (sensor.sigma_los_rad / cos_el) ** 2
        R[:, 1, 1] = sensor.sigma_los_rad**2
        return R
    sig: list[float] = [sensor.sigma_range_m, sensor.sigma_az_rad]
    if sensor.kind == "radar":
        sig.append(sensor.sigma_el_rad)
        if with_range_rate:
            sig.append(sensor.sigma_range_rate_mps)
    return np.broadcast_to(np.diag(np.square(sig)), (m, len(sig), len(sig))).copy()


# --------------------------------------------------------------------------- pre-gate


def pregate_points_z(sensor: SensorModel, z: FloatArray) -> FloatArray:
    """Cartesian image of measurements for the kd-tree pre-gate.

    radar: the ECEF position; radar2d and oth: range·(sin az, cos az) in the
    sensor's plane (exact whatever the altitude); space IR: the unit line of
    sight (distances are then ≈ angles in radians); ADS-B: ECEF.
    """
    if sensor.kind == "adsb":
        return z
    if sensor.kind == "radar":
        enu = aer_to_enu(np.degrees(z[:, 1]), np.degrees(z[:, 2]), z[:, 0])
        return enu_to_ecef(enu, sensor.ecef_m, sensor.basis)
    if sensor.kind == "space_ir":
        return aer_to_enu(np.degrees(z[:, 0]), np.degrees(z[:, 1]), 1.0)
    return np.stack([z[:, 0] * np.sin(z[:, 1]), z[:, 0] * np.cos(z[:, 1])], axis=-1)


def pregate_points_x(sensor: SensorModel, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Pre-gate image of states and the metres → pre-gate-units scale of each."""
    if sensor.kind in ("radar", "adsb"):
        return x[:, :3], np.ones(x.shape[0])
    z = measure(sensor, x, with_range_rate=False)
    if sensor.kind == "space_ir":
        rng = np.linalg.norm(x[:, :3] - sensor.ecef_m, axis=-1)
        return pregate_points_z(sensor, z), 1.0 / rng
    return pregate_points_z(sensor, z), np.ones(x.shape[0])


def pregate_sigma(sensor: SensorModel, x: FloatArray) -> FloatArray:
    """One-sigma size of a measurement's error near states x, in pre-gate units."""
    rng = np.linalg.norm(x[:, :3] - sensor.ecef_m, axis=-1)
    if sensor.kind == "adsb":
        return np.full(x.shape[0], sensor.sigma_pos_m)
    if sensor.kind == "space_ir":
        return np.full(x.shape[0], sensor.sigma_los_rad)
    el = 0.0 if sensor.kind != "radar" else sensor.sigma_el_rad
    sigma: FloatArray = np.sqrt(
        sensor.sigma_range_m**2 + (rng * sensor.sigma_az_rad) ** 2 + (rng * el) ** 2
    )
    return sigma


# --------------------------------------------------------------------------- initiation


@dataclass(frozen=True)
class InitiationPrior:
    """What a single report does not say, as prior information.

    Velocity: zero-mean and isotropic, with a spread that depends on the
    report's altitude, because what flies low is an aircraft or a cruise
    missile (at most about Mach 3, so σ = 300 m/s), and what is high above the
    airways is a ballistic missile or a space object (up to ~7 km/s, σ =
    2500 m/s); in between the spread grows linearly. Range rate, when
    measured, fills in its own component. Altitude: for sensors that do not
    measure it (2D radar, OTH) `unobserved_alt_m ± unobserved_alt_sigma_m`.
    """

    low_speed_sigma_mps: float = 300.0
    high_speed_sigma_mps: float = 2500.0
    low_alt_m: float = 15_000.0
    high_alt_m: float = 40_000.0
    unobserved_alt_m: float = 6000.0
    unobserved_alt_sigma_m: float = 5000.0
    #: A weak prior on every position axis, for conditioning only.
    position_sigma_m: float = 1.0e6

    def speed_sigma_mps(self, alt_m: FloatArray) -> FloatArray:
        """σ of each velocity axis for a report at `alt_m`."""
        frac = np.clip((alt_m - self.low_alt_m) / (self.high_alt_m - self.low_alt_m), 0.0, 1.0)
        sigma: FloatArray = self.low_speed_sigma_mps + frac * (
            self.high_speed_sigma_mps - self.low_speed_sigma_mps
        )
        return sigma


def initial_position(sensor: SensorModel, z: FloatArray, prior: InitiationPrior) -> FloatArray:
    """A position consistent with each measurement `(m, 3)` ECEF."""
    if sensor.kind in ("adsb", "radar"):
        return pregate_points_z(sensor, z)
    if sensor.kind == "oth":
        lat, lon, _ = geodesic_forward(sensor.lat_deg, sensor.lon_deg, np.degrees(z[:, 1]), z[:, 0])
        return geodetic_to_ecef(lat, lon, prior.unobserved_alt_m)
    # radar2d: the elevation at which slant range r reaches the assumed height
    # over a sphere of the local radius, h ≈ h_s + r sin(el) + r² cos²(el) / 2Rₑ.
    r = z[:, 0]
    earth_r = float(np.linalg.norm(sensor.ecef_m)) - sensor.alt_m
    sin_el = (prior.unobserved_alt_m - sensor.alt_m - r * r / (2.0 * earth_r)) / np.maximum(r, 1.0)
    el = np.arcsin(np.clip(sin_el, 0.0, 0.99))
    enu = aer_to_enu(np.degrees(z[:, 1]), np.degrees(el), r)
    return enu_to_ecef(enu, sensor.ecef_m, sensor.basis)


def initial_states(
    sensor: SensorModel, z: FloatArray, with_range_rate: bool, prior: InitiationPrior
) -> tuple[FloatArray, FloatArray]:
    """One-report track initiation in information form. Returns (x `(m, 6)`, P `(m, 6, 6)`).

    With x₀ on the measurement's locus, the EKF posterior from a flat prior is
    P₀⁻¹ = H' R⁻¹ H + Λ,   Λ = blockdiag(u u'/σ_alt² + I/σ_pos², I/σ_v²)
    where u is the local vertical (only for sensors that do not observe altitude).
    """
    m = z.shape[0]
    pos = initial_position(sensor, z, prior)
    x0 = np.zeros((m, STATE_DIM))
    x0[:, :3] = pos
    if with_range_rate:
        los = pos - sensor.ecef_m
        los /= np.linalg.norm(los, axis=-1, keepdims=True)
        x0[:, 3:] = z[:, 3:4] * los
    H = jacobian(sensor, x0, with_range_rate)
    R_inv = spd_inverse(noise(sensor, z, with_range_rate))
    info = np.einsum("mki,mkl,mlj->mij", H, R_inv, H)
    info[:, :3, :3] += np.eye(3) / prior.position_sigma_m**2
    # Micrometres without the Newton step: plenty for a prior and a vertical.
    lat, lon, alt = ecef_to_geodetic(pos, refine=False)
    if not sensor.observes_altitude:
        alt = np.full(m, prior.unobserved_alt_m)
    info[:, 3:, 3:] += np.eye(3) / prior.speed_sigma_mps(alt)[:, None, None] ** 2
    if not sensor.observes_altitude:
        up = enu_basis(lat, lon)[:, 2, :]
        info[:, :3, :3] += np.einsum("mi,mj->mij", up, up) / prior.unobserved_alt_sigma_m**2
    return x0, symmetrize(spd_inverse(info))

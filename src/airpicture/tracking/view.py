"""What the tracker gives other parts, without the tracker: `TrackView`, `BoostReports`, rows.

Threat, fusion and the network import this module alone; it does not load
`airpicture.tracking.tracker` (a test checks it in a fresh interpreter).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from airpicture.geo import ecef_to_geodetic, ecef_vector_to_enu, enu_basis
from airpicture.tables import kinematic_columns

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class TrackView:
    """Tracks predicted to one time, for output and for downstream parts (threat, fusion)."""

    time_s: float
    track_id: NDArray[np.object_]
    number: NDArray[np.int64]
    confirmed: BoolArray
    x: FloatArray
    P: FloatArray
    mode_probabilities: FloatArray
    mode_names: tuple[str, ...]
    ident: NDArray[np.str_]
    sources: NDArray[np.object_]
    #: What a tracker may also know of each track (None: it does not say; the picture's
    #: columns are then NaN / ""). Mode 3/A code (4 octal digits, "" none) and Mode C
    #: pressure altitude (m, NaN none) of the last report that had them.
    mode3a: NDArray[np.object_] | None = None
    pressure_alt_m: FloatArray | None = None
    #: Time of the last update of each track by each sensor kind of `UPDATE_KINDS`
    #: (−inf or NaN: never), as `(N,)` arrays keyed by kind.
    updated_s: Mapping[str, FloatArray] | None = None


#: The update kinds a picture gives an age for: any sensor, and the technologies of
#: CAT062 I290 (a primary / 3D radar, a secondary / 2D radar, ADS-B).
UPDATE_KINDS: Final = ("update", "psr", "ssr", "ads")
#: The I290 technology of each sensor type (`SensorSite.sensor_type`); the other types
#: (OTH, space-IR) update a track under "update" only.
UPDATE_KIND_OF_SENSOR_TYPE: Final = {"radar": "psr", "radar2d": "ssr", "adsb": "ads"}


def update_matrix(view: TrackView) -> FloatArray:
    """`view.updated_s` as one `(N, len(UPDATE_KINDS))` array, −inf for never (also
    for every kind when the view does not say)."""
    n = view.x.shape[0]
    out = np.full((n, len(UPDATE_KINDS)), -np.inf)
    if view.updated_s is not None:
        for k, kind in enumerate(UPDATE_KINDS):
            if kind in view.updated_s:
                told = np.asarray(view.updated_s[kind], dtype=np.float64)
                out[:, k] = np.where(np.isnan(told), -np.inf, told)
    return out


def update_mapping(matrix: FloatArray) -> dict[str, FloatArray]:
    """`update_matrix`'s inverse: `TrackView.updated_s` from an `(N, 4)` array."""
    return {kind: matrix[:, k] for k, kind in enumerate(UPDATE_KINDS)}


def update_times(
    sensor_last_hit_s: FloatArray, sensor_types: Sequence[str]
) -> dict[str, FloatArray]:
    """`TrackView.updated_s` from a tracker's last hit of each track by each sensor
    `(N, S)` (−inf or NaN: never) and the sensors' types `(S,)`: the latest per kind."""
    last = np.where(np.isnan(sensor_last_hit_s), -np.inf, sensor_last_hit_s)
    kinds = np.array([UPDATE_KIND_OF_SENSOR_TYPE.get(t, "") for t in sensor_types], dtype=object)
    out: dict[str, FloatArray] = {}
    for kind in UPDATE_KINDS:
        columns = np.ones(kinds.size, dtype=bool) if kind == "update" else kinds == kind
        out[kind] = (
            last[:, columns].max(axis=1) if columns.any() else np.full(last.shape[0], -np.inf)
        )
    return out


@dataclass(frozen=True)
class BoostReports:
    """Space-IR boost detections that no track took, one row each, in the order they were made."""

    time_s: FloatArray
    sensor_id: NDArray[np.object_]
    #: Satellite position and unit line of sight, ECEF.
    origin_ecef_m: FloatArray
    los_ecef: FloatArray

    @classmethod
    def none(cls) -> BoostReports:
        return cls(np.zeros(0), np.zeros(0, np.object_), np.zeros((0, 3)), np.zeros((0, 3)))

    @classmethod
    def concat(cls, parts: Sequence[BoostReports]) -> BoostReports:
        if not parts:
            return cls.none()
        return cls(
            np.concatenate([p.time_s for p in parts]),
            np.concatenate([p.sensor_id for p in parts]),
            np.concatenate([p.origin_ecef_m for p in parts]),
            np.concatenate([p.los_ecef for p in parts]),
        )

    def __len__(self) -> int:
        return int(self.time_s.size)

    def take(self, index: BoolArray | slice) -> BoostReports:
        return BoostReports(
            self.time_s[index],
            self.sensor_id[index],
            self.origin_ecef_m[index],
            self.los_ecef[index],
        )

    def between(self, after_s: float, until_s: float) -> BoostReports:
        """The reports with after_s < time_s ≤ until_s: those new since a cursor, up to a time."""
        return self.take((self.time_s > after_s) & (self.time_s <= until_s))

    def appended(self, new: BoostReports, max_rows: int) -> BoostReports:
        """These reports then `new`, keeping the newest `max_rows` rows."""
        both = BoostReports.concat([self, new]) if len(self) else new
        return both.take(slice(max(len(both) - max_rows, 0), None))


def picture_rows(
    view: TrackView,
    viewer: str,
    cls: NDArray[np.object_] | None,
    identity: NDArray[np.object_],
) -> dict[str, NDArray[Any]]:
    """`picture.parquet` rows of a view (plus `mu_<mode>` columns), one per track.

    `cls` None: the kinematic first guess (`kinematic_class`).
    """
    n = view.x.shape[0]
    lat, lon, alt = ecef_to_geodetic(view.x[:, :3])
    basis = enu_basis(lat, lon)
    vel = ecef_vector_to_enu(view.x[:, 3:], basis)
    if cls is None:
        cls = kinematic_class(alt, vel, view.mode_probabilities, view.mode_names)
    sigma_enu = position_sigma_enu_m(view.P, basis)
    table: dict[str, NDArray[Any]] = {
        "time_s": np.full(n, view.time_s),
        "viewer": np.full(n, viewer, dtype=object),
        "track_id": view.track_id,
        **kinematic_columns(lat, lon, alt, vel),
        "cls": np.asarray(cls, dtype=object),
        "identity": np.asarray(identity, dtype=object),
        "sources": view.sources,
        "sigma_e_m": sigma_enu[:, 0],
        "sigma_n_m": sigma_enu[:, 1],
        "sigma_u_m": sigma_enu[:, 2],
        "ident": np.asarray([str(i) for i in view.ident], dtype=object).reshape(n),
        "mode3a": (
            np.full(n, "", dtype=object)
            if view.mode3a is None
            else np.asarray(view.mode3a, dtype=object)
        ),
        "pressure_alt_m": (
            np.full(n, np.nan)
            if view.pressure_alt_m is None
            else np.asarray(view.pressure_alt_m, dtype=np.float64)
        ),
    }
    updated = view.updated_s or {}
    for kind in UPDATE_KINDS:
        last = updated.get(kind)
        age = np.full(n, np.nan) if last is None else view.time_s - np.asarray(last, np.float64)
        table[f"{kind}_age_s"] = np.where(np.isfinite(age), age, np.nan)
    for j, name in enumerate(view.mode_names):
        table[f"mu_{name}"] = view.mode_probabilities[:, j]
    return table


def position_sigma_enu_m(P: FloatArray, basis: FloatArray) -> FloatArray:
    """1σ position errors `(N, 3)` along local east, north and up, from ECEF state
    covariances `(N, n, n)` (position first) and ENU bases `(N, 3, 3)` (`enu_basis`).

    P_enu = R P_pos Rᵀ; σ = √diag(P_enu).
    """
    # P_enu = R P_pos R'    the position covariance in the local frame
    P_enu: FloatArray = np.einsum("nij,njk,nlk->nil", basis, P[:, :3, :3], basis)
    sigma: FloatArray = np.sqrt(np.maximum(np.diagonal(P_enu, axis1=1, axis2=2), 0.0))
    return sigma


def kinematic_class(
    alt_m: FloatArray, vel_enu_mps: FloatArray, mu: FloatArray, mode_names: Sequence[str]
) -> NDArray[np.object_]:
    """A first kinematic guess of the class (the threat part refines it).

    ballistic_missile: fast or high and the ballistic mode dominant;
    cruise_missile: low (< 300 m) and jet speed; aircraft: the usual envelope.
    """
    speed = np.linalg.norm(vel_enu_mps, axis=-1)
    mu_bal = (
        mu[:, list(mode_names).index("ballistic")]
        if "ballistic" in mode_names
        else np.zeros(len(speed))
    )
    cls = np.full(speed.shape, "unknown", dtype=object)
    cls[(alt_m > 300.0) & (alt_m < 20_000.0) & (speed > 40.0) & (speed < 400.0)] = "aircraft"
    cls[(alt_m <= 300.0) & (speed > 150.0) & (speed < 400.0)] = "cruise_missile"
    cls[((speed > 900.0) | (alt_m > 30_000.0)) & (mu_bal > 0.3)] = "ballistic_missile"
    return cls


def kinematic_class_ecef(
    x: FloatArray, mu: FloatArray, mode_names: Sequence[str]
) -> NDArray[np.object_]:
    """`kinematic_class` of ECEF states `(N, 6)`."""
    lat, lon, alt = ecef_to_geodetic(x[:, :3])
    return kinematic_class(alt, ecef_vector_to_enu(x[:, 3:], enu_basis(lat, lon)), mu, mode_names)

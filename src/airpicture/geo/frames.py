"""WGS-84 frames: geodetic, ECEF, local ENU and sensor (range, azimuth, elevation).

Every function takes one point or a batch: the last axis of a position or
velocity is the 3 coordinates, every leading axis is batch and broadcasts.
Angles at this boundary are degrees, distances metres, speeds metres per second.
The ellipsoid maths itself is pyproj's (PROJ); this module only rotates frames.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pyproj
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

#: The WGS-84 ellipsoid, for geodesics (great-circle flight, bearings, distances); its
#: a, b and f equal `geo.constants`' bit for bit (tests/geo/test_gravity.py).
GEOD: Final = pyproj.Geod(ellps="WGS84")

_TO_ECEF: Final = pyproj.Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
_TO_GEODETIC: Final = pyproj.Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True)


def _f64(a: ArrayLike) -> FloatArray:
    return np.asarray(a, dtype=np.float64)


def geodetic_to_ecef(lat_deg: ArrayLike, lon_deg: ArrayLike, alt_m: ArrayLike) -> FloatArray:
    """Geodetic latitude, longitude (degrees) and ellipsoidal height → ECEF metres `(..., 3)`.

    >>> geodetic_to_ecef(0.0, 0.0, 0.0).round(3).tolist()
    [6378137.0, 0.0, 0.0]
    """
    lat, lon, alt = np.broadcast_arrays(_f64(lat_deg), _f64(lon_deg), _f64(alt_m))
    x, y, z = _TO_ECEF.transform(lon, lat, alt)
    return np.stack([np.asarray(x), np.asarray(y), np.asarray(z)], axis=-1)


def ecef_to_geodetic(
    xyz_m: ArrayLike, refine: bool = True
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """ECEF metres `(..., 3)` → geodetic (lat_deg, lon_deg, alt_m), each of shape `(...)`.

    PROJ's inverse is closed-form (Bowring): micrometres at the surface, but its
    error grows with height (1 cm at 1,000 km, 0.4 m at geostationary altitude).
    One Newton step against PROJ's own forward transform brings every height to
    micrometres: the residual is split along the local east, north and up axes and
    divided by the metres per degree of longitude (the radius of the parallel) and
    of latitude (a finite difference of the forward transform). `refine=False`
    skips that step where centimetres at altitude don't matter and speed does.
    """
    xyz = _f64(xyz_m)
    lon_, lat_, alt_ = _TO_GEODETIC.transform(xyz[..., 0], xyz[..., 1], xyz[..., 2])
    lat = np.asarray(lat_, dtype=np.float64)
    lon = np.asarray(lon_, dtype=np.float64)
    alt = np.asarray(alt_, dtype=np.float64)
    if not refine:
        return lat, lon, alt
    first = geodetic_to_ecef(lat, lon, alt)
    residual_enu = _rotate(enu_basis(lat, lon), xyz - first, inverse=False)
    d_east, d_north, d_up = residual_enu[..., 0], residual_enu[..., 1], residual_enu[..., 2]
    step_deg = np.where(lat > 0.0, -1e-5, 1e-5)  # step away from the pole
    moved = geodetic_to_ecef(lat + step_deg, lon, alt) - first
    metres_per_deg_lat = np.linalg.norm(moved, axis=-1) / 1e-5
    metres_per_deg_lon = np.radians(np.hypot(first[..., 0], first[..., 1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        lon_step = np.where(metres_per_deg_lon > 1e-3, d_east / metres_per_deg_lon, 0.0)
    lat = np.clip(lat + d_north / metres_per_deg_lat, -90.0, 90.0)
    lon = np.where(lon_step != 0.0, (lon + lon_step + 180.0) % 360.0 - 180.0, lon)
    return lat, lon, alt + d_up


def enu_basis(lat_deg: ArrayLike, lon_deg: ArrayLike) -> FloatArray:
    """Rotation `(..., 3, 3)` whose rows are the local east, north and up unit vectors in ECEF.

    `enu = R @ (ecef - origin)`; `ecef_delta = R.T @ enu`. Up is the ellipsoid normal
    (geodetic latitude), so elevations are above the local WGS-84 horizontal plane.
    """
    lat = np.radians(_f64(lat_deg))
    lon = np.radians(_f64(lon_deg))
    lat, lon = np.broadcast_arrays(lat, lon)
    sl, cl = np.sin(lat), np.cos(lat)
    so, co = np.sin(lon), np.cos(lon)
    zero = np.zeros_like(lat)
    east = np.stack([-so, co, zero], axis=-1)
    north = np.stack([-sl * co, -sl * so, cl], axis=-1)
    up = np.stack([cl * co, cl * so, sl], axis=-1)
    return np.stack([east, north, up], axis=-2)


def _rotate(basis: ArrayLike, vector: ArrayLike, inverse: bool) -> FloatArray:
    """`basis @ v`, or `basis.T @ v` for the inverse rotation, over batches."""
    spec = "...ji,...j->...i" if inverse else "...ij,...j->...i"
    rotated: FloatArray = np.einsum(spec, _f64(basis), _f64(vector))
    return rotated


def ecef_to_enu(xyz_m: ArrayLike, origin_ecef_m: ArrayLike, basis: ArrayLike) -> FloatArray:
    """ECEF positions → ENU metres about `origin_ecef_m`, with `basis` from :func:`enu_basis`."""
    return _rotate(basis, _f64(xyz_m) - _f64(origin_ecef_m), inverse=False)


def enu_to_ecef(enu_m: ArrayLike, origin_ecef_m: ArrayLike, basis: ArrayLike) -> FloatArray:
    """ENU metres about `origin_ecef_m` → ECEF positions (inverse of :func:`ecef_to_enu`)."""
    return _f64(origin_ecef_m) + _rotate(basis, enu_m, inverse=True)


def enu_vector_to_ecef(enu: ArrayLike, basis: ArrayLike) -> FloatArray:
    """Rotate a free vector (a velocity, a direction) from ENU to ECEF."""
    return _rotate(basis, enu, inverse=True)


def ecef_vector_to_enu(ecef: ArrayLike, basis: ArrayLike) -> FloatArray:
    """Rotate a free vector (a velocity, a direction) from ECEF to ENU."""
    return _rotate(basis, ecef, inverse=False)


def enu_to_aer(enu_m: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """ENU → (az_deg clockwise from north in [0, 360), el_deg, slant range_m)."""
    enu = _f64(enu_m)
    e, n, u = enu[..., 0], enu[..., 1], enu[..., 2]
    horizontal = np.hypot(e, n)
    az = np.degrees(np.arctan2(e, n)) % 360.0
    el = np.degrees(np.arctan2(u, horizontal))
    return az, el, np.hypot(horizontal, u)


def aer_to_enu(az_deg: ArrayLike, el_deg: ArrayLike, range_m: ArrayLike) -> FloatArray:
    """(az_deg, el_deg, slant range_m) → ENU metres `(..., 3)`."""
    az, el = np.radians(_f64(az_deg)), np.radians(_f64(el_deg))
    rng = _f64(range_m)
    horizontal = rng * np.cos(el)
    return np.stack(
        np.broadcast_arrays(horizontal * np.sin(az), horizontal * np.cos(az), rng * np.sin(el)),
        axis=-1,
    )


def ecef_to_sensor(
    xyz_m: ArrayLike,
    vel_mps: ArrayLike,
    sensor_ecef_m: ArrayLike,
    sensor_basis: ArrayLike,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Target ECEF position and velocity → (range_m, az_deg, el_deg, range_rate_mps).

    The sensor is fixed on the Earth (zero ECEF velocity); range rate is the
    projection of the target's ECEF velocity on the line of sight.
    """
    delta = _f64(xyz_m) - _f64(sensor_ecef_m)
    az, el, rng = enu_to_aer(np.einsum("...ij,...j->...i", _f64(sensor_basis), delta))
    with np.errstate(invalid="ignore", divide="ignore"):
        range_rate = np.einsum("...i,...i->...", _f64(vel_mps), delta) / rng
    return rng, az, el, range_rate


def geodesic_distance_m(
    lat1_deg: ArrayLike, lon1_deg: ArrayLike, lat2_deg: ArrayLike, lon2_deg: ArrayLike
) -> FloatArray:
    """Distance along the WGS-84 ellipsoid surface between two points, metres."""
    lat1, lon1, lat2, lon2 = np.broadcast_arrays(
        _f64(lat1_deg), _f64(lon1_deg), _f64(lat2_deg), _f64(lon2_deg)
    )
    _, _, dist = GEOD.inv(lon1, lat1, lon2, lat2)
    return np.asarray(dist, dtype=np.float64)


def geodesic_bearing_deg(
    lat1_deg: ArrayLike, lon1_deg: ArrayLike, lat2_deg: ArrayLike, lon2_deg: ArrayLike
) -> FloatArray:
    """Initial bearing (degrees clockwise from north, [0, 360)) of the geodesic from 1 to 2."""
    lat1, lon1, lat2, lon2 = np.broadcast_arrays(
        _f64(lat1_deg), _f64(lon1_deg), _f64(lat2_deg), _f64(lon2_deg)
    )
    az, _, _ = GEOD.inv(lon1, lat1, lon2, lat2)
    return np.asarray(az, dtype=np.float64) % 360.0


def geodesic_forward(
    lat_deg: ArrayLike, lon_deg: ArrayLike, bearing_deg: ArrayLike, distance_m: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Travel `distance_m` along the geodesic leaving at `bearing_deg`.

    Returns (lat_deg, lon_deg, arrival bearing_deg): the arrival bearing is the
    direction of travel at the end point, so a great-circle flight is a chain
    of such steps.
    """
    lat, lon, az, dist = np.broadcast_arrays(
        _f64(lat_deg), _f64(lon_deg), _f64(bearing_deg), _f64(distance_m)
    )
    lon2, lat2, back = GEOD.fwd(lon, lat, az, dist)
    arrival = (np.asarray(back, dtype=np.float64) + 180.0) % 360.0
    return np.asarray(lat2, dtype=np.float64), np.asarray(lon2, dtype=np.float64), arrival

"""WGS-84 frames, Earth masking and the Earth's constants, batch first (last axis = xyz).

The gravity field is `airpicture.geo.gravity` (imported on its own: it compiles numba code).
"""

from airpicture.geo.constants import (
    EARTH_ROTATION_RAD_S,
    MEAN_EARTH_RADIUS_M,
    WGS84_A_M,
    WGS84_B_M,
    WGS84_FLATTENING,
)
from airpicture.geo.frames import (
    GEOD,
    aer_to_enu,
    ecef_to_enu,
    ecef_to_geodetic,
    ecef_to_sensor,
    ecef_vector_to_enu,
    enu_basis,
    enu_to_aer,
    enu_to_ecef,
    enu_vector_to_ecef,
    geodesic_bearing_deg,
    geodesic_distance_m,
    geodesic_forward,
    geodetic_to_ecef,
)
from airpicture.geo.visibility import (
    STANDARD_REFRACTION_K,
    clears_ellipsoid,
    refracted_elevation_and_visibility,
)

__all__ = [
    "EARTH_ROTATION_RAD_S",
    "GEOD",
    "MEAN_EARTH_RADIUS_M",
    "STANDARD_REFRACTION_K",
    "WGS84_A_M",
    "WGS84_B_M",
    "WGS84_FLATTENING",
    "aer_to_enu",
    "clears_ellipsoid",
    "ecef_to_enu",
    "ecef_to_geodetic",
    "ecef_to_sensor",
    "ecef_vector_to_enu",
    "enu_basis",
    "enu_to_aer",
    "enu_to_ecef",
    "enu_vector_to_ecef",
    "geodesic_bearing_deg",
    "geodesic_distance_m",
    "geodesic_forward",
    "geodetic_to_ecef",
    "refracted_elevation_and_visibility",
]

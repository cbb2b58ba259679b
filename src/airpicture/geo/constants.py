"""The Earth's constants, once: the simulator, the filters and impact prediction share them.

Every name carries its unit; every value its source. The ellipsoid's values
equal PROJ's WGS-84 bit for bit (tests/geo/test_gravity.py), so that the
frames (pyproj) and the gravity field describe one and the same Earth.
"""

from __future__ import annotations

from typing import Final

#: Semi-major axis of the WGS-84 ellipsoid, metres (NIMA TR8350.2, 3rd ed., table 3.1: defining).
WGS84_A_M: Final[float] = 6378137.0
#: Flattening of WGS-84, f = 1 / 298.257223563 (NIMA TR8350.2, table 3.1: defining).
WGS84_FLATTENING: Final[float] = 1.0 / 298.257223563
#: Semi-minor axis of WGS-84, b = a (1 − f), metres (NIMA TR8350.2, table 3.3: derived).
WGS84_B_M: Final[float] = WGS84_A_M * (1.0 - WGS84_FLATTENING)
#: Earth's gravitational constant μ = GM, atmosphere included, m³/s² (NIMA TR8350.2, table 3.1).
GM_M3_S2: Final[float] = 3.986004418e14
#: Second zonal harmonic of the gravity field, unnormalised: J2 = −√5 C̄20 with
#: C̄20 = −4.84165371736e-4 of EGM96 (Lemoine et al. 1998, NASA/TP-1998-206861).
J2: Final[float] = 1.08262668e-3
#: Earth's rotation rate ω, radians per second (NIMA TR8350.2, table 3.1: WGS-84's nominal
#: mean angular velocity, 7292115 × 10⁻¹¹).
EARTH_ROTATION_RAD_S: Final[float] = 7.292115e-5
#: Mean Earth radius R1 = (2a + b) / 3, metres (IUGG; Moritz 1980, Geodetic Reference
#: System 1980, J. Geodesy 74, 128), rounded to 0.1 m: for the radar horizon model.
MEAN_EARTH_RADIUS_M: Final[float] = 6_371_008.8
#: Sea-level air density of the exponential atmosphere ρ(h) = ρ0 exp(−h / H), kg/m³
#: (U.S. Standard Atmosphere 1976 at 0 m, 15 °C).
SEA_LEVEL_AIR_DENSITY_KG_M3: Final[float] = 1.225
#: Density scale height H of that exponential atmosphere, metres: the single
#: exponential that fits the U.S. Standard Atmosphere 1976 density between 0 and
#: 80 km to a few tens of percent (the usual 7.2 km of re-entry texts, e.g. Regan &
#: Anandakrishnan, Dynamics of Atmospheric Re-Entry, 1993, ch. 2).
AIR_DENSITY_SCALE_HEIGHT_M: Final[float] = 7200.0

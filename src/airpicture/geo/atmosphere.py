"""The standard atmosphere (ICAO / US Standard Atmosphere 1976) up to 20 km, NumPy.

Two layers: the troposphere (lapse rate 6.5 K/km up to 11 km geopotential) and
the isothermal lower stratosphere (216.65 K, 11–20 km geopotential). Heights in
the layer formulas are *geopotential* H (gravity taken as g₀ throughout), which
relates to geometric height h by H = r₀ h / (r₀ + h), r₀ = 6 356 766 m.

Pressure altitude — what Mode C reports — is the standard-atmosphere altitude at
which the standard pressure equals the measured static pressure, given in
geopotential metres (feet on the wire). In a standard atmosphere an aircraft at
geometric height h therefore reports H(h): `pressure_altitude_m` and
`geometric_altitude_m` convert between the two, and `pressure_from_altitude_m` /
`altitude_from_pressure_m` give the layer formulas themselves (for tests against
the published tables, and for anyone with a static pressure). Geometric height
here is height above mean sea level; the tracker uses height above the WGS-84
ellipsoid for it (the geoid's ±100 m is inside the σ of the non-standard day).

Above 20 km geopotential the layer formulas are extrapolated (isothermal):
aircraft Mode C does not go there.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

#: Earth radius of the geopotential ↔ geometric conversion (US Standard Atmosphere 1976), m.
R0_M: Final = 6_356_766.0
#: Standard gravity, m/s²; specific gas constant of dry air, J/(kg·K).
G0_MPS2: Final = 9.80665
R_AIR: Final = 287.05287
#: Sea-level standard temperature (K) and pressure (Pa).
T0_K: Final = 288.15
P0_PA: Final = 101_325.0
#: Troposphere lapse rate, K per geopotential metre, and the tropopause height (m) and temperature.
LAPSE_K_PER_M: Final = 0.0065
TROPOPAUSE_M: Final = 11_000.0
T11_K: Final = T0_K - LAPSE_K_PER_M * TROPOPAUSE_M
_EXPONENT: Final = G0_MPS2 / (R_AIR * LAPSE_K_PER_M)
#: Pressure at the tropopause, Pa (22 632.06).
P11_PA: Final = P0_PA * (T11_K / T0_K) ** _EXPONENT
#: Metres in a foot (Mode C is in feet: 100 ft steps, or 25 ft with the Q bit).
FOOT_M: Final = 0.3048
#: Mode C's altitude step, m (100 ft).
MODE_C_STEP_M: Final = 100.0 * FOOT_M
#: σ (m) of the gap between pressure altitude and the standard atmosphere's pressure
#: altitude of the true height, on a real (non-standard) day: a surface pressure 20 hPa
#: off standard shifts every pressure altitude by ~170 m near the ground, a column 10 K
#: off standard moves it by ~3.5 % of the height (≈ 350 m at 10 km) — but days that far
#: off are rare and a region's traffic sees one day; 60 m is a typical 1 σ at cruise
#: levels (the simulator draws its per-aircraft offsets with it, the tracker assumes it).
NONSTANDARD_DAY_SIGMA_M: Final = 60.0


def geopotential_from_geometric_m(h_m: ArrayLike) -> FloatArray:
    """H = r₀ h / (r₀ + h)."""
    h = np.asarray(h_m, dtype=np.float64)
    out: FloatArray = R0_M * h / (R0_M + h)
    return out


def geometric_from_geopotential_m(geopotential_m: ArrayLike) -> FloatArray:
    """h = r₀ H / (r₀ − H)."""
    H = np.asarray(geopotential_m, dtype=np.float64)
    out: FloatArray = R0_M * H / (R0_M - H)
    return out


def pressure_from_altitude_m(geopotential_m: ArrayLike) -> FloatArray:
    """Standard pressure (Pa) at geopotential altitude H (m)."""
    H = np.asarray(geopotential_m, dtype=np.float64)
    tropo = P0_PA * ((T0_K - LAPSE_K_PER_M * np.minimum(H, TROPOPAUSE_M)) / T0_K) ** _EXPONENT
    strato = np.exp(-G0_MPS2 * np.maximum(H - TROPOPAUSE_M, 0.0) / (R_AIR * T11_K))
    out: FloatArray = tropo * strato
    return out


def altitude_from_pressure_m(pressure_pa: ArrayLike) -> FloatArray:
    """Pressure altitude: the geopotential altitude (m) where standard pressure is `pressure_pa`."""
    p = np.asarray(pressure_pa, dtype=np.float64)
    tropo = T0_K / LAPSE_K_PER_M * (1.0 - (np.maximum(p, P11_PA) / P0_PA) ** (1.0 / _EXPONENT))
    strato = R_AIR * T11_K / G0_MPS2 * np.log(P11_PA / np.minimum(p, P11_PA))
    out: FloatArray = tropo + strato
    return out


def pressure_altitude_m(geometric_m: ArrayLike) -> FloatArray:
    """Pressure altitude (m) reported in a standard atmosphere at geometric height h: H(h)."""
    return geopotential_from_geometric_m(geometric_m)


def pressure_altitude_slope(geometric_m: ArrayLike) -> FloatArray:
    """dH/dh = (r₀ / (r₀ + h))²: the Jacobian of `pressure_altitude_m`."""
    h = np.asarray(geometric_m, dtype=np.float64)
    out: FloatArray = (R0_M / (R0_M + h)) ** 2
    return out


def geometric_altitude_m(pressure_alt_m: ArrayLike) -> FloatArray:
    """Geometric height (m) of a pressure altitude in a standard atmosphere."""
    return geometric_from_geopotential_m(pressure_alt_m)

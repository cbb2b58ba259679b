"""Defended assets: can a threat reach an asset, and when.

Ballistic threats by their impact ellipse: an asset of radius ρ is at risk when
the nearest point of its disc lies inside the `confidence` ellipse, tested as
d' (C + ρ² I)⁻¹ d ≤ k² (the disc's radius added as a variance — exact for a
point asset, slightly generous for a large one); time to go = predicted impact
time − now.

Cruise missiles and aircraft by their current motion, straight and level in the
asset's local east/north plane: r the track's horizontal offset from the asset,
u its horizontal velocity. The closest approach is at t* = −r·u / |u|², at
distance |r + u t*|. The asset is reachable when t* > 0 and that distance is
within ρ + `reach_margin_m` (a turn or a position error of that size still
reaches it); time to go = the first time |r + u t| = ρ (or t* if the track only
grazes the margin).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from airpicture.geo import ecef_to_enu, ecef_vector_to_enu, enu_basis, geodetic_to_ecef
from airpicture.threat.ellipse import chi2_2dof_scale, mahalanobis_sq_2d

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class AssetTable:
    name: tuple[str, ...]
    nation: tuple[str, ...]
    lat_deg: FloatArray
    lon_deg: FloatArray
    radius_m: FloatArray

    def __len__(self) -> int:
        return len(self.name)


def motion_reach(
    x: FloatArray, assets: AssetTable, reach_margin_m: float
) -> tuple[BoolArray, FloatArray, FloatArray]:
    """(reachable, time_to_go_s, closest approach m), each `(N tracks, A assets)`."""
    n, a = x.shape[0], len(assets)
    if n == 0 or a == 0:
        empty = np.zeros((n, a))
        return empty.astype(bool), empty, empty
    origin = geodetic_to_ecef(assets.lat_deg, assets.lon_deg, 0.0)  # (A, 3)
    basis = enu_basis(assets.lat_deg, assets.lon_deg)  # (A, 3, 3)
    r = ecef_to_enu(x[:, None, :3], origin[None], basis[None])[..., :2]  # (N, A, 2)
    u = ecef_vector_to_enu(x[:, None, 3:], basis[None])[..., :2]
    uu = np.einsum("naj,naj->na", u, u)
    ru = np.einsum("naj,naj->na", r, u)
    rr = np.einsum("naj,naj->na", r, r)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_star = np.where(uu > 1e-6, -ru / uu, np.inf)
    closest = np.sqrt(np.maximum(rr - np.where(uu > 1e-6, ru**2 / uu, 0.0), 0.0))
    rho = assets.radius_m[None, :]
    inside_now = rr <= rho**2
    # |r + u t| = ρ  →  t = (−r·u − √((r·u)² − |u|²(|r|² − ρ²))) / |u|²
    disc = ru**2 - uu * (rr - rho**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_enter = np.where((disc >= 0.0) & (uu > 1e-6), (-ru - np.sqrt(np.abs(disc))) / uu, np.nan)
    reachable = inside_now | ((t_star > 0.0) & (closest <= rho + reach_margin_m))
    ttg = np.where(inside_now, 0.0, np.where(np.isfinite(t_enter) & (t_enter > 0), t_enter, t_star))
    ttg = np.where(reachable, ttg, np.nan)
    return reachable, ttg, closest


def ellipse_reach(
    lat_deg: float,
    lon_deg: float,
    cov_en_m2: FloatArray,
    assets: AssetTable,
    confidence: float,
) -> tuple[BoolArray, FloatArray]:
    """(at risk `(A,)`, distance from the predicted impact to each asset `(A,)`)."""
    if len(assets) == 0:
        return np.zeros(0, bool), np.zeros(0)
    origin = geodetic_to_ecef(lat_deg, lon_deg, 0.0)
    basis = enu_basis(lat_deg, lon_deg)
    d = ecef_to_enu(geodetic_to_ecef(assets.lat_deg, assets.lon_deg, 0.0), origin, basis)[:, :2]
    C = cov_en_m2[None] + (assets.radius_m**2)[:, None, None] * np.eye(2)
    at_risk: BoolArray = mahalanobis_sq_2d(d, C) <= chi2_2dof_scale(confidence) ** 2
    return at_risk, np.hypot(d[:, 0], d[:, 1])

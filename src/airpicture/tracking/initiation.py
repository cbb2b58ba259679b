"""Track initiation: one report starts a tentative track, in information form.

With x₀ on the measurement's locus, P₀⁻¹ = H' R⁻¹ H + Λ, where Λ carries what
the report does not say (`InitiationPrior`): the velocity, and the altitude of
a sensor that does not observe it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from airpicture.geo import ecef_to_geodetic, enu_basis
from airpicture.tracking.linalg import spd_inverse, symmetrize
from airpicture.tracking.measurement import MeasurementModel
from airpicture.tracking.motion import STATE_DIM

FloatArray = NDArray[np.float64]


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


def initial_states(
    model: MeasurementModel, z: FloatArray, with_range_rate: bool, prior: InitiationPrior
) -> tuple[FloatArray, FloatArray]:
    """One-report track initiation in information form. Returns (x `(m, 6)`, P `(m, 6, 6)`).

    With x₀ on the measurement's locus, the EKF posterior from a flat prior is
    P₀⁻¹ = H' R⁻¹ H + Λ,   Λ = blockdiag(u u'/σ_alt² + I/σ_pos², I/σ_v²)
    where u is the local vertical (only for sensors that do not observe altitude).
    """
    m = z.shape[0]
    pos = model.initial_position(z, prior.unobserved_alt_m)
    x0 = np.zeros((m, STATE_DIM))
    x0[:, :3] = pos
    if with_range_rate:
        los = pos - model.ecef_m
        los /= np.linalg.norm(los, axis=-1, keepdims=True)
        x0[:, 3:] = z[:, 3:4] * los
    H = model.jacobian(x0, with_range_rate)
    R_inv = spd_inverse(model.noise(z, with_range_rate))
    info = np.einsum("mki,mkl,mlj->mij", H, R_inv, H)
    info[:, :3, :3] += np.eye(3) / prior.position_sigma_m**2
    # Micrometres without the Newton step: plenty for a prior and a vertical.
    lat, lon, alt = ecef_to_geodetic(pos, refine=False)
    if not model.observes_altitude:
        alt = np.full(m, prior.unobserved_alt_m)
    info[:, 3:, 3:] += np.eye(3) / prior.speed_sigma_mps(alt)[:, None, None] ** 2
    if not model.observes_altitude:
        up = enu_basis(lat, lon)[:, 2, :]
        info[:, :3, :3] += np.einsum("mi,mj->mij", up, up) / prior.unobserved_alt_sigma_m**2
    return x0, symmetrize(spd_inverse(info))

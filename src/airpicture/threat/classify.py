"""Track class from kinematics and space-IR evidence; identity from ADS-B, origin and behaviour.

Every snapshot each track gets a soft membership m_c ∈ [0, 1] for every class
c from its kinematics (all vectorized over the tracks of a view):

    ballistic_missile: max(σ((h − 40 km)/8 km)·max(μ_bal, σ((v − 600)/100)),
                           σ((v − 1200)/150), IR, μ_bal·σ((v − 600)/100))
    cruise_missile:    σ((300 − h)/100) · band(v; 150, 350) · (no ADS-B)
    aircraft:          1 with an ADS-B identity,
                       else σ((h − 500)/150) · σ((20 km − h)/2 km) · band(v; 40, 350)
    unknown:           a constant floor (`unknown_floor`)

σ the logistic function, band(v; lo, hi) = σ((v − lo)/20) σ((hi − v)/30), h the
altitude, v the speed, μ_bal the IMM's ballistic-mode probability, IR whether a
space-IR sensor contributed to the track (only hot boost plumes are seen).
A non-gravitational acceleration above 30 m/s² (boost) adds IR-like
evidence. Height alone is not evidence: a track held only by 2D radars
(over-the-horizon, air traffic control) has an unobserved height that can
drift to tens of kilometres, so height counts only together with ballistic
motion (μ_bal) or missile speed. Evidence accumulates with forgetting, per track:

    L_c ← λ L_c + ln(m_c / Σ m),   P(c) = softmax(L)_c,

so one odd snapshot does not flip a class and the confidence is the
posterior of the chosen class. See docs/threat.md for the identity rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

CLASSES: Final = ("aircraft", "cruise_missile", "ballistic_missile", "unknown")
AIRCRAFT, CRUISE, BALLISTIC, UNKNOWN = range(4)


@dataclass(frozen=True)
class ClassifySettings:
    #: Forgetting factor λ of the accumulated log-evidence per snapshot.
    forgetting: float = 0.85
    #: Membership of `unknown`: what every track has when nothing else fits.
    unknown_floor: float = 0.15
    #: Smallest membership of any class (keeps the logarithm finite).
    min_membership: float = 0.02
    #: Non-gravitational acceleration (m/s²) that only a thrusting rocket shows.
    boost_acceleration_mps2: float = 30.0


def _sigmoid(x: FloatArray) -> FloatArray:
    out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * x))
    return out


def _band(v: FloatArray, lo: float, hi: float) -> FloatArray:
    return _sigmoid((v - lo) / 20.0) * _sigmoid((hi - v) / 30.0)


def class_memberships(
    alt_m: FloatArray,
    speed_mps: FloatArray,
    mu_ballistic: FloatArray,
    thrust_mps2: FloatArray,
    has_ident: BoolArray,
    seen_by_ir: BoolArray,
    settings: ClassifySettings,
) -> FloatArray:
    """Instantaneous memberships `(N, 4)` in the order of `CLASSES`, normalised to sum 1.

    Non-finite inputs give the `unknown` class only.
    """
    h = np.nan_to_num(alt_m, nan=0.0)
    v = np.nan_to_num(speed_mps, nan=0.0)
    mu = np.nan_to_num(mu_ballistic, nan=0.0)
    boosting = np.nan_to_num(thrust_mps2, nan=0.0) > settings.boost_acceleration_mps2
    m = np.empty((h.shape[0], 4))
    m[:, BALLISTIC] = np.maximum.reduce(
        [
            _sigmoid((h - 40_000.0) / 8_000.0) * np.maximum(mu, _sigmoid((v - 600.0) / 100.0)),
            _sigmoid((v - 1200.0) / 150.0),
            (seen_by_ir | boosting).astype(np.float64),
            mu * _sigmoid((v - 600.0) / 100.0),
        ]
    )
    m[:, CRUISE] = _sigmoid((300.0 - h) / 100.0) * _band(v, 150.0, 350.0) * (~has_ident)
    m[:, AIRCRAFT] = np.where(
        has_ident,
        1.0,
        _sigmoid((h - 500.0) / 150.0) * _sigmoid((20_000.0 - h) / 2_000.0) * _band(v, 40.0, 350.0),
    )
    m[:, UNKNOWN] = settings.unknown_floor
    m = np.maximum(m, settings.min_membership)
    bad = ~(np.isfinite(alt_m) & np.isfinite(speed_mps))
    m[bad] = settings.min_membership
    m[bad, UNKNOWN] = 1.0
    normalised: FloatArray = m / m.sum(axis=1, keepdims=True)
    return normalised


def accumulate(previous: FloatArray, memberships: FloatArray, forgetting: float) -> FloatArray:
    """L ← λ L + ln m  (rows: tracks; a new track starts from L = 0)."""
    result: FloatArray = forgetting * previous + np.log(memberships)
    return result


def posterior(log_evidence: FloatArray) -> FloatArray:
    """softmax(L) per row."""
    z = log_evidence - log_evidence.max(axis=1, keepdims=True)
    e = np.exp(z)
    result: FloatArray = e / e.sum(axis=1, keepdims=True)
    return result

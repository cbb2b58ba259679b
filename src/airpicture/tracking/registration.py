"""Sensor registration: each sensor's systematic errors estimated online; its reports corrected.

A sensor's bias state b holds the quantities of the scenario's `bias:` block that
its measurements can show (`QUANTITIES`, site error by component). A report z of
a target at ECEF p, from a sensor declared at site s, is, to first order,

    z = h_s(p(t)) + H(z) b + noise,      H = ∂z/∂b

with, per measured row (range m, azimuth rad, elevation rad; `bias_jacobian`):

    range_m            1 on the range row
    range_scale_ppm    r·10⁻⁶ on the range row
    az_deg, el_deg     π/180 on their row
    time_s             −ż (the report is stamped late by time_s: it shows p(t − time_s))
    site_enu_m.e/n/u   −∂z/∂p along east/north/up (the sensor really sits at s + e)

**Reference (absolute registration).** ADS-B reports carry a GNSS position and an
identity. For every window (`window_s`) each identity's reports are fitted with a
quadratic in time (`reference_fit`), which gives the aircraft's position at any
report time inside the fitted span with a standard deviation from the fit. A
registrable sensor's report is paired with the one reference aircraft whose
predicted measurement passes a χ² gate (S = H P H' + R + H_p Σ_ref H_p') and with
no second aircraft passing it (ambiguous reports are left out). The residual
ν = z − h_s(p_ref) then feeds a Kalman filter on b, in information form (one
update per sensor and window, all its paired reports at once):

    Y = P⁻¹ + Σ H' R⁻¹ H,   b⁺ = Y⁻¹ (P⁻¹ b + Σ H' R⁻¹ ν),   P⁺ = Y⁻¹
    between windows:  P ← P + Q Δt   (random walk: biases drift slowly)

R is the sensor's declared noise plus the reference's error projected onto the
measurement, so P is an honest covariance as long as the model holds; the
filter checks that it does with the normalised innovations (NIS): a running mean
far above its expected value means the model is wrong for this sensor (a bias
the state does not have, a wrong association): the estimate is reported as
diverged, reset to the prior and not applied.

**What one sensor cannot tell apart.** From one radar, a range offset and a site
error along the line of sight move a report the same way (both change only the
range); the site error's east and north parts separate from the range offset
only through targets at different azimuths; a site error up shows only in
elevation and in range at high elevation; the range offset and scale separate
only through targets at different ranges; a clock error and an azimuth offset
separate only through targets with different angular rates. The filter carries
them all with a prior (`prior_sigma`): a direction the geometry does not
observe keeps its prior variance and its prior mean (0), so what is applied is
always the combination the data do show. Each quantity whose σ has not fallen
below `observable_ratio` × its prior is reported as unobservable (estimate NaN,
its σ as is). A sensor with no ADS-B aircraft in view (a space sensor, or a
nation without ADS-B) stays unobservable and is never corrected.

**Applying.** A sensor's reports are corrected only when its estimate is
significant — b' P⁻¹ b above the χ² quantile of `detect_probability` — with at
least `min_reports` reports used and no divergence. Then z ← z − H(z) b (without
the time column) and the time stamp t ← t − time_s. A sensor without a bias then
is not corrected at all (its estimate stays within noise), so registration
leaves a bias-free picture as it was.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from scipy.special import chdtri

from airpicture.geo import (
    ecef_to_enu,
    ecef_to_geodetic,
    enu_basis,
    enu_to_aer,
    geodesic_bearing_deg,
    geodesic_distance_m,
    geodetic_to_ecef,
)
from airpicture.tracking.association import pregate_pairs
from airpicture.tracking.linalg import spd_inverse, symmetrize
from airpicture.tracking.measurement.base import SensorSpec, spec_value, wrap

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]
Table = dict[str, NDArray[Any]]

DEG: Final = math.pi / 180.0

#: The measured rows of each registrable sensor kind: 0 range (slant; ground range for
#: OTH), 1 azimuth, 2 elevation.
MEASURED_ROWS: Final[dict[str, tuple[int, ...]]] = {
    "radar": (0, 1, 2),
    "radar2d": (0, 1),
    "oth": (0, 1),
    "space_ir": (1, 2),
}
SITE: Final = ("site_enu_m.e", "site_enu_m.n", "site_enu_m.u")
#: The bias quantities estimated per kind, named as in the scenario's `bias:` block.
#: An OTH radar's ground range does not see its site's height.
QUANTITIES: Final[dict[str, tuple[str, ...]]] = {
    "radar": ("range_m", "range_scale_ppm", "az_deg", "el_deg", "time_s", *SITE),
    "radar2d": ("range_m", "range_scale_ppm", "az_deg", "time_s", *SITE),
    "oth": ("range_m", "range_scale_ppm", "az_deg", "time_s", *SITE[:2]),
    "space_ir": ("az_deg", "el_deg", "time_s"),
}
#: Columns of `registration.parquet` (ARCHITECTURE.md, "Run output").
REGISTRATION_COLUMNS: Final = ("time_s", "viewer", "sensor_id", "quantity", "estimate", "sigma")


def _sigmas(**kw: float) -> tuple[tuple[str, float], ...]:
    return tuple(kw.items())


@dataclass(frozen=True)
class RegistrationSettings:
    #: Off: reports go to the trackers as they come (`--no-registration`).
    enabled: bool = True
    #: Prior σ of each bias quantity: the largest misalignment one expects of a
    #: surveyed, calibrated sensor (a few hundred metres, a few tenths of a degree,
    #: a second). Site components share `site_enu_m`.
    prior_sigma: tuple[tuple[str, float], ...] = _sigmas(
        range_m=300.0, range_scale_ppm=300.0, az_deg=0.5, el_deg=0.5, time_s=1.0, site_enu_m=300.0
    )
    #: Random-walk σ per √hour of each quantity: what the filter allows to drift.
    drift_sigma_per_sqrt_hour: tuple[tuple[str, float], ...] = _sigmas(
        range_m=30.0,
        range_scale_ppm=30.0,
        az_deg=0.05,
        el_deg=0.05,
        time_s=0.3,
        site_enu_m=20.0,
    )
    #: Reports are paired with the reference and used in windows this long, s.
    window_s: float = 10.0
    #: A report waits this long for reference reports after it, s (≥ the ADS-B period).
    lag_s: float = 6.0
    #: Reference reports fitted around a window: this far beyond each of its ends, s.
    fit_margin_s: float = 6.0
    #: Floor of the reference's position σ (the quadratic's model error in turns), m.
    reference_floor_m: float = 15.0
    #: Pre-gate radius in the sensor's polar plane, m (covers the prior's biases).
    pregate_m: float = 25_000.0
    #: χ² gate probability of a (report, reference) pair.
    gate_probability: float = 0.9999
    #: Reports used before any correction is applied.
    min_reports: int = 30
    #: A quantity whose σ is below this fraction of its prior is observable.
    observable_ratio: float = 0.5
    #: A bias is applied when b' P⁻¹ b exceeds the χ² quantile of this probability.
    detect_probability: float = 1.0 - 1e-6
    #: Running mean of NIS / dim above this: the model does not hold (diverged).
    divergence_nis: float = 4.0
    #: Weight of the newest window in the running mean of NIS.
    nis_weight: float = 0.1
    #: One row per sensor and quantity in `registration.parquet` at most this often, s.
    report_interval_s: float = 30.0

    def prior(self, quantity: str) -> float:
        return dict(self.prior_sigma)[quantity.split(".")[0]]

    def drift(self, quantity: str) -> float:
        return dict(self.drift_sigma_per_sqrt_hour)[quantity.split(".")[0]]


# --------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class SensorGeometry:
    """A registrable sensor as the estimator sees it: kind, declared site, noise."""

    sensor_id: str
    kind: str
    lat_deg: float
    lon_deg: float
    ecef_m: FloatArray
    basis: FloatArray
    #: σ of (range m, azimuth rad, elevation rad); NaN where not measured.
    sigma: FloatArray

    @classmethod
    def of(cls, spec: SensorSpec) -> SensorGeometry:
        kind = spec.type
        if kind == "space_ir":
            los = spec_value(spec, "sigma_los_urad") * 1e-6
            sigma = np.array([math.nan, los, los])
        else:
            sigma = np.array(
                [
                    spec_value(spec, "sigma_range_m"),
                    spec_value(spec, "sigma_az_deg") * DEG,
                    spec_value(spec, "sigma_el_deg") * DEG,
                ]
            )
        return cls(
            spec.id,
            kind,
            float(spec.lat_deg),
            float(spec.lon_deg),
            geodetic_to_ecef(spec.lat_deg, spec.lon_deg, spec.alt_m),
            enu_basis(spec.lat_deg, spec.lon_deg),
            sigma,
        )

    @property
    def rows(self) -> tuple[int, ...]:
        return MEASURED_ROWS[self.kind]

    @property
    def quantities(self) -> tuple[str, ...]:
        return QUANTITIES[self.kind]

    def measure(self, pos_m: FloatArray) -> FloatArray:
        """h_s(p): (range m, azimuth rad, elevation rad) `(n, 3)` of ECEF positions from
        the declared site (OTH: geodesic ground range and bearing, elevation NaN)."""
        if self.kind == "oth":
            lat, lon, _ = ecef_to_geodetic(pos_m)
            ground = geodesic_distance_m(self.lat_deg, self.lon_deg, lat, lon)
            az = geodesic_bearing_deg(self.lat_deg, self.lon_deg, lat, lon)
            return np.stack([ground, np.radians(az), np.full(ground.shape, np.nan)], axis=-1)
        az, el, rng = enu_to_aer(ecef_to_enu(pos_m, self.ecef_m, self.basis))
        return np.stack([rng, np.radians(az), np.radians(el)], axis=-1)

    def z_of(self, rows: Mapping[str, NDArray[Any]]) -> FloatArray:
        """The reports' (range m, azimuth rad, elevation rad) `(n, 3)`, NaN where absent."""
        n = len(rows["time_s"])

        def col(name: str) -> FloatArray:
            return np.asarray(rows[name], dtype=np.float64) if name in rows else np.full(n, np.nan)

        return np.stack([col("range_m"), np.radians(col("az_deg")), np.radians(col("el_deg"))], 1)

    def usable(self, z: FloatArray) -> BoolArray:
        return np.asarray(np.isfinite(z[:, list(self.rows)]).all(axis=1), dtype=bool)


def bias_jacobian(geometry: SensorGeometry, z: FloatArray, z_rate: FloatArray | None) -> FloatArray:
    """H = ∂z/∂b `(n, 3, q)` at measurements z `(n, 3)` (range, az, el; el NaN → 0).

    The site columns are −∂z/∂p along east, north, up at the site:
        ∂r/∂p = (sin az cos el, cos az cos el, sin el)
        ∂az/∂p = (cos az, −sin az, 0) / (r cos el)
        ∂el/∂p = (−sin az sin el, −cos az sin el, cos el) / r
    `z_rate` `(n, 3)`: ż for the time column (−ż); None: the time column is 0 (a
    correction shifts the time stamp instead).
    """
    n = z.shape[0]
    r, az = z[:, 0], z[:, 1]
    el = np.nan_to_num(z[:, 2]) if geometry.kind != "space_ir" else z[:, 2]
    r = np.where(np.isfinite(r), r, 1.0)
    sa, ca, se, ce = np.sin(az), np.cos(az), np.sin(el), np.cos(el)
    zero = np.zeros(n)
    d_site = np.stack(
        [
            np.stack([sa * ce, ca * ce, se], axis=-1),
            np.stack([ca, -sa, zero], axis=-1) / np.maximum(r * ce, 1.0)[:, None],
            np.stack([-sa * se, -ca * se, ce], axis=-1) / r[:, None],
        ],
        axis=1,
    )  # (n, 3 rows, 3 enu)
    quantities = geometry.quantities
    H = np.zeros((n, 3, len(quantities)))
    for k, name in enumerate(quantities):
        if name == "range_m":
            H[:, 0, k] = 1.0
        elif name == "range_scale_ppm":
            H[:, 0, k] = r * 1e-6
        elif name == "az_deg":
            H[:, 1, k] = DEG
        elif name == "el_deg":
            H[:, 2, k] = DEG
        elif name == "time_s":
            if z_rate is not None:
                H[:, :, k] = -np.nan_to_num(z_rate)
        else:
            H[:, :, k] = -d_site[:, :, SITE.index(name)]
    keep = np.zeros(3, dtype=bool)
    keep[list(geometry.rows)] = True
    H[:, ~keep, :] = 0.0
    return H


# --------------------------------------------------------------------------- reference


@dataclass(frozen=True)
class ReferenceFit:
    """Each reference aircraft's quadratic p(τ) = a0 + a1 τ + a2 τ² about time t0."""

    t0: float
    ident: NDArray[np.object_]
    coef: FloatArray  # (M, 3 powers, 3 axes)
    cov: FloatArray  # (M, 3, 3): (AᵀA)⁻¹, times σ² for the coefficient covariance
    tau_low: FloatArray
    tau_high: FloatArray

    def state(self, k: IntArray, time_s: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Position, velocity and the position's variance factor of aircraft k at times."""
        tau = time_s - self.t0
        basis = np.stack([np.ones_like(tau), tau, tau * tau], axis=-1)  # (n, 3)
        pos = np.einsum("np,npa->na", basis, self.coef[k])
        vel = self.coef[k, 1] + 2.0 * tau[:, None] * self.coef[k, 2]
        factor = np.einsum("np,npq,nq->n", basis, self.cov[k], basis)
        return pos, vel, factor

    def covers(self, k: IntArray, time_s: FloatArray) -> BoolArray:
        tau = time_s - self.t0
        return np.asarray((tau >= self.tau_low[k]) & (tau <= self.tau_high[k]), dtype=bool)


def reference_fit(
    time_s: FloatArray, ident: NDArray[np.object_], pos_m: FloatArray, t0: float
) -> ReferenceFit | None:
    """Least-squares quadratics through each identity's positions (≥ 4 reports each)."""
    if time_s.size == 0:
        return None
    names, inverse = np.unique(ident.astype(str), return_inverse=True)
    counts = np.bincount(inverse, minlength=names.size)
    tau = time_s - t0
    powers = np.stack([np.ones_like(tau), tau, tau * tau], axis=-1)
    # AᵀA and Aᵀp per identity, summed with bincount-style accumulation
    AtA = np.zeros((names.size, 3, 3))
    np.add.at(AtA, inverse, powers[:, :, None] * powers[:, None, :])
    Atp = np.zeros((names.size, 3, 3))
    np.add.at(Atp, inverse, powers[:, :, None] * pos_m[:, None, :])
    low = np.full(names.size, np.inf)
    high = np.full(names.size, -np.inf)
    np.minimum.at(low, inverse, tau)
    np.maximum.at(high, inverse, tau)
    ok = (counts >= 4) & (high - low > 1e-3)
    if not ok.any():
        return None
    # A small ridge keeps a near-degenerate spread (reports bunched in time) solvable.
    AtA_ok = AtA[ok] + np.eye(3) * 1e-9
    cov = np.linalg.inv(AtA_ok)
    coef = np.einsum("mpq,mqa->mpa", cov, Atp[ok])
    return ReferenceFit(t0, names[ok].astype(object), coef, cov, low[ok], high[ok])


# --------------------------------------------------------------------------- the filter


@dataclass
class BiasFilter:
    """One sensor's bias state: estimate b, covariance P, and its health."""

    geometry: SensorGeometry
    prior: FloatArray  # (q,) σ
    drift_var_per_s: FloatArray  # (q,)
    b: FloatArray = field(init=False)
    P: FloatArray = field(init=False)
    time_s: float = -math.inf
    used: int = 0
    nis_mean: float = 1.0
    diverged: bool = False
    resets: int = 0

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.b = np.zeros(self.prior.size)
        self.P = np.diag(self.prior**2)
        self.used = 0
        self.nis_mean = 1.0

    def predict(self, time_s: float) -> None:
        """P ← P + Q Δt (random walk)."""
        if math.isfinite(self.time_s) and time_s > self.time_s:
            self.P = self.P + np.diag(self.drift_var_per_s * (time_s - self.time_s))
        self.time_s = max(self.time_s, time_s)

    def update(self, nu: FloatArray, H: FloatArray, R: FloatArray) -> None:
        """All of a window's residuals ν `(n, d)`, H `(n, d, q)`, R `(n, d, d)` at once.

        Y = P⁻¹ + Σ H' R⁻¹ H,  b⁺ = Y⁻¹ (P⁻¹ b + Σ H' R⁻¹ ν)
        """
        P_inv = spd_inverse(self.P[None])[0]
        R_inv = spd_inverse(R)
        HtRi = np.einsum("ndq,nde->nqe", H, R_inv)
        Y = P_inv + np.einsum("nqe,ner->qr", HtRi, H)
        y = P_inv @ self.b + np.einsum("nqe,ne->q", HtRi, nu)
        self.P = symmetrize(spd_inverse(Y[None]))[0]
        self.b = self.P @ y
        self.used += nu.shape[0]

    def observe_nis(self, nis_per_dim: float, weight: float, limit: float) -> None:
        self.nis_mean = (1.0 - weight) * self.nis_mean + weight * nis_per_dim
        if self.nis_mean > limit:
            self.diverged = True
            self.resets += 1
            self.reset()
        elif self.nis_mean < 0.5 * limit:
            self.diverged = False

    @property
    def sigma(self) -> FloatArray:
        out: FloatArray = np.sqrt(np.diag(self.P))
        return out

    def significance(self) -> float:
        """b' P⁻¹ b: how far the estimate is from no bias at all, in its own σ."""
        return float(self.b @ spd_inverse(self.P[None])[0] @ self.b)


# --------------------------------------------------------------------------- the shell


class Registration:
    """One viewer's registration of the sensors whose reports it tracks.

    `correct(rows)`: learn from the rows (ADS-B reference, registrable sensors' reports)
    and return them corrected. `table()`: the estimates over time.
    """

    def __init__(
        self,
        sensors: Sequence[SensorSpec],
        viewer: str,
        settings: RegistrationSettings | None = None,
    ) -> None:
        self.settings = s = settings or RegistrationSettings()
        self.viewer = viewer
        self.filters: dict[str, BiasFilter] = {}
        self.reference_sigma: dict[str, float] = {}
        for spec in sensors:
            if spec.type in QUANTITIES:
                geometry = SensorGeometry.of(spec)
                q = geometry.quantities
                self.filters[spec.id] = BiasFilter(
                    geometry,
                    np.array([s.prior(name) for name in q]),
                    np.array([s.drift(name) ** 2 / 3600.0 for name in q]),
                )
            elif spec.type == "adsb":
                self.reference_sigma[spec.id] = spec_value(spec, "sigma_pos_m")
        self._gate = {d: float(chdtri(d, 1.0 - s.gate_probability)) for d in (1, 2, 3)}
        q_max = max((f.prior.size for f in self.filters.values()), default=1)
        self._detect = {
            q: float(chdtri(q, 1.0 - s.detect_probability)) for q in range(1, q_max + 1)
        }
        # Reference reports (ADS-B with an identity), kept for `fit_margin_s` + a window.
        self._ref_t = np.empty(0)
        self._ref_ident = np.empty(0, dtype=object)
        self._ref_pos = np.empty((0, 3))
        self._ref_sigma = np.empty(0)
        self._newest_ref_s = -math.inf
        # Registrable reports waiting for reference reports after them.
        self._pending: list[tuple[str, FloatArray, FloatArray]] = []
        self._rows: dict[str, list[Any]] = {c: [] for c in REGISTRATION_COLUMNS}
        self._last_row_s: dict[str, float] = {}

    # ------------------------------------------------------------------ in

    def correct(self, rows: Mapping[str, NDArray[Any]]) -> Table:
        """Learn from report rows (plots columns), then return them corrected."""
        table: Table = {c: np.asarray(v) for c, v in rows.items()}
        n = len(table["time_s"]) if "time_s" in table else 0
        if n == 0 or not self.settings.enabled:
            return table
        self._learn(table)
        return self._apply(table)

    def _learn(self, rows: Table) -> None:
        sensor = np.asarray(rows["sensor_id"]).astype(str)
        time_s = np.asarray(rows["time_s"], dtype=np.float64)
        for sid, sigma in self.reference_sigma.items():
            sel = sensor == sid
            if "ident" in rows:
                sel &= np.asarray(rows["ident"]).astype(str) != ""
            if not sel.any():
                continue
            pos = geodetic_to_ecef(
                np.asarray(rows["lat_deg"], float)[sel],
                np.asarray(rows["lon_deg"], float)[sel],
                np.asarray(rows["alt_m"], float)[sel],
            )
            ok = np.isfinite(pos).all(axis=1) & np.isfinite(time_s[sel])
            self._ref_t = np.concatenate([self._ref_t, time_s[sel][ok]])
            self._ref_ident = np.concatenate(
                [self._ref_ident, np.asarray(rows["ident"], dtype=object)[sel][ok]]
            )
            self._ref_pos = np.concatenate([self._ref_pos, pos[ok]])
            self._ref_sigma = np.concatenate([self._ref_sigma, np.full(int(ok.sum()), sigma)])
            if ok.any():
                self._newest_ref_s = max(self._newest_ref_s, float(time_s[sel][ok].max()))
        for sid, filt in self.filters.items():
            sel = sensor == sid
            if not sel.any():
                continue
            z = filt.geometry.z_of({c: v[sel] for c, v in rows.items()})
            ok = filt.geometry.usable(z) & np.isfinite(time_s[sel])
            if ok.any():
                self._pending.append((sid, time_s[sel][ok], z[ok]))
        self._process_ready()

    def _process_ready(self) -> None:
        s = self.settings
        if not self._pending:
            return
        if not math.isfinite(self._newest_ref_s):
            # No reference at all: nothing to learn; say so (unobservable) over time.
            for sid, t, _ in self._pending:
                self.filters[sid].predict(float(t.max()))
                self._record(self.filters[sid])
            self._pending = []
            return
        until = math.floor((self._newest_ref_s - s.lag_s) / s.window_s) * s.window_s
        ready: dict[str, list[tuple[FloatArray, FloatArray]]] = {}
        rest: list[tuple[str, FloatArray, FloatArray]] = []
        for sid, t, z in self._pending:
            now = t < until
            if now.any():
                ready.setdefault(sid, []).append((t[now], z[now]))
            if (~now).any():
                rest.append((sid, t[~now], z[~now]))
        self._pending = rest
        if not ready:
            return
        all_t = np.concatenate([t for parts in ready.values() for t, _ in parts])
        windows = np.unique(np.floor(all_t / s.window_s))
        for w in windows:
            start = float(w) * s.window_s
            fit = self._fit(start, start + s.window_s)
            for sid, parts in ready.items():
                t = np.concatenate([p[0] for p in parts])
                z = np.concatenate([p[1] for p in parts])
                sel = (t >= start) & (t < start + s.window_s)
                if sel.any() and fit is not None:
                    self._update(self.filters[sid], fit, t[sel], z[sel])
        for sid in ready:
            self._record(self.filters[sid])
        # Forget reference reports no window will need again.
        keep = self._ref_t >= until - s.fit_margin_s - s.window_s
        self._ref_t, self._ref_ident = self._ref_t[keep], self._ref_ident[keep]
        self._ref_pos, self._ref_sigma = self._ref_pos[keep], self._ref_sigma[keep]

    def _fit(self, start_s: float, end_s: float) -> tuple[ReferenceFit, FloatArray] | None:
        m = self.settings.fit_margin_s
        sel = (self._ref_t >= start_s - m) & (self._ref_t <= end_s + m)
        fit = reference_fit(
            self._ref_t[sel], self._ref_ident[sel], self._ref_pos[sel], 0.5 * (start_s + end_s)
        )
        if fit is None:
            return None
        # σ of one reference report per aircraft (the largest of its stations)
        names, inverse = np.unique(self._ref_ident[sel].astype(str), return_inverse=True)
        sigma = np.zeros(names.size)
        np.maximum.at(sigma, inverse, self._ref_sigma[sel])
        return fit, sigma[np.searchsorted(names, fit.ident.astype(str))]

    def _update(
        self,
        filt: BiasFilter,
        fitted: tuple[ReferenceFit, FloatArray],
        t: FloatArray,
        z: FloatArray,
    ) -> None:
        s = self.settings
        fit, ref_sigma = fitted
        geom = filt.geometry
        rows = list(geom.rows)
        d = len(rows)
        filt.predict(float(t.max()))
        # Pre-gate in the sensor's polar plane: r (sin az, cos az) of reports and aircraft.
        all_k = np.arange(fit.ident.size)
        pos_c, _, _ = fit.state(all_k, np.full(all_k.size, fit.t0))
        z_c = geom.measure(pos_c)
        if geom.kind == "space_ir":
            plane_a = np.stack([z_c[:, 1], z_c[:, 2]], 1) * 1e6
            plane_z = np.stack([z[:, 1], z[:, 2]], 1) * 1e6
        else:
            plane_a = np.stack([z_c[:, 0] * np.sin(z_c[:, 1]), z_c[:, 0] * np.cos(z_c[:, 1])], 1)
            plane_z = np.stack([z[:, 0] * np.sin(z[:, 1]), z[:, 0] * np.cos(z[:, 1])], 1)
        radius = np.full(plane_z.shape[0], s.pregate_m)
        i, k = pregate_pairs(plane_z, radius, plane_a)
        if i.size == 0:
            return
        covered = fit.covers(k, t[i])
        i, k = i[covered], k[covered]
        if i.size == 0:
            return
        pos, vel, factor = fit.state(k, t[i])
        z_ref = geom.measure(pos)
        step = 1.0
        z_rate = geom.measure(pos + vel * step) - z_ref
        z_rate[:, 1] = wrap(z_rate[:, 1])
        z_rate /= step
        nu = z[i] - z_ref
        nu[:, 1] = wrap(nu[:, 1])
        H = bias_jacobian(geom, z_ref, z_rate)[:, rows, :]
        nu = nu[:, rows]
        # R = R_sensor + H_p Σ_ref H_p'   (H_p = −H_site: the reference's error moves z
        # as a site error the other way; along east, north, up)
        var_ref = np.maximum(ref_sigma[k] ** 2 * factor, s.reference_floor_m**2)
        site_rows = bias_jacobian(_with_site(geom), z_ref, None)[:, rows, :][:, :, -3:]
        R = np.einsum("ndk,nek->nde", site_rows, site_rows) * var_ref[:, None, None]
        R += np.diag(geom.sigma[rows] ** 2)[None]
        # gate: d² = (ν − H b)' (H P H' + R)⁻¹ (ν − H b)
        innov = nu - np.einsum("ndq,q->nd", H, filt.b)
        S = np.einsum("ndq,qr,ner->nde", H, filt.P, H) + R
        S_inv = spd_inverse(S)
        d2 = np.einsum("nd,nde,ne->n", innov, S_inv, innov)
        passed = d2 <= self._gate[d]
        # one aircraft per report, and only when no other passes the gate too
        n_pass = np.bincount(i[passed], minlength=z.shape[0])
        best = passed & (n_pass[i] == 1)
        if not best.any():
            return
        # NIS of the pairs used (before the update): E = d per pair
        nis = float(d2[best].mean()) / d
        filt.update(nu[best], H[best], R[best])
        filt.observe_nis(nis, s.nis_weight, s.divergence_nis)

    # ------------------------------------------------------------------ out

    def applied(self, sensor_id: str) -> bool:
        """Whether the sensor's reports are corrected now (module docstring, "Applying")."""
        filt = self.filters.get(sensor_id)
        if filt is None or filt.diverged or filt.used < self.settings.min_reports:
            return False
        return filt.significance() > self._detect[filt.prior.size]

    def _apply(self, rows: Table) -> Table:
        sensor = np.asarray(rows["sensor_id"]).astype(str)
        out = dict(rows)
        for sid, filt in self.filters.items():
            sel = sensor == sid
            if not sel.any() or not self.applied(sid):
                continue
            geom = filt.geometry
            part = {c: v[sel] for c, v in rows.items()}
            z = geom.z_of(part)
            H = bias_jacobian(geom, z, None)
            dz = np.einsum("ndq,q->nd", H, filt.b)
            time_col = geom.quantities.index("time_s")
            for row, column, unit in ((0, "range_m", 1.0), (1, "az_deg", DEG), (2, "el_deg", DEG)):
                if row in geom.rows and column in out:
                    values = np.asarray(out[column], dtype=np.float64).copy()
                    fixed = z[:, row] - dz[:, row]
                    values[sel] = fixed / unit
                    if column == "az_deg":
                        values[sel] %= 360.0
                    out[column] = values
            times = np.asarray(out["time_s"], dtype=np.float64).copy()
            times[sel] -= filt.b[time_col]
            out["time_s"] = times
        return out

    def _record(self, filt: BiasFilter) -> None:
        s = self.settings
        sid = filt.geometry.sensor_id
        t = filt.time_s
        if not math.isfinite(t) or t < self._last_row_s.get(sid, -math.inf) + s.report_interval_s:
            return
        self._last_row_s[sid] = t
        sigma = filt.sigma
        observable = (sigma < s.observable_ratio * filt.prior) & ~filt.diverged
        for k, name in enumerate(filt.geometry.quantities):
            self._rows["time_s"].append(t)
            self._rows["viewer"].append(self.viewer)
            self._rows["sensor_id"].append(sid)
            self._rows["quantity"].append(name)
            self._rows["estimate"].append(float(filt.b[k]) if observable[k] else math.nan)
            self._rows["sigma"].append(float(sigma[k]))

    def table(self) -> Table:
        """The estimates so far: `registration.parquet` rows."""
        return {
            "time_s": np.asarray(self._rows["time_s"], dtype=np.float64),
            "viewer": np.asarray(self._rows["viewer"], dtype=object),
            "sensor_id": np.asarray(self._rows["sensor_id"], dtype=object),
            "quantity": np.asarray(self._rows["quantity"], dtype=object),
            "estimate": np.asarray(self._rows["estimate"], dtype=np.float64),
            "sigma": np.asarray(self._rows["sigma"], dtype=np.float64),
        }

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per sensor: reports used, applied or not, diverged, the estimate and σ now."""
        return {
            sid: {
                "reports_used": f.used,
                "applied": self.applied(sid),
                "diverged": f.diverged,
                "resets": f.resets,
                "estimate": dict(zip(f.geometry.quantities, f.b.round(6).tolist(), strict=True)),
                "sigma": dict(zip(f.geometry.quantities, f.sigma.round(6).tolist(), strict=True)),
            }
            for sid, f in self.filters.items()
        }


def _with_site(geometry: SensorGeometry) -> SensorGeometry:
    """The same sensor as a 3D radar, whose H ends with the three site columns."""
    return SensorGeometry(
        geometry.sensor_id,
        "radar",
        geometry.lat_deg,
        geometry.lon_deg,
        geometry.ecef_m,
        geometry.basis,
        geometry.sigma,
    )

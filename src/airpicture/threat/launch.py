"""Launch detection from space-IR boost reports: where and when a missile left the ground.

A staring infrared satellite reports only a line of sight (LOS) to a hot plume:
a ray from the satellite, no range. One geostationary satellite's rays to one
launch are nearly parallel, so the missile's height along the ray is weakly
observable; the estimate rests on a model of the first seconds of boost.

Model (first `fit_window_s` of a launch): constant acceleration from rest at
the launch point L at time t₀, in L's local east/north/up frame:

    p(t) = L + ½ a (t − t₀)²,   a = (a_e, a_n, a_u)

with Gaussian priors a_u ~ N(15, 10²) m/s², a_e, a_n ~ N(0, 15²) m/s² (a
liquid or solid first stage lifts off at 1.5–3 g of thrust) and
t₀ ~ N(t_first − 10 s, 15²) (the first report comes within one or two frames
of lift-off). Unknowns: L's east and north offset from the first ray's ground
point, t₀, a — six numbers, fitted (MAP, `scipy.optimize.least_squares`) to
every report's LOS: each report gives two residuals, the predicted LOS's miss
across the observed one in units of σ_LOS.

Honesty: the covariance of the fit, (J'J)⁻¹, measures the noise and the
priors only; real boosts pitch over and their thrust grows as propellant
burns, so a model-error floor (`model_error_m`, 1σ) is added in quadrature to
the launch point's uncertainty. Reports are grouped into launch events by
their ground points (the ray meeting the ellipsoid): within
`cluster_distance_m` and `cluster_gap_s` of an event's latest report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares

from airpicture.geo import (
    WGS84_A_M,
    WGS84_B_M,
    ecef_to_geodetic,
    enu_basis,
    enu_to_ecef,
    geodesic_distance_m,
    geodetic_to_ecef,
)
from airpicture.threat.assessment import BoostReports
from airpicture.threat.ellipse import chi2_2dof_scale

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class LaunchSettings:
    #: LOS noise assumed for the fit (1σ, radians) when the sensor's is unknown.
    los_sigma_rad: float = 30e-6
    #: Reports whose ground points lie this close to an event's latest (and
    #: within the gap in time) belong to that event.
    cluster_distance_m: float = 400_000.0
    cluster_gap_s: float = 45.0
    #: A launch is declared on this many reports from distinct frames.
    min_reports: int = 2
    #: Only reports this soon after the first feed the constant-acceleration fit.
    fit_window_s: float = 50.0
    accel_up_prior_mps2: float = 15.0
    accel_up_sigma_mps2: float = 10.0
    accel_horizontal_sigma_mps2: float = 15.0
    launch_time_lead_s: float = 10.0
    launch_time_sigma_s: float = 15.0
    #: 1σ launch-point error of the boost model itself, added in quadrature.
    model_error_m: float = 5_000.0
    #: An event whose last report is older than this has burnt out (closed).
    burnout_after_s: float = 30.0
    confidence: float = 0.95


@dataclass
class LaunchEvent:
    """One detected launch, refined as its reports arrive."""

    event_id: str
    report_time_s: list[float] = field(default_factory=list)
    origin_ecef_m: list[FloatArray] = field(default_factory=list)
    los_ecef: list[FloatArray] = field(default_factory=list)
    sensor_id: list[str] = field(default_factory=list)
    ground_lat_deg: float = math.nan
    ground_lon_deg: float = math.nan
    #: The estimate (NaN until fitted).
    lat_deg: float = math.nan
    lon_deg: float = math.nan
    time_s: float = math.nan
    time_sigma_s: float = math.nan
    #: Radius of the launch point's `confidence` circle (the ellipse's semi-major axis).
    radius_m: float = math.nan
    #: Direction of the early ground motion, degrees from north (NaN if unresolved).
    heading_deg: float = math.nan
    declared: bool = False
    #: A threat (track) that this launch became, once linked.
    threat_id: str = ""

    @property
    def last_report_s(self) -> float:
        return self.report_time_s[-1] if self.report_time_s else -math.inf

    @property
    def first_report_s(self) -> float:
        return self.report_time_s[0] if self.report_time_s else math.inf

    def n_frames(self) -> int:
        return int(np.unique(np.round(np.asarray(self.report_time_s), 3)).size)


def ray_ellipsoid(origin_ecef_m: FloatArray, los: FloatArray, alt_m: float = 0.0) -> FloatArray:
    """Where rays `(N, 3)` first meet the ellipsoid raised by `alt_m`; NaN where they miss.

    Solve |D (o + s u)|² = 1, D = diag(1/A, 1/A, 1/B), A = a + h, B = b + h:
    (u'D²u) s² + 2 (o'D²u) s + (o'D²o − 1) = 0, nearest root s ≥ 0.
    """
    inv = np.array(
        [1.0 / (WGS84_A_M + alt_m), 1.0 / (WGS84_A_M + alt_m), 1.0 / (WGS84_B_M + alt_m)]
    )
    o = origin_ecef_m * inv
    u = los * inv
    qa = np.einsum("ij,ij->i", u, u)
    qb = 2.0 * np.einsum("ij,ij->i", o, u)
    qc = np.einsum("ij,ij->i", o, o) - 1.0
    disc = qb * qb - 4.0 * qa * qc
    with np.errstate(invalid="ignore"):
        s = (-qb - np.sqrt(disc)) / (2.0 * qa)
    s = np.where((disc >= 0.0) & (s >= 0.0), s, np.nan)
    result: FloatArray = origin_ecef_m + s[:, None] * los
    return result


class LaunchDetector:
    """Groups boost reports into launch events and estimates each launch point and time."""

    def __init__(self, settings: LaunchSettings | None = None, prefix: str = "L") -> None:
        self.settings = settings or LaunchSettings()
        self.events: list[LaunchEvent] = []
        self._prefix = prefix
        self._next = 1
        #: Reports that met no ellipsoid (a ray into space): counted, not used.
        self.rejected_reports = 0

    def add(self, boost: BoostReports) -> list[LaunchEvent]:
        """Take new reports; return the events that were declared or refined by them."""
        n = int(boost.time_s.shape[0])
        if n == 0:
            return []
        order = np.argsort(boost.time_s, kind="stable")
        ground = ray_ellipsoid(boost.origin_ecef_m[order], boost.los_ecef[order])
        ok = np.asarray(np.isfinite(ground).all(axis=1), dtype=np.bool_)
        self.rejected_reports += int((~ok).sum())
        glat, glon, _ = ecef_to_geodetic(np.where(ok[:, None], ground, WGS84_A_M), refine=False)
        touched: dict[str, LaunchEvent] = {}
        cfg = self.settings
        for i, k in enumerate(order):
            if not ok[i]:
                continue
            t = float(boost.time_s[k])
            best: LaunchEvent | None = None
            best_d = math.inf
            for ev in self.events:
                if t - ev.last_report_s > cfg.cluster_gap_s or t < ev.first_report_s - 1.0:
                    continue
                d = float(
                    geodesic_distance_m(ev.ground_lat_deg, ev.ground_lon_deg, glat[i], glon[i])
                )
                if d < cfg.cluster_distance_m and d < best_d:
                    best, best_d = ev, d
            if best is None:
                best = LaunchEvent(event_id=f"{self._prefix}{self._next:03d}")
                self._next += 1
                self.events.append(best)
            best.report_time_s.append(t)
            best.origin_ecef_m.append(boost.origin_ecef_m[k].astype(np.float64))
            best.los_ecef.append(boost.los_ecef[k].astype(np.float64))
            best.sensor_id.append(str(boost.sensor_id[k]))
            best.ground_lat_deg, best.ground_lon_deg = float(glat[i]), float(glon[i])
            touched[best.event_id] = best
        changed: list[LaunchEvent] = []
        for ev in touched.values():
            if ev.n_frames() >= cfg.min_reports:
                self._fit(ev)
                ev.declared = ev.declared or bool(np.isfinite(ev.lat_deg))
                if ev.declared:
                    changed.append(ev)
        return changed

    def burnt_out(self, ev: LaunchEvent, time_s: float) -> bool:
        return time_s - ev.last_report_s > self.settings.burnout_after_s

    def _fit(self, ev: LaunchEvent) -> None:
        cfg = self.settings
        t = np.asarray(ev.report_time_s)
        use = t <= t[0] + cfg.fit_window_s
        t = t[use]
        origin = np.asarray(ev.origin_ecef_m)[use]
        los = np.asarray(ev.los_ecef)[use]
        los = los / np.linalg.norm(los, axis=1, keepdims=True)
        g0 = ray_ellipsoid(origin[:1], los[:1])[0]
        lat0, lon0, _ = ecef_to_geodetic(g0)
        base = geodetic_to_ecef(lat0, lon0, 0.0)
        basis = enu_basis(lat0, lon0)
        # Two unit vectors across each observed LOS: residuals are the predicted
        # LOS's components along them (radians for small misses).
        helper = np.where(np.abs(los[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
        e1 = np.cross(los, helper)
        e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
        e2 = np.cross(los, e1)
        t_first = float(t[0])

        def residuals(theta: FloatArray) -> FloatArray:
            east, north, t0, a_e, a_n, a_u = theta
            tau = np.maximum(t - t0, 0.0)
            half = 0.5 * tau**2
            enu = np.stack([east + a_e * half, north + a_n * half, a_u * half], axis=1)
            p = enu_to_ecef(enu, base, basis)
            d = p - origin
            u = d / np.linalg.norm(d, axis=1, keepdims=True)
            r_los = np.concatenate([np.einsum("ij,ij->i", u, e1), np.einsum("ij,ij->i", u, e2)])
            prior = np.array(
                [
                    (t0 - (t_first - cfg.launch_time_lead_s)) / cfg.launch_time_sigma_s,
                    a_e / cfg.accel_horizontal_sigma_mps2,
                    a_n / cfg.accel_horizontal_sigma_mps2,
                    (a_u - cfg.accel_up_prior_mps2) / cfg.accel_up_sigma_mps2,
                ]
            )
            return np.concatenate([r_los / cfg.los_sigma_rad, prior])

        theta0 = np.array(
            [0.0, 0.0, t_first - cfg.launch_time_lead_s, 0.0, 0.0, cfg.accel_up_prior_mps2]
        )
        try:
            sol = least_squares(residuals, theta0, x_scale=[1e3, 1e3, 5.0, 5.0, 5.0, 5.0])
            jac = np.asarray(sol.jac, dtype=np.float64)
            JtJ = jac.T @ jac
            cov = np.linalg.pinv(JtJ)
        except (ValueError, np.linalg.LinAlgError):
            return
        if not np.isfinite(sol.x).all() or not np.isfinite(cov).all():
            return
        east, north, t0, a_e, a_n, _ = sol.x
        lat, lon, _ = ecef_to_geodetic(enu_to_ecef(np.array([east, north, 0.0]), base, basis))
        lam_max = float(np.linalg.eigvalsh(cov[:2, :2])[-1])
        sigma = math.sqrt(max(lam_max, 0.0) + cfg.model_error_m**2)
        ev.lat_deg, ev.lon_deg = float(lat), float(lon)
        ev.time_s = float(min(t0, t_first))
        ev.time_sigma_s = float(math.sqrt(max(cov[2, 2], 0.0)))
        ev.radius_m = float(chi2_2dof_scale(cfg.confidence)) * sigma
        a_h = math.hypot(a_e, a_n)
        a_h_sigma = math.sqrt(max(cov[3, 3] + cov[4, 4], 0.0))
        ev.heading_deg = (
            math.degrees(math.atan2(a_e, a_n)) % 360.0 if a_h > 2.0 * a_h_sigma else math.nan
        )

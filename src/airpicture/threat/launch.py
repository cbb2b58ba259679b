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
their ground points (the ray meeting the ellipsoid), frame by frame: the
reports of one frame go to distinct events (a frame sees each missile once),
each to the event whose extrapolated ground point is nearest (a least-cost
assignment), so that a salvo launched seconds apart from one site gives one
event per missile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares, linear_sum_assignment

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
    #: A report may continue an event only this close to its latest ground point and
    #: within this gap of its latest report, else the event has burnt out: two missed
    #: frames of a 10 s staring sensor (pd 0.95: 1 in 400). At 45 s a burnt-out lofted
    #: shot's event, extrapolated 40 s, took a salvo launched 41 km away.
    cluster_distance_m: float = 400_000.0
    cluster_gap_s: float = 35.0
    #: A report continues an event when its ground point lies near the event's ground
    #: point extrapolated to the report's time: once the event has two frames (a
    #: velocity), within `extrapolated_gate_m` (the LOS noise, ~0.7 km, over two
    #: frames) plus ½ `max_ground_accel_mps2` Δt²; with one frame, within
    #: `ground_gate_m` plus `max_ground_speed_mps` Δt. The ray's ground point moves at
    #: the missile's horizontal speed plus its climb rate over tan(elevation of the
    #: satellite): up to ~6 km/s at burnout, accelerating by up to ~100 m/s², seen
    #: from geostationary orbit. A wider margin with a velocity (30 km) let a salvo
    #: launched 45 km away continue a lofted shot's event as it burnt out.
    extrapolated_gate_m: float = 5_000.0
    ground_gate_m: float = 30_000.0
    max_ground_speed_mps: float = 6_000.0
    max_ground_accel_mps2: float = 100.0
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
    #: Where the latest report's ray meets the ellipsoid, and every report's such point.
    ground_lat_deg: float = math.nan
    ground_lon_deg: float = math.nan
    ground_track_deg: list[tuple[float, float]] = field(default_factory=list)
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

    def has_ground_velocity(self) -> bool:
        """Whether the last two reports are from distinct frames (a ground-point velocity)."""
        t = self.report_time_s
        return len(t) >= 2 and t[-1] - t[-2] >= 0.5

    def ground_point_at(self, time_s: float) -> tuple[float, float]:
        """The ground point extrapolated linearly from the last two frames' (or the last)."""
        if not self.has_ground_velocity():
            return self.ground_lat_deg, self.ground_lon_deg
        (lat1, lon1), (lat2, lon2) = self.ground_track_deg[-2], self.ground_track_deg[-1]
        # p(t) = p₂ + (p₂ − p₁) (t − t₂) / (t₂ − t₁)
        t = self.report_time_s
        f = (time_s - t[-1]) / (t[-1] - t[-2])
        return lat2 + (lat2 - lat1) * f, lon2 + (lon2 - lon1) * f


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
        """Take new reports; return the events that were declared or refined by them.

        One frame (a sensor's reports at one time) holds at most one report of each
        missile, so a frame's reports go to distinct events: the reports and the
        events still burning are paired by the least total squared distance between
        each report's ground point and the event's ground point extrapolated to the
        frame (`scipy.optimize.linear_sum_assignment`), within the event's gate;
        a report left over starts an event. A salvo's missiles, launched seconds
        apart from nearly one point, thus stay apart from their first shared frame.
        """
        n = int(boost.time_s.shape[0])
        if n == 0:
            return []
        order = np.argsort(boost.time_s, kind="stable")
        ground = ray_ellipsoid(boost.origin_ecef_m[order], boost.los_ecef[order])
        ok = np.asarray(np.isfinite(ground).all(axis=1), dtype=np.bool_)
        self.rejected_reports += int((~ok).sum())
        glat, glon, _ = ecef_to_geodetic(np.where(ok[:, None], ground, WGS84_A_M), refine=False)
        sensor = np.asarray(boost.sensor_id, dtype=object)[order]
        times = np.asarray(boost.time_s, dtype=np.float64)[order]
        frame_key = [(str(s), round(float(t), 3)) for s, t in zip(sensor, times, strict=True)]
        touched: dict[str, LaunchEvent] = {}
        rows = np.flatnonzero(ok)
        # The rows of each satellite frame, frames in order of first appearance (one pass).
        frames: dict[tuple[str, float], list[int]] = {}
        for i in rows.tolist():
            frames.setdefault(frame_key[i], []).append(i)
        for key, members in frames.items():
            frame = np.array(members, dtype=np.intp)
            t = key[1]
            events = [ev for ev in self.events if self._may_continue(ev, key)]
            assigned = self._assign(events, t, glat[frame], glon[frame])
            for j, i in enumerate(frame.tolist()):
                ev = assigned[j]
                if ev is None:
                    ev = LaunchEvent(event_id=f"{self._prefix}{self._next:03d}")
                    self._next += 1
                    self.events.append(ev)
                k = int(order[i])
                ev.report_time_s.append(float(boost.time_s[k]))
                ev.origin_ecef_m.append(boost.origin_ecef_m[k].astype(np.float64))
                ev.los_ecef.append(boost.los_ecef[k].astype(np.float64))
                ev.sensor_id.append(str(boost.sensor_id[k]))
                ev.ground_lat_deg, ev.ground_lon_deg = float(glat[i]), float(glon[i])
                ev.ground_track_deg.append((ev.ground_lat_deg, ev.ground_lon_deg))
                touched[ev.event_id] = ev
        changed: list[LaunchEvent] = []
        for ev in touched.values():
            if ev.n_frames() >= self.settings.min_reports:
                self._fit(ev)
                ev.declared = ev.declared or bool(np.isfinite(ev.lat_deg))
                if ev.declared:
                    changed.append(ev)
        return changed

    def _may_continue(self, ev: LaunchEvent, frame: tuple[str, float]) -> bool:
        """Whether `ev` is still burning at this frame and has no report from it yet."""
        sensor, t = frame
        if t - ev.last_report_s > self.settings.cluster_gap_s or t < ev.first_report_s - 1.0:
            return False
        return not any(
            s == sensor and round(tr, 3) == t
            for s, tr in zip(ev.sensor_id, ev.report_time_s, strict=True)
        )

    def _assign(
        self, events: list[LaunchEvent], time_s: float, lat_deg: FloatArray, lon_deg: FloatArray
    ) -> list[LaunchEvent | None]:
        """The event each report of one frame continues (None: a new event)."""
        out: list[LaunchEvent | None] = [None] * lat_deg.size
        if not events:
            return out
        cfg = self.settings
        cost = np.full((lat_deg.size, len(events)), np.inf)
        for j, ev in enumerate(events):
            plat, plon = ev.ground_point_at(time_s)
            d = geodesic_distance_m(plat, plon, lat_deg, lon_deg)
            gap_s = time_s - ev.last_report_s
            # gate = margin + ½ a_max Δt² (extrapolated with a velocity) or v_max Δt (without)
            if ev.has_ground_velocity():
                gate = cfg.extrapolated_gate_m + 0.5 * cfg.max_ground_accel_mps2 * gap_s**2
            else:
                gate = cfg.ground_gate_m + cfg.max_ground_speed_mps * gap_s
            gate = min(cfg.cluster_distance_m, gate)
            cost[:, j] = np.where(d <= gate, (d / 1000.0) ** 2, np.inf)
        finite = np.isfinite(cost)
        if not finite.any():
            return out
        rows, cols = linear_sum_assignment(np.where(finite, cost, 1e18))
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            if finite[r, c]:
                out[r] = events[c]
        return out

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

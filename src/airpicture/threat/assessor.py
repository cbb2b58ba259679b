"""`NationalAssessor`: one nation's threat assessment, called at every picture snapshot.

It keeps, across calls: each track's accumulated class evidence and first
position (its origin); the launch events found in space-IR boost reports; the
ballistic threats (a threat outlives the tracks that carry it — a missile's
track may be dropped and re-initiated several times in flight); and the
warnings issued with their life cycle. Rules, physics and texts: docs/threat.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from airpicture.geo import ecef_to_geodetic, ecef_vector_to_enu, enu_basis, geodesic_distance_m
from airpicture.scenario import Scenario
from airpicture.threat.assessment import Assessment, BoostReports
from airpicture.threat.assets import AssetTable, ellipse_reach, motion_reach
from airpicture.threat.classify import (
    CLASSES,
    ClassifySettings,
    accumulate,
    class_memberships,
    posterior,
)
from airpicture.threat.fit import BallisticFit, FitSettings, fit_ballistic
from airpicture.threat.geography import TERRITORIES, Geography
from airpicture.threat.impact import ImpactPrediction, ImpactSettings, predict_impact
from airpicture.threat.launch import LaunchDetector, LaunchEvent, LaunchSettings
from airpicture.tracking.motion import ballistic_propagate, frame_acceleration
from airpicture.tracking.tracker import TrackView

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class AssessorSettings:
    """Every threshold of the assessment, with its reason in docs/threat.md."""

    classify: ClassifySettings = field(default_factory=ClassifySettings)
    impact: ImpactSettings = field(default_factory=ImpactSettings)
    fit: FitSettings = field(default_factory=FitSettings)
    launch: LaunchSettings = field(default_factory=LaunchSettings)
    #: Posterior above which a track counts as a missile threat.
    threat_confidence: float = 0.7
    #: A new ballistic track joins a threat whose predicted position is this close.
    threat_gate_m: float = 60_000.0
    #: Track positions kept per threat for the trajectory fit, and the fit window.
    fit_window_s: float = 120.0
    min_fit_points: int = 4
    #: A fit with a χ² per degree of freedom above this is retried on a shorter window.
    max_fit_chi2: float = 60.0
    #: The impact-area warning waits for an ellipse this small (semi-major axis).
    max_warning_semi_major_m: float = 600_000.0
    #: An update is sent when the ellipse shrinks by this fraction, the centre
    #: moves by this fraction of the last semi-major axis, or the assets or
    #: land/sea status change; and at most once per `min_update_interval_s`.
    update_shrink: float = 0.3
    update_move: float = 0.5
    min_update_interval_s: float = 20.0
    #: A threat with no track for this long and no impact warning is cancelled.
    lost_after_s: float = 120.0
    #: A launch with no track linked for this long is closed with a notice.
    launch_unconfirmed_s: float = 900.0
    #: A launch event and a ballistic track belong together when the track is no
    #: farther from the launch point than this speed × time since launch.
    launch_link_speed_mps: float = 7_500.0
    #: Cruise missiles and aircraft reach an asset within this of its radius.
    reach_margin_m: float = 10_000.0
    #: Class and track memories are forgotten this long after a track is last seen.
    forget_after_s: float = 600.0
    #: ADS-B identities (callsign prefixes) of friendly aircraft; the sensor
    #: models have no IFF, so without such a list no aircraft is called a friend.
    friend_ident_prefixes: tuple[str, ...] = ()


@dataclass
class _TrackMemory:
    evidence: FloatArray
    first_lat_deg: float
    first_lon_deg: float
    origin_code: str
    last_seen_s: float
    last_time_s: float
    last_vel: FloatArray
    last_country: str = ""


@dataclass
class _Threat:
    threat_id: str
    warning_id: str
    first_seen_s: float
    track_ids: set[str] = field(default_factory=set)
    current_track: str = ""
    times: list[float] = field(default_factory=list)
    pos: list[FloatArray] = field(default_factory=list)
    pos_cov: list[FloatArray] = field(default_factory=list)
    last_x: FloatArray = field(default_factory=lambda: np.zeros(6))
    last_seen_s: float = -math.inf
    fit: BallisticFit | None = None
    fit_time_s: float = math.nan
    launch: LaunchEvent | None = None
    prediction: dict[str, Any] | None = None
    previous_prediction: dict[str, Any] | None = None
    warned: bool = False
    last_warning_s: float = -math.inf
    reported: dict[str, Any] | None = None
    sequence: int = 0
    closed: bool = False
    country: str = ""
    problem: str = ""
    reported_problem: bool = False


class NationalAssessor:
    """Threat assessment for one nation (implements `airpicture.threat.assessment.Assessor`)."""

    def __init__(
        self, scenario: Scenario, nation: str, settings: AssessorSettings | None = None
    ) -> None:
        self.nation = nation
        #: Allies a launch notice is offered to: the network's release guard cuts the
        #: list to the nations the notice's sources may go to.
        self.allies = [n for n in scenario.nations if n != nation and nation != "ALL"]
        self.settings = settings or AssessorSettings()
        self.epoch: datetime = scenario.epoch
        self.geography = Geography([(p.name, p.lat_deg, p.lon_deg) for p in scenario.places])
        self.ir_sensors = {s.id for s in scenario.sensors if s.type == "space_ir"}
        self.allied_codes = {code for n in scenario.nations for code in TERRITORIES.get(n, ())}
        assets = list(scenario.assets)
        self.assets = AssetTable(
            name=tuple(a.name for a in assets),
            nation=tuple(a.nation for a in assets),
            lat_deg=np.array([a.lat_deg for a in assets], dtype=np.float64),
            lon_deg=np.array([a.lon_deg for a in assets], dtype=np.float64),
            radius_m=np.array([a.radius_m for a in assets], dtype=np.float64),
        )
        # A centralized picture ("ALL") defends every asset of the scenario.
        self._own_assets = np.array([nation in (a.nation, "ALL") for a in assets], dtype=bool)
        self.launches = LaunchDetector(self.settings.launch, prefix=f"{nation}-L")
        self._tracks: dict[str, _TrackMemory] = {}
        self._threats: dict[str, _Threat] = {}
        self._track_threat: dict[str, str] = {}
        self._cruise_warned: dict[str, dict[str, Any]] = {}
        self._next_threat = 1
        self._launch_warned: set[str] = set()
        #: Country code of each launch point looked up (a threat's launch is asked every cycle).
        self._country_of: dict[tuple[float, float], str] = {}
        #: Everything the assessor could not do as asked, counted by reason.
        self.notes: dict[str, int] = {}
        #: The ranked threat list of the last call, and every call's list.
        self.threat_list: list[dict[str, Any]] = []
        self.threat_log: list[dict[str, Any]] = []
        #: Every accepted impact prediction (for calibration and analysis): made_s when it
        #: was made, time_s the predicted impact time, lat/lon, cov_en_m2, ellipse.
        self.prediction_log: list[dict[str, Any]] = []
        if self.geography.problem:
            self._note(self.geography.problem)
        if not scenario.places:
            self._note("scenario has no places: warnings give coordinates instead")
        if not self._own_assets.any():
            self._note(f"scenario has no assets of {nation}: no asset warnings for it")
        unknown = [n for n in scenario.nations if n not in TERRITORIES]
        for n in unknown:
            self._note(f"no territory outline known for {n}: its overflight is not reported")

    # ------------------------------------------------------------------ API

    def assess(self, view: TrackView, boost: BoostReports, time_s: float) -> Assessment:
        """Classify and identify every track of `view`; return the warnings due at `time_s`."""
        warnings: list[dict[str, Any]] = []
        n = int(view.x.shape[0])
        x = np.asarray(view.x, dtype=np.float64).reshape(n, 6)
        finite = np.asarray(np.isfinite(x).all(axis=1), dtype=np.bool_)
        if (~finite).any():
            self._note("track state not finite: classified unknown", int((~finite).sum()))
        x_safe = np.where(finite[:, None], x, np.array([6.4e6, 0, 0, 0, 0, 0]))
        lat, lon, alt = ecef_to_geodetic(x_safe[:, :3])
        vel_enu = ecef_vector_to_enu(x_safe[:, 3:], enu_basis(lat, lon))
        speed = np.linalg.norm(vel_enu, axis=1)
        lat, lon, alt, speed = (np.where(finite, a, np.nan) for a in (lat, lon, alt, speed))
        ids = [str(t) for t in view.track_id]
        mu_bal = self._mode(view, "ballistic")
        thrust = self._thrust(ids, x_safe, time_s)
        has_ident = np.array([bool(str(i).strip()) for i in view.ident], dtype=bool)
        seen_ir = np.array([bool(self.ir_sensors & set(s)) for s in view.sources], dtype=bool)
        m = class_memberships(
            alt, speed, mu_bal, thrust, has_ident, seen_ir, self.settings.classify
        )
        evidence = (
            np.stack([self._tracks[i].evidence if i in self._tracks else np.zeros(4) for i in ids])
            if n
            else np.zeros((0, 4))
        )
        evidence = accumulate(evidence, m, self.settings.classify.forgetting)
        post = posterior(evidence) if n else np.zeros((0, 4))
        best = post.argmax(axis=1) if n else np.zeros(0, np.intp)
        cls = np.array([CLASSES[int(k)] for k in best], dtype=object)
        conf = post[np.arange(n), best] if n else np.zeros(0)
        is_bm = (cls == "ballistic_missile") & (conf >= self.settings.threat_confidence) & finite
        # The country under a track: for a new track (its origin) and a ballistic threat.
        codes = np.full(n, "", dtype=object)
        need = np.array([tid not in self._tracks for tid in ids], dtype=bool) | is_bm
        if need.any():
            codes[need] = self.geography.country_codes_at(lat[need], lon[need])
        for k, tid in enumerate(ids):
            mem = self._tracks.get(tid)
            if mem is None:
                mem = _TrackMemory(
                    evidence=evidence[k],
                    first_lat_deg=float(lat[k]),
                    first_lon_deg=float(lon[k]),
                    origin_code=str(codes[k]),
                    last_seen_s=time_s,
                    last_time_s=time_s,
                    last_vel=x_safe[k, 3:].copy(),
                    last_country=str(codes[k]),
                )
                self._tracks[tid] = mem
            mem.evidence = evidence[k]
            mem.last_seen_s = time_s
            mem.last_time_s = time_s
            mem.last_vel = x_safe[k, 3:].copy()
        identity = self._identity(ids, cls, has_ident, np.asarray(view.ident))

        # Launch detection from boost reports.
        for ev in self.launches.add(boost):
            if ev.event_id not in self._launch_warned:
                self._launch_warned.add(ev.event_id)
                warnings.append(self._launch_warning(ev, time_s))
        # Ballistic threats.
        for k in np.flatnonzero(is_bm).tolist():
            self._update_threat(ids[k], x[k], view.P[k], time_s, str(codes[k]), alt[k], warnings)
        for threat in list(self._threats.values()):
            if not threat.closed:
                self._advance_threat(threat, time_s, warnings)
        self._close_unconfirmed_launches(time_s, warnings)
        # Cruise missiles and aircraft against assets; the ranked list.
        self._assets_and_list(ids, x_safe, cls, conf, identity, finite, time_s, warnings)
        self._forget(time_s)
        for w in warnings:
            w.setdefault("recipients", [self.nation])
        return Assessment(cls=cls, cls_confidence=conf, identity=identity, warnings=warnings)

    # ------------------------------------------------------------------ helpers

    def _note(self, reason: str, count: int = 1) -> None:
        self.notes[reason] = self.notes.get(reason, 0) + count

    @staticmethod
    def _mode(view: TrackView, name: str) -> FloatArray:
        n = int(view.x.shape[0])
        if name in view.mode_names and view.mode_probabilities.size:
            return np.asarray(view.mode_probabilities[:, view.mode_names.index(name)], np.float64)
        return np.zeros(n)

    def _thrust(self, ids: Sequence[str], x: FloatArray, time_s: float) -> FloatArray:
        """|Δv/Δt − a_grav| since the previous call: the non-gravitational acceleration."""
        out = np.full(len(ids), np.nan)
        rows, last_vel, last_time = [], [], []
        for k, tid in enumerate(ids):
            mem = self._tracks.get(tid)
            if mem is not None and time_s - mem.last_time_s > 0.5:
                rows.append(k)
                last_vel.append(mem.last_vel)
                last_time.append(mem.last_time_s)
        if rows:
            dv = (x[rows, 3:] - np.asarray(last_vel)) / (time_s - np.asarray(last_time))[:, None]
            out[rows] = np.linalg.norm(dv - frame_acceleration(x[rows]), axis=1)
        return out

    def _identity(
        self,
        ids: Sequence[str],
        cls: NDArray[np.object_],
        has_ident: NDArray[np.bool_],
        idents: NDArray[np.str_],
    ) -> NDArray[np.object_]:
        """Rules in order: missiles → hostile unless launched from allied territory;
        an ADS-B identity with a friendly prefix → friend, any other → neutral; else unknown."""
        out = np.full(len(ids), "unknown", dtype=object)
        prefixes = self.settings.friend_ident_prefixes
        for k, tid in enumerate(ids):
            mem = self._tracks[tid]
            allied_origin = mem.origin_code in self.allied_codes
            threat = self._threats.get(self._track_threat.get(tid, ""))
            if threat is not None and threat.launch is not None:
                allied_origin = self._country_at(threat.launch.lat_deg, threat.launch.lon_deg) in (
                    self.allied_codes
                )
            if cls[k] in ("ballistic_missile", "cruise_missile"):
                out[k] = "unknown" if allied_origin else "hostile"
            elif has_ident[k]:
                friendly = bool(prefixes) and str(idents[k]).strip().startswith(prefixes)
                out[k] = "friend" if friendly else "neutral"
        return out

    def _country_at(self, lat_deg: float, lon_deg: float) -> str:
        key = (lat_deg, lon_deg)
        if key not in self._country_of:
            self._country_of[key] = str(self.geography.country_codes_at(lat_deg, lon_deg)[0])
        return self._country_of[key]

    def _clock(self, time_s: float) -> str:
        return (self.epoch + timedelta(seconds=float(time_s))).strftime("%H:%M UTC")

    def _row(
        self, time_s: float, warning_id: str, kind: str, track_id: str, text: str, seq: int
    ) -> dict[str, Any]:
        return {
            "time_s": float(time_s),
            "warning_id": warning_id,
            "kind": kind,
            "track_id": track_id,
            "recipients": [self.nation],
            "text": text,
            "sequence": seq,
        }

    # ------------------------------------------------------------------ launches

    def _launch_warning(self, ev: LaunchEvent, time_s: float) -> dict[str, Any]:
        where, places = self.geography.describe(ev.lat_deg, ev.lon_deg)
        heading = f", heading {_compass(ev.heading_deg)}" if math.isfinite(ev.heading_deg) else ""
        text = (
            f"Missile launch detected: launched about {self._clock(ev.time_s)} from {where} "
            f"(launch point within {ev.radius_m / 1000:.0f} km at 95 %){heading}. "
            "Impact area to follow."
        )
        row = self._row(time_s, f"{ev.event_id}", "launch", ev.event_id, text, 1)
        # Early warning is shared: only a nation holding space-IR data can issue it,
        # and every ally its sources may go to needs it before its radars see anything.
        row["recipients"] = [self.nation, *self.allies]
        row["launch"] = {
            "lat_deg": round(ev.lat_deg, 4),
            "lon_deg": round(ev.lon_deg, 4),
            "time_s": round(ev.time_s, 1),
            "time_sigma_s": round(ev.time_sigma_s, 1),
            "radius_m": round(ev.radius_m),
            "confidence": self.settings.launch.confidence,
        }
        row["boost_reports"] = [
            {"sensor_id": s, "time_s": round(t, 2)}
            for s, t in zip(ev.sensor_id, ev.report_time_s, strict=True)
        ]
        row["places"] = places
        return row

    def _link_launch(self, threat: _Threat, lat: float, lon: float, time_s: float) -> None:
        best: LaunchEvent | None = None
        best_d = math.inf
        for ev in self.launches.events:
            if not ev.declared or not math.isfinite(ev.time_s) or not self._launch_free(ev, time_s):
                continue
            elapsed = time_s - ev.time_s
            if elapsed <= 0 or elapsed > self.settings.launch_unconfirmed_s:
                continue
            d = float(geodesic_distance_m(ev.lat_deg, ev.lon_deg, lat, lon))
            if d <= self.settings.launch_link_speed_mps * elapsed and d < best_d:
                best, best_d = ev, d
        if best is not None:
            holder = self._threats.get(best.threat_id)
            if holder is not None:
                holder.launch = None
                holder.warning_id = holder.threat_id
            best.threat_id = threat.threat_id
            threat.launch = best
            threat.warning_id = best.event_id

    def _launch_free(self, ev: LaunchEvent, time_s: float) -> bool:
        """A launch can be (re)linked unless a warned or a recently seen threat holds it."""
        if ev.threat_id == "-":
            return False
        holder = self._threats.get(ev.threat_id)
        if holder is None:
            return True
        return not holder.warned and (holder.closed or time_s - holder.last_seen_s > 30.0)

    def _close_unconfirmed_launches(self, time_s: float, warnings: list[dict[str, Any]]) -> None:
        for ev in self.launches.events:
            if (
                ev.declared
                and not ev.threat_id
                and time_s - ev.last_report_s > self.settings.launch_unconfirmed_s
            ):
                ev.threat_id = "-"
                warnings.append(
                    self._row(
                        time_s,
                        ev.event_id,
                        "cancelled",
                        ev.event_id,
                        f"Launch notice {ev.event_id} closed: no radar track of this launch was "
                        "held, so no impact area can be given.",
                        2,
                    )
                )

    # ------------------------------------------------------------------ ballistic threats

    def _new_threat(self, time_s: float) -> _Threat:
        tid = f"{self.nation}-B{self._next_threat:03d}"
        self._next_threat += 1
        threat = _Threat(threat_id=tid, warning_id=tid, first_seen_s=time_s)
        self._threats[tid] = threat
        return threat

    def _threat_for(self, track_id: str, x: FloatArray, time_s: float) -> _Threat:
        known = self._track_threat.get(track_id)
        if known is not None and not self._threats[known].closed:
            return self._threats[known]
        best: _Threat | None = None
        best_d = math.inf
        for threat in self._threats.values():
            if threat.closed or time_s - threat.last_seen_s > self.settings.lost_after_s * 3:
                continue
            if threat.fit is not None and threat.fit.ok:
                dt = np.array([time_s - threat.fit_time_s])
                pred = ballistic_propagate(threat.fit.x[None], dt, self.settings.fit.beta_kg_m2)[0]
            else:
                dt_s = time_s - threat.last_seen_s
                pred = threat.last_x.copy()
                pred[:3] += threat.last_x[3:] * dt_s
            d = float(np.linalg.norm(pred[:3] - x[:3]))
            if d < self.settings.threat_gate_m and d < best_d:
                best, best_d = threat, d
        if best is None:
            best = self._new_threat(time_s)
            lat, lon, _ = ecef_to_geodetic(x[:3])
            self._link_launch(best, float(lat), float(lon), time_s)
        self._track_threat[track_id] = best.threat_id
        best.track_ids.add(track_id)
        return best

    def _update_threat(
        self,
        track_id: str,
        x: FloatArray,
        P: FloatArray,
        time_s: float,
        country: str,
        alt_m: float,
        warnings: list[dict[str, Any]],
    ) -> None:
        threat = self._threat_for(track_id, x, time_s)
        if threat.times and threat.times[-1] == time_s:
            # A second track on the same missile at this snapshot: keep the tighter one.
            if np.trace(P[:3, :3]) >= np.trace(threat.pos_cov[-1]):
                return
            threat.times.pop()
            threat.pos.pop()
            threat.pos_cov.pop()
        threat.times.append(time_s)
        threat.pos.append(x[:3].copy())
        pc = P[:3, :3]
        threat.pos_cov.append(pc if np.isfinite(pc).all() else np.eye(3) * 1e8)
        threat.last_x = x.copy()
        threat.last_seen_s = time_s
        threat.current_track = track_id
        # Overflight: the sub-missile point leaves a territory.
        if threat.country and country != threat.country and threat.warned:
            self._passed_over(threat, threat.country, time_s, alt_m, warnings)
        threat.country = country

    def _passed_over(
        self,
        threat: _Threat,
        code: str,
        time_s: float,
        alt_m: float,
        warnings: list[dict[str, Any]],
    ) -> None:
        if code not in self.allied_codes:
            return
        name = self.geography.country_name(code)
        threat.sequence += 1
        lat, lon, _ = ecef_to_geodetic(threat.last_x[:3])
        where, places = self.geography.describe(float(lat), float(lon))
        row = self._row(
            time_s,
            threat.warning_id,
            "passed_over",
            threat.current_track,
            f"The missile has passed over {name} at about {self._clock(time_s)}, at an altitude "
            f"of about {alt_m / 1000:.0f} km; now {where}.",
            threat.sequence,
        )
        row["places"] = places
        row["territory"] = name
        warnings.append(row)

    def _fit_threat(self, threat: _Threat, time_s: float) -> None:
        cfg = self.settings
        t = np.asarray(threat.times)
        start = time_s - cfg.fit_window_s
        if threat.launch is not None and self.launches.burnt_out(threat.launch, time_s):
            start = max(start, threat.launch.last_report_s + 5.0)
        fit: BallisticFit | None = None
        for window_start in (
            start,
            time_s - 0.5 * cfg.fit_window_s,
            time_s - 0.25 * cfg.fit_window_s,
        ):
            use = t >= max(window_start, start)
            if use.sum() < cfg.min_fit_points:
                break
            fit = fit_ballistic(
                t[use],
                np.asarray(threat.pos)[use],
                np.asarray(threat.pos_cov)[use],
                float(t[use][-1]),
                threat.last_x,
                cfg.fit,
            )
            if fit.ok and fit.chi2_per_dof <= cfg.max_fit_chi2:
                break
        if fit is not None:
            threat.fit = fit
            threat.fit_time_s = float(t[-1])
        # Keep the history bounded.
        keep = t >= time_s - 2.0 * cfg.fit_window_s
        if not keep.all():
            threat.times = list(t[keep])
            threat.pos = [p for p, k in zip(threat.pos, keep, strict=True) if k]
            threat.pos_cov = [p for p, k in zip(threat.pos_cov, keep, strict=True) if k]

    def _advance_threat(
        self, threat: _Threat, time_s: float, warnings: list[dict[str, Any]]
    ) -> None:
        cfg = self.settings
        pr0 = threat.prediction
        # In its last seconds the missile is in dense air where the track is least
        # trustworthy: the prediction made before then stands.
        frozen = threat.warned and pr0 is not None and time_s >= pr0["time_s"] - 10.0
        if threat.last_seen_s == time_s and not frozen:
            self._fit_threat(threat, time_s)
            if threat.fit is not None and threat.fit.ok:
                dt = time_s - threat.fit_time_s
                x_now = ballistic_propagate(threat.fit.x[None], np.array([dt]), cfg.fit.beta_kg_m2)
                pred = predict_impact(x_now, threat.fit.P[None], time_s, cfg.impact)
                self._take_prediction(threat, pred, time_s, warnings)
            elif threat.fit is not None:
                self._problem(
                    threat, f"trajectory fit failed ({threat.fit.reason})", time_s, warnings
                )
        # Life-cycle ends.
        pr = threat.prediction
        if threat.warned and pr is not None and time_s >= pr["time_s"]:
            self._impact(threat, time_s, warnings)
            return
        if time_s - threat.last_seen_s > cfg.lost_after_s and not threat.warned:
            threat.closed = True
            if threat.launch is not None:
                # The launch may go on in another track: let another threat take it.
                threat.launch.threat_id = ""
                threat.launch = None
                threat.warning_id = threat.threat_id
            if threat.reported_problem:
                threat.sequence += 1
                warnings.append(
                    self._row(
                        time_s,
                        threat.warning_id,
                        "cancelled",
                        threat.current_track,
                        f"Cancelled: the missile track {threat.current_track} was lost at "
                        f"{self._clock(threat.last_seen_s)} before an impact area could be "
                        "predicted.",
                        threat.sequence,
                    )
                )

    def _problem(
        self, threat: _Threat, reason: str, time_s: float, warnings: list[dict[str, Any]]
    ) -> None:
        self._note(reason)
        threat.problem = reason
        # Never a silent missing warning: a confirmed missile with no usable
        # prediction for 30 s is announced as such.
        if not threat.warned and not threat.reported_problem and time_s - threat.first_seen_s >= 30:
            threat.reported_problem = True
            threat.sequence += 1
            lat, lon, alt = ecef_to_geodetic(threat.last_x[:3])
            where, places = self.geography.describe(float(lat), float(lon))
            row = self._row(
                time_s,
                threat.warning_id,
                "missile_tracked",
                threat.current_track,
                f"Ballistic missile tracked {where}, at about {alt / 1000:.0f} km altitude; "
                f"no impact area can be predicted yet: {reason}.",
                threat.sequence,
            )
            row["places"] = places
            warnings.append(row)

    def _take_prediction(
        self,
        threat: _Threat,
        pred: ImpactPrediction,
        time_s: float,
        warnings: list[dict[str, Any]],
    ) -> None:
        cfg = self.settings
        if not bool(pred.valid[0]):
            self._problem(threat, str(pred.status[0]), time_s, warnings)
            return
        if str(pred.status[0]) != "ok":
            self._note(str(pred.status[0]))
        lat, lon = float(pred.lat_deg[0]), float(pred.lon_deg[0])
        at_risk, _ = ellipse_reach(lat, lon, pred.cov_en_m2[0], self.assets, pred.confidence)
        current = {
            "lat_deg": lat,
            "lon_deg": lon,
            "time_s": float(pred.time_s[0]),
            "time_sigma_s": float(pred.time_sigma_s[0]),
            "semi_major_m": float(pred.semi_major_m[0]),
            "semi_minor_m": float(pred.semi_minor_m[0]),
            "orientation_deg": float(pred.orientation_deg[0]),
            "confidence": pred.confidence,
            "cov_en_m2": pred.cov_en_m2[0],
            "assets": [self.assets.name[i] for i in np.flatnonzero(at_risk)],
            "land": str(self.geography.country_codes_at(lat, lon)[0]),
            "over": self._overflown(pred),
            "made_s": time_s,
        }
        threat.previous_prediction, threat.prediction = threat.prediction, current
        self.prediction_log.append(
            {"threat_id": threat.threat_id, "track_id": threat.current_track, "time_s": time_s}
            | {k: v for k, v in current.items() if k not in ("over", "land", "assets")}
        )
        prev = threat.previous_prediction
        if not threat.warned:
            consistent = (
                prev is not None
                and float(geodesic_distance_m(prev["lat_deg"], prev["lon_deg"], lat, lon))
                <= prev["semi_major_m"] + current["semi_major_m"]
            )
            if current["semi_major_m"] <= cfg.max_warning_semi_major_m and consistent:
                if threat.launch is None:
                    lat0, lon0, _ = ecef_to_geodetic(threat.last_x[:3])
                    self._link_launch(threat, float(lat0), float(lon0), time_s)
                threat.warned = True
                self._impact_warning(threat, "impact_area", time_s, warnings)
            return
        rep = threat.reported or current
        moved = float(geodesic_distance_m(rep["lat_deg"], rep["lon_deg"], lat, lon))
        changed = (
            current["semi_major_m"] <= (1.0 - cfg.update_shrink) * rep["semi_major_m"]
            or moved > cfg.update_move * rep["semi_major_m"]
            or current["assets"] != rep["assets"]
            or current["land"] != rep["land"]
        )
        if changed and time_s - threat.last_warning_s >= cfg.min_update_interval_s:
            self._impact_warning(threat, "update", time_s, warnings)

    def _overflown(self, pred: ImpactPrediction) -> list[str]:
        """Allied territories under the predicted path (central sigma point)."""
        lat, lon = pred.path_lat_deg[0], pred.path_lon_deg[0]
        ok = np.isfinite(lat) & np.isfinite(lon)
        if not ok.any():
            return []
        codes = self.geography.country_codes_at(lat[ok], lon[ok])
        seen: list[str] = []
        for c in codes:
            if c and c in self.allied_codes and c not in seen:
                seen.append(str(c))
        return [self.geography.country_name(c) for c in seen]

    def _impact_warning(
        self, threat: _Threat, kind: str, time_s: float, warnings: list[dict[str, Any]]
    ) -> None:
        pr = threat.prediction
        assert pr is not None
        where, places = self.geography.describe(pr["lat_deg"], pr["lon_deg"])
        over = f" It is expected to fly over {', '.join(pr['over'])}." if pr["over"] else ""
        assets = f" Within the impact area: {', '.join(pr['assets'])}." if pr["assets"] else ""
        lead = "Impact area warning" if kind == "impact_area" else "Update"
        text = (
            f"{lead}: ballistic missile expected to fall {where}, at {self._clock(pr['time_s'])} "
            f"(95 % area {pr['semi_major_m'] / 1000:.0f} × {pr['semi_minor_m'] / 1000:.0f} km)."
            f"{over}{assets}"
        )
        row = self._impact_row(threat, time_s, kind, text, pr, places)
        row["track_position"] = _position(threat.last_x)
        row["source_tracks"] = sorted(threat.track_ids)
        if threat.launch is not None:
            row["launch_id"] = threat.launch.event_id
        warnings.append(row)
        threat.reported = dict(pr)
        threat.last_warning_s = time_s

    def _impact(self, threat: _Threat, time_s: float, warnings: list[dict[str, Any]]) -> None:
        pr = threat.prediction
        assert pr is not None
        threat.closed = True
        where, places = self.geography.describe(pr["lat_deg"], pr["lon_deg"])
        seen = (
            f"last tracked at {self._clock(threat.last_seen_s)}"
            if time_s - threat.last_seen_s > 10.0
            else "tracked to the end"
        )
        kind = "impact" if pr["land"] else "fell_at_sea"
        verb = "has fallen" if kind == "impact" else "has fallen at sea"
        text = (
            f"The missile {verb} {where.replace(', at sea', '')} at about "
            f"{self._clock(pr['time_s'])} (predicted; {seen})."
        )
        warnings.append(self._impact_row(threat, time_s, kind, text, pr, places))

    def _impact_row(
        self,
        threat: _Threat,
        time_s: float,
        kind: str,
        text: str,
        prediction: dict[str, Any],
        places: list[dict[str, object]],
    ) -> dict[str, Any]:
        """The next warning of `threat` that reports its predicted impact."""
        threat.sequence += 1
        row = self._row(
            time_s, threat.warning_id, kind, threat.current_track, text, threat.sequence
        )
        row["predicted_impact"] = _impact_fields(prediction)
        row["places"] = places
        row["assets"] = prediction["assets"]
        return row

    # ------------------------------------------------------------------ assets

    def _assets_and_list(
        self,
        ids: Sequence[str],
        x: FloatArray,
        cls: NDArray[np.object_],
        conf: FloatArray,
        identity: NDArray[np.object_],
        finite: NDArray[np.bool_],
        time_s: float,
        warnings: list[dict[str, Any]],
    ) -> None:
        cfg = self.settings
        rows: list[dict[str, Any]] = []
        own = np.flatnonzero(self._own_assets)
        # Ballistic threats, by their predicted impact.
        for threat in self._threats.values():
            pr = threat.prediction
            if threat.closed or pr is None:
                continue
            at_risk, dist = ellipse_reach(
                pr["lat_deg"], pr["lon_deg"], pr["cov_en_m2"], self.assets, pr["confidence"]
            )
            for a in own:
                rows.append(
                    {
                        "track_id": threat.current_track,
                        "threat_id": threat.threat_id,
                        "cls": "ballistic_missile",
                        "asset": self.assets.name[a],
                        "reachable": bool(at_risk[a]),
                        "time_to_go_s": round(pr["time_s"] - time_s, 1),
                        "miss_distance_m": round(float(dist[a])),
                    }
                )
        # Cruise missiles and non-friendly aircraft, by their current motion.
        movers = np.flatnonzero(
            finite
            & ((cls == "cruise_missile") | (cls == "aircraft"))
            & (identity != "friend")
            & (identity != "neutral")
        )
        if own.size and movers.size:
            sub = AssetTable(
                name=tuple(self.assets.name[a] for a in own),
                nation=tuple(self.assets.nation[a] for a in own),
                lat_deg=self.assets.lat_deg[own],
                lon_deg=self.assets.lon_deg[own],
                radius_m=self.assets.radius_m[own],
            )
            reach, ttg, closest = motion_reach(x[movers], sub, cfg.reach_margin_m)
            for i, k in enumerate(movers.tolist()):
                for j, name in enumerate(sub.name):
                    rows.append(
                        {
                            "track_id": ids[k],
                            "threat_id": "",
                            "cls": str(cls[k]),
                            "asset": name,
                            "reachable": bool(reach[i, j]),
                            "time_to_go_s": (
                                round(float(ttg[i, j]), 1) if np.isfinite(ttg[i, j]) else None
                            ),
                            "miss_distance_m": round(float(closest[i, j])),
                        }
                    )
                    if (
                        cls[k] == "cruise_missile"
                        and conf[k] >= cfg.threat_confidence
                        and reach[i, j]
                    ):
                        self._cruise_warning(ids[k], x[k], name, float(ttg[i, j]), time_s, warnings)
        self._close_cruise(ids, time_s, warnings)
        weight = {"ballistic_missile": 0, "cruise_missile": 1, "aircraft": 2}
        rows.sort(
            key=lambda r: (
                not r["reachable"],
                weight.get(r["cls"], 3),
                r["time_to_go_s"] if r["time_to_go_s"] is not None else math.inf,
            )
        )
        for rank, r in enumerate(rows, start=1):
            r["rank"] = rank
        self.threat_list = rows
        for r in rows:
            self.threat_log.append({"time_s": float(time_s), "nation": self.nation, **r})

    def _cruise_warning(
        self,
        track_id: str,
        x: FloatArray,
        asset: str,
        ttg_s: float,
        time_s: float,
        warnings: list[dict[str, Any]],
    ) -> None:
        key = f"{track_id}:{asset}"
        state = self._cruise_warned.get(key)
        lat, lon, _ = ecef_to_geodetic(x[:3])
        where, places = self.geography.describe(float(lat), float(lon))
        if state is None:
            wid = f"{self.nation}-C{len(self._cruise_warned) + 1:03d}"
            state = {"warning_id": wid, "sequence": 0, "track_id": track_id, "asset": asset}
            self._cruise_warned[key] = state
            kind = "asset_threat"
        elif time_s - state["last_s"] >= 60.0:
            kind = "update"
        else:
            state["eta_s"] = time_s + ttg_s
            state["seen_s"] = time_s
            return
        state["sequence"] += 1
        state["last_s"] = time_s
        state["eta_s"] = time_s + ttg_s
        state["seen_s"] = time_s
        row = self._row(
            time_s,
            state["warning_id"],
            kind,
            track_id,
            f"Cruise missile {where}, heading for {asset}: expected in about "
            f"{max(ttg_s, 0.0) / 60:.0f} min, at {self._clock(time_s + ttg_s)}.",
            state["sequence"],
        )
        row["places"] = places
        row["assets"] = [asset]
        row["time_to_go_s"] = round(ttg_s, 1)
        row["track_position"] = _position(x)
        warnings.append(row)

    def _close_cruise(
        self, ids: Sequence[str], time_s: float, warnings: list[dict[str, Any]]
    ) -> None:
        present = set(ids)
        for state in self._cruise_warned.values():
            if state.get("closed") or (state["track_id"] in present and state["seen_s"] == time_s):
                continue
            if time_s - state["seen_s"] < 30.0:
                continue
            state["closed"] = True
            state["sequence"] += 1
            reached = state["eta_s"] <= time_s + 30.0
            kind = "impact" if reached else "cancelled"
            text = (
                f"The cruise missile is assessed to have reached {state['asset']} at about "
                f"{self._clock(state['eta_s'])}."
                if reached
                else f"Cancelled: the cruise missile track {state['track_id']} heading for "
                f"{state['asset']} was dropped at {self._clock(state['seen_s'])}."
            )
            row = self._row(
                time_s, state["warning_id"], kind, state["track_id"], text, state["sequence"]
            )
            row["assets"] = [state["asset"]]
            warnings.append(row)

    def _forget(self, time_s: float) -> None:
        old = [
            t
            for t, m in self._tracks.items()
            if time_s - m.last_seen_s > self.settings.forget_after_s
        ]
        for t in old:
            del self._tracks[t]
            self._track_threat.pop(t, None)


def _impact_fields(prediction: dict[str, Any]) -> dict[str, Any]:
    """The `predicted_impact` object of a warning row, rounded to what it means."""
    return {
        "lat_deg": round(prediction["lat_deg"], 4),
        "lon_deg": round(prediction["lon_deg"], 4),
        "time_s": round(prediction["time_s"], 1),
        "semi_major_m": round(prediction["semi_major_m"]),
        "semi_minor_m": round(prediction["semi_minor_m"]),
        "orientation_deg": round(prediction["orientation_deg"], 1),
        "confidence": prediction["confidence"],
    }


def _compass(bearing_deg: float) -> str:
    from airpicture.threat.geography import compass_point

    return compass_point(bearing_deg)


def _position(x: FloatArray) -> dict[str, float]:
    lat, lon, alt = ecef_to_geodetic(x[:3])
    return {
        "lat_deg": round(float(lat), 4),
        "lon_deg": round(float(lon), 4),
        "alt_m": round(float(alt)),
    }

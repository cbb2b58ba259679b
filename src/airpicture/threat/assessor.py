"""`NationalAssessor`: one nation's threat assessment, called at every picture snapshot.

It keeps, across calls: each track's accumulated class evidence and first
position (its origin); the launch events found in space-IR boost reports; the
ballistic threats (a threat outlives the tracks that carry it — a missile's
track may be dropped and re-initiated several times in flight); and one
`lifecycle.Alert` per warning, moved only through the transition table of
`threat/lifecycle.py`. Rules, physics and texts: docs/threat.md.
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
from airpicture.geo.land import CountryOutlines
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
from airpicture.threat.fit import BallisticFit, FitSettings, LineOfSight, fit_ballistic
from airpicture.threat.geography import TERRITORIES, Geography
from airpicture.threat.impact import ImpactPrediction, ImpactSettings, predict_impact
from airpicture.threat.launch import LaunchDetector, LaunchEvent, LaunchSettings
from airpicture.threat.lifecycle import (
    Alert,
    AssetThreatened,
    Cancelled,
    Event,
    FellAtSea,
    ImpactAreaIssued,
    Impacted,
    LaunchDeclared,
    NoPrediction,
    PassedOver,
    State,
    Tracked,
    UpdateIssued,
)
from airpicture.threat.warning import (
    BoostReport,
    LaunchFix,
    PlaceNear,
    Position,
    PredictedImpact,
    PredictedPath,
    Warning,
    predicted_path,
)
from airpicture.tracking.motion import ballistic_propagate, frame_acceleration
from airpicture.tracking.view import TrackView

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
    #: A new ballistic track takes over a threat whose own track is lost when its
    #: position lies within this squared Mahalanobis distance of the threat's
    #: prediction (3 degrees of freedom; 21.1 = χ²₃ at 0.9999).
    threat_gate_chi2: float = 21.1
    #: 1σ unmodelled acceleration (thrust, drag) added to a threat's predicted
    #: position covariance when a track takes over, m/s².
    threat_gate_accel_mps2: float = 5.0
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
    #: Launches whose lift-off times lie this close together form one salvo.
    salvo_window_s: float = 120.0
    #: A warning expires this long after the time it announces (the predicted
    #: impact, a cruise missile's arrival) if no closing row reached its recipient.
    expiry_margin_s: float = 120.0
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


@dataclass(frozen=True)
class _Prediction:
    """One accepted impact prediction of a threat, and what it means for the nation."""

    lat_deg: float
    lon_deg: float
    time_s: float
    time_sigma_s: float
    semi_major_m: float
    semi_minor_m: float
    orientation_deg: float
    confidence: float
    cov_en_m2: FloatArray
    assets: tuple[str, ...]
    #: Country code under the impact point ("" at sea).
    land: str
    #: Allied territories under the predicted path.
    over: tuple[str, ...]
    made_s: float
    #: The predicted trajectory to the ground, for the globe (None: too short to draw).
    path: PredictedPath | None = None

    def fields(self) -> PredictedImpact:
        """The `predicted_impact` of a warning, rounded to what it means."""
        return PredictedImpact(
            lat_deg=round(self.lat_deg, 4),
            lon_deg=round(self.lon_deg, 4),
            time_s=round(self.time_s, 1),
            semi_major_m=round(self.semi_major_m),
            semi_minor_m=round(self.semi_minor_m),
            orientation_deg=round(self.orientation_deg, 1),
            confidence=self.confidence,
        )


@dataclass
class _Threat:
    threat_id: str
    first_seen_s: float
    #: The alert its rows belong to: its own until it is linked to a launch, then the launch's.
    alert: Alert
    track_ids: set[str] = field(default_factory=set)
    current_track: str = ""
    times: list[float] = field(default_factory=list)
    pos: list[FloatArray] = field(default_factory=list)
    pos_cov: list[FloatArray] = field(default_factory=list)
    last_x: FloatArray = field(default_factory=lambda: np.zeros(6))
    last_cov: FloatArray = field(default_factory=lambda: np.eye(6) * 1e10)
    last_seen_s: float = -math.inf
    fit: BallisticFit | None = None
    fit_time_s: float = math.nan
    launch: LaunchEvent | None = None
    prediction: _Prediction | None = None
    previous_prediction: _Prediction | None = None
    last_warning_s: float = -math.inf
    reported: _Prediction | None = None
    country: str = ""
    problem: str = ""


@dataclass
class _CruiseWatch:
    """A cruise missile (track) heading for one asset, and its alert."""

    alert: Alert
    track_id: str
    asset: str
    last_s: float = -math.inf
    eta_s: float = math.nan
    seen_s: float = -math.inf


class NationalAssessor:
    """Threat assessment for one nation (implements `airpicture.threat.assessment.Assessor`)."""

    def __init__(
        self,
        scenario: Scenario,
        nation: str,
        settings: AssessorSettings | None = None,
        countries: CountryOutlines | None = None,
    ) -> None:
        """`countries`: the country outlines, loaded at the edge (`airpicture.atlas`);
        without them land and sea are not told apart (noted in `notes`)."""
        self.nation = nation
        #: Allies a launch notice is offered to: the network's release guard cuts the
        #: list to the nations the notice's sources may go to.
        self.allies = [n for n in scenario.nations if n != nation and nation != "ALL"]
        self.settings = settings or AssessorSettings()
        self.epoch: datetime = scenario.epoch
        self.geography = Geography(
            [(p.name, p.lat_deg, p.lon_deg) for p in scenario.places],
            countries or CountryOutlines(),
        )
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
        self._cruise: dict[str, _CruiseWatch] = {}
        self._next_threat = 1
        #: The alert of every declared launch, and the threat that holds it (if any).
        self._launch_alerts: dict[str, Alert] = {}
        self._launch_holder: dict[str, str] = {}
        #: The track ids in the picture at the current call.
        self._alive: set[str] = set()
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
        warnings: list[Warning] = []
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
        self.launches.add(boost)
        self._announce_launches(time_s, warnings)
        # Ballistic threats.
        alive = self._alive = set(ids)
        for k in np.flatnonzero(is_bm).tolist():
            self._update_threat(
                ids[k], x[k], view.P[k], time_s, str(codes[k]), alt[k], alive, warnings
            )
        for threat in list(self._threats.values()):
            if not threat.alert.closed:
                self._advance_threat(threat, time_s, warnings)
        self._close_unconfirmed_launches(time_s, warnings)
        # Cruise missiles and aircraft against assets; the ranked list.
        self._assets_and_list(ids, x_safe, cls, conf, identity, finite, time_s, warnings)
        self._forget(time_s)
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

    def _issue(
        self,
        alert: Alert,
        event: type[Event],
        time_s: float,
        track_id: str,
        text: str,
        *,
        offered: Sequence[str] = (),
        expires_s: float | None = None,
        **fields: Any,
    ) -> Warning:
        """Move `alert` on `event` and return the row it issues.

        The row goes to the nation, the allies it is `offered` to, and every nation
        already told of the alert (so the alert's end reaches every one of them).
        """
        alert.apply(event, time_s)
        assert event.kind is not None, f"{event.__name__} issues no warning row"
        return Warning(
            time_s=float(time_s),
            warning_id=alert.warning_id,
            kind=event.kind,
            track_id=track_id,
            recipients=alert.tell((self.nation, *offered)),
            text=text,
            sequence=alert.sequence,
            expires_s=None if alert.closed else expires_s,
            **fields,
        )

    def _open_expiry_s(self, time_s: float) -> float:
        """When an alert with nothing predicted yet (a launch notice, a missile tracked) lapses."""
        return time_s + self.settings.launch_unconfirmed_s + self.settings.expiry_margin_s

    # ------------------------------------------------------------------ launches

    def _announce_launches(self, time_s: float, warnings: list[Warning]) -> None:
        """A notice for each newly declared launch, saying how many launched together."""
        declared = [ev for ev in self.launches.events if ev.declared]
        new = [ev for ev in declared if ev.event_id not in self._launch_alerts]
        for ev in new:
            salvo = [
                other
                for other in declared
                if abs(_launch_time_s(other) - _launch_time_s(ev)) <= self.settings.salvo_window_s
            ]
            alert = Alert(ev.event_id)
            self._launch_alerts[ev.event_id] = alert
            warnings.append(self._launch_warning(ev, alert, salvo, time_s))

    def _launch_warning(
        self, ev: LaunchEvent, alert: Alert, salvo: list[LaunchEvent], time_s: float
    ) -> Warning:
        where, places = self.geography.describe(ev.lat_deg, ev.lon_deg)
        heading = f", heading {_compass(ev.heading_deg)}" if math.isfinite(ev.heading_deg) else ""
        lead = "Missile launch detected"
        if len(salvo) > 1:
            times = [_launch_time_s(e) for e in salvo]
            lead = (
                f"{len(salvo)} launches detected within {max(times) - min(times):.0f} s "
                f"({', '.join(e.event_id for e in salvo)}). Missile launch {ev.event_id}"
            )
        text = (
            f"{lead}: launched about {self._clock(ev.time_s)} from {where} "
            f"(launch point within {ev.radius_m / 1000:.0f} km at 95 %){heading}. "
            "Impact area to follow."
        )
        # Early warning is shared: only a nation holding space-IR data can issue it,
        # and every ally its sources may go to needs it before its radars see anything.
        return self._issue(
            alert,
            LaunchDeclared,
            time_s,
            ev.event_id,
            text,
            offered=self.allies,
            expires_s=self._open_expiry_s(time_s),
            launch=LaunchFix(
                lat_deg=round(ev.lat_deg, 4),
                lon_deg=round(ev.lon_deg, 4),
                time_s=round(ev.time_s, 1),
                time_sigma_s=round(ev.time_sigma_s, 1),
                radius_m=round(ev.radius_m),
                confidence=self.settings.launch.confidence,
            ),
            salvo=tuple(e.event_id for e in salvo) if len(salvo) > 1 else (),
            boost_reports=tuple(
                BoostReport(sensor_id=str(s), time_s=round(t, 2))
                for s, t in zip(ev.sensor_id, ev.report_time_s, strict=True)
            ),
            places=_places(places),
        )

    def _link_launch(
        self,
        threat: _Threat,
        lat: float,
        lon: float,
        time_s: float,
        warnings: list[Warning],
        *,
        confirmed: bool = False,
    ) -> None:
        """Give `threat` the earliest free launch it could have come from (a salvo's
        missiles are detected by radar in the order they left). A `confirmed` threat
        (about to issue its impact area) may take a launch from any threat not yet warned."""
        best: LaunchEvent | None = None
        best_key = (math.inf, math.inf)
        for ev in self.launches.events:
            if (
                not ev.declared
                or not math.isfinite(ev.time_s)
                or not self._launch_free(ev, time_s, confirmed)
            ):
                continue
            elapsed = time_s - ev.time_s
            if elapsed <= 0 or elapsed > self.settings.launch_unconfirmed_s:
                continue
            d = float(geodesic_distance_m(ev.lat_deg, ev.lon_deg, lat, lon))
            if d <= self.settings.launch_link_speed_mps * elapsed and (ev.time_s, d) < best_key:
                best, best_key = ev, (ev.time_s, d)
        if best is None:
            return
        holder = self._threats.get(self._launch_holder.get(best.event_id, ""))
        if holder is not None:
            # It was never warned and is no longer seen: it goes on under its own alert.
            holder.launch = None
            holder.alert = Alert(holder.threat_id)
            holder.alert.apply(Tracked, time_s)
        own = threat.alert
        if own.said_anything and not own.closed:
            warnings.append(
                self._issue(
                    own,
                    Cancelled,
                    time_s,
                    threat.current_track,
                    f"Superseded: the missile tracked as {own.warning_id} is the launch "
                    f"{best.event_id}; its warnings follow under {best.event_id}.",
                )
            )
        self._launch_holder[best.event_id] = threat.threat_id
        threat.launch = best
        threat.alert = self._launch_alerts[best.event_id]
        threat.alert.apply(Tracked, time_s)

    def _launch_free(self, ev: LaunchEvent, time_s: float, confirmed: bool = False) -> bool:
        """A launch can be (re)linked unless its alert is closed, or a warned threat
        holds it, or (unless the taker is `confirmed`) one whose track is still in the
        picture and was seen recently."""
        alert = self._launch_alerts.get(ev.event_id)
        if alert is None or alert.closed:
            return False
        holder = self._threats.get(self._launch_holder.get(ev.event_id, ""))
        if holder is None or holder.alert is not alert:
            return True
        return not alert.warned and (
            confirmed
            or holder.current_track not in self._alive
            or time_s - holder.last_seen_s > 30.0
        )

    def _close_unconfirmed_launches(self, time_s: float, warnings: list[Warning]) -> None:
        for ev in self.launches.events:
            alert = self._launch_alerts.get(ev.event_id)
            if (
                alert is not None
                and not alert.closed
                and ev.event_id not in self._launch_holder
                and time_s - ev.last_report_s > self.settings.launch_unconfirmed_s
            ):
                warnings.append(
                    self._issue(
                        alert,
                        Cancelled,
                        time_s,
                        ev.event_id,
                        f"Launch notice {ev.event_id} closed: no radar track of this launch was "
                        "held, so no impact area can be given.",
                    )
                )

    # ------------------------------------------------------------------ ballistic threats

    def _new_threat(self, time_s: float) -> _Threat:
        tid = f"{self.nation}-B{self._next_threat:03d}"
        self._next_threat += 1
        threat = _Threat(threat_id=tid, first_seen_s=time_s, alert=Alert(tid))
        threat.alert.apply(Tracked, time_s)
        self._threats[tid] = threat
        return threat

    def _threat_for(
        self,
        track_id: str,
        x: FloatArray,
        P: FloatArray,
        time_s: float,
        alive: set[str],
        warnings: list[Warning],
    ) -> _Threat:
        """The threat `track_id` carries: its own, or one whose track it takes over, or new.

        A track takes over a threat only when that threat's own track is no longer
        in the picture (a missile is never two live tracks apart: two live tracks are
        two missiles, as in a salvo) and when its position is statistically
        compatible with the threat's prediction: d'(P_pred + P_track)⁻¹d ≤ gate.
        """
        cfg = self.settings
        known = self._track_threat.get(track_id)
        if known is not None and not self._threats[known].alert.closed:
            return self._threats[known]
        best: _Threat | None = None
        best_d2 = cfg.threat_gate_chi2
        for threat in self._threats.values():
            if (
                threat.alert.closed
                or threat.current_track in alive
                or time_s - threat.last_seen_s > cfg.lost_after_s * 3
            ):
                continue
            pred_pos, pred_cov = self._predicted_position(threat, time_s)
            d = x[:3] - pred_pos
            S = pred_cov + P[:3, :3]
            if not (np.isfinite(d).all() and np.isfinite(S).all()):
                continue
            # d² = d' S⁻¹ d    squared Mahalanobis distance, S = P_pred + P_track
            try:
                d2 = float(d @ np.linalg.solve(S, d))
            except np.linalg.LinAlgError:
                continue
            if d2 <= best_d2:
                best, best_d2 = threat, d2
        if best is None:
            best = self._new_threat(time_s)
            lat, lon, _ = ecef_to_geodetic(x[:3])
            self._link_launch(best, float(lat), float(lon), time_s, warnings)
        self._track_threat[track_id] = best.threat_id
        best.track_ids.add(track_id)
        return best

    def _predicted_position(self, threat: _Threat, time_s: float) -> tuple[FloatArray, FloatArray]:
        """The threat's position at `time_s` and its covariance, from its fit (or last track).

        P_pos(t) = P_pp + Δt (P_pv + P_vp) + Δt² P_vv + (½ σ_a Δt²)² I
        """
        if threat.fit is not None and threat.fit.ok:
            dt = time_s - threat.fit_time_s
            x = ballistic_propagate(threat.fit.x[None], np.array([dt]), threat.fit.beta_kg_m2)
            pos, P = x[0, :3], threat.fit.P
        else:
            dt = time_s - threat.last_seen_s
            pos, P = threat.last_x[:3] + threat.last_x[3:] * dt, threat.last_cov
        q = 0.5 * self.settings.threat_gate_accel_mps2 * dt**2
        cov = P[:3, :3] + dt * (P[:3, 3:] + P[3:, :3]) + dt**2 * P[3:, 3:] + q**2 * np.eye(3)
        return np.asarray(pos, dtype=np.float64), np.asarray(cov, dtype=np.float64)

    def _update_threat(
        self,
        track_id: str,
        x: FloatArray,
        P: FloatArray,
        time_s: float,
        country: str,
        alt_m: float,
        alive: set[str],
        warnings: list[Warning],
    ) -> None:
        threat = self._threat_for(track_id, x, P, time_s, alive, warnings)
        if threat.times and threat.times[-1] == time_s:
            # A second track of this threat at this snapshot: keep the tighter one.
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
        threat.last_cov = P.copy() if np.isfinite(P).all() else np.eye(6) * 1e10
        threat.last_seen_s = time_s
        threat.current_track = track_id
        # Overflight: the sub-missile point leaves a territory.
        if threat.country and country != threat.country and threat.alert.warned:
            self._passed_over(threat, threat.country, time_s, alt_m, warnings)
        threat.country = country

    def _passed_over(
        self,
        threat: _Threat,
        code: str,
        time_s: float,
        alt_m: float,
        warnings: list[Warning],
    ) -> None:
        if code not in self.allied_codes or threat.prediction is None:
            return
        name = self.geography.country_name(code)
        lat, lon, _ = ecef_to_geodetic(threat.last_x[:3])
        where, places = self.geography.describe(float(lat), float(lon))
        warnings.append(
            self._issue(
                threat.alert,
                PassedOver,
                time_s,
                threat.current_track,
                f"The missile has passed over {name} at about {self._clock(time_s)}, at an "
                f"altitude of about {alt_m / 1000:.0f} km; now {where}.",
                expires_s=threat.prediction.time_s + self.settings.expiry_margin_s,
                places=_places(places),
                territory=name,
            )
        )

    def _fit_threat(self, threat: _Threat, time_s: float) -> None:
        cfg = self.settings
        t = np.asarray(threat.times)
        start = time_s - cfg.fit_window_s
        los: LineOfSight | None = None
        ev = threat.launch
        if ev is not None and self.launches.burnt_out(ev, time_s):
            start = max(start, ev.last_report_s + 5.0)
            # The space-IR ray nearest burnout: a position fix long before the radar arc.
            los = LineOfSight(ev.last_report_s, ev.origin_ecef_m[-1], ev.los_ecef[-1])
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
                los,
                track_P=threat.last_cov,
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

    def _advance_threat(self, threat: _Threat, time_s: float, warnings: list[Warning]) -> None:
        cfg = self.settings
        pr0 = threat.prediction
        # In its last seconds the missile is in dense air where the track is least
        # trustworthy: the prediction made before then stands.
        frozen = threat.alert.warned and pr0 is not None and time_s >= pr0.time_s - 10.0
        if threat.last_seen_s == time_s and not frozen:
            self._fit_threat(threat, time_s)
            if threat.fit is not None and threat.fit.ok:
                # The fitted state and ln β flown to now, with their covariance: every
                # sigma point falls with its own β (a depressed shot is in the air all
                # the way, where β decides the impact).
                x_now, P_now = threat.fit.state_at(time_s - threat.fit_time_s)
                pred = predict_impact(x_now[None], P_now[None], time_s, cfg.impact)
                self._take_prediction(threat, pred, time_s, warnings)
            elif threat.fit is not None:
                self._problem(
                    threat, f"trajectory fit failed ({threat.fit.reason})", time_s, warnings
                )
        # Life-cycle ends.
        pr = threat.prediction
        if threat.alert.warned and pr is not None and time_s >= pr.time_s:
            self._impact(threat, pr, time_s, warnings)
            return
        if time_s - threat.last_seen_s > cfg.lost_after_s and not threat.alert.warned:
            self._lost(threat, time_s, warnings)

    def _lost(self, threat: _Threat, time_s: float, warnings: list[Warning]) -> None:
        """A threat lost before any impact warning ends; a launch it held waits for another."""
        if threat.launch is not None:
            # The launch may go on in another track: its alert stays open for one.
            self._launch_holder.pop(threat.launch.event_id, None)
            threat.launch = None
            threat.alert = Alert(threat.threat_id)
            threat.alert.apply(Tracked, time_s)
        said = threat.alert.said_anything
        row = self._issue(
            threat.alert,
            Cancelled,
            time_s,
            threat.current_track,
            f"Cancelled: the missile track {threat.current_track} was lost at "
            f"{self._clock(threat.last_seen_s)} before an impact area could be predicted.",
        )
        if said:
            warnings.append(row)

    def _problem(
        self, threat: _Threat, reason: str, time_s: float, warnings: list[Warning]
    ) -> None:
        self._note(reason)
        threat.problem = reason
        # Never a silent missing warning: a confirmed missile with no usable
        # prediction for 30 s is announced as such.
        if threat.alert.state is State.TRACKED and time_s - threat.first_seen_s >= 30:
            lat, lon, alt = ecef_to_geodetic(threat.last_x[:3])
            where, places = self.geography.describe(float(lat), float(lon))
            warnings.append(
                self._issue(
                    threat.alert,
                    NoPrediction,
                    time_s,
                    threat.current_track,
                    f"Ballistic missile tracked {where}, at about {alt / 1000:.0f} km altitude; "
                    f"no impact area can be predicted yet: {reason}.",
                    expires_s=self._open_expiry_s(time_s),
                    places=_places(places),
                )
            )

    def _take_prediction(
        self,
        threat: _Threat,
        pred: ImpactPrediction,
        time_s: float,
        warnings: list[Warning],
    ) -> None:
        cfg = self.settings
        if not bool(pred.valid[0]):
            self._problem(threat, str(pred.status[0]), time_s, warnings)
            return
        if str(pred.status[0]) != "ok":
            self._note(str(pred.status[0]))
        lat, lon = float(pred.lat_deg[0]), float(pred.lon_deg[0])
        at_risk, _ = ellipse_reach(lat, lon, pred.cov_en_m2[0], self.assets, pred.confidence)
        current = _Prediction(
            lat_deg=lat,
            lon_deg=lon,
            time_s=float(pred.time_s[0]),
            time_sigma_s=float(pred.time_sigma_s[0]),
            semi_major_m=float(pred.semi_major_m[0]),
            semi_minor_m=float(pred.semi_minor_m[0]),
            orientation_deg=float(pred.orientation_deg[0]),
            confidence=pred.confidence,
            cov_en_m2=pred.cov_en_m2[0],
            assets=tuple(self.assets.name[i] for i in np.flatnonzero(at_risk)),
            land=str(self.geography.country_codes_at(lat, lon)[0]),
            over=self._overflown(pred),
            made_s=time_s,
            path=predicted_path(
                pred.path_lat_deg[0], pred.path_lon_deg[0], pred.path_alt_m[0], pred.path_time_s[0]
            ),
        )
        threat.previous_prediction, threat.prediction = threat.prediction, current
        self.prediction_log.append(
            {
                "threat_id": threat.threat_id,
                "track_id": threat.current_track,
                "time_s": current.time_s,
                "made_s": time_s,
                "lat_deg": lat,
                "lon_deg": lon,
                "time_sigma_s": current.time_sigma_s,
                "semi_major_m": current.semi_major_m,
                "semi_minor_m": current.semi_minor_m,
                "orientation_deg": current.orientation_deg,
                "confidence": current.confidence,
                "cov_en_m2": current.cov_en_m2,
            }
        )
        prev = threat.previous_prediction
        if not threat.alert.warned:
            consistent = (
                prev is not None
                and float(geodesic_distance_m(prev.lat_deg, prev.lon_deg, lat, lon))
                <= prev.semi_major_m + current.semi_major_m
            )
            if current.semi_major_m <= cfg.max_warning_semi_major_m and consistent:
                if threat.launch is None:
                    lat0, lon0, _ = ecef_to_geodetic(threat.last_x[:3])
                    self._link_launch(
                        threat, float(lat0), float(lon0), time_s, warnings, confirmed=True
                    )
                self._impact_warning(threat, ImpactAreaIssued, time_s, warnings)
            return
        rep = threat.reported or current
        moved = float(geodesic_distance_m(rep.lat_deg, rep.lon_deg, lat, lon))
        changed = (
            current.semi_major_m <= (1.0 - cfg.update_shrink) * rep.semi_major_m
            or moved > cfg.update_move * rep.semi_major_m
            or current.assets != rep.assets
            or current.land != rep.land
        )
        if changed and time_s - threat.last_warning_s >= cfg.min_update_interval_s:
            self._impact_warning(threat, UpdateIssued, time_s, warnings)

    def _overflown(self, pred: ImpactPrediction) -> tuple[str, ...]:
        """Allied territories under the predicted path (central sigma point)."""
        lat, lon = pred.path_lat_deg[0], pred.path_lon_deg[0]
        ok = np.isfinite(lat) & np.isfinite(lon)
        if not ok.any():
            return ()
        codes = self.geography.country_codes_at(lat[ok], lon[ok])
        seen: list[str] = []
        for c in codes:
            if c and c in self.allied_codes and c not in seen:
                seen.append(str(c))
        return tuple(self.geography.country_name(c) for c in seen)

    def _impact_warning(
        self, threat: _Threat, event: type[Event], time_s: float, warnings: list[Warning]
    ) -> None:
        pr = threat.prediction
        assert pr is not None
        where, places = self.geography.describe(pr.lat_deg, pr.lon_deg)
        over = f" It is expected to fly over {', '.join(pr.over)}." if pr.over else ""
        assets = f" Within the impact area: {', '.join(pr.assets)}." if pr.assets else ""
        lead = "Impact area warning" if event is ImpactAreaIssued else "Update"
        text = (
            f"{lead}: ballistic missile expected to fall {where}, at {self._clock(pr.time_s)} "
            f"(95 % area {pr.semi_major_m / 1000:.0f} × {pr.semi_minor_m / 1000:.0f} km)."
            f"{over}{assets}"
        )
        warnings.append(
            self._issue(
                threat.alert,
                event,
                time_s,
                threat.current_track,
                text,
                expires_s=pr.time_s + self.settings.expiry_margin_s,
                predicted_impact=pr.fields(),
                predicted_path=pr.path,
                places=_places(places),
                assets=pr.assets,
                track_position=_position(threat.last_x),
                source_tracks=tuple(sorted(threat.track_ids)),
                launch_id=threat.launch.event_id if threat.launch is not None else "",
            )
        )
        threat.reported = pr
        threat.last_warning_s = time_s

    def _impact(
        self, threat: _Threat, pr: _Prediction, time_s: float, warnings: list[Warning]
    ) -> None:
        where, places = self.geography.describe(pr.lat_deg, pr.lon_deg)
        seen = (
            f"last tracked at {self._clock(threat.last_seen_s)}"
            if time_s - threat.last_seen_s > 10.0
            else "tracked to the end"
        )
        event, verb = (Impacted, "has fallen") if pr.land else (FellAtSea, "has fallen at sea")
        text = (
            f"The missile {verb} {where.replace(', at sea', '')} at about "
            f"{self._clock(pr.time_s)} (predicted; {seen})."
        )
        warnings.append(
            self._issue(
                threat.alert,
                event,
                time_s,
                threat.current_track,
                text,
                predicted_impact=pr.fields(),
                places=_places(places),
                assets=pr.assets,
            )
        )

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
        warnings: list[Warning],
    ) -> None:
        cfg = self.settings
        rows: list[dict[str, Any]] = []
        own = np.flatnonzero(self._own_assets)
        # Ballistic threats, by their predicted impact.
        for threat in self._threats.values():
            pr = threat.prediction
            if threat.alert.closed or pr is None:
                continue
            at_risk, dist = ellipse_reach(
                pr.lat_deg, pr.lon_deg, pr.cov_en_m2, self.assets, pr.confidence
            )
            for a in own:
                rows.append(
                    {
                        "track_id": threat.current_track,
                        "threat_id": threat.threat_id,
                        "cls": "ballistic_missile",
                        "asset": self.assets.name[a],
                        "reachable": bool(at_risk[a]),
                        "time_to_go_s": round(pr.time_s - time_s, 1),
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
        warnings: list[Warning],
    ) -> None:
        key = f"{track_id}:{asset}"
        watch = self._cruise.get(key)
        if watch is None:
            watch = _CruiseWatch(
                Alert(f"{self.nation}-C{len(self._cruise) + 1:03d}"), track_id, asset
            )
            self._cruise[key] = watch
            event: type[Event] = AssetThreatened
        elif not watch.alert.closed and time_s - watch.last_s >= 60.0:
            event = UpdateIssued
        else:
            watch.eta_s = time_s + ttg_s
            watch.seen_s = time_s
            return
        watch.last_s = time_s
        watch.eta_s = time_s + ttg_s
        watch.seen_s = time_s
        lat, lon, _ = ecef_to_geodetic(x[:3])
        where, places = self.geography.describe(float(lat), float(lon))
        warnings.append(
            self._issue(
                watch.alert,
                event,
                time_s,
                track_id,
                f"Cruise missile {where}, heading for {asset}: expected in about "
                f"{max(ttg_s, 0.0) / 60:.0f} min, at {self._clock(time_s + ttg_s)}.",
                expires_s=watch.eta_s + self.settings.expiry_margin_s,
                places=_places(places),
                assets=(asset,),
                time_to_go_s=round(ttg_s, 1),
                track_position=_position(x),
            )
        )

    def _close_cruise(self, ids: Sequence[str], time_s: float, warnings: list[Warning]) -> None:
        present = set(ids)
        for watch in self._cruise.values():
            if watch.alert.closed or (watch.track_id in present and watch.seen_s == time_s):
                continue
            if time_s - watch.seen_s < 30.0:
                continue
            reached = watch.eta_s <= time_s + 30.0
            text = (
                f"The cruise missile is assessed to have reached {watch.asset} at about "
                f"{self._clock(watch.eta_s)}."
                if reached
                else f"Cancelled: the cruise missile track {watch.track_id} heading for "
                f"{watch.asset} was dropped at {self._clock(watch.seen_s)}."
            )
            warnings.append(
                self._issue(
                    watch.alert,
                    Impacted if reached else Cancelled,
                    time_s,
                    watch.track_id,
                    text,
                    assets=(watch.asset,),
                )
            )

    def _forget(self, time_s: float) -> None:
        old = [
            t
            for t, m in self._tracks.items()
            if time_s - m.last_seen_s > self.settings.forget_after_s
        ]
        for t in old:
            del self._tracks[t]
            self._track_threat.pop(t, None)


def _launch_time_s(ev: LaunchEvent) -> float:
    """A launch's estimated lift-off time (its first report's until it is fitted)."""
    return ev.time_s if math.isfinite(ev.time_s) else ev.first_report_s


def _places(rows: list[dict[str, object]]) -> tuple[PlaceNear, ...]:
    return tuple(
        PlaceNear(
            name=str(r["name"]),
            distance_m=float(str(r["distance_m"])),
            bearing_deg=float(str(r["bearing_deg"])),
        )
        for r in rows
    )


def _compass(bearing_deg: float) -> str:
    from airpicture.threat.geography import compass_point

    return compass_point(bearing_deg)


def _position(x: FloatArray) -> Position:
    lat, lon, alt = ecef_to_geodetic(x[:3])
    return Position(
        lat_deg=round(float(lat), 4), lon_deg=round(float(lon), 4), alt_m=round(float(alt))
    )

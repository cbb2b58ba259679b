"""Tracker settings: frozen dataclasses with documented, physically argued defaults.

See docs/tracking.md for why each number is what it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from airpicture.tracking.imm import ModeSwitching
from airpicture.tracking.initiation import InitiationPrior
from airpicture.tracking.motion import MotionModel

#: Nearly constant velocity: airliners and cruising aircraft. q = σ_a² τ with
#: σ_a ≈ 0.3 m/s² of unmodelled acceleration (wind, speed changes, the great
#: circle's 0.01 m/s² curvature) correlated over τ ≈ 5 s.
CV = MotionModel(name="cv", kind="cv", q_m2_s3=0.5)
#: Manoeuvre: turns of up to ~2 g, boost phase, pull-ups. σ_a ≈ 15 m/s², τ ≈ 3 s.
MANOEUVRE = MotionModel(name="manoeuvre", kind="cv", q_m2_s3=600.0)
#: Ballistic: the Earth's gravity field (geo.gravity) with drag; small residual noise
#: for the unknown ballistic coefficient and re-entry.
BALLISTIC = MotionModel(
    name="ballistic", kind="ballistic", q_m2_s3=2.0, ballistic_coefficient_kg_m2=3000.0
)

DEFAULT_SWITCHING = ModeSwitching(
    mean_sojourn_s=(120.0, 20.0, 300.0),
    destinations=((0.0, 0.9, 0.1), (0.7, 0.0, 0.3), (0.2, 0.8, 0.0)),
)


@dataclass(frozen=True)
class GateSettings:
    """Gating: kd-tree pre-gate (coarse, in metres) then the Mahalanobis gate."""

    #: Probability that the true report falls inside the Mahalanobis gate; the
    #: gate is the χ² quantile of that probability for the report's dimension.
    probability: float = 0.9995
    #: Pre-gate radius in standard deviations of (track + report) position error.
    pregate_sigmas: float = 4.5
    #: Nothing tracked flies faster (an ICBM re-enters at ~7 km/s): it caps the
    #: pre-gate radius, and a track whose speed estimate exceeds it is deleted.
    max_speed_mps: float = 8000.0


@dataclass(frozen=True)
class LifeCycleSettings:
    """Tentative → confirmed by track score (sequential likelihood ratio); deletion on misses.

    Score: L ← L + ln(pd Λ / λ) per report, Λ the report's likelihood, λ the
    sensor's false-alarm density. Confirm when L ≥ `confirm_score` (≈ ln(1/α)
    for a false-track probability α ≈ 1e-5) after at least `min_hits` reports.
    """

    confirm_score: float = 11.5
    min_hits: int = 2
    #: Deletion on missed reports, as a score: every revisit of a sensor that
    #: was reporting the track and did not, adds −ln(1 − pd) of that sensor
    #: (2.3 for pd = 0.9). A tentative track dies past `tentative_max_miss_score`
    #: (two misses of a pd = 0.9 radar), a confirmed one past
    #: `confirmed_max_miss_score` = ln(10⁴): a real target produces such a run of
    #: misses with probability below 10⁻⁴ (four misses of a pd = 0.9 radar; a
    #: target seen by several sensors is given up sooner, one of a poor sensor
    #: later). Measured on uk-opensky against 13.0: spuriousness 3.7 % → 2.9 %,
    #: completeness unchanged (0.977): tracks of aircraft whose record ends
    #: linger less.
    tentative_max_miss_score: float = 4.0
    confirmed_max_miss_score: float = 9.2
    #: A confirmed track is not shown (in `view`, `snapshot`) once its misses
    #: make it more likely that the target has gone than that it is still
    #: there; it lives on, up to `confirmed_max_miss_score`, so that a target
    #: that was only missed is taken up again by its next report. Targets end
    #: (land, leave coverage, impact) at a rate 1/`target_mean_life_s`: after
    #: s seconds of silence the prior odds that it still exists are
    #: e^{−s/τ} / (1 − e^{−s/τ}) ≈ τ/s, and the misses multiply them by
    #: Π(1 − pd); the track is hidden when its miss score exceeds
    #: ln(e^{−s/τ} / (1 − e^{−s/τ})) (posterior probability of existence below
    #: one half). τ = 30 min: an airliner crosses a 400 km radar's coverage in
    #: about half an hour; missiles live shorter, which only makes the rule
    #: conservative for them. Without it the track of a landed aircraft seen
    #: only by ADS-B (pd 0.7, 5 s) stayed 43 s on the picture; with it 23 s,
    #: while a target that a pd 0.9 radar alone reports is shown through two
    #: missed scans.
    target_mean_life_s: float = 1800.0
    #: A sensor counts as reporting the track if its last report is within this
    #: many of its revisits before the track's last report.
    recent_revisits: float = 3.0
    #: ... and dies when its position uncertainty (1σ, metres) grows past this.
    max_position_sigma_m: float = 60_000.0
    #: Duplicate removal: established tracks (≥ merge_min_hits reports) closer
    #: than merge_radius_m whose 6-D states agree within the χ²₆ gate
    #: merge_gate (99.9 %) are one target.
    merge_min_hits: int = 4
    #: Lowest altitude of a sane track (the Dead Sea shore is at −430 m).
    min_altitude_m: float = -1500.0
    merge_radius_m: float = 5000.0
    merge_gate: float = 22.46


@dataclass(frozen=True)
class TrackerSettings:
    models: tuple[MotionModel, ...] = (CV, MANOEUVRE, BALLISTIC)
    switching: ModeSwitching = DEFAULT_SWITCHING
    #: Mode probabilities of a new track.
    initial_mode_probabilities: tuple[float, ...] = (0.6, 0.3, 0.1)
    gate: GateSettings = field(default_factory=GateSettings)
    association: Literal["gnn", "jpda"] = "gnn"
    initiation: InitiationPrior = field(default_factory=InitiationPrior)
    life_cycle: LifeCycleSettings = field(default_factory=LifeCycleSettings)
    #: Reports are held this long (seconds of report time) to be put in time
    #: order; a report older than what has already been processed is counted
    #: as too late and not used.
    order_tolerance_s: float = 10.0
    #: Reports are processed in time windows of this length; within a window
    #: each sensor's reports form one association batch. A window must be
    #: shorter than every sensor's revisit time so that a target gives at most
    #: one report per sensor per batch; `None` picks 0.8 × the shortest revisit,
    #: at most `max_batch_window_s` (longer windows cost less per report).
    batch_window_s: float | None = None
    max_batch_window_s: float = 4.0
    #: Each sensor in windows of its own: 0.8 × its revisit, a whole number of
    #: tracker windows, at most `max_batch_window_s` (a 10 s radar's reports in
    #: 4 s batches instead of 0.8 s ones: fewer, larger batches, at the price of
    #: updating a track seen by several sensors out of time order by up to a
    #: window, predicted backwards; docs/tracking.md). False: every sensor's
    #: batches are the tracker's windows.
    sensor_windows: bool = True
    #: Track numbers are formatted as `{prefix}{number:05d}`.
    track_prefix: str = "T"
    #: Unassociated space-IR boost detections kept for threat assessment.
    max_boost_detections: int = 100_000

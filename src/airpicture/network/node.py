"""A nation's node: its trackers, what it releases, what it accepts, and its fused picture.

A node is driven in phases by `NetworkRun` at every picture time T (so that
with zero latency every node sees every partner's tracks of the same cycle):

1. `ingest_own(plots)`, `publish_plots(T)`: its own sensors' new reports go to
   its trackers and, per sensor plot marking, to the partners allowed them;
2. `receive(T)`: partners' plots go to its trackers, partners' tracks to its
   store of received tracks, warnings to its inbox — after checks; a partner
   silent for too long is marked down (`liveness.py`);
3. `publish_tracks(T)`: each tracker's confirmed tracks at T − hold, each sent
   to every partner its marking allows, with the network number it holds; then
   `publish_heartbeats(T)`: a heartbeat on each link idle for the interval;
4. `receive(T)` again, then `fuse(T)`: its own and the received tracks fused
   into system tracks, assessed, turned into picture rows; warnings issued.

`NetworkRun` takes these as the stages of `schedule.py` (plots, tracks, fuse),
in an order that lets a node track the next cycle as soon as it has fused; the
node itself only publishes and receives on whatever bus it was given.

**Trackers per marking.** The node tracks its own sensors and the sensors whose
plots are released to it, with one tracker per distinct track marking among
them. Each tracker's tracks then carry only sources of one marking, so every
track may go wherever its sensors allow: a sensor released to fewer nations
(pacific-shield's USA-SBIRS-GEO) does not make every track it touched
unreleasable to the others. The node's own picture fuses all its trackers.

**What it refuses** (counted in `counts.rejected`, logged, never raised):
bytes that do not decode, an unknown or self-claimed sender, a sender the
transport contradicts, a duplicate sequence number, a batch older than one
already held (late), tracks whose sources the sender cannot hold or whose
claimed releasability exceeds what their sources allow, plots not owned by
their sender or not released to this node.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

import msgspec
import numpy as np
from numpy.typing import NDArray

from airpicture.fusion import (
    FusedTracks,
    FusionSettings,
    SourceTracks,
    SystemPicture,
    format_number,
)
from airpicture.fusion.gridlock import Gridlock, GridlockSettings
from airpicture.network.bus import Bus, Envelope
from airpicture.network.liveness import HeartbeatSchedule, LinkMonitor, liveness_limits
from airpicture.network.messages import (
    PLOT_COLUMNS,
    Heartbeat,
    Message,
    MessageError,
    PlotBatch,
    TrackBatch,
    WarningBatch,
    decode,
    encode,
    kind_of,
    plot_batch_from_table,
    plot_problems,
    plots_table,
    track_batch_from_tracks,
    track_problems,
    tracks_of,
)
from airpicture.network.signing import FrameError, Keyring, stamp_of
from airpicture.policy import ReleaseGuard, ReleasePolicy
from airpicture.scenario import Scenario
from airpicture.tables import Table
from airpicture.threat.assessment import Assessment, Assessor, BoostReports
from airpicture.threat.warning import Warning, active_warnings, closing_notice
from airpicture.tracking import Tracker, TrackerSettings, TrackView, sensor_models
from airpicture.tracking.registration import Registration, RegistrationSettings
from airpicture.tracking.view import (
    kinematic_class_ecef,
    picture_rows,
    update_mapping,
    update_matrix,
)

log = logging.getLogger(__name__)

#: A partner's remembered sequence numbers are pruned to the replay window past this many.
_SEEN_PRUNE_AT = 4096

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class NodeSettings:
    tracker: TrackerSettings = field(default_factory=TrackerSettings)
    fusion: FusionSettings = field(default_factory=FusionSettings)
    #: Own plots are sent to partners in batches at most this long, s.
    plot_batch_s: float = 1.0
    #: A message stamped this far after the receiver's clock is refused, s.
    max_clock_skew_s: float = 5.0
    #: Sensor registration of the reports before they are tracked (`enabled=False`: off).
    registration: RegistrationSettings = field(default_factory=RegistrationSettings)
    #: Partners' tracks moved into this node's grid before fusion (`enabled=False`: off).
    gridlock: GridlockSettings = field(default_factory=GridlockSettings)
    #: A message (or a plot, a track state, a warning in it) stamped this long before the
    #: receiver's clock is refused: a replay, or news too old to use. It bounds the
    #: sequence numbers a node must remember to refuse replays, s.
    replay_window_s: float = 120.0
    #: A link that carried nothing for this long gets a heartbeat (`network/liveness.py`);
    #: None: the scenario's picture interval, s.
    heartbeat_interval_s: float | None = None
    #: A partner silent for longer than this is marked down; None: three heartbeat
    #: intervals (`liveness.DOWN_AFTER_INTERVALS`), s.
    partner_down_after_s: float | None = None


@dataclass
class NodeCounts:
    received: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {"received": dict(self.received), "rejected": dict(self.rejected)}


@dataclass
class _Received:
    """The latest track batch of one partner tracker, checked and ready to fuse."""

    time_s: float
    tracks: SourceTracks
    sources: BoolArray


@dataclass(frozen=True)
class NodeSnapshot:
    time_s: float
    picture: Table
    warnings: list[Warning]


class NationalNode:
    def __init__(
        self,
        nation: str,
        scenario: Scenario,
        policy: ReleasePolicy,
        bus: Bus,
        assessor: Assessor,
        settings: NodeSettings | None = None,
        hold_s: float = 0.0,
        first_seq: int = 0,
        keys: Keyring | None = None,
    ) -> None:
        """`first_seq`: the messages' sequence numbers start after it. A node restarted
        mid-exercise starts past every number it used before (its partners refuse a number
        they have seen as a duplicate).

        `keys`: this nation's signing key and its partners' public keys. With them every
        message goes out signed and only correctly signed ones are taken (`signing.py`);
        without them (a deployment that has not given its node the keys yet) messages go
        and are taken bare, with a warning in the log."""
        self.nation = nation
        self.keys = keys
        if keys is None:
            log.warning("%s: no keys given, messages between nodes are NOT signed", nation)
        elif keys.nation != nation:
            raise ValueError(f"the {nation} node was given {keys.nation}'s keys")
        self.policy = policy
        self.bus = bus
        self.assessor = assessor
        self.settings = settings or NodeSettings()
        #: The trackers lag real time by this much, so partners' plots arrive before they are due.
        self.hold_s = hold_s
        self.guard = ReleaseGuard(policy, nation)
        self.counts = NodeCounts()
        self.partners = [n for n in policy.nations if n != nation]
        interval_s, down_after_s = liveness_limits(
            self.settings.heartbeat_interval_s,
            self.settings.partner_down_after_s,
            scenario.picture_interval_s,
        )
        #: When this node tells each partner it links to that it is alive, and what it makes
        #: of the silence of each partner that may send it anything.
        self.heartbeats = HeartbeatSchedule(policy.link_receivers(nation), interval_s)
        self.links = LinkMonitor(
            nation, [p for p in self.partners if nation in policy.link_receivers(p)], down_after_s
        )
        #: The node's clock: the latest time a stage was given (what it sends is sent then).
        self._clock_s = -math.inf
        #: CPU seconds per phase (tracking, bus, fusion, assessment): what the node costs.
        self.seconds: defaultdict[str, float] = defaultdict(float)
        # One tracker per distinct track marking among the sensors whose plots it holds.
        tracked = np.flatnonzero(policy.plot_sensors_of(nation))
        groups = policy.tracker_groups(nation)
        self.trackers: list[Tracker] = []
        self.origins: list[str] = []
        self._origin_marking: list[BoolArray] = []
        self._tracker_of_sensor: dict[str, int] = {}
        by_id = {s.id: s for s in scenario.sensors}
        #: Biases of the sensors it tracks, estimated and corrected before tracking.
        self.registration = Registration(
            [by_id[policy.sensor_ids[i]] for i in tracked], nation, self.settings.registration
        )
        for origin, (marking, members) in zip(policy.tracker_origins(nation), groups, strict=True):
            ids = [policy.sensor_ids[i] for i in members]
            tracker_settings = replace(self.settings.tracker, track_prefix=f"{origin}/T")
            self.trackers.append(Tracker(sensor_models([by_id[s] for s in ids]), tracker_settings))
            self.origins.append(origin)
            self._origin_marking.append(marking)
            for sid in ids:
                self._tracker_of_sensor[sid] = len(self.trackers) - 1
        self.mode_names = tuple(m.name for m in self.settings.tracker.models)
        self.fusion = SystemPicture(
            nation, policy.nations, self.mode_names, self.settings.fusion, policy.tracker_markings()
        )
        self.gridlock = Gridlock(self.settings.gridlock)
        self._seq: Counter[str] = Counter({p: first_seq for p in self.partners})
        #: Per partner, the sequence numbers taken within the replay window, and their stamps.
        self._seen: dict[str, dict[int, float]] = {}
        self._seen_limit: dict[str, int] = {}
        #: Each partner tracker's latest batch, by origin: only the origins the policy gives
        #: partners' trackers are taken (a hostile partner's made-up origins would each hold
        #: a batch), and a batch older than `max_source_age_s` is dropped at fusion.
        self._received: dict[str, _Received] = {}
        self._partner_origins = {o for p in self.partners for o in policy.tracker_origins(p)}
        self._unsent_plots: list[Table] = []
        self._local: SourceTracks = SourceTracks.empty(len(self.mode_names))
        self._local_sources = np.zeros((0, len(policy.sensor_ids)), dtype=bool)
        # What the node published last cycle about its local tracks (sorted keys).
        self._pub_keys = np.empty(0, dtype="U64")
        self._pub_number = np.empty(0, dtype=np.int64)
        self._pub_created = np.empty(0)
        self._pub_told = np.zeros((0, len(policy.nations)), dtype=np.int64)
        self._pub_told_created = np.zeros((0, len(policy.nations)))
        self._boost_after_s = -math.inf
        self._local_cls = np.empty(0, dtype=object)
        self._local_told = np.zeros((0, len(policy.nations)), dtype=np.int64)
        self._local_told_created = np.zeros((0, len(policy.nations)))
        #: Warnings this node's assessor issued, and those received from partners.
        self.issued_warnings: list[Warning] = []
        self.received_warnings: list[Warning] = []
        #: Sensors each issued alert (warning id) derives from so far: a row about a track
        #: no longer held (its closing row) carries its alert's marking.
        self._alert_sources: dict[str, BoolArray] = {}
        #: Per issued alert, each partner told of it and the sources of what it was given.
        self._alert_told: dict[str, dict[str, BoolArray]] = {}

    # ------------------------------------------------------------------ phase 1

    def ingest_own(self, plots: Table) -> None:
        """The node's own sensors' new reports (rows of the plots table)."""
        n = len(plots["time_s"]) if "time_s" in plots else 0
        if n == 0:
            return
        rows = {c: plots[c] for c in PLOT_COLUMNS if c in plots}
        self._to_trackers(rows)
        self._unsent_plots.append(rows)

    def publish_plots(self, now_s: float) -> None:
        """Send the own plots not yet sent to every partner their plot marking allows."""
        self._clock_s = max(self._clock_s, now_s)
        if not self._unsent_plots:
            return
        t0 = time.process_time()
        rows = {c: np.concatenate([p[c] for p in self._unsent_plots]) for c in PLOT_COLUMNS}
        self._unsent_plots = []
        sensor_index = self.policy.sensor_index(rows["sensor_id"])
        step = self.settings.plot_batch_s
        # Batches end at multiples of plot_batch_s (and at now): sent when the last plot is in.
        batch_end = np.minimum(np.ceil(rows["time_s"] / step) * step, now_s)
        for receiver in self.partners:
            ok = self.guard.plots_for(receiver, sensor_index)
            if not ok.any():
                continue
            for end in np.unique(batch_end[ok]):
                sel = ok & (batch_end == end)
                self._send_plots(receiver, float(end), {c: v[sel] for c, v in rows.items()})
        self.seconds["bus"] += time.process_time() - t0

    def _send_plots(self, receiver: str, sent_s: float, rows: Table) -> None:
        ids = sorted(set(rows["sensor_id"].tolist()))
        index = self.policy.sensor_index(ids)
        batch = plot_batch_from_table(
            rows,
            sender=self.nation,
            seq=self._next_seq(receiver),
            sent_s=sent_s,
            releasable_to={
                sid: self.policy.nation_names(self.policy.plot_marking[i])
                for sid, i in zip(ids, index, strict=True)
            },
        )
        self._publish(receiver, batch, sent_s)

    # ------------------------------------------------------------------ phase 2

    def receive(self, now_s: float) -> None:
        """Take every message that has arrived; check it; never raise on bad input. Then
        mark down the partners silent for too long (`network/liveness.py`)."""
        t0 = time.process_time()
        self._clock_s = max(self._clock_s, now_s)
        for envelope in self.bus.receive(self.nation, now_s):
            self._handle(envelope, now_s)
        self.links.check(now_s)
        self.seconds["bus"] += time.process_time() - t0

    def publish_heartbeats(self, now_s: float) -> None:
        """A heartbeat to each partner whose link has carried nothing for the heartbeat
        interval (`liveness.HeartbeatSchedule`): a function of the clock and that link only."""
        t0 = time.process_time()
        self._clock_s = max(self._clock_s, now_s)
        for receiver in self.heartbeats.due(now_s):
            beat = Heartbeat(sender=self.nation, seq=self._next_seq(receiver), sent_s=now_s)
            self._publish(receiver, beat, now_s)
            self.heartbeats.sent[receiver] += 1
        self.seconds["bus"] += time.process_time() - t0

    def _reject(self, reason: str, envelope: Envelope, detail: str, count: int = 1) -> None:
        self.counts.rejected[reason] += count
        self.links.refused(envelope.sender, count)
        log.warning(
            "%s refused %d item(s) from %s sent at %.1f s: %s (%s)",
            self.nation,
            count,
            envelope.sender,
            envelope.sent_s,
            reason,
            detail,
        )

    def _handle(self, envelope: Envelope, now_s: float) -> None:
        """One delivered message: its signature first (nothing of it is decoded before),
        then its age and sequence number (replays), then its body, then its content."""
        if self.keys is not None:
            t0 = time.process_time()
            try:
                frame = self.keys.open(envelope.payload, envelope.sender)
            except FrameError as exc:
                self._reject(exc.reason, envelope, exc.detail)
                return
            finally:
                self._signing_took(time.process_time() - t0)
            if not self._fresh(frame.sender, frame.seq, frame.sent_s, envelope, now_s):
                return
            body = frame.body
        else:
            body = envelope.payload
        try:
            message = decode(body)
        except MessageError as exc:
            self._reject(exc.reason, envelope, exc.detail)
            return
        sender = message.sender
        if self.keys is not None:
            signed = (frame.sender, frame.seq, frame.kind, frame.sent_s)
            if (sender, message.seq, kind_of(message).value, stamp_of(message)) != signed:
                self._reject(
                    "frame_mismatch", envelope, "the message says otherwise than its frame"
                )
                return
        else:
            if sender not in self.partners:
                self._reject("unknown_sender", envelope, f"claimed sender {sender!r}")
                return
            if envelope.sender != sender:
                self._reject("sender_mismatch", envelope, f"claims {sender!r}")
                return
            if not self._fresh(sender, message.seq, stamp_of(message), envelope, now_s):
                return
        # Signed by the partner, fresh, never seen: it is alive (heard by this stage's time).
        heartbeat = isinstance(message, Heartbeat)
        self.links.heard(sender, min(envelope.arrival_s, now_s), heartbeat)
        if heartbeat:
            self.counts.received["heartbeats"] += 1
        elif isinstance(message, TrackBatch):
            self._take_tracks(message, envelope, now_s)
        elif isinstance(message, PlotBatch):
            self._take_plots(message, envelope, now_s)
        elif isinstance(message, WarningBatch):
            self._take_warnings(message, envelope, now_s)

    def _fresh(
        self, sender: str, seq: int, stamp_s: float, envelope: Envelope, now_s: float
    ) -> bool:
        """Whether a message stamped `stamp_s` is within the window of this node's clock and
        its (sender, seq) not seen before; refused and counted if not."""
        settings = self.settings
        if not math.isfinite(stamp_s) or stamp_s > now_s + settings.max_clock_skew_s:
            self._reject("from_the_future", envelope, f"stamped {stamp_s} at {now_s}")
            return False
        oldest_s = now_s - settings.replay_window_s
        if stamp_s < oldest_s:
            self._reject("too_old", envelope, f"stamped {stamp_s} at {now_s}")
            return False
        seen = self._seen.setdefault(sender, {})
        if seq in seen:
            self._reject("duplicate", envelope, f"seq {seq}")
            return False
        seen[seq] = stamp_s
        if len(seen) > self._seen_limit.get(sender, _SEEN_PRUNE_AT):
            # A number stamped before the window cannot come again (it would be too old);
            # the next pruning waits till the rest has doubled (amortised O(1) a message).
            kept = {q: t for q, t in seen.items() if t >= oldest_s}
            self._seen[sender] = kept
            self._seen_limit[sender] = max(_SEEN_PRUNE_AT, 2 * len(kept))
        return True

    def _take_plots(self, batch: PlotBatch, envelope: Envelope, now_s: float) -> None:
        self.counts.received["plot_batches"] += 1
        sensor_index = self.policy.sensor_index(batch.sensor_id)
        reason = self.guard.check_received_plots(batch.sender, sensor_index)
        # A report stamped after the batch was sent, before the replay window, or not
        # stamped at all would move the trackers' clock to it (or be a replay): refused,
        # however honest the batch's own stamp; so is a value no sensor could measure.
        times = np.asarray(batch.time_s, dtype=np.float64)
        settings = self.settings
        latest_s = min(batch.sent_s, now_s) + settings.max_clock_skew_s
        timely = np.isfinite(times) & (times <= latest_s)
        timely &= times >= now_s - settings.replay_window_s
        reason[(reason == "") & ~timely] = "from_the_future"
        reason[(reason == "") & (times < now_s - settings.replay_window_s)] = "too_old"
        implausible = plot_problems(batch)
        reason[reason == ""] = implausible[reason == ""]
        for why, n in Counter(reason[reason != ""].tolist()).items():
            self._reject(f"plots_{why}", envelope, "plots dropped", n)
        ok = reason == ""
        self.counts.received["plots"] += int(ok.sum())
        if not ok.any():
            return
        self._to_trackers({c: v[ok] for c, v in plots_table(batch).items()})

    def _take_tracks(self, batch: TrackBatch, envelope: Envelope, now_s: float) -> None:
        self.counts.received["track_batches"] += 1
        if not batch.origin.startswith(f"{batch.sender}."):
            self._reject("origin_not_sender", envelope, f"origin {batch.origin!r}")
            return
        if batch.origin not in self._partner_origins:
            self._reject("origin_unknown", envelope, f"origin {batch.origin!r} is no tracker")
            return
        held = self._received.get(batch.origin)
        if held is not None and batch.time_s < held.time_s:
            self._reject("late", envelope, f"batch of {batch.time_s} s after {held.time_s} s")
            return
        if batch.mode_names != list(self.mode_names):
            self._reject("malformed", envelope, f"mode names {batch.mode_names}")
            return
        n = len(batch.track_id)
        sources, known = self.policy.sources_mask(batch.sources)
        claimed = (
            np.stack([self.policy.marking_of(r) for r in batch.releasable_to])
            if n
            else (np.zeros((0, len(self.policy.nations)), dtype=bool))
        )
        unknown_claim = np.array(
            [any(c not in self.policy.nations for c in r) for r in batch.releasable_to], bool
        )
        reason = self.guard.check_received_tracks(batch.sender, sources, known, claimed)
        reason[unknown_claim & (reason == "")] = "releasability_claim_unknown_nation"
        implausible = track_problems(batch)
        reason[reason == ""] = implausible[reason == ""]
        tracks = tracks_of(batch)
        for why, count in Counter(reason[reason != ""].tolist()).items():
            self._reject(f"tracks_{why}", envelope, "tracks dropped", count)
        ok = reason == ""
        # A number whose provenance may not come here is not taken (the track is).
        own = self.policy.nation_index(self.nation)
        barred = ok & (tracks.claim_number > 0)
        barred &= ~self.fusion.blocks.marking(tracks.claim_number)[:, own]
        if barred.any():
            self._reject("numbers_not_releasable", envelope, "numbers dropped", int(barred.sum()))
            tracks = replace(
                tracks,
                claim_number=np.where(barred, 0, tracks.claim_number),
                claim_created_s=np.where(barred, 0.0, tracks.claim_created_s),
            )
        self.counts.received["tracks"] += int(ok.sum())
        self._received[batch.origin] = _Received(batch.time_s, tracks.take(ok), sources[ok])

    def _take_warnings(self, batch: WarningBatch, envelope: Envelope, now_s: float) -> None:
        self.counts.received["warning_batches"] += 1
        sources, known = self.policy.sources_mask(batch.sources)
        claimed = (
            np.stack([self.policy.marking_of(r) for r in batch.releasable_to])
            if batch.warnings
            else np.zeros((0, len(self.policy.nations)), dtype=bool)
        )
        reason = self.guard.check_received_tracks(
            batch.sender, sources, known, claimed, from_sender_plots=False
        )
        oldest_s = now_s - self.settings.replay_window_s
        latest_s = batch.sent_s + self.settings.max_clock_skew_s
        for i, w in enumerate(batch.warnings):
            if reason[i] == "" and not (
                math.isfinite(w.time_s) and oldest_s <= w.time_s <= latest_s
            ):
                reason[i] = "time_outside_window"
            elif reason[i] == "" and w.expires_s is not None and not math.isfinite(w.expires_s):
                reason[i] = "expiry_not_finite"
        for why, count in Counter(reason[reason != ""].tolist()).items():
            self._reject(f"warnings_{why}", envelope, "warnings dropped", count)
        for warning, why in zip(batch.warnings, reason, strict=True):
            if why == "":
                self.received_warnings.append(warning)
                self.counts.received["warnings"] += 1

    def active_warnings(self, now_s: float) -> list[Warning]:
        """The alerts on in this nation's picture at `now_s`, its own and its partners':
        each alert's latest row, unless that row closed it or it has expired."""
        mine = [w for w in self.issued_warnings if self.nation in w.recipients]
        return active_warnings([*mine, *self.received_warnings], now_s)

    def _to_trackers(self, rows: Table) -> None:
        t0 = time.process_time()
        rows = self.registration.correct(rows)
        self.seconds["registration"] += time.process_time() - t0
        t0 = time.process_time()
        group = np.array([self._tracker_of_sensor.get(str(s), -1) for s in rows["sensor_id"]])
        for g, tracker in enumerate(self.trackers):
            sel = group == g
            if sel.any():
                tracker.process({c: v[sel] for c, v in rows.items()})
        self.seconds["tracking"] += time.process_time() - t0

    # ------------------------------------------------------------------ phase 3

    def publish_tracks(self, now_s: float) -> None:
        """Each tracker's confirmed tracks at now − hold, to every partner allowed them."""
        t0 = time.process_time()
        at_s = now_s - self.hold_s
        parts: list[SourceTracks] = []
        source_parts: list[BoolArray] = []
        for origin, tracker in zip(self.origins, self.trackers, strict=True):
            tracker.advance_to(at_s)
            view = tracker.view(at_s)
            n = view.x.shape[0]
            parts.append(
                SourceTracks(
                    key=view.track_id.astype("U64"),
                    origin=np.full(n, origin, dtype="U32"),
                    local=np.ones(n, dtype=bool),
                    time_s=np.full(n, at_s),
                    x=view.x,
                    P=view.P,
                    mode_probabilities=view.mode_probabilities,
                    claim_number=np.zeros(n, dtype=np.int64),
                    claim_created_s=np.full(n, np.inf),
                    ident=view.ident.astype("U16"),
                    updated_s=update_matrix(view),
                    pressure_alt_m=np.full(n, np.nan)
                    if view.pressure_alt_m is None
                    else np.asarray(view.pressure_alt_m, dtype=np.float64),
                    mode3a=np.full(n, "", dtype="U4")
                    if view.mode3a is None
                    else np.asarray(view.mode3a).astype("U4"),
                )
            )
            source_parts.append(self.policy.sources_mask(view.sources)[0])
        local = SourceTracks.concat(parts, len(self.mode_names))
        # Each local track is reported with its network number; a new one gets one now,
        # from its tracker's own sub-block (`NumberBlocks`).
        number, created, told, told_created = self._published_numbers(local.key)
        new = number == 0
        for g, origin in enumerate(self.origins):
            fresh = new & (local.origin == origin)
            if fresh.any():
                number[fresh] = self.fusion.allocate(int(fresh.sum()), g)
                created[fresh] = at_s
        # A track never fused yet is told its first number wherever that may go.
        first = new & (told == 0).all(axis=1)
        allowed = self.fusion.blocks.marking(number[first])
        told[first] = np.where(allowed, number[first, None], 0)
        told_created[first] = np.where(allowed, at_s, np.inf)
        self._local_told, self._local_told_created = told, told_created
        self._local = replace(local, claim_number=number, claim_created_s=created)
        # The class told to partners is what each track shows alone (its tracker's state),
        # not its fused system track's: that would depend on sources a partner may not hold.
        self._local_cls = kinematic_class_ecef(local.x, local.mode_probabilities, self.mode_names)
        self._local_sources = (
            np.concatenate(source_parts)
            if source_parts
            else np.zeros((0, len(self.policy.sensor_ids)), dtype=bool)
        )
        self.seconds["tracking"] += time.process_time() - t0
        t0 = time.process_time()
        for receiver in self.partners:
            ok = self.guard.tracks_for(receiver, self._local_sources)
            col = self.policy.nation_index(receiver)
            for origin, marking in zip(self.origins, self._origin_marking, strict=True):
                if not marking[col]:
                    continue  # nothing this tracker makes may ever go there
                sel = ok & (self._local.origin == origin)
                # A batch is sent even when empty: it tells the receiver the tracks ended.
                self._send_tracks(receiver, origin, at_s, np.flatnonzero(sel))
        self.seconds["bus"] += time.process_time() - t0

    def _send_tracks(self, receiver: str, origin: str, at_s: float, rows: NDArray[np.intp]) -> None:
        local = self._local.take(rows)
        sources = self._local_sources[rows]
        marking = self.policy.derived_marking(sources)
        # The number is the one chosen for this receiver among the numbers it may hear
        # (`FusedTracks.told_number`), whatever else the system track holds; 0 if none
        # (the receiver numbers it, or adopts another's number). The class is the track's
        # own (`kinematic_class_ecef`); identity is left to each nation's own assessment
        # of its picture (a partner's ADS-B identity travels in `ident`).
        col = self.policy.nation_index(receiver)
        number = self._local_told[rows, col]
        cls = self._local_cls[rows].tolist()
        identity = ["unknown"] * rows.size
        told = replace(
            local,
            claim_number=number,
            claim_created_s=np.where(number > 0, self._local_told_created[rows, col], 0.0),
        )
        batch = track_batch_from_tracks(
            told,
            sender=self.nation,
            origin=origin,
            seq=self._next_seq(receiver),
            time_s=at_s,
            mode_names=self.mode_names,
            cls=cls,
            identity=identity,
            sources=self.policy.source_names(sources),
            releasable_to=[self.policy.nation_names(m) for m in marking],
        )
        self._publish(receiver, batch, at_s)

    def _published_numbers(
        self, keys: NDArray[np.str_]
    ) -> tuple[NDArray[np.int64], FloatArray, NDArray[np.int64], FloatArray]:
        """What the last fusion gave each local track: its network number (0: none yet) and
        when it was given, and `(n, n_nations)` the number chosen for each nation (0: none)
        and when that was given."""
        n, n_nations = keys.shape[0], len(self.policy.nations)
        number = np.zeros(n, dtype=np.int64)
        created = np.full(n, np.inf)
        told = np.zeros((n, n_nations), dtype=np.int64)
        told_created = np.full((n, n_nations), np.inf)
        if self._pub_keys.size and n:
            pos = np.minimum(np.searchsorted(self._pub_keys, keys), self._pub_keys.size - 1)
            found = self._pub_keys[pos] == keys
            at = pos[found]
            number[found], created[found] = self._pub_number[at], self._pub_created[at]
            told[found], told_created[found] = self._pub_told[at], self._pub_told_created[at]
        # Only a real number is claimed (a provisional one would mislead partners).
        real = np.isfinite(created)
        number[~real] = 0
        created[~real] = 0.0
        return number, created, told, told_created

    # ------------------------------------------------------------------ phase 4

    def fuse(self, now_s: float) -> NodeSnapshot:
        """Fuse own and received tracks, assess, issue warnings; the node's picture rows."""
        t0 = time.process_time()
        max_age = self.settings.fusion.max_source_age_s
        self._received = {o: r for o, r in self._received.items() if now_s - r.time_s <= max_age}
        fresh = [r for _, r in sorted(self._received.items())]
        n_modes = len(self.mode_names)
        received = self.gridlock.correct(now_s, self._local, [r.tracks for r in fresh])
        src = SourceTracks.concat([self._local, *received], n_modes)
        src_sources = np.concatenate([self._local_sources, *(r.sources for r in fresh)])
        fused = self.fusion.update(now_s, src, self.policy.derived_marking(src_sources))
        S = len(fused)
        sources = np.zeros((S, src_sources.shape[1]), dtype=bool)
        np.logical_or.at(sources, fused.member, src_sources)
        sources = self.guard.picture_sources(sources)
        view = TrackView(
            time_s=now_s,
            track_id=format_number(fused.number),
            number=fused.number,
            confirmed=np.ones(S, dtype=bool),
            x=fused.x,
            P=fused.P,
            mode_probabilities=fused.mode_probabilities,
            mode_names=self.mode_names,
            ident=fused.ident,
            sources=self.policy.source_names(sources),
            updated_s=update_mapping(fused.updated_s),
            mode3a=fused.mode3a.astype(object),
            pressure_alt_m=fused.pressure_alt_m,
        )
        self.seconds["fusion"] += time.process_time() - t0
        t0 = time.process_time()
        boost, boost_sources = self._new_boost(now_s - self.hold_s)
        assessment = self.assessor.assess(view, boost, now_s)
        self.seconds["assessment"] += time.process_time() - t0
        warnings = self._issue_warnings(assessment, view, sources, boost_sources, now_s)
        self._remember_numbers(src, fused)
        return NodeSnapshot(now_s, self._picture_rows(view, assessment), warnings)

    def _new_boost(self, until_s: float) -> tuple[BoostReports, BoolArray]:
        """Space-IR boost detections no tracker took, since the last cycle, and their sensors."""
        boost = BoostReports.concat(
            [tracker.boost.between(self._boost_after_s, until_s) for tracker in self.trackers]
        )
        self._boost_after_s = until_s
        mask = np.zeros(len(self.policy.sensor_ids), dtype=bool)
        if len(boost) == 0:
            return BoostReports.none(), mask
        index = self.policy.sensor_index(sorted(set(boost.sensor_id.tolist())))
        mask[index[index >= 0]] = True
        return boost, mask

    def _issue_warnings(
        self,
        assessment: Assessment,
        view: TrackView,
        sources: BoolArray,
        boost_sources: BoolArray,
        now_s: float,
    ) -> list[Warning]:
        """Collect the assessor's warnings, cut their recipients to their marking, send them."""
        if not assessment.warnings:
            return []
        row_of = {str(tid): i for i, tid in enumerate(view.track_id)}
        own = self.guard.policy.holdable_sensors(self.nation)
        out: list[Warning] = []
        outbox: dict[str, list[tuple[Warning, BoolArray]]] = {}
        for raw in assessment.warnings:
            row = row_of.get(raw.track_id)
            earlier = self._alert_sources.get(raw.warning_id)
            if row is not None:
                derived_from = sources[row]
            elif raw.kind == "launch" and boost_sources.any():
                derived_from = boost_sources
            elif earlier is not None:
                # A row about a track no longer held (a closing row): its alert's sources.
                derived_from = earlier
            else:
                # Nothing says what it derives from: treat it as derived from everything held.
                derived_from = own
            self._alert_sources[raw.warning_id] = (
                derived_from if earlier is None else earlier | derived_from
            )
            allowed, removed = self.guard.warning_recipients(raw.recipients, derived_from)
            if removed:
                log.info("%s withheld warning %s from %s", self.nation, raw.warning_id, removed)
            told = self._alert_told.setdefault(raw.warning_id, {})
            if raw.kind != "launch":
                # Only a launch notice offers an alert to allies; a later row goes to the
                # nations the alert has reached. The assessor counts a partner the guard
                # withheld the notice from as told: telling it now would say that sources
                # it may not hold saw the launch (docs/security.md).
                allowed = [r for r in allowed if r == self.nation or r in told]
            warning = msgspec.structs.replace(
                raw, recipients=tuple(allowed), issued_by=raw.issued_by or self.nation
            )
            out.append(warning)
            for receiver in allowed:
                if receiver != self.nation:
                    outbox.setdefault(receiver, []).append((warning, derived_from))
                    held = told.get(receiver)
                    told[receiver] = derived_from if held is None else held | derived_from
            if warning.closes:
                # A partner told of the alert, from whom the release rules keep this closing
                # row, still learns that it has ended, from sources it was already given.
                for receiver in (r for r in removed if r in told):
                    notice = closing_notice(warning, (receiver,))
                    out.append(notice)
                    outbox.setdefault(receiver, []).append((notice, told[receiver]))
        t0 = time.process_time()
        for receiver, items in sorted(outbox.items()):
            src = np.stack([d for _, d in items])
            batch = WarningBatch(
                sender=self.nation,
                seq=self._next_seq(receiver),
                sent_s=now_s,
                warnings=[w for w, _ in items],
                sources=[list(s) for s in self.policy.source_names(src)],
                releasable_to=[
                    self.policy.nation_names(m) for m in self.policy.derived_marking(src)
                ],
            )
            self._publish(receiver, batch, now_s)
        self.seconds["bus"] += time.process_time() - t0
        self.issued_warnings.extend(out)
        return out

    def _remember_numbers(self, src: SourceTracks, fused: FusedTracks) -> None:
        """The network numbers of each local track, for the next publication."""
        local = np.flatnonzero(src.local)
        keys = src.key[local]
        order = np.argsort(keys)
        sys = fused.member[local][order]
        self._pub_keys = keys[order]
        self._pub_number = fused.number[sys]
        self._pub_created = fused.number_created_s[sys]
        self._pub_told = fused.told_number[local][order]
        self._pub_told_created = fused.told_created_s[local][order]

    def _picture_rows(self, view: TrackView, assessment: Assessment) -> Table:
        return picture_rows(view, self.nation, assessment.cls, assessment.identity)

    def stats(self) -> dict[str, Any]:
        """Counts and CPU seconds of this node, its trackers, its release guard and fusion."""
        return {
            "trackers": {
                origin: {
                    "sensors": [s.sensor_id for s in t.sensors],
                    "reports": t.counts.as_dict(),
                }
                for origin, t in zip(self.origins, self.trackers, strict=True)
            },
            "hold_s": self.hold_s,
            "messages": self.counts.as_dict(),
            "release": self.guard.counts.as_dict(),
            "renumbered": self.fusion.renumbered,
            "seconds": dict(self.seconds),
            "warnings_issued": len(self.issued_warnings),
            "warnings_received": len(self.received_warnings),
            "heartbeats_sent": dict(self.heartbeats.sent),
            "partner_links": self.links.as_dict(),
        }

    def threat_log(self) -> list[dict[str, Any]]:
        """The assessor's ranked threat rows so far (for assessors that keep them)."""
        return list(getattr(self.assessor, "threat_log", []))

    def take_threat_rows(self) -> list[dict[str, Any]]:
        """The assessor's threat rows since the last take, which it then forgets: a live
        node, which runs for days, takes them every cycle (`threat_log` would grow by a
        row per hostile or unknown track and asset every picture)."""
        log: list[dict[str, Any]] | None = getattr(self.assessor, "threat_log", None)
        if not log:
            return []
        rows = list(log)
        log.clear()
        return rows

    def _publish(self, receiver: str, batch: Message, sent_s: float) -> None:
        # The link is in use now (a track batch is stamped `now − hold`, but goes now).
        self.heartbeats.sent_on(receiver, max(self._clock_s, sent_s))
        payload = encode(batch)
        kind = kind_of(batch)
        if self.keys is not None:
            t0 = time.process_time()
            payload = self.keys.seal_body(receiver, kind.value, batch.seq, stamp_of(batch), payload)
            self._signing_took(time.process_time() - t0)
        self.bus.publish(self.nation, receiver, payload, sent_s, kind)

    def _signing_took(self, seconds: float) -> None:
        """Signing and checking happen inside the bus phase: counted apart, so that the
        phases stay disjoint (their sum is the node's CPU)."""
        self.seconds["signing"] += seconds
        self.seconds["bus"] -= seconds

    def _next_seq(self, receiver: str) -> int:
        """The next sequence number of the messages to `receiver`.

        One counter per receiver: a counter shared by all receivers would tell each
        of them, by its jumps, how many messages the others were sent.
        """
        self._seq[receiver] += 1
        return self._seq[receiver]

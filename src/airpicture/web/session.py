"""The frames every session can draw from, and one session's playback over them.

`FrameLog` holds one served viewer's frames as they are produced (all of
them at start for a replay; growing with the clock when live). `Player` is
one browser session's playback: its own time, speed and pause, turned into
the messages to send (`step`). It does no I/O, so tests drive it directly.
"""

from __future__ import annotations

import bisect
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from airpicture.tables import Table
from airpicture.threat.warning import Warning, active_warnings
from airpicture.web.alerts import AlertAcknowledgements, acknowledge
from airpicture.web.deltas import PictureDelta, picture_delta
from airpicture.web.history import DEFAULT_HISTORY_POINTS, TrackHistories
from airpicture.web.protocol import (
    Acknowledge,
    Acknowledgement,
    Acknowledgements,
    ClientMessage,
    Clock,
    Control,
    EncodedFrame,
    Frame,
    HistoryRequest,
    Links,
    ProtocolError,
    ServerMessage,
    TrackMeta,
    Warnings,
    encode,
)

#: Exercise seconds of pictures a live server keeps for its sessions to go back over
#: (`ServerSettings.keep_s`, a node's `web.keep_s`).
DEFAULT_KEEP_S: Final = 2 * 3600.0

#: Deltas (and live frames' bytes) kept per served viewer, newest last: enough for every
#: session following the head, and a few that lag a frame or two.
SHARED_DELTAS = 6


def wall_ms() -> float:
    """Wall-clock milliseconds since 1970 (what the browser's `Date.now()` reads)."""
    return time.time() * 1000.0


@dataclass
class FrameLog:
    """One served viewer's frames in time order, and the warnings addressed to it.

    A delta depends only on the two pictures (what the browser holds: the picture at
    `base`; what it should hold: the picture at `index`), so it is computed once per viewer
    and shared by every session that needs it (`delta`, `live_frame`), not once per session.

    Indices are absolute: the n-th picture ever added is `n` for as long as the log runs.
    With `keep_s` (a live server: `ServerSettings.keep_s`), pictures older than that behind
    the newest are dropped — `first` is then the oldest index kept — and so are the start
    times and histories of tracks in none of the pictures kept: the log's memory is
    bounded by the window, however long the server runs. Without it (a replay of a finished
    run), every picture is kept.
    """

    viewer: str
    #: Points of history kept per track (`history.TrackHistories`).
    history_points: int = DEFAULT_HISTORY_POINTS
    #: Exercise seconds of pictures kept behind the newest (None: every picture).
    keep_s: float | None = None
    #: The index of `pictures[0]`.
    first: int = 0
    times: list[float] = field(default_factory=list)
    pictures: list[Table] = field(default_factory=list)
    produced_ms: list[float] = field(default_factory=list)
    warning_times: list[float] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)
    #: Track id → the time it first appeared in this viewer's picture (its real start).
    starts: dict[str, float] = field(default_factory=dict)
    #: Operators' acknowledgements of this viewer's alerts (web/alerts.py).
    acks: AlertAcknowledgements = field(init=False)
    #: The viewer's own node's links to its partners, the latest told (None: no node
    #: serves this viewer, e.g. a replay), and how many times they were told.
    links: Links | None = None
    links_version: int = 0
    #: Each track's past positions in these pictures, for the detail panel (on demand).
    history: TrackHistories = field(init=False)
    _deltas: OrderedDict[tuple[int, int], PictureDelta] = field(default_factory=OrderedDict)
    _frames: OrderedDict[tuple[int, int, bool], EncodedFrame] = field(default_factory=OrderedDict)

    def __post_init__(self) -> None:
        if self.keep_s is not None and not self.keep_s > 0.0:
            raise ValueError(f"keep_s must be positive (or None: keep all), not {self.keep_s}")
        self.acks = AlertAcknowledgements(self.viewer)
        self.history = TrackHistories(self.history_points)

    @property
    def end(self) -> int:
        """One past the newest index (the number of pictures ever added)."""
        return self.first + len(self.pictures)

    def picture(self, index: int) -> Table:
        """The picture at `index` (kept: `first <= index < end`)."""
        if not self.first <= index < self.end:
            raise IndexError(f"picture {index} is not kept ({self.first}..{self.end - 1})")
        return self.pictures[index - self.first]

    def time_of(self, index: int) -> float:
        return self.times[index - self.first]

    def oldest_s(self) -> float:
        """The time of the oldest picture kept (-inf: none yet)."""
        return self.times[0] if self.times else -math.inf

    def add(self, time_s: float, picture: Table, warnings: list[Warning]) -> None:
        index = self.end
        self.times.append(time_s)
        self.pictures.append(picture)
        self.history.add(index, time_s, picture)
        self.produced_ms.append(wall_ms())
        starts = self.starts
        for track_id in picture["track_id"]:
            if track_id not in starts:
                starts[track_id] = time_s
        for w in warnings:
            self.warning_times.append(w.time_s)
            self.warnings.append(w)
        if self.keep_s is not None:
            self._trim(time_s - self.keep_s)

    def _trim(self, oldest_s: float) -> None:
        """Drop the pictures before `oldest_s`, a batch at a time (a sixteenth of those
        kept, at least one), and what only they held."""
        drop = bisect.bisect_left(self.times, oldest_s)
        if drop == 0 or drop < len(self.times) // 16:
            return
        del self.times[:drop], self.pictures[:drop], self.produced_ms[:drop]
        self.first += drop
        self.history.forget_before(self.times[0])
        held = self.history.held()
        self.starts = {t: start for t, start in self.starts.items() if t in held}

    def set_links(self, links: Links) -> None:
        self.links = links
        self.links_version += 1

    def active_at(self, time_s: float) -> list[Warning]:
        """The alerts on for this viewer at `time_s`, i.e. its banners (`active_warnings`)."""
        return active_warnings(self.warnings, time_s)

    def index_at(self, time_s: float) -> int:
        """Index of the newest frame at or before `time_s` (-1: none kept)."""
        position = bisect.bisect_right(self.times, time_s) - 1
        return -1 if position < 0 else self.first + position

    def delta(self, base: int, index: int) -> PictureDelta:
        """From the picture at `base` (-1: nothing) to the picture at `index`; shared."""
        key = (base, index)
        hit = self._deltas.get(key)
        if hit is None:
            known = {} if base < 0 else self._known(base)
            hit = picture_delta(known, self.picture(index), self.starts)
            _remember(self._deltas, key, hit)
        return hit

    def live_frame(self, base: int, index: int, catchup: bool) -> EncodedFrame:
        """The encoded frame `base` → `index` with the time the picture was produced; shared."""
        key = (base, index, catchup)
        hit = self._frames.get(key)
        if hit is None:
            produced = self.produced_ms[index - self.first]
            hit = EncodedFrame(encode(self.frame(base, index, catchup, produced)))
            _remember(self._frames, key, hit)
        return hit

    def frame(self, base: int, index: int, catchup: bool, produced_ms: float) -> Frame:
        # seq: the picture's number in this log, the same for every session that is sent it.
        return self.delta(base, index).frame(
            index + 1, self.time_of(index), base < 0, produced_ms, catchup
        )

    def _known(self, index: int) -> dict[str, TrackMeta]:
        for (_, to), delta in reversed(self._deltas.items()):
            if to == index:
                return delta.known
        return picture_delta({}, self.picture(index), self.starts).known


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    cache[key] = value
    while len(cache) > SHARED_DELTAS:
        cache.popitem(last=False)


@dataclass(frozen=True)
class PlaybackSettings:
    #: Scenario seconds per wall second when a session starts.
    speed: float = 1.0
    #: Frames replayed before a jump's target so that history trails are drawn at once.
    trail_frames: int = 12
    #: ... as long as they hold at most this many track rows in all.
    catchup_rows: int = 40_000
    #: How often a clock message goes out while playing (wall seconds).
    clock_every_s: float = 0.5


class Player:
    """One session's playback over a `FrameLog`.

    `head_s()` says how far the data goes (live: the server clock; replay: the
    end). A live session follows the head until it pauses or jumps back, and
    `live` returns it there.
    """

    def __init__(
        self,
        log: FrameLog,
        live: bool,
        start_s: float,
        end_s: float,
        head_s: Callable[[], float],
        settings: PlaybackSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = log
        self.live = live
        self.start_s = start_s
        self.end_s = end_s
        self.head_s = head_s
        self.settings = settings or PlaybackSettings()
        self.clock = clock
        self.speed = self.settings.speed
        self.paused = False
        self.following = live
        self.time_s = head_s() if live else start_s
        self._last_wall = clock()
        self._last_clock_wall = -math.inf
        self._sent_index = -1
        self._warnings_sent = 0
        self._reset = True
        self._clock_dirty = True
        self._acks_sent = 0
        self._links_sent = 0
        #: The track whose history the page asked for, answered at the next step (the
        #: newest request wins: a page clicking fast gets one answer, not a queue).
        self._history_wanted: str | None = None

    # ------------------------------------------------------------ controls

    def receive(self, message: ClientMessage, user: str, record_dir: Path | None = None) -> None:
        """A browser message (`protocol.decode_client`): a time control, a request for a
        track's history, or `user`'s acknowledgement of an alert sent to this session
        (recorded under `record_dir`, `RunInfo.record_dir`); `ProtocolError` for an alert
        it was not sent."""
        if isinstance(message, Acknowledge):
            self.acknowledge(user, message, record_dir)
        elif isinstance(message, HistoryRequest):
            self._history_wanted = message.track_id
        else:
            self.control(message)

    def sent_warning_ids(self) -> set[str]:
        """The ids of the alerts this session has been sent (up to its time)."""
        upto = bisect.bisect_right(self.log.warning_times, self.time_s)
        return {w.warning_id for w in self.log.warnings[: max(upto, self._warnings_sent)]}

    def acknowledge(
        self, user: str, message: Acknowledge, record_dir: Path | None = None
    ) -> Acknowledgement:
        ack = acknowledge(
            self.log.acks, self.sent_warning_ids(), user, message, self.time_s, record_dir
        )
        self._clock_dirty = True  # a step soon: every session of the viewer hears of it
        return ack

    def control(self, control: Control | Acknowledge) -> None:
        """A time control. An acknowledgement needs the operator's name: `receive` takes it;
        here it is refused as any message this session cannot handle."""
        if isinstance(control, Acknowledge):
            raise ProtocolError(
                "this server does not record acknowledgements (its hello said so): "
                "send only control messages"
            )
        if control.op == "pause":
            self.paused = True
            self.following = False
        elif control.op == "play":
            self.paused = False
        elif control.op == "speed" and control.value is not None:
            self.speed = control.value
        elif control.op == "seek" and control.value is not None:
            # No earlier than the oldest picture the log still keeps.
            earliest = max(self.start_s, self.log.oldest_s())
            self.time_s = min(max(control.value, earliest), self.head_s())
            self.following = False
            self._reset = True
        elif control.op == "live" and self.live:
            self.following = True
            self.paused = False
            self.speed = 1.0
            self._reset = self.log.index_at(self.head_s()) != self._sent_index
        self._clock_dirty = True

    # ------------------------------------------------------------ stepping

    def step(self) -> list[ServerMessage]:
        """Advance the session's time to now and return what to send, oldest first."""
        now = self.clock()
        dt, self._last_wall = now - self._last_wall, now
        head = self.head_s()
        if self.following:
            self.time_s = head
        elif not self.paused:
            self.time_s = min(self.time_s + dt * self.speed, head)
            if self.time_s >= head and self.live:
                self.following = True
                self._clock_dirty = True
            elif self.time_s >= self.end_s:
                self.paused = True
                self._clock_dirty = True
        out: list[ServerMessage] = []
        index = self.log.index_at(self.time_s)
        if self._reset:
            out += self._catch_up(index)
            out += self._warnings(reset=True)
            self._reset = False
            self._clock_dirty = True
        else:
            if index > self._sent_index:
                out.append(self._frame(index, reset=False))
            out += self._warnings(reset=False)
        if self._history_wanted is not None:
            # From this viewer's log alone, and no further than the picture last sent.
            log, upto = self.log, self._sent_index
            kept = log.first <= upto < log.end
            latest, latest_s = (log.picture(upto), log.time_of(upto)) if kept else (None, 0.0)
            out.append(log.history.of(self._history_wanted, upto, latest, latest_s))
            self._history_wanted = None
        if self.log.acks.version != self._acks_sent:
            self._acks_sent = self.log.acks.version
            out.append(Acknowledgements(items=list(self.log.acks.items)))
        if self.log.links is not None and self.log.links_version != self._links_sent:
            # The node's links now, whatever time the session is looking at (not recorded).
            self._links_sent = self.log.links_version
            out.append(self.log.links)
        if self._clock_dirty or now - self._last_clock_wall >= self.settings.clock_every_s:
            out.append(self.clock_message(head))
            self._last_clock_wall = now
            self._clock_dirty = False
        return out

    def clock_message(self, head: float | None = None) -> Clock:
        return Clock(
            time_s=self.time_s,
            speed=self.speed,
            paused=self.paused,
            following_live=self.following,
            head_s=self.head_s() if head is None else head,
            end_s=self.end_s,
        )

    def _frame(self, index: int, reset: bool, catchup: bool = False) -> Frame | EncodedFrame:
        # What the browser holds is no longer kept (a session paused behind the window):
        # the frame replaces it whole.
        base = -1 if reset or self._sent_index < self.log.first else self._sent_index
        self._sent_index = index
        # Live: when the source produced the picture (one encoding for every session of the
        # viewer); replay: now (the recording is old), so each session encodes its own.
        if self.live:
            return self.log.live_frame(base, index, catchup)
        return self.log.frame(base, index, catchup, wall_ms())

    def _catch_up(self, index: int) -> list[ServerMessage]:
        """A reset to `index`, preceded by earlier frames to fill trails (if small enough)."""
        if index < 0:
            self._sent_index = -1
            return [_empty_frame(self.time_s)]
        log = self.log
        first, rows = index, len(log.picture(index)["track_id"])
        while first > log.first and index - first < self.settings.trail_frames:
            more = len(log.picture(first - 1)["track_id"])
            if rows + more > self.settings.catchup_rows:
                break
            first -= 1
            rows += more
        return [
            self._frame(i, reset=i == first, catchup=i < index) for i in range(first, index + 1)
        ]

    def _warnings(self, reset: bool) -> list[ServerMessage]:
        upto = bisect.bisect_right(self.log.warning_times, self.time_s)
        if reset:
            self._warnings_sent = upto
            return [Warnings(reset=True, items=self.log.warnings[:upto])]
        if upto > self._warnings_sent:
            items = self.log.warnings[self._warnings_sent : upto]
            self._warnings_sent = upto
            return [Warnings(reset=False, items=items)]
        return []


def _empty_frame(time_s: float) -> Frame:
    return Frame(
        seq=0,
        time_s=time_s,
        reset=True,
        produced_ms=wall_ms(),
        ids=[],
        lat_deg=[],
        lon_deg=[],
        alt_m=[],
        vel_e_mps=[],
        vel_n_mps=[],
        vel_u_mps=[],
        meta=[],
        removed=[],
    )

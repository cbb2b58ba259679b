"""The bus on NATS JetStream: one nation's node publishes and receives through it.

Subjects, streams and consumers (docs/exercise.md, "The NATS contract"):

* `ap.link.RECEIVER.SENDER.KIND` — a partner message (KIND: plots, tracks,
  warnings), payload exactly `messages.encode(batch)`, header `Nats-Msg-Id`
  `SENDER.RECEIVER.KIND.<seq>` (JetStream drops a re-publication within its
  duplicate window) and `Ap-Sent-S` (the publication's time, exercise seconds).
  The receiver's stream `RECEIVER_LINK` holds them; its node reads them with the
  durable pull consumer `node`, acknowledging each only once processed.
* `ap.sensor.NATION.SENSOR_ID` — a nation's own sensor reports (a `PlotBatch`),
  in the stream `NATION_SENSORS`, read with its durable consumer `node`.

The node calls `publish` and `receive` synchronously inside its stages (as on
the in-process bus); the service's asyncio driver (`network/service.py`) does
the I/O around them: `flush` sends what the stage published (awaiting every
PubAck, retrying on timeout with the same message id; a receiver that stays
silent — its server's link cut — gets its messages resent in the background, in
order, until acknowledged, without holding up the others), `pump` fetches what has
arrived, `settle` acknowledges what the stage took once it has finished. So a
node killed mid-stage gets those messages again from JetStream after restart;
a ledger of processed stream sequence numbers (a file the driver keeps) makes
sure a message processed before a kill but not yet acknowledged is not
processed twice.

**Stage-end markers.** After each stage that publishes plots or tracks, the bus
also sends each partner allowed that kind an empty message with the header
`Ap-Stage-End: <cycle>` on the same subject. A receiving node waits (with a
timeout) for them before the stage that takes those messages, so what each
stage receives is what the deterministic run's stage would have received
(`schedule.py`), whatever the nodes' speeds. The node never sees markers.

**What arrives when.** `receive(receiver, until_s)` returns the messages whose
logical arrival — sent time plus the scenario's link latency, as on the
in-process bus — is at or before `until_s`; `Envelope.arrival_s` is the
exercise-clock time the message really arrived. A link's loss probability is
drawn at publication from the same random stream as the in-process bus's.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TextIO

import msgspec
import nats.errors
import nats.js.errors
import numpy as np
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig

from airpicture.network.bus import Envelope, LinkQuality
from airpicture.network.messages import MessageError, MessageKind, PlotBatch, decode, plots_table
from airpicture.network.node import NodeSettings
from airpicture.policy import ReleasePolicy
from airpicture.sim.targets import stream_rng
from airpicture.tables import Table

log = logging.getLogger(__name__)

HEADER_MSG_ID: Final = "Nats-Msg-Id"
HEADER_SENT_S: Final = "Ap-Sent-S"
#: A sender's `Ap-Sent-S` this far past the receiver's clock is not believed: the message
#: is due at once, and the node judges the stamp inside it (`NodeSettings.max_clock_skew_s`).
MAX_SENT_AHEAD_S: Final = NodeSettings().max_clock_skew_s
HEADER_STAGE_END: Final = "Ap-Stage-End"
#: A feed's tick: every report up to this exercise time has been published.
HEADER_FEED_TICK: Final = "Ap-Feed-Tick"
#: The sensor-subject token of a feed's ticks (`ap.sensor.NATION._tick`).
FEED_TICK_TOKEN: Final = "_tick"
#: The durable pull consumers' name, on the link stream and on the sensor stream.
CONSUMER: Final = "node"
#: JetStream's duplicate window on the link stream, s.
DUPLICATE_WINDOW_S: Final = 120.0
#: A message fetched but not acknowledged within this is delivered again, s (wall).
ACK_WAIT_S: Final = 5.0
MAX_ACK_PENDING: Final = 50_000
#: Publication attempts per message in a flush; then its receiver's messages are resent
#: in the background (a flush that waited out a cut link would hold the node up: at 10x,
#: each PubAck timeout is 20 exercise seconds). Immediate refusals (no stream yet) are
#: tried again within the attempts; a timeout ends them at once.
PUBLISH_ATTEMPTS: Final = 4
#: A receiver cut off for long keeps at most this many messages waiting for it, the
#: latest (older ones would be refused as too old anyway: `NodeSettings.replay_window_s`).
MAX_HELD_PER_RECEIVER: Final = 10_000
PUBLISH_TIMEOUT_S: Final = 2.0


def link_subject(receiver: str, sender: str, kind: str) -> str:
    return f"ap.link.{receiver}.{sender}.{kind}"


def sensor_subject(nation: str, sensor_id: str) -> str:
    return f"ap.sensor.{nation}.{sensor_id}"


def link_stream(nation: str) -> str:
    return f"{nation}_LINK"


def sensor_stream(nation: str) -> str:
    return f"{nation}_SENSORS"


def message_id(sender: str, receiver: str, kind: str, seq: int | str) -> str:
    return f"{sender}.{receiver}.{kind}.{seq}"


def sends_to(policy: ReleasePolicy, sender: str, kind: MessageKind) -> list[str]:
    """The partners `sender`'s node may send plots or tracks to (release rules).

    Plots: a sensor of the sender's is plot-releasable to them. Tracks: a sensor
    whose plots the sender holds is track-releasable to them (a node tracks every
    sensor whose plots it holds, one tracker per track marking: `node.py`).
    """
    col_of = {n: policy.nation_index(n) for n in policy.nations}
    if kind == MessageKind.PLOTS:
        owned = policy.sensor_owner == policy.nation_index(sender)
        marking = policy.plot_marking[owned]
    elif kind == MessageKind.TRACKS:
        marking = policy.track_marking[policy.plot_sensors_of(sender)]
    else:
        raise ValueError(f"no stage-end markers for {kind}")
    return [n for n in policy.nations if n != sender and bool(marking[:, col_of[n]].any())]


def senders_to(policy: ReleasePolicy, receiver: str, kind: MessageKind) -> list[str]:
    """The partners that may send `receiver` plots or tracks (`sends_to`, the other way)."""
    return [n for n in policy.nations if n != receiver and receiver in sends_to(policy, n, kind)]


class _SeqOnly(msgspec.Struct):
    seq: int


_SEQ_DECODER: Final = msgspec.msgpack.Decoder(_SeqOnly)


@dataclass(frozen=True)
class _Outgoing:
    subject: str
    payload: bytes
    headers: dict[str, str]
    link: str


@dataclass
class _Incoming:
    msg: Msg
    stream_seq: int
    envelope: Envelope
    #: Sent time plus the link's latency: when the in-process bus would deliver it.
    due_s: float


@dataclass
class BusCounts:
    """What went over this node's links, and what the at-least-once machinery did."""

    #: Per link "SENDER->RECEIVER": messages published (PubAck received), lost by the
    #: link's loss probability, bytes published.
    published: Counter[str] = field(default_factory=Counter)
    lost: Counter[str] = field(default_factory=Counter)
    bytes_published: Counter[str] = field(default_factory=Counter)
    #: Per link: messages handed to the node.
    delivered: Counter[str] = field(default_factory=Counter)
    #: Publications JetStream recognised as already stored (a retry after a lost PubAck).
    duplicate_publications: int = 0
    #: Publication attempts that timed out or found no stream, and were tried again.
    publish_retries: int = 0
    #: Messages JetStream delivered again after a restart (delivered before, never
    #: acknowledged), and of those the ones the ledger showed processed: skipped.
    redelivered_after_restart: int = 0
    deduplicated_after_restart: int = 0
    #: Messages stored before this process started (while the node was down, after a
    #: restart) and first delivered to it.
    queued_before_start: int = 0
    #: Redeliveries of a message this process still held (its ack wait ran out): ignored.
    redelivered_in_flight: int = 0
    #: Messages on a subject this node must not take (wrong receiver, kind or sender).
    refused: Counter[str] = field(default_factory=Counter)
    markers_sent: int = 0
    markers_received: int = 0
    #: Per receiver: times it stopped acknowledging (a flush gave up on it and handed its
    #: messages to a background resend), and the messages that resend delivered.
    receivers_unreachable: Counter[str] = field(default_factory=Counter)
    resent: Counter[str] = field(default_factory=Counter)
    #: Per receiver: held messages dropped, oldest first, past `MAX_HELD_PER_RECEIVER`.
    dropped_held: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        links = sorted(set(self.published) | set(self.delivered) | set(self.lost))
        return {
            "links": {
                name: {
                    "sent": self.published[name],
                    "lost": self.lost[name],
                    "delivered": self.delivered[name],
                    "bytes_sent": self.bytes_published[name],
                }
                for name in links
            },
            "duplicate_publications": self.duplicate_publications,
            "publish_retries": self.publish_retries,
            "redelivered_after_restart": self.redelivered_after_restart,
            "deduplicated_after_restart": self.deduplicated_after_restart,
            "redelivered_in_flight": self.redelivered_in_flight,
            "queued_before_start": self.queued_before_start,
            "refused": dict(self.refused),
            "markers_sent": self.markers_sent,
            "markers_received": self.markers_received,
            "receivers_unreachable": dict(self.receivers_unreachable),
            "resent": dict(self.resent),
            "dropped_held": dict(self.dropped_held),
        }


class ProcessedLedger:
    """Stream sequence numbers of the messages a node has processed, kept in files.

    Appended (and flushed to the OS) after each stage, before the acknowledgements:
    a node killed between the two finds, after restart, that JetStream's
    redeliveries were already processed. One file per incarnation of the node
    (`STEM-INCARNATION.ledger`, all read at start), so which run of the node
    processed each message stays on record.

    In memory it is bounded however long the node runs: every number up to `floor` was
    processed (or no longer exists in the stream: `forget_below`), and `seqs` holds only
    those above it — the few processed out of order.
    """

    def __init__(self, folder: Path | None, stem: str = "", incarnation: int = 0) -> None:
        self.seqs: set[int] = set()
        self.floor = 0
        self.path = None if folder is None else folder / f"{stem}-{incarnation}.ledger"
        if folder is not None:
            for path in sorted(folder.glob(f"{stem}-*.ledger")):
                for line in path.read_text(encoding="ascii").split():
                    if line.isdigit():
                        self.seqs.add(int(line))
        self._raise_floor()
        self._file: TextIO | None = None

    def __contains__(self, seq: int) -> bool:
        return seq <= self.floor or seq in self.seqs

    def forget_below(self, first_seq: int) -> None:
        """The stream's first sequence number now (older messages were removed by its
        retention, or never existed): nothing below it can be delivered again."""
        if first_seq - 1 > self.floor:
            self.floor = first_seq - 1
            self.seqs = {s for s in self.seqs if s > self.floor}
            self._raise_floor()

    def _raise_floor(self) -> None:
        while self.floor + 1 in self.seqs:
            self.floor += 1
            self.seqs.discard(self.floor)

    def add(self, seqs: Iterable[int]) -> None:
        new = [s for s in seqs if s not in self]
        if not new:
            return
        self.seqs.update(new)
        self._raise_floor()
        if self._file is None and self.path is not None:
            self._file = self.path.open("a", encoding="ascii")
        if self._file is not None:
            self._file.write("".join(f"{s}\n" for s in new))
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


async def ensure_stream(js: JetStreamContext, name: str, subjects: list[str]) -> None:
    """Create the stream if it does not exist (a restarted node finds it there)."""
    try:
        await js.stream_info(name)
    except nats.js.errors.NotFoundError:
        await js.add_stream(
            StreamConfig(
                name=name,
                subjects=subjects,
                storage=StorageType.FILE,
                duplicate_window=DUPLICATE_WINDOW_S,
            )
        )


async def pull_consumer(
    js: JetStreamContext, stream: str, subject: str, ack_wait_s: float = ACK_WAIT_S
) -> JetStreamContext.PullSubscription:
    """The stream's durable pull consumer `node` (created at the first start)."""
    config = ConsumerConfig(
        durable_name=CONSUMER,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=ack_wait_s,
        max_deliver=-1,
        max_ack_pending=MAX_ACK_PENDING,
    )
    return await js.pull_subscribe(subject, durable=CONSUMER, stream=stream, config=config)


async def fetch_some(
    sub: JetStreamContext.PullSubscription, batch: int = 256, timeout_s: float = 0.2
) -> list[Msg]:
    """What the consumer has, up to `batch` messages; none after `timeout_s` of nothing."""
    try:
        return await sub.fetch(batch, timeout=timeout_s)
    except (nats.errors.TimeoutError, TimeoutError):
        return []


class JetStreamBus:
    """One nation's `Bus` on JetStream (see the module doc)."""

    def __init__(
        self,
        nation: str,
        policy: ReleasePolicy,
        clock_s: Callable[[], float],
        links: Mapping[tuple[str, str], LinkQuality] | None = None,
        seed: int = 0,
        ledger: ProcessedLedger | None = None,
        ack_wait_s: float = ACK_WAIT_S,
    ) -> None:
        self.nation = nation
        self.policy = policy
        self.ack_wait_s = ack_wait_s
        self.clock_s = clock_s
        self.links = dict(links or {})
        self.seed = seed
        self.ledger = ledger or ProcessedLedger(None)
        #: Messages stored before this process started, delivered to it for the first time.
        self.started_unix_s = time.time()
        self.counts = BusCounts()
        self.partners = [n for n in policy.nations if n != nation]
        self._outbox: list[_Outgoing] = []
        #: Per receiver that stopped acknowledging: its messages, in order, being resent.
        self._held: dict[str, list[_Outgoing]] = {}
        self._resending: dict[str, asyncio.Task[None]] = {}
        self._resend_stopped = False
        #: Fetched, not yet handed to the node; during a stage, what the stage may take.
        self._pending: list[_Incoming] = []
        self._staged: list[_Incoming] = []
        self._taken: list[_Incoming] = []
        self._in_flight: set[int] = set()
        #: Highest stage-end marker's cycle received per (sender, kind).
        self.marker_cycle: dict[tuple[str, str], int] = {}
        self._rngs: dict[str, np.random.Generator] = {}
        #: The link stream sequence numbers of what the last `receive` returned, in order
        #: (a recording keeps them: `network/recording.py`).
        self.last_received_seqs: list[int] = []
        self.js: JetStreamContext | None = None
        self._sub: JetStreamContext.PullSubscription | None = None

    # ------------------------------------------------------------ the Bus protocol

    def publish(
        self, sender: str, receiver: str, payload: bytes, sent_s: float, kind: MessageKind
    ) -> None:
        if sender != self.nation:
            raise ValueError(f"the {self.nation} node's bus cannot publish as {sender}")
        link = f"{sender}->{receiver}"
        quality = self.links.get((sender, receiver), LinkQuality())
        if quality.loss_probability > 0.0 and self._rng(link).random() < quality.loss_probability:
            self.counts.lost[link] += 1
            return
        try:
            seq: int | str = _SEQ_DECODER.decode(payload).seq
        except (msgspec.DecodeError, msgspec.ValidationError):
            seq = f"x{len(self._outbox)}-{os.getpid()}"
        self._outbox.append(
            _Outgoing(
                link_subject(receiver, sender, kind),
                payload,
                {
                    HEADER_MSG_ID: message_id(sender, receiver, kind, seq),
                    HEADER_SENT_S: repr(float(sent_s)),
                },
                link,
            )
        )

    def receive(self, receiver: str, until_s: float) -> list[Envelope]:
        if receiver != self.nation:
            return []
        due = [m for m in self._staged if m.due_s <= until_s]
        self._staged = [m for m in self._staged if m.due_s > until_s]
        due.sort(key=lambda m: (m.due_s, m.stream_seq))
        self._taken.extend(due)
        self.last_received_seqs = [m.stream_seq for m in due]
        for m in due:
            self.counts.delivered[f"{m.envelope.sender}->{receiver}"] += 1
        return [m.envelope for m in due]

    # ------------------------------------------------------------ the driver's side

    async def start(self, js: JetStreamContext) -> None:
        """The node's link stream and its durable consumer (created if absent)."""
        self.js = js
        stream = link_stream(self.nation)
        await ensure_stream(js, stream, [f"ap.link.{self.nation}.>"])
        self.ledger.forget_below(int((await js.stream_info(stream)).state.first_seq))
        self._sub = await pull_consumer(js, stream, f"ap.link.{self.nation}.>", self.ack_wait_s)

    def end_stage(self, kind: MessageKind, cycle: int) -> None:
        """Queue the stage-end markers of a stage that published `kind` for `cycle`."""
        for receiver in sends_to(self.policy, self.nation, kind):
            self._outbox.append(
                _Outgoing(
                    link_subject(receiver, self.nation, kind),
                    b"",
                    {
                        HEADER_MSG_ID: message_id(
                            self.nation, receiver, kind, f"end{cycle}-{os.getpid()}"
                        ),
                        HEADER_STAGE_END: str(cycle),
                    },
                    "",
                )
            )

    @property
    def unsent(self) -> int:
        """Messages published but not yet acknowledged by their receiver's stream."""
        return len(self._outbox) + sum(len(q) for q in self._held.values())

    def unreachable(self) -> list[str]:
        """The receivers whose messages are being resent in the background."""
        return sorted(self._held)

    async def flush(self) -> None:
        """Publish the outbox, each message until its PubAck, in order per receiver, the
        receivers concurrently. A receiver that cannot be reached now (its messages not
        acknowledged after `PUBLISH_ATTEMPTS`, e.g. its server's link cut) keeps its rest,
        in order: a background task resends the first with the same message id until it
        is acknowledged, then the others; meanwhile later flushes queue that receiver's
        messages behind them and do not wait for it, so it holds up no one else."""
        js = self._require_js()
        by_receiver: dict[str, list[_Outgoing]] = {}
        for out in self._outbox:
            by_receiver.setdefault(out.subject.split(".")[2], []).append(out)
        self._outbox = []
        ready: list[tuple[str, list[_Outgoing]]] = []
        for receiver, outs in by_receiver.items():
            if receiver in self._held:
                held = self._held[receiver]
                held.extend(outs)
                # The first is being resent: the next oldest go.
                excess = len(held) - MAX_HELD_PER_RECEIVER
                if excess > 0:
                    del held[1 : 1 + excess]
                    self.counts.dropped_held[receiver] += excess
            else:
                ready.append((receiver, outs))
        await asyncio.gather(*(self._send_in_order(js, r, outs) for r, outs in ready))

    async def drain(self, timeout_s: float) -> bool:
        """Wait (at most `timeout_s`) for the background resends; whether all were acknowledged."""
        tasks = list(self._resending.values())
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)
        return not self._held

    def stop_resending(self) -> None:
        # Told as well as cancelled: a cancellation can be swallowed (see NodeService.run).
        self._resend_stopped = True
        for task in self._resending.values():
            task.cancel()
        self._resending.clear()

    async def _send_in_order(
        self, js: JetStreamContext, receiver: str, outs: list[_Outgoing]
    ) -> None:
        for i, out in enumerate(outs):
            if not await self._publish_one(js, out):
                self._held[receiver] = outs[i:]
                self.counts.receivers_unreachable[receiver] += 1
                self._resending[receiver] = asyncio.create_task(self._resend(js, receiver))
                return

    async def _resend(self, js: JetStreamContext, receiver: str) -> None:
        """Resend `receiver`'s held messages in order, each until acknowledged."""
        delay_s = 0.1
        queue = self._held[receiver]
        try:
            while queue and not self._resend_stopped:
                try:
                    acked = await self._attempt(js, queue[0])
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a closed or reconnecting connection: try again
                    log.debug("%s: resend to %s failed (%r)", self.nation, receiver, exc)
                    acked = False
                if acked:
                    queue.pop(0)
                    self.counts.resent[receiver] += 1
                    delay_s = 0.1
                    continue
                await asyncio.sleep(delay_s)
                delay_s = min(2 * delay_s, 1.0)
            if not queue:
                del self._held[receiver]
                log.info("%s: %s acknowledges again", self.nation, receiver)
        finally:
            self._resending.pop(receiver, None)

    async def _publish_one(self, js: JetStreamContext, out: _Outgoing) -> bool:
        delay_s = 0.05
        for attempt in range(PUBLISH_ATTEMPTS):
            started = time.monotonic()
            if await self._attempt(js, out):
                return True
            timed_out = time.monotonic() - started >= 0.9 * PUBLISH_TIMEOUT_S
            if timed_out or attempt == PUBLISH_ATTEMPTS - 1:
                log.warning("%s: %s not acknowledged yet", self.nation, out.subject)
                return False
            await asyncio.sleep(delay_s)
            delay_s *= 2
        return False

    async def _attempt(self, js: JetStreamContext, out: _Outgoing) -> bool:
        """One publication with the message's id; whether its PubAck came."""
        try:
            ack = await js.publish(
                out.subject, out.payload, timeout=PUBLISH_TIMEOUT_S, headers=out.headers
            )
        except (nats.errors.TimeoutError, nats.js.errors.NoStreamResponseError):
            self.counts.publish_retries += 1
            return False
        if ack.duplicate:
            self.counts.duplicate_publications += 1
        if out.link:
            self.counts.published[out.link] += 1
            self.counts.bytes_published[out.link] += len(out.payload)
        else:
            self.counts.markers_sent += 1
        return True

    async def pump(self, batch: int = 256, timeout_s: float = 0.2) -> int:
        """Fetch what has arrived on the link stream; the number of messages fetched."""
        if self._sub is None:
            raise RuntimeError("JetStreamBus.start first")
        msgs = await fetch_some(self._sub, batch, timeout_s)
        for msg in msgs:
            await self._arrived(msg)
        return len(msgs)

    async def _arrived(self, msg: Msg) -> None:
        meta = msg.metadata
        seq = int(meta.sequence.stream)
        if seq in self._in_flight:
            self.counts.redelivered_in_flight += 1
            return
        if meta.num_delivered > 1:
            self.counts.redelivered_after_restart += 1
        elif meta.timestamp is not None and meta.timestamp.timestamp() < self.started_unix_s:
            self.counts.queued_before_start += 1
        if seq in self.ledger:
            self.counts.deduplicated_after_restart += 1
            await msg.ack()
            return
        parts = msg.subject.split(".")
        kinds = {k.value for k in MessageKind}
        if (
            len(parts) != 5
            or parts[:2] != ["ap", "link"]
            or parts[2] != self.nation
            or parts[3] not in self.partners
            or parts[4] not in kinds
        ):
            self.counts.refused["subject"] += 1
            log.warning("%s refused a message on %s", self.nation, msg.subject)
            self.ledger.add([seq])
            await msg.ack()
            return
        sender, kind = parts[3], parts[4]
        headers = msg.headers or {}
        if HEADER_STAGE_END in headers:
            try:
                cycle = int(headers[HEADER_STAGE_END])
            except ValueError:
                cycle = -1
            key = (sender, kind)
            self.marker_cycle[key] = max(self.marker_cycle.get(key, -1), cycle)
            self.counts.markers_received += 1
            self.ledger.add([seq])
            await msg.ack()
            return
        try:
            sent_s = float(headers.get(HEADER_SENT_S, "nan"))
        except ValueError:
            sent_s = math.nan
        now_s = self.clock_s()
        if not math.isfinite(sent_s):
            sent_s = now_s  # the node reads the stamp inside the payload and judges it
        elif sent_s > now_s + MAX_SENT_AHEAD_S:
            # A stamp far ahead would hold the message (kept alive) for ever, never judged.
            self.counts.refused["sent_s_ahead"] += 1
            sent_s = now_s
        latency = self.links.get((sender, self.nation), LinkQuality()).latency_s
        envelope = Envelope(sender, self.nation, sent_s, now_s, bytes(msg.data))
        self._in_flight.add(seq)
        self._pending.append(_Incoming(msg, seq, envelope, sent_s + latency))

    def begin_stage(self) -> None:
        """What has arrived so far becomes what the stage's `receive` may take: the stage
        may then run in another thread while `pump` goes on fetching."""
        self._staged.extend(self._pending)
        self._pending = []

    async def settle(self) -> int:
        """Ledger, then acknowledge, every message the node took in the stage just ended."""
        self._pending[:0] = self._staged
        self._staged = []
        taken, self._taken = self._taken, []
        if not taken:
            return 0
        self.ledger.add(m.stream_seq for m in taken)
        for m in taken:
            await m.msg.ack()
            self._in_flight.discard(m.stream_seq)
        return len(taken)

    async def keep_alive(self) -> None:
        """Tell JetStream the messages still held are being worked on (their ack wait starts
        again), so a node behind the clock is not sent them again and again."""
        for m in [*self._pending, *self._staged]:
            await m.msg.in_progress()

    def markers_missing(self, kind: MessageKind, cycle: int, senders: Iterable[str]) -> list[str]:
        """The senders whose stage-end marker for `cycle` (or later) has not arrived."""
        return [s for s in senders if self.marker_cycle.get((s, kind), -1) < cycle]

    def pending(self) -> int:
        return len(self._pending) + len(self._staged)

    def _require_js(self) -> JetStreamContext:
        if self.js is None:
            raise RuntimeError("JetStreamBus.start first")
        return self.js

    def _rng(self, link: str) -> np.random.Generator:
        if link not in self._rngs:
            self._rngs[link] = stream_rng(self.seed, "link", link)
        return self._rngs[link]


@dataclass
class _SensorBatch:
    msg: Msg
    stream_seq: int
    rows: Table
    #: Rows not yet handed to the node (a mask over `rows`).
    left: np.ndarray


class SensorInbox:
    """The node's own sensors' reports from `NATION_SENSORS`, handed out by report time."""

    def __init__(self, nation: str, sensor_ids: Iterable[str], ledger: ProcessedLedger) -> None:
        self.nation = nation
        self.sensor_ids = frozenset(sensor_ids)
        self.ledger = ledger
        self.counts: Counter[str] = Counter()
        self._batches: list[_SensorBatch] = []
        self._in_flight: set[int] = set()
        self._done: list[_SensorBatch] = []
        self._sub: JetStreamContext.PullSubscription | None = None
        #: The latest feed tick: reports up to this time have all been published.
        self.feed_time_s = -math.inf

    async def start(self, js: JetStreamContext) -> None:
        stream = sensor_stream(self.nation)
        await ensure_stream(js, stream, [f"ap.sensor.{self.nation}.>"])
        self.ledger.forget_below(int((await js.stream_info(stream)).state.first_seq))
        self._sub = await pull_consumer(js, stream, f"ap.sensor.{self.nation}.>")

    async def pump(self, batch: int = 512, timeout_s: float = 0.2) -> int:
        if self._sub is None:
            raise RuntimeError("SensorInbox.start first")
        msgs = await fetch_some(self._sub, batch, timeout_s)
        for msg in msgs:
            await self._arrived(msg)
        return len(msgs)

    async def _arrived(self, msg: Msg) -> None:
        seq = int(msg.metadata.sequence.stream)
        if seq in self._in_flight:
            return
        if seq in self.ledger:
            self.counts["deduplicated_after_restart"] += 1
            await msg.ack()
            return
        parts = msg.subject.split(".")
        if len(parts) == 4 and parts[2] == self.nation and parts[3] == FEED_TICK_TOKEN:
            try:
                tick_s = float((msg.headers or {}).get(HEADER_FEED_TICK, "nan"))
            except ValueError:
                tick_s = math.nan
            if math.isfinite(tick_s):
                self.feed_time_s = max(self.feed_time_s, tick_s)
            self.ledger.add([seq])
            await msg.ack()
            return
        reason = ""
        rows: Table = {}
        if len(parts) != 4 or parts[2] != self.nation or parts[3] not in self.sensor_ids:
            reason = "unknown_sensor"
        else:
            try:
                message = decode(bytes(msg.data))
            except MessageError as exc:
                reason = exc.reason
            else:
                if not isinstance(message, PlotBatch):
                    reason = "not_plots"
                elif any(s != parts[3] for s in message.sensor_id):
                    reason = "sensor_not_subject"
                else:
                    rows = plots_table(message)
        if reason:
            self.counts[f"refused_{reason}"] += 1
            log.warning("%s refused sensor message on %s: %s", self.nation, msg.subject, reason)
            self.ledger.add([seq])
            await msg.ack()
            return
        self.counts["batches"] += 1
        n = len(rows["time_s"])
        self.counts["reports"] += n
        self._in_flight.add(seq)
        self._batches.append(_SensorBatch(msg, seq, rows, np.ones(n, dtype=bool)))

    def take(self, until_s: float) -> Table | None:
        """Every report with a time at or before `until_s` not yet taken, in time order,
        with the columns `stream_seq` and `batch_row` (int64): which stored batch and which
        of its rows each report is (a recording exports a report taken twice once)."""
        parts: list[Table] = []
        keep: list[_SensorBatch] = []
        for b in self._batches:
            sel = b.left & (np.asarray(b.rows["time_s"], dtype=np.float64) <= until_s)
            if sel.any():
                index = np.flatnonzero(sel)
                parts.append(
                    {c: v[sel] for c, v in b.rows.items()}
                    | {
                        "stream_seq": np.full(index.size, b.stream_seq, dtype=np.int64),
                        "batch_row": index.astype(np.int64),
                    }
                )
                b.left &= ~sel
            (keep if b.left.any() else self._done).append(b)
        self._batches = keep
        if not parts:
            return None
        rows = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
        order = np.argsort(rows["time_s"], kind="stable")
        return {c: v[order] for c, v in rows.items()}

    async def keep_alive(self) -> None:
        """As `JetStreamBus.keep_alive`, for the report batches still held."""
        for b in list(self._batches):
            await b.msg.in_progress()

    async def settle(self) -> None:
        """Ledger and acknowledge the batches whose every report the node has taken."""
        done, self._done = self._done, []
        self.ledger.add(b.stream_seq for b in done)
        for b in done:
            await b.msg.ack()
            self._in_flight.discard(b.stream_seq)

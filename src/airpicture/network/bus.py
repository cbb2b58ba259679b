"""The bus between national nodes: a Protocol, and its in-process implementation.

A node only ever calls `publish(sender, receiver, payload, sent_s)` and
`receive(receiver, until_s)`, with opaque bytes (`messages.encode`). That is
the whole contract, so a NATS JetStream bus drops in without touching a node:

* `publish` → `js.publish(f"airpicture.{receiver}.{sender}", payload)` on a
  stream per receiving nation (durable: a node that restarts replays it);
* `receive` → fetch from the receiver's durable pull consumer on
  `airpicture.{receiver}.>`, the sender taken from the subject;
* NATS accounts then enforce on the server what the nodes enforce themselves:
  a nation's credentials may publish only on subjects naming it as sender, and
  subscribe only to subjects naming it as receiver.

`Envelope.sender` is the sender as the *transport* knows it (the subject, or
here the caller of `publish`): a node refuses a message whose claimed sender
differs. Not implemented yet: the NATS bus itself (docs/design.md).

The in-process bus is deterministic: each link delays every message by its
latency and loses it with its loss probability, drawn from a random stream
named after the link (scenario seed), and delivers in (arrival time,
publication order) — no threads, no wall clock.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from airpicture.network.messages import MessageKind
from airpicture.scenario import Scenario
from airpicture.sim.targets import stream_rng


@dataclass(frozen=True)
class Envelope:
    """One delivered message."""

    #: The sender as the transport authenticated it.
    sender: str
    receiver: str
    sent_s: float
    arrival_s: float
    payload: bytes


class Bus(Protocol):
    """What a node needs of the network."""

    def publish(
        self, sender: str, receiver: str, payload: bytes, sent_s: float, kind: MessageKind
    ) -> None: ...

    def receive(self, receiver: str, until_s: float) -> list[Envelope]:
        """Every message for `receiver` that has arrived by `until_s`, in arrival order."""
        ...


@dataclass(frozen=True)
class LinkQuality:
    latency_s: float = 0.0
    loss_probability: float = 0.0


def scenario_links(scenario: Scenario) -> dict[tuple[str, str], LinkQuality]:
    """(from, to) → latency and loss from the scenario's `links:` (absent pairs: perfect)."""
    out: dict[tuple[str, str], LinkQuality] = {}
    for link in scenario.links:
        for to in scenario.link_receivers(link):
            out[(link.from_nation, to)] = LinkQuality(link.latency_s, link.loss_probability)
    return out


@dataclass
class LinkCounts:
    sent: Counter[str] = field(default_factory=Counter)
    lost: Counter[str] = field(default_factory=Counter)
    delivered: Counter[str] = field(default_factory=Counter)
    bytes_sent: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, dict[str, int]]:
        links = sorted(set(self.sent) | set(self.delivered))
        return {
            name: {
                "sent": self.sent[name],
                "lost": self.lost[name],
                "delivered": self.delivered[name],
                "bytes_sent": self.bytes_sent[name],
            }
            for name in links
        }


class InProcessBus:
    """The default bus: one process, deterministic, latency and loss per link."""

    def __init__(
        self, links: Mapping[tuple[str, str], LinkQuality] | None = None, seed: int = 0
    ) -> None:
        self.links = dict(links or {})
        self.seed = seed
        self.counts = LinkCounts()
        self._queues: dict[str, list[tuple[float, int, Envelope]]] = {}
        self._order = 0
        self._rngs: dict[tuple[str, str], np.random.Generator] = {}

    def publish(
        self, sender: str, receiver: str, payload: bytes, sent_s: float, kind: MessageKind
    ) -> None:
        name = f"{sender}->{receiver}"
        quality = self.links.get((sender, receiver), LinkQuality())
        self.counts.sent[name] += 1
        self.counts.bytes_sent[name] += len(payload)
        if quality.loss_probability > 0.0 and self._rng(sender, receiver).random() < (
            quality.loss_probability
        ):
            self.counts.lost[name] += 1
            return
        arrival = sent_s + quality.latency_s
        self._push(Envelope(sender, receiver, sent_s, arrival, payload))

    def inject(self, envelope: Envelope) -> None:
        """Put any bytes on the bus as if the transport had delivered them (for tests)."""
        self._push(envelope)

    def receive(self, receiver: str, until_s: float) -> list[Envelope]:
        queue = self._queues.get(receiver, [])
        out: list[Envelope] = []
        while queue and queue[0][0] <= until_s:
            out.append(heapq.heappop(queue)[2])
        for envelope in out:
            self.counts.delivered[f"{envelope.sender}->{receiver}"] += 1
        return out

    def pending(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def _push(self, envelope: Envelope) -> None:
        queue = self._queues.setdefault(envelope.receiver, [])
        heapq.heappush(queue, (envelope.arrival_s, self._order, envelope))
        self._order += 1

    def _rng(self, sender: str, receiver: str) -> np.random.Generator:
        key = (sender, receiver)
        if key not in self._rngs:
            self._rngs[key] = stream_rng(self.seed, "link", f"{sender}->{receiver}")
        return self._rngs[key]


class KeepingBus(InProcessBus):
    """The in-process bus, keeping every payload published, before the link's loss:
    `published` holds (sender, receiver, payload), in order. For tools and tests that
    read what crossed the network (the signed frames)."""

    def __init__(
        self, links: Mapping[tuple[str, str], LinkQuality] | None = None, seed: int = 0
    ) -> None:
        super().__init__(links, seed)
        self.published: list[tuple[str, str, bytes]] = []

    def publish(
        self, sender: str, receiver: str, payload: bytes, sent_s: float, kind: MessageKind
    ) -> None:
        self.published.append((sender, receiver, payload))
        super().publish(sender, receiver, payload, sent_s, kind)

"""Liveness: when a node says it is alive, and what it makes of its partners' silence.

**Saying it.** Every message a partner receives from a node is a sign of life. On a
link that has carried nothing for `heartbeat_interval_s`, the node sends a small
`messages.Heartbeat` (signed, sequenced per link, checked like any other message).
Whether one goes depends only on the node's clock and on what went on *that* link
(`HeartbeatSchedule`): what a partner receives says nothing of what was or was not
sent to a third nation (docs/security.md, "No side channels"). The drivers ask at
each `tracks` stage (`NationalNode.publish_heartbeats`), after the node's tracks went:
a link that carries tracks every picture time never carries a heartbeat.

**Judging them.** Each node keeps, per partner that may send it anything
(`ReleasePolicy.link_receivers`), a `PartnerLink`: when it last heard from it (any
message whose frame and stamp were good), how many messages it took and refused, and
its `LinkState`. A partner silent for more than `partner_down_after_s` is `DOWN`;
the next good message from it brings it back `UP`. The state changes are one table
(`TRANSITIONS`, events `LinkEvent`), as the warnings' are. The node goes on with its
own picture meanwhile: a partner's tracks leave it once older than the fusion's
`max_source_age_s` (`NationalNode.fuse`), down or not.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

log = logging.getLogger(__name__)

#: A partner is down after this many heartbeat intervals of silence, unless told otherwise:
#: one lost heartbeat, or two running, is not yet an outage.
DOWN_AFTER_INTERVALS: Final = 3.0
#: Outages kept per partner (the latest); the count of all is kept besides.
MAX_OUTAGES_KEPT: Final = 64
#: Two clock readings this close are the same time (picture times are sums of floats).
_TIME_EPS_S: Final = 1e-6


def liveness_limits(
    heartbeat_interval_s: float | None,
    partner_down_after_s: float | None,
    picture_interval_s: float,
) -> tuple[float, float]:
    """The heartbeat interval and the silence after which a partner is down, s: as given,
    or the picture interval and `DOWN_AFTER_INTERVALS` of it. `ValueError` (saying which)
    unless both are positive numbers and a partner may miss a heartbeat before it is down."""
    interval_s = picture_interval_s if heartbeat_interval_s is None else heartbeat_interval_s
    down_after_s = (
        DOWN_AFTER_INTERVALS * interval_s if partner_down_after_s is None else partner_down_after_s
    )
    for name, value in (
        ("heartbeat_interval_s", interval_s),
        ("partner_down_after_s", down_after_s),
    ):
        if not (math.isfinite(value) and value > 0.0):
            raise ValueError(f"{name} must be a positive number of seconds, not {value}")
    if not down_after_s > interval_s:
        raise ValueError(
            f"partner_down_after_s ({down_after_s:g} s) must exceed the heartbeat interval "
            f"({interval_s:g} s): a partner would be marked down between two heartbeats"
        )
    return interval_s, down_after_s


class LinkState(enum.StrEnum):
    """A partner as this node sees it."""

    #: Not heard from yet, and not silent for long enough to be called down.
    WAITING = "waiting"
    UP = "up"
    #: Silent for longer than `partner_down_after_s`.
    DOWN = "down"


class LinkEvent(enum.Enum):
    #: A good message from the partner arrived.
    HEARD = "heard"
    #: The partner has been silent for longer than `partner_down_after_s`.
    SILENT = "silent"


#: (state, event) → state: every change a partner's link goes through.
TRANSITIONS: Final[dict[tuple[LinkState, LinkEvent], LinkState]] = {
    (LinkState.WAITING, LinkEvent.HEARD): LinkState.UP,
    (LinkState.WAITING, LinkEvent.SILENT): LinkState.DOWN,
    (LinkState.UP, LinkEvent.HEARD): LinkState.UP,
    (LinkState.UP, LinkEvent.SILENT): LinkState.DOWN,
    (LinkState.DOWN, LinkEvent.HEARD): LinkState.UP,
    (LinkState.DOWN, LinkEvent.SILENT): LinkState.DOWN,
}


@dataclass(frozen=True)
class Outage:
    """A partner down from `down_s` (when its silence passed the limit) to `up_s` (when it
    was heard again; None: still down). Node clock, s."""

    down_s: float
    up_s: float | None = None


@dataclass
class PartnerLink:
    """One partner's link as this node sees it (node clock, s)."""

    partner: str
    state: LinkState = LinkState.WAITING
    #: When the current state began (for WAITING: when the node began watching).
    since_s: float = 0.0
    last_heard_s: float | None = None
    #: Good messages taken from the partner (heartbeats among them), and heartbeats alone.
    messages: int = 0
    heartbeats: int = 0
    #: Messages, or items in them, refused (`NodeCounts.rejected`, this partner's share).
    refused: int = 0
    #: Times it went down, and the latest outages (at most `MAX_OUTAGES_KEPT`).
    times_down: int = 0
    outages: list[Outage] = field(default_factory=list)

    def silent_s(self, now_s: float) -> float:
        """Seconds since it was last heard (since watching began if never), at least 0."""
        heard = self.since_s if self.last_heard_s is None else self.last_heard_s
        return max(0.0, now_s - heard)

    def as_dict(self, now_s: float) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "since_s": self.since_s,
            "last_heard_s": self.last_heard_s,
            "silent_s": self.silent_s(now_s),
            "messages": self.messages,
            "heartbeats": self.heartbeats,
            "refused": self.refused,
            "times_down": self.times_down,
            "outages": [{"down_s": o.down_s, "up_s": o.up_s} for o in self.outages],
        }


class LinkMonitor:
    """Every partner's `PartnerLink` for one node; `heard` and `check` drive the table."""

    def __init__(self, nation: str, partners: Iterable[str], down_after_s: float) -> None:
        if not (math.isfinite(down_after_s) and down_after_s > 0.0):
            raise ValueError(f"partner_down_after_s must be a positive number, not {down_after_s}")
        self.nation = nation
        self.down_after_s = down_after_s
        self.links = {p: PartnerLink(p) for p in sorted(partners)}
        self._started = False
        self.now_s = 0.0

    def heard(self, partner: str, at_s: float, heartbeat: bool = False) -> None:
        """A good message from `partner`, taken at `at_s` (this node's clock)."""
        link = self.links.get(partner)
        if link is None:
            return
        link.messages += 1
        link.heartbeats += int(heartbeat)
        if link.last_heard_s is None or at_s > link.last_heard_s:
            link.last_heard_s = at_s
        self._apply(link, LinkEvent.HEARD, at_s)

    def refused(self, partner: str, count: int = 1) -> None:
        link = self.links.get(partner)
        if link is not None:
            link.refused += count

    def check(self, now_s: float) -> None:
        """Mark down every partner silent for more than `down_after_s` at `now_s`."""
        if not self._started:
            # Watching begins at the first look: a partner is given its full time.
            self._started = True
            for link in self.links.values():
                if link.last_heard_s is None:
                    link.since_s = now_s
        self.now_s = max(self.now_s, now_s)
        for link in self.links.values():
            if link.silent_s(now_s) > self.down_after_s + _TIME_EPS_S:
                heard = link.since_s if link.last_heard_s is None else link.last_heard_s
                self._apply(link, LinkEvent.SILENT, heard + self.down_after_s)

    def _apply(self, link: PartnerLink, event: LinkEvent, at_s: float) -> None:
        before = link.state
        after = TRANSITIONS[(before, event)]
        if after is before:
            return
        link.state = after
        link.since_s = at_s
        if after is LinkState.DOWN:
            link.times_down += 1
            link.outages.append(Outage(at_s))
            del link.outages[:-MAX_OUTAGES_KEPT]
            log.warning(
                "%s: %s silent for over %g s (last heard %s): marked down",
                self.nation,
                link.partner,
                self.down_after_s,
                "never" if link.last_heard_s is None else f"at {link.last_heard_s:.1f} s",
            )
        elif before is LinkState.DOWN:
            link.outages[-1] = Outage(link.outages[-1].down_s, at_s)
            log.info("%s: %s heard again at %.1f s: up", self.nation, link.partner, at_s)

    def as_dict(self) -> dict[str, Any]:
        """Per partner, its link (`PartnerLink.as_dict`) at the latest check."""
        return {p: link.as_dict(self.now_s) for p, link in self.links.items()}


class HeartbeatSchedule:
    """When a node sends a partner a heartbeat: its link idle for `interval_s`.

    What it knows of a link is only when the node last sent anything on it, so the
    schedule is a function of the node's clock and that link alone."""

    def __init__(self, receivers: Iterable[str], interval_s: float) -> None:
        if not (math.isfinite(interval_s) and interval_s > 0.0):
            raise ValueError(f"heartbeat_interval_s must be a positive number, not {interval_s}")
        self.interval_s = interval_s
        self.receivers = sorted(receivers)
        self.last_sent_s: dict[str, float] = {}
        #: Heartbeats sent per receiver.
        self.sent: dict[str, int] = {r: 0 for r in self.receivers}

    def sent_on(self, receiver: str, at_s: float) -> None:
        """Something went to `receiver` at `at_s` (node clock)."""
        last = self.last_sent_s.get(receiver)
        if last is None or at_s > last:
            self.last_sent_s[receiver] = at_s

    def due(self, now_s: float) -> list[str]:
        """The receivers whose link has carried nothing for `interval_s` (or ever)."""
        return [
            r
            for r in self.receivers
            if r not in self.last_sent_s
            or now_s - self.last_sent_s[r] >= self.interval_s - _TIME_EPS_S
        ]

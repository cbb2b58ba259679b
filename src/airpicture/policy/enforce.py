"""Enforcement of the release rules where data leaves a node, and checks where it arrives.

Every outbound path of a node goes through one `ReleaseGuard` call: plots,
tracks (their state, their `sources`, their number), warnings and the rows of
the node's own picture. The guard never trusts a marking it is handed: it
recomputes it from the sources with the policy (most restrictive wins).

On the way in, `check_received_*` say why a partner's data must be refused: an
unknown source, a source the sender cannot hold, or a releasability claim
wider than the sources allow. A refused row is dropped and counted by the node.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from airpicture.policy.markings import BoolArray, IntArray, ReleasePolicy

#: Why a received row is refused (counted by the node under these names).
UNKNOWN_SOURCE = "unknown_source"
SOURCE_NOT_HELD_BY_SENDER = "source_not_held_by_sender"
CLAIM_EXCEEDS_SOURCES = "releasability_claim_exceeds_sources"
NOT_RELEASABLE_TO_RECEIVER = "not_releasable_to_receiver"
PLOT_NOT_OWNED_BY_SENDER = "plot_not_owned_by_sender"


@dataclass
class ReleaseCounts:
    """What a node's guard let out and what it held back, per kind of data."""

    released: Counter[str] = field(default_factory=Counter)
    withheld: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {"released": dict(self.released), "withheld": dict(self.withheld)}


class ReleaseGuard:
    """The release rules of one nation's node, applied to everything it sends or shows."""

    def __init__(self, policy: ReleasePolicy, nation: str) -> None:
        self.policy = policy
        self.nation = nation
        self.counts = ReleaseCounts()
        self._holdable = policy.holdable_sensors(nation)
        self._own = policy.sensor_owner == policy.nation_index(nation)

    # ------------------------------------------------------------------ outbound

    def tracks_for(self, receiver: str, sources: BoolArray) -> BoolArray:
        """Which tracks (rows of a (K, n_sensors) source mask) may go to `receiver`.

        A track may go iff the receiver is in the marking derived from all its
        sources, and every source is one this node may hold at all (a source it
        cannot hold would mean a bug upstream — never pass it on).
        """
        marking = self.policy.derived_marking(sources)
        ok: BoolArray = marking[:, self.policy.nation_index(receiver)] & ~(
            sources & ~self._holdable
        ).any(axis=1)
        self.counts.released["tracks"] += int(ok.sum())
        self.counts.withheld["tracks"] += int((~ok).sum())
        return ok

    def plots_for(self, receiver: str, sensor_index: IntArray) -> BoolArray:
        """Which plots may go to `receiver`: only the node's own sensors', per their plot marking.

        A node never forwards a partner's plots; their owner releases them directly.
        """
        known = sensor_index >= 0
        idx = np.where(known, sensor_index, 0)
        ok: BoolArray = (
            known
            & self._own[idx]
            & self.policy.plot_marking[idx, self.policy.nation_index(receiver)]
        )
        self.counts.released["plots"] += int(ok.sum())
        self.counts.withheld["plots"] += int((~ok).sum())
        return ok

    def warning_recipients(
        self, recipients: Sequence[str], sources: BoolArray
    ) -> tuple[list[str], list[str]]:
        """(allowed, removed) recipients of a warning derived from `sources` (n_sensors,).

        A warning is a product of the track (or the detections) it is about:
        it carries their marking, and goes to nobody outside it. The issuing
        nation itself is always allowed.
        """
        marking = self.policy.derived_marking(sources[None, :])[0]
        allowed: list[str] = []
        removed: list[str] = []
        for nation in recipients:
            if nation == self.nation or (
                nation in self.policy.nations
                and marking[self.policy.nation_index(nation)]
                and not (sources & ~self._holdable).any()
            ):
                allowed.append(nation)
            else:
                removed.append(nation)
        self.counts.released["warning_recipients"] += len(allowed)
        self.counts.withheld["warning_recipients"] += len(removed)
        return allowed, removed

    def picture_sources(self, sources: BoolArray) -> BoolArray:
        """A picture's `sources` cut to sensors this nation may hold (a last line of defence)."""
        leaked = sources & ~self._holdable
        self.counts.withheld["picture_sources"] += int(leaked.sum())
        result: BoolArray = sources & self._holdable
        return result

    # ------------------------------------------------------------------ inbound

    def check_received_tracks(
        self,
        sender: str,
        sources: BoolArray,
        sources_known: BoolArray,
        claimed_marking: BoolArray,
        from_sender_plots: bool = True,
    ) -> NDArray[np.object_]:
        """Per received track, "" if acceptable, else why not (one of the reason constants).

        A partner reports only tracks its own trackers made, i.e. from the plots
        it holds (`from_sender_plots`); a warning may also derive from tracks
        the partner received, i.e. from any sensor it may hold.
        """
        policy = self.policy
        sender_holds = (
            policy.plot_sensors_of(sender) if from_sender_plots else policy.holdable_sensors(sender)
        )
        derived = policy.derived_marking(sources)
        reason = np.full(sources.shape[0], "", dtype=object)
        # Later rules override earlier ones: the most telling reason is kept.
        me = policy.nation_index(self.nation)
        reason[~claimed_marking[:, me] | ~derived[:, me]] = NOT_RELEASABLE_TO_RECEIVER
        reason[(claimed_marking & ~derived).any(axis=1)] = CLAIM_EXCEEDS_SOURCES
        reason[(sources & ~sender_holds).any(axis=1)] = SOURCE_NOT_HELD_BY_SENDER
        reason[~sources_known | ~sources.any(axis=1)] = UNKNOWN_SOURCE
        return reason

    def check_received_plots(self, sender: str, sensor_index: IntArray) -> NDArray[np.object_]:
        """Per received plot, "" if acceptable, else why not."""
        policy = self.policy
        known = sensor_index >= 0
        idx = np.where(known, sensor_index, 0)
        reason = np.full(sensor_index.shape[0], "", dtype=object)
        reason[~policy.plot_marking[idx, policy.nation_index(self.nation)]] = (
            NOT_RELEASABLE_TO_RECEIVER
        )
        reason[policy.sensor_owner[idx] != policy.nation_index(sender)] = PLOT_NOT_OWNED_BY_SENDER
        reason[~known] = UNKNOWN_SOURCE
        return reason

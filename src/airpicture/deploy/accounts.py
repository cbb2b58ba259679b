"""Per-nation NATS accounts: subjects, users' permissions, and the links between accounts.

Each nation is one account; nothing crosses accounts except through a
*service export/import* pair per allowed (sender, receiver, kind), derived
from the scenario's release rules (`airpicture.policy`):

* the receiver's account exports `ap.link.RECEIVER.SENDER.KIND` to the sender's
  account only, and the sender's account imports it under the same subject;
* the receiver's stream `RECEIVER_LINK` captures `ap.link.RECEIVER.>`, so a
  sender's JetStream publish lands there and its PubAck returns through the import.

A pair exists iff the release rules let the sender give that kind to the receiver:
* plots: some sensor the sender owns has the receiver in its plot marking
  (a node never forwards a partner's plots: `ReleaseGuard.plots_for`);
* tracks: some sensor the sender may hold has the receiver in its track marking
  (a track's marking is the intersection of its sources' markings, so a track
  from that sensor alone may go: `ReleaseGuard.tracks_for`);
* warnings: the same test, as a warning carries the marking of the track or
  detections it is about (`ReleaseGuard.warning_recipients`);
* heartbeat: any of the above (`ReleasePolicy.link_receivers`): a node tells each
  partner it links to that it is alive when the link has been idle
  (`network.liveness`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from airpicture.policy import ReleasePolicy
from airpicture.scenario import Scenario

#: The kinds of partner message, as `airpicture.network.messages.MessageKind` spells them.
LINK_KINDS: tuple[str, ...] = ("plots", "tracks", "warnings", "heartbeat")

Role = Literal["node", "feed"]
ROLES: tuple[Role, ...] = ("node", "feed")


def sensor_subject(nation: str, sensor_id: str = ">") -> str:
    """Where a nation's sensor publishes its report batches."""
    return f"ap.sensor.{nation}.{sensor_id}"


def link_subject(receiver: str, sender: str, kind: str) -> str:
    """Where `sender` publishes a `kind` message for `receiver` (lands in RECEIVER_LINK)."""
    return f"ap.link.{receiver}.{sender}.{kind}"


def node_subject(nation: str, rest: str = ">") -> str:
    """A nation's internal subjects (picture, warnings, status): never exported."""
    return f"ap.node.{nation}.{rest}"


def sensors_stream(nation: str) -> str:
    return f"{nation}_SENSORS"


def link_stream(nation: str) -> str:
    return f"{nation}_LINK"


#: The durable pull consumer a receiving node reads its link stream with.
LINK_CONSUMER = "node"


def message_id(sender: str, receiver: str, kind: str, seq: int) -> str:
    """`Nats-Msg-Id` of a partner message: JetStream drops a re-publication within its window."""
    return f"{sender}.{receiver}.{kind}.{seq}"


def feed_inbox_prefix(nation: str) -> str:
    """The reply-subject prefix of a nation's feeds (so a feed cannot read its node's replies)."""
    return f"_INBOX_FEED_{nation}"


@dataclass(frozen=True, order=True)
class Route:
    """One allowed (sender → receiver, kind) link: the receiver exports it, the sender imports."""

    sender: str
    receiver: str
    kind: str

    @property
    def subject(self) -> str:
        return link_subject(self.receiver, self.sender, self.kind)


def routes(scenario: Scenario) -> list[Route]:
    """Every link the scenario's release rules allow, sorted."""
    policy = ReleasePolicy.from_scenario(scenario)
    out: list[Route] = []
    for sender in policy.nations:
        plots = policy.plot_receivers(sender)
        tracks = policy.track_receivers(sender)
        for receiver in policy.link_receivers(sender):
            r = policy.nation_index(receiver)
            if plots[r]:
                out.append(Route(sender, receiver, "plots"))
            if tracks[r]:
                out.append(Route(sender, receiver, "tracks"))
                out.append(Route(sender, receiver, "warnings"))
            # Any link at all: the sender says it is alive on it when it is idle.
            out.append(Route(sender, receiver, "heartbeat"))
    return sorted(out)


def user_permissions(nation: str, role: Role, all_routes: list[Route]) -> dict[str, Any]:
    """What a user may publish and subscribe to inside its nation's account.

    Everything not allowed is refused by the server with a permissions violation.
    The node may not publish into its own link stream (a forged partner message)
    nor on any link subject its account does not import.
    """
    if role == "feed":
        return {
            "publish": {"allow": [sensor_subject(nation)]},
            "subscribe": {"allow": [f"{feed_inbox_prefix(nation)}.>"]},
        }
    imported = [r.subject for r in all_routes if r.sender == nation]
    return {
        "publish": {
            "allow": [
                node_subject(nation),
                sensor_subject(nation),
                *imported,
                "$JS.API.>",
                "$JS.ACK.>",
                "$JS.FC.>",
                "$KV.>",
                "_INBOX.>",
            ]
        },
        "subscribe": {
            "allow": [
                node_subject(nation),
                sensor_subject(nation),
                f"ap.link.{nation}.>",
                "$KV.>",
                "_INBOX.>",
            ]
        },
    }


def account_block(
    nation: str,
    users: dict[Role, str],
    all_routes: list[Route],
    *,
    jetstream: bool = True,
    links: bool = True,
    extra_users: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One account of the server configuration: its users (by NKey), exports and imports.

    `links=False` leaves out the exports/imports (a nation's own server in the
    multi-server form, where they live at the hub).
    """
    block: dict[str, Any] = {
        "jetstream": "enabled" if jetstream else "disabled",
        "users": [
            {
                "nkey": users[role],
                "permissions": user_permissions(nation, role, all_routes),
                # A client only: its seed cannot open a leaf-node connection (which would
                # carry its account's traffic under leaf rules instead of these permissions).
                "allowed_connection_types": ["STANDARD"],
            }
            for role in ROLES
        ]
        + (extra_users or []),
    }
    if not links:
        return block
    block["exports"] = [
        {"service": r.subject, "accounts": [r.sender]} for r in all_routes if r.receiver == nation
    ]
    block["imports"] = [
        {"service": {"account": r.receiver, "subject": r.subject}}
        for r in all_routes
        if r.sender == nation
    ]
    return block

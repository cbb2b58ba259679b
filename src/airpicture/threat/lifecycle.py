"""An alert's life cycle: its states, the events that move it, and the one table between them.

Everything that affects an alert's state lives here (as h11's `_state.py` does
for HTTP): an alert is a ballistic threat with its launch notice, or a cruise
missile heading for an asset. The assessor (`assessor.py`) decides *when* an
event happens; this module alone decides what the event does. An event not in
`TRANSITIONS` for the current state raises `LifecycleError`.

    NEW ──LaunchDeclared──► LAUNCH_DETECTED ──Tracked──► TRACKED ──NoPrediction──► REPORTED
    TRACKED | REPORTED ──ImpactAreaIssued──► WARNED ──UpdateIssued──► UPDATED …
    WARNED | UPDATED ──PassedOver──► OVERFLIGHT ──FellAtSea / Impacted──► FELL / IMPACT
    NEW ──AssetThreatened──► WARNED            (a cruise missile within reach of an asset)
    any open state ──Cancelled──► CANCELLED

The table, with the reason for each row: docs/threat.md ("Life cycle").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, Final

from airpicture.threat.warning import Kind


class State(StrEnum):
    """Where an alert stands: what has been said about it so far."""

    #: Nothing said yet (a threat seen by radar, not yet reported).
    NEW = "new"
    #: A launch notice went out; no track of the missile is held.
    LAUNCH_DETECTED = "launch_detected"
    #: A ballistic track carries the alert; no impact area yet.
    TRACKED = "tracked"
    #: Tracked, and said so (`missile_tracked`): no usable impact prediction.
    REPORTED = "reported"
    #: The impact area (or, for a cruise missile, the asset threat) went out.
    WARNED = "warned"
    #: At least one update followed.
    UPDATED = "updated"
    #: The missile has passed over an allied territory.
    OVERFLIGHT = "overflight"
    #: Closed: fell at sea, hit land (or reached its asset), cancelled.
    FELL = "fell"
    IMPACT = "impact"
    CANCELLED = "cancelled"


#: States an alert never leaves.
CLOSED: Final = frozenset({State.FELL, State.IMPACT, State.CANCELLED})
#: States in which the alert has told its recipients where the missile will fall.
WARNED_STATES: Final = frozenset({State.WARNED, State.UPDATED, State.OVERFLIGHT})


@dataclass(frozen=True)
class Event:
    """Something that happened to an alert. `kind`: the warning row it issues (None: no row)."""

    kind: ClassVar[Kind | None] = None


@dataclass(frozen=True)
class LaunchDeclared(Event):
    kind: ClassVar[Kind | None] = "launch"


@dataclass(frozen=True)
class Tracked(Event):
    """A ballistic track took the alert (a new threat, or one linked to a launch)."""


@dataclass(frozen=True)
class NoPrediction(Event):
    kind: ClassVar[Kind | None] = "missile_tracked"


@dataclass(frozen=True)
class ImpactAreaIssued(Event):
    kind: ClassVar[Kind | None] = "impact_area"


@dataclass(frozen=True)
class AssetThreatened(Event):
    kind: ClassVar[Kind | None] = "asset_threat"


@dataclass(frozen=True)
class UpdateIssued(Event):
    kind: ClassVar[Kind | None] = "update"


@dataclass(frozen=True)
class PassedOver(Event):
    kind: ClassVar[Kind | None] = "passed_over"


@dataclass(frozen=True)
class FellAtSea(Event):
    kind: ClassVar[Kind | None] = "fell_at_sea"


@dataclass(frozen=True)
class Impacted(Event):
    kind: ClassVar[Kind | None] = "impact"


@dataclass(frozen=True)
class Cancelled(Event):
    kind: ClassVar[Kind | None] = "cancelled"


EVENTS: Final[tuple[type[Event], ...]] = (
    LaunchDeclared, Tracked, NoPrediction, ImpactAreaIssued, AssetThreatened, UpdateIssued,
    PassedOver, FellAtSea, Impacted, Cancelled,
)  # fmt: skip

_S = State
#: (state, event) → next state. Nothing else moves an alert.
TRANSITIONS: Final[Mapping[tuple[State, type[Event]], State]] = {
    (_S.NEW, LaunchDeclared): _S.LAUNCH_DETECTED,
    (_S.NEW, Tracked): _S.TRACKED,
    (_S.NEW, AssetThreatened): _S.WARNED,
    (_S.NEW, Cancelled): _S.CANCELLED,
    (_S.LAUNCH_DETECTED, Tracked): _S.TRACKED,
    (_S.LAUNCH_DETECTED, Cancelled): _S.CANCELLED,
    # A launch's alert may pass from a lost track's threat to the track that takes over.
    (_S.TRACKED, Tracked): _S.TRACKED,
    (_S.TRACKED, NoPrediction): _S.REPORTED,
    (_S.TRACKED, ImpactAreaIssued): _S.WARNED,
    (_S.TRACKED, Cancelled): _S.CANCELLED,
    (_S.REPORTED, Tracked): _S.REPORTED,
    (_S.REPORTED, ImpactAreaIssued): _S.WARNED,
    (_S.REPORTED, Cancelled): _S.CANCELLED,
    (_S.WARNED, UpdateIssued): _S.UPDATED,
    (_S.WARNED, PassedOver): _S.OVERFLIGHT,
    (_S.WARNED, FellAtSea): _S.FELL,
    (_S.WARNED, Impacted): _S.IMPACT,
    (_S.WARNED, Cancelled): _S.CANCELLED,
    (_S.UPDATED, UpdateIssued): _S.UPDATED,
    (_S.UPDATED, PassedOver): _S.OVERFLIGHT,
    (_S.UPDATED, FellAtSea): _S.FELL,
    (_S.UPDATED, Impacted): _S.IMPACT,
    (_S.UPDATED, Cancelled): _S.CANCELLED,
    (_S.OVERFLIGHT, UpdateIssued): _S.UPDATED,
    (_S.OVERFLIGHT, PassedOver): _S.OVERFLIGHT,
    (_S.OVERFLIGHT, FellAtSea): _S.FELL,
    (_S.OVERFLIGHT, Impacted): _S.IMPACT,
    (_S.OVERFLIGHT, Cancelled): _S.CANCELLED,
}


class LifecycleError(RuntimeError):
    """An event that cannot happen to an alert in `state` (a bug in the caller)."""

    def __init__(self, warning_id: str, state: State, event: type[Event]) -> None:
        self.warning_id = warning_id
        self.state = state
        self.event = event
        super().__init__(f"alert {warning_id}: {event.__name__} cannot happen in state {state}")


def next_state(state: State, event: type[Event], warning_id: str = "") -> State:
    """The state after `event`; `LifecycleError` when the table has no such row."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise LifecycleError(warning_id, state, event) from None


@dataclass
class Alert:
    """One alert's state, the count of its rows, and every nation told of it.

    `recipients` only grows: a closing row goes to every nation that received
    any row of the alert, so that no nation keeps a banner its issuer closed.
    """

    warning_id: str
    state: State = State.NEW
    sequence: int = 0
    recipients: tuple[str, ...] = ()
    #: (time, state) after every event, for analysis and tests.
    history: list[tuple[float, State]] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return self.state in CLOSED

    @property
    def warned(self) -> bool:
        """Whether an impact area (or asset threat) has gone out."""
        return self.state in WARNED_STATES

    @property
    def said_anything(self) -> bool:
        return self.sequence > 0

    def apply(self, event: type[Event], time_s: float) -> State:
        """Move the alert on `event`; count the row it issues, if any."""
        self.state = next_state(self.state, event, self.warning_id)
        if event.kind is not None:
            self.sequence += 1
        self.history.append((time_s, self.state))
        return self.state

    def tell(self, recipients: tuple[str, ...]) -> tuple[str, ...]:
        """Remember `recipients` as told; the closing rows' recipients are every one so far."""
        self.recipients = (*self.recipients, *(r for r in recipients if r not in self.recipients))
        return self.recipients

"""WebSocket messages between the COP server and a browser: msgspec structs, sans-I/O.

Every message is one binary WebSocket frame holding one JSON object whose
`type` field names it. Server → browser: `hello` (once, first), `frame`
(a picture delta), `warnings`, `clock`, `acks` (who acknowledged which alert),
`links` (the node's links to its partner nations, live node pages), `history` (one
track's past, asked for), `error`. Browser → server: `control` (the replay time
controls), `ack` (an operator acknowledges an alert) and `history` (the detail panel
asks for a track's whole history) only; anything else is refused.

`encode(msg) -> bytes` and `decode_client(bytes) -> ClientMessage` are the
only ways in and out, so the wire format lives in this one module (docs/web.md,
"Protocol").
"""

from __future__ import annotations

from typing import Any, Final, Literal

import msgspec

from airpicture.threat.warning import Warning

PROTOCOL_VERSION: Final = 1
#: Largest browser → server message accepted (a control message is ~60 bytes).
MAX_CLIENT_MESSAGE_BYTES: Final = 1024


class SensorSite(msgspec.Struct, frozen=True, omit_defaults=True):
    """A sensor the session's nation may know of: where it is and what it covers."""

    id: str
    nation: str
    type: str
    lat_deg: float
    lon_deg: float
    alt_m: float = 0.0
    min_range_m: float | None = None
    max_range_m: float | None = None
    boresight_az_deg: float | None = None
    half_width_deg: float | None = None


class Place(msgspec.Struct, frozen=True, omit_defaults=True):
    """A named place, or (with `radius_m`) a defended asset."""

    name: str
    lat_deg: float
    lon_deg: float
    nation: str | None = None
    radius_m: float | None = None


class MapLayer(msgspec.Struct, frozen=True, omit_defaults=True):
    """A GeoJSON layer (`layers/NAME.geojson` in the run folder): its name, colour, data."""

    name: str
    geojson: dict[str, object]
    color: str | None = None


class Hello(msgspec.Struct, frozen=True, tag="hello", tag_field="type"):
    """What the session is: who signed in, which picture, and the run's fixed facts."""

    version: int
    user: str
    viewer: str
    mode: Literal["replay", "live"]
    scenario: str
    epoch: str
    start_s: float
    end_s: float
    picture_interval_s: float
    fusion: str
    sensors: list[SensorSite]
    assets: list[Place]
    places: list[Place]
    #: The server records operators' acknowledgements (`ack` messages): the page sends them.
    acknowledgements: bool = False
    #: GeoJSON layers of the run (airspace, ADIZ, FIR, exercise areas), drawn as given.
    layers: list[MapLayer] = msgspec.field(default_factory=list)


class TrackMeta(msgspec.Struct, frozen=True, array_like=True):
    """The slowly changing part of a track, sent when it is new or has changed.

    On the wire an array: `[track_id, cls, identity, sources, cls_confidence, start_s]`;
    `start_s` is when the track first appeared in the viewer's served picture (its real
    start, not when a browser first saw it; null when unknown).
    """

    track_id: str
    cls: str
    identity: str
    sources: tuple[str, ...]
    cls_confidence: float | None = None
    start_s: float | None = None


class Frame(msgspec.Struct, frozen=True, tag="frame", tag_field="type"):
    """One picture update as a delta against the previous frame sent on this socket.

    Kinematics are column arrays over `ids` (every track of the picture moves,
    so every track is in them); `meta` holds only tracks that are new or whose
    class, identity, sources or confidence changed; `removed` the tracks gone.
    `reset` means: forget every track first (first frame, or after a jump).
    `produced_ms` is the server's wall clock (ms since 1970) when the picture
    was produced, for measuring display latency.
    """

    seq: int
    time_s: float
    reset: bool
    produced_ms: float
    ids: list[str]
    lat_deg: list[float]
    lon_deg: list[float]
    alt_m: list[float]
    vel_e_mps: list[float]
    vel_n_mps: list[float]
    vel_u_mps: list[float]
    meta: list[TrackMeta]
    removed: list[str]
    #: True while the server replays the frames before a jump's target to fill trails.
    catchup: bool = False
    #: The track's quality where the picture has it (else absent): 1σ horizontal position
    #: error (m, the larger of east and north), 1σ altitude error (m), seconds since the
    #: track's last update by any sensor; NaN (null) for a track without it.
    sigma_h_m: list[float] | None = None
    sigma_u_m: list[float] | None = None
    age_s: list[float] | None = None


class Warnings(msgspec.Struct, frozen=True, tag="warnings", tag_field="type"):
    """Warnings issued to the session's nation (warnings.jsonl objects), oldest first."""

    reset: bool
    items: list[Warning]


class Clock(msgspec.Struct, frozen=True, tag="clock", tag_field="type"):
    """The session's playback clock: scenario time shown, speed, paused, how far data goes."""

    time_s: float
    speed: float
    paused: bool
    following_live: bool
    head_s: float
    end_s: float


class Acknowledgement(msgspec.Struct, frozen=True):
    """An operator's acknowledgement of an alert: who, of which viewer, at which scenario
    time (the session's), and when (wall clock, UTC)."""

    warning_id: str
    user: str
    viewer: str
    time_s: float
    wall_utc: str


class Acknowledgements(msgspec.Struct, frozen=True, tag="acks", tag_field="type"):
    """Every acknowledgement made by the session's viewer's operators, oldest first."""

    items: list[Acknowledgement]


#: `network.liveness.LinkState`'s values, spelled here so that the page's server does not
#: import the node (a test checks they are the same).
LinkStateName = Literal["waiting", "up", "down"]


class PartnerLink(msgspec.Struct, frozen=True):
    """One partner nation's link as the serving node sees it (`network/liveness.py`):
    `up`, `down` (silent for longer than the node's limit) or `waiting` (not heard yet),
    since when, and when it was last heard (null: never). Scenario seconds."""

    nation: str
    state: LinkStateName
    since_s: float
    last_heard_s: float | None


class Links(msgspec.Struct, frozen=True, tag="links", tag_field="type"):
    """The serving node's links to its partner nations at `time_s` (its latest look),
    sent when they are looked at again: not the browser's connection to this server."""

    time_s: float
    down_after_s: float
    partners: list[PartnerLink]


class TrackHistory(msgspec.Struct, frozen=True, tag="history", tag_field="type"):
    """One track's past in the session's picture, oldest first, as far as the session's
    time (the answer to a `HistoryRequest`; `web/history.py`). Columns over the points;
    `speed_mps` is the speed over the ground and up (what the panel shows); `spacing_s` the
    least time between two points (0: every picture), which grows as a long life is
    thinned. Empty columns: the picture holds no such track."""

    track_id: str
    time_s: list[float]
    lat_deg: list[float]
    lon_deg: list[float]
    alt_m: list[float]
    speed_mps: list[float]
    spacing_s: float = 0.0


class Error(msgspec.Struct, frozen=True, tag="error", tag_field="type"):
    """Why the server refused a message or is closing the socket."""

    code: str
    message: str


class EncodedFrame(msgspec.Struct, frozen=True):
    """A `Frame` already encoded: one encoding shared by every session that is sent it."""

    data: bytes


ServerMessage = (
    Hello
    | Frame
    | Warnings
    | Clock
    | Acknowledgements
    | Links
    | TrackHistory
    | Error
    | EncodedFrame
)


class Control(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A time control: `pause`, `play`, `speed` (value: ×), `seek` (value: s), `live`.

    `type` is an explicit field (not a msgspec tag) so that a message without it is refused.
    """

    type: Literal["control"]
    op: Literal["pause", "play", "speed", "seek", "live"]
    value: float | None = None


#: Longest warning id an acknowledgement may name.
MAX_WARNING_ID_CHARS: Final = 128


class Acknowledge(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An operator acknowledges the alert `warning_id` (browser → server)."""

    type: Literal["ack"]
    warning_id: str


#: Longest track id a history request may name (track numbers are `TN` and a few digits).
MAX_TRACK_ID_CHARS: Final = 64


class HistoryRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The detail panel asks for `track_id`'s whole history (browser → server); answered
    with a `TrackHistory` from the session's own picture only."""

    type: Literal["history"]
    track_id: str


ClientMessage = Control | Acknowledge | HistoryRequest


class _Kind(msgspec.Struct):
    type: str = ""


class ProtocolError(ValueError):
    """A browser message that is not a valid `control` message."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(problem)


_encoder: Final = msgspec.json.Encoder()
_client_decoder: Final = msgspec.json.Decoder(Control)
_ack_decoder: Final = msgspec.json.Decoder(Acknowledge)
_history_decoder: Final = msgspec.json.Decoder(HistoryRequest)
_kind_decoder: Final = msgspec.json.Decoder(_Kind)
#: The browser messages that name one thing, by type: their decoder, what they are, an
#: example, the field that names the thing and its longest length.
_NAMED: Final[dict[str, tuple[msgspec.json.Decoder[Any], str, str, str, int]]] = {
    "ack": (
        _ack_decoder,
        "an acknowledgement",
        '{"type": "ack", "warning_id": "..."}',
        "warning_id",
        MAX_WARNING_ID_CHARS,
    ),
    "history": (
        _history_decoder,
        "a history request",
        '{"type": "history", "track_id": "..."}',
        "track_id",
        MAX_TRACK_ID_CHARS,
    ),
}

MAX_SPEED: Final = 1000.0


def encode(message: ServerMessage) -> bytes:
    """The wire bytes of a server message (JSON; NaN becomes null)."""
    if isinstance(message, EncodedFrame):
        return message.data
    return _encoder.encode(message)


def decode_client(data: bytes | str) -> ClientMessage:
    """Parse and check a browser message, or raise `ProtocolError` saying what is wrong."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_CLIENT_MESSAGE_BYTES:
        raise ProtocolError(
            f"message of {len(raw)} bytes; at most {MAX_CLIENT_MESSAGE_BYTES} are accepted"
        )
    try:
        kind = _kind_decoder.decode(raw).type
    except msgspec.DecodeError:
        kind = ""
    named = _NAMED.get(kind)
    if named is not None:
        decoder, what, example, field, longest = named
        try:
            message: Acknowledge | HistoryRequest = decoder.decode(raw)
        except msgspec.DecodeError as exc:
            raise ProtocolError(f"not {what} ({exc}); expected {example}") from exc
        if not 0 < len(getattr(message, field)) <= longest:
            raise ProtocolError(f"{field} must have 1 to {longest} characters")
        return message
    try:
        control = _client_decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise ProtocolError(
            f"not a control message ({exc}); expected e.g. "
            '{"type": "control", "op": "seek", "value": 120}'
        ) from exc
    if control.op in ("speed", "seek"):
        value = control.value
        if value is None or value != value or value in (float("inf"), float("-inf")):
            raise ProtocolError(f"control '{control.op}' needs a finite number in 'value'")
        if control.op == "speed" and not 0.0 < value <= MAX_SPEED:
            raise ProtocolError(f"speed {value} is outside (0, {MAX_SPEED:g}]")
    return control

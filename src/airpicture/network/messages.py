"""Wire messages between national nodes: versioned msgspec structs, sans-I/O codecs.

Four kinds, told apart by their `type` tag: a batch of tracks, a batch of
plots, a batch of warnings, and a heartbeat (the sender is alive; sent on a link
that has been idle: `network/liveness.py`). Arrays travel column-wise (one list per field,
states and covariances flattened), so encoding costs one call per batch, not
one per track. `encode(message) -> bytes` and `decode(bytes) -> message` are
pure; `decode` raises `MessageError` (never anything else) for bytes that are
not a well-formed message of a version this code reads.

Versioning: every message carries `version`. A reader accepts the versions in
`READABLE_VERSIONS`; fields it does not know are ignored (msgspec's default),
so a newer sender may add fields without breaking older readers, and a change
that would mislead an older reader bumps the version.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Final

import msgspec
import numpy as np
from numpy.typing import NDArray

from airpicture.fusion import SourceTracks
from airpicture.geo import WGS84_A_M
from airpicture.tables import PLOTS_SCHEMA, Table, empty_table, mode3a_column
from airpicture.threat.classify import CLASSES
from airpicture.threat.warning import Warning
from airpicture.tracking.view import UPDATE_KINDS

#: Version written by this code, and versions it can read.
MESSAGE_VERSION: Final = 1
READABLE_VERSIONS: Final = frozenset({1})

#: The largest message a node decodes, bytes: far above a region's track batch (about
#: 300 bytes a track), far below what would strain a node's memory.
MAX_MESSAGE_BYTES: Final = 64 * 2**20

#: Number of values of one 6×6 covariance's upper triangle.
TRIANGLE_6: Final = 21
_UPPER: Final = np.triu_indices(6)

#: Report columns a plot batch carries: the plots table's (`tables.PLOTS_SCHEMA`) but
#: `nation` (the batch's sender, said once) and `target_id` (truth, for evaluation only:
#: never sent to a partner).
PLOT_COLUMNS: Final = tuple(f.name for f in PLOTS_SCHEMA if f.name not in ("nation", "target_id"))
#: The array type of each of them (float64, or object for strings), as the plots table has it.
_PLOT_DTYPES: Final = {c: v.dtype for c, v in empty_table(PLOTS_SCHEMA).items()}
#: Plot columns added after version 1: an older sender leaves them empty (all NaN, or
#: all "" for a string column).
_DEFAULTED_PLOT_COLUMNS: Final = frozenset({"pressure_alt_m", "mode3a"})

FloatArray = NDArray[np.float64]

# What a partner may put in the fields that become fixed-size arrays on receipt
# (`tracks_of`): anything longer or larger is refused at decoding (a `MessageError`,
# counted), never truncated or overflowed later in the node.
#: A tracker's name ("USA.0"): with "/" and a track id it makes a 64-character key.
Origin = Annotated[str, msgspec.Meta(max_length=15)]
TrackId = Annotated[str, msgspec.Meta(max_length=48)]
#: An ADS-B identity (Mode S address or callsign), as the tracker holds it.
Ident = Annotated[str, msgspec.Meta(max_length=16)]
#: A Mode 3/A code: 4 octal digits, or "" where there is none.
Mode3A = Annotated[str, msgspec.Meta(pattern=r"^([0-7]{4})?$")]
#: A network track number: a non-negative int64.
TrackNumber = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
#: Any other integer a partner sends: an int64 (a larger one would overflow where it
#: becomes an array or a C long; found by bench/fuzz.py).
Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]


class TrackBatch(msgspec.Struct, frozen=True, kw_only=True, tag="tracks"):
    """Every track one tracker of the sender releases to the receiver, at one time.

    A batch is complete: a track of `origin` missing from it has ended (or is
    no longer releasable to the receiver).
    """

    version: Int64 = MESSAGE_VERSION
    sender: str
    #: The sender's tracker ("USA.0"): track ids are unique per origin.
    origin: Origin
    seq: Int64
    #: Time of every state in the batch (seconds since the scenario epoch).
    time_s: float
    mode_names: list[str]
    track_id: list[TrackId]
    #: Network track number the sender holds for each track (0: not numbered yet),
    #: and when that number was first given (for dual-numbering resolution).
    number: list[TrackNumber]
    number_created_s: list[float]
    #: ECEF state, 6 per track: x, y, z (m), vx, vy, vz (m/s).
    x_ecef: list[float]
    #: Covariance upper triangle, 21 per track, row by row.
    P_upper: list[float]
    #: IMM mode probabilities, len(mode_names) per track.
    mode_probabilities: list[float]
    cls: list[str]
    identity: list[str]
    ident: list[Ident]
    #: Track quality 0 (worst) … 15 (best), Link 16 style, from the position error.
    quality: list[Int64]
    #: Sensors that contributed to each track.
    sources: list[list[str]]
    #: Nations each track may reach (its marking, most restrictive of its sources).
    releasable_to: list[list[str]]
    #: When each track was last updated, 4 per track: by any sensor, by a 3D radar, a 2D
    #: radar, ADS-B (`tracking.view.UPDATE_KINDS`; −inf: never). Added after version 1
    #: without a bump: an older sender's batch has none (read as never).
    updated_s: list[float] = msgspec.field(default_factory=list)
    #: Mode C pressure altitude (m, NaN none) and Mode 3/A code ("" none) the track last
    #: had, one per track; added the same way (an older batch: none).
    pressure_alt_m: list[float] = msgspec.field(default_factory=list)
    mode3a: list[Mode3A] = msgspec.field(default_factory=list)


class PlotBatch(msgspec.Struct, frozen=True, kw_only=True, tag="plots"):
    """Raw reports of the sender's own sensors released to the receiver (plot-level release)."""

    version: Int64 = MESSAGE_VERSION
    sender: str
    seq: Int64
    #: When the batch was sent; every plot is at or before it.
    sent_s: float
    time_s: list[float]
    sensor_id: list[str]
    range_m: list[float]
    az_deg: list[float]
    el_deg: list[float]
    range_rate_mps: list[float]
    lat_deg: list[float]
    lon_deg: list[float]
    alt_m: list[float]
    ident: list[Ident]
    #: Mode C pressure altitude (NaN where absent). Added after version 1 without a
    #: bump: an older sender's batch lacks it and decodes to [] (read as all NaN),
    #: and an older reader ignores it (a 2D radar's plots then stay 2D there).
    pressure_alt_m: list[float] = msgspec.field(default_factory=list)
    #: Mode 3/A code ("" where absent); added the same way (an older batch: all "").
    mode3a: list[Mode3A] = msgspec.field(default_factory=list)
    #: Plot marking of each sensor present in the batch.
    releasable_to: dict[str, list[str]]


class WarningBatch(msgspec.Struct, frozen=True, kw_only=True, tag="warnings"):
    """Warnings the sender's threat assessment issued to the receiver."""

    version: Int64 = MESSAGE_VERSION
    sender: str
    seq: Int64
    sent_s: float
    #: The warning rows (`threat.warning.Warning`: the warnings.jsonl objects, field for
    #: field, so the wire form is the msgpack map it was as a dict; no version bump).
    warnings: list[Warning]
    #: Sensors each warning derives from, and its marking.
    sources: list[list[str]]
    releasable_to: list[list[str]]


class Heartbeat(msgspec.Struct, frozen=True, kw_only=True, tag="heartbeat"):
    """The sender is alive: sent on a link that carried nothing else for the sender's
    heartbeat interval (`network/liveness.py`). Its `seq` is the link's, like any other
    message's, so it is signed, checked for replays and counted the same way."""

    version: Int64 = MESSAGE_VERSION
    sender: str
    seq: Int64
    sent_s: float


Message = TrackBatch | PlotBatch | WarningBatch | Heartbeat


class MessageKind(enum.StrEnum):
    """What a message carries: its `type` tag, and the last token of its NATS subject."""

    TRACKS = "tracks"
    PLOTS = "plots"
    WARNINGS = "warnings"
    HEARTBEAT = "heartbeat"


_KIND_OF: Final[dict[type[Any], MessageKind]] = {
    TrackBatch: MessageKind.TRACKS,
    PlotBatch: MessageKind.PLOTS,
    WarningBatch: MessageKind.WARNINGS,
    Heartbeat: MessageKind.HEARTBEAT,
}


def kind_of(message: Message) -> MessageKind:
    return _KIND_OF[type(message)]


_ENCODER: Final = msgspec.msgpack.Encoder()
_DECODER: Final = msgspec.msgpack.Decoder(Message)


class MessageError(ValueError):
    """Bytes that are not a readable message; `reason` is a short counter name."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


def encode(message: Message) -> bytes:
    return _ENCODER.encode(message)


def decode(payload: bytes) -> Message:
    """Decode and check one message; raise `MessageError` on anything malformed."""
    if len(payload) > MAX_MESSAGE_BYTES:
        raise MessageError(
            "too_large", f"{len(payload):,} bytes; a message is at most {MAX_MESSAGE_BYTES:,}"
        )
    try:
        message: Message = _DECODER.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MessageError("decode_failure", str(exc)) from None
    except RecursionError:
        # An unknown field is skipped recursively: nesting deep enough exhausts the stack.
        raise MessageError("too_deep", "values nested deeper than the stack allows") from None
    if message.version not in READABLE_VERSIONS:
        raise MessageError(
            "unknown_version",
            f"version {message.version}; this node reads {sorted(READABLE_VERSIONS)}",
        )
    problem = _shape_problem(message)
    if problem:
        raise MessageError("malformed", problem)
    return message


def _shape_problem(message: Message) -> str | None:
    """Why the columns of a message do not fit together, or None."""
    if isinstance(message, TrackBatch):
        n = len(message.track_id)
        m = len(message.mode_names)
        expected = {
            "number": n,
            "number_created_s": n,
            "x_ecef": 6 * n,
            "P_upper": TRIANGLE_6 * n,
            "mode_probabilities": m * n,
            "cls": n,
            "identity": n,
            "ident": n,
            "quality": n,
            "sources": n,
            "releasable_to": n,
        }
        for name, size in expected.items():
            if len(getattr(message, name)) != size:
                return f"{name} has {len(getattr(message, name))} values for {n} tracks"
        if message.updated_s and len(message.updated_s) != len(UPDATE_KINDS) * n:
            return f"updated_s has {len(message.updated_s)} values for {n} tracks"
        for name in ("pressure_alt_m", "mode3a"):
            if getattr(message, name) and len(getattr(message, name)) != n:
                return f"{name} has {len(getattr(message, name))} values for {n} tracks"
        if not math.isfinite(message.time_s):
            return "time_s is not finite"
        if not np.isfinite(np.asarray(message.x_ecef, dtype=np.float64)).all():
            return "a state value is not finite"
        if not np.isfinite(np.asarray(message.P_upper, dtype=np.float64)).all():
            return "a covariance value is not finite"
        return None
    if isinstance(message, PlotBatch):
        n = len(message.time_s)
        for name in PLOT_COLUMNS:
            if name in _DEFAULTED_PLOT_COLUMNS and not getattr(message, name):
                continue
            if len(getattr(message, name)) != n:
                return f"{name} has {len(getattr(message, name))} values for {n} plots"
        return None
    if isinstance(message, Heartbeat):
        return None  # its stamp is judged with the frame's (`NationalNode._fresh`)
    n = len(message.warnings)
    if len(message.sources) != n or len(message.releasable_to) != n:
        return f"sources/releasable_to do not match the {n} warnings"
    return None


# ---------------------------------------------------------------- plausibility
# What a well-formed message may still say that no sensor or tracker could: refused per
# track or plot, by reason (the node counts them), before anything of it is used. The
# bounds are generous (a ballistic missile's apogee, a geostationary sensor's range):
# they stop absurd values, not rare ones.

#: A track state's distance from the Earth's centre, m: below the deepest point of the
#: WGS-84 ellipsoid less 100 km, above an IRBM's apogee and then some (6,000 km up).
MIN_TRACK_RADIUS_M: Final = 6_356_752.0 - 100_000.0
MAX_TRACK_RADIUS_M: Final = WGS84_A_M + 6_000_000.0
#: A track's speed, m/s (orbital speed is 7.9 km/s).
MAX_TRACK_SPEED_MPS: Final = 12_000.0
#: Largest variance of a track's position (σ 10,000 km) and velocity (σ 100 km/s).
MAX_POSITION_VARIANCE_M2: Final = 1e14
MAX_VELOCITY_VARIANCE_M2PS2: Final = 1e10
IDENTITIES: Final = ("friend", "neutral", "hostile", "unknown")
#: Plot values: [low, high], NaN allowed where a sensor does not measure it.
PLOT_RANGES: Final[dict[str, tuple[float, float]]] = {
    "range_m": (0.0, 1e8),
    "az_deg": (-360.0, 360.0),
    "el_deg": (-90.0, 90.0),
    "range_rate_mps": (-20_000.0, 20_000.0),
    "lat_deg": (-90.0, 90.0),
    "lon_deg": (-180.0, 360.0),
    "alt_m": (-12_000.0, 6_000_000.0),
    "pressure_alt_m": (-2_000.0, 30_000.0),
}


def track_problems(batch: TrackBatch) -> NDArray[np.str_]:
    """Per track of a decoded batch, why it is implausible ("" if it is not).

    State finite, within `MIN/MAX_TRACK_RADIUS_M` of the Earth's centre and below
    `MAX_TRACK_SPEED_MPS`; covariance finite, bounded and positive definite (it is
    symmetric by construction: rebuilt from its upper triangle); mode probabilities
    in [0, 1]; a claimed number's time not after the batch; quality 0…15; class and
    identity from their vocabularies.
    """
    n = len(batch.track_id)
    reason = np.full(n, "", dtype="U32")
    if n == 0:
        return reason
    x = np.asarray(batch.x_ecef, dtype=np.float64).reshape(n, 6)
    P = from_upper_triangle(np.asarray(batch.P_upper, dtype=np.float64).reshape(n, TRIANGLE_6))
    mu = np.asarray(batch.mode_probabilities, dtype=np.float64).reshape(n, -1)
    created = np.asarray(batch.number_created_s, dtype=np.float64)
    quality = np.asarray(batch.quality, dtype=np.int64)

    def mark(bad: Any, why: str) -> None:
        reason[np.asarray(bad, dtype=bool) & (reason == "")] = why

    with np.errstate(invalid="ignore", over="ignore"):
        radius = np.linalg.norm(x[:, :3], axis=1)
        speed = np.linalg.norm(x[:, 3:], axis=1)
        mark(~np.isfinite(x).all(axis=1), "state_not_finite")
        mark((radius < MIN_TRACK_RADIUS_M) | (radius > MAX_TRACK_RADIUS_M), "position_implausible")
        mark(speed > MAX_TRACK_SPEED_MPS, "speed_implausible")
        diag = np.diagonal(P, axis1=1, axis2=2)
        finite_P = np.isfinite(P).all(axis=(1, 2))
        mark(~finite_P, "covariance_not_finite")
        mark(
            (diag[:, :3] > MAX_POSITION_VARIANCE_M2).any(axis=1)
            | (diag[:, 3:] > MAX_VELOCITY_VARIANCE_M2PS2).any(axis=1),
            "covariance_too_large",
        )
        # positive definite: the smallest eigenvalue of the (symmetric) P above zero
        spd = np.zeros(n, dtype=bool)
        if finite_P.any():
            spd[finite_P] = np.linalg.eigvalsh(P[finite_P])[:, 0] > 0.0
        mark(~spd, "covariance_not_positive")
        mark(~(np.isfinite(mu) & (mu >= 0.0) & (mu <= 1.0)).all(axis=1), "mode_probability")
        mark(~(np.isfinite(created) & (created <= batch.time_s)), "number_time")
    mark((quality < 0) | (quality > 15), "quality")
    mark(~np.isin(np.asarray(batch.cls, dtype=object), CLASSES), "unknown_class")
    mark(~np.isin(np.asarray(batch.identity, dtype=object), IDENTITIES), "unknown_identity")
    return reason


def plot_problems(batch: PlotBatch) -> NDArray[np.str_]:
    """Per plot of a decoded batch, why it is implausible: a value outside `PLOT_RANGES`
    (NaN is allowed: not measured) or infinite ("" if none)."""
    n = len(batch.time_s)
    reason = np.full(n, "", dtype="U32")
    table = plots_table(batch)
    with np.errstate(invalid="ignore"):
        for column, (low, high) in PLOT_RANGES.items():
            v = np.asarray(table[column], dtype=np.float64)
            bad = ~np.isnan(v) & ~((v >= low) & (v <= high))
            reason[bad & (reason == "")] = f"{column}_implausible"
    return reason


# ---------------------------------------------------------------- tables ⇄ messages
# The node holds tracks and plots as arrays (batch axis first); the wire holds them as
# one flat list per field. These pure functions are the only place that converts.


def quality_of(P: FloatArray) -> NDArray[np.int64]:
    """Link-16-style track quality 0…15 from the 1σ position error σ (m) of `P (N, 6, 6)`.

    TQ = 15 − 1.5 log2(σ / 10 m), clipped: 10 m → 15, 1 km → 5, ≥ 10 km → 0.
    """
    # σ = √(trace of the position block)
    sigma = np.sqrt(np.maximum(np.trace(P[:, :3, :3], axis1=1, axis2=2), 1e-6))
    tq = np.rint(15.0 - 1.5 * np.log2(np.maximum(sigma, 10.0) / 10.0))
    result: NDArray[np.int64] = np.clip(tq, 0, 15).astype(np.int64)
    return result


def upper_triangle(P: FloatArray) -> FloatArray:
    """`(N, 21)`: each 6×6 covariance's upper triangle, row by row (`TrackBatch.P_upper`)."""
    return P[:, _UPPER[0], _UPPER[1]]


def from_upper_triangle(P_upper: FloatArray) -> FloatArray:
    """`(N, 6, 6)` symmetric covariances from their upper triangles `(N, 21)`.

    P = U + triu(U, 1)ᵀ, U the upper triangle filled in (the diagonal taken once).
    """
    n = P_upper.shape[0]
    U = np.zeros((n, 6, 6))
    U[:, _UPPER[0], _UPPER[1]] = P_upper
    # P = U + (strictly upper part of U)ᵀ
    P: FloatArray = U + np.triu(U, 1).transpose(0, 2, 1)
    return P


def track_batch_from_tracks(
    tracks: SourceTracks,
    *,
    sender: str,
    origin: str,
    seq: int,
    time_s: float,
    mode_names: Sequence[str],
    cls: Iterable[str],
    identity: Iterable[str],
    sources: Iterable[Iterable[str]],
    releasable_to: Iterable[Iterable[str]],
) -> TrackBatch:
    """The message of one tracker's tracks (`tracks.key` is "origin/track id").

    The claimed network numbers are `tracks.claim_number` / `claim_created_s` as given
    (the sender zeroes those it may not tell the receiver); quality comes from `P`.
    """
    prefix = len(origin) + 1
    return TrackBatch(
        sender=sender,
        origin=origin,
        seq=seq,
        time_s=time_s,
        mode_names=list(mode_names),
        track_id=[k[prefix:] for k in tracks.key.tolist()],
        number=tracks.claim_number.tolist(),
        number_created_s=tracks.claim_created_s.tolist(),
        x_ecef=tracks.x.ravel().tolist(),
        P_upper=upper_triangle(tracks.P).ravel().tolist(),
        mode_probabilities=tracks.mode_probabilities.ravel().tolist(),
        cls=[str(c) for c in cls],
        identity=[str(i) for i in identity],
        ident=tracks.ident.tolist(),
        quality=quality_of(tracks.P).tolist(),
        sources=[list(s) for s in sources],
        releasable_to=[list(r) for r in releasable_to],
        updated_s=tracks.updated_s.ravel().tolist(),
        pressure_alt_m=tracks.pressure_alt_m.tolist(),
        mode3a=tracks.mode3a.tolist(),
    )


def tracks_of(batch: TrackBatch) -> SourceTracks:
    """Every track of a (decoded, hence well-shaped) batch, as received source tracks.

    Keys are "origin/track id"; covariances are made whole from their upper triangles.
    """
    n = len(batch.track_id)
    ids = np.asarray(batch.track_id, dtype="U48").reshape(n)
    return SourceTracks(
        key=np.char.add(f"{batch.origin}/", ids).astype("U64"),
        origin=np.full(n, batch.origin, dtype="U32"),
        local=np.zeros(n, dtype=bool),
        time_s=np.full(n, batch.time_s),
        x=np.asarray(batch.x_ecef, dtype=np.float64).reshape(n, 6),
        P=from_upper_triangle(np.asarray(batch.P_upper, dtype=np.float64).reshape(n, TRIANGLE_6)),
        mode_probabilities=np.asarray(batch.mode_probabilities, dtype=np.float64).reshape(
            n, len(batch.mode_names)
        ),
        claim_number=np.asarray(batch.number, dtype=np.int64).reshape(n),
        claim_created_s=np.asarray(batch.number_created_s, dtype=np.float64).reshape(n),
        ident=np.asarray(batch.ident, dtype="U16").reshape(n),
        updated_s=_updated_of(batch, n),
        pressure_alt_m=_pressure_alt_of(batch, n),
        mode3a=np.asarray(batch.mode3a, dtype="U4").reshape(n)
        if len(batch.mode3a) == n
        else np.full(n, "", dtype="U4"),
    )


def _pressure_alt_of(batch: TrackBatch, n: int) -> NDArray[np.float64]:
    """A batch's Mode C altitudes `(n,)`: NaN where not told, and where no report could
    say it (the bounds the plots' own pressure altitude is checked against)."""
    if len(batch.pressure_alt_m) != n:
        return np.full(n, np.nan)
    told = np.asarray(batch.pressure_alt_m, dtype=np.float64)
    lo, hi = PLOT_RANGES["pressure_alt_m"]
    return np.where((told >= lo) & (told <= hi), told, np.nan)


def _updated_of(batch: TrackBatch, n: int) -> NDArray[np.float64]:
    """A batch's update times `(n, 4)`: never (−inf) where not told (or NaN, +inf), and
    none later than the batch's own time (a partner cannot make a picture's ages negative)."""
    k = len(UPDATE_KINDS)
    if len(batch.updated_s) != k * n:
        return np.full((n, k), -np.inf)
    told = np.asarray(batch.updated_s, dtype=np.float64).reshape(n, k)
    return np.minimum(
        np.nan_to_num(told, nan=-np.inf, posinf=-np.inf, neginf=-np.inf), batch.time_s
    )


def plot_batch_from_table(
    rows: Table,
    *,
    sender: str,
    seq: int,
    sent_s: float,
    releasable_to: dict[str, list[str]],
) -> PlotBatch:
    """The message of plots-table rows (the `PLOT_COLUMNS` of `rows`; others are not sent;
    a float column added later, such as `pressure_alt_m`, is NaN if `rows` lacks it)."""
    n = len(rows["time_s"])
    rows = {**rows, "mode3a": mode3a_column(rows.get("mode3a"), n).astype(object)}
    columns: dict[str, Any] = {
        c: np.asarray(rows[c] if c in rows else np.full(n, np.nan), dtype=np.float64).tolist()
        if _PLOT_DTYPES[c] == np.float64
        else [str(v) for v in rows[c]]
        if c in rows
        else [""] * n
        for c in PLOT_COLUMNS
    }
    return PlotBatch(sender=sender, seq=seq, sent_s=sent_s, releasable_to=releasable_to, **columns)


def plots_table(batch: PlotBatch) -> Table:
    """The plots-table columns of a batch (float64, strings as object arrays)."""
    n = len(batch.time_s)
    return {
        c: np.full(n, np.nan if _PLOT_DTYPES[c] == np.float64 else "", dtype=_PLOT_DTYPES[c])
        if c in _DEFAULTED_PLOT_COLUMNS and not getattr(batch, c)
        else np.asarray(getattr(batch, c), dtype=_PLOT_DTYPES[c])
        for c in PLOT_COLUMNS
    }

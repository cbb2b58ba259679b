"""Wire messages between national nodes: versioned msgspec structs, sans-I/O codecs.

Three kinds, told apart by their `type` tag: a batch of tracks, a batch of
plots, a batch of warnings. Arrays travel column-wise (one list per field,
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

import math
from typing import Final

import msgspec
import numpy as np

from airpicture.threat.warning import Warning

#: Version written by this code, and versions it can read.
MESSAGE_VERSION: Final = 1
READABLE_VERSIONS: Final = frozenset({1})

#: Number of values of one 6×6 covariance's upper triangle.
TRIANGLE_6: Final = 21


class TrackBatch(msgspec.Struct, frozen=True, kw_only=True, tag="tracks"):
    """Every track one tracker of the sender releases to the receiver, at one time.

    A batch is complete: a track of `origin` missing from it has ended (or is
    no longer releasable to the receiver).
    """

    version: int = MESSAGE_VERSION
    sender: str
    #: The sender's tracker ("USA.0"): track ids are unique per origin.
    origin: str
    seq: int
    #: Time of every state in the batch (seconds since the scenario epoch).
    time_s: float
    mode_names: list[str]
    track_id: list[str]
    #: Network track number the sender holds for each track (0: not numbered yet),
    #: and when that number was first given (for dual-numbering resolution).
    number: list[int]
    number_created_s: list[float]
    #: ECEF state, 6 per track: x, y, z (m), vx, vy, vz (m/s).
    x_ecef: list[float]
    #: Covariance upper triangle, 21 per track, row by row.
    P_upper: list[float]
    #: IMM mode probabilities, len(mode_names) per track.
    mode_probabilities: list[float]
    cls: list[str]
    identity: list[str]
    ident: list[str]
    #: Track quality 0 (worst) … 15 (best), Link 16 style, from the position error.
    quality: list[int]
    #: Sensors that contributed to each track.
    sources: list[list[str]]
    #: Nations each track may reach (its marking, most restrictive of its sources).
    releasable_to: list[list[str]]


class PlotBatch(msgspec.Struct, frozen=True, kw_only=True, tag="plots"):
    """Raw reports of the sender's own sensors released to the receiver (plot-level release)."""

    version: int = MESSAGE_VERSION
    sender: str
    seq: int
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
    ident: list[str]
    #: Plot marking of each sensor present in the batch.
    releasable_to: dict[str, list[str]]


class WarningBatch(msgspec.Struct, frozen=True, kw_only=True, tag="warnings"):
    """Warnings the sender's threat assessment issued to the receiver."""

    version: int = MESSAGE_VERSION
    sender: str
    seq: int
    sent_s: float
    #: The warning rows (`threat.warning.Warning`: the warnings.jsonl objects, field for
    #: field, so the wire form is the msgpack map it was as a dict; no version bump).
    warnings: list[Warning]
    #: Sensors each warning derives from, and its marking.
    sources: list[list[str]]
    releasable_to: list[list[str]]


Message = TrackBatch | PlotBatch | WarningBatch

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
    try:
        message: Message = _DECODER.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MessageError("decode_failure", str(exc)) from None
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
        if not math.isfinite(message.time_s):
            return "time_s is not finite"
        if not np.isfinite(np.asarray(message.x_ecef, dtype=np.float64)).all():
            return "a state value is not finite"
        if not np.isfinite(np.asarray(message.P_upper, dtype=np.float64)).all():
            return "a covariance value is not finite"
        return None
    if isinstance(message, PlotBatch):
        n = len(message.time_s)
        for name in ("sensor_id", "range_m", "az_deg", "el_deg", "range_rate_mps", "lat_deg",
                     "lon_deg", "alt_m", "ident"):  # fmt: skip
            if len(getattr(message, name)) != n:
                return f"{name} has {len(getattr(message, name))} values for {n} plots"
        return None
    n = len(message.warnings)
    if len(message.sources) != n or len(message.releasable_to) != n:
        return f"sources/releasable_to do not match the {n} warnings"
    return None

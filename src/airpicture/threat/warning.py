"""A warning: one row of an alert's life cycle, as issued, sent and shown.

One type travels everywhere a warning goes: the assessor returns it
(`Assessment.warnings`), `warnings.jsonl` holds one per line (msgspec JSON),
the bus carries it (`network.messages.WarningBatch`), and the web page receives
it. Fields that do not apply to a kind are left at their defaults and are not
written (`omit_defaults`), so a row has the same keys as the objects described
in docs/threat.md ("Warning life cycle").

All rows of one alert share a `warning_id` and count up in `sequence`. An
alert is *active* at time t until its latest row closes it (`fell_at_sea`,
`impact`, `cancelled`) or expires (`expires_s`): `active_warnings` is that
rule, and the one place that decides which banners a nation's picture shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Final, Literal, get_args

import msgspec
import numpy as np
from numpy.typing import ArrayLike

#: Every kind of warning row (docs/threat.md, "Warning life cycle").
Kind = Literal[
    "launch",
    "missile_tracked",
    "impact_area",
    "asset_threat",
    "update",
    "passed_over",
    "fell_at_sea",
    "impact",
    "cancelled",
]
KINDS: Final[tuple[Kind, ...]] = get_args(Kind)
#: Kinds that end their alert.
CLOSING_KINDS: Final[frozenset[Kind]] = frozenset({"fell_at_sea", "impact", "cancelled"})
#: Kinds that report a predicted ballistic impact (and carry `predicted_impact`).
IMPACT_KINDS: Final[tuple[Kind, ...]] = ("impact_area", "update")


class LaunchFix(msgspec.Struct, frozen=True, kw_only=True):
    """Where and when a launch left the ground, and how sure (a launch notice)."""

    lat_deg: float
    lon_deg: float
    time_s: float
    radius_m: float
    time_sigma_s: float | None = None
    confidence: float = 0.95


class BoostReport(msgspec.Struct, frozen=True, kw_only=True):
    """One space-IR report a launch notice rests on."""

    sensor_id: str
    time_s: float


class PlaceNear(msgspec.Struct, frozen=True, kw_only=True):
    """The scenario place a warning's position is described from."""

    name: str
    distance_m: float
    bearing_deg: float


class PredictedImpact(msgspec.Struct, frozen=True, kw_only=True):
    """A predicted impact point, time and `confidence` ellipse."""

    lat_deg: float
    lon_deg: float
    time_s: float
    semi_major_m: float
    semi_minor_m: float
    orientation_deg: float
    confidence: float


#: Most points of a predicted path a warning carries (a few kB of JSON).
MAX_PATH_POINTS: Final = 64
#: One column of a path: at most `MAX_PATH_POINTS` values (a longer one, say from a
#: partner, is refused at decoding).
PathColumn = Annotated[tuple[float, ...], msgspec.Meta(max_length=MAX_PATH_POINTS)]


class PredictedPath(msgspec.Struct, frozen=True, kw_only=True):
    """The predicted trajectory to the ground (the track's best estimate flown by the impact
    predictor), as columns, oldest first: what the globe draws, so that it integrates nothing."""

    lat_deg: PathColumn
    lon_deg: PathColumn
    alt_m: PathColumn
    time_s: PathColumn


def predicted_path(
    lat_deg: ArrayLike,
    lon_deg: ArrayLike,
    alt_m: ArrayLike,
    time_s: ArrayLike,
    max_points: int = MAX_PATH_POINTS,
) -> PredictedPath | None:
    """The finite points of a path's columns `(K,)`, at most `max_points` of them, rounded to
    what they mean (1e-4° ≈ 11 m, 1 m, 0.1 s); None if fewer than two are finite.

    Thinned evenly by index, the first and last kept: the predictor's steps shorten as
    the ground nears, so the thinned path keeps most points where it bends most.
    """
    columns = [
        np.asarray(c, dtype=np.float64).reshape(-1) for c in (lat_deg, lon_deg, alt_m, time_s)
    ]
    finite = np.flatnonzero(np.logical_and.reduce([np.isfinite(c) for c in columns]))
    if finite.size < 2:
        return None
    picks = np.round(np.linspace(0.0, finite.size - 1, min(finite.size, max_points)))
    keep = finite[np.unique(picks.astype(np.intp))]
    lat, lon, alt, t = (c[keep] for c in columns)
    return PredictedPath(
        lat_deg=tuple(round(float(v), 4) for v in lat),
        lon_deg=tuple(round(float(v), 4) for v in lon),
        alt_m=tuple(round(float(v), 0) for v in alt),
        time_s=tuple(round(float(v), 1) for v in t),
    )


class Position(msgspec.Struct, frozen=True, kw_only=True):
    """A track's position when the row was issued."""

    lat_deg: float
    lon_deg: float
    alt_m: float


class Warning(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One warning row (a `warnings.jsonl` line)."""

    time_s: float
    warning_id: str
    kind: Kind
    text: str
    recipients: tuple[str, ...]
    #: The track the row is about (the launch event id for a launch notice).
    track_id: str = ""
    sequence: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] = 0
    #: The nation whose assessor issued the row (set by its node; `ALL` centrally).
    issued_by: str = ""
    #: After this time the alert is over even if no closing row arrives (None: closing row).
    expires_s: float | None = None
    launch: LaunchFix | None = None
    #: Launch events declared together with this one (a salvo), this one included.
    salvo: tuple[str, ...] = ()
    boost_reports: tuple[BoostReport, ...] = ()
    places: tuple[PlaceNear, ...] = ()
    predicted_impact: PredictedImpact | None = None
    #: With `predicted_impact` (impact_area, update): the trajectory to it.
    predicted_path: PredictedPath | None = None
    assets: tuple[str, ...] = ()
    track_position: Position | None = None
    source_tracks: tuple[str, ...] = ()
    launch_id: str = ""
    territory: str = ""
    time_to_go_s: float | None = None

    @property
    def closes(self) -> bool:
        """Whether this row ends its alert."""
        return self.kind in CLOSING_KINDS


def closing_notice(closing: Warning, recipients: tuple[str, ...]) -> Warning:
    """`closing` stripped to the fact that its alert has ended, for `recipients` that were
    told of the alert but may not receive the row itself (the release rules keep its
    latest details from them): no position, prediction, places or assets."""
    what = closing.kind.replace("_", " ")
    return Warning(
        time_s=closing.time_s,
        warning_id=closing.warning_id,
        kind=closing.kind,
        text=f"Alert {closing.warning_id} is closed ({what}).",
        recipients=recipients,
        track_id=closing.track_id,
        sequence=closing.sequence,
        issued_by=closing.issued_by,
    )


def is_active(latest: Warning, time_s: float) -> bool:
    """Whether an alert whose latest row (at or before `time_s`) is `latest` is still on."""
    return not latest.closes and (latest.expires_s is None or time_s < latest.expires_s)


def active_warnings(warnings: Iterable[Warning], time_s: float) -> list[Warning]:
    """The latest row of every alert still on at `time_s`, oldest alert first.

    Rows after `time_s` are not known yet; an alert is on until its latest row
    closes it or expires. A nation's banners are exactly these rows.
    """
    latest: dict[str, Warning] = {}
    for w in warnings:
        if w.time_s > time_s:
            continue
        held = latest.get(w.warning_id)
        if held is None or (w.time_s, w.sequence) >= (held.time_s, held.sequence):
            latest[w.warning_id] = w
    return [w for w in latest.values() if is_active(w, time_s)]


_ENCODER: Final = msgspec.json.Encoder()
_DECODER: Final = msgspec.json.Decoder(Warning)


def encode_line(warning: Warning) -> bytes:
    """One `warnings.jsonl` line, newline included."""
    return _ENCODER.encode(warning) + b"\n"


def decode_line(line: bytes | str) -> Warning:
    """One `warnings.jsonl` line; `msgspec.ValidationError` / `DecodeError` says what is wrong."""
    return _DECODER.decode(line)


def write_warnings(path: Path, warnings: Sequence[Warning]) -> None:
    """`warnings.jsonl`: one warning a line."""
    with path.open("wb") as f:
        for w in warnings:
            f.write(encode_line(w))


def read_warnings(path: Path) -> list[Warning]:
    """`warnings.jsonl` as written by `write_warnings` (no file: none). A bad line raises
    `WarningLineError` naming the file and line."""
    if not path.is_file():
        return []
    out: list[Warning] = []
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(decode_line(line))
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise WarningLineError(path, number, str(exc)) from None
    return out


class WarningLineError(ValueError):
    """A `warnings.jsonl` line that is not a warning."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        super().__init__(f"{path}:{line}: {reason} (each line is one warning, docs/threat.md)")

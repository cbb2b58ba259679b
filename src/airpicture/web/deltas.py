"""From one picture snapshot to the next: the delta a browser needs, and its inverse.

`picture_delta(known, rows)` compares a snapshot (picture.parquet rows of one
viewer at one time) with the tracks a browser already holds (`known`: track id
→ its `TrackMeta`) and returns what to send; `apply_delta` is the browser's
side, in Python, so that a test can prove the round trip: applying every
delta in turn rebuilds exactly the latest picture.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from airpicture.web.protocol import Frame, TrackMeta

#: Rounding on the wire: 1e-6 deg is 0.11 m, well under any sensor's accuracy.
LATLON_DECIMALS = 6
ALT_DECIMALS = 0
VEL_DECIMALS = 1
CONFIDENCE_DECIMALS = 2

KINEMATIC_COLUMNS = ("lat_deg", "lon_deg", "alt_m", "vel_e_mps", "vel_n_mps", "vel_u_mps")
_DECIMALS = dict(
    zip(
        KINEMATIC_COLUMNS,
        (LATLON_DECIMALS, LATLON_DECIMALS, ALT_DECIMALS) + (VEL_DECIMALS,) * 3,
        strict=True,
    )
)


@dataclass(frozen=True)
class PictureDelta:
    """What changed between the tracks a browser holds and a new snapshot."""

    ids: list[str]
    kinematics: dict[str, list[float]]
    meta: list[TrackMeta]
    removed: list[str]
    #: track id → meta after this delta (what the browser holds next).
    known: dict[str, TrackMeta]

    def frame(
        self, seq: int, time_s: float, reset: bool, produced_ms: float, catchup: bool = False
    ) -> Frame:
        k = self.kinematics
        return Frame(
            seq=seq,
            time_s=time_s,
            reset=reset,
            produced_ms=produced_ms,
            ids=self.ids,
            lat_deg=k["lat_deg"],
            lon_deg=k["lon_deg"],
            alt_m=k["alt_m"],
            vel_e_mps=k["vel_e_mps"],
            vel_n_mps=k["vel_n_mps"],
            vel_u_mps=k["vel_u_mps"],
            meta=self.meta,
            removed=self.removed,
            catchup=catchup,
        )


def track_metas(rows: Mapping[str, NDArray[Any]]) -> list[TrackMeta]:
    """The `TrackMeta` of every row (`cls_confidence` only when the picture has it)."""
    n = len(rows["track_id"])
    confidence = rows.get("cls_confidence")
    out = []
    for i in range(n):
        conf: float | None = None
        if confidence is not None:
            value = float(confidence[i])
            conf = round(value, CONFIDENCE_DECIMALS) if math.isfinite(value) else None
        out.append(
            TrackMeta(
                track_id=str(rows["track_id"][i]),
                cls=str(rows["cls"][i]),
                identity=str(rows["identity"][i]),
                sources=tuple(str(s) for s in rows["sources"][i]),
                cls_confidence=conf,
            )
        )
    return out


def picture_delta(known: Mapping[str, TrackMeta], rows: Mapping[str, NDArray[Any]]) -> PictureDelta:
    """The delta from the tracks `known` to the snapshot `rows` (one viewer, one time)."""
    metas = track_metas(rows)
    ids = [m.track_id for m in metas]
    changed = [m for m in metas if known.get(m.track_id) != m]
    now = {m.track_id: m for m in metas}
    removed = [tid for tid in known if tid not in now]
    kinematics = {
        name: np.round(np.asarray(rows[name], dtype=np.float64), _DECIMALS[name]).tolist()
        for name in KINEMATIC_COLUMNS
    }
    return PictureDelta(ids=ids, kinematics=kinematics, meta=changed, removed=removed, known=now)


def apply_delta(held: Mapping[str, dict[str, Any]], frame: Frame) -> dict[str, dict[str, Any]]:
    """The browser's side: the tracks held after `frame` (track id → every field)."""
    out: dict[str, dict[str, Any]] = {} if frame.reset else {k: dict(v) for k, v in held.items()}
    for tid in frame.removed:
        out.pop(tid, None)
    for meta in frame.meta:
        row = out.setdefault(meta.track_id, {})
        row.update(
            cls=meta.cls,
            identity=meta.identity,
            sources=meta.sources,
            cls_confidence=meta.cls_confidence,
        )
    for i, tid in enumerate(frame.ids):
        row = out[tid]
        row.update(
            lat_deg=frame.lat_deg[i],
            lon_deg=frame.lon_deg[i],
            alt_m=frame.alt_m[i],
            vel_e_mps=frame.vel_e_mps[i],
            vel_n_mps=frame.vel_n_mps[i],
            vel_u_mps=frame.vel_u_mps[i],
        )
    return out

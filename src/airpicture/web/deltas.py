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
#: Quality columns (when the picture has them): metres to 1 m, ages to 0.1 s.
SIGMA_DECIMALS = 0
AGE_DECIMALS = 1

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
    #: The tracks' quality (`Frame.sigma_h_m`, `sigma_u_m`, `age_s`), when the picture has it.
    quality: dict[str, list[float]] | None = None

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
            sigma_h_m=self.quality["sigma_h_m"] if self.quality else None,
            sigma_u_m=self.quality["sigma_u_m"] if self.quality else None,
            age_s=self.quality["age_s"] if self.quality else None,
        )


def track_metas(
    rows: Mapping[str, NDArray[Any]], starts: Mapping[str, float] | None = None
) -> list[TrackMeta]:
    """The `TrackMeta` of every row (`cls_confidence` only when the picture has it;
    `start_s` from `starts`, track id → first time in the viewer's picture, when given)."""
    n = len(rows["track_id"])
    confidence = rows.get("cls_confidence")
    out = []
    for i in range(n):
        conf: float | None = None
        if confidence is not None:
            value = float(confidence[i])
            conf = round(value, CONFIDENCE_DECIMALS) if math.isfinite(value) else None
        track_id = str(rows["track_id"][i])
        out.append(
            TrackMeta(
                track_id=track_id,
                cls=str(rows["cls"][i]),
                identity=str(rows["identity"][i]),
                sources=tuple(str(s) for s in rows["sources"][i]),
                cls_confidence=conf,
                start_s=None if starts is None else starts.get(track_id),
            )
        )
    return out


def track_quality(rows: Mapping[str, NDArray[Any]]) -> dict[str, list[float]] | None:
    """The rows' quality columns for the wire, or None when the picture has none of them."""
    names = ("sigma_e_m", "sigma_n_m", "sigma_u_m", "update_age_s")
    if not any(name in rows for name in names):
        return None
    n = len(rows["track_id"])

    def column(name: str) -> NDArray[np.float64]:
        value = rows.get(name)
        return np.full(n, np.nan) if value is None else np.asarray(value, dtype=np.float64)

    with np.errstate(invalid="ignore"):
        horizontal = np.fmax(column("sigma_e_m"), column("sigma_n_m"))
    return {
        "sigma_h_m": np.round(horizontal, SIGMA_DECIMALS).tolist(),
        "sigma_u_m": np.round(column("sigma_u_m"), SIGMA_DECIMALS).tolist(),
        "age_s": np.round(column("update_age_s"), AGE_DECIMALS).tolist(),
    }


def picture_delta(
    known: Mapping[str, TrackMeta],
    rows: Mapping[str, NDArray[Any]],
    starts: Mapping[str, float] | None = None,
) -> PictureDelta:
    """The delta from the tracks `known` to the snapshot `rows` (one viewer, one time);
    `starts`: each track's first time in the viewer's picture (`TrackMeta.start_s`)."""
    metas = track_metas(rows, starts)
    ids = [m.track_id for m in metas]
    changed = [m for m in metas if known.get(m.track_id) != m]
    now = {m.track_id: m for m in metas}
    removed = [tid for tid in known if tid not in now]
    kinematics = {
        name: np.round(np.asarray(rows[name], dtype=np.float64), _DECIMALS[name]).tolist()
        for name in KINEMATIC_COLUMNS
    }
    return PictureDelta(
        ids=ids,
        kinematics=kinematics,
        meta=changed,
        removed=removed,
        known=now,
        quality=track_quality(rows),
    )


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
            start_s=meta.start_s,
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

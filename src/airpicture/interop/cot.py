"""Cursor-on-Target: one event per track of a nation's picture, as XML (v0) or TAK protocol v1.

Sans-I/O: picture rows in, bytes out. Each event carries
* `uid` `airpicture.track.<track_id>`: one per network track number, the same in
  every nation's picture, so a TAK client that hears several nodes shows one
  object once;
* `type` a MIL-STD-2525 atom from the class and the identity (`cot_type`);
* `how` `m-f` (machine, fused);
* `time` = `start` = the snapshot's time, `stale` = `stale_s` later;
* `point` lat/lon/hae (hae: height above the WGS-84 ellipsoid, as `alt_m`), `ce`
  and `le` the 90 % circular and linear errors from the position covariance or the
  picture's 1σ columns (9 999 999, CoT's "unknown", where there is none);
* `detail`: `track` course (° from true north) and speed (m/s), `contact`
  callsign (the identification where known, else the track number), and
  `remarks` naming the class, identity and the sources the viewer may see.

TAK protocol v1 (`takproto`'s TakMessage): the mesh form (0xbf 0x01 0xbf + message,
one per UDP datagram) and the stream form (0xbf + varint length + message, for TCP).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from takproto.proto import TakMessage  # type: ignore[import-untyped]

#: CoT's "unknown" for ce, le and hae.
UNKNOWN_ERROR_M: Final = 9_999_999.0
HOW_FUSED: Final = "m-f"
#: 90 % of a circular normal lies within σ·√(−2 ln 0.1); 90 % of a normal within 1.645 σ.
CE90_PER_SIGMA: Final = math.sqrt(-2.0 * math.log(0.1))
LE90_PER_SIGMA: Final = 1.6448536269514722
MESH_HEADER: Final = b"\xbf\x01\xbf"
#: The picture's 1σ position errors along local east, north, up (tables.PICTURE_SCHEMA).
SIGMA_COLUMNS: Final = ("sigma_e_m", "sigma_n_m", "sigma_u_m")
STREAM_MAGIC: Final = b"\xbf"

_AFFILIATION: Final = {"friend": "f", "neutral": "n", "hostile": "h", "unknown": "u"}
#: Function part of the 2525 air domain (after `a-<affiliation>-A`) by class and identity.
_AIR_FUNCTION: Final = {
    ("aircraft", "friend"): "-M-F",  # military fixed wing
    ("aircraft", "hostile"): "-M-F",
    ("aircraft", "neutral"): "-C",  # civilian
    ("aircraft", "unknown"): "",
    ("cruise_missile", None): "-W-M",  # weapon: missile in flight
    ("ballistic_missile", None): "-W-M-S-S",  # weapon: surface-to-surface missile
}


class CotError(ValueError):
    """A picture table the Cursor-on-Target encoder cannot write."""


def cot_type(cls: str, identity: str) -> str:
    """The CoT type of a track: `a-<affiliation>-A<function>` (2525 air domain).

    >>> cot_type("aircraft", "neutral"), cot_type("ballistic_missile", "hostile")
    ('a-n-A-C', 'a-h-A-W-M-S-S')
    """
    affiliation = _AFFILIATION.get(identity, "u")
    function = _AIR_FUNCTION.get((cls, identity), _AIR_FUNCTION.get((cls, None), ""))
    return f"a-{affiliation}-A{function}"


def ce_le_m(cov_enu_m2: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """90 % circular (horizontal) and linear (vertical) errors from ENU covariances `(N, 3, 3)`.

    CE90 ≈ 2.146 σc with σc = √((σe² + σn²)/2), the circular normal of the same mean
    square radius; LE90 = 1.645 σu.
    """
    cov = np.asarray(cov_enu_m2, dtype=np.float64)
    sigma_c = np.sqrt(np.maximum(0.5 * (cov[:, 0, 0] + cov[:, 1, 1]), 0.0))
    sigma_u = np.sqrt(np.maximum(cov[:, 2, 2], 0.0))
    return CE90_PER_SIGMA * sigma_c, LE90_PER_SIGMA * sigma_u


@dataclass(frozen=True)
class CotEvent:
    uid: str
    type: str
    how: str
    time: datetime
    stale: datetime
    lat_deg: float
    lon_deg: float
    hae_m: float
    ce_m: float
    le_m: float
    course_deg: float
    speed_mps: float
    callsign: str
    remarks: str


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def cot_events(
    picture: Mapping[str, NDArray[Any]],
    epoch: datetime,
    stale_s: float,
    cov_enu_m2: NDArray[np.float64] | None = None,
) -> list[CotEvent]:
    """One event per picture row (rows without a position are left out).

    `ce`/`le` come from `cov_enu_m2` `(N, 3, 3)`, the position covariance of each row in
    its local east-north-up frame, when the caller gives it; else from the picture's 1σ
    columns `sigma_e_m, sigma_n_m, sigma_u_m` (its diagonal); else, or where those are
    NaN, they are CoT's "unknown".
    """
    n = len(picture["time_s"])
    if cov_enu_m2 is not None and cov_enu_m2.shape != (n, 3, 3):
        raise CotError(f"cov_enu_m2 has shape {cov_enu_m2.shape}; give ({n}, 3, 3)")
    ce = np.full(n, UNKNOWN_ERROR_M)
    le = np.full(n, UNKNOWN_ERROR_M)
    if cov_enu_m2 is not None:
        ce, le = ce_le_m(cov_enu_m2)
    elif all(name in picture for name in SIGMA_COLUMNS):
        # the picture's 1σ columns: a diagonal ENU covariance (NaN: unknown, below)
        sigma = np.stack(
            [np.asarray(picture[name], dtype=np.float64) for name in SIGMA_COLUMNS], axis=-1
        )
        ce, le = ce_le_m(np.einsum("ni,ij->nij", sigma**2, np.eye(3)))
    ident = picture.get("ident")
    events: list[CotEvent] = []
    for i in range(n):
        lat, lon = float(picture["lat_deg"][i]), float(picture["lon_deg"][i])
        if not (math.isfinite(lat) and math.isfinite(lon)):
            continue
        alt = float(picture["alt_m"][i])
        ve, vn = float(picture["vel_e_mps"][i]), float(picture["vel_n_mps"][i])
        track_id = _text(picture["track_id"][i])
        cls, identity = _text(picture["cls"][i]), _text(picture["identity"][i])
        sources: Sequence[str] = list(picture["sources"][i]) if "sources" in picture else []
        callsign = _text(ident[i]) if ident is not None and _text(ident[i]) else track_id
        time = epoch + timedelta(seconds=float(picture["time_s"][i]))
        events.append(
            CotEvent(
                uid=f"airpicture.track.{track_id}",
                type=cot_type(cls, identity),
                how=HOW_FUSED,
                time=time,
                stale=time + timedelta(seconds=stale_s),
                lat_deg=lat,
                lon_deg=lon,
                hae_m=alt if math.isfinite(alt) else UNKNOWN_ERROR_M,
                ce_m=float(ce[i]) if math.isfinite(ce[i]) else UNKNOWN_ERROR_M,
                le_m=float(le[i]) if math.isfinite(le[i]) else UNKNOWN_ERROR_M,
                course_deg=math.degrees(math.atan2(ve, vn)) % 360.0
                if math.isfinite(ve + vn)
                else 0.0,
                speed_mps=math.hypot(ve, vn) if math.isfinite(ve + vn) else 0.0,
                callsign=callsign,
                remarks=(
                    f"airpicture track {track_id}: {cls}, {identity}; "
                    f"sources: {', '.join(sources) if sources else 'none'}"
                ),
            )
        )
    return events


def cot_time(moment: datetime) -> str:
    """W3C dateTime in UTC with milliseconds, as CoT writes it."""
    utc = moment.astimezone(UTC)
    millis = round(utc.microsecond / 1000)
    if millis == 1000:
        utc, millis = utc + timedelta(seconds=1), 0
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


def _number(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


def event_xml(event: CotEvent) -> bytes:
    """The event as CoT XML (protocol version 0), with its XML declaration."""
    root = ET.Element(
        "event",
        {
            "version": "2.0",
            "uid": event.uid,
            "type": event.type,
            "how": event.how,
            "time": cot_time(event.time),
            "start": cot_time(event.time),
            "stale": cot_time(event.stale),
        },
    )
    ET.SubElement(
        root,
        "point",
        {
            "lat": _number(event.lat_deg, 7),
            "lon": _number(event.lon_deg, 7),
            "hae": _number(event.hae_m, 1),
            "ce": _number(event.ce_m, 1),
            "le": _number(event.le_m, 1),
        },
    )
    detail = ET.SubElement(root, "detail")
    ET.SubElement(detail, "contact", {"callsign": event.callsign})
    ET.SubElement(
        detail,
        "track",
        {"course": _number(event.course_deg, 2), "speed": _number(event.speed_mps, 2)},
    )
    ET.SubElement(detail, "remarks").text = event.remarks
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n" + body


def event_message(event: CotEvent) -> Any:
    """The event as a TAK protocol v1 TakMessage."""
    message = TakMessage()
    cot = message.cotEvent
    cot.type = event.type
    cot.uid = event.uid
    cot.how = event.how
    cot.sendTime = _millis(event.time)
    cot.startTime = _millis(event.time)
    cot.staleTime = _millis(event.stale)
    cot.lat = event.lat_deg
    cot.lon = event.lon_deg
    cot.hae = event.hae_m
    cot.ce = event.ce_m
    cot.le = event.le_m
    cot.detail.contact.callsign = event.callsign
    cot.detail.track.course = event.course_deg
    cot.detail.track.speed = event.speed_mps
    remarks = ET.Element("remarks")
    remarks.text = event.remarks
    cot.detail.xmlDetail = ET.tostring(remarks, encoding="unicode")
    return message


def _millis(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def event_proto_mesh(event: CotEvent) -> bytes:
    """TAK protocol v1, mesh form: one event per UDP datagram."""
    body: bytes = event_message(event).SerializeToString()
    return MESH_HEADER + body


def event_proto_stream(event: CotEvent) -> bytes:
    """TAK protocol v1, stream form (TCP): 0xbf, the message's length as a varint, the message."""
    body: bytes = event_message(event).SerializeToString()
    return STREAM_MAGIC + _varint(len(body)) + body


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)

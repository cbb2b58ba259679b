"""OpenSky Network state vectors (the CSV of its historical database), decoded to columns.

Sans-I/O: `decode_states(text)` takes the file's text and returns arrays; the
caller reads the file. Units are OpenSky's own: degrees, metres, metres per
second, seconds since the Unix epoch.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

REQUIRED_COLUMNS: Final = (
    "time",
    "icao24",
    "lat",
    "lon",
    "velocity",
    "heading",
    "vertrate",
    "callsign",
    "onground",
    "baroaltitude",
    "geoaltitude",
    "lastposupdate",
)


class OpenSkyFormatError(ValueError):
    """The text is not an OpenSky state-vector CSV."""

    def __init__(self, line: int, problem: str) -> None:
        self.line = line
        self.problem = problem
        super().__init__(f"line {line}: {problem}")


@dataclass(frozen=True)
class OpenSkyStates:
    """One row per state vector; NaN where OpenSky had no value."""

    time_unix_s: FloatArray
    icao24: NDArray[np.object_]
    callsign: NDArray[np.object_]
    lat_deg: FloatArray
    lon_deg: FloatArray
    velocity_mps: FloatArray
    heading_deg: FloatArray
    vertrate_mps: FloatArray
    on_ground: NDArray[np.bool_]
    baro_altitude_m: FloatArray
    geo_altitude_m: FloatArray
    #: When the position was last updated: the time the position is valid at.
    position_time_unix_s: FloatArray


def _number(text: str) -> float:
    text = text.strip()
    if not text or text.lower() in ("nan", "null", "none"):
        return float("nan")
    return float(text)


def decode_states(text: str) -> OpenSkyStates:
    """Decode an OpenSky state-vector CSV (header line first)."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise OpenSkyFormatError(1, "the file is empty") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise OpenSkyFormatError(1, f"header lacks columns {missing}")
    col = {name: header.index(name) for name in REQUIRED_COLUMNS}
    numeric = (
        "time",
        "lat",
        "lon",
        "velocity",
        "heading",
        "vertrate",
        "baroaltitude",
        "geoaltitude",
        "lastposupdate",
    )
    values: dict[str, list[float]] = {name: [] for name in numeric}
    icao: list[str] = []
    callsign: list[str] = []
    ground: list[bool] = []
    for line_number, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) < len(header):
            raise OpenSkyFormatError(
                line_number, f"{len(row)} fields, the header has {len(header)}"
            )
        try:
            for name in numeric:
                values[name].append(_number(row[col[name]]))
        except ValueError as exc:
            raise OpenSkyFormatError(line_number, f"not a number: {exc}") from None
        icao.append(row[col["icao24"]].strip().lower())
        callsign.append(row[col["callsign"]].strip())
        ground.append(row[col["onground"]].strip().lower() in ("true", "1"))
    arrays = {name: np.asarray(v, dtype=np.float64) for name, v in values.items()}
    position_time = np.where(
        np.isfinite(arrays["lastposupdate"]), arrays["lastposupdate"], arrays["time"]
    )
    return OpenSkyStates(
        time_unix_s=arrays["time"],
        icao24=np.asarray(icao, dtype=np.object_),
        callsign=np.asarray(callsign, dtype=np.object_),
        lat_deg=arrays["lat"],
        lon_deg=arrays["lon"],
        velocity_mps=arrays["velocity"],
        heading_deg=arrays["heading"],
        vertrate_mps=arrays["vertrate"],
        on_ground=np.asarray(ground, dtype=bool),
        baro_altitude_m=arrays["baroaltitude"],
        geo_altitude_m=arrays["geoaltitude"],
        position_time_unix_s=position_time,
    )

"""OpenSky Network state vectors (the CSV of its historical database), decoded to columns.

Sans-I/O: `decode_states(text)` takes the file's text and returns arrays; the
caller reads the file. Units are OpenSky's own: degrees, metres, metres per
second, seconds since the Unix epoch.

Rows that no aircraft could report are dropped and counted by reason
(`OpenSkyStates.refused`): a position off the Earth (latitude 91), an altitude
of 10²⁰ m, a speed past Mach 3, infinities, an ICAO address that is not six hex
digits, a callsign that is not up to 8 letters and digits, a field longer
than any OpenSky writes (`MAX_FIELD_CHARS`). A field
past the csv module's own limit (131,072 characters) ends the file with an
`OpenSkyFormatError` naming its line, as does a short row or a non-number.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
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


#: Longest field OpenSky writes is a Unix time with decimals or a callsign (8).
MAX_FIELD_CHARS: Final = 64
ICAO24: Final = re.compile(r"^[0-9a-f]{6}$")
#: An ICAO flight identification: up to 8 letters and digits (trailing spaces stripped).
CALLSIGN: Final = re.compile(r"^[A-Za-z0-9]{0,8}$")
#: (low, high) of each numeric column an aircraft can report (NaN: no value, allowed).
PLAUSIBLE: Final = {
    "time": (0.0, 4.0e9),  # the Unix epoch to the year 2096
    "lastposupdate": (0.0, 4.0e9),
    "lat": (-90.0, 90.0),
    "lon": (-180.0, 180.0),
    "velocity": (0.0, 1000.0),  # m/s; Mach 3
    "heading": (0.0, 360.0),
    "vertrate": (-200.0, 200.0),  # m/s
    "baroaltitude": (-1500.0, 30000.0),  # m
    "geoaltitude": (-1500.0, 30000.0),
}


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
    #: Rows dropped, by reason ("lat out of range", "field too long", ...).
    refused: dict[str, int] = field(default_factory=dict)


def _number(text: str) -> float:
    text = text.strip()
    if not text or text.lower() in ("nan", "null", "none"):
        return float("nan")
    return float(text)


def decode_states(text: str) -> OpenSkyStates:
    """Decode an OpenSky state-vector CSV (header line first); rows no aircraft could report
    are dropped and counted in `refused`."""
    reader = csv.reader(io.StringIO(text))
    try:
        return _decode(reader)
    except csv.Error as exc:
        raise OpenSkyFormatError(
            reader.line_num, f"{exc} (an OpenSky field is at most {MAX_FIELD_CHARS} characters)"
        ) from None


def _decode(reader: Iterator[list[str]]) -> OpenSkyStates:
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
    refused: Counter[str] = Counter()
    for line_number, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) < len(header):
            raise OpenSkyFormatError(
                line_number, f"{len(row)} fields, the header has {len(header)}"
            )
        if any(len(f) > MAX_FIELD_CHARS for f in row):
            refused["field too long"] += 1
            continue
        try:
            numbers = {name: _number(row[col[name]]) for name in numeric}
        except ValueError as exc:
            raise OpenSkyFormatError(line_number, f"not a number: {exc}") from None
        problem = _implausible(numbers)
        address = row[col["icao24"]].strip().lower()
        flight = row[col["callsign"]].strip()
        if problem is None and not ICAO24.match(address):
            problem = "icao24 not six hex digits"
        if problem is None and not CALLSIGN.match(flight):
            problem = "callsign not up to 8 letters and digits"
        if problem is not None:
            refused[problem] += 1
            continue
        for name in numeric:
            values[name].append(numbers[name])
        icao.append(address)
        callsign.append(flight)
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
        refused=dict(sorted(refused.items())),
    )


def _implausible(numbers: dict[str, float]) -> str | None:
    """Why a row's values cannot be an aircraft's (None: they can)."""
    for name, (low, high) in PLAUSIBLE.items():
        value = numbers[name]
        if value != value:  # NaN: no value
            continue
        if not low <= value <= high:
            return f"{name} out of range"
    return None

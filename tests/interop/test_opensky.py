"""OpenSky state vectors: the recorded file decodes whole; impossible rows are dropped and
counted; oversized or broken fields end in one OpenSkyFormatError naming the line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from airpicture.errors import InputError
from airpicture.interop.opensky import OpenSkyFormatError, decode_states
from airpicture.sim.traffic import read_opensky
from tests.conftest import REPO

RECORDED = REPO / "data" / "opensky_states_uk_2021-07-12.csv"
HEADER = (
    "time,icao24,lat,lon,velocity,heading,vertrate,callsign,onground,alert,spi,squawk,"
    "baroaltitude,geoaltitude,lastposupdate,lastcontact"
)
GOOD = {
    "time": "1626098400", "icao24": "3c4591", "lat": "51.47", "lon": "-0.44",
    "velocity": "254.6", "heading": "99.6", "vertrate": "0.0", "callsign": "BOX413  ",
    "onground": "False", "alert": "False", "spi": "False", "squawk": "1174",
    "baroaltitude": "10668.0", "geoaltitude": "10843.26", "lastposupdate": "1626098398.9",
    "lastcontact": "1626098400.0",
}  # fmt: skip


def _row(**changes: str) -> str:
    values = GOOD | changes
    return ",".join(values[name] for name in HEADER.split(","))


def _csv(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def test_the_recorded_file_decodes_with_nothing_refused() -> None:
    states = decode_states(RECORDED.read_text(encoding="utf-8"))
    assert len(states.lat_deg) == 6052
    assert states.refused == {}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"lat": "91"}, "lat out of range"),
        ({"lat": "-90.5"}, "lat out of range"),
        ({"lon": "180.01"}, "lon out of range"),
        ({"geoaltitude": "1e20"}, "geoaltitude out of range"),
        ({"baroaltitude": "-1e20"}, "baroaltitude out of range"),
        ({"velocity": "inf"}, "velocity out of range"),
        ({"velocity": "-3"}, "velocity out of range"),
        ({"heading": "720"}, "heading out of range"),
        ({"vertrate": "1e6"}, "vertrate out of range"),
        ({"time": "1e18"}, "time out of range"),
        ({"lastposupdate": "-inf"}, "lastposupdate out of range"),
        ({"icao24": "zzzzzz"}, "icao24 not six hex digits"),
        ({"icao24": ""}, "icao24 not six hex digits"),
        ({"callsign": "X" * 100_000}, "field too long"),
        ({"callsign": "A\x00B"}, "callsign not up to 8 letters and digits"),
        ({"callsign": "<script>"}, "callsign not up to 8 letters and digits"),
    ],
)
def test_impossible_rows_are_dropped_and_counted(changes: dict[str, str], reason: str) -> None:
    states = decode_states(_csv(_row(), _row(**changes), _row(icao24="abcdef")))
    assert list(states.icao24) == ["3c4591", "abcdef"]
    assert states.refused == {reason: 1}


def test_missing_values_are_nan_not_refused() -> None:
    states = decode_states(_csv(_row(lat="", geoaltitude="null", velocity="NaN")))
    assert states.refused == {}
    assert np.isnan(states.lat_deg[0]) and np.isnan(states.geo_altitude_m[0])


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (_csv(_row(), _row(callsign="X" * 131_073)), 3, "field larger than field limit"),
        (_csv(_row(), _row(callsign='"' + "X" * 200_000)), 3, "field larger than field limit"),
        (_csv(_row(), "1,2,3"), 3, "3 fields, the header has 16"),
        (_csv(_row(), _row(lat="fifty")), 3, "not a number"),
        ("x" * 140_000 + "\n", 1, "field larger than field limit"),
        ("", 1, "the file is empty"),
    ],
)
def test_broken_files_end_in_one_error_naming_the_line(text: str, line: int, problem: str) -> None:
    with pytest.raises(OpenSkyFormatError) as info:
        decode_states(text)
    assert info.value.line == line
    assert problem in info.value.problem


def test_the_simulator_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "states.csv"
    path.write_text(_csv(_row(), _row(callsign="X" * 131_073)), encoding="utf-8")
    with pytest.raises(InputError, match=r"states\.csv:3: field larger than field limit"):
        read_opensky(path)

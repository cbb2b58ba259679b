"""The predicted path a warning carries to the globe: bounded, finite, in order, rounded."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from airpicture.threat.warning import (
    MAX_PATH_POINTS,
    PredictedPath,
    Warning,
    decode_line,
    encode_line,
    predicted_path,
)


def _flight(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    t = np.arange(n, dtype=np.float64) * 2.0
    lat = 39.0 + 0.01 * t
    lon = 125.0 + 0.05 * t
    alt = 4.0 * t * (t[-1] - t) + 1.0
    return lat, lon, alt, 300.0 + t


def test_a_long_path_is_thinned_to_the_bound_keeping_its_ends() -> None:
    lat, lon, alt, t = _flight(400)
    path = predicted_path(lat, lon, alt, t)
    assert path is not None
    assert len(path.lat_deg) == MAX_PATH_POINTS
    assert (path.time_s[0], path.time_s[-1]) == (300.0, 300.0 + 2.0 * 399)
    assert list(path.time_s) == sorted(path.time_s)
    assert {len(path.lat_deg), len(path.lon_deg), len(path.alt_m), len(path.time_s)} == {64}


def test_the_points_after_the_impact_are_not_sent() -> None:
    # The predictor's path is NaN from the step on which it landed.
    lat, lon, alt, t = _flight(30)
    lat[20:] = np.nan
    path = predicted_path(lat, lon, alt, t)
    assert path is not None
    assert len(path.lat_deg) == 20 and path.time_s[-1] == t[19]
    assert all(np.isfinite(path.lat_deg + path.lon_deg + path.alt_m + path.time_s))


def test_a_short_path_is_sent_whole_and_a_point_is_not_a_path() -> None:
    lat, lon, alt, t = _flight(5)
    path = predicted_path(lat, lon, alt, t)
    assert path is not None and path.lat_deg == tuple(round(v, 4) for v in lat)
    assert predicted_path(lat[:1], lon[:1], alt[:1], t[:1]) is None


def test_the_path_travels_in_a_warning_line_and_back() -> None:
    path = PredictedPath(
        lat_deg=(39.1, 39.2), lon_deg=(125.0, 126.0), alt_m=(100000.0, 0.0), time_s=(1.0, 2.0)
    )
    row = Warning(
        time_s=1.0,
        warning_id="USA-L001",
        kind="update",
        text="Update",
        recipients=("USA",),
        predicted_path=path,
    )
    assert decode_line(encode_line(row)) == row
    # Rows without a path keep the wire form they had.
    assert b"predicted_path" not in encode_line(msgspec.structs.replace(row, predicted_path=None))


def test_a_path_longer_than_the_bound_is_refused_at_decoding() -> None:
    # A partner's warning may not carry more points than the page is built to draw.
    long = [0.0] * (MAX_PATH_POINTS + 1)
    line = msgspec.json.encode(
        {"time_s": 1.0, "warning_id": "X", "kind": "update", "track_id": "T1", "text": "",
         "recipients": ["JPN"],
         "predicted_path": {"lat_deg": long, "lon_deg": long, "alt_m": long, "time_s": long}}
    )  # fmt: skip
    with pytest.raises(msgspec.ValidationError, match="predicted_path"):
        decode_line(line)

"""The live source: a small scenario's picture appears frame by frame as the clock passes."""

from __future__ import annotations

from pathlib import Path

from airpicture.scenario import load_scenario
from airpicture.web.live import CentralizedLiveSource

SCENARIO = """
name: live-test
epoch: "2026-04-10T21:00:00Z"
duration_s: 60
seed: 3
picture_interval_s: 5
nations:
  USA: {release: {tracks: [JPN], plots: []}}
  JPN: {release: {tracks: [USA], plots: []}}
sensors:
  - {id: R1, nation: JPN, type: radar, lat_deg: 35.0, lon_deg: 135.0, alt_m: 100,
     scan_period_s: 2, max_range_m: 400000, sigma_range_m: 30, sigma_az_deg: 0.1,
     sigma_el_deg: 0.1, pd: 0.99}
targets:
  - {id: A1, kind: aircraft, identity: neutral, speed_mps: 230, transponder: false,
     route: [{lat_deg: 35.5, lon_deg: 135.5, alt_m: 10000},
             {lat_deg: 36.5, lon_deg: 136.5, alt_m: 10000}]}
  - {id: A2, kind: aircraft, identity: neutral, speed_mps: 200, transponder: false,
     route: [{lat_deg: 34.5, lon_deg: 134.0, alt_m: 8000},
             {lat_deg: 34.0, lon_deg: 136.0, alt_m: 8000}]}
"""


def test_frames_come_as_the_clock_passes_and_tracks_move(tmp_path: Path) -> None:
    path = tmp_path / "live.yaml"
    path.write_text(SCENARIO)
    source = CentralizedLiveSource(load_scenario(path))
    assert source.mode == "live" and source.info.picture_viewers == ("ALL",)
    assert source.advance(4.0) == []
    first = source.advance(5.0 + source.lag_s)
    assert [f.time_s for f in first] == [5.0]
    rest = source.advance(60.0 + source.lag_s)
    assert [f.time_s for f in rest] == [5.0 * k for k in range(2, 13)]
    last = rest[-1].picture
    assert len(last["track_id"]) == 2
    early = {t: i for i, t in enumerate(rest[2].picture["track_id"])}
    for i, tid in enumerate(last["track_id"]):
        if tid in early:
            assert last["lon_deg"][i] != rest[2].picture["lon_deg"][early[tid]]
    assert source.advance(1e9) == []

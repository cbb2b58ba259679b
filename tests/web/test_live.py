"""The live source: a small scenario's picture appears frame by frame as the clock passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from airpicture.network.node import NationalNode, NodeSnapshot
from airpicture.scenario import load_scenario
from airpicture.web.live import NetworkLiveSource

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
    """Each nation gets its own fused picture: USA holds JPN's radar tracks, as released."""
    path = tmp_path / "live.yaml"
    path.write_text(SCENARIO)
    source = NetworkLiveSource(load_scenario(path))
    assert source.mode == "live" and source.info.picture_viewers == ("JPN", "USA")
    assert source.info.fusion == "distributed"
    assert source.advance(4.0) == []
    first = source.advance(5.0 + source.lag_s)
    assert [(f.time_s, f.viewer) for f in first] == [(5.0, "JPN"), (5.0, "USA")]
    rest = source.advance(60.0 + source.lag_s)
    assert [f.time_s for f in rest] == [5.0 * k for k in range(2, 13) for _ in ("JPN", "USA")]
    for viewer in ("JPN", "USA"):
        frames = [f for f in rest if f.viewer == viewer]
        last, early = frames[-1].picture, frames[2].picture
        assert len(last["track_id"]) == 2, viewer
        assert all(list(s) == ["R1"] for s in last["sources"])
        before = {t: i for i, t in enumerate(early["track_id"])}
        moved = [
            last["lon_deg"][i] != early["lon_deg"][before[t]]
            for i, t in enumerate(last["track_id"])
            if t in before
        ]
        assert moved and all(moved)
    # One network track number per object, the same in both nations' pictures.
    by_viewer = {f.viewer: sorted(f.picture["track_id"]) for f in rest[-2:]}
    assert by_viewer["JPN"] == by_viewer["USA"]
    assert source.advance(1e9) == [] and source.finished


def test_each_nations_frames_carry_its_nodes_links_to_its_partners(tmp_path: Path) -> None:
    """USA has no sensor: its link to JPN carries heartbeats alone, and keeps it up for JPN."""
    path = tmp_path / "live.yaml"
    path.write_text(SCENARIO)
    source = NetworkLiveSource(load_scenario(path))
    frames = source.advance(30.0)
    told = {f.viewer: f for f in frames if f.links is not None}
    # The latest frame of each viewer in a step, and only that one, says how the links are.
    assert {v: f.time_s for v, f in told.items()} == {"JPN": 30.0, "USA": 30.0}
    jpn, usa = told["JPN"].links, told["USA"].links
    assert jpn is not None and usa is not None
    assert [(p.nation, p.state, p.last_heard_s) for p in jpn.partners] == [("USA", "up", 30.0)]
    assert [(p.nation, p.state) for p in usa.partners] == [("JPN", "up")]
    assert jpn.time_s == 30.0 and jpn.down_after_s == 15.0


def test_a_node_that_fails_ends_the_run_with_what_it_had_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "live.yaml"
    path.write_text(SCENARIO)
    fuse = NationalNode.fuse

    def jpn_breaks(self: NationalNode, now_s: float) -> NodeSnapshot:
        if self.nation == "JPN" and now_s >= 20.0:
            raise ZeroDivisionError("JPN broke")
        return fuse(self, now_s)

    monkeypatch.setattr(NationalNode, "fuse", jpn_breaks)
    source = NetworkLiveSource(load_scenario(path))
    frames = source.advance(60.0)
    # Every picture time before the failure, for both nations; nothing after; named.
    assert sorted({f.time_s for f in frames}) == [5.0, 10.0, 15.0]
    assert source.failure is not None and source.finished
    assert (source.failure.node, source.failure.stage, source.failure.time_s) == (
        "JPN",
        "fuse",
        20.0,
    )
    assert "the JPN node failed in its fuse stage at 20 s" in caplog.text
    assert source.advance(1e9) == []

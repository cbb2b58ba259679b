"""The network end to end on a small scenario: pictures, numbers, determinism, links, modes."""

from __future__ import annotations

import numpy as np
import pytest

from airpicture.network import NetworkRun, run_network
from airpicture.network.schedule import StageKind, stages
from airpicture.sim.simulate import simulate
from tests.network.netscen import network_scenario


@pytest.fixture(scope="module")
def shared() -> tuple[object, dict[str, np.ndarray]]:
    loaded = network_scenario(duration_s=60.0)
    return loaded, simulate(loaded).plots


def _rows_at(picture: dict[str, np.ndarray], viewer: str, time_s: float) -> dict[str, np.ndarray]:
    sel = (picture["viewer"] == viewer) & (picture["time_s"] == time_s)
    return {k: v[sel] for k, v in picture.items()}


def test_every_nation_holds_the_same_numbers_when_all_is_shared(shared) -> None:
    loaded, plots = shared
    result = run_network(loaded, plots)
    assert result.fusion_used == "distributed"
    last = _rows_at(result.picture, "USA", 60.0)
    assert len(last["track_id"]) == 4  # the four aircraft, no false track at the end
    numbers = {v: set(_rows_at(result.picture, v, 60.0)["track_id"]) for v in ("AUS", "JPN", "USA")}
    assert numbers["AUS"] == numbers["JPN"] == numbers["USA"]
    # Positions agree between nations to well inside the commonality distance.
    a = _rows_at(result.picture, "AUS", 60.0)
    u = _rows_at(result.picture, "USA", 60.0)
    ia, iu = np.argsort(a["track_id"]), np.argsort(u["track_id"])
    assert np.abs(a["lat_deg"][ia] - u["lat_deg"][iu]).max() < 0.01
    for node in result.stats["nodes"].values():
        assert sum(node["messages"]["rejected"].values()) == 0


def test_numbers_are_stable_and_from_nation_blocks(shared) -> None:
    loaded, plots = shared
    result = run_network(loaded, plots)
    pic = result.picture
    late = pic["time_s"] >= 30.0
    # After the first exchanges no track changes its number: one number per object.
    for viewer in ("AUS", "JPN", "USA"):
        sel = late & (pic["viewer"] == viewer)
        assert len(set(pic["track_id"][sel])) == 4
    blocks = {int(n) // 10_000 for n in pic["track_id"]}
    assert blocks <= {0, 1, 2}


def test_run_is_deterministic(shared) -> None:
    loaded, plots = shared
    a = run_network(loaded, plots).picture
    b = run_network(loaded, plots).picture
    for column in ("track_id", "lat_deg", "lon_deg", "alt_m", "viewer"):
        assert np.array_equal(a[column], b[column])


def test_advance_in_steps_equals_one_go(shared) -> None:
    loaded, plots = shared
    run = NetworkRun(loaded, plots)
    snapshots = run.advance(22.0) + run.advance(22.0) + run.advance(1e9)
    assert [s.time_s for s in snapshots] == [5.0 * k for k in range(1, 13)]
    whole = run_network(loaded, plots).picture
    stepped = np.concatenate([s.pictures["USA"]["lat_deg"] for s in snapshots])
    assert np.array_equal(stepped, whole["lat_deg"][whole["viewer"] == "USA"])


def test_centralized_has_one_viewer(shared) -> None:
    loaded, plots = shared
    result = run_network(loaded, plots, fusion="centralized")
    assert result.fusion_used == "centralized"
    assert set(result.picture["viewer"]) == {"ALL"}


def test_latency_and_loss_are_applied_and_repeatable() -> None:
    links = [
        {"from_nation": "USA", "latency_s": 1.5, "loss_probability": 0.3},
        {"from_nation": "JPN", "to_nations": ["AUS"], "latency_s": 0.5},
    ]
    loaded = network_scenario(
        duration_s=40.0,
        links=links,
        release={"USA": {"tracks": ["JPN", "AUS"], "plots": ["JPN"]}, "JPN": {"tracks": ["AUS"]}},
    )
    plots = simulate(loaded).plots
    a = run_network(loaded, plots)
    b = run_network(loaded, plots)
    assert np.array_equal(a.picture["lat_deg"], b.picture["lat_deg"])
    usa_jpn = a.stats["links"]["USA->JPN"]
    # Every message sent was lost, delivered, or is still on its way at the end.
    assert usa_jpn["lost"] > 0
    assert usa_jpn["sent"] - 4 <= usa_jpn["delivered"] + usa_jpn["lost"] <= usa_jpn["sent"]
    assert a.stats["links"]["JPN->AUS"]["lost"] == 0
    # JPN's trackers wait for USA's late plots: none of them is too late for it.
    assert a.stats["nodes"]["JPN"]["hold_s"] == pytest.approx(2.5)
    reports = a.stats["nodes"]["JPN"]["trackers"]
    assert sum(t["reports"]["too_late"] for t in reports.values()) == 0


def test_the_stage_order_tracks_the_next_cycle_before_fusing() -> None:
    order = [(s.index, s.kind, s.cycle) for s in stages(0, 2)]
    assert order == [
        (0, StageKind.PLOTS, 0),
        (1, StageKind.TRACKS, 0),
        (2, StageKind.PLOTS, 1),
        (3, StageKind.FUSE, 0),
        (4, StageKind.TRACKS, 1),
        (5, StageKind.PLOTS, 2),
        (6, StageKind.FUSE, 1),
    ]
    assert [s.index for s in stages(1, 2)] == [4, 5, 6]

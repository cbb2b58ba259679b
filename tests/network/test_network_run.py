"""The network end to end on a small scenario: pictures, numbers, determinism, links, modes."""

from __future__ import annotations

import numpy as np
import pytest

from airpicture.network import NetworkResult, NetworkRun, NetworkSettings, run_network
from airpicture.network.schedule import StageKind, stages
from airpicture.sim.simulate import simulate
from tests.network.netscen import NATIONS, network_scenario


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


def test_a_failing_node_is_named_and_what_was_finished_is_kept(shared) -> None:
    from tests.network.netscen import jpn_fails_after_10s

    loaded, plots = shared
    result = run_network(loaded, plots, assessor_factory=jpn_fails_after_10s)
    assert result.failure is not None
    assert (result.failure.node, result.failure.stage, result.failure.time_s) == (
        "JPN",
        "fuse",
        15.0,
    )
    assert isinstance(result.failure.cause, ArithmeticError)
    assert result.stats["failure"]["node"] == "JPN"
    # Every picture time before the failure, for every nation; none after.
    assert sorted(set(result.picture["time_s"].tolist())) == [5.0, 10.0]
    assert set(result.picture["viewer"].tolist()) == {"AUS", "JPN", "USA"}


def test_run_command_keeps_the_simulation_and_names_the_failed_node(
    tmp_path, monkeypatch, capsys
) -> None:
    import json

    import yaml

    from airpicture.cli import main
    from airpicture.network.node import NationalNode
    from tests.network.netscen import NATIONS, SENSORS, TARGETS

    scenario = tmp_path / "net.yaml"
    scenario.write_text(yaml.safe_dump({
        "name": "net", "epoch": "2026-01-01T00:00:00Z", "duration_s": 30, "seed": 3,
        "picture_interval_s": 5,
        "nations": {n: {"release": {"tracks": [m for m in NATIONS if m != n]}} for n in NATIONS},
        "sensors": SENSORS, "targets": TARGETS,
    }))  # fmt: skip
    fuse = NationalNode.fuse

    def aus_breaks(self: NationalNode, now_s: float):  # type: ignore[no-untyped-def]
        if self.nation == "AUS" and now_s >= 20.0:
            raise OverflowError("AUS broke")
        return fuse(self, now_s)

    monkeypatch.setattr(NationalNode, "fuse", aus_breaks)
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "--no-report"]) == 1
    printed = " ".join(capsys.readouterr().out.split())
    assert "the AUS node failed in its fuse stage at 20 s" in printed
    for name in ("truth.parquet", "plots.parquet", "run.json", "picture.parquet"):
        assert (out / name).exists(), name
    assert json.loads((out / "network.json").read_text())["failure"]["node"] == "AUS"
    assert not (out / "metrics.json").exists()


def test_centralized_national_views_use_only_what_each_nation_may_hold() -> None:
    """With `national_views`, a centralized run also makes each nation's view: a central
    tracker over only the pooled reports it may hold, so removing the reports of a sensor
    AUS may not hold changes nothing in AUS's view (byte for byte), while `ALL` uses it."""
    release = {n: {"tracks": [m for m in NATIONS if m != n], "plots": []} for n in NATIONS}
    sensor_release = {"USA-R2": {"tracks": ["JPN"], "plots": []}}
    loaded = network_scenario(release, sensor_release, duration_s=30.0, seed=4)
    plots = simulate(loaded).plots
    settings = NetworkSettings(national_views=True)
    a = run_network(loaded, plots, settings, fusion="centralized")
    keep = plots["sensor_id"] != "USA-R2"
    b = run_network(loaded, {k: v[keep] for k, v in plots.items()}, settings, fusion="centralized")
    assert set(a.picture["viewer"]) == {"ALL", *NATIONS}

    def rows_of(result: NetworkResult, viewer: str) -> list[str]:
        sel = result.picture["viewer"] == viewer
        return [repr(v) for c in sorted(result.picture) for v in result.picture[c][sel]]

    aus = a.picture["viewer"] == "AUS"
    assert not any("USA-R2" in s for s in a.picture["sources"][aus])
    assert rows_of(a, "AUS") == rows_of(b, "AUS")
    assert rows_of(a, "ALL") != rows_of(b, "ALL")
    national = [w for w in a.warnings if w.issued_by != "ALL"]
    assert all(w.recipients == (w.issued_by,) for w in national)

"""Node services on a real nats-server make the deterministic run's pictures."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import numpy as np
import pytest

from airpicture.network.run import run_network
from airpicture.network.service import network_json, read_node_outputs
from airpicture.sim.simulate import simulate
from airpicture.tables import Table

from .jetstream_server import jetstream_server, run_in_process, within
from .netscen import NATIONS, network_scenario

#: pacific-shield's rules: USA and JPN trade plots, everyone trades tracks.
PLOTS_TOO = {
    "USA": {"tracks": ["JPN", "AUS"], "plots": ["JPN"]},
    "JPN": {"tracks": ["USA", "AUS"], "plots": ["USA"]},
    "AUS": {"tracks": ["USA", "JPN"], "plots": []},
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with jetstream_server(tmp_path / "jetstream") as url:
        yield url


def rows(picture: Table, viewer: str) -> dict[tuple[float, str], tuple[float, float, float]]:
    mine = picture["viewer"] == viewer
    return {
        (float(t), str(i)): (float(a), float(b), float(h))
        for t, i, a, b, h in zip(
            picture["time_s"][mine],
            picture["track_id"][mine],
            picture["lat_deg"][mine],
            picture["lon_deg"][mine],
            picture["alt_m"][mine],
            strict=True,
        )
    }


@pytest.mark.parametrize("release", [None, PLOTS_TOO], ids=["tracks", "plots-and-tracks"])
def test_live_nodes_make_the_deterministic_pictures(
    server: str, tmp_path: Path, release: dict[str, Any] | None
) -> None:
    loaded = network_scenario(release, duration_s=40.0)
    sim = simulate(loaded)
    reference = run_network(loaded, sim.plots).picture

    async def connect(nation: str, role: str) -> Any:
        return await nats.connect(server, name=f"{nation}-{role}")

    services = asyncio.run(
        within(run_in_process(loaded, sim.plots, tmp_path / "out", connect), 240.0)
    )
    live = read_node_outputs(tmp_path / "out", list(NATIONS))
    for nation in NATIONS:
        got, want = rows(live.picture, nation), rows(reference, nation)
        assert sorted(got) == sorted(want)
        for key, (lat, lon, alt) in want.items():
            assert got[key] == pytest.approx((lat, lon, alt), abs=1e-6)
    for service in services:
        stats = service.node_stats()
        assert stats["service"]["cycles"] == 8
        assert stats["service"]["marker_timeouts"] == {}
        assert stats["node"]["messages"]["rejected"] == {}
    summary = network_json(live)
    assert set(summary["nodes"]) == set(NATIONS)
    if release is PLOTS_TOO:
        assert summary["nodes"]["JPN"]["messages"]["received"]["plot_batches"] > 0
    links = summary["links"]
    assert all(c["sent"] == c["delivered"] > 0 for c in links.values())
    assert np.isin(["USA->JPN", "JPN->AUS"], list(links)).all()
